"""nas.estimator.evaluator: one architecture built, measured, trained and scored without Ray, and a winner's final
training."""
from __future__ import annotations

import re

import numpy as np
import pytest

from nas.data.task_data import prepare
from nas.data.task_data import Task
from nas.estimator.evaluator import ArchitectureDoesNotFit, EvaluationSettings, Evaluator, build_model
from nas.estimator.objectives import Objective
from nas.estimator.recipe import Recipe
from search_spaces import Choice, Float, Int, SearchSpace, get_space
from tests.nas.estimator.models import linear_targets, separable_images


def image_data(task_name: str = "tiny"):
    x, y = separable_images(200)
    return prepare({"x_train": x, "y_train": y, "x_test": x[:40], "y_test": y[:40]}, task_name)


def settings(space, objective=Objective(), task=Task.CLASSIFICATION, **changes) -> EvaluationSettings:
    return EvaluationSettings(space, Recipe(epochs=2, batch_size=32, learning_rate=0.01), objective, task, threads=1,
                              seed=0, **changes)


def evaluate(space, arch, data, **changes) -> list[dict]:
    reports: list[dict] = []
    Evaluator(settings(space, **changes)).evaluate(3, dict(arch), data, lambda figures, save_state=None:
                                                   reports.append(figures))
    return reports


def test_a_trial_resumed_from_its_epoch_checkpoint_trains_only_the_epochs_left_and_ends_where_it_would_have(
        tmp_path):
    space = get_space("mlp")
    arch, data = space.reference("mlp"), image_data()
    evaluator = Evaluator(EvaluationSettings(space, Recipe(epochs=4, batch_size=32, learning_rate=0.01),
                                             Objective(), Task.CLASSIFICATION, threads=1, seed=0))
    whole, saved = [], {}

    def keep(figures, save_state=None):
        whole.append(figures)
        if save_state is not None:
            folder = tmp_path / f"epoch-{figures['epoch']}"
            folder.mkdir()
            save_state(folder)
            saved[figures["epoch"]] = folder

    evaluator.evaluate(3, dict(arch), data, keep)
    assert sorted(saved) == [1, 2, 3]  # nothing to go on from after the last epoch
    resumed = []
    evaluator.evaluate(3, dict(arch), data, lambda figures, save_state=None: resumed.append(figures),
                       resume_from=saved[2])  # as if the worker had died during epoch 3
    assert [report["epoch"] for report in resumed] == [3, 4]
    assert resumed[-1]["train_seconds"] >= whole[1]["train_seconds"]  # the time of epochs 1-2 still counts
    # The same weights, optimizer moments and learning-rate schedule: it ends about where the whole run ended (the
    # data order of epochs 3-4 differs), far above a fresh model trained for the 2 epochs left.
    assert abs(resumed[-1]["val_loss"] - whole[-1]["val_loss"]) < 0.1
    fresh = evaluate(space, arch, data)  # 2 epochs from scratch
    assert resumed[-1]["val_loss"] < fresh[-1]["val_loss"]


def test_a_trial_reports_its_layers_cost_and_validation_metrics_after_every_epoch():
    space = get_space("mlp")
    reports = evaluate(space, space.reference("mlp"), image_data())
    assert [report["epoch"] for report in reports] == [1, 2]
    last = reports[-1]
    assert last["trial"] == 3 and last["epochs_planned"] == 2 and "error" not in last
    assert last["params"] == 64 * 128 + 128 + 128 * 128 + 128 + 128 * 2 + 2 and last["flops"] > 0
    assert last["latency_ms"] > 0 and last["latency_threads"] == 1
    assert last["score"] == last["validation_accuracy"] == last["val_accuracy"] == last["reward"]
    assert "val_loss" in last
    assert [layer["kind"] for layer in last["layers"]] == ["input", "flatten", "dense", "dense", "output"]
    assert sum(layer["params"] for layer in last["layers"]) == last["params"]


def test_a_model_over_a_hard_limit_is_reported_before_any_training():
    space = get_space("mlp")
    objective = Objective(max_params=1000)
    (report,) = evaluate(space, space.reference("mlp"), image_data(), objective=objective)
    assert report["over_limit"] and "max_params 1,000; not trained" in report["error"]
    assert report["params"] > 1000 and "epoch" not in report and report["layers"]


def test_a_metric_objective_is_scored_in_its_direction():
    space = get_space("mlp")
    objective = Objective.from_settings("val_loss", None, Task.CLASSIFICATION)
    last = evaluate(space, space.reference("perceptron"), image_data(), objective=objective)[-1]
    assert last["score"] == last["val_loss"] and last["reward"] == -last["val_loss"]
    missing = Objective.from_settings("auc", None, Task.CLASSIFICATION)
    (failed,) = evaluate(space, space.reference("perceptron"), image_data(), objective=missing)
    assert failed["error"].endswith("; the objective val_auc is not among them") and "val_loss" in failed["error"]


def builder_space(builder) -> SearchSpace:
    return SearchSpace("own", [Choice("units", [4, 8])], builder=builder)


