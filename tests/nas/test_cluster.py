"""A search that joins a running Ray cluster: two nodes on this machine, with Ray's token authentication on."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from results import ResultStore

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def two_node_cluster(tmp_path_factory):
    """`ray start --head` and a second `ray start --address`, one CPU each, sharing a token of their own.

    Each runs with --block, so stopping its command stops exactly the Ray processes it started. They run outside
    the repository and without PYTHONPATH, like nodes that never saw this checkout: the search ships its code."""
    folder = tmp_path_factory.mktemp("cluster")
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    port = free_port()
    temp_dir = Path("/tmp") / f"nas-test-ray-{port}"  # short: Ray's unix socket paths have a length limit
    head = subprocess.Popen([RAY, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                             f"--dashboard-agent-listen-port={free_port()}", f"--ray-client-server-port={free_port()}",
                             f"--temp-dir={temp_dir}", "--block"],
                            env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = [head]
    try:
        address = f"127.0.0.1:{port}"
        wait_for_port(port, head)
        nodes.append(subprocess.Popen([RAY, "start", f"--address={address}", "--num-cpus=1",
                                       f"--dashboard-agent-listen-port={free_port()}", "--block"],
                                      env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_nodes(address, env, 2)
        yield address, token
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                node.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "ray start --head exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the Ray head did not listen on port {port} within {timeout}s")


def wait_for_nodes(address: str, env: dict, count: int, timeout: float = 90) -> None:
    probe = ("import ray; ray.init(address=%r, logging_level='ERROR'); "
             "print(sum(node['Alive'] for node in ray.nodes()))" % address)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", probe], env=env, cwd="/", capture_output=True, text=True,
                              timeout=60)
        if done.stdout.strip() == str(count):
            return
        time.sleep(1)
    pytest.fail(f"the cluster at {address} did not reach {count} nodes within {timeout}s")


def nas_search(*argv: str, token: Path) -> subprocess.CompletedProcess:
    """`python -m nas.search` as a user runs it: RAY_AUTH_MODE left unset, the cluster's token file at hand."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_AUTH")}
    env.update(RAY_AUTH_TOKEN_PATH=str(token), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "nas.search", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=400)


def test_a_search_joins_the_cluster_and_its_trials_land_on_both_nodes(two_node_cluster, tiny_8x8, tmp_path):
    address, token = two_node_cluster
    done = nas_search("--address", address, "--space", "mlp", "--data", tiny_8x8, "--trials", "6", "--epochs", "3",
                      "--concurrency", "2", "--top-k", "1", "--output", str(tmp_path), "--name", "cluster", "--json",
                      token=token)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        trials = store.trials("cluster")
    assert len(trials) == 6 and all(trial.status.value == "completed" for trial in trials)
    assert len({trial.node for trial in trials}) == 2  # both nodes ran trials (each has one CPU)
    assert all(trial.host == socket.gethostname() and trial.cpu_seconds > 0 for trial in trials)
    assert summary["best"]["test_accuracy"] is not None and summary["cpu_hours"] > 0 and summary["gpu_hours"] == 0


def test_a_trial_that_fits_no_node_is_refused_after_the_autoscaler_had_its_chance(two_node_cluster, tmp_path):
    address, token = two_node_cluster
    started = time.monotonic()
    done = nas_search("--address", address, "--gpus-per-trial", "1", "--resource-wait", "3s", "--output",
                      str(tmp_path), token=token)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "No node of this Ray cluster has 1 CPU and 1 GPU for a trial after waiting 3s (the largest have 1 CPU " \
           "and 0 GPUs)" in done.stderr
    assert time.monotonic() - started < 60
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        assert store.list_runs() == []  # refused before a run was stored


def test_a_cluster_that_refuses_the_token_is_one_line_saying_what_to_set(two_node_cluster, tmp_path):
    address, _ = two_node_cluster
    wrong = tmp_path / "wrong_token"
    wrong.write_text(secrets.token_hex(32))
    done = nas_search("--address", address, "--output", str(tmp_path), token=wrong)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    error = done.stderr.strip()
    assert "\n" not in error, error  # Ray's own retry log lines were held back
    assert error.startswith(f"nas.search: error: Cannot join the Ray cluster at {address} (it refused this "
                            "machine's token)") and "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN" in error
