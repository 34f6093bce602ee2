"""Pareto fronts over stored trials: validation accuracy up, latency down, parameters down.

A trial is on the front when no other scored trial is at least as good on all three and better on one. Trials
without one of the three (failed, still running) are never on it. Plain Python: fronts of a few thousand trials
take milliseconds, and `results` stays free of numerical dependencies.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

# (attribute, higher is better) for the three objectives a front trades off.
OBJECTIVES: tuple[tuple[str, bool], ...] = (("validation_accuracy", True), ("latency_ms", False), ("params", False))


def objectives_of(row: Any) -> tuple[float, ...] | None:
    """The row's objectives as values to minimise, or None when one is missing. A row that has a `quality` (a
    leaderboard row: its accuracy, or its run's score for a regression) is judged on it instead of accuracy."""
    values = []
    for name, higher_is_better in OBJECTIVES:
        value = getattr(row, "quality" if name == "validation_accuracy" and hasattr(row, "quality") else name, None)
        if value is None or value != value:  # missing or NaN
            return None
        values.append(-value if higher_is_better else value)
    return tuple(values)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether `a` is at least as good as `b` everywhere and better somewhere (all values minimised)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_indices(rows: Iterable[Any]) -> set[int]:
    """Indices of the rows on the Pareto front."""
    scored = [(index, values) for index, row in enumerate(rows)
              if (values := objectives_of(row)) is not None]
    return {index for index, values in scored
            if not any(dominates(other, values) for _, other in scored)}