@pytest.mark.parametrize("builder, reason", [
    (lambda arch, shape, outputs: None, "the builder of space 'own' returned NoneType for units=4; expected a "
                                        "keras.Model"),
    (lambda arch, shape, outputs: 1 / 0, "cannot build units=4 for input (8, 8, 1): ZeroDivisionError: division by "
                                         "zero"),
])
def test_a_builder_that_fails_or_returns_no_model_fails_the_trial_with_its_reason(builder, reason):
    (report,) = evaluate(builder_space(builder), {"units": 4}, image_data())
    assert report == {"trial": 3, "error": reason}


def test_an_architecture_too_deep_for_the_input_fails_with_its_reason():
    space = get_space("cnn")
    arch = space.validate({**space.reference("lenet").to_dict(), "blocks": 3, "filters_3": 8, "kernel_3": 3,
                           "convs_3": 1})
    with pytest.raises(ArchitectureDoesNotFit, match="cannot build .* shrink a 4x4 input"):
        build_model(space, arch, (4, 4, 1), 10)


def tabular_space() -> SearchSpace:
    def build(arch, input_shape, num_outputs, task):
        import keras

        inputs = keras.Input(input_shape)
        hidden = keras.layers.Dense(arch["units"], activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(num_outputs)(hidden))

    return SearchSpace("tabular", [Int("units", 4, 32, log=True), Float("learning_rate", 1e-3, 1e-1, log=True)],
                       builder=build)


def test_a_regression_trial_trains_with_the_learning_rate_its_architecture_names():
    x, y = linear_targets()
    data = prepare({"x_train": x, "y_train": y}, "linear")
    objective = Objective.from_settings(None, None, Task.REGRESSION)
    fast, slow = ({"units": 16, "learning_rate": rate} for rate in (0.05, 0.001))
    scores = [evaluate(tabular_space(), arch, data, objective=objective, task=Task.REGRESSION)[-1]["score"]
              for arch in (fast, slow)]
    assert objective.name == "val_loss" and scores[0] < 0.5 * scores[1]


def test_a_train_fn_that_never_reports_fails_only_its_trial():
    (report,) = evaluate(tabular_space(), {"units": 8, "learning_rate": 0.01},
                         prepare(dict(zip(("x_train", "y_train"), linear_targets())), "linear"),
                         objective=Objective.from_settings(None, None, Task.REGRESSION), task=Task.REGRESSION,
                         train_fn=lambda model, data, report: None)
    assert report["error"].startswith("train_fn returned without calling report(...)") and report["params"]


def test_the_final_training_tests_once_and_hands_back_a_model_that_loads_in_safe_mode(tmp_path):
    import keras

    space = get_space("cnn")
    arch = {"blocks": 1, "filters_1": 8, "kernel_1": 3, "convs_1": 1, "pooling": "max", "batch_norm": True,
            "activation": "relu", "head": "gap", "dropout": 0.0}
    data = image_data()
    final = Evaluator(settings(space)).train_final(5, arch, data)
    assert (final.trial, final.seed, final.epochs) == (5, 5, 2)
    assert set(final.test_metrics) == {"loss", "accuracy"}
    (tmp_path / "m.keras").write_bytes(final.model)
    model = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    test_metrics = model.evaluate(data.x_test, data.y_test, return_dict=True, verbose=0)
    assert test_metrics["accuracy"] == pytest.approx(final.test_metrics["accuracy"])  # the model that was tested
    again = Evaluator(settings(space)).train_final(5, arch, data)
    assert np.allclose(keras.saving.load_model(tmp_path / "m.keras").get_weights()[0],
                       _weights(again.model, tmp_path)[0], atol=1e-5)  # the same seed, the same model


def _weights(content: bytes, folder):
    import keras

    (folder / "again.keras").write_bytes(content)
    return keras.saving.load_model(folder / "again.keras").get_weights()


def test_the_built_in_spaces_end_in_a_softmax_for_classes_and_in_plain_values_for_a_regression():
    import keras

    space = get_space("mlp")
    classifier = build_model(space, space.reference("mlp"), (5,), 3, Task.CLASSIFICATION)
    regressor = build_model(space, space.reference("mlp"), (5,), 2, Task.REGRESSION)
    assert classifier.layers[-1].activation is keras.activations.softmax
    assert regressor.layers[-1].activation is keras.activations.linear and regressor.output_shape == (None, 2)


def test_a_model_of_a_space_that_cannot_count_its_layers_is_held_to_the_memory_limit_once_built():
    """A user's space is estimated from its built model's layers, before its latency is measured or it trains; a
    built-in space was counted in the driver and is not checked again here."""
    from search_spaces import Choice, SearchSpace
    from search_spaces.mlp import build_mlp

    mlp = get_space("mlp")
    users = SearchSpace("users", [Choice("units", [128])],
                        builder=lambda arch, shape, outputs: build_mlp(mlp.reference("mlp"), shape, outputs))
    (report,) = evaluate(users, {"units": 128}, image_data(), memory_limit=100 * 1024**2)
    assert report["over_limit"] and re.fullmatch(r"over the limit: needs about [0-9.]+ [MG]B, the limit is 100 MB "
                                                 r"per trial \(max_memory\); not trained", report["error"])
    assert "epoch" not in report and "latency_ms" not in report
    counted = evaluate(mlp, mlp.reference("mlp"), image_data(), memory_limit=100 * 1024**2)
    assert counted[-1]["epoch"] == 2 and "error" not in counted[-1]
