"""Faults a search survives: its driver killed with SIGKILL (then resumed), and a trial whose worker process dies."""
from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest

import nas
from nas.commands import search
from results import ResultStore, RunStatus, TrialStatus
from nas.runner.tune import latest_checkpoints
from nas.estimator.training import saved_epoch
from results.lease import lease_expiry, shown_status
from search_spaces import SPACES, Choice, SearchSpace
from search_spaces.mlp import build_mlp
from tests.nas.conftest import sigkill_when, start_search

REPO = Path(__file__).resolve().parents[3]


def resumed_session(experiment: Path, number: int) -> tuple[int, int]:
    """The epoch trial `number` was told to go on from in the resumed session, and the first epoch that session
    reported (Tune's params.json and result.json of its trial folder)."""
    for params in experiment.glob("*/params.json"):
        if not params.read_text().strip():  # left empty by the killed driver, which was writing it: not the resumed
            continue
        config = json.loads(params.read_text())
        if config["trial"] == number and config.get("resume_from"):
            epochs = [json.loads(line)["epoch"] for line in (params.parent / "result.json").read_text().splitlines()
                      if line.strip() and "epoch" in json.loads(line)]
            return saved_epoch(Path(config["resume_from"])), min(epochs)
    raise AssertionError(f"trial {number} was not resumed from its checkpoint")


def trials_of(output: Path, run: str):
    with ResultStore(f"sqlite:///{output / 'nas.db'}") as store:
        return store.trials(run), store.get_run(run)


def test_a_checkpoint_that_ray_had_not_finished_copying_is_passed_over(tmp_path):
    """Ray copies a checkpoint into the experiment folder file by file; one whose files are not all there, at the
    sizes nas wrote, is not resumed from: the newest whole one before it is."""
    from nas.runner.tune import write_checkpoint_contents

    trial = tmp_path / "experiment" / "trial_a"
    trial.mkdir(parents=True)
    (trial / "params.json").write_text(json.dumps({"trial": 3}))
    for epoch in (1, 2, 3, 4):
        folder = trial / f"checkpoint_{epoch:06d}"
        folder.mkdir()
        (folder / "progress.json").write_text(json.dumps({"epoch": epoch}))
        (folder / "training_state.npz").write_bytes(b"x" * 100)
        write_checkpoint_contents(folder)
    (trial / "checkpoint_000002" / "training_state.npz").write_bytes(b"x" * 50)  # cut short
    (trial / "checkpoint_000003" / "training_state.npz").unlink()  # not copied yet
    (trial / "checkpoint_000004" / "contents.json").unlink()  # copied before the list of contents
    assert latest_checkpoints(tmp_path / "experiment") == {3: str(trial / "checkpoint_000001")}


