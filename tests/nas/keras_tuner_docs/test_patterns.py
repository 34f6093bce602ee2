"""The conformance suite: code written the way Keras Tuner's documentation teaches it (patterns.py, each pattern
citing its page) runs in nas unchanged, on the same data.

The fast tests run one trial in this process through nas's estimator (no Ray): a model without an input shape
is measured, one-hot labels reach the user's own loss, a HyperModel's fit is called with nas's callbacks and what
it declares enters the space. The slow ones run each pattern through `nas.search` end to end on one Ray (about
20 s a pattern; the slow pass, for their time) and check the space, the trials and the model handed back. Each of
them failed on nas before these patterns were supported (noted per test).
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.nas.keras_tuner_docs import patterns


def _task_data(x, y, validation=None, task="auto"):
    from nas.data.task_data import Task, prepare

    arrays = {"x_train": x, "y_train": y}
    if validation is not None:
        arrays.update(x_validation=validation[0], y_validation=validation[1])
    return prepare(arrays, "docs", Task(task))


def _one_trial(hypermodel, data, objective=None, direction=None, epochs=1, executions=1):
    """The space nas finds for `hypermodel` on `data`, and the reports of one trial of keras-tuner's defaults."""
    from nas.estimator.evaluator import EvaluationSettings, Evaluator
    from nas.estimator.hypermodel_fit import with_fit_hyperparameters
    from nas.estimator.objectives import Objective
    from nas.estimator.recipe import Recipe
    from nas.settings.inputs import resolve_space
    from search_spaces.hypermodel import default_architecture

    space = with_fit_hyperparameters(resolve_space(hypermodel).space, data, batch_size=32)
    settings = EvaluationSettings(space, Recipe(epochs=epochs, batch_size=32),
                                  Objective.from_settings(objective, direction, data.task), data.task, threads=2,
                                  seed=0, executions=executions)
    reports = []
    arch = default_architecture(space, np.random.default_rng(0))
    Evaluator(settings).evaluate(1, dict(arch), data, lambda figures, save_state=None: reports.append(figures))
    return space, reports


@pytest.mark.slow  # the fast test of HyperModel.fit below builds without an input layer too (about 4 s)
def test_a_build_without_an_input_layer_is_built_on_the_datas_shape_then_measured_and_trained():
    """FRONT. Before: every trial failed ("You tried to call `count_params` on layer 'sequential', but the layer
    isn't built")."""
    x, y = patterns.regression_data()
    space, reports = _one_trial(patterns.front_page_build_model, _task_data(x, y), objective="val_loss")
    assert [parameter.name for parameter in space.parameters] == ["units"]
    assert "error" not in reports[-1] or reports[-1]["error"] is None, reports[-1].get("error")
    assert reports[-1]["params"] == 20 * 8 + 8 + 8 + 1  # units' default, 8, on the data's 20 features
    assert reports[-1]["latency_ms"] > 0 and np.isfinite(reports[-1]["val_loss"])


@pytest.mark.slow  # the fast test of HyperModel.fit below trains this build on one-hot labels too (about 5 s)
def test_one_hot_labels_reach_the_users_own_loss_object_unchanged():
    """GETTING_STARTED with the loss as an object: CategoricalCrossentropy(label_smoothing=0.1). Before: nas turned
    the one-hot rows into class indices, and the user's loss saw target shape (None,) against output (None, 10)."""
    train, validation = patterns.mnist_slice(one_hot=True)
    data = _task_data(*train, validation=validation)
    _, reports = _one_trial(patterns.smoothed_loss_build_model, data)
    assert reports[-1].get("error") is None, reports[-1].get("error")
    assert reports[-1]["val_accuracy"] > 0.3  # 10 classes: chance is 0.1
    assert np.array_equal(data.as_given(data.y_validation), validation[1])  # exactly as given, dtype included
    assert data.as_given(data.y_validation).dtype == validation[1].dtype


