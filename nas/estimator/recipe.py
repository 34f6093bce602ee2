"""A `Recipe`: how a model is trained (Keras' compile and fit settings), and the names its settings take.

Training settings an architecture names win over the recipe's (`TRAINING_PARAMETERS`), so a space can search the
learning rate, batch size, optimizer or weight decay with the topology.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from nas.errors import TrialFailed


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


# Names of an architecture's values that set how it trains rather than what it is.
TRAINING_PARAMETERS = ("optimizer", "learning_rate", "batch_size", "weight_decay", "momentum")


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: the same recipe for every trial of a search keeps them comparable."""

    optimizer: Optimizer | dict = Optimizer.ADAM  # a name, or an optimizer's Keras config (made anew per model)
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 2
    momentum: float = 0.0  # SGD's
    weight_decay: float | None = None
    schedule: Schedule = Schedule.CONSTANT
    augment: Augment = Augment.NONE
    loss: str | dict | None = None  # None: by the task
    metrics: tuple = ()

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ValueError(f"Expected epochs >= 1, batch_size >= 1 and learning_rate > 0. Received: {self}")

    def for_architecture(self, arch: dict) -> Recipe:
        """The recipe with the training settings `arch` names (TRAINING_PARAMETERS) in place of its own."""
        named = {name: arch[name] for name in TRAINING_PARAMETERS if name in arch}
        if not named:
            return self
        for name in ("learning_rate", "weight_decay", "momentum"):
            if name in named:
                named[name] = float(named[name])
        if "batch_size" in named:
            named["batch_size"] = int(named["batch_size"])
        if isinstance(self.optimizer, dict) and "optimizer" not in named and "learning_rate" in named:
            # An optimizer object keeps its own settings, but a learning rate the architecture names wins.
            named["optimizer"] = {**self.optimizer, "config": {**self.optimizer.get("config", {}),
                                                               "learning_rate": named["learning_rate"]}}
        return dataclasses.replace(self, **named)

    def make_optimizer(self):
        """A new Keras optimizer (Keras' registry makes it from its name or config). An optimizer an architecture
        names is checked here, where it is used: a model its builder compiled may name its own."""
        import keras

        if isinstance(self.optimizer, dict):
            return keras.optimizers.deserialize(self.optimizer)
        try:
            optimizer = Optimizer(str(getattr(self.optimizer, "value", self.optimizer)).lower())
        except ValueError:
            raise TrialFailed(f"optimizer {self.optimizer!r} is not one nas knows; expected one of "
                              f"{', '.join(o.value for o in Optimizer)}") from None
        config: dict[str, Any] = {"learning_rate": self.learning_rate}
        if self.weight_decay:
            config["weight_decay"] = self.weight_decay
        if optimizer == Optimizer.SGD and self.momentum:
            config["momentum"] = self.momentum
        return keras.optimizers.deserialize({"class_name": optimizer.value, "config": config})
