"""Our ask/tell `Strategy` behind Ray Tune's `Searcher` interface, in the shape of Ray's own OptunaSearch adapter."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

from ray.tune.search import Searcher

from nas.estimator.objectives import OVER_LIMIT_PREFIX, OVER_LIMIT_REWARD, Objective
from nas.runner.consecutive_failures import ConsecutiveFailures
from results import TrialRecord, TrialStatus
from search_spaces import Architecture
from strategies import Strategy, Trial

# What the strategy, Tune's searcher and the ASHA scheduler maximise: the objective's reward
# (nas/estimator/objectives.py).
METRIC = "reward"
# Proposals refused in the driver (over a limit) in one call of `suggest` before it lets Tune ask again.
MOST_REFUSED_AT_ONCE = 100


class StrategySearcher(Searcher):
    """suggest = ask, on_trial_complete = tell.

    With `lag` K (a search's --concurrency), the searcher is reproducible: trial n is proposed once the strategy
    has been told the trials before n - K, in trial order, and none after them, so the same seed and concurrency
    propose the same architecture for each trial number whatever order trials finish in (their results being the
    same). A trial older than n - K still running makes the next proposal wait (Tune asks again). Without a lag,
    each result is told as it comes, and proposals follow the order trials happen to finish in.

    A trial over a hard limit reports `over_limit`: the strategy hears `over_limit_reward` for it (0 under an
    accuracy objective; None, a failure, under a metric objective, which has no worst value); a multi-objective
    strategy hears it as infeasible.

    Once `failures` says too many trials failed in a row (the recorder counts them as they end), it proposes no
    more: Tune lets the trials in flight finish and ends the experiment."""

    def __init__(self, strategy: Strategy, over_limit_reward: float | None = 0.0, lag: int | None = None,
                 finished: Iterable[tuple[Trial, dict | None]] = (), checkpoints: dict[int, str] | None = None,
                 refusal: Callable[[Architecture], dict | None] | None = None,
                 on_refused: Callable[[Trial, dict], None] | None = None, proposals: int | None = None,
                 failures: ConsecutiveFailures | None = None):
        super().__init__(metric=METRIC, mode="max")
        self.strategy = strategy
        self.over_limit_reward = over_limit_reward
        self.lag = lag
        self.checkpoints = checkpoints or {}  # trial number -> its last training state, for trials run again
        # A proposal `refusal` returns figures for (nas/runner/memory_limit.py) never reaches Tune: `on_refused`
        # records it, the strategy hears it as over a limit, and the next is asked. `proposals` bounds what this
        # session proposes, refused ones included (the run's --trials; Tune's num_samples counts only its own).
        self.refusal, self.on_refused = refusal, on_refused
        self.proposals_left = proposals
        self.failures = failures or ConsecutiveFailures(None)
        self._trials: dict[str, Trial] = {}  # Ray's trial id -> our trial
        self._held: dict[int, tuple[Trial, dict | None]] = {}  # finished trials not told yet, by number
        for trial, result in finished:  # a resumed run's trials that finished before its strategy heard of them
            self._finish(trial, result)

    def suggest(self, trial_id: str) -> dict | str | None:
        for _ in range(MOST_REFUSED_AT_ONCE):
            if (self.proposals_left is not None and self.proposals_left <= 0) or self.failures.reached:
                return Searcher.FINISHED
            if self.lag is not None and not self.strategy.reissuing:
                horizon = self.strategy.next_id - self.lag  # the strategy hears every trial before it, and no more
                self._tell_held(horizon)
                if any(trial.id < horizon for trial in self.strategy.outstanding):
                    return None  # an older trial still runs: Tune asks again when something changes
            again = self.strategy.reissuing
            trial = self.strategy.ask()
            if trial is None:
                return Searcher.FINISHED
            if self.proposals_left is not None:
                self.proposals_left -= 1
            refused = None if again or self.refusal is None else self.refusal(trial.arch)
            if refused is None:
                break
            if self.on_refused is not None:
                self.on_refused(trial, refused)
            self._finish(trial, refused)
        else:
            return None  # Tune asks again; the strategy has heard of these and proposes elsewhere
        self._trials[trial_id] = trial
        config = {"trial": trial.id, "arch": trial.arch.to_dict()}
        if again and trial.id in self.checkpoints:  # in flight when the run stopped: on from its last epoch
            config["resume_from"] = self.checkpoints.pop(trial.id)
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self._trials.pop(trial_id, None)
        if trial is not None:
            self._finish(trial, None if error else result)

    def tell_all(self) -> None:
        """Tell the strategy every finished trial still held (the search ends: its final state hears them all)."""
        self._tell_held(None)

    def _finish(self, trial: Trial, result: dict | None) -> None:
        if self.lag is None:
            self.strategy.tell(trial, *self._outcome(result))
        else:
            self._held[trial.id] = (trial, result)

    def _tell_held(self, horizon: int | None) -> None:
        """Tell the held trials in trial order, up to the first still running (and below `horizon`, if given)."""
        while self._held:
            first = min(trial.id for trial in self.strategy.outstanding)  # held trials are outstanding until told
            if first not in self._held or (horizon is not None and first >= horizon):
                return
            trial, result = self._held.pop(first)
            self.strategy.tell(trial, *self._outcome(result))

    def _outcome(self, result: dict | None) -> tuple[float | None, tuple | None, bool]:
        """What the strategy hears of a trial's last result (None: it failed): reward, objectives, over_limit."""
        reward = None if not result or "error" in result else result.get(METRIC)
        objectives = None
        over_limit = bool(result and result.get("over_limit"))
        if reward is not None and self.strategy.multi_objective:
            objectives = Objective.values(result["validation_accuracy"], result["latency_ms"], result["params"])
        elif over_limit and self.strategy.multi_objective:
            # Not trained: infeasible to the strategy, with an accuracy of 0 and what was measured of its cost.
            objectives = Objective.values(OVER_LIMIT_REWARD, result.get("latency_ms", 0.0), result.get("params", 0))
        elif over_limit:
            reward = self.over_limit_reward  # a model over max_params/max_latency: worthless to this search
        return reward, objectives, over_limit

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment: the strategy's state, Ray's trial ids and the
        finished trials not told yet."""
        state = {"strategy": self.strategy.state_dict(),
                 "trials": {trial_id: trial.id for trial_id, trial in self._trials.items()},
                 "held": {str(number): result for number, (_, result) in self._held.items()}}
        Path(checkpoint_path).write_text(json.dumps(state))

    def restore(self, checkpoint_path: str) -> None:
        state = json.loads(Path(checkpoint_path).read_text())
        self.strategy.load_state_dict(state["strategy"])
        outstanding = {trial.id: trial for trial in self.strategy.outstanding}
        self._trials = {trial_id: outstanding[number] for trial_id, number in state["trials"].items()
                        if number in outstanding}
        self._held = {int(number): (outstanding[int(number)], result) for number, result in state["held"].items()
                      if int(number) in outstanding}


def stored_result(trial: TrialRecord, objective: Objective) -> dict | None:
    """A stored trial's outcome as its last reported result would have said it (None: it failed), for a resumed
    strategy that had not heard of it."""
    if trial.error and trial.error.startswith(OVER_LIMIT_PREFIX):
        return {"over_limit": True, "error": trial.error, "params": trial.params or 0,
                "latency_ms": trial.latency_ms or 0.0}
    score = trial.score if trial.score is not None else trial.validation_accuracy
    if trial.status is TrialStatus.FAILED or score is None:
        return None
    return {METRIC: objective.reward(score), "validation_accuracy": trial.validation_accuracy,
            "latency_ms": trial.latency_ms, "params": trial.params}
