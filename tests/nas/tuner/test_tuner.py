"""nas.tuner: a Keras Tuner script searched by nas after changing its import and class name. Without Ray: the
keywords and what nas.search is handed, Hyperband's budget against keras-tuner's own oracle, the builds with Keras
Tuner's overrides as nas discovers them, and the results read back from a store. With Ray (slow): the keras.io
"Getting started with KerasTuner" script on a slice of MNIST."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nas
from nas.errors import RunError, SettingError, SpaceError
from nas.tuner.keywords import hyperband_trials, objective_settings
from results import ResultStore, RunRecord, RunStatus, TrialRecord, TrialStatus

REPOSITORY = Path(__file__).resolve().parents[3]


def build_model(hp):
    """keras.io's "Getting started with KerasTuner" build function, as written there."""
    import keras

    model = keras.Sequential()
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(units=hp.Int("units", min_value=32, max_value=512, step=32),
                                 activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def build_small(hp):
    """A build function of the same shape that builds in milliseconds."""
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Int("units", 4, 64, step=4),
                                                                   activation=hp.Choice("activation",
                                                                                        ["relu", "tanh"]))])
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.25))
    model.add(keras.layers.Dense(2, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def hypermodels():
    import keras_tuner

    class Built(keras_tuner.HyperModel):
        def build(self, hp):
            return build_small(hp)

    class Trained(Built):
        def fit(self, hp, model, *args, **kwargs):
            return 0.25

    return Built(), Trained()


def test_importing_nas_and_its_tuner_imports_neither_tensorflow_nor_keras_tuner():
    code = ("import sys, nas; nas.Tuner; nas.tuner.Hyperband; "
            "print(sorted({'tensorflow', 'keras', 'keras_tuner', 'ray'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPOSITORY, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_objective_becomes_nas_objective_and_direction():
    import keras_tuner

    built, trained = hypermodels()
    assert objective_settings("val_accuracy", build_small) == {"objective": "val_accuracy"}
    assert objective_settings(keras_tuner.Objective("val_auc", "max"), build_small) == \
        {"objective": "val_auc", "direction": "max"}
    # None: keras-tuner's DefaultObjective (fit's float, minimised) for a HyperModel that trains itself only.
    assert objective_settings(None, trained) == {"objective": "default_objective", "direction": "min"}
    assert objective_settings(None, built) == objective_settings(None, build_small) == {}


@pytest.mark.parametrize("make, setting, message", [
    (lambda: nas.Tuner(build_small, objective=["val_loss", "val_accuracy"]), "objective",
     "nas searches for one objective; received 2: ['val_loss', 'val_accuracy']"),
    (lambda: nas.Tuner(build_small, time_budjet="1m"), "time_budjet", "did you mean 'time_budget'?"),
    (lambda: nas.Tuner(build_small, trials=3), "trials", "a Tuner sets it from max_trials"),
    (lambda: nas.Tuner(build_small, concurrency=0), "concurrency", "expected an integer >= 1, received 0"),
    (lambda: nas.Tuner(build_small, tune_new_entries=False), "tune_new_entries", "expected hyperparameters too"),
    (lambda: nas.Tuner(type(hypermodels()[0])), "hypermodel", "received the class Built; pass Built() instead"),
    (lambda: nas.Tuner(build_small, project_name="a/b"), "project_name", "without / or \\"),
    (lambda: nas.tuner.RandomSearch(build_small, strategy="bayes"), "strategy", "RandomSearch searches with"),
    (lambda: nas.tuner.Hyperband(build_small, factor=1), "factor", "expected an integer >= 2, received 1"),
])
def test_bad_input_is_one_line_naming_the_keyword_before_any_work(make, setting, message, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingError) as raised:
        make()
    assert raised.value.setting == setting and message in str(raised.value) and "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("max_epochs, factor, iterations", [(100, 3, 1), (10, 3, 2), (27, 3, 1), (50, 2, 1),
                                                             (9, 4, 3), (1, 3, 1)])
def test_hyperband_trains_as_many_models_as_keras_tuners_hyperband_starts(max_epochs, factor, iterations):
    from keras_tuner.oracles import HyperbandOracle

    oracle = HyperbandOracle(max_epochs=max_epochs, factor=factor)  # its first rounds start new models
    expected = iterations * sum(oracle._get_size(bracket, 0) for bracket in range(oracle._get_num_brackets()))
    assert hyperband_trials(max_epochs, factor, iterations) == expected
    tuner = nas.tuner.Hyperband(build_small, max_epochs=max_epochs, factor=factor, hyperband_iterations=iterations)
    assert (tuner._settings["trials"], tuner._settings["scheduler"], tuner._settings["reduction_factor"]) == \
        (expected, "asha", factor)
    assert nas.tuner.Hyperband(build_small, max_trials=5)._settings["trials"] == 5


class Searched:
    """What nas.search was handed."""

    def __init__(self):
        self.calls = []

    def __call__(self, space=None, **keywords):
        self.calls.append({"space": space, **keywords})
        return "result"


def test_search_hands_nas_search_keras_tuners_arguments(tmp_path, monkeypatch):
    searched = Searched()
    monkeypatch.setattr("nas.search.search", searched)
    tuner = nas.Tuner(build_small, objective="val_loss", max_trials=3, seed=4, max_model_size=1000,
                      executions_per_trial=2, directory=str(tmp_path), project_name="p", concurrency=1)
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    assert tuner.search(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0) == "result"
    call = searched.calls[0]
    assert call["space"] is build_small  # no override of its builds: the function itself, found again by name
    np.testing.assert_array_equal(call["data"][0], x[:8])  # the last 20%, unshuffled, as Keras' fit cuts it
    np.testing.assert_array_equal(call["validation_data"][1], y[8:])
    assert {key: call[key] for key in ("epochs", "final_epochs", "trials", "seed", "max_params", "top_k",
                                       "train_subset", "augment", "executions_per_trial", "objective", "output",
                                       "name", "resume", "progress", "batch_size", "concurrency",
                                       "max_consecutive_failed_trials")} == \
        {"epochs": 3, "final_epochs": 3, "trials": 3, "seed": 4, "max_params": 1000, "top_k": 2,
         "train_subset": None, "augment": "none", "executions_per_trial": 2, "objective": "val_loss",
         "output": str(tmp_path), "name": "p", "resume": False, "progress": False, "batch_size": 16,
         "concurrency": 1, "max_consecutive_failed_trials": 3}
    hyperband = nas.tuner.Hyperband(build_small, max_epochs=4, directory=str(tmp_path))
    hyperband.search(x, y, epochs=99, validation_data=(x, y))
    assert (searched.calls[1]["epochs"], searched.calls[1]["name"]) == (4, "untitled_project")
    with pytest.raises(SettingError, match="class_weight: Tuner.search does not pass 'class_weight'"):
        tuner.search(x, y, class_weight={0: 1.0, 1: 2.0})


def test_the_tuners_compile_arguments_replace_the_builds_and_keep_the_rest():
    import keras
    import keras_tuner

    from nas.tuner.hypermodel import wrapped

    hypermodel = wrapped(build_small, optimizer=keras.optimizers.SGD(0.5), loss="mse")
    first, second = (hypermodel.build(keras_tuner.HyperParameters()) for _ in range(2))
    assert isinstance(first.optimizer, keras.optimizers.SGD) and float(first.optimizer.learning_rate) == 0.5
    assert first.optimizer is not second.optimizer  # one optimizer per model, as keras-tuner makes them
    assert first.loss == "mse" and first.get_compile_config()["metrics"] == ["accuracy"]  # the build's metrics
    # tuner.hypermodel is a HyperModel, as in Keras Tuner, compiled by the build alone
    own = nas.Tuner(build_small, loss="mse").hypermodel.build(keras_tuner.HyperParameters())
    assert own.loss == "sparse_categorical_crossentropy"


def test_a_hypermodel_that_trains_itself_is_still_one_wrapped_and_both_pickle():
    import keras_tuner
    from ray import cloudpickle  # how Ray ships the space to its workers

    from nas.tuner.hypermodel import wrapped

    built, trained = hypermodels()
    for hypermodel, trains_itself in ((wrapped(build_small, loss="mse"), False), (wrapped(built, loss="mse"), False),
                                      (wrapped(trained, loss="mse"), True)):
        copy = cloudpickle.loads(cloudpickle.dumps(hypermodel))
        assert (type(copy).fit is not keras_tuner.HyperModel.fit) is trains_itself
        hp = keras_tuner.HyperParameters()
        model = copy.build(hp)
        assert model.loss == "mse"
        if trains_itself:
            assert copy.fit(hp, model, None) == 0.25


def test_hyperparameters_override_the_builds_and_the_others_stay_at_their_defaults_for_nas():
    import keras_tuner

    from nas.tuner.hypermodel import wrapped
    from search_spaces.hypermodel import from_hypermodel

    given = keras_tuner.HyperParameters()
    given.Choice("units", [8, 16])
    hp = keras_tuner.HyperParameters()
    assert wrapped(build_small, hyperparameters=given).build(hp).layers[0].units == 8  # given's default
    assert {declared.name: type(declared).__name__ for declared in hp.space} == \
        {"units": "Choice", "activation": "Choice", "dropout": "Boolean", "lr": "Float"}  # the others searched
    fixed = from_hypermodel(wrapped(build_small, hyperparameters=given, tune_new_entries=False))
    assert {parameter.name: parameter.options for parameter in fixed.parameters} == \
        {"units": (8, 16), "activation": ("relu",), "dropout": (False,), "lr": (1e-4,)}
    model = fixed.build(fixed.validate({"units": 16, "activation": "relu", "dropout": False, "lr": 1e-4}), (3,), 2)
    assert model.layers[0].units == 16


def test_a_new_hyperparameter_is_refused_in_one_line_when_new_entries_are_not_allowed():
    import keras_tuner

    from nas.settings.inputs import resolve_space
    from nas.tuner.hypermodel import wrapped

    given = keras_tuner.HyperParameters()
    given.Choice("units", [8, 16])
    with pytest.raises(SpaceError, match="declared 'activation', which hyperparameters does not hold, and "
                                         "allow_new_entries is False") as raised:
        resolve_space(wrapped(build_small, hyperparameters=given, allow_new_entries=False))
    assert "\n" not in str(raised.value)


@pytest.fixture
def stored_project(tmp_path):
    """A finished project's run, as a search stores it: three scored trials and a failed one."""
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(RunRecord("p", "build_small", "random", "arrays", RunStatus.COMPLETED, {"trials": 10},
                                   objective="accuracy", direction="max"))
        for number, score in enumerate([0.5, 0.9, 0.7, None]):
            arch = {"units": 8 * (number + 1), "activation": "relu", "dropout": False, "lr": 0.001}
            store.save_trial(TrialRecord("p", number, TrialStatus.FAILED if score is None else TrialStatus.COMPLETED,
                                         f"units={arch['units']}", arch, score=score, validation_accuracy=score,
                                         latency_ms=None if score is None else 0.1, params=100))
    return tmp_path


def test_the_best_hyperparameters_and_the_summary_come_from_the_store_ranked_as_nas_ranks(stored_project, capsys):
    import keras_tuner

    tuner = nas.Tuner(build_small, objective="val_accuracy", directory=str(stored_project), project_name="p")
    best = tuner.get_best_hyperparameters(num_trials=2)
    assert all(isinstance(hp, keras_tuner.HyperParameters) for hp in best)
    assert [hp.values["units"] for hp in best] == [16, 24]
    assert build_small(best[0]).layers[0].units == 16  # build_model(best_hp) builds the best again
    tuner.results_summary(num_trials=2)
    assert capsys.readouterr().out.splitlines()[:12] == [
        "Results summary", f"Results in {stored_project / 'p'}", "Showing 2 best trials",
        'Objective(name="val_accuracy", direction="max")', "", "Trial 01 summary", "Hyperparameters:",
        "units: 16", "activation: relu", "dropout: False", "lr: 0.001", "Score: 0.9"]
    with pytest.raises(RunError, match="Expected search\\(\\) first in this process"):
        tuner.get_best_models(num_models=1)  # no model kept, and no data to train one


def test_overwrite_deletes_the_stored_project(stored_project):
    nas.Tuner(build_small, directory=str(stored_project), project_name="p", overwrite=True)
    with pytest.raises(RunError, match="No results of project 'p'"):
        nas.Tuner(build_small, directory=str(stored_project), project_name="p").get_best_hyperparameters()


@pytest.mark.slow  # about 90 s: Ray twice, two trials of MNIST and their final trainings
def test_the_getting_started_script_runs_as_a_nas_search(tmp_path, capsys):
    """The guide's script, with nas.tuner for keras_tuner and a slice of MNIST; top_k=1 keeps one model from the
    search, so that get_best_models(2) trains the second."""
    import keras

    with np.load(REPOSITORY / "nas" / "data" / "mnist.npz") as mnist:  # the guide's keras.datasets.mnist
        x, y = mnist["x_train"][:800] / 255.0, mnist["y_train"][:800]
    y = keras.utils.to_categorical(y, 10)
    x_train, y_train, x_val, y_val = x[:600], y[:600], x[600:], y[600:]

    tuner = nas.tuner.RandomSearch(hypermodel=build_model, objective="val_accuracy", max_trials=2,
                                   executions_per_trial=1, overwrite=True, directory=str(tmp_path),
                                   project_name="helloworld", top_k=1)
    tuner.search_space_summary()
    assert "Default search space size: 4" in capsys.readouterr().out
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val))
    models = tuner.get_best_models(num_models=2)
    best_model = models[0]
    assert len(models) == 2 and best_model.predict(x_val[:5], verbose=0).shape == (5, 10)
    best_hps = tuner.get_best_hyperparameters(5)
    assert len(best_hps) == 2 and set(best_hps[0].values) == {"units", "activation", "dropout", "lr"}
    model = build_model(best_hps[0])
    model.fit(x_train[:64], y_train[:64], epochs=1, verbose=0)  # the guide retrains the best on all the data
    tuner.results_summary()
    assert "Showing 10 best trials" in capsys.readouterr().out
