"""A weight-sharing search's inner loop, knowing nothing of Ray: rounds of training the shared weights, then judging
the strategy's proposals with them (ENAS's alternation; nas/runner wraps it as one Ray Tune trial).

- The shared weights train on children drawn uniformly from the architectures within the hard limits, one child per
  batch, as single-path one-shot NAS does (Guo et al., "Single Path One-Shot Neural Architecture Search with
  Uniform Sampling", ECCV 2020): every child gets the same share of training, so their scores can be compared.
  ENAS draws them from its controller instead, which trains the children it already likes.
- The strategy (any of them: random, bayes, evolution, rl) asks as usual; each proposal is judged by its accuracy on
  a fixed part of the validation data with the shared weights, and the strategy is told the objective's reward for
  it, as if it had been trained alone. A proposal over a hard limit is not judged and is told as over the limit.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from nas.data.task_data import TaskData
from nas.estimator.objectives import OVER_LIMIT_REWARD, Objective
from nas.weight_sharing.supernet import ChildSize, SharedWeights, child_size
from search_spaces import Architecture, SearchSpace
from strategies import Strategy, Trial

# Images the shared weights train on per step, and the validation images a child is judged on.
BATCH_SIZE = 64
JUDGE_IMAGES = 1000
CALIBRATION_IMAGES = 500
SAVED_STATE = "judge.json"


@dataclass(frozen=True)
class JudgedChild:
    trial: int
    arch: dict
    params: int
    flops: int
    latency_ms: float | None
    validation_accuracy: float | None  # None: over a hard limit, not judged
    score: float | None
    reward: float | None
    error: str | None = None


class SupernetJudge:
    """The shared weights, the data they train and judge on, and the strategy whose proposals they judge."""

    def __init__(self, space: SearchSpace, data: TaskData, strategy: Strategy, objective: Objective, seed: int,
                 latency: Callable[[ChildSize], float] | None = None, learning_rate: float = 0.05,
                 total_steps: int = 10_000):
        self.space, self.data, self.strategy, self.objective = space, data, strategy, objective
        self.rng = np.random.default_rng(seed)
        self.latency = latency
        calibration = self.rng.choice(len(data.x_train), min(CALIBRATION_IMAGES, len(data.x_train)), replace=False)
        judged = self.rng.choice(len(data.x_validation), min(JUDGE_IMAGES, len(data.x_validation)), replace=False)
        self.x_judge, self.y_judge = data.x_validation[judged], data.y_validation[judged]
        self.shared = SharedWeights(data.input_shape, data.num_outputs, seed=seed, learning_rate=learning_rate,
                                    total_steps=total_steps, calibration=data.x_train[calibration])
        self._order: Iterator[np.ndarray] = self._batches()
        self.judged = 0  # proposals judged with the shared weights so far

    def size(self, arch: Architecture):
        return child_size(arch, self.data.input_shape, self.data.num_outputs)

    def within_limits(self, arch: Architecture) -> bool:
        return not self.objective.violation(self.size(arch).params, latency_ms=None)

    def sample_child(self) -> Architecture:
        """A child drawn uniformly among those within --max-params (drawn again until one is)."""
        for _ in range(10_000):
            arch = self.space.sample(self.rng)
            if self.within_limits(arch):
                return arch
        raise ValueError("No architecture of the space is within the hard limits (10,000 drawn); expected a "
                         "larger --max-params")

    def train_shared(self, steps: int, progress: float | None = None) -> float:
        """`steps` SGD steps, each on one uniformly drawn child and one batch; the mean loss. `progress` (0 to 1)
        places them on the learning rate's schedule (by default, the steps taken of total_steps)."""
        losses = []
        for _ in range(steps):
            index = next(self._order)
            losses.append(self.shared.train_step(self.sample_child(), self.data.x_train[index],
                                                 self.data.y_train[index], progress))
        return float(np.mean(losses)) if losses else float("nan")

    def judge(self, count: int) -> list[JudgedChild]:
        """Ask the strategy for proposals until `count` of them were judged (those over a hard limit are told so
        and not judged), or it has none left; tell it each one's reward. Returns every proposal."""
        proposals, judged = [], 0
        while judged < count:
            trial = self.strategy.ask()
            if trial is None:
                break
            proposals.append(self.judge_one(trial))
            judged += proposals[-1].validation_accuracy is not None
        self.judged += judged
        return proposals

    def judge_one(self, trial: Trial) -> JudgedChild:
        size = self.size(trial.arch)
        latency = self.latency(size) if self.latency else None
        over_limit = self.objective.violation(size.params, latency)
        multi = self.strategy.multi_objective  # it learns accuracy, latency and params apart (objective pareto)
        if over_limit:
            objectives = Objective.values(OVER_LIMIT_REWARD, latency or 0.0, size.params) if multi else None
            self.strategy.tell(trial, OVER_LIMIT_REWARD, objectives, over_limit=True)
            return JudgedChild(trial.id, trial.arch.to_dict(), size.params, size.flops, latency, None, None, None,
                               over_limit)
        accuracy = self.shared.accuracy(trial.arch, self.x_judge, self.y_judge)
        if not math.isfinite(accuracy):  # the child's outputs were not finite: failed, as a trial that diverged
            self.strategy.tell(trial, None)
            return JudgedChild(trial.id, trial.arch.to_dict(), size.params, size.flops, latency, None, None, None,
                               "its outputs with the shared weights are not finite (NaN or infinity)")
        score = self.objective.score({"val_accuracy": accuracy}, latency, size.params)
        reward = self.objective.reward(score)
        self.strategy.tell(trial, reward, Objective.values(accuracy, latency or 0.0, size.params) if multi else None)
        return JudgedChild(trial.id, trial.arch.to_dict(), size.params, size.flops, latency, accuracy, score, reward)

    def save(self, folder: Path) -> None:
        """Everything needed to go on from here: the shared weights, the strategy's state, the random state."""
        self.shared.save(folder)
        (folder / SAVED_STATE).write_text(json.dumps({
            "strategy": self.strategy.state_dict(), "random": self.rng.bit_generator.state, "judged": self.judged}))

    def restore(self, folder: Path) -> None:
        self.shared.restore(folder)
        state = json.loads((folder / SAVED_STATE).read_text())
        self.strategy.load_state_dict(state["strategy"])
        self.rng.bit_generator.state = state["random"]
        self.judged = int(state["judged"])
        self._order = self._batches()

    def _batches(self) -> Iterator[np.ndarray]:
        """Index batches of the training data, a fresh shuffle each pass."""
        count = len(self.data.x_train)
        while True:
            order = self.rng.permutation(count)
            for start in range(0, count - BATCH_SIZE + 1, BATCH_SIZE):
                yield order[start:start + BATCH_SIZE]
