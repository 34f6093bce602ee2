"""Pareto fronts over stored trials: validation accuracy up, latency down, parameters down.

A trial is on the front when no other scored trial is at least as good on all three and better on one. Trials
without one of the three (failed, still running) are never on it. Plain Python (`bisect`): the front of 100,000
trials takes a fraction of a second, and `results` stays free of numerical dependencies.
"""
from __future__ import annotations

import bisect
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
    """Indices of the rows on the Pareto front, in O(n log n) for a front of a few points (a store of 100,000
    trials ranks in about a second).

    A sweep in lexicographic order of the objectives: every row that dominates another comes before it, so a row
    is dominated exactly when an earlier distinct row is at least as good on the second and third objectives. The
    earlier rows are kept as a staircase, their second objective rising and their best third one falling, which
    answers that in a bisection. Rows with equal objectives share their verdict (neither dominates the other)."""
    by_values: dict[tuple[float, ...], list[int]] = {}
    for index, row in enumerate(rows):
        values = objectives_of(row)
        if values is not None:
            by_values.setdefault(values, []).append(index)
    front: set[int] = set()
    seconds: list[float] = []  # the staircase: second objectives, rising
    thirds: list[float] = []  # the best third objective among the rows up to each step, falling
    for first, second, third in sorted(by_values):
        step = bisect.bisect_right(seconds, second) - 1
        if step >= 0 and thirds[step] <= third:
            continue  # an earlier, distinct row is at least as good everywhere
        front.update(by_values[(first, second, third)])
        # Steps at or after `second` with no better third objective are covered by this row now.
        start = bisect.bisect_left(seconds, second)
        end = start
        while end < len(seconds) and thirds[end] >= third:
            end += 1
        seconds[start:end], thirds[start:end] = [second], [third]
    return front
