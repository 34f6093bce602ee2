from __future__ import annotations

import numpy as np
import pytest

from search_spaces import get_space

# The seed lecture's table: parameter counts on MNIST (28x28x1, 10 classes).
LECTURE_PARAMS = {("mlp", "perceptron"): 7_850, ("mlp", "mlp"): 118_282, ("cnn", "lenet"): 1_256_080}


@pytest.mark.parametrize("space_name, reference", sorted(LECTURE_PARAMS))
def test_the_lecture_models_are_points_of_the_spaces_with_their_exact_size(space_name, reference):
    space = get_space(space_name)
    arch = space.reference(reference)
    assert space.from_key(arch.key) == arch
    model = space.build(arch, (28, 28, 1), 10)
    assert model.count_params() == LECTURE_PARAMS[(space_name, reference)]


@pytest.mark.parametrize("space_name", ["mlp", "cnn"])
def test_sampled_architectures_build_for_several_input_shapes(space_name):
    space = get_space(space_name)
    rng = np.random.default_rng(7)
    for input_shape, classes in [((28, 28, 1), 10), ((8, 8, 1), 3), ((32, 32, 3), 100)]:
        for _ in range(4):
            arch = space.sample(rng)
            assert space.from_key(arch.key) == arch
            model = space.build(arch, input_shape, classes)
            assert model.output_shape == (None, classes)


def test_cnn_says_when_an_input_is_too_small_for_its_pooling():
    space = get_space("cnn")
    arch = space.validate({**space.reference("lenet").to_dict(), "blocks": 3, "filters_3": 8, "kernel_3": 3,
                           "convs_3": 1})
    with pytest.raises(ValueError, match="shrink a 4x4 input"):
        space.build(arch, (4, 4, 1), 10)


def test_unknown_space_names_the_known_ones():
    with pytest.raises(ValueError, match="Expected one of: mlp, cnn"):
        get_space("transformer")
