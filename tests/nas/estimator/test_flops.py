"""FLOPs counted by `nas.estimator.flops` against hand counts (a multiply-add is 2 FLOPs; see its docstring)."""
from __future__ import annotations

import logging

import pytest

from nas.estimator.flops import count_flops
from search_spaces import get_space


def test_a_tiny_conv_net_with_every_conv_and_pooling_layer():
    import keras

    inputs = keras.Input(shape=(8, 8, 2))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    features = keras.layers.BatchNormalization()(features)
    features = keras.layers.Activation("relu")(features)
    features = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)(features)
    pooled = keras.layers.MaxPooling2D(2)(features)
    separable = keras.layers.SeparableConv2D(6, 3, padding="valid")(pooled)
    shortcut = keras.layers.Conv2D(6, 1, strides=2, use_bias=False)(pooled)
    added = keras.layers.Add()([separable, shortcut])
    averaged = keras.layers.Flatten()(keras.layers.AveragePooling2D(2)(added))
    head = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling2D()(added), averaged])
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(head))

    hand_count = {
        "conv 3x3, same, 2 -> 4 channels": 2 * (3 * 3 * 2) * (8 * 8 * 4) + 8 * 8 * 4,  # + bias
        "batch norm": 2 * (8 * 8 * 4),
        "relu": 0,
        "depthwise 3x3, multiplier 2, no bias": 2 * (3 * 3) * (8 * 8 * 8),
        "max-pool 2x2": 4 * (4 * 4 * 8),
        "separable 3x3, valid, 8 -> 6": 2 * (3 * 3) * 8 * (2 * 2) + 2 * 8 * (2 * 2 * 6) + 2 * 2 * 6,
        "conv 1x1, stride 2, no bias": 2 * 8 * (2 * 2 * 6),
        "add": 2 * 2 * 6,
        "average-pool 2x2": 4 * (1 * 1 * 6),
        "global max-pool": 2 * 2 * 6,
        "flatten, concatenate": 0,
        "dense 12 -> 3": 2 * 12 * 3 + 3,
    }
    assert count_flops(model) == sum(hand_count.values()) == 21227


def test_a_dense_net_with_batch_norm_dropout_and_a_dense_layer_on_every_position():
    import keras

    inputs = keras.Input(shape=(4, 5))
    hidden = keras.layers.Dense(6)(inputs)  # on each of the 4 positions
    hidden = keras.layers.BatchNormalization()(hidden)
    hidden = keras.layers.Activation("tanh")(hidden)
    hidden = keras.layers.Dropout(0.5)(keras.layers.Flatten()(hidden))
    hidden = keras.layers.Dense(3, use_bias=False)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))

    hand_count = (2 * 4 * 5 * 6 + 4 * 6) + 2 * (4 * 6) + (2 * 24 * 3) + (2 * 3 * 2 + 2)
    assert count_flops(model) == hand_count == 470


def test_a_nested_block_and_elementwise_merges_are_counted():
    import keras

    block = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4), keras.layers.Dense(4)])
    inputs = keras.Input(shape=(3,))
    first, second = block(inputs), keras.layers.Dense(4, use_bias=False)(inputs)
    merged = [keras.layers.Subtract()([first, second]), keras.layers.Multiply()([first, second, second]),
              keras.layers.Average()([first, second])]
    model = keras.Model(inputs, keras.layers.Add()(merged))
    block_flops = (2 * 3 * 4 + 4) + (2 * 4 * 4 + 4)
    # subtract; multiply of 3 inputs; average of 2 (an add and a divide per element); add of 3
    merges = 4 + 2 * 4 + 2 * 4 + 2 * 4
    assert count_flops(model) == block_flops + 2 * 3 * 4 + merges


def test_an_unknown_layer_counts_zero_with_a_warning(caplog):
    import keras

    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LayerNormalization()(inputs)))
    with caplog.at_level(logging.WARNING, logger="nas.estimator.flops"):
        assert count_flops(model) == 2 * 4 * 2 + 2
    assert "LayerNormalization" in caplog.text


@pytest.mark.parametrize("space, reference, flops", [
    ("mlp", "perceptron", 15_690), ("mlp", "mlp", 236_298), ("cnn", "lenet", 13_095_470)])
def test_the_lectures_models_match_the_readmes_figures(space, reference, flops):
    # lenet: conv 28*28*20 x 5*5 (+ bias) 799,680; pool 15,680; conv 14*14*50 x 5*5*20 (+ bias) 9,809,800;
    # pool 9,800; dense 2450 -> 500 2,450,500; dense 500 -> 10 10,010.
    search_space = get_space(space)
    assert count_flops(search_space.build(search_space.reference(reference), (28, 28, 1), 10)) == flops
