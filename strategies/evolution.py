"""Regularized (aging) evolution: Real et al., "Regularized Evolution for Image Classifier Architecture Search"
(AAAI 2019), Algorithm 1.

A population of the most recently evaluated architectures; each new child is a one-decision mutation
(`SearchSpace.mutate`) of the best of `sample_size` members drawn at random, and when the population is full the
oldest member dies, whatever its accuracy. Until the population has filled, architectures are drawn at random.

Departures from the paper, each for a reason:
- Asynchronous: a child is proposed whenever a worker is free, from the population as it stands (the paper's
  workers also run asynchronously); a child joins the population when its reward arrives.
- Failed trials never join the population (the paper has none).
- No architecture is proposed twice while unseen ones remain: a mutation that lands on a seen architecture is
  retried, then replaced by a random unseen one, so a small space is not re-evaluated over and over.
- Defaults (population 20, sample 5) are scaled to budgets of tens to hundreds of trials; the paper used
  P=100, S=25 for 20,000 trials.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from search_spaces import Architecture, SearchSpace
from strategies.base import Strategy, Trial
from strategies.random_search import RandomStrategy

_MUTATION_ATTEMPTS = 20


class EvolutionStrategy(Strategy):
    name = "evolution"
    options = frozenset({"population_size", "sample_size"})

    def __init__(self, space: SearchSpace, seed: int | None = None, **options: Any):
        super().__init__(space, seed, **options)  # refuses options it does not know
        population_size = options.get("population_size", 20)
        sample_size = options.get("sample_size", 5)
        if not isinstance(population_size, int) or population_size < 2:
            raise ValueError(f"Expected population_size >= 2. Received: {population_size!r}")
        if not isinstance(sample_size, int) or not 1 <= sample_size <= population_size:
            raise ValueError(f"Expected 1 <= sample_size <= population_size ({population_size}). "
                             f"Received: {sample_size!r}")
        self.population_size, self.sample_size = population_size, sample_size
        self._rng = np.random.default_rng(seed)
        # Draws the initial population and stands in when mutations only find seen architectures; it also
        # remembers every architecture proposed, so none is proposed twice.
        self._explorer = RandomStrategy(space, seed=None if seed is None else seed + 1)
        self._population: deque[tuple[Architecture, float]] = deque()  # oldest first

    def propose(self) -> Architecture | None:
        if len(self._population) < self.population_size:
            return self._explorer.propose()
        indices = self._rng.choice(len(self._population), size=self.sample_size, replace=False)
        parent = max((self._population[int(index)] for index in indices), key=lambda member: member[1])[0]
        return self._explorer.first_unseen(self.space.mutate(parent, self._rng) for _ in range(_MUTATION_ATTEMPTS))

    def accept_enqueued(self, arch: Architecture) -> bool:
        return self._explorer.mark_seen(arch)

    def observe(self, trial: Trial, reward: float | None) -> None:
        if reward is None:
            return
        self._population.append((trial.arch, float(reward)))
        if len(self._population) > self.population_size:
            self._population.popleft()  # aging: the oldest dies, not the worst

    def strategy_state(self) -> dict[str, Any]:
        return {"rng": self._rng.bit_generator.state, "explorer": self._explorer.state_dict(),
                "population": [[arch.to_dict(), reward] for arch, reward in self._population]}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._explorer.load_state_dict(state["explorer"])
        self._population = deque((self.space.validate(values), float(reward))
                                 for values, reward in state["population"])
