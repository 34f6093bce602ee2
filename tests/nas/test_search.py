"""nas.search from Python, as a notebook user calls it: your own space on tabular data with your own training, a
regression with your own loop; a DataFrame and the trained models back; one of two runs deleted, the other resumed.
(A keras-tuner build function searched by rl end to end: tests/test_examples.py, examples/keras_tuner_build.py.)"""
from __future__ import annotations

import numpy as np
import pytest

import nas
from nas.runner.progress import SearchObserver
from results import ResultStore, TrialStatus
from search_spaces import Choice, Float, Int, SearchSpace


def build_tabular(arch, input_shape, num_outputs, task):
    import keras

    inputs = keras.Input(shape=input_shape)
    hidden = inputs
    for _ in range(arch["layers"]):
        hidden = keras.layers.Dense(arch["units"], activation=arch["activation"])(hidden)
        hidden = keras.layers.Dropout(arch["dropout"])(hidden)
    return keras.Model(inputs, keras.layers.Dense(num_outputs, activation="softmax" if task == "classification"
                                                  else None)(hidden))


TABULAR = SearchSpace("tabular", [Int("layers", 1, 2), Int("units", 8, 64, log=True), Float("dropout", 0.0, 0.3),
                                  Float("learning_rate", 1e-3, 3e-2, log=True), Choice("batch_size", [16, 32]),
                                  Choice("activation", ["relu", "tanh"])], builder=build_tabular)


