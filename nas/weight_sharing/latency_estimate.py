"""Latency of children that are judged, not built: a least-squares fit over children that were built and timed.

Timing a model (nas.estimator.latency) takes about a second; a weight-sharing search judges a thousand children in
minutes. So a supernet's worker times a few children drawn from the space at its start, as a trial would, and
estimates every other child's batch-1 latency as a + b x FLOPs + c x layers (numpy's least squares), the
figures that cost grows with on a CPU: the arithmetic, and a fixed cost per layer. `relative_error` says how far
the fit is off, by leave-one-out over the children it was fitted on.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from nas.weight_sharing.supernet import ChildSize

TIMED_CHILDREN = 16


def _features(size: ChildSize) -> list[float]:
    return [1.0, size.flops / 1e6, float(size.layers)]


class LatencyEstimate:
    """`estimate(size)`: the batch-1 latency in ms of a child of that size, from `timed` (size, ms) pairs."""

    def __init__(self, timed: Sequence[tuple[ChildSize, float]]):
        if len(timed) < 4:
            raise ValueError(f"Expected at least 4 timed children to fit latency on. Received: {len(timed)}")
        self.features = np.array([_features(size) for size, _ in timed])
        self.latencies = np.array([latency for _, latency in timed])
        self.coefficients = np.linalg.lstsq(self.features, self.latencies, rcond=None)[0]

    def __call__(self, size: ChildSize) -> float:
        return max(0.0, float(np.dot(_features(size), self.coefficients)))

    @property
    def relative_error(self) -> float:
        """The median of |estimate - measured| / measured, each child left out of the fit that estimates it."""
        errors = []
        for left_out in range(len(self.latencies)):
            keep = np.arange(len(self.latencies)) != left_out
            coefficients = np.linalg.lstsq(self.features[keep], self.latencies[keep], rcond=None)[0]
            estimate = float(np.dot(self.features[left_out], coefficients))
            errors.append(abs(estimate - self.latencies[left_out]) / self.latencies[left_out])
        return float(np.median(errors))


def timed_children(sample: Callable[[], object], size_of: Callable[[object], ChildSize],
                   latency_of: Callable[[object], float], count: int = TIMED_CHILDREN) -> LatencyEstimate:
    """Time `count` children from `sample()` (latency_of builds and times one) and fit the estimate to them."""
    timed = []
    for _ in range(count):
        arch = sample()
        timed.append((size_of(arch), latency_of(arch)))
    return LatencyEstimate(timed)
