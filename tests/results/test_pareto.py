"""The Pareto front's sweep (results/pareto.py) against the definition, checked pair by pair."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from results.pareto import dominates, objectives_of, pareto_indices


@dataclass(frozen=True)
class Point:
    validation_accuracy: float | None
    latency_ms: float | None
    params: int | None


def _by_definition(points: list[Point]) -> set[int]:
    scored = [(index, objectives_of(point)) for index, point in enumerate(points) if objectives_of(point)]
    return {index for index, values in scored if not any(dominates(other, values) for _, other in scored)}


@pytest.mark.parametrize("seed", range(20))
def test_the_sweep_finds_exactly_the_points_no_other_dominates(seed):
    """Few distinct values make ties and duplicates common: equal points are both on the front or both off it, and
    a point equal to another on two objectives and better on the third dominates it."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    points = [Point(float(rng.integers(0, 6)) / 5, float(rng.integers(1, 7)), int(rng.integers(1, 7)))
              for _ in range(count)]
    points += [Point(None, 1.0, 1), Point(1.0, float("nan"), 1)]  # unscored: never on the front
    assert pareto_indices(points) == _by_definition(points)


def test_a_front_of_100000_points_takes_no_pairwise_pass():
    """The sweep's result on a large random set agrees with the definition on a sample of its points (the
    definition itself is quadratic)."""
    rng = np.random.default_rng(0)
    points = [Point(float(a), float(b), int(c)) for a, b, c in zip(rng.random(100_000), rng.random(100_000),
                                                                       rng.integers(1, 10**6, 100_000))]
    front = pareto_indices(points)
    values = np.array([objectives_of(point) for point in points])
    for index in rng.choice(len(points), 200, replace=False):
        dominated = np.any(np.all(values <= values[index], axis=1) & np.any(values < values[index], axis=1))
        assert (index in front) == (not dominated)
