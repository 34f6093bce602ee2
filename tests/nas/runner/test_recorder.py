"""nas.runner.recorder, without starting Ray: every trial written to the store as it starts and ends."""
from __future__ import annotations

import pytest
from ray import cloudpickle  # how Tune pickles its callbacks

from nas.runner.recorder import TrialRecorder, finished_record
from results import ResultStore, TrialRecord, TrialStatus
from search_spaces import Choice, SearchSpace
from strategies import get_strategy

TOY = SearchSpace("toy", [Choice("depth", [1, 2, 3]), Choice("width", [16, 32])])


def started(number: int = 0) -> TrialRecord:
    return TrialRecord(run="r", number=number, status=TrialStatus.RUNNING, arch_key="depth=1,width=16",
                       arch={"depth": 1, "width": 16})


def test_finished_record_status_follows_the_last_result():
    full = {"epoch": 2, "epochs_planned": 2, "validation_accuracy": 0.9, "params": 10, "node": "n", "host": "h"}
    assert finished_record(started(), full, None).status is TrialStatus.COMPLETED
    assert finished_record(started(), {**full, "epoch": 1}, None).status is TrialStatus.STOPPED
    failed = finished_record(started(), {"error": "cannot build"}, None)
    assert failed.status is TrialStatus.FAILED and failed.error == "cannot build"
    crashed = finished_record(started(), {}, "Ray reported the trial failed")
    assert crashed.status is TrialStatus.FAILED and crashed.validation_accuracy is None


def test_finished_record_keeps_the_score_every_validation_metric_and_the_layers():
    layers = [{"kind": "input", "label": "Input", "shape": [4], "params": 0}]
    result = {"epoch": 3, "epochs_planned": 3, "val_loss": 0.25, "val_mae": 0.4, "score": 0.25, "layers": layers,
              "validation_accuracy": None, "reward": -0.25}
    record = finished_record(started(), result, None)
    assert (record.score, record.metrics, record.layers) == (0.25, {"val_loss": 0.25, "val_mae": 0.4}, layers)
    # A train_fn's trial plans no number of epochs: its last report completes it.
    assert finished_record(started(), {"epoch": 1, "epochs_planned": None, "score": 1.0}, None).status is \
        TrialStatus.COMPLETED


def test_the_recorder_pickles_without_its_display(tmp_path):
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        recorder = TrialRecorder(store, "r", get_strategy("random", TOY, seed=0), observer=object())
        copy = cloudpickle.loads(cloudpickle.dumps(recorder))
        assert copy.observer is None and copy.store.url == store.url
        copy.store.close()


class Reported:
    """What Tune hands the callbacks and returns from fit(), as far as the recorder reads it."""

    config = {"trial": 0, "arch": {"depth": 1, "width": 16}}
    metrics = {}  # Tune could not read the trial's results back from disk
    last_result = {"epoch": 2, "epochs_planned": 2, "validation_accuracy": 0.7}
    error_file = None

    class placement_group_factory:  # noqa: N801 (Tune's attribute name)
        required_resources = {"CPU": 2.0, "GPU": 0.5}


@pytest.fixture
def recorder(tmp_path):
    from results import RunRecord, RunStatus

    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(RunRecord("r", "toy", "random", "d", RunStatus.RUNNING, {}))
        yield TrialRecorder(store, "r", get_strategy("random", TOY, seed=0), observer=None)


def test_a_trial_cut_by_the_time_budget_keeps_its_last_reported_accuracy(recorder):
    recorder.on_trial_start(0, [], Reported())
    recorder.on_trial_result(0, [], Reported(), {"epoch": 3, "epochs_planned": 9, "validation_accuracy": 0.8})
    recorder.finish_unrecorded(Reported())
    stored = recorder.store.get_trial("r", 0)
    assert (stored.status, stored.epochs, stored.validation_accuracy) == (TrialStatus.STOPPED, 3, 0.8)


def test_a_trial_costs_its_resources_times_the_time_it_held_them_over_every_attempt(recorder, monkeypatch):
    clock = iter([100.0, 110.0, 200.0, 230.0])  # attempt 1 runs 10 s and its worker dies; attempt 2 runs 30 s
    monkeypatch.setattr("nas.runner.recorder.time.monotonic", lambda: next(clock))
    recorder.on_trial_start(0, [], Reported())
    assert recorder.store.get_trial("r", 0).attempts == 1
    recorder.on_trial_recover(0, [], Reported())
    recorder.on_trial_start(0, [], Reported())
    assert recorder.store.get_trial("r", 0).status is TrialStatus.RUNNING
    recorder.on_trial_complete(0, [], Reported())
    stored = recorder.store.get_trial("r", 0)
    assert (stored.status, stored.attempts, stored.cpu_seconds, stored.gpu_seconds) == (
        TrialStatus.COMPLETED, 2, 80.0, 20.0)


def test_a_trial_that_failed_before_it_started_is_stored_as_failed_not_lost(recorder, tmp_path):
    class CouldNotStart(Reported):
        last_result = {}
        error_file = str(tmp_path / "error.txt")

    (tmp_path / "error.txt").write_text("Traceback...\nModuleNotFoundError: No module named 'nas'\n")
    recorder.on_trial_error(0, [], CouldNotStart())
    stored = recorder.store.get_trial("r", 0)
    assert stored.status is TrialStatus.FAILED and stored.attempts == 1
    assert stored.error == "Ray reported the trial failed: ModuleNotFoundError: No module named 'nas'"


def test_the_strategy_state_is_saved_at_most_every_few_seconds(recorder, monkeypatch):
    clock = iter([1000.0, 1000.0, 1003.0, 1011.0, 1011.0])
    monkeypatch.setattr("nas.runner.recorder.time.perf_counter", lambda: next(clock))
    saved = []
    update_run = recorder.store.update_run
    recorder.store.update_run = lambda run, **values: (saved.append(values["strategy_state"]["next_id"]),
                                                       update_run(run, **values))
    recorder.strategy.ask()
    recorder.on_trial_start(0, [], Reported())  # saved at 1000 s
    recorder.strategy.ask()
    recorder.on_trial_complete(0, [], Reported())  # 3 s later: not saved again
    recorder.strategy.ask()
    recorder._save_state()  # 11 s after the last save: saved
    assert saved == [1, 3]
