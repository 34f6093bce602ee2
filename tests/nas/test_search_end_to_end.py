"""A real search through Ray Tune on tiny data: every trial, failed ones included, lands in the store."""
from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from pathlib import Path

import pytest

from nas.commands import leaderboard, search
from results import ResultStore, TrialStatus
from search_spaces import SPACES
from strategies import get_strategy


@pytest.fixture(scope="module")
def finished_search(tiny_4x4, tmp_path_factory):
    output = tmp_path_factory.mktemp("runs")
    argv = ["--space", "cnn", "--strategy", "random", "--data", tiny_4x4, "--trials", "7", "--epochs", "1",
            "--final-epochs", "1", "--top-k", "2", "--cpus-per-trial", "1", "--output", str(output),
            "--name", "tiny", "--seed", "3", "--json", "--tensorboard", str(output / "logs")]
    return output, argv


def test_search_stores_every_trial_including_failures(finished_search, capsys):
    output, argv = finished_search
    ray_folders = set(Path(tempfile.gettempdir()).glob("nas-ray-*"))  # where Ray goes when the output path is long
    assert search.main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])

    with ResultStore("sqlite:///" + str(output / "nas.db")) as store:
        trials = store.trials("tiny")
        run = store.get_run("tiny")
    assert sorted(trial.number for trial in trials) == list(range(7))
    assert all(trial.status is not TrialStatus.RUNNING for trial in trials)
    failed = [trial for trial in trials if trial.status is TrialStatus.FAILED]
    assert failed and all("shrink a 4x4 input" in trial.error for trial in failed)
    scored = [trial for trial in trials if trial.status is TrialStatus.COMPLETED]
    assert scored and all(trial.validation_accuracy is not None and trial.params > 0 and trial.flops > 0
                          and trial.latency_ms > 0 and trial.node and trial.host for trial in scored)
    # The search starts from the lecture's LeNet, enqueued as trial 0.
    assert trials[0].arch_key.startswith("blocks=2,filters_1=20,kernel_1=5")
    # Only the top-2 by validation accuracy were retrained and tested.
    tested = sorted((trial for trial in trials if trial.test_accuracy is not None),
                    key=lambda trial: (-trial.validation_accuracy, trial.params))
    best_validation = sorted(scored, key=lambda trial: (-trial.validation_accuracy, trial.params))[:2]
    assert [trial.number for trial in tested] == [trial.number for trial in best_validation]
    assert run.status.value == "completed" and run.strategy_state["next_id"] == 7

    assert summary["run"] == "tiny"
    assert summary["trials_completed"] + summary["trials_failed"] == 7 and summary["trials_failed"] == len(failed)
    assert summary["best"]["trial"] == best_validation[0].number
    assert summary["best"]["test_accuracy"] == best_validation[0].test_accuracy
    assert set(summary["best"]) >= {"arch", "validation_accuracy", "params", "flops", "latency_ms"}
    assert "tiny" in captured.err  # the leaderboard went to stderr because of --json
    # The run's HTML report lies next to its store.
    assert summary["report"] == str(output / "tiny.html") and f"report: {output / 'tiny.html'}" in captured.err
    assert "<svg" in (output / "tiny.html").read_text()
    # And its TensorBoard folder: each scored trial's session, with one point a trained epoch on its curves.
    assert summary["tensorboard"] == str(output / "logs" / "tiny")
    assert f"TensorBoard: tensorboard --logdir {output / 'logs'}" in captured.err
    assert sorted(path.name for path in (output / "logs" / "tiny").glob("trial-*")) == sorted(
        f"trial-{trial.number}" for trial in scored)
    assert all(trial.history and [epoch["epoch"] for epoch in trial.history] == [1]
               and {"loss", "val_loss", "val_accuracy"} <= set(trial.history[0]["logs"]) for trial in scored)
    assert all(list((output / "logs" / "tiny" / f"trial-{trial.number}" / part).glob("events.out.tfevents.*"))
               for trial in scored for part in ("train", "validation"))
    # Ray's session files (logs, sockets) went with it, from under the output folder or the system's temp folder
    assert not (output / "ray-tmp").exists() or list((output / "ray-tmp").iterdir()) == []
    assert set(Path(tempfile.gettempdir()).glob("nas-ray-*")) == ray_folders
    # The run is complete, so its trials' Ray checkpoints went too (--keep-checkpoints keeps them).
    assert not (output / "ray_results" / "tiny").exists()

    # The leaderboard command reads the same store with the same --output.
    assert leaderboard.main(["--output", str(output), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 7 and rows[0]["trial"] == best_validation[0].number


def test_a_run_name_that_exists_is_refused_without_touching_it(finished_search, capsys):
    output, argv = finished_search
    with ResultStore("sqlite:///" + str(output / "nas.db")) as store:
        before = store.trials("tiny")
    with pytest.raises(SystemExit) as exit_info:
        search.main(argv)
    assert exit_info.value.code == 2
    assert "tiny" in capsys.readouterr().err
    with ResultStore("sqlite:///" + str(output / "nas.db")) as store:
        assert store.trials("tiny") == before


@pytest.mark.slow  # about 45 s: 40 s of budget; tests/nas/settings/test_search_config.py (the budget's split) and
# tests/nas/runner/test_recorder.py (a cut trial's figures) are the fast part
def test_a_time_budget_alone_cuts_the_trials_then_fits_the_final_training_into_what_is_left(shared_ray, tiny_8x8,
                                                                                           tmp_path, capsys):
    argv = ["--space", "mlp", "--data", tiny_8x8, "--time-budget", "40s", "--epochs", "4000", "--final-epochs",
            "4000", "--final-share", "0.25", "--output", str(tmp_path), "--name", "budget", "--json"]
    assert search.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with ResultStore("sqlite:///" + str(tmp_path / "nas.db")) as store:
        trials = store.trials("budget")
    assert trials and all(trial.status is not TrialStatus.RUNNING for trial in trials)
    # 4000 epochs cannot finish in the trials' 30 s: the budget cut the trials, which keep the accuracy they reached
    # (none, for a trial cut before its first epoch ended). At 15 s, a machine that took 12 s from a trial's start to
    # its first epoch's end (Ray's worker importing TensorFlow on 2 slow cores) ended with no scored trial at all.
    stopped = [trial for trial in trials if trial.status is TrialStatus.STOPPED]
    assert stopped and all(trial.epochs is None or trial.epochs < 4000 for trial in stopped)
    # How many epochs a trial reached depends on the machine's load, not on nas: only consistency is checked.
    assert all((trial.epochs is None) == (trial.validation_accuracy is None) for trial in stopped)
    assert summary["trials_stopped"] == len(stopped)
    # Nor can 4000 final epochs fit in the last quarter: the final training planned fewer, and still tested.
    [final] = summary["final_training"]
    assert 1 <= final["epochs"] < 4000 and final["trial"] == summary["best"]["trial"]
    assert summary["best"]["test_accuracy"] == final["test_accuracy"] is not None
    # The store keeps the fitted count, so that nas.train --trial retrains the winner as it was trained.
    assert next(trial for trial in trials if trial.number == final["trial"]).final_epochs == final["epochs"]


def test_resume_after_a_kill_reruns_the_trial_in_flight_and_counts_the_runs_trials(shared_ray, tiny_8x8, tmp_path,
                                                                                     capsys):
    common = ["--output", str(tmp_path), "--name", "grow", "--top-k", "0"]
    assert search.main(["--space", "mlp", "--data", tiny_8x8, "--trials", "3", "--epochs", "1", *common]) == 0
    # As a SIGKILL leaves a run: trial 2 in flight, and the strategy's state as saved before any trial began.
    with ResultStore("sqlite:///" + str(tmp_path / "nas.db")) as store:
        store.save_trial(dataclasses.replace(store.get_trial("grow", 2), status=TrialStatus.RUNNING))
        store.update_run("grow", strategy_state=get_strategy("random", SPACES["mlp"], seed=0).state_dict())
    capsys.readouterr()
    assert search.main(["--resume", "--trials", "5", *common]) == 0
    shown = capsys.readouterr().err
    with ResultStore("sqlite:///" + str(tmp_path / "nas.db")) as store:
        trials = store.trials("grow")
        run = store.get_run("grow")
    assert [trial.number for trial in trials] == [0, 1, 2, 3, 4]
    assert all(trial.status is TrialStatus.COMPLETED for trial in trials)
    assert len({trial.arch_key for trial in trials}) == 5  # random search never proposes one twice
    assert run.config["trials"] == 5 and run.status.value == "completed"
    # The progress counts the run's trials, not this session's.
    assert "5 trial(s), 2 done before" in shown
    assert "trial(s) 2 of the run were interrupted in flight; they run again" in shown
    assert re.search(r"trial \d completed: .*\(5/5, ", shown), shown


@pytest.mark.slow  # about 40 s: under ASHA every trial starts a worker process of its own
def test_asha_stops_trailing_trials_and_their_strategy_still_learns_their_accuracy(shared_ray, tiny_8x8, tmp_path,
                                                                                     capsys):
    argv = ["--space", "mlp", "--strategy", "evolution", "--data", tiny_8x8, "--trials", "8", "--epochs", "9",
            "--scheduler", "asha", "--concurrency", "2", "--top-k", "0", "--output", str(tmp_path),
            "--name", "asha", "--seed", "1"]
    assert search.main(argv) == 0
    with ResultStore("sqlite:///" + str(tmp_path / "nas.db")) as store:
        trials = store.trials("asha")
        run = store.get_run("asha")
    stopped = [trial for trial in trials if trial.status is TrialStatus.STOPPED]
    assert len(trials) == 8 and stopped
    assert all(trial.epochs < 9 and trial.validation_accuracy is not None for trial in stopped)
    population = run.strategy_state["state"]["population"]
    assert run.strategy_state["outstanding"] == [] and len(population) == 8  # every reward reached the strategy



@pytest.mark.parametrize("strategy, options, learned", [
    # TPE saw all four trials; its history also holds the repeats it proposed and was answered from memory. Slow (about
    # 14 s): bayes searches through Ray in the default suite too (tests/nas/test_search.py's regression); this adds
    # its options and two trials at a time.
    pytest.param("bayes", {"n_startup_trials": 2},
                 lambda state: len(state["rewards"]) == 4 and len(state["history"]) >= 4, marks=pytest.mark.slow),
    # The controller was built with the LSTM size asked for, and its baseline has seen rewards.
    ("rl", {"lstm_size": 16}, lambda state: state["baseline"] is not None
     and any(len(weights) == 16 for weights in state["controller"]["weights"])),
])
def test_learning_strategies_run_parallel_trials_through_ray_with_their_options(
        shared_ray, strategy, options, learned, tiny_8x8, tmp_path):
    flags = [flag for name, value in options.items() for flag in ("--strategy-option", f"{name}={value}")]
    argv = ["--space", "mlp", "--strategy", strategy, *flags, "--data", tiny_8x8, "--trials", "4", "--epochs", "1",
            "--concurrency", "2", "--top-k", "0", "--output", str(tmp_path), "--name", strategy]
    assert search.main(argv) == 0
    with ResultStore("sqlite:///" + str(tmp_path / "nas.db")) as store:
        trials = store.trials(strategy)
        run = store.get_run(strategy)
    assert [trial.number for trial in trials] == list(range(4))
    assert all(trial.status is TrialStatus.COMPLETED for trial in trials)
    assert run.config["strategy_options"] == options
    assert run.strategy_state["outstanding"] == [] and learned(run.strategy_state["state"])


@pytest.mark.slow  # a search that trains nothing; tests/nas/commands/test_cli_bad_input.py has the fast part
def test_a_search_in_which_every_trial_failed_exits_1_and_says_why(shared_ray, tiny_8x8, tmp_path, capsys):
    # No model is this fast, which only measuring each model shows (a limit on parameters or memory that
    # nothing meets is refused before Ray starts: tests/nas/runner/test_memory.py)
    argv = ["--space", "mlp", "--data", tiny_8x8, "--trials", "3", "--max-latency", "0.00001", "--output",
            str(tmp_path), "--name", "hopeless"]
    with pytest.raises(SystemExit) as exit_info:
        search.main(argv)
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_info.value.code == 1
    assert error.startswith("nas.search: error: Every trial of run hopeless failed (3); 3 of them like this: over the "
                            "limit: ")
    assert "max_latency" in error and "nas.leaderboard --run hopeless" in error
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:  # what it did is stored all the same
        assert [trial.status for trial in store.trials("hopeless")] == [TrialStatus.FAILED] * 3
