"""Random search: every active choice drawn uniformly, never repeating an architecture while unseen ones remain.

The baseline every other strategy must beat (Li & Talwalkar, "Random Search and Reproducibility for NAS", 2019).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from search_spaces import Architecture, SearchSpace
from strategies.base import Strategy

# Rejection sampling finds an unseen architecture fast while most of the space is unseen; past this many
# misses the space is nearly exhausted, and enumerating what is left is cheaper than more misses.
_REJECTION_ATTEMPTS = 64
_ENUMERATE_AT_MOST = 200_000


class RandomStrategy(Strategy):
    name = "random"

    def __init__(self, space: SearchSpace, seed: int | None = None, **options: Any):
        super().__init__(space, seed, **options)
        self._rng = np.random.default_rng(seed)
        self._seen: set[str] = set()

    def propose(self) -> Architecture | None:
        for _ in range(_REJECTION_ATTEMPTS):
            arch = self.space.sample(self._rng)
            if arch.key not in self._seen:
                return self._remember(arch)
        if self.space.size > _ENUMERATE_AT_MOST:
            return None if len(self._seen) >= self.space.size else self._remember(self._sample_unseen_slowly())
        unseen = [arch for arch in self.space.enumerate() if arch.key not in self._seen]
        if not unseen:
            return None
        return self._remember(unseen[int(self._rng.integers(len(unseen)))])

    def accept_enqueued(self, arch: Architecture) -> bool:
        return self.mark_seen(arch)

    def mark_seen(self, arch: Architecture) -> bool:
        """Count `arch` as proposed (so it is never drawn); False if it already was."""
        if arch.key in self._seen:
            return False
        self._remember(arch)
        return True

    def is_seen(self, arch: Architecture) -> bool:
        return arch.key in self._seen

    def first_unseen(self, candidates: Iterable[Architecture]) -> Architecture | None:
        """The first candidate not proposed before (now counted as proposed), else a random unseen architecture:
        how the learning strategies avoid repeating themselves. None once the space is exhausted."""
        for candidate in candidates:
            if self.mark_seen(candidate):
                return candidate
        return self.propose()

    def _sample_unseen_slowly(self) -> Architecture:
        while True:  # terminates: the space is larger than what was seen
            arch = self.space.sample(self._rng)
            if arch.key not in self._seen:
                return arch

    def _remember(self, arch: Architecture) -> Architecture:
        self._seen.add(arch.key)
        return arch

    def strategy_state(self) -> dict[str, Any]:
        return {"rng": self._rng.bit_generator.state, "seen": sorted(self._seen)}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._seen = set(state["seen"])
