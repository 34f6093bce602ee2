"""A search that never takes the machine down: proposals over a limit refused in the driver, a space that cannot
meet its data or limits refused before Ray starts, and trials that run out of memory recorded while the search
goes on (nas/runner/memory_limit.py, memory_guard.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

import nas
from nas.commands import search
from nas.data.task_data import prepare
from nas.errors import SpaceError
from nas.estimator.objectives import Objective
from nas.estimator.recipe import Recipe
from nas.runner.memory_limit import check_space_meets
from results import ResultStore, TrialStatus
from search_spaces import SPACES, Choice, SearchSpace
from search_spaces.mlp import build_mlp

REPO = Path(__file__).resolve().parents[3]
GB = 1024**3


def trials_of(output: Path, run: str):
    with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
        return store.trials(run), store.get_run(run)


def refused_before_ray(argv: list[str], capsys) -> str:
    """Run `nas.search ARGV` in this process; it must exit 2 with one line, and without having started Ray."""
    import ray

    with pytest.raises(SystemExit) as exited:
        search.main(argv)
    assert exited.value.code == 2
    assert not ray.is_initialized()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_space_that_cannot_meet_its_data_or_its_limits_is_refused_in_one_line_before_ray(tmp_path, tiny_8x8,
                                                                                          capsys):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    features, signals, columns = tmp_path / "features.npz", tmp_path / "signals.npz", tmp_path / "columns.npz"
    np.savez(features, x_train=rng.normal(size=(300, 8)).astype("float32"), y_train=labels)
    np.savez(signals, x_train=rng.normal(size=(300, 64, 1)).astype("float32"), y_train=labels)
    np.savez(columns, x_train=rng.normal(size=(300, 64, 1, 1)).astype("float32"), y_train=labels)
    common = ["--trials", "3", "--output", str(tmp_path / "runs")]
    line = refused_before_ray(["--space", "cnn", "--data", str(features), *common], capsys)
    assert "No architecture of space 'cnn' fits inputs shaped (8,)" in line and "2-D convolutions" in line
    line = refused_before_ray(["--space", "cnn", "--data", str(signals), *common], capsys)
    assert "fits inputs shaped (64, 1)" in line
    line = refused_before_ray(["--space", "cnn", "--data", str(columns), *common], capsys)
    assert "shrink a 64x1 input below 1x1" in line
    line = refused_before_ray(["--space", "cnn", "--data", tiny_8x8, "--max-memory", "300MB", *common], capsys)
    assert "max_memory 300 MB per trial, while the least demanding needs about" in line
    line = refused_before_ray(["--space", "mlp", "--data", tiny_8x8, "--max-params", "100", *common], capsys)
    assert "max_params 100, while the smallest has 195 parameters" in line  # the perceptron: 64 x 3 + 3
    with ResultStore(f"sqlite:///{tmp_path / 'runs' / 'nas.db'}") as store:
        assert store.list_runs() == []  # no run was opened
    # A limit the user did not set (what is free now, shared by the trials at once) is named as what it is.
    with np.load(tiny_8x8) as arrays:
        data = prepare(dict(arrays), "tiny")
    with pytest.raises(SpaceError, match=r"the memory available per trial, 300 MB \(what is free now shared by the "
                                         r"trials that run at once; --max-memory or --concurrency change it\)"):
        check_space_meets(SPACES["cnn"], data, Recipe(), Objective(), 300 * 1024**2, limit_given=False)


@pytest.mark.slow  # about 20 s; tests/nas/runner/test_searcher.py has the searcher's part without Ray
def test_proposals_over_max_params_are_refused_in_the_driver_and_never_reach_a_worker(tiny_8x8, tmp_path,
                                                                                        shared_ray):
    """Every refused trial is stored as failed, over the limit, without a Ray trial of its own; the run's --trials
    counts them; the others train."""
    space = SPACES["cnn"]
    rng = np.random.default_rng(1)
    limit = int(np.median([params for params in (_params(space, space.sample(rng)) for _ in range(50)) if params]))
    result = nas.search("cnn", data=tiny_8x8, trials=8, epochs=1, top_k=0, max_params=limit, concurrency=1,
                        output=str(tmp_path), name="limited", progress=False, keep_checkpoints=True)
    trials, _ = trials_of(tmp_path, "limited")
    assert len(trials) == 8 and result.run == "limited"
    refused = [trial for trial in trials if trial.error and "parameters > max_params" in trial.error]
    trained = [trial for trial in trials if trial not in refused]
    assert refused and trained, [trial.error for trial in trials]
    assert all(trial.attempts == 0 and trial.params > limit and trial.status is TrialStatus.FAILED
               for trial in refused)
    ray_trials = {json.loads(params.read_text())["trial"]
                  for params in (tmp_path / "ray_results" / "limited").glob("*/params.json")}
    assert ray_trials == {trial.number for trial in trained}


def _params(space, arch) -> int | None:
    try:
        return sum(layer.params for layer in space.layer_shapes(arch, (8, 8, 1), 3))
    except ValueError:  # does not fit 8x8
        return None


def hungry_space(marks: Path) -> SearchSpace:
    """A space whose 'grows' architecture takes memory step by step in Python while it is built, whose 'holds'
    architecture takes 2.5 GB at once and then waits in C (where no Python exception reaches it), and whose others
    are the perceptron. Each build notes the worker's oom_score_adj."""
    def build(arch, input_shape, num_classes):
        import time as clock

        (marks / f"oom_score_adj-{os.getpid()}").write_text(Path("/proc/self/oom_score_adj").read_text())
        if arch["appetite"] == "grows":
            hoard = []
            for _ in range(100):  # up to 6.4 GB, 64 MB a step
                hoard.append(np.ones(8 * 1024**2))
                clock.sleep(0.01)
        if arch["appetite"] == "holds":
            hoard = np.ones(int(2.5 * GB) // 8)  # noqa: F841 - held while it sleeps
            clock.sleep(60)
        return build_mlp(SPACES["mlp"].validate({"depth": 0}), input_shape, num_classes)

    return SearchSpace("hungry", [Choice("appetite", ["modest", "grows", "holds"]), Choice("seed", [0, 1, 2])],
                       builder=build, references={"grows": {"appetite": "grows", "seed": 0},
                                                  "modest": {"appetite": "modest", "seed": 0},
                                                  "holds": {"appetite": "holds", "seed": 0}})


@pytest.mark.slow  # about a minute: workers that die start again and import TensorFlow
@pytest.mark.skipif(psutil.virtual_memory().available < 6 * GB, reason="needs 6 GB of free memory")
def test_trials_past_max_memory_fail_as_out_of_memory_and_the_search_goes_on(tiny_8x8, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    started = time.monotonic()
    nas.search(hungry_space(marks), data=tiny_8x8, trials=5, epochs=1, top_k=0, max_memory="1.5GB", concurrency=2,
               trial_retries=2, output=str(tmp_path / "runs"), name="hungry", progress=False)
    trials, run = trials_of(tmp_path / "runs", "hungry")
    by_appetite = {}
    for trial in trials:
        by_appetite.setdefault(trial.arch["appetite"], []).append(trial)
    assert run.status.value == "completed" and len(trials) == 5
    assert all(trial.status is TrialStatus.COMPLETED for trial in by_appetite["modest"])
    grew = by_appetite["grows"][0]  # stopped by the exception the guard raised in the training thread
    assert grew.status is TrialStatus.FAILED and grew.error.startswith("out of memory at 1.5 GB, the limit is 1.5 GB")
    assert grew.attempts == 1
    held = by_appetite["holds"][0]  # killed by the guard, then not trained again
    assert held.status is TrialStatus.FAILED and held.error.startswith("out of memory at "), held.error
    assert held.attempts == 2  # the retry Ray started read the note and reported at once
    assert time.monotonic() - started < 55  # never waited out the 60 s sleep
    assert {mark.read_text().strip() for mark in marks.glob("oom_score_adj-*")} == {"1000"}
    # A resume after it goes on: one more trial, and the trials killed for memory stay as they were.
    nas.search(hungry_space(marks), data=tiny_8x8, trials=6, epochs=1, top_k=0, max_memory="1.5GB", concurrency=2,
               output=str(tmp_path / "runs"), name="hungry", resume=True, progress=False)
    after, run = trials_of(tmp_path / "runs", "hungry")
    assert len(after) == 6 and run.status.value == "completed"
    assert [trial for trial in after if trial.number in (grew.number, held.number)] == [
        trial for trial in trials if trial.number in (grew.number, held.number)]


@pytest.mark.slow  # about a minute
@pytest.mark.skipif(psutil.virtual_memory().available < 8 * GB, reason="needs 8 GB of free memory")
def test_a_worker_killed_by_rays_memory_monitor_is_a_failed_trial_not_a_failed_search(tiny_8x8, tmp_path):
    """The monitor nas turns off in its own Ray is turned on, at 2 GB above what the machine uses now: it kills the
    growing trial's worker (Ray 2.60's Tune then ended the experiment, and the search exited 1 with 4,000
    characters of Ray's report). The search records it, goes on and exits 0. One trial at a time: with two, Ray's
    monitor may kill the modest trial's worker beside the growing one (its choice of victim is Ray's policy, not
    nas's; CI's slower machine saw it do so)."""
    memory = psutil.virtual_memory()
    threshold = (memory.total - memory.available + 2 * GB) / memory.total
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_memory_monitor_refresh_ms": "100",
           "RAY_memory_usage_threshold": f"{threshold:.3f}"}
    finished = subprocess.run(
        [sys.executable, "-m", "nas.search", "--space", "tests.nas.hungry_space:SPACE", "--data", tiny_8x8,
         "--trials", "4", "--epochs", "1", "--top-k", "0", "--max-memory", "6GB", "--concurrency", "1",
         "--output", str(tmp_path), "--name", "monitored"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert all(len(line) < 300 for line in finished.stderr.splitlines())
    trials, run = trials_of(tmp_path, "monitored")
    assert run.status.value == "completed" and len(trials) == 4
    for trial in trials:
        if trial.arch["appetite"] == "grows":
            assert trial.status is TrialStatus.FAILED
            assert trial.error.startswith("out of memory: Ray's memory monitor killed its worker"), trial.error
        else:
            assert trial.status is TrialStatus.COMPLETED, trial.error


def test_a_dead_worker_is_taken_for_killed_for_memory_only_on_evidence(tmp_path):
    """The kernel's OOM killer leaves no message: a worker whose last heartbeat saw it near its limit, or the machine
    nearly out of memory, was killed for memory (and no later attempt trains its trial); one that died otherwise
    is retried as before."""
    from nas.runner.memory_guard import death_from_memory, heartbeat_path, killed_for_memory, worker_gone

    def beat(trial: int, rss: float, available: float, pid: int = 2**22 + 1) -> None:
        path = heartbeat_path(tmp_path, trial)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": pid, "rss": int(rss * GB), "available": int(available * GB),
                                    "total": 16 * GB}))

    crashed = "Ray reported the trial failed (its worker died or was killed)"
    beat(1, rss=3.8, available=9.0)  # near its 4 GB limit
    beat(2, rss=1.0, available=0.5)  # the machine nearly out of memory
    beat(3, rss=1.0, available=9.0, pid=os.getpid())  # neither: a crash
    assert death_from_memory(tmp_path, 1, 4 * GB, crashed).startswith("out of memory: its worker was killed at "
                                                                      "about 3.8 GB")
    assert killed_for_memory(tmp_path, 1) is not None  # noted for the retry
    assert "the machine had 512 MB left" in death_from_memory(tmp_path, 2, 4 * GB, crashed)
    assert death_from_memory(tmp_path, 3, 4 * GB, crashed) is None and killed_for_memory(tmp_path, 3) is None
    assert death_from_memory(tmp_path, 3, 4 * GB, "ray.exceptions.OutOfMemoryError: Task was killed due to the "
                                                  "node running low on memory").startswith(
        "out of memory: Ray's memory monitor killed its worker")
    assert worker_gone(tmp_path, 1, wait_s=0) and not worker_gone(tmp_path, 3, wait_s=0)
