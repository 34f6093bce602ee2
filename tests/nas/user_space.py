"""A user's own space and data function, as a module: what `--space tests.nas.user_space:SPACE` and
`--data tests.nas.user_space:load_data` name in the tests of resuming and of clusters."""
from __future__ import annotations

import numpy as np

from search_spaces import Choice, Float, Int, SearchSpace


def build(arch, input_shape, num_outputs):
    import keras

    inputs = keras.Input(shape=input_shape)
    hidden = keras.layers.Flatten()(inputs)
    for _ in range(arch["layers"]):
        hidden = keras.layers.Dense(arch["units"], activation=arch["activation"])(hidden)
    return keras.Model(inputs, keras.layers.Dense(num_outputs, activation="softmax")(hidden))


SPACE = SearchSpace("user-dense", [Int("layers", 1, 2), Int("units", 4, 64, log=True),
                                   Choice("activation", ["relu", "tanh"]),
                                   Float("learning_rate", 1e-3, 3e-2, log=True)], builder=build)


def load_data():
    """Tabular rows of three classes, made in each worker that needs them (nothing travels but this function)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=600)
    features = rng.normal(size=(600, 6)).astype("float32") + labels[:, None]
    return {"x_train": features[:500], "y_train": labels[:500], "x_test": features[500:], "y_test": labels[500:]}


def jittered_train(model, data, report):
    """A training that takes a random time (so parallel trials finish in a different order every run) and scores
    each architecture the same every run: what the test of reproducible parallel searches needs. Up to 2 s: with
    0.6 s, a loaded CI machine's start-up delays decided the order alone, the same in both runs."""
    import os
    import time

    time.sleep(int.from_bytes(os.urandom(2), "big") / 65535 * 2.0)
    arch = data.arch
    report({"val_accuracy": 0.5 + 0.2 * arch["layers"] / 2 - abs(arch["units"] - 24) / 200
            + (0.05 if arch["activation"] == "tanh" else 0.0) - abs(arch["learning_rate"] - 0.01)})
