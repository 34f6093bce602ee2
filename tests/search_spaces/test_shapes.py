"""The built-in spaces count their layers without building (search_spaces/shapes.py): the counts must be the built
model's, layer by layer, for the references and random architectures, on grey and colour inputs."""
from __future__ import annotations

import numpy as np
import pytest

from nas.estimator.flops import count_flops
from nas.estimator.footprint import built_layers
from search_spaces import SPACES


@pytest.mark.parametrize("space_name, input_shape", [("mlp", (28, 28, 1)), ("mlp", (13,)), ("cnn", (28, 28, 1)),
                                                      ("cnn", (8, 8, 3))])
def test_counted_layers_are_the_built_models_layers(space_name, input_shape):
    space = SPACES[space_name]
    rng = np.random.default_rng(0)
    archs = [*space.references.values(), *(space.sample(rng) for _ in range(12))]
    checked = 0
    for arch in archs:
        try:
            counted = space.layer_shapes(arch, input_shape, 10)
        except ValueError:  # does not fit the input: neither does the build
            with pytest.raises(ValueError):
                space.build(arch, input_shape, 10)
            continue
        model = space.build(arch, input_shape, 10)
        built = built_layers(model)
        assert [layer.outputs for layer in counted] == [layer.outputs for layer in built], arch.key
        assert [layer.params for layer in counted] == [layer.params for layer in built], arch.key
        assert sum(layer.params for layer in counted) == model.count_params()
        assert sum(layer.flops for layer in counted) == count_flops(model), arch.key
        checked += 1
    assert checked >= 8
