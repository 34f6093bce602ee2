"""The shortlist of a weight-sharing search: its best judged children, trained alone before the final training.

Shared weights rank architectures coarsely among the good ones (README, "Ranking honesty": among the better half,
Kendall's tau 0.33-0.41, and 2-4 of the 20 best trained alone are among the 20 best judged), and they judge deep
children low (`shortlisted`). So the final training does not take the best judged on one judgement: the best
judged of each depth in turn (`shortlist` distinct architectures) are first trained alone with the trial recipe,
as ordinary trials of the run, and the final training retrains the top-k of those (a score from training alone
outranks any shared-weight score: nas.runner.experiment.ranked_trials). ENAS and single-path one-shot NAS likewise rank
candidates with the supernet, then train the chosen from scratch; this step makes the choice among them with the
judgement a search without weight sharing uses.
"""
from __future__ import annotations

from typing import Iterable

from nas.estimator.objectives import Objective
from results import JudgedWith, TrialRecord, TrialStatus
from search_spaces import Architecture, SearchSpace
from strategies import Strategy, Trial

# The cnn space's depth (its number of conv blocks), by which the shortlist takes the best judged in turn.
DEPTH = "blocks"
# Under a time budget, the shortlist's trials get this share of it, out of the final training's share.
SHORTLIST_SHARE = 0.1


class Shortlist(Strategy):
    """Proposes the given architectures in order, then nothing: Ray Tune runs them as the run's trials (numbered
    from `first_number`, after every child judged)."""

    name = "shortlist"

    def __init__(self, space: SearchSpace, architectures: Iterable[Architecture], first_number: int):
        super().__init__(space)
        self._next_id = first_number
        self.enqueue(architectures)

    def propose(self) -> Architecture | None:
        return None


def shortlisted(trials: list[TrialRecord], objective: Objective, size: int) -> list[TrialRecord]:
    """The `size` best judged children, one per architecture: the best of each depth in turn, by the objective.

    Depth by depth because shared weights rank depths apart: the shallow children learn fastest from their share
    of the steps. In one 10-minute MNIST search (20,000 parameters), the best 3-block child was judged at 75.8% and
    the best 1- and 2-block ones at 88.6% and 89.6%, while trained alone the 3-block children win (all 6 winners
    of the 10-minute MNIST searches that trained them: README, "Time to a winner"). Within a depth the order is the
    judged."""
    judged = [trial for trial in trials if trial.judged_with is JudgedWith.SHARED_WEIGHTS
              and trial.status is TrialStatus.COMPLETED and trial.score is not None]
    judged.sort(key=lambda trial: (-objective.reward(trial.score), trial.params or 0, trial.number))
    by_depth: dict[object, list[TrialRecord]] = {}
    seen: set[str] = set()
    for trial in judged:
        if trial.arch_key not in seen:
            seen.add(trial.arch_key)
            by_depth.setdefault(trial.arch.get(DEPTH), []).append(trial)
    chosen: list[TrialRecord] = []
    for rank in range(max(map(len, by_depth.values()), default=0)):  # the depths in the order of their best
        chosen += [children[rank] for children in by_depth.values() if rank < len(children)]
    return chosen[:size]


def shortlist_to_train(trials: list[TrialRecord], objective: Objective, size: int,
                       space: SearchSpace) -> tuple[Shortlist, int, list[TrialRecord]]:
    """What is left of a run's shortlist: a strategy that proposes the shortlisted architectures not trained yet
    (those stored as running, in flight when a resumed run stopped, first and under their numbers), how many that
    is, and the shortlisted children."""
    chosen = shortlisted(trials, objective, size)
    trained = {trial.arch_key: trial for trial in trials if trial.judged_with is JudgedWith.TRAINING}
    in_flight = [trial for trial in trained.values() if trial.status is TrialStatus.RUNNING]
    first_number = max((trial.number for trial in trials), default=-1) + 1
    untrained = [child for child in chosen if child.arch_key not in trained]
    strategy = Shortlist(space, [space.validate(child.arch) for child in untrained], first_number)
    for trial in sorted(in_flight, key=lambda trial: trial.number):
        strategy.adopt(Trial(trial.number, space.validate(trial.arch)))
    strategy.reissue_outstanding()
    return strategy, len(in_flight) + len(untrained), chosen
