"""Our ask/tell `Strategy` behind Ray Tune's `Searcher` interface, in the shape of Ray's own OptunaSearch adapter."""
from __future__ import annotations

import json
from pathlib import Path

from ray.tune.search import Searcher

from nas.objectives import OVER_LIMIT_REWARD, Objective
from strategies import Strategy, Trial

# What the strategy, Tune's searcher and the ASHA scheduler maximise: the objective's reward (nas/objectives.py).
METRIC = "reward"


class StrategySearcher(Searcher):
    """suggest = ask, on_trial_complete = tell.

    A trial over a hard limit reports `over_limit`: the strategy hears `over_limit_reward` for it (0 under an
    accuracy objective; None, a failure, under a metric objective, which has no worst value); a multi-objective
    strategy hears it as infeasible."""

    def __init__(self, strategy: Strategy, over_limit_reward: float | None = 0.0):
        super().__init__(metric=METRIC, mode="max")
        self.strategy = strategy
        self.over_limit_reward = over_limit_reward
        self._trials: dict[str, Trial] = {}  # Ray's trial id -> our trial

    def suggest(self, trial_id: str) -> dict | str | None:
        trial = self.strategy.ask()
        if trial is None:
            return Searcher.FINISHED
        self._trials[trial_id] = trial
        return {"trial": trial.id, "arch": trial.arch.to_dict()}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self._trials.pop(trial_id, None)
        if trial is None:
            return
        reward = None if error or not result or "error" in result else result.get(METRIC)
        objectives = None
        over_limit = bool(not error and result and result.get("over_limit"))
        if reward is not None and self.strategy.multi_objective:
            objectives = Objective.values(result["validation_accuracy"], result["latency_ms"], result["params"])
        elif over_limit and self.strategy.multi_objective:
            # Not trained: infeasible to the strategy, with an accuracy of 0 and what was measured of its cost.
            objectives = Objective.values(OVER_LIMIT_REWARD, result.get("latency_ms", 0.0), result.get("params", 0))
        elif over_limit:
            reward = self.over_limit_reward  # a model over max_params/max_latency: worthless to this search
        self.strategy.tell(trial, reward, objectives, over_limit=over_limit)

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment: the strategy's state and Ray's trial ids."""
        state = {"strategy": self.strategy.state_dict(),
                 "trials": {trial_id: trial.id for trial_id, trial in self._trials.items()}}
        Path(checkpoint_path).write_text(json.dumps(state))

    def restore(self, checkpoint_path: str) -> None:
        state = json.loads(Path(checkpoint_path).read_text())
        self.strategy.load_state_dict(state["strategy"])
        outstanding = {trial.id: trial for trial in self.strategy.outstanding}
        self._trials = {trial_id: outstanding[number] for trial_id, number in state["trials"].items()
                        if number in outstanding}
