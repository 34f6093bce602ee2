"""Ask/tell strategies that propose architectures: `get_strategy(name, space, seed=..., **options)`."""
from __future__ import annotations

from typing import Any

from search_spaces import SearchSpace
from strategies.base import StateDictError, Strategy, Trial
from strategies.bayes import BayesStrategy
from strategies.evolution import EvolutionStrategy
from strategies.random_search import RandomStrategy
from strategies.rl import RLStrategy

STRATEGIES: dict[str, type[Strategy]] = {
    strategy.name: strategy for strategy in (RandomStrategy, BayesStrategy, RLStrategy, EvolutionStrategy)}


def get_strategy(name: str, space: SearchSpace, seed: int | None = None, **options: Any) -> Strategy:
    """A strategy by name, seeded; unknown names and options raise ValueError saying what is accepted."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}. Expected one of: {', '.join(STRATEGIES)}")
    return STRATEGIES[name](space, seed=seed, **options)


__all__ = ["STRATEGIES", "StateDictError", "Strategy", "Trial", "get_strategy"]
