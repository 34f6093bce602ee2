"""benchmarks/peers.py's bookkeeping: the clock every peer shares, the process-tree measurement, the anytime curve,
and (slow) a tiny run of several contenders: the budget held, the same rows for all, and a rerun that measures
nothing. No accuracy is asserted: that is the benchmark's to report."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.peer_contenders.process_tree import run_measured
from benchmarks.peer_contenders.report import best_so_far, mean_over_seeds, print_tables

REPOSITORY = Path(__file__).resolve().parents[2]


def test_every_copy_of_the_deadline_callback_reports_to_one_clock_and_stops_the_tool_once():
    from benchmarks.peer_contenders.clock import Clock, StopAtDeadline

    class Model:
        stop_training = False

    clock = Clock(budget_seconds=3600)
    stopped = []
    clock.when_out_of_time(lambda: stopped.append("oracle told"))
    callback = StopAtDeadline(clock, "val_accuracy")
    copies = [copy.deepcopy(callback) for _ in range(2)]  # Keras Tuner copies the callbacks for every trial
    for trained, accuracy in zip(copies, (0.7, 0.6)):
        trained.set_model(Model())
        trained.on_train_begin()
        trained.on_epoch_end(0, {"val_accuracy": accuracy - 0.1})
        trained.on_epoch_end(1, {"val_accuracy": accuracy})
        trained.on_train_batch_end(0)
        assert not trained.model.stop_training
        trained.on_train_end()
    assert all(trained.clock is clock for trained in copies)
    assert [value for _, value in clock.curve] == [0.7, 0.7] and clock.evaluations == 2  # the best so far
    assert stopped == []
    clock.deadline = time.perf_counter()  # the budget is spent
    late = copy.deepcopy(callback)
    late.set_model(Model())
    late.on_train_begin()
    late.on_train_batch_end(0)
    assert late.model.stop_training
    late.on_train_end()
    late.on_train_end()
    assert stopped == ["oracle told"]  # the tool is told once to start no more


def test_a_keras_tuner_search_whose_builds_all_fail_still_ends_at_the_clock(tmp_path):
    """A trial over `max_model_size` fails at its build and trains nothing, so no training callback sees the clock:
    a BayesianOptimization that proposed only such models ran 781 s on a 180 s budget. The tuner checks the clock
    before each trial as well."""
    import keras
    import keras_tuner as kt
    import numpy as np

    from benchmarks.peer_contenders.clock import Clock
    from benchmarks.peer_contenders.keras_tuner_rows import end_at_the_clock

    clock = Clock(budget_seconds=3600)
    builds = []

    def too_large(hp):
        hp.Int("units", 1, 10**6)
        if tuner is None:  # Keras Tuner builds once as it is made, to see the space
            return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        builds.append(hp.values)
        if len(builds) == 4:  # the budget runs out during the fourth build
            clock.deadline = time.perf_counter()
        raise kt.errors.FailedTrialError("Oversized model")

    tuner = None
    tuner = kt.RandomSearch(too_large, objective="val_accuracy", max_trials=50, max_consecutive_failed_trials=100,
                            directory=str(tmp_path), overwrite=True, seed=0)
    end_at_the_clock(tuner, clock)
    x, y = np.zeros((4, 2)), np.zeros(4)
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    assert len(builds) == 4 and len(tuner.oracle.trials) <= 4
    # A budget spent before the first trial: one trial (whose training the callback ends), not max_trials=0, which
    # Keras Tuner reads as no limit.
    builds.clear()
    tuner = None
    tuner = kt.RandomSearch(too_large, objective="val_accuracy", max_trials=50, max_consecutive_failed_trials=100,
                            directory=str(tmp_path), overwrite=True, seed=0)
    clock = Clock(budget_seconds=0)
    end_at_the_clock(tuner, clock)
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    assert len(builds) == 1


def test_a_regression_clock_keeps_the_lowest_validation_loss():
    from benchmarks.peer_contenders.clock import Clock

    clock = Clock(60, maximise=False)
    for loss in (5.0, 7.0, 3.0, float("nan"), None):
        clock.record(loss)
    assert [value for _, value in clock.curve] == [5.0, 5.0, 3.0] and clock.evaluations == 5


def test_the_process_tree_measurement_counts_a_child_process_cpu_and_memory(tmp_path):
    # The command starts a child that holds 300 MB and burns about 1.5 s of CPU; the parent only waits.
    child = ("import time; block = bytearray(300 * 2**20); end = time.process_time() + 1.5\n"
             "while time.process_time() < end: pass")
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", {child!r}]).wait()
    """))
    usage = run_measured([sys.executable, str(script)])
    assert usage.returncode == 0
    assert 1.3 <= usage.cpu_seconds <= usage.wall_seconds * 2 + 1
    assert usage.peak_rss_mb >= 300


