"""Any search space as a keras-tuner `HyperModel`, so keras-tuner's own tuners (RandomSearch,
BayesianOptimization, Hyperband) can search it.

keras-tuner does the tuning; this module only declares the space in its terms, through its public API: each choice
becomes `hp.Choice` (`hp.Boolean` for a yes/no one), and a conditional choice is declared inside
`hp.conditional_scope` of the choices it depends on, so keras-tuner knows when it is active. keras-tuner is
imported when a HyperModel is made.
"""
from __future__ import annotations

import contextlib
from typing import Sequence

from search_spaces.base import Architecture, SearchSpace


def to_hypermodel(space: SearchSpace, input_shape: Sequence[int], num_classes: int, learning_rate: float = 1e-3):
    """A `keras_tuner.HyperModel` whose models are `space`'s architectures, compiled with Adam for accuracy."""
    import keras
    import keras_tuner

    class SpaceHyperModel(keras_tuner.HyperModel):
        def build(self, hp) -> keras.Model:
            decided = {}
            for choice in space.choices:
                if not choice.is_active(decided):
                    continue
                with contextlib.ExitStack() as scopes:
                    for parent, values in choice.when.items():
                        scopes.enter_context(hp.conditional_scope(parent, list(values)))
                    decided[choice.name] = _declare(hp, choice)
            model = space.build(Architecture(space.name, decided), input_shape, num_classes)
            model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            return model

    return SpaceHyperModel(name=f"nas-{space.name}")


def _declare(hp, choice):
    # keras-tuner's Choice keeps ints, floats and strings; a yes/no choice is its Boolean.
    if all(isinstance(option, bool) for option in choice.options):
        return hp.Boolean(choice.name)
    return hp.Choice(choice.name, list(choice.options))


def architecture_of(space: SearchSpace, values: dict) -> Architecture:
    """The architecture keras-tuner's best hyperparameters describe (`tuner.get_best_hyperparameters()[0].values`),
    keeping only the choices active in it."""
    decided = {}
    for choice in space.choices:
        if choice.is_active(decided):
            decided[choice.name] = values[choice.name]
    return space.validate(decided)
