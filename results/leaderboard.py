"""Leaderboards: the stored trials of one run or of all runs, filtered and ranked best first, with what each run
cost; results/formats.py renders the rows.
"""
from __future__ import annotations

import dataclasses
import heapq
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from results.lease import lease_holds
from results.pareto import pareto_indices
from results.records import TrialStatus
from results.store import ResultStore

# Metrics a leaderboard can sort by, and whether higher is better; `score` is each run's objective, ranked in that
# run's direction (validation accuracy unless the run chose another objective).
SORT_KEYS = {
    "score": True,
    "validation_accuracy": True,
    "test_accuracy": True,
    "params": False,
    "flops": False,
    "latency_ms": False,
    "train_seconds": False,
}


@dataclass(frozen=True)
class LeaderboardRow:
    """One trial as a leaderboard shows it; `to_dict` is the JSON row of DESIGN.md."""

    run: str
    trial: int
    status: str
    arch: str  # canonical key
    space: str
    strategy: str
    dataset: str
    validation_accuracy: float | None
    test_accuracy: float | None
    params: int | None
    flops: int | None
    latency_ms: float | None
    train_seconds: float | None
    epochs: int | None
    node: str | None
    host: str | None
    error: str | None
    attempts: int | None
    cpu_seconds: float | None  # what the trial cost, its final training included (RunCost explains)
    gpu_seconds: float | None
    latency_device: str | None = None  # where latency_ms (batch 1) was measured, with TF's intra-op threads
    latency_threads: int | None = None
    latency_batch_size: int | None = None
    latency_batch_ms: float | None = None
    pareto: bool = False  # on the Pareto front (quality, latency, params) of the trials that passed the filters
    objective: str = "accuracy"  # what the scores measure (the run's objective), and which way is better
    direction: str = "max"
    validation_score: float | None = None
    test_score: float | None = None
    model_path: str | None = None  # the final-trained model, saved as .keras
    judged_with: str = "training"  # how the validation figures were measured: training, or shared_weights

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def ranking_score(self) -> float | None:
        """The score with higher always better: negated for a run that minimises its objective."""
        if self.validation_score is None:
            return None
        return self.validation_score if self.direction == "max" else -self.validation_score

    @property
    def quality(self) -> float | None:
        """Higher is better: validation accuracy where there is one, else the score in its direction."""
        if self.validation_accuracy is not None:
            return self.validation_accuracy
        if self.validation_score is None:
            return None
        return self.validation_score if self.direction == "max" else -self.validation_score


# What a leaderboard row does not show: left unread, so a store of 100,000 trials ranks in about a second.
_NOT_SHOWN = ("arch", "layers", "metrics", "test_metrics", "history")


class _Ranked(NamedTuple):
    """A trial as ranking sees it: read for every trial of the store, while only the trials shown are read whole."""

    run: str
    trial: int
    status: str
    validation_accuracy: float | None
    validation_score: float | None
    test_accuracy: float | None
    test_score: float | None
    params: int | None
    flops: int | None
    latency_ms: float | None
    train_seconds: float | None
    direction: str

    quality = LeaderboardRow.quality
    ranking_score = LeaderboardRow.ranking_score


# Above this many rows shown, reading every trial at once beats reading them by key.
_READ_BY_KEY_UP_TO = 2000


def leaderboard(store: ResultStore, *, run: str | None = None, dataset: str | None = None,
                space: str | None = None, strategy: str | None = None, sort: str = "score",
                top: int | None = None, max_params: int | None = None, max_latency_ms: float | None = None,
                pareto: bool = False) -> list[LeaderboardRow]:
    """The matching trials, best first by `sort`; trials without that metric (failed, running) come last.

    `max_params` and `max_latency_ms` keep the trials within those limits (a trial without the measurement is
    left out); every row says whether it is on the Pareto front of the rows that passed the filters, and
    `pareto` keeps only those. `top` applies last.

    Two reads: the figures ranking needs, of every trial (ResultStore.trial_figures), then the rows shown, whole;
    a store of 100,000 trials ranks in about a second (benchmarks/leaderboard_scale.py).
    """
    if sort not in SORT_KEYS:
        raise ValueError(f"Unknown sort key {sort!r}. Expected one of: {', '.join(SORT_KEYS)}")
    if top is not None and top < 1:
        raise ValueError(f"Expected top >= 1. Received: {top}")
    if max_params is not None and max_params < 1:
        raise ValueError(f"Expected max_params >= 1. Received: {max_params}")
    if max_latency_ms is not None and not max_latency_ms > 0:
        raise ValueError(f"Expected max_latency_ms > 0. Received: {max_latency_ms}")
    runs = {stored.name: stored for stored in store.list_runs()
            if (run is None or stored.name == run) and (dataset is None or stored.dataset == dataset)
            and (space is None or stored.space == space) and (strategy is None or stored.strategy == strategy)}
    driven = {name for name, stored in runs.items() if lease_holds(stored)}  # runs whose search is still going
    ranked = [_ranked(figures, runs[figures[0]], driven) for figures in store.trial_figures(run) if figures[0] in runs]
    if max_params is not None:
        ranked = [row for row in ranked if row.params is not None and row.params <= max_params]
    if max_latency_ms is not None:
        ranked = [row for row in ranked if row.latency_ms is not None and row.latency_ms <= max_latency_ms]
    front = pareto_indices(ranked)
    candidates = (index for index in range(len(ranked)) if not pareto or index in front)
    rank = lambda index: _rank_key(ranked[index], sort)  # noqa: E731
    order = heapq.nsmallest(top, candidates, key=rank) if top else sorted(candidates, key=rank)
    keys = [(ranked[index].run, ranked[index].trial) for index in order]
    if len(keys) <= _READ_BY_KEY_UP_TO:
        records = store.trials_by_key(keys, without=_NOT_SHOWN)
    else:
        records = store.trials(run, without=_NOT_SHOWN)
    by_key = {(record.run, record.number): record for record in records}
    # A search may have written a row between the two reads: each row shows what the second read saw, and the rows
    # are ranked again on that.
    rows = [_row(by_key[(ranked[index].run, ranked[index].trial)], runs[ranked[index].run], driven, index in front)
            for index in order if (ranked[index].run, ranked[index].trial) in by_key]
    return sorted(rows, key=lambda row: _rank_key(row, sort))