@pytest.mark.slow  # two trainings (about 9 s); the fast test above checks that one-hot labels reach a model
def test_one_hot_and_integer_labels_train_the_same_model_to_comparable_accuracy():
    """A build that leaves compiling to nas: nas picks the cross-entropy that matches the labels (categorical for
    one-hot rows, sparse for indices). Before: one-hot labels reached no model as given."""
    import keras

    def build(hp):
        return keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(hp.Choice("units", [64]),
                                                                            activation="relu"),
                                 keras.layers.Dense(10, activation="softmax")])

    accuracies, params = {}, {}
    for one_hot in (True, False):
        train, validation = patterns.mnist_slice(one_hot=one_hot)
        _, reports = _one_trial(build, _task_data(*train, validation=validation), epochs=2)
        assert reports[-1].get("error") is None, reports[-1].get("error")
        accuracies[one_hot], params[one_hot] = reports[-1]["val_accuracy"], reports[-1]["params"]
    assert params[True] == params[False] == 784 * 64 + 64 + 64 * 10 + 10
    assert min(accuracies.values()) > 0.6 and abs(accuracies[True] - accuracies[False]) < 0.1, accuracies


def test_what_hypermodel_fit_declares_enters_the_space_and_fit_trains_with_nas_callbacks():
    """GETTING_STARTED, "Tune model training" and a fit that tunes batch_size; its build has no input layer and
    compiles with the loss object CategoricalCrossentropy(label_smoothing=0.1), fed the one-hot labels as given.
    Before: every trial failed on the unbuilt model; past that, the loss saw class indices, fit was never called
    and `batch_size` never entered the space."""
    train, validation = patterns.mnist_slice(one_hot=True)
    data = _task_data(*train, validation=validation)
    assert np.array_equal(data.as_given(data.y_train), train[1]) and data.as_given(data.y_train).dtype == train[1].dtype
    patterns.FIT_CALLS.clear()
    space, reports = _one_trial(patterns.tune_batch_size(), data)
    assert [parameter.name for parameter in space.parameters] == ["units", "batch_size"]
    assert reports[-1].get("error") is None, reports[-1].get("error")
    trial_call = patterns.FIT_CALLS["tune_batch_size"][-1]
    assert trial_call["positional"] == 2  # x, y, as Keras Tuner passes what search() was given
    assert trial_call["keywords"] == ["callbacks", "epochs", "validation_data"]  # no batch_size passed twice
    assert trial_call["callbacks"][0] == "EpochProgress"  # nas's reporting, first
    assert trial_call["hp"]["batch_size"] == 16  # keras-tuner's default: the first choice
    assert reports[-1]["params"] == 784 * 32 + 32 + 32 * 10 + 10  # built on the data's shape, units' default 32


def test_each_trial_gets_its_own_copy_of_the_users_callbacks_and_tensorboard_its_own_folder(tmp_path):
    """Keras Tuner copies the search's callbacks for each trial and gives a TensorBoard callback a folder per trial.
    Before: every trial wrote to the same folder through the same callback objects."""
    import keras

    from nas.estimator.training import user_callbacks

    board, stopper = keras.callbacks.TensorBoard(log_dir=str(tmp_path)), keras.callbacks.EarlyStopping(patience=1)
    copies = user_callbacks([board, stopper], trial=3)
    assert copies[0] is not board and copies[1] is not stopper
    assert copies[0].log_dir == f"{tmp_path}/trial_3" and board.log_dir == str(tmp_path)
    assert copies[1].patience == 1
    assert user_callbacks([board], trial=None)[0].log_dir == str(tmp_path)  # the final training: the folder given


def _fixed_input_build(hp):
    import keras

    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(hp.Choice("units", [16, 32]), activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow  # three searches' discovery and checks (about 11 s)
def test_a_build_or_fit_that_cannot_be_searched_is_refused_in_one_line_before_ray(tmp_path, monkeypatch):
    """Before: each of these started Ray and failed every trial."""
    import keras_tuner

    import nas
    from nas.errors import SpaceError

    class BrokenFit(keras_tuner.HyperModel):
        def build(self, hp):
            return patterns.smoothed_loss_build_model(hp)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, shuffle=hp.Boolean("shuffle"), batchsize=32, **kwargs)

    monkeypatch.setattr("nas.runner.cluster.start_ray", lambda *args: pytest.fail("Ray started"))
    train, validation = patterns.mnist_slice(train=100, validation=50, one_hot=True)
    refusals = {
        _fixed_input_build: "fits inputs shaped (28, 28, 1): its model takes inputs shaped (32, 32, 3). Expected "
                            "data its build(hp) can take",
        BrokenFit(): "fit(hp, model, ...) raised TypeError with keras-tuner's default values",
        patterns.smoothed_loss_build_model: "fits the limits: max_memory 1.0 MB per trial",
    }
    for hypermodel, expected in refusals.items():
        limit = {"max_memory": "1MiB"} if hypermodel is patterns.smoothed_loss_build_model else {}
        with pytest.raises(SpaceError) as refused:
            nas.search(hypermodel, data=train, validation_data=validation, output=str(tmp_path), progress=False,
                       **limit)
        assert expected in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.slow  # three trainings and a discovery (about 15 s)
