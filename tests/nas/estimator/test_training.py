"""nas.estimator.training and recipe: the recipe, Keras' fit with nas's callbacks and the user's, and the user's own
training loop."""
from __future__ import annotations

import time

import numpy as np
import pytest

from nas.data.task_data import Task
from nas.estimator.recipe import Augment, Optimizer, Schedule
from nas.errors import TrialFailed
from nas.estimator.recipe import Recipe
from nas.estimator.training import TrainingData, evaluate, prepare_model, train, train_with_function
from tests.nas.estimator.models import linear_targets, separable_images, small_classifier, small_cnn


def test_training_reports_every_epochs_validation_metrics_and_learns_a_separable_problem():
    x, y = separable_images()
    seen = []
    results = train(small_classifier(), x, y, Recipe(epochs=6, learning_rate=0.01, batch_size=32),
                    Task.CLASSIFICATION, held_out=(x, y), on_epoch_end=seen.append)
    assert [result.epoch for result in seen] == list(range(1, 7)) and seen == results
    assert set(results[-1].metrics) == {"val_loss", "val_accuracy"} and results[-1].accuracy > 0.95
    assert 0 < results[0].train_seconds <= results[-1].train_seconds


def test_a_model_with_logits_gets_a_loss_from_logits_and_one_with_a_softmax_from_probabilities():
    x, y = separable_images()
    logits, probabilities = small_cnn(), small_classifier()
    for model in (logits, probabilities):
        prepare_model(model, Recipe(), Task.CLASSIFICATION)
    assert logits.loss.get_config()["from_logits"] is True
    assert probabilities.loss.get_config()["from_logits"] is False
    import keras

    # The loss Keras reports is the cross-entropy of the softmax of the logits, as a classifier's should be.
    expected = float(np.mean(keras.losses.sparse_categorical_crossentropy(y, logits(x), from_logits=True)))
    assert evaluate(logits, x, y, Recipe(), Task.CLASSIFICATION)["loss"] == pytest.approx(expected, rel=1e-4)


def test_a_regression_trains_with_mse_and_reports_mae_and_the_recipes_metrics():
    import keras

    x, y = linear_targets()
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    results = train(model, x, y, Recipe(epochs=30, learning_rate=0.05, batch_size=32, metrics=("mse",)),
                    Task.REGRESSION, held_out=(x, y))
    assert set(results[-1].metrics) == {"val_loss", "val_mae", "val_mse"}
    assert results[-1].metrics["val_mae"] < 0.25 * results[0].metrics["val_mae"]