def test_a_command_past_its_time_is_killed_with_its_children(tmp_path):
    script = tmp_path / "forever.py"
    script.write_text("import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; "
                      "time.sleep(600)']).wait()\n")
    usage = run_measured([sys.executable, str(script)], timeout_seconds=1)
    assert usage.returncode != 0 and usage.wall_seconds < 30


def test_the_anytime_curve_counts_only_evaluations_finished_by_each_time():
    curve = [(10.0, 0.5), (20.0, 0.8), (30.0, 0.7)]  # a worse evaluation after a better one
    times = np.array([0.0, 10.0, 25.0, 40.0])
    np.testing.assert_allclose(best_so_far(curve, times, maximise=True), [np.nan, 0.5, 0.8, 0.8])
    losses = [(5.0, 9.0), (6.0, 4.0), (7.0, 6.0)]
    np.testing.assert_allclose(best_so_far(losses, np.array([5.5, 8.0]), maximise=False), [9.0, 4.0])
    assert np.isnan(best_so_far([], times, maximise=True)).all()


@pytest.mark.slow
def test_a_tiny_run_holds_the_budget_gives_every_contender_the_same_rows_and_resumes(tmp_path):
    # At 60 s, a slow 2-core machine took 19 s to start nas's search (Ray, TensorFlow, the RL controller) and 16 s
    # more for a trial's first epoch in a new worker: no nas trial had a score by the trials' deadline (36 s).
    budget = 90
    contenders = ["nas-defaults", "keras-tuner-random-nas", "optuna-tpe-hyperband", "sklearn-mlp"]
    command = [sys.executable, "benchmarks/peers.py", "--task", "breast_cancer", "--budget", f"{budget}s",
               "--seeds", "1", "--results", str(tmp_path / "results"), "--work", str(tmp_path / "work"),
               "--contenders", *contenders]
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    folder = tmp_path / "results" / f"breast_cancer-{budget}s"
    figures = {name: json.loads((folder / f"{name}-seed0.json").read_text()) for name in contenders}
    assert all("error" not in run for run in figures.values()), {n: r.get("error") for n, r in figures.items()}
    assert len({json.dumps(run["rows"], sort_keys=True) for run in figures.values()}) == 1  # the same rows for all
    for name in ("keras-tuner-random-nas", "optuna-tpe-hyperband"):
        run = figures[name]
        # The clock ends the search at the budget (plus the training under way); imports, loading the best model and
        # its one test come on top.
        assert run["curve"] and run["curve"][-1][0] <= budget + 10, run["curve"]
        assert run["wall_seconds"] <= budget + 60
        assert (folder / f"control-{name}-seed0.json").is_file()  # retrained under nas's final recipe
    assert 0 < figures["nas-defaults"]["wall_seconds"] <= budget + 60
    assert "| Keras Tuner RandomSearch, nas's space |" in first.stdout
    again = subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY, timeout=300)
    assert again.returncode == 0 and "$ " not in again.stderr  # nothing measured twice
    assert again.stdout == first.stdout


def test_the_mean_curve_over_seeds_starts_when_every_seed_has_begun_and_never_drops():
    times = np.array([1.0, 2.0, 3.0, 4.0])
    early_and_good = best_so_far([(0.5, 0.9), (3.5, 0.95)], times, maximise=True)
    late_and_poor = best_so_far([(2.5, 0.6), (3.8, 0.7)], times, maximise=True)
    mean = mean_over_seeds(np.array([early_and_good, late_and_poor]))
    assert np.isnan(mean[:2]).all()  # seed 2 has no evaluation before 2.5
    np.testing.assert_allclose(mean[2:], [0.75, 0.825])


