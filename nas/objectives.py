"""What a search maximises, from the estimator's measurements (validation accuracy, batch-1 latency, parameters).

- `accuracy`: validation accuracy.
- `mnas`: MnasNet's reward (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", CVPR
  2019, eq. 2): ACC * (LAT / T) ** w, with w = alpha when LAT <= T and beta otherwise. The paper's soft
  constraint uses alpha = beta = -0.07 (a network twice as slow must be about 5% more accurate to score the same);
  its hard constraint uses alpha = 0, beta = -1 (no reward for being faster than T, a steep penalty above it).
- `pareto`: accuracy up, latency down, params down, together. `bayes` hands the three values to Optuna's
  multi-objective TPE; the other strategies learn from one number, ACC * (LAT / 1 ms) ** -0.07 * (PARAMS / 100k) **
  -0.07, MnasNet's soft reward with the parameter count as a second cost. The search ends with the Pareto front.

`--max-params` and `--max-latency` are hard limits: a trial whose model is over one is stopped after its build
(parameters) or its latency measurement, before any training, and stored as failed with the reason. The strategy
hears a reward of 0 for it (OVER_LIMIT_REWARD), so a learning strategy learns to keep within the limits instead of
proposing models that are never trained.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

OBJECTIVES = ("accuracy", "mnas", "pareto")
MNAS_CONSTRAINTS = {"soft": (-0.07, -0.07), "hard": (0.0, -1.0)}  # (alpha, beta), Tan et al. 2019
# The references of the `pareto` scalarisation: they scale every reward alike, so they change no ranking.
PARETO_LATENCY_REFERENCE_MS = 1.0
PARETO_PARAMS_REFERENCE = 100_000
PARETO_WEIGHT = -0.07
# What a strategy is told for a model over a hard limit: the worst score, as for an untrainable network.
OVER_LIMIT_REWARD = 0.0


@dataclass(frozen=True)
class Objective:
    name: str = "accuracy"
    latency_target_ms: float | None = None  # T of the mnas reward
    mnas_constraint: str = "soft"
    max_params: int | None = None
    max_latency_ms: float | None = None

    def __post_init__(self) -> None:
        if self.name not in OBJECTIVES:
            raise ValueError(f"Expected objective in {OBJECTIVES}. Received: {self.name!r}")
        if self.mnas_constraint not in MNAS_CONSTRAINTS:
            raise ValueError(f"Expected mnas_constraint in {tuple(MNAS_CONSTRAINTS)}. Received: "
                             f"{self.mnas_constraint!r}")
        if self.name == "mnas" and not (self.latency_target_ms or 0) > 0:
            raise ValueError("Expected --latency-target MS (> 0) with --objective mnas: the reward is relative to it")
        if self.max_params is not None and self.max_params < 1:
            raise ValueError(f"Expected max_params >= 1. Received: {self.max_params}")
        if self.max_latency_ms is not None and not self.max_latency_ms > 0:
            raise ValueError(f"Expected max_latency_ms > 0. Received: {self.max_latency_ms}")

    @property
    def multi_objective(self) -> bool:
        return self.name == "pareto"

    def violation(self, params: int, latency_ms: float | None) -> str | None:
        """Why a model breaks a hard limit, or None (latency None: not measured yet, so only params are checked)."""
        if self.max_params is not None and params > self.max_params:
            return f"over the limit: {params:,} parameters > --max-params {self.max_params:,}; not trained"
        if self.max_latency_ms is not None and latency_ms is not None and latency_ms > self.max_latency_ms:
            return f"over the limit: latency {latency_ms:.3f} ms > --max-latency {self.max_latency_ms:g} ms; not trained"
        return None

    def reward(self, accuracy: float, latency_ms: float, params: int) -> float:
        """The one number strategies and schedulers maximise."""
        if self.name == "mnas":
            alpha, beta = MNAS_CONSTRAINTS[self.mnas_constraint]
            weight = alpha if latency_ms <= self.latency_target_ms else beta
            return accuracy * (latency_ms / self.latency_target_ms) ** weight
        if self.name == "pareto":
            return (accuracy * (latency_ms / PARETO_LATENCY_REFERENCE_MS) ** PARETO_WEIGHT
                    * (params / PARETO_PARAMS_REFERENCE) ** PARETO_WEIGHT)
        return accuracy

    @staticmethod
    def values(accuracy: float, latency_ms: float, params: int) -> tuple[float, float, float]:
        """The three objectives of a Pareto search, as (maximise, minimise, minimise)."""
        return accuracy, latency_ms, float(params)


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