def test_an_interrupted_trial_of_a_hypermodel_fit_goes_on_from_its_last_epoch(tmp_path):
    """The checkpoint a trial keeps after each epoch (nas/runner/tune.py hands it to Ray Tune) brings a HyperModel
    whose build compiled its model back to where it was: fit is passed initial_epoch. Before: fit never ran."""
    from nas.estimator.evaluator import EvaluationSettings, Evaluator
    from nas.estimator.hypermodel_fit import with_fit_hyperparameters
    from nas.estimator.objectives import Objective
    from nas.estimator.recipe import Recipe
    from nas.settings.inputs import resolve_space
    from search_spaces.hypermodel import default_architecture

    train, validation = patterns.mnist_slice(one_hot=True)
    data = _task_data(*train, validation=validation)
    space = with_fit_hyperparameters(resolve_space(patterns.tune_batch_size()).space, data, batch_size=32)
    evaluator = Evaluator(EvaluationSettings(space, Recipe(epochs=3), Objective(), data.task, threads=2, seed=0))
    arch = dict(default_architecture(space, np.random.default_rng(0)))
    saved = []

    def keep_first_epoch(figures, save_state=None):
        if figures.get("epoch") == 1:
            save_state(tmp_path)
            saved.append(figures)

    evaluator.evaluate(1, arch, data, keep_first_epoch)
    assert saved, "no checkpoint after epoch 1"
    patterns.FIT_CALLS.clear()
    resumed = []
    evaluator.evaluate(1, arch, data, lambda figures, save_state=None: resumed.append(figures), resume_from=tmp_path)
    assert [figures["epoch"] for figures in resumed] == [2, 3]
    assert "initial_epoch" in patterns.FIT_CALLS["tune_batch_size"][-1]["keywords"]
    assert resumed[-1]["train_seconds"] > saved[0]["train_seconds"]


@pytest.mark.slow  # discovery trains the custom loop a few times (about 15 s)
def test_a_custom_training_loop_reports_its_own_metric_and_returns_the_best():
    """CUSTOM_TUNER: an uncompiled model, a GradientTape loop that calls on_epoch_end itself with {"my_metric": ...},
    objective my_metric (min), fit returns a float. Before: fit was never called."""
    train, validation = patterns.mnist_slice(one_hot=False)
    space, reports = _one_trial(patterns.custom_training_loop(), _task_data(*train, validation=validation),
                                objective="my_metric", direction="min", executions=2)
    assert [parameter.name for parameter in space.parameters] == ["units", "batch_size", "learning_rate"]
    scores = [figures["score"] for figures in reports]
    assert all(figures.get("error") is None for figures in reports), reports[-1].get("error")
    assert len(scores) == 3  # its two epochs, then what fit returned: the best of them (averaged over executions)
    assert scores[-1] <= min(scores[:2]) + 1e-9


# --- end to end, through nas.search on one Ray -----------------------------------------------------------------


def _search(hypermodel, data, validation=None, tmp_path=None, **settings):
    import nas

    settings = {"trials": 2, "epochs": 1, "train_subset": None, "augment": "none", **settings}
    return nas.search(hypermodel, data=data, validation_data=validation, output=str(tmp_path), progress=False,
                      **settings)


def _check_model(result, x, outputs: int, safe_mode: bool = True):
    model = result.best_model(safe_mode)
    assert model.predict(x[:5], verbose=0).shape == (5, outputs)
    return model


@pytest.mark.slow
def test_the_front_page_searches_as_written(shared_ray, tmp_path):
    x, y = patterns.regression_data()
    result = _search(patterns.front_page_build_model, (x, y), tmp_path=tmp_path, objective="val_loss")
    assert result.summary()["trials_completed"] == 2
    assert set(result.best["values"]) == {"units"}
    _check_model(result, x, 1)


@pytest.mark.slow
def test_the_getting_started_build_searches_on_one_hot_labels(shared_ray, tmp_path):
    train, validation = patterns.mnist_slice(one_hot=True)
    result = _search(patterns.getting_started_build_model, train, validation, tmp_path, objective="val_accuracy",
                     executions_per_trial=2)
    assert result.summary()["trials_completed"] == 2
    assert {"num_layers", "units_0", "activation", "dropout", "lr"} <= set(result.best["values"])
    assert result.best["validation_accuracy"] > 0.5
    _check_model(result, validation[0], 10)