def test_a_row_or_a_control_measured_over_fewer_seeds_than_the_others_says_so(capsys):
    """A mean over two seeds beside means over three reads as their equal unless the row says it is not."""
    from benchmarks.peer_contenders import CONTENDERS
    from benchmarks.peer_contenders.tasks import TASKS

    def figures(test):
        return {"test": test, "params": 1000, "architectures": 3, "wall_seconds": 60.0, "cpu_seconds": 90.0,
                "peak_rss_mb": 100.0}

    nas, random_search, lenet = CONTENDERS["nas-defaults"], CONTENDERS["keras-tuner-random-nas"], CONTENDERS["lenet"]
    measured = {nas.name: {seed: figures(0.9) for seed in range(3)},
                random_search.name: {seed: figures(0.8) for seed in range(3)},
                lenet.name: {seed: figures(0.85) for seed in range(2)}}
    controls = {nas.name: {}, random_search.name: {0: figures(0.82), 1: figures(0.84)}, lenet.name: {}}
    print_tables(TASKS["fashion_mnist"], "10m", [nas, random_search, lenet], measured, controls)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert rows[random_search.tool][1] == "80.00 ± 0.00" and rows[random_search.tool][2] == "83.00 ± 1.41 (2 of 3 seeds)"
    assert rows[lenet.tool][1] == "85.00 ± 0.00 (2 seeds)" and rows[lenet.tool][2] == "-"
    assert rows[nas.tool][1] == "90.00 ± 0.00"


def test_a_control_is_killed_only_past_the_control_limit_not_a_zero_budget_plus_the_overrun(tmp_path, monkeypatch):
    """A control has no budget (0 s): killing it 600 s after its start cut a 4-epoch retraining on 2 cores."""
    from benchmarks import peers
    from benchmarks.peer_contenders import CONTENDERS
    from benchmarks.peer_contenders.process_tree import TreeUsage
    from benchmarks.peer_contenders.tasks import TASKS

    limits = []

    def ran_past(command, cwd, timeout_seconds):
        limits.append(timeout_seconds)
        return TreeUsage(returncode=-9, wall_seconds=timeout_seconds + 1, cpu_seconds=1.0, peak_rss_mb=1.0)

    monkeypatch.setattr(peers, "run_measured", ran_past)
    monkeypatch.setattr(peers, "_commit", lambda: "test")
    contender, task = CONTENDERS["keras-tuner-random-nas"], TASKS["fashion_mnist"]
    control = peers.control(contender, {"arch": {"space": "cnn", "arch": {}}}, task, 0, tmp_path, tmp_path, epochs=4)
    cell = peers.cell(contender, task, 0, 60.0, tmp_path, tmp_path)
    assert limits == [peers.CONTROL_LIMIT_SECONDS, 60.0 + peers.OVERRUN_SECONDS]
    assert peers.CONTROL_LIMIT_SECONDS > peers.OVERRUN_SECONDS
    assert f"still running {peers.CONTROL_LIMIT_SECONDS} s" in control["error"]
    assert "still running 660 s" in cell["error"]


def test_a_guide_winner_that_never_read_a_parameter_is_retrained_as_the_same_network():
    """Keras Tuner's best values left `units_1` and `units_2` out of a one-layer winner; the control's `nas.train`
    wants every parameter of the guide's space, and the value given must not change the network."""
    from benchmarks.peer_contenders.nas_rows import _with_unread_parameters
    from nas.estimator.evaluator import build_model
    from nas.settings.inputs import resolve_space

    winner = {"space": "benchmarks.peer_contenders.guide_space:breast_cancer",
              "arch": {"num_layers": 1, "units_0": 160, "activation": "relu", "dropout": True, "lr": 0.004}}
    completed = _with_unread_parameters(winner)
    assert completed["arch"] == {**winner["arch"], "units_1": 32, "units_2": 32}
    space = resolve_space(winner["space"]).space
    wider = {**completed["arch"], "units_1": 512, "units_2": 512}
    counts = [build_model(space, space.validate(values), (30,), 2).count_params()
              for values in (completed["arch"], wider)]
    assert counts[0] == counts[1] == 30 * 160 + 160 + 160 * 2 + 2
    three_layers = {**winner, "arch": {**wider, "num_layers": 3}}
    assert _with_unread_parameters(three_layers) == three_layers  # nothing left out: nothing changes


def test_a_regression_control_reports_the_test_mse_that_nas_train_measured(tmp_path):
    """The diabetes controls all failed with KeyError 'test_score': `nas.train` of an architecture file reports
    its test metrics as compiled, and a regression's loss is the MSE of the table."""
    from benchmarks.peer_contenders.nas_rows import nas_train
    from benchmarks.peer_contenders.tasks import TASKS

    winner = {"space": "mlp", "arch": {"depth": 1, "units_1": 32, "activation": "relu", "dropout": 0.0,
                                       "batch_norm": False}}
    figures = nas_train(TASKS["diabetes"], 0, tmp_path, 1, architecture=winner, name="keras-tuner-random-nas")
    assert "error" not in figures, figures
    assert figures["epochs"] == 1 and figures["params"] == 10 * 32 + 32 + 32 + 1
    assert 1000 < figures["test"] < 40000  # an MSE of targets from 25 to 346 after one epoch, not an accuracy
