from __future__ import annotations

import numpy as np
import pytest

from nas.estimator import ModelCost, TrainingRecipe, TrialFailed, build_model, measure_cost, train
from nas.flops import count_flops
from nas.latency import measure_latency_ms
from search_spaces import get_space


def small_cnn():
    import keras

    inputs = keras.Input(shape=(8, 8, 1))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    features = keras.layers.BatchNormalization()(features)
    features = keras.layers.Activation("relu")(features)
    features = keras.layers.MaxPooling2D(2)(features)
    features = keras.layers.Flatten()(features)
    return keras.Model(inputs, keras.layers.Dense(3)(features))


def test_flops_match_a_hand_count():
    # conv: 8*8*4 outputs x 3*3*1 multiply-adds x 2 + 256 bias adds; batch norm: 2 x 256;
    # max-pool: 4*4*4 outputs x 4 window elements; dense: 64*3 multiply-adds x 2 + 3 bias adds.
    hand_count = (8 * 8 * 4 * 9 * 2 + 256) + 2 * 256 + 4 * 4 * 4 * 4 + (64 * 3 * 2 + 3)
    assert count_flops(small_cnn()) == hand_count == 6019


def test_flops_of_a_global_average_pooling_head_without_bias():
    import keras

    inputs = keras.Input(shape=(4, 4, 2))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.AveragePooling2D(2)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5, use_bias=False)(pooled))
    assert count_flops(model) == (2 * 2 * 2 * 4) + (2 * 2 * 2) + (2 * 5 * 2)


def test_lenet_flops_are_dominated_by_its_convolutions():
    space = get_space("cnn")
    flops = count_flops(space.build(space.reference("lenet"), (28, 28, 1), 10))
    second_conv = 14 * 14 * 50 * 5 * 5 * 20 * 2
    assert second_conv < flops < 1.3 * second_conv + 2 * 2450 * 500 + 28 * 28 * 20 * 25 * 2


def test_latency_is_positive_and_stable_across_repeats():
    model = small_cnn()
    first, second = (measure_latency_ms(model, (8, 8, 1), repeats=40) for _ in range(2))
    assert 0 < first < 1000
    assert 0.5 < first / second < 2.0  # a loose bound: the figure must not swing with the machine's noise


def test_training_reports_every_epoch_and_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=512).astype("int32")
    x = (rng.normal(size=(512, 4, 4, 1)) * 0.1 + y[:, None, None, None]).astype("float32")
    space = get_space("mlp")
    model = build_model(space, space.reference("perceptron"), (4, 4, 1), 2)
    seen = []
    results = train(model, x, y, TrainingRecipe(epochs=8, learning_rate=0.05), held_out=(x, y),
                    on_epoch_end=seen.append)
    assert [result.epoch for result in seen] == list(range(1, 9)) and seen == results
    assert results[-1].accuracy > 0.95
    assert results[0].train_seconds <= results[-1].train_seconds


def small_classifier():
    import keras

    model = small_cnn()
    return keras.Model(model.inputs, keras.layers.Softmax()(model.outputs[0]))


def separable_images(count: int = 256):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=count).astype("int32")
    x = (rng.normal(size=(count, 8, 8, 1)) * 0.1 + y[:, None, None, None]).astype("float32")
    return x, y


def test_a_cosine_schedule_takes_the_learning_rate_from_its_value_to_near_zero():
    x, y = separable_images()
    model = small_classifier()
    train(model, x, y, TrainingRecipe(epochs=3, learning_rate=0.01, batch_size=32, schedule="cosine"))
    steps = 3 * 256 // 32
    # The last step ran at 0.01 * (1 + cos(pi * 23 / 24)) / 2.
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01 * (1 + np.cos(np.pi * (steps - 1) / steps)) / 2,
                                                                 rel=1e-4)
    constant = small_classifier()
    train(constant, x, y, TrainingRecipe(epochs=1, learning_rate=0.01, batch_size=32))
    assert float(constant.optimizer.learning_rate) == pytest.approx(0.01)


