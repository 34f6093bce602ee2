"""One supernet from start to end, knowing nothing of Ray (nas/runner/tune.py runs it as a Ray Tune trial).

It trains the shared weights and judges the strategy's proposals in rounds (nas/weight_sharing/judge.py), and after
each round reports the children it judged; every `checkpoint_every` seconds (30 by default), with the supernet's
state to keep as the trial's checkpoint, so a retried or resumed supernet goes on from there. A checkpoint holds every
child the supernet reported before it, and a resumed supernet reports them again first (the store keeps one row per
trial number): Tune's driver may store a trial's reports several behind the checkpoints the trial has kept, and a
driver killed then loses none. Several supernets of one search (`--concurrency`) are independent: each has its
own seed and its own strategy, and supernet k of K numbers its j-th proposal j * K + k, so every child has one
trial number in the run, the same after a resume.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nas.data.task_data import TaskData
from nas.estimator.evaluator import build_model, prepare_tensorflow
from nas.estimator.latency import measure_latency
from nas.estimator.objectives import Objective
from nas.weight_sharing.judge import SupernetJudge
from nas.weight_sharing.latency_estimate import timed_children
from search_spaces import SearchSpace
from strategies import get_strategy

# report(figures, save_state=None), as nas.estimator.evaluator's: save_state(folder) writes the supernet's state there.
Report = Callable[..., None]

# A round: this many steps of the shared weights, then this many children judged. Fewer steps judge more children
# in a time budget; the ranking did not improve with longer training (tau 0.70 after 300, 1000 and 3000 steps:
# benchmarks/ranking_honesty.py).
STEPS_PER_ROUND = 50
JUDGED_PER_ROUND = 20
# The rl controller's samples per update with shared weights, unless the user sets batch_size: ENAS's
# (controller_num_aggregate=20 in its macro search). A converged controller mostly samples children it has seen,
# each answered from memory; one update per sample, and a fresh draw after each, took most of a round's time.
RL_SAMPLES_PER_UPDATE = 20
REPORTED_CHILDREN = "children.json"  # in a checkpoint: every child the supernet reported before it


@dataclass(frozen=True)
class SupernetSettings:
    """What every supernet of a weight-sharing search shares; shipped to Ray's workers once, with the data."""

    space: SearchSpace
    objective: Objective
    strategy: str
    strategy_options: dict
    seed: int
    threads: int
    supernets: int  # K, numbering the children
    children: int | None  # children to judge in all, over the K supernets; None: until Ray Tune stops them
    time_budget_s: float | None  # the supernets' share: the shared weights' learning rate falls over it
    checkpoint_every_s: float  # a checkpoint at the end of a round at most this often, and after the last round
    steps_per_round: int = STEPS_PER_ROUND
    judged_per_round: int = JUDGED_PER_ROUND
    learning_rate: float = 0.05


def children_of(index: int, settings: SupernetSettings) -> int | None:
    """How many children supernet `index` judges: an equal share of the search's."""
    if settings.children is None:
        return None
    share, extra = divmod(settings.children, settings.supernets)
    return share + (index < extra)


def run_supernet(index: int, settings: SupernetSettings, data: TaskData, report: Report,
                 resume_from: Path | None = None) -> None:
    """Train supernet `index` and judge children with it until its share is judged, its strategy has nothing
    left to propose, or the caller stops it."""
    started = time.perf_counter()
    prepare_tensorflow(settings.threads)
    seed = settings.seed + index
    options = dict(settings.strategy_options)
    if settings.strategy == "rl":
        options.setdefault("batch_size", RL_SAMPLES_PER_UPDATE)
    strategy = get_strategy(settings.strategy, settings.space, seed=seed, **options)
    if index == 0:
        strategy.enqueue(settings.space.references.values())  # the lecture's LeNet, judged like any child
    target = children_of(index, settings)
    rounds = None if target is None else -(-target // settings.judged_per_round)
    judge = SupernetJudge(settings.space, data, strategy, settings.objective, seed,
                          learning_rate=settings.learning_rate, total_steps=(rounds or 1) * settings.steps_per_round)
    reported: list[dict] = []  # every child reported so far, kept with each checkpoint
    if resume_from is not None:
        judge.restore(resume_from)
        if (resume_from / REPORTED_CHILDREN).is_file():  # stored again (the store keeps one row per trial number)
            reported = json.loads((resume_from / REPORTED_CHILDREN).read_text())
            report({"supernet": index, "architectures_judged": judge.judged, "replayed": True,
                    "children": list(reported)})
    timing = np.random.default_rng([seed, 1])  # apart from the judge's, which a resume restores
    judge.latency = timed_children(lambda: settings.space.sample(timing), judge.size,
                                   lambda arch: _measured_latency(settings.space, arch, data))
    latency_error = judge.latency.relative_error
    checkpointed = time.perf_counter()
    while target is None or judge.judged < target:
        progress = None if settings.time_budget_s is None else (time.perf_counter() - started) / settings.time_budget_s
        loss = judge.train_shared(settings.steps_per_round, progress)
        count = settings.judged_per_round if target is None else min(settings.judged_per_round, target - judge.judged)
        children = judge.judge(count)
        if not children:
            break  # the strategy has nothing left to propose
        judged = [{**dataclasses.asdict(child), "trial": child.trial * settings.supernets + index}
                  for child in children]
        reported += judged
        keep = (target is not None and judge.judged >= target) \
            or time.perf_counter() - checkpointed >= settings.checkpoint_every_s
        report({"supernet": index, "shared_steps": judge.shared.steps, "shared_loss": loss,
                "latency_error": latency_error, "architectures_judged": judge.judged, "children": judged},
               save_state=_saver(judge, reported) if keep else None)
        if keep:
            checkpointed = time.perf_counter()


def _saver(judge: SupernetJudge, reported: list[dict]) -> Callable[[Path], None]:
    """Writes the supernet's state, and every child it reported, into a folder."""
    def save(folder: Path) -> None:
        judge.save(folder)
        (folder / REPORTED_CHILDREN).write_text(json.dumps(reported))
    return save


def _measured_latency(space: SearchSpace, arch, data: TaskData) -> float:
    model = build_model(space, arch, data.input_shape, data.num_outputs, data.task)
    return measure_latency(model, data.input_shape, batch_size=1).batch_1_ms
