"""The ask/tell interface every strategy implements (after Optuna's `study.ask` / `study.tell`).

A strategy proposes `Trial`s and learns from their rewards; it never trains anything itself, so it can be
tested in milliseconds on a toy space. Several trials may be outstanding at once (they run in parallel on Ray)
and come back in any order; a reward of None means the trial failed.
"""
from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from search_spaces import Architecture, SearchSpace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trial:
    """One proposal: `id` counts from 0 within a strategy, `arch` is the architecture to evaluate."""

    id: int
    arch: Architecture


class StateDictError(ValueError):
    """A state_dict that does not belong to this strategy or this space."""


class Strategy(ABC):
    """Base class: trial numbering, outstanding trials, enqueued architectures and state round-trips.

    Subclasses implement `propose`, and `observe` / `strategy_state` / `load_strategy_state` when they learn.
    """

    name: str = ""
    options: frozenset[str] = frozenset()  # keyword options the subclass accepts

    def __init__(self, space: SearchSpace, seed: int | None = None, **options: Any):
        unknown = sorted(set(options) - self.options)
        if unknown:
            accepted = ", ".join(sorted(self.options)) or "none"
            raise ValueError(f"Unknown option {unknown[0]!r} for strategy {self.name!r}. "
                             f"Expected options among: {accepted}")
        self.space = space
        self.seed = seed
        self._next_id = 0
        self._outstanding: dict[int, Trial] = {}
        self._enqueued: deque[Architecture] = deque()
        self._reissued: deque[Trial] = deque()

    def enqueue(self, architectures: Iterable[Architecture]) -> None:
        """Ask for these architectures first (e.g. the space's hand-made references), like Optuna's enqueue_trial."""
        self._enqueued.extend(self.space.validate(arch) for arch in architectures)

    def reissue_outstanding(self, finished: Iterable[int] = ()) -> None:
        """Hand out the outstanding trials again, same ids first (a resumed search reruns what was in flight), but
        for those `finished` already (their results are to be told)."""
        done = set(finished)
        self._reissued.extend(trial for trial in self._outstanding.values() if trial.id not in done)

    def adopt(self, trial: Trial) -> None:
        """Take on a trial this strategy's state does not know (a resume from a state saved before the trial
        started): it becomes outstanding, its architecture counts as proposed, and numbering goes on after it."""
        self.accept_enqueued(trial.arch)  # every strategy marks an architecture seen there
        self._outstanding[trial.id] = trial
        self._next_id = max(self._next_id, trial.id + 1)

    @property
    def reissuing(self) -> bool:
        """Whether the next ask() hands out an outstanding trial again rather than a new proposal."""
        return bool(self._reissued)

    @property
    def next_id(self) -> int:
        """The number the next new proposal will get."""
        return self._next_id

    def ask(self) -> Trial | None:
        """The next trial, or None when the strategy has nothing left to propose."""
        if self._reissued:
            return self._reissued.popleft()
        arch = None
        while self._enqueued and arch is None:
            candidate = self._enqueued.popleft()
            arch = candidate if self.accept_enqueued(candidate) else None
        if arch is None:
            arch = self.propose()
        if arch is None:
            return None
        trial = Trial(self._next_id, arch)
        self._next_id += 1
        self._outstanding[trial.id] = trial
        return trial

    @property
    def multi_objective(self) -> bool:
        """Whether the strategy learns from several objectives at once (then `tell` needs `objectives`)."""
        return False

    def tell(self, trial: Trial, reward: float | None, objectives: Sequence[float] | None = None,
             over_limit: bool = False) -> None:
        """Report a finished trial: reward higher is better; None, NaN or infinity mean the trial failed.

        A multi-objective strategy learns from `objectives` (in the directions it was built with) instead. With
        `over_limit`, the model broke a hard limit (max_params, max_latency) and was not trained: a multi-objective
        strategy learns it as infeasible, with `objectives` as far as they were measured."""
        if self._outstanding.pop(trial.id, None) is None:
            raise ValueError(f"Trial {trial.id} is not outstanding. Expected a trial returned by ask() and "
                             "not told yet")
        if self.multi_objective and over_limit and objectives is not None:
            self.observe_infeasible(trial, [float(value) for value in objectives])
            return
        if self.multi_objective:
            if reward is None or objectives is None or not all(math.isfinite(value) for value in objectives):
                if reward is not None:
                    logger.warning("Trial %d reported objectives %r; treating it as failed.", trial.id, objectives)
                self.observe(trial, None)
            else:
                self.observe(trial, [float(value) for value in objectives])
            return
        if reward is not None and not math.isfinite(reward):
            logger.warning("Trial %d reported reward %r; treating it as failed.", trial.id, reward)
            reward = None
        self.observe(trial, reward)

    @property
    def outstanding(self) -> list[Trial]:
        return list(self._outstanding.values())

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; `load_state_dict` on a fresh strategy of the same kind resumes it."""
        return {
            "strategy": self.name,
            "space": self.space.name,
            "next_id": self._next_id,
            "outstanding": [[trial.id, trial.arch.to_dict()] for trial in self._outstanding.values()],
            "enqueued": [arch.to_dict() for arch in self._enqueued],
            "state": self.strategy_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("strategy") != self.name or state.get("space") != self.space.name:
            raise StateDictError(
                f"Expected a state_dict of strategy {self.name!r} on space {self.space.name!r}. Received one of "
                f"strategy {state.get('strategy')!r} on space {state.get('space')!r}")
        self._next_id = int(state["next_id"])
        self._outstanding = {int(trial_id): Trial(int(trial_id), self.space.validate(values))
                             for trial_id, values in state["outstanding"]}
        self._enqueued = deque(self.space.validate(values) for values in state["enqueued"])
        try:
            self.load_strategy_state(state["state"])
        except (KeyError, TypeError, ValueError) as error:  # e.g. the state of an earlier version of the strategy
            raise StateDictError(
                f"Expected a state_dict of strategy {self.name!r} as this version of nas writes it. Received one "
                f"it cannot read (missing or malformed {error}); resume the run with the nas that started it, "
                "or start a new run") from None

    # What a subclass provides.
    @abstractmethod
    def propose(self) -> Architecture | None:
        """A new architecture to try, or None when the strategy is exhausted."""

    def accept_enqueued(self, arch: Architecture) -> bool:
        """Whether to run an enqueued architecture (a subclass may skip ones it has already proposed)."""
        return True

    def observe(self, trial: Trial, reward: float | None) -> None:
        """Learn from a finished trial (reward None: it failed)."""

    def observe_infeasible(self, trial: Trial, objectives: list[float]) -> None:
        """Learn that a trial broke a hard limit (multi-objective strategies; by default, as a failure)."""
        self.observe(trial, None)

    def strategy_state(self) -> dict[str, Any]:
        return {}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        pass
