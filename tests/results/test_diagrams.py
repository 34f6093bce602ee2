"""Layer diagrams replay the built-in spaces' builders: the seed lecture's models come out with their known sizes."""
from __future__ import annotations

import pytest

from results.diagrams import architecture_layers, layers_svg, total_params
from search_spaces import get_space


@pytest.mark.parametrize("space, reference, params", [
    ("cnn", "lenet", 1_256_080), ("mlp", "mlp", 118_282), ("mlp", "perceptron", 7_850)])
def test_the_seed_lectures_models_have_their_known_parameter_counts(space, reference, params):
    layers = architecture_layers(space, get_space(space).reference(reference).to_dict(), "mnist")
    assert total_params(layers) == params and layers[0].shape == (28, 28, 1) and layers[-1].shape == (10,)


def test_batch_norm_comes_after_a_bias_free_conv_and_carries_the_activation():
    arch = {"blocks": 1, "filters_1": 8, "kernel_1": 3, "convs_1": 2, "pooling": "avg", "batch_norm": True,
            "activation": "swish", "head": "gap", "dropout": 0.25}
    layers = architecture_layers("cnn", arch, "cifar10")
    assert [(layer.label, layer.shape, layer.params) for layer in layers] == [
        ("Input", (32, 32, 3), 0), ("Conv2D 8, 3×3", (32, 32, 8), 216), ("BatchNorm · swish", (32, 32, 8), 32),
        ("Conv2D 8, 3×3", (32, 32, 8), 576), ("BatchNorm · swish", (32, 32, 8), 32), ("AvgPool 2×2", (16, 16, 8), 0),
        ("GlobalAvgPool", (8,), 0), ("Dropout 0.25", (8,), 0), ("Dense 10 · softmax", (10,), 90)]


def test_a_dataset_of_unknown_shape_keeps_the_layers_and_widths_but_not_the_sizes():
    layers = architecture_layers("mlp", get_space("mlp").reference("mlp").to_dict(), "my-images")
    assert [layer.label for layer in layers] == ["Input", "Flatten", "Dense 128 · relu", "Dense 128 · relu",
                                                 "Dense classes · softmax"]
    assert layers[2].shape == (128,) and layers[2].params is None and total_params(layers) is None
    assert "?×?×?" in layers_svg(layers) and "parameters" not in layers_svg(layers)


@pytest.mark.parametrize("space, arch", [("toy", {"depth": 2}), ("cnn", {"blocks": 9}), ("mlp", {"depth": "two"})])
def test_other_spaces_and_architectures_out_of_space_are_not_drawn(space, arch):
    assert architecture_layers(space, arch, "mnist") is None