def wine_like(count: int = 240, seed: int = 0):
    """Tabular rows of three classes (13 features, like scikit-learn's wine), standardised."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=count)
    return (rng.normal(size=(count, 13)) + labels[:, None] * 0.8).astype("float32"), labels


class Recording(SearchObserver):
    def __init__(self):
        self.started, self.finished = None, []

    def search_started(self, run, objective, maximize, total_trials, trials_done, best_score):
        self.started = (run, objective, maximize, total_trials, trials_done, best_score)

    def trial_finished(self, record):
        self.finished.append(record.number)


@pytest.fixture(scope="module")
def tabular_search(shared_ray, tmp_path_factory):
    import keras

    output = tmp_path_factory.mktemp("api")
    x, y = wine_like()
    observer = Recording()
    result = nas.search(TABULAR, strategy="evolution", data=(x[:200], y[:200]), test_data=(x[200:], y[200:]),
                        trials=5, epochs=3, top_k=2, seed=1, output=str(output), name="tab", progress=observer,
                        metrics=["sparse_top_k_categorical_accuracy"], strategy_options={"population_size": 3, "sample_size": 2},
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    return result, output, observer


def test_a_user_space_on_tabular_data_returns_a_dataframe_and_the_trained_models(tabular_search):
    result, output, observer = tabular_search
    board = result.leaderboard()
    scores = board["validation_score"].dropna().tolist()
    assert len(board) == 5 and scores == sorted(scores, reverse=True) and len(scores) >= 4  # best first
    assert {"validation_accuracy", "test_accuracy", "params", "latency_ms", "model_path", "objective"} <= \
        set(board.columns)
    best = result.best
    assert best["trial"] == board.iloc[0]["trial"] and best["test_accuracy"] is not None
    assert best["model_path"].startswith(str(output / "models" / "tab"))
    model = result.best_model()
    x, y = wine_like()
    tested = model.evaluate(x[200:], y[200:], return_dict=True, verbose=0)
    assert tested["accuracy"] == pytest.approx(best["test_accuracy"])  # the model reported is the model returned
    assert len(result.best_models(2)) == 2 and len(result.best_models()) == 2  # top_k=2 were kept
    assert observer.started == ("tab", "accuracy", True, 5, 0, None) and sorted(observer.finished) == list(range(5))
    assert "val_sparse_top_k_categorical_accuracy" in best["metrics"]  # the extra metric was reported


def test_each_trial_trains_with_the_training_settings_its_architecture_names(tabular_search):
    result, output, _ = tabular_search
    with ResultStore(result.store_url) as store:
        trials = store.trials("tab")
        run = store.get_run("tab")
    assert (run.task, run.objective, run.direction) == ("classification", "accuracy", "max")
    assert run.config["space"] == "tests.nas.test_search:TABULAR"  # how the run finds its space again
    scored = [trial for trial in trials if trial.status is TrialStatus.COMPLETED]
    assert scored and all(1e-3 <= trial.arch["learning_rate"] <= 3e-2 for trial in scored)
    assert all(trial.layers and trial.layers[-1]["kind"] == "output" for trial in scored)


@pytest.fixture(scope="module")
def regression_search(tabular_search):
    """A second run in the same store as "tab": a regression with a training loop of its own, its Ray checkpoints
    kept and its trials written for TensorBoard (so that deleting it has every kind of file to remove)."""
    _, output, _ = tabular_search
    rng = np.random.default_rng(0)
    x = rng.normal(size=(260, 5)).astype("float32")
    y = (x @ np.arange(1, 6)).astype("float32")

    def train_fn(model, data, report):
        import keras

        model.compile(optimizer=keras.optimizers.Adam(data.arch["learning_rate"]), loss="mse", metrics=["mae"])
        for _ in range(3):
            model.fit(data.x_train, data.y_train, batch_size=data.arch["batch_size"], epochs=1, verbose=0)
            if data.x_validation is not None:
                metrics = model.evaluate(data.x_validation, data.y_validation, return_dict=True, verbose=0)
                report({f"val_{name}": value for name, value in metrics.items()})

    return nas.search(TABULAR, strategy="bayes", data=(x[:220], y[:220]), test_data=(x[220:], y[220:]), trials=3,
                      objective="mae", train_fn=train_fn, output=str(output), name="reg", progress=False,
                      keep_checkpoints=True, tensorboard=str(output / "tensorboard"))


def test_a_regression_with_a_training_loop_of_its_own_minimises_its_metric(regression_search):
    result = regression_search
    summary = result.summary()
    assert (summary["objective"], summary["direction"]) == ("val_mae", "min")
    board = result.leaderboard()
    assert board["validation_accuracy"].isna().all() and board.iloc[0]["validation_score"] == \
        board["validation_score"].min()
    assert set(summary["best"]["test_metrics"]) == {"loss", "mae"}
    assert summary["best"]["test_score"] == pytest.approx(summary["best"]["test_metrics"]["mae"])
    # The final training ran the loop once more, on training and validation data together: nothing to report.
    (final,) = summary["final_training"]
    assert final["epochs"] is None and final["model_path"] == summary["best"]["model_path"]
    with ResultStore(result.store_url) as store:
        assert store.get_run("reg").config["train_fn"].endswith(":train_fn")


def test_a_completed_run_keeps_no_ray_checkpoints_unless_asked(tabular_search, regression_search):
    _, output, _ = tabular_search
    assert not (output / "ray_results" / "tab").exists()  # completed: the store holds all a later resume needs
    # keep_checkpoints=True: Tune's experiment stays (a train_fn trial saves no epochs of its own to resume from)
    assert list((output / "ray_results" / "reg").glob("*/result.json"))


def test_after_another_run_is_deleted_the_run_resumes_and_nas_train_loads_a_kept_model(tabular_search,
                                                                                        regression_search):
    result, output, _ = tabular_search
    doomed = {"models": output / "models" / "reg", "report": output / "reg.html",
              "ray": output / "ray_results" / "reg", "tensorboard": output / "tensorboard" / "reg"}
    assert all(path.exists() for path in doomed.values())
    deleted = nas.runs.delete("reg", output=str(output))
    assert deleted.trials == 3 and {name for name, path in doomed.items() if path.exists()} == set()
    with ResultStore(result.store_url) as store:
        assert [run.name for run in store.list_runs()] == ["tab"] and store.trials("reg") == []
    assert list(nas.runs(output=str(output))["run"]) == ["tab"]
    assert list(nas.leaderboard(output=str(output))["run"].unique()) == ["tab"]  # the other run still ranks

    x, y = wine_like()
    observer = Recording()
    resumed = nas.search(TABULAR, resume=True, name="tab", data=(x[:200], y[:200]), test_data=(x[200:], y[200:]),
                         trials=6, top_k=2, output=str(output), progress=observer)
    assert resumed.summary()["trials_completed"] + resumed.summary()["trials_failed"] == 6
    # The display starts from what the run had done: 5 trials, and its best score so far.
    assert observer.started == ("tab", "accuracy", True, 6, 5, result.best["validation_score"])
    assert observer.finished == [5]
    best = result.best["trial"]
    trained = nas.train(trial=f"tab:{best}", output=str(output))
    assert trained.figures["test_accuracy"] == result.best["test_accuracy"] and not trained.figures["retrained"]
    assert trained.model.count_params() == result.best["params"]
    frame = nas.leaderboard(run="tab", output=str(output), top=3)
    assert len(frame) == 3 and frame.iloc[0]["trial"] in {trial["trial"] for trial in [resumed.best]}


@pytest.mark.parametrize("call, error, message", [
    (lambda: nas.search("tabulr"), nas.SpaceError, "Unknown search space 'tabulr'"),
    (lambda: nas.search(42), nas.SpaceError, "Expected a search_spaces.SearchSpace"),
    (lambda: nas.search(TABULAR, data=(np.zeros((4, 3)), np.zeros(5))), nas.DataError,
     r"one label in y_train per example in x_train \(4\)"),
    (lambda: nas.search(TABULAR, data=(np.full((9, 3), np.nan), np.arange(9) % 2)), nas.DataError, "finite values"),
    (lambda: nas.search(TABULAR, data=wine_like(), num_classes=2), nas.DataError, "below num_classes=2"),
    (lambda: nas.search(TABULAR, data=wine_like(), trials=0), nas.SettingError, "trials: expected an integer >= 1"),
    (lambda: nas.search(TABULAR, data=wine_like(), train_fn=42), nas.SettingError, "train_fn: expected a function"),
    (lambda: nas.search(TABULAR, data=wine_like(), progress="loud"), nas.SettingError, "progress: expected True"),
])
def test_bad_input_from_python_is_a_clear_exception_before_anything_is_stored(call, error, message, tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        call()
    assert not (tmp_path / "nas-runs" / "models").exists()


def test_a_time_budget_that_ran_out_before_any_score_is_an_error_that_says_so(tmp_path, monkeypatch):
    """A budget too short for any trial's first epoch (a slow machine starting Ray and TensorFlow) ends with no model.
    Two trials stopped by the clock and two over the limit once read "Every trial of run ... failed (2)": the error
    names the budget, whether or not some trials also failed."""
    from nas import search as search_module
    from nas.estimator.objectives import Objective
    from nas.runner.summary import SearchSummary
    from results.leaderboard import RunCost

    def ran_out(stopped, failed):
        def run_search(config, inputs, store, name, resume, observer):
            return SearchSummary(name, 0, failed, stopped, 15.0, None, RunCost(name, 30.0, 0.0, 0.0, 0.0),
                                 Objective())
        return run_search

    for stopped, failed in ((2, 2), (2, 0), (0, 0)):
        monkeypatch.setattr(search_module, "run_search", ran_out(stopped, failed))
        with pytest.raises(nas.SearchFailedError, match=r"time budget \(15 s\) ran out before any trial of run "
                                                        rf"short{stopped}{failed} finished its first epoch"):
            nas.search(TABULAR, data=wine_like(), time_budget=15, output=str(tmp_path), name=f"short{stopped}{failed}",
                       progress=False)
    monkeypatch.setattr(search_module, "run_search", ran_out(0, 2))  # every trial failed: the budget is not to blame
    monkeypatch.setattr(search_module, "_every_trial_failed",
                        lambda store, run, report: nas.SearchFailedError(run, "their errors, from the store"))
    with pytest.raises(nas.SearchFailedError, match="their errors, from the store"):
        nas.search(TABULAR, data=wine_like(), time_budget=15, output=str(tmp_path), name="failing", progress=False)
