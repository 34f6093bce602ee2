"""nas/estimator/footprint.py: the one estimate of an architecture's size and training memory."""
from __future__ import annotations

import re

import pytest

from nas.estimator.footprint import (ACTIVATION_COPIES, FLOAT_BYTES, TENSORFLOW_WORKER_BYTES, describe_bytes,
                                     estimate, memory_violation)
from nas.estimator.recipe import Optimizer, Recipe
from search_spaces import SPACES


def test_the_perceptron_on_mnist_by_hand():
    """Dense(10) on 784 inputs: 7,850 weights; Adam keeps two moments each; at batch 128 a step keeps the input
    (784), the flatten (784) and the output (10) of every example."""
    space = SPACES["mlp"]
    needs = estimate(space, space.references["perceptron"], (28, 28, 1), 10, Recipe(batch_size=128))
    assert (needs.params, needs.flops) == (7_850, 2 * 784 * 10 + 10)
    assert needs.weights == 2 * FLOAT_BYTES * 7_850 and needs.optimizer_state == 2 * FLOAT_BYTES * 7_850
    assert needs.activations == ACTIVATION_COPIES * FLOAT_BYTES * 128 * (784 + 784 + 10)
    assert needs.trial_bytes(data_bytes=1000) == TENSORFLOW_WORKER_BYTES + 2 * 1000 + needs.architecture_bytes


@pytest.mark.parametrize("recipe, slots", [(Recipe(optimizer=Optimizer.SGD), 0),
                                           (Recipe(optimizer=Optimizer.SGD, momentum=0.9), 1),
                                           (Recipe(optimizer=Optimizer.RMSPROP), 1),
                                           (Recipe(optimizer={"class_name": "Adam", "config": {}}), 2)])
def test_the_optimizer_state_follows_the_optimizer(recipe, slots):
    space = SPACES["mlp"]
    needs = estimate(space, space.references["mlp"], (28, 28, 1), 10, recipe)
    assert needs.optimizer_state == slots * FLOAT_BYTES * needs.params


def test_training_settings_an_architecture_names_win_and_a_space_without_counts_says_so():
    from search_spaces import Choice, SearchSpace

    space = SPACES["mlp"]
    small, large = (estimate(space, space.references["mlp"], (28, 28, 1), 10, Recipe(batch_size=size))
                    for size in (32, 512))
    assert large.activations == 16 * small.activations and large.weights == small.weights
    uncounted = SearchSpace("user", [Choice("units", [8, 16])], builder=lambda arch, shape, outputs: None)
    assert estimate(uncounted, uncounted.validate({"units": 8}), (4,), 2, Recipe()) is None


def test_a_limit_is_told_in_round_figures():
    space = SPACES["cnn"]
    needs = estimate(space, space.references["lenet"], (28, 28, 1), 10, Recipe(batch_size=128))
    assert memory_violation(needs, 0, needs.trial_bytes(0)) is None
    reason = memory_violation(needs, 0, 1024**3 // 2)
    assert re.fullmatch(r"over the limit: needs about [0-9.]+ [MG]B, the limit is 512 MB per trial \(max_memory\); "
                        r"not trained", reason), reason
    assert [describe_bytes(size) for size in (512, 3 * 1024**2, 9.1 * 1024**3, 40 * 1024**3)] == \
        ["512 B", "3.0 MB", "9.1 GB", "40 GB"]
