"""Tiny Keras models and data for the tests of training and evaluation."""
from __future__ import annotations

import numpy as np


def small_cnn():
    """Conv, batch norm, relu, max-pool, dense to 3 logits, on 8x8x1 inputs (6,019 FLOPs by hand)."""
    import keras

    inputs = keras.Input(shape=(8, 8, 1))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    features = keras.layers.BatchNormalization()(features)
    features = keras.layers.Activation("relu")(features)
    features = keras.layers.MaxPooling2D(2)(features)
    features = keras.layers.Flatten()(features)
    return keras.Model(inputs, keras.layers.Dense(3)(features))


def small_classifier():
    import keras

    model = small_cnn()
    return keras.Model(model.inputs, keras.layers.Softmax()(model.outputs[0]))


def separable_images(count: int = 256):
    """Two classes of 8x8 images, one dark and one bright: learnable in a few steps."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=count).astype("int32")
    x = (rng.normal(size=(count, 8, 8, 1)) * 0.1 + y[:, None, None, None]).astype("float32")
    return x, y


def linear_targets(count: int = 300, features: int = 5):
    """Tabular features and a regression target that is a linear function of them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(count, features)).astype("float32")
    return x, (x @ np.arange(1, features + 1)).astype("float32")
