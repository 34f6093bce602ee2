"""Faults under load: a 50-trial search whose trial workers, local Ray and driver are killed at random moments,
resumed each time, ends with every trial stored once, completed or failed with Ray's reason, and no run shown as
running once its search is gone. Also: the local Ray killed under a search ends it in seconds, with one line."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from results import ResultStore, RunStatus, StoreError, TrialStatus
from results.lease import shown_status

REPO = Path(__file__).resolve().parents[3]
TRIALS = 50


def search_command(tiny_8x8: str, output: Path, resume: bool) -> list[str]:
    command = [sys.executable, "-m", "nas.search", "--output", str(output), "--name", "faults", "--top-k", "0",
               "--trials", str(TRIALS)]
    if resume:
        return [*command, "--resume"]
    return [*command, "--space", "tests.nas.user_space:SPACE", "--data", tiny_8x8, "--epochs", "15",
            "--concurrency", "2", "--trial-retries", "1"]


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def stored(output: Path):
    try:
        with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
            return store.get_run("faults"), store.trials("faults")
    except StoreError:
        return None, []


def ray_process(driver: subprocess.Popen, name: str) -> psutil.Process | None:
    """A process of the local Ray the driver started: its gcs_server, or a worker running a trial."""
    try:
        children = psutil.Process(driver.pid).children(recursive=True)
    except psutil.Error:
        return None
    for child in children:
        try:
            if name in " ".join(child.cmdline()) or child.name() == name:
                return child
        except psutil.Error:
            continue
    return None


def end_group(driver: subprocess.Popen) -> None:
    try:
        os.killpg(driver.pid, signal.SIGKILL)  # whatever the killed driver left of its Ray
    except ProcessLookupError:
        pass
    driver.wait()


def wait_for_progress(driver: subprocess.Popen, output: Path, at_least: int, timeout: float = 240) -> bool:
    """Until the store holds `at_least` finished trials of this session; False if the search ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.poll() is not None:
            return False
        _, trials = stored(output)
        if sum(trial.status is not TrialStatus.RUNNING for trial in trials) >= at_least:
            return True
        time.sleep(0.3)
    pytest.fail(f"no progress within {timeout} s")


@pytest.mark.slow  # about 2 minutes (3.5 on CI's slower machines); CI runs it after the default suite
def test_a_search_killed_at_random_moments_ends_with_every_trial_once(tiny_8x8, tmp_path):
    rng = random.Random(0)
    faults = ["driver", "ray", "worker"]  # each kind once; the last two in runs resumed after the one before
    resume, done = False, 0
    for round_, fault in enumerate(faults + [None]):
        driver = start(search_command(tiny_8x8, tmp_path, resume))
        if fault is None or not wait_for_progress(driver, tmp_path, done + rng.randint(1, 4)):
            error = driver.communicate(timeout=600)[1]
            assert driver.returncode == 0, error[-2000:]
            break
        if fault == "worker":  # a trial's worker dies: Ray retries the trial (from its last epoch) and goes on
            victim = ray_process(driver, "ImplicitFunc")
            if victim is not None:
                victim.kill()
            wait_for_progress(driver, tmp_path, done + 5)  # the search goes on (or ends: checked at the end)
            end_group(driver)  # then the driver, to go on to the next round
        elif fault == "ray":  # the local Ray dies: the search ends within seconds, with one line
            ray_process(driver, "gcs_server").kill()
            error = driver.communicate(timeout=60)[1]
            assert driver.returncode == 1 and "The local Ray stopped under the search" in error.strip().splitlines()[-1]
            end_group(driver)
            run, _ = stored(tmp_path)
            assert run.status is RunStatus.INTERRUPTED and run.owner is None
        else:  # SIGKILL of the driver and its Ray
            end_group(driver)
            run, _ = stored(tmp_path)
            assert shown_status(run) is RunStatus.INTERRUPTED  # nobody could mark it; its lease says it is gone
        resume = True
        done = sum(trial.status is not TrialStatus.RUNNING for trial in stored(tmp_path)[1])
    else:
        pytest.fail("the search did not finish after its last fault")
    run, trials = stored(tmp_path)
    assert [trial.number for trial in trials] == list(range(TRIALS))
    assert run.status is RunStatus.COMPLETED and run.owner is None
    for trial in trials:
        assert trial.status is TrialStatus.COMPLETED or (
            trial.status is TrialStatus.FAILED and "Ray reported the trial failed" in trial.error), trial
    assert len({trial.arch_key for trial in trials}) == TRIALS  # none run twice under another number