@pytest.mark.slow
@pytest.mark.parametrize("pattern, declared", [
    ("tune_model_training", {"units", "shuffle"}),
    ("tune_data_preprocessing", {"units", "normalize", "shuffle"}),
    ("end_to_end_regressor", {"units"}),
    ("hypermodel_api", {"units"}),
])
def test_the_getting_started_hypermodels_search_with_what_fit_declares(shared_ray, tmp_path, pattern, declared):
    hypermodel = getattr(patterns, pattern)()
    if pattern in ("tune_data_preprocessing", "end_to_end_regressor"):
        x, y = patterns.regression_data(features=10)
        train, validation, outputs = (x[:240], y[:240]), (x[240:], y[240:]), 1
    else:
        train, validation = patterns.mnist_slice(one_hot=True)
        outputs = 10
    result = _search(hypermodel, train, validation, tmp_path)
    assert result.summary()["trials_completed"] == 2, result.leaderboard()["error"].tolist()
    assert set(result.best["values"]) == declared
    _check_model(result, validation[0], outputs)


@pytest.mark.slow
def test_the_custom_training_loop_searches_on_its_own_metric(shared_ray, tmp_path):
    train, validation = patterns.mnist_slice(one_hot=False)
    result = _search(patterns.custom_training_loop(), train, validation, tmp_path, objective="my_metric",
                     direction="min")
    assert result.summary()["trials_completed"] == 2, result.leaderboard()["error"].tolist()
    assert set(result.best["values"]) == {"units", "batch_size", "learning_rate"}
    assert result.summary()["direction"] == "min"
    _check_model(result, validation[0], 10)


@pytest.mark.slow
def test_failed_trials_fail_alone_with_the_users_reason(shared_ray, tmp_path):
    x, y = patterns.regression_data()
    result = _search(patterns.failed_trials_build_model, (x, y), tmp_path=tmp_path, trials=8, seed=3)
    board = result.leaderboard()
    errors = [error for error in board["error"].tolist() if isinstance(error, str)]
    assert result.summary()["trials_completed"] >= 1
    assert all("Model too large!" in error for error in errors) and errors, errors


@pytest.mark.slow
@pytest.mark.parametrize("application", ["HyperResNet", "HyperXception"])
def test_keras_tuners_own_applications_search_mnist_shaped_data(shared_ray, tmp_path, application):
    import keras_tuner

    hypermodel = getattr(keras_tuner.applications, application)(input_shape=(28, 28, 1), classes=10)
    train, validation = patterns.mnist_slice(train=200, validation=100, one_hot=True)
    # Seed 34 draws HyperResNet's smallest network, a ResNet-50 (v1, conv4_depth 6); seed 0 drew a ResNeXt-101, whose
    # grouped convolutions took 460 s of a CI machine's 2 cores to train, time and save (a ResNeXt-50, 323 s here).
    seed = 34 if application == "HyperResNet" else 0
    result = _search(hypermodel, train, validation, tmp_path, trials=1, seed=seed)
    assert result.summary()["trials_completed"] == 1, result.leaderboard()["error"].tolist()
    if application == "HyperResNet":
        assert (result.best["values"]["version"], result.best["values"]["conv4_depth"]) == ("v1", 6)
    _check_model(result, validation[0], 10)


@pytest.mark.slow
def test_a_model_with_a_lambda_layer_is_kept_and_loads_only_outside_keras_safe_mode(shared_ray, tmp_path):
    """HyperResNet's ResNeXt holds Lambda layers: Keras' safe mode refuses to load their Python code."""
    from nas.errors import RunError

    train, validation = patterns.mnist_slice(train=200, validation=100, one_hot=True)
    result = _search(patterns.lambda_layer_build_model, train, validation, tmp_path, trials=1)
    assert result.summary()["trials_completed"] == 1, result.leaderboard()["error"].tolist()
    with pytest.raises(RunError, match="holds a Lambda layer"):
        result.best_model()
    _check_model(result, validation[0], 10, safe_mode=False)