def test_a_model_its_builder_compiled_keeps_its_own_optimizer_loss_and_metrics():
    import keras

    model = small_classifier()
    model.compile(optimizer=keras.optimizers.SGD(0.123), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_top_k_categorical_accuracy"])
    x, y = separable_images(64)
    results = train(model, x, y, Recipe(epochs=1, learning_rate=0.5, batch_size=32, schedule=Schedule.COSINE,
                                        optimizer="no-such-optimizer"), Task.CLASSIFICATION, held_out=(x, y))
    # Its optimizer, its learning rate (no cosine decay of nas's), and an optimizer name nas would refuse is moot.
    assert type(model.optimizer).__name__ == "SGD" and float(model.optimizer.learning_rate) == pytest.approx(0.123)
    assert "val_sparse_top_k_categorical_accuracy" in results[0].metrics


def test_the_training_settings_an_architecture_names_win_over_the_recipes():
    recipe = Recipe(optimizer=Optimizer.ADAM, learning_rate=1e-3, batch_size=128)
    arch = {"learning_rate": 0.05, "batch_size": 16, "optimizer": "sgd", "weight_decay": 1e-4, "units": 8}
    named = recipe.for_architecture(arch)
    assert (named.learning_rate, named.batch_size, named.optimizer, named.weight_decay) == (0.05, 16, "sgd", 1e-4)
    optimizer = named.make_optimizer()
    assert type(optimizer).__name__ == "SGD" and float(optimizer.learning_rate) == pytest.approx(0.05)
    assert optimizer.weight_decay == pytest.approx(1e-4)
    assert recipe.for_architecture({"units": 8}) is recipe
    assert type(recipe.for_architecture({"optimizer": "RMSprop"}).make_optimizer()).__name__ == "RMSprop"
    with pytest.raises(TrialFailed, match="optimizer 'adamx' is not one nas knows"):
        recipe.for_architecture({"optimizer": "adamx"}).make_optimizer()


def test_an_optimizer_object_keeps_its_settings_but_an_architectures_learning_rate_wins():
    import keras

    serialized = keras.optimizers.serialize(keras.optimizers.RMSprop(learning_rate=0.02, rho=0.8))
    recipe = Recipe(optimizer=serialized, learning_rate=3e-3)
    made = recipe.make_optimizer()
    assert type(made).__name__ == "RMSprop" and float(made.learning_rate) == pytest.approx(0.02)
    assert made.rho == pytest.approx(0.8) and made is not recipe.make_optimizer()
    assert float(recipe.for_architecture({"learning_rate": 0.5}).make_optimizer().learning_rate) == \
        pytest.approx(0.5)


def test_a_cosine_schedule_takes_the_learning_rate_from_its_value_to_near_zero():
    x, y = separable_images()
    model = small_classifier()
    train(model, x, y, Recipe(epochs=3, learning_rate=0.01, batch_size=32, schedule=Schedule.COSINE),
          Task.CLASSIFICATION)
    steps = 3 * 256 // 32
    # The last step ran at 0.01 * (1 + cos(pi * 23 / 24)) / 2.
    assert float(model.optimizer.learning_rate) == pytest.approx(
        0.01 * (1 + np.cos(np.pi * (steps - 1) / steps)) / 2, rel=1e-4)
    constant = small_classifier()
    train(constant, x, y, Recipe(epochs=1, learning_rate=0.01, batch_size=32), Task.CLASSIFICATION)
    assert float(constant.optimizer.learning_rate) == pytest.approx(0.01)


def test_shifted_batches_move_the_images_but_keep_their_labels_and_the_model_still_learns():
    from nas.estimator.training import _shifted_batches

    x, y = separable_images()
    x[:, 3:5, 3:5, 0] += 5.0  # a bright square in the middle, to see it move
    images, labels = (part.numpy() for part in next(iter(_shifted_batches(x, y, 256, seed=0))))
    assert images.shape == x.shape and sorted(labels.tolist()) == sorted(y.tolist())
    moved = [not np.array_equal(np.argwhere(image[..., 0] > 4.0), [[3, 3], [3, 4], [4, 3], [4, 4]]) for image in images]
    assert 0.3 < np.mean(moved) < 1.0  # shifts of -1, 0 or 1 pixel each way on 8x8: most images move, some stay
    results = train(small_classifier(), x, y, Recipe(epochs=6, learning_rate=0.01, batch_size=32,
                                                     augment=Augment.SHIFT), Task.CLASSIFICATION, held_out=(x, y))
    assert results[-1].accuracy > 0.9


def test_a_deadline_cuts_the_epochs_to_what_fits_and_a_far_one_changes_nothing():
    x, y = separable_images()
    recipe = Recipe(epochs=5, batch_size=64, schedule=Schedule.COSINE)
    assert len(train(small_classifier(), x, y, recipe, Task.CLASSIFICATION, deadline=time.time())) == 1
    assert len(train(small_classifier(), x, y, recipe, Task.CLASSIFICATION, deadline=time.time() + 3600)) == 5


def test_the_users_keras_callbacks_see_the_whole_training():
    import keras

    x, y = separable_images()
    # Early stopping counts epochs across the training: it only works if fit runs once, not once per epoch.
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)
    results = train(small_classifier(), x, y, Recipe(epochs=6, batch_size=64), Task.CLASSIFICATION,
                    held_out=(x, y), callbacks=[stopper])
    assert len(results) == 2 and stopper.stopped_epoch == 1


def test_a_nan_loss_becomes_a_failed_trial_with_its_reason():
    x = np.full((64, 8, 8, 1), np.nan, dtype="float32")
    with pytest.raises(TrialFailed, match="loss became nan in epoch 1"):
        train(small_classifier(), x, np.zeros(64, dtype="int32"), Recipe(epochs=2), Task.CLASSIFICATION)


def training_data(x, y, arch=None):
    return TrainingData(x, y, x, y, arch or {}, Recipe(), Task.CLASSIFICATION, 2, seed=0)


def test_a_train_fn_trains_its_own_way_and_each_report_is_an_epoch():
    x, y = separable_images()
    seen = []

    def train_fn(model, data, report):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        for _ in range(3):
            model.fit(data.x_train, data.y_train, epochs=1, verbose=0)
            report({f"val_{name}": value for name, value in
                    model.evaluate(data.x_validation, data.y_validation, return_dict=True, verbose=0).items()})

    results = train_with_function(train_fn, small_classifier(), training_data(x, y), seen.append)
    assert [result.epoch for result in results] == [1, 2, 3] and seen == results
    assert set(results[0].metrics) == {"val_loss", "val_accuracy"}


def test_a_train_fn_that_never_reports_fails_the_trial_with_what_to_do():
    with pytest.raises(TrialFailed, match=r"train_fn returned without calling report\(\.\.\.\)"):
        train_with_function(lambda model, data, report: None, small_classifier(), training_data(*separable_images()))
    assert train_with_function(lambda model, data, report: None, small_classifier(),
                               training_data(*separable_images()), must_report=False) == []


def test_evaluate_compiles_a_model_a_train_fn_left_uncompiled():
    x, y = separable_images(64)
    metrics = evaluate(small_classifier(), x, y, Recipe(), Task.CLASSIFICATION)
    assert set(metrics) == {"loss", "accuracy"}
