"""nas.estimator.layer_summary: what a built model is made of, as the report's diagrams draw it, for any space."""
from __future__ import annotations

import pytest

from nas.estimator.layer_summary import layer_summary
from search_spaces import get_space


@pytest.mark.parametrize("space, reference, params", [
    ("cnn", "lenet", 1_256_080), ("mlp", "mlp", 118_282), ("mlp", "perceptron", 7_850)])
def test_the_seed_lectures_models_have_their_known_parameter_counts(space, reference, params):
    layers = layer_summary(get_space(space).build(get_space(space).reference(reference), (28, 28, 1), 10))
    assert sum(layer["params"] for layer in layers) == params
    assert layers[0]["shape"] == [28, 28, 1] and layers[-1] == {**layers[-1], "kind": "output", "shape": [10]}


def test_batch_norm_follows_a_bias_free_conv_and_an_activation_folds_into_the_layer_before_it():
    arch = {"blocks": 1, "filters_1": 8, "kernel_1": 3, "convs_1": 2, "pooling": "avg", "batch_norm": True,
            "activation": "swish", "head": "gap", "dropout": 0.25}
    layers = layer_summary(get_space("cnn").build(arch, (32, 32, 3), 10))
    assert [(layer["label"], layer["shape"], layer["params"]) for layer in layers] == [
        ("Input", [32, 32, 3], 0), ("Conv2D 8, 3×3", [32, 32, 8], 216), ("BatchNorm · silu", [32, 32, 8], 32),
        ("Conv2D 8, 3×3", [32, 32, 8], 576), ("BatchNorm · silu", [32, 32, 8], 32), ("AvgPool 2×2", [16, 16, 8], 0),
        ("GlobalAvgPool", [8], 0), ("Dropout 0.25", [8], 0), ("Dense 10 · softmax", [10], 90)]


def test_any_model_is_summarised_a_sequential_one_and_layers_nas_does_not_know_included():
    import keras

    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(2)])
    layers = layer_summary(model)
    assert [(layer["kind"], layer["label"], layer["shape"]) for layer in layers] == [
        ("input", "Input", [5, 3]), ("other", "LSTM", [4]), ("output", "Dense 2", [2])]
    assert sum(layer["params"] for layer in layers) == model.count_params()