def _ranked(figures: tuple, stored, driven: set[str]) -> _Ranked:
    """A trial's RANKING_FIELDS as ranking sees them."""
    trial_run, number, status, accuracy, score, test_accuracy, test_score, params, flops, latency, seconds = figures
    score, test_score = _scores(stored, accuracy, score, test_accuracy, test_score)
    return _Ranked(trial_run, number, _status(status, trial_run, driven), accuracy, score, test_accuracy, test_score,
                   params, flops, latency, seconds, stored.direction or "max")


def _status(status: str, run: str, driven: set[str]) -> str:
    """A trial left running by a search that is gone (killed, or interrupted in flight) was interrupted."""
    return "interrupted" if status == TrialStatus.RUNNING.value and run not in driven else status


def _scores(stored, accuracy, score, test_accuracy, test_score) -> tuple:
    """The validation and test scores to rank by: runs stored before schema 5 searched for accuracy and kept no
    score."""
    return (score if score is not None or stored.objective else accuracy,
            test_score if test_score is not None or stored.objective else test_accuracy)


def _row(trial, stored, driven: set[str], on_front: bool) -> LeaderboardRow:
    score, test_score = _scores(stored, trial.validation_accuracy, trial.score, trial.test_accuracy,
                                trial.test_score)
    return LeaderboardRow(
        run=trial.run, trial=trial.number, status=_status(trial.status.value, trial.run, driven),
        arch=trial.arch_key, space=stored.space,
        strategy=stored.strategy, dataset=stored.dataset, validation_accuracy=trial.validation_accuracy,
        test_accuracy=trial.test_accuracy, params=trial.params, flops=trial.flops, latency_ms=trial.latency_ms,
        train_seconds=trial.train_seconds, epochs=trial.epochs, node=trial.node, host=trial.host,
        error=trial.error, attempts=trial.attempts, cpu_seconds=_total(trial.cpu_seconds, trial.final_cpu_seconds),
        gpu_seconds=_total(trial.gpu_seconds, trial.final_gpu_seconds), latency_device=trial.latency_device,
        latency_threads=trial.latency_threads, latency_batch_size=trial.latency_batch_size,
        latency_batch_ms=trial.latency_batch_ms, pareto=on_front, objective=stored.objective or "accuracy",
        direction=stored.direction or "max", validation_score=score, test_score=test_score,
        model_path=trial.model_path, judged_with=trial.judged_with.value)


@dataclass(frozen=True)
class RunCost:
    """What a run used, to price it: for each trial, the CPUs and GPUs Ray reserved for it times the wall time it
    held them (failed and retried attempts included), plus the same for the final training of its top-k."""

    run: str
    search_cpu_seconds: float
    search_gpu_seconds: float
    final_cpu_seconds: float
    final_gpu_seconds: float

    @property
    def cpu_hours(self) -> float:
        return (self.search_cpu_seconds + self.final_cpu_seconds) / 3600

    @property
    def gpu_hours(self) -> float:
        return (self.search_gpu_seconds + self.final_gpu_seconds) / 3600

    def describe(self) -> str:
        return (f"{self.cpu_hours:.3f} CPU-hours and {self.gpu_hours:.3f} GPU-hours (search "
                f"{self.search_cpu_seconds / 3600:.3f} / {self.search_gpu_seconds / 3600:.3f}, final training "
                f"{self.final_cpu_seconds / 3600:.3f} / {self.final_gpu_seconds / 3600:.3f})")


def run_costs(store: ResultStore, runs: list[str]) -> list[RunCost]:
    """The cost of each named run, from its stored trials (trials stored before nas recorded costs count 0)."""
    sums = store.cost_sums(runs)
    return [RunCost(run, *sums[run]) for run in runs]


def _total(*parts: float | None) -> float | None:
    known = [part for part in parts if part is not None]
    return sum(known) if known else None


def _rank_key(row: LeaderboardRow, sort: str) -> tuple:
    """Best first: the sort metric, then the run's objective, then fewer parameters; missing values last."""
    def ascending(value: float | None, higher_is_better: bool) -> tuple[bool, float]:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return True, 0.0
        return False, -value if higher_is_better else value

    first = ascending(row.ranking_score if sort == "score" else getattr(row, sort), SORT_KEYS[sort])
    return first, ascending(row.ranking_score, True), ascending(row.params, False), row.run, row.trial


def leaderboard_frame(rows: list[LeaderboardRow]):
    """The rows as a pandas DataFrame (pandas does the table), one row per trial, in the leaderboard's order."""
    import pandas

    columns = [field.name for field in dataclasses.fields(LeaderboardRow)]
    return pandas.DataFrame([row.to_dict() for row in rows], columns=columns)
