"""The fixed sets of values settings take. String enums: a value compares equal to its string and is stored as it."""
from __future__ import annotations

import enum


class Task(str, enum.Enum):
    AUTO = "auto"  # classification for integer or one-hot labels, regression for float targets
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class Direction(str, enum.Enum):
    MAX = "max"
    MIN = "min"


class Optimizer(str, enum.Enum):
    """Keras optimizers by their Keras names (`keras.optimizers.get` makes them)."""

    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"
    RMSPROP = "rmsprop"
    ADAGRAD = "adagrad"
    ADAMAX = "adamax"
    NADAM = "nadam"
    LION = "lion"


class Schedule(str, enum.Enum):
    CONSTANT = "constant"
    COSINE = "cosine"  # the learning rate falls from its value to 0 along a half cosine, per step


class Augment(str, enum.Enum):
    NONE = "none"
    SHIFT = "shift"  # random shifts of training images (Keras' RandomTranslation); images only


class Scheduler(str, enum.Enum):
    FIFO = "fifo"
    ASHA = "asha"


class MnasConstraint(str, enum.Enum):
    SOFT = "soft"
    HARD = "hard"


def values(kind: type[enum.Enum]) -> list[str]:
    return [member.value for member in kind]
