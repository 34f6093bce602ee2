"""Bayesian optimisation with Optuna's TPE sampler, driven through Optuna's public ask/tell API.

Optuna does the modelling: each proposal is an Optuna trial whose parameters are suggested define-by-run, in the
space's order, so a conditional parameter is only suggested where it is active; Int and Float ranges are Optuna's
own int and float distributions (log or not), a Choice its categorical one. TPE runs multivariate with
`group=True` (Optuna's way of modelling conditional spaces: one model per set of choices that occur together)
and with the constant liar, so several outstanding trials do not all land on the same point.

What is ours: a failed trial is told as failed (TPE ignores it), not as a zero; under several objectives, a model
over a hard limit (`--max-params`, `--max-latency`, not trained) is told as infeasible through Optuna's
constraints, so TPE counts it among the bad trials and learns where the limits lie; a proposal of an architecture
already proposed is answered from memory (its reward, or failed while it is still running) and TPE asks again,
falling back to a random unseen architecture; and the state is the list of finished Optuna trials, from which a
fresh study is rebuilt on load. The sampler is re-seeded from (seed, trial number) before every ask, so a
resumed search proposes exactly what the original would have.
"""
from __future__ import annotations

import warnings
from typing import Any

import optuna

from search_spaces import Architecture, Float, Int, Parameter, SearchSpace
from strategies.base import Strategy, Trial
from strategies.random_search import RandomStrategy

# TPE's defaults are tuned for continuous search spaces; these are Optuna's own options.
_N_STARTUP_TRIALS = 10  # random proposals before TPE models anything (Optuna's default)
_DUPLICATE_ATTEMPTS = 10
# A model over a hard limit, as an Optuna constraint: one violation of size 1 (any value above 0 is infeasible).
_LIMITS, _VIOLATION = "hard_limits", 1.0

optuna.logging.set_verbosity(optuna.logging.WARNING)  # Optuna logs every trial at INFO


