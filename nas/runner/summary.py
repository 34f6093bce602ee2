"""What a search hands back: its trials ranked by the objective, and the summary of the run (`--json`'s figures).

Ranking reads the store only, so `nas.search`'s result, the final training and a resume rank alike.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nas.estimator.objectives import Objective
from results import JudgedWith, ResultStore, RunCost, TrialRecord, TrialStatus, run_costs
from results.pareto import pareto_indices


@dataclass(frozen=True)
class FinalTrainingSummary:
    trial: int
    epochs: int | None
    test_accuracy: float | None
    test_score: float | None
    train_seconds: float
    model_path: str | None


@dataclass(frozen=True)
class SearchSummary:
    run: str
    trials_completed: int
    trials_failed: int
    trials_stopped: int
    wall_seconds: float
    best: TrialRecord | None  # best by the objective; with its test figures if it was final-trained
    cost: RunCost  # CPU- and GPU-hours, over every session of the run (a resumed run counts them all)
    objective: Objective
    pareto_front: list[TrialRecord] = dataclasses.field(default_factory=list)  # objective pareto: the front
    final_trainings: list[FinalTrainingSummary] = dataclasses.field(default_factory=list)  # this session's
    architectures_judged: int = 0  # completed trials scored with shared weights (a weight-sharing search's children)


def judged_count(trials: list[TrialRecord]) -> int:
    """Trials completed with shared weights: a weight-sharing search's judged children (its shortlist is trained)."""
    return sum(trial.status is TrialStatus.COMPLETED and trial.judged_with is JudgedWith.SHARED_WEIGHTS
               for trial in trials)


def trial_score(trial: TrialRecord) -> float | None:
    """The objective's score of a stored trial (runs stored before scores were kept searched for accuracy)."""
    return trial.score if trial.score is not None else trial.validation_accuracy


def ranked_trials(trials: list[TrialRecord], objective: Objective = Objective()) -> list[TrialRecord]:
    """Scored trials, best first by the objective (ties: fewer parameters first). For a Pareto search, the trials
    of the Pareto front only (accuracy, latency, params), by validation accuracy. Where some were trained and
    others only judged with shared weights (a weight-sharing search's shortlist), the trained ones alone: a score
    from training outranks any shared-weight score, and the two are not on one scale."""
    scored = [trial for trial in trials if trial_score(trial) is not None and trial.latency_ms is not None
              and trial.params is not None and trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)]
    trained = [trial for trial in scored if trial.judged_with is JudgedWith.TRAINING]
    scored = trained or scored
    if objective.multi_objective:
        front = pareto_indices(scored)
        scored = [trial for index, trial in enumerate(scored) if index in front]
        reward = lambda trial: trial.validation_accuracy  # noqa: E731
    else:
        reward = lambda trial: objective.reward(trial_score(trial))  # noqa: E731
    return sorted(scored, key=lambda trial: (-reward(trial), trial.params, trial.number))


def summarize(store: ResultStore, run: str, wall_seconds: float, objective: Objective) -> SearchSummary:
    trials = store.trials(run)
    count = lambda status: sum(trial.status is status for trial in trials)  # noqa: E731
    ranked = ranked_trials(trials, objective)
    return SearchSummary(run, count(TrialStatus.COMPLETED), count(TrialStatus.FAILED), count(TrialStatus.STOPPED),
                         wall_seconds, ranked[0] if ranked else None, run_costs(store, [run])[0], objective,
                         pareto_front=ranked if objective.multi_objective else [],
                         architectures_judged=judged_count(trials))
