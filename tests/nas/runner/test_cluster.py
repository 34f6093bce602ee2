"""A search that joins a running Ray cluster: two nodes on this machine, with Ray's token authentication on."""
from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.local_cluster import LocalCluster, local_cluster
from results import ResultStore

REPO = Path(__file__).resolve().parents[3]

# About 37 s: Ray starts and joins a second node before any test runs (CI's slow pass runs them).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_node_cluster():
    """`ray start --head` and a second `ray start --address`, one CPU each, sharing a token of their own."""
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        yield cluster


def nas_search(cluster: LocalCluster, *argv: str, token: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m nas.search` as a user runs it: RAY_AUTH_MODE left unset, a token file at hand."""
    env = {**cluster.driver_env(), "PYTHONPATH": str(REPO)}
    if token is not None:
        env["RAY_AUTH_TOKEN_PATH"] = str(token)
    return subprocess.run([sys.executable, "-m", "nas.search", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=400)


def test_a_search_of_a_user_space_joins_the_cluster_and_its_trials_land_on_both_nodes(two_node_cluster, tmp_path):
    # The space and the data function live in a module of this repository, which the nodes (started outside it,
    # without PYTHONPATH) can import only because the search sends it to them; the data is made on each node.
    address = two_node_cluster.address
    done = nas_search(two_node_cluster, "--address", address, "--space", "tests.nas.user_space:SPACE", "--data",
                      "tests.nas.user_space:load_data", "--trials", "4", "--epochs", "1", "--concurrency", "2",
                      "--top-k", "1", "--output", str(tmp_path), "--name", "cluster", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        trials = store.trials("cluster")
    assert len(trials) == 4 and all(trial.status.value == "completed" for trial in trials)
    assert len({trial.node for trial in trials}) == 2  # both nodes ran trials (each has one CPU)
    assert all(trial.host == socket.gethostname() and trial.cpu_seconds > 0 for trial in trials)
    assert summary["best"]["test_accuracy"] is not None and summary["cpu_hours"] > 0 and summary["gpu_hours"] == 0
    assert Path(summary["best"]["model_path"]).is_file()  # the final training ran on a node; its model came back


def test_a_trial_that_fits_no_node_is_refused_after_the_autoscaler_had_its_chance(two_node_cluster, tmp_path):
    started = time.monotonic()
    done = nas_search(two_node_cluster, "--address", two_node_cluster.address, "--gpus-per-trial", "1",
                      "--resource-wait", "1s", "--output", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "No node of this Ray cluster has 1 CPU and 1 GPU for a trial after waiting 1s (the largest have 1 CPU " \
           "and 0 GPUs)" in done.stderr
    assert time.monotonic() - started < 60
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        assert store.list_runs() == []  # refused before a run was stored


# about 23 s of its own, nearly all of it Ray's 20 s of retrying a refused token before it gives up
def test_a_cluster_that_refuses_the_token_is_one_line_saying_what_to_set(two_node_cluster, tmp_path):
    address = two_node_cluster.address
    wrong = tmp_path / "wrong_token"
    wrong.write_text(secrets.token_hex(32))
    done = nas_search(two_node_cluster, "--address", address, "--output", str(tmp_path), token=wrong)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    error = done.stderr.strip()
    assert "\n" not in error, error  # Ray's own retry log lines were held back
    assert error.startswith(f"nas.search: error: Cannot join the Ray cluster at {address} (it refused this "
                            "machine's token)") and "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN" in error