@pytest.mark.slow  # it tries to download ImageNet weights (refused at once here; could wait on another network)
def test_hyper_efficientnet_is_refused_in_one_line_that_names_the_download():
    import keras_tuner

    from nas.errors import SpaceError
    from nas.settings.inputs import resolve_space

    with pytest.raises(SpaceError) as refused:
        resolve_space(keras_tuner.applications.HyperEfficientNet(input_shape=(28, 28, 1), classes=10))
    assert "\n" not in str(refused.value)
    assert "efficientnetb0_notop.h5 from the internet, which cannot be downloaded here" in str(refused.value)


# --- end to end, through the drop-in tuner (nas.tuner), each as its page writes the tuner's lines ---------------


@pytest.mark.slow
def test_the_custom_loop_guides_tuner_lines_run_with_nas_tuner(tmp_path):
    import keras_tuner

    import nas.tuner

    train, validation = patterns.mnist_slice(one_hot=False)
    tuner = nas.tuner.RandomSearch(objective=keras_tuner.Objective("my_metric", "min"), max_trials=2,
                                   hypermodel=patterns.custom_training_loop(), directory=str(tmp_path),
                                   project_name="custom_training", overwrite=True, progress=False)
    tuner.search(x=train[0], y=train[1], validation_data=validation)
    best_hps = tuner.get_best_hyperparameters()[0]
    assert set(best_hps.values) == {"units", "batch_size", "learning_rate"}
    best_model = tuner.get_best_models()[0]
    assert best_model.predict(validation[0][:3], verbose=0).shape == (3, 10)


@pytest.mark.slow
def test_the_tailor_guides_narrowed_space_searches_only_what_it_names(tmp_path):
    import keras
    import keras_tuner

    import nas.tuner

    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", min_value=1e-4, max_value=1e-2, sampling="log")
    train, validation = patterns.mnist_slice(one_hot=True)
    tuner = nas.tuner.RandomSearch(patterns.tailor_build_model, hyperparameters=hp, tune_new_entries=False,
                                   objective="val_accuracy", max_trials=3, overwrite=True, directory=str(tmp_path),
                                   project_name="search_a_few", optimizer=keras.optimizers.Adam(1e-3),
                                   loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                                   metrics=["accuracy"], progress=False)
    tuner.search(*train, epochs=1, validation_data=validation)
    searched = [hps.values for hps in tuner.get_best_hyperparameters(3)]
    assert len(searched) == 3
    assert {values["units"] for values in searched} == {32} and {values["dropout"] for values in searched} == {False}
    assert len({values["learning_rate"] for values in searched}) == 3  # the one it names varies
    assert all(1e-4 <= values["learning_rate"] <= 1e-2 for values in searched)


@pytest.mark.slow
def test_a_fit_returning_one_float_is_minimised_when_no_objective_is_named(tmp_path):
    import nas.tuner

    x, y = patterns.regression_data(features=10)
    tuner = nas.tuner.RandomSearch(hypermodel=patterns.end_to_end_regressor(), max_trials=2, overwrite=True,
                                   directory=str(tmp_path), project_name="end_to_end", progress=False)
    result = tuner.search(x[:240], y[:240], validation_data=(x[240:], y[240:]))
    summary = result.summary()
    assert (summary["objective"], summary["direction"]) == ("val_default_objective", "min")
    assert summary["trials_completed"] == 2 and result.best["validation_score"] > 0  # a mean absolute error


@pytest.mark.slow
def test_the_failed_trials_guides_tuner_stops_after_consecutive_failures(tmp_path):
    """The failed-trials page's tuner line; one trial at a time, so that the failures nas counts in the order it
    hears of them are in a row by trial number too."""
    import nas.tuner

    x, y = patterns.regression_data()
    tuner = nas.tuner.RandomSearch(hypermodel=patterns.failed_trials_build_model, objective="val_loss",
                                   overwrite=True, max_trials=12, max_consecutive_failed_trials=2, seed=5,
                                   directory=str(tmp_path), project_name="failed", progress=False, concurrency=1)
    result = tuner.search(x, y, validation_split=0.2, epochs=1)
    board = result.leaderboard().sort_values("trial")
    errors = [error for error in board["error"].tolist() if isinstance(error, str)]
    assert all("Model too large!" in error for error in errors), errors
    failed = [isinstance(error, str) for error in board["error"].tolist()]
    second_in_a_row = next((index for index in range(1, len(failed)) if failed[index - 1] and failed[index]), None)
    assert second_in_a_row is not None, failed  # seed 5 draws two too large in a row within 12 trials
    assert len(failed) == second_in_a_row + 1, failed  # and no trial was proposed after them