@pytest.mark.slow  # about 40 s; CI runs it after the default suite
def test_a_run_of_a_user_space_whose_driver_was_killed_resumes_without_losing_or_repeating_a_trial(tiny_8x8,
                                                                                                     tmp_path, capsys):
    common = ["--output", str(tmp_path), "--name", "killed", "--top-k", "0"]
    experiment = tmp_path / "ray_results" / "killed"
    driver = start_search(["--space", "tests.nas.user_space:SPACE", "--data", tiny_8x8, "--trials", "8", "--epochs",
                           "25", "--concurrency", "2", *common], REPO)

    def some_done_and_one_in_flight_with_a_saved_epoch() -> bool:  # the moment to kill it
        if not (tmp_path / "nas.db").exists():
            return False
        before, _ = trials_of(tmp_path, "killed")
        statuses = [trial.status for trial in before]
        running = {trial.number for trial in before if trial.status is TrialStatus.RUNNING}
        return statuses.count(TrialStatus.COMPLETED) >= 2 and bool(running & set(latest_checkpoints(experiment)))

    sigkill_when(driver, some_done_and_one_in_flight_with_a_saved_epoch, "no trial completed")
    before, run = trials_of(tmp_path, "killed")
    done_before = {trial.number: trial for trial in before if trial.status is TrialStatus.COMPLETED}
    in_flight = {trial.number: trial.arch_key for trial in before if trial.status is TrialStatus.RUNNING}
    saved = {number: saved_epoch(Path(folder)) for number, folder in latest_checkpoints(experiment).items()
             if number in in_flight}
    assert saved and all(epoch >= 1 for epoch in saved.values())
    assert run.status.value == "running"  # nobody could mark it: it was killed
    # ... but its driver is gone, so it shows as interrupted, with the trials it had in flight.
    assert run.owner.split(":")[1] == str(driver.pid) and shown_status(run) is RunStatus.INTERRUPTED
    shown = nas.leaderboard(run="killed", output=str(tmp_path))
    assert set(shown[shown["status"] == "interrupted"]["trial"]) == set(in_flight)

    # The resume finds the space again from the run's record: no --space needed. The killed driver's lease is
    # taken over at once: its process is gone.
    # --keep-checkpoints: Tune's experiment is read below, to see where each resumed trial went on from.
    assert search.main(["--resume", "--trials", "8", "--keep-checkpoints", *common]) == 0
    after, run = trials_of(tmp_path, "killed")
    assert [trial.number for trial in after] == list(range(8))  # the budget counted what was done
    assert all(trial.status is TrialStatus.COMPLETED for trial in after) and run.status.value == "completed"
    for number, trial in done_before.items():  # completed trials were kept, not run again
        assert after[number] == trial
    for number, arch_key in in_flight.items():  # the trials in flight ran again, as the strategy had proposed them
        assert after[number].arch_key == arch_key
    for number, epoch in saved.items():  # ... from the epoch they had saved (or a later one, saved while the killed
        resumed_from, first_reported = resumed_session(experiment, number)  # driver's workers wound down)
        assert resumed_from >= epoch and first_reported == resumed_from + 1
    assert len({trial.arch_key for trial in after}) == 8 and run.strategy_state["next_id"] == 8
    assert run.config["space"] == "tests.nas.user_space:SPACE" and run.space == "user-dense"
    assert run.owner is None  # given back at the end

    # While another live search holds the run, a second resume is refused in one line, before any work.
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.acquire_lease("killed", f"{socket.gethostname()}:{os.getpid()}:other", lease_expiry())
    with pytest.raises(SystemExit) as refused:
        search.main(["--resume", "--trials", "9", *common])
    assert refused.value.code == 2
    assert "is in use by another search" in capsys.readouterr().err
    assert len(trials_of(tmp_path, "killed")[0]) == 8


def fragile_space(marks: Path) -> SearchSpace:
    """A space whose architectures kill their own Ray worker while being built: once, always, or never."""
    def build(arch, input_shape, num_classes):
        first_time = not (marks / arch["fate"]).exists()
        (marks / arch["fate"]).touch()
        if arch["fate"] == "always_dies" or (arch["fate"] == "dies_once" and first_time):
            os.kill(os.getpid(), signal.SIGKILL)
        return build_mlp(SPACES["mlp"].validate({"depth": 0}), input_shape, num_classes)

    return SearchSpace("fragile", [Choice("fate", ["lives", "dies_once", "always_dies"])], builder=build)


@pytest.mark.slow  # about 27 s: each of its three worker deaths starts a new worker, which imports TensorFlow again
def test_a_trial_whose_worker_dies_is_retried_then_stored_as_failed_and_the_search_goes_on(tiny_8x8, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    nas.search(fragile_space(marks), data=tiny_8x8, trials=3, epochs=1, trial_retries=1, concurrency=1, top_k=0,
               output=str(tmp_path / "runs"), name="fragile", progress=False)
    trials, run = trials_of(tmp_path / "runs", "fragile")
    by_fate = {trial.arch["fate"]: trial for trial in trials}
    assert (by_fate["lives"].status, by_fate["lives"].attempts) == (TrialStatus.COMPLETED, 1)
    assert (by_fate["dies_once"].status, by_fate["dies_once"].attempts) == (TrialStatus.COMPLETED, 2)
    died = by_fate["always_dies"]
    assert (died.status, died.attempts) == (TrialStatus.FAILED, 2)
    assert "Ray reported the trial failed" in died.error
    assert died.cpu_seconds > 0  # the attempts that died still cost their time
    assert run.status.value == "completed"


def test_a_supernet_state_that_judged_no_child_yet_is_still_resumed_from(tmp_path):
    """A supernet keeps its shared weights before any child is judged (every proposal of its first rounds may be
    over a limit): a resume goes on from them, not from nothing."""
    from nas.runner.supernets import latest_supernet_checkpoints
    from nas.runner.tune import write_checkpoint_contents
    from nas.weight_sharing.judge import SAVED_STATE

    trial = tmp_path / "experiment" / "supernet_0"
    trial.mkdir(parents=True)
    (trial / "params.json").write_text(json.dumps({"supernet": 0}))
    folder = trial / "checkpoint_000000"
    folder.mkdir()
    (folder / SAVED_STATE).write_text(json.dumps({"judged": 0}))
    write_checkpoint_contents(folder)
    assert latest_supernet_checkpoints(tmp_path / "experiment") == {"0": str(folder)}