def test_shifted_batches_move_the_images_but_keep_their_labels_and_the_model_still_learns():
    from nas.estimator import _augmented_batches

    x, y = separable_images()
    x[:, 3:5, 3:5, 0] += 5.0  # a bright square in the middle, to see it move
    batches = list(_augmented_batches(x, y, TrainingRecipe(batch_size=256, augment="shift"), seed=0))
    images, labels = batches[0][0].numpy(), batches[0][1].numpy()
    assert images.shape == x.shape and sorted(labels.tolist()) == sorted(y.tolist())
    moved = [not np.array_equal(np.argwhere(image[..., 0] > 4.0), [[3, 3], [3, 4], [4, 3], [4, 4]]) for image in images]
    assert 0.3 < np.mean(moved) < 1.0  # shifts of -1, 0 or 1 pixel each way on 8x8: most images move, some stay
    results = train(small_classifier(), x, y,
                    TrainingRecipe(epochs=6, learning_rate=0.01, batch_size=32, augment="shift"),
                    held_out=(x, y))
    assert results[-1].accuracy > 0.9


def test_a_deadline_cuts_the_epochs_to_what_fits_and_a_far_one_changes_nothing():
    import time

    x, y = separable_images()
    recipe = TrainingRecipe(epochs=5, batch_size=64, schedule="cosine")
    assert len(train(small_classifier(), x, y, recipe, deadline=time.time())) == 1  # no time left after epoch 1
    assert len(train(small_classifier(), x, y, recipe, deadline=time.time() + 3600)) == 5


def test_a_nan_loss_becomes_a_failed_trial_with_its_reason():
    x = np.full((64, 4, 4, 1), np.nan, dtype="float32")
    y = np.zeros(64, dtype="int32")
    space = get_space("mlp")
    model = build_model(space, space.reference("perceptron"), (4, 4, 1), 2)
    with pytest.raises(TrialFailed, match="loss became nan in epoch 1"):
        train(model, x, y, TrainingRecipe(epochs=2))


def test_an_architecture_too_deep_for_the_input_fails_with_its_reason():
    space = get_space("cnn")
    arch = space.validate({**space.reference("lenet").to_dict(), "blocks": 3, "filters_3": 8, "kernel_3": 3,
                           "convs_3": 1})
    with pytest.raises(TrialFailed, match="cannot build .* shrink a 4x4 input"):
        build_model(space, arch, (4, 4, 1), 10)


def test_cost_of_the_perceptron():
    space = get_space("mlp")
    cost = measure_cost(build_model(space, space.reference("perceptron"), (28, 28, 1), 10), (28, 28, 1))
    assert cost.params == 7850 and cost.flops == 784 * 10 * 2 + 10 and cost.latency_ms > 0


def test_cost_carries_the_latencys_batch_device_and_threads_and_reports_them_as_trial_metrics():
    space = get_space("mlp")
    model = build_model(space, space.reference("perceptron"), (8, 8, 1), 3)
    cost = measure_cost(model, (8, 8, 1), batch_size=16)
    assert cost.latency_batch_size == 16 and cost.latency_batch_ms > 0 and cost.latency_device == "CPU"
    assert cost.latency_threads >= 1
    assert cost.metrics() == {"params": 195, "flops": 2 * 64 * 3 + 3, "latency_ms": cost.latency_ms,
                              "latency_batch_ms": cost.latency_batch_ms, "latency_batch_size": 16,
                              "latency_device": "CPU", "latency_threads": cost.latency_threads}
    old_style = ModelCost(10, 20, 0.5)  # what callers built before the latency's details were added
    assert (old_style.params, old_style.flops, old_style.latency_ms, old_style.latency_device) == (10, 20, 0.5, None)


def test_recipe_refuses_unknown_optimizers_schedules_and_augmentations():
    with pytest.raises(ValueError, match="optimizer"):
        TrainingRecipe(optimizer="adagrad")
    with pytest.raises(ValueError, match="Expected schedule in"):
        TrainingRecipe(schedule="step")
    with pytest.raises(ValueError, match="Expected augment in"):
        TrainingRecipe(augment="rotate")