class BayesStrategy(Strategy):
    name = "bayes"
    # directions: several objectives at once, e.g. ["maximize", "minimize", "minimize"]: Optuna's TPE is then
    # multi-objective (MOTPE) and `tell` takes the objectives' values.
    options = frozenset({"n_startup_trials", "directions"})

    def __init__(self, space: SearchSpace, seed: int | None = None, **options: Any):
        super().__init__(space, seed, **options)
        self.n_startup_trials = options.get("n_startup_trials", _N_STARTUP_TRIALS)
        if not isinstance(self.n_startup_trials, int) or self.n_startup_trials < 0:
            raise ValueError(f"Expected n_startup_trials >= 0. Received: {self.n_startup_trials!r}")
        self.directions = list(options.get("directions", ["maximize"]))
        if not self.directions or any(direction not in ("maximize", "minimize") for direction in self.directions):
            raise ValueError(f"Expected directions of 'maximize' or 'minimize'. Received: {self.directions!r}")
        self._explorer = RandomStrategy(space, seed=None if seed is None else seed + 1)
        self._rewards: dict[str, float | None] = {}  # architecture key -> reward (None: failed or still running)
        self._infeasible: set[str] = set()  # architecture keys of models over a hard limit (multi-objective)
        # finished Optuna trials: params, value (None: failed), and whether it broke a hard limit
        self._history: list[tuple[dict, float | list | None, bool]] = []
        self._asked: dict[str, optuna.trial.Trial] = {}  # architecture key -> its running Optuna trial
        self._study = self._new_study()

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1

    def _new_study(self) -> optuna.Study:
        return optuna.create_study(directions=self.directions, sampler=self._sampler(0))

    def _sampler(self, salt: int) -> optuna.samplers.TPESampler:
        seed = None if self.seed is None else (self.seed * 1_000_003 + salt) % 2**32
        with warnings.catch_warnings():  # multivariate and group are marked experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                              n_startup_trials=self.n_startup_trials)

    def propose(self) -> Architecture | None:
        for attempt in range(_DUPLICATE_ATTEMPTS):
            self._study.sampler = self._sampler(self._next_id * _DUPLICATE_ATTEMPTS + attempt)
            optuna_trial = self._study.ask()
            arch = self._suggest(optuna_trial)
            if self._explorer.mark_seen(arch):
                self._asked[arch.key] = optuna_trial
                return arch
            # Seen before: TPE learns the known answer (failed while that trial is still running) and asks again.
            self._finish(optuna_trial, self._rewards.get(arch.key), arch.key in self._infeasible)
        return self._explorer.propose()

    def _suggest(self, optuna_trial: optuna.trial.Trial) -> Architecture:
        return suggest_architecture(optuna_trial, self.space)

    def accept_enqueued(self, arch: Architecture) -> bool:
        return self._explorer.mark_seen(arch)

    def observe(self, trial: Trial, reward: float | list[float] | None, infeasible: bool = False) -> None:
        self._rewards[trial.arch.key] = reward
        if infeasible:
            self._infeasible.add(trial.arch.key)
        optuna_trial = self._asked.pop(trial.arch.key, None)
        if optuna_trial is None:  # enqueued, random fallback, or asked before a resume: TPE learns it all the same
            self._add_finished(trial.arch.to_dict(), reward, infeasible)
        else:
            self._finish(optuna_trial, reward, infeasible)

    def observe_infeasible(self, trial: Trial, objectives: list[float]) -> None:
        self.observe(trial, objectives, infeasible=True)

    def _finish(self, optuna_trial: optuna.trial.Trial, reward: float | list[float] | None, infeasible: bool) -> None:
        if reward is None:
            self._study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
        else:
            if infeasible:  # Optuna's constraints: a value above 0 is a violation, and TPE ranks it below the rest
                optuna_trial.set_constraint(_LIMITS, _VIOLATION)
            self._study.tell(optuna_trial, reward)
        self._history.append((dict(optuna_trial.params), reward, infeasible))

    def _add_finished(self, params: dict, reward: float | list[float] | None, infeasible: bool) -> None:
        distributions = {name: _distribution(self.space.parameter(name)) for name in params}
        state = optuna.trial.TrialState.FAIL if reward is None else optuna.trial.TrialState.COMPLETE
        values = None if reward is None else reward if isinstance(reward, list) else [reward]
        constraints = {_LIMITS: _VIOLATION} if infeasible and reward is not None else None
        self._study.add_trial(optuna.trial.create_trial(state=state, values=values, params=params,
                                                        distributions=distributions, constraints=constraints))
        self._history.append((params, reward, infeasible))

    def strategy_state(self) -> dict[str, Any]:
        return {"seed": self.seed, "explorer": self._explorer.state_dict(), "rewards": self._rewards,
                "infeasible": sorted(self._infeasible), "history": [list(entry) for entry in self._history]}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self.seed = state["seed"]  # the sampler is re-seeded from it before every ask
        self._explorer.load_state_dict(state["explorer"])
        self._rewards = dict(state["rewards"])
        self._infeasible = set(state["infeasible"])
        self._asked, self._history = {}, []
        self._study = self._new_study()
        for params, reward, infeasible in state["history"]:
            self._add_finished(params, reward, infeasible)


def suggest_architecture(optuna_trial: optuna.trial.Trial, space: SearchSpace) -> Architecture:
    """An architecture of `space` suggested by an Optuna trial define-by-run, in the space's order, so a conditional
    parameter is suggested only where it is active (an Optuna objective can search a nas space with it)."""
    decided: dict[str, Any] = {}
    for parameter in space.parameters:
        if parameter.is_active(decided):
            decided[parameter.name] = _suggest(optuna_trial, parameter)
    return Architecture(space.name, decided)


def _suggest(optuna_trial: optuna.trial.Trial, parameter: Parameter) -> Any:
    """Optuna's own suggestion for one parameter: categorical for a Choice, int or float (log or not) for a range."""
    if isinstance(parameter, Int):
        return optuna_trial.suggest_int(parameter.name, parameter.low, parameter.high, log=parameter.log)
    if isinstance(parameter, Float):
        return optuna_trial.suggest_float(parameter.name, parameter.low, parameter.high, log=parameter.log)
    return optuna_trial.suggest_categorical(parameter.name, list(parameter.options))


def _distribution(parameter: Parameter) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution `_suggest` draws from, to add finished trials Optuna did not propose."""
    if isinstance(parameter, Int):
        return optuna.distributions.IntDistribution(parameter.low, parameter.high, log=parameter.log)
    if isinstance(parameter, Float):
        return optuna.distributions.FloatDistribution(parameter.low, parameter.high, log=parameter.log)
    return optuna.distributions.CategoricalDistribution(list(parameter.options))
