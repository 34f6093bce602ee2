"""What a search optimises, from the evaluator's measurements (validation metrics, batch-1 latency, parameters).

- `accuracy`: validation accuracy (`val_accuracy`), higher is better.
- Any validation metric the training reports (`val_loss`, `val_mae`, `val_auc`, ...; `mae` means `val_mae`: selection
  sees validation only), in its direction: nas knows the direction of Keras' usual metrics by their names (losses
  and errors down, accuracies and AUCs up) and is told it (`direction`) for any other.
- `mnas`: MnasNet's reward (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile", CVPR
  2019, eq. 2): ACC * (LAT / T) ** w, with w = alpha when LAT <= T and beta otherwise. The paper's soft
  constraint uses alpha = beta = -0.07 (a network twice as slow must be about 5% more accurate to score the same);
  its hard constraint uses alpha = 0, beta = -1 (no reward for being faster than T, a steep penalty above it).
- `pareto`: accuracy up, latency down, params down, together. `bayes` hands the three values to Optuna's
  multi-objective TPE; the other strategies learn from one number, ACC * (LAT / 1 ms) ** -0.07 * (PARAMS / 100k) **
  -0.07, MnasNet's soft reward with the parameter count as a second cost. The search ends with the Pareto front.

Strategies and ASHA maximise the reward: the objective's value, negated for a metric to minimise.
`max_params` and `max_latency` are hard limits: a trial whose model is over one is stopped after its build
(parameters) or its latency measurement, before any training, and stored as failed with the reason. Under an
accuracy objective the strategy hears a reward of 0 for it (OVER_LIMIT_REWARD), as for an untrainable network, so
a learning strategy learns to keep within the limits; under a metric objective, which has no worst value, it hears
that the trial failed.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Mapping

from nas.data.task_data import Task
from nas.errors import SettingError


class Direction(str, enum.Enum):
    MAX = "max"
    MIN = "min"


class MnasConstraint(str, enum.Enum):
    SOFT = "soft"
    HARD = "hard"


ACCURACY_OBJECTIVES = ("accuracy", "mnas", "pareto")
MNAS_EXPONENTS = {MnasConstraint.SOFT: (-0.07, -0.07), MnasConstraint.HARD: (0.0, -1.0)}  # (alpha, beta)
# The references of the `pareto` scalarisation: they scale every reward alike, so they change no ranking.
PARETO_LATENCY_REFERENCE_MS = 1.0
PARETO_PARAMS_REFERENCE = 100_000
PARETO_WEIGHT = -0.07
OVER_LIMIT_REWARD = 0.0
# How the error of a trial over a hard limit begins (stored as its error; a resume reads it back).
OVER_LIMIT_PREFIX = "over the limit:"
# Keras' metric names whose direction is known (after the val_ prefix), as keras-tuner infers them.
_MINIMISED = ("loss", "error", "mae", "mse", "mape", "msle", "rmse", "crossentropy", "hinge", "logcosh", "huber",
              "poisson", "kl_divergence", "kld")
_MAXIMISED = ("accuracy", "auc", "precision", "recall", "f1_score", "fbeta_score", "r2_score", "iou",
              "true_positives", "true_negatives")


@dataclass(frozen=True)
class Objective:
    name: str = "accuracy"  # accuracy, mnas, pareto, or a validation metric's name (val_loss, ...)
    direction: Direction = Direction.MAX
    latency_target_ms: float | None = None  # T of the mnas reward
    mnas_constraint: MnasConstraint = MnasConstraint.SOFT
    max_params: int | None = None
    max_latency_ms: float | None = None

    @staticmethod
    def from_settings(objective: str | None, direction: Direction | None, task: Task,
                      latency_target: float | None = None, mnas_constraint: MnasConstraint = MnasConstraint.SOFT,
                      max_params: int | None = None, max_latency: float | None = None) -> Objective:
        """The objective the settings name; None means accuracy for a classification, val_loss for a regression."""
        if objective is None:
            objective = "val_loss" if task == Task.REGRESSION else "accuracy"
        if objective in ("val_accuracy", "acc", "val_acc"):
            objective = "accuracy"
        if objective not in ACCURACY_OBJECTIVES and not objective.startswith("val_"):
            objective = f"val_{objective}"  # selection sees validation only
        if objective in ACCURACY_OBJECTIVES:
            if direction == Direction.MIN:
                raise SettingError("direction", f"objective {objective!r} is maximised; received direction 'min'")
            if task == Task.REGRESSION:
                raise SettingError("objective", f"{objective!r} needs a classification (accuracy); a regression "
                                                "expected a metric such as val_loss or val_mae")
            direction = Direction.MAX
        elif direction is None:
            direction = infer_direction(objective)
        if objective == "mnas" and not (latency_target or 0) > 0:
            raise SettingError("latency_target", "expected a latency target (ms, > 0) with objective 'mnas': the "
                                                 "reward is relative to it, received none")
        return Objective(objective, Direction(direction), latency_target, MnasConstraint(mnas_constraint),
                         max_params, max_latency)

    @property
    def metric(self) -> str:
        """The validation metric the objective reads (mnas and pareto read accuracy, with latency and params)."""
        return "val_accuracy" if self.name in ACCURACY_OBJECTIVES else self.name

    @property
    def multi_objective(self) -> bool:
        return self.name == "pareto"

    @property
    def bounded(self) -> bool:
        """Whether the reward has a worst value (0, for the accuracy objectives), for models over a limit."""
        return self.name in ACCURACY_OBJECTIVES

    def violation(self, params: int, latency_ms: float | None) -> str | None:
        """Why a model breaks a hard limit, or None (latency None: not measured yet, so only params are checked)."""
        if self.max_params is not None and params > self.max_params:
            return f"{OVER_LIMIT_PREFIX} {params:,} parameters > max_params {self.max_params:,}; not trained"
        if self.max_latency_ms is not None and latency_ms is not None and latency_ms > self.max_latency_ms:
            return (f"{OVER_LIMIT_PREFIX} latency {latency_ms:.3f} ms > max_latency {self.max_latency_ms:g} ms; "
                    "not trained")
        return None

    def score(self, metrics: Mapping[str, float], latency_ms: float, params: int) -> float:
        """The objective's value: the metric as reported, or the mnas / pareto reward."""
        accuracy = metrics.get(self.metric, math.nan)
        if self.name == "mnas":
            alpha, beta = MNAS_EXPONENTS[self.mnas_constraint]
            weight = alpha if latency_ms <= self.latency_target_ms else beta
            return accuracy * (latency_ms / self.latency_target_ms) ** weight
        if self.name == "pareto":
            return (accuracy * (latency_ms / PARETO_LATENCY_REFERENCE_MS) ** PARETO_WEIGHT
                    * (params / PARETO_PARAMS_REFERENCE) ** PARETO_WEIGHT)
        return accuracy

    def reward(self, score: float) -> float:
        """What strategies and schedulers maximise."""
        return score if self.direction == Direction.MAX else -score

    @staticmethod
    def values(accuracy: float, latency_ms: float, params: int) -> tuple[float, float, float]:
        """The three objectives of a Pareto search, as (maximise, minimise, minimise)."""
        return accuracy, latency_ms, float(params)


def infer_direction(metric: str) -> Direction:
    name = metric.removeprefix("val_")
    if any(name == known or name.endswith(known) or name.startswith(known) for known in _MINIMISED):
        return Direction.MIN
    if any(name == known or name.endswith(known) or name.startswith(known) for known in _MAXIMISED):
        return Direction.MAX
    raise SettingError("direction", f"cannot tell whether objective {metric!r} is to be maximised or minimised; "
                                    "expected direction 'max' or 'min'")

