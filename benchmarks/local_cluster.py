"""A Ray cluster of several nodes on this one machine, with Ray 2.60's token authentication on, for tests and demos.

Each node is a `ray start ... --block` command: stopping that command stops exactly the Ray processes it started,
never another Ray on the machine. The nodes run outside the repository and without PYTHONPATH, like machines
that never saw this checkout, so a search that joins them must ship its own code.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass(frozen=True)
class LocalCluster:
    address: str  # HOST:PORT of the head
    token: Path  # the cluster's auth token file

    def driver_env(self) -> dict[str, str]:
        """The environment of a driver as a user sets it: the token file at hand, RAY_AUTH_MODE left unset."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_AUTH")}
        env["RAY_AUTH_TOKEN_PATH"] = str(self.token)
        return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1, timeout: float = 90) -> Iterator[LocalCluster]:
    folder = Path(tempfile.mkdtemp(prefix="nas-cluster-"))
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    port = free_port()
    temp_dir = Path("/tmp") / f"nas-ray-{port}"  # short: Ray's unix socket paths have a length limit
    common = [f"--num-cpus={cpus_per_node}", f"--dashboard-agent-listen-port={free_port()}", "--block"]

    def start(*flags: str) -> subprocess.Popen:
        return subprocess.Popen([RAY, "start", *flags, *common], env=env, cwd=folder, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    started = [start("--head", f"--port={port}", "--include-dashboard=false",
                     f"--ray-client-server-port={free_port()}", f"--temp-dir={temp_dir}")]
    try:
        address = f"127.0.0.1:{port}"
        _wait_for_port(port, started[0], timeout)
        started += [start(f"--address={address}") for _ in range(nodes - 1)]
        _wait_for_nodes(address, env, nodes, timeout)
        yield LocalCluster(address, token)
    finally:
        for node in reversed(started):
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                node.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(port: int, head: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError("ray start --head exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the Ray head did not listen on port {port} within {timeout:g}s")


def _wait_for_nodes(address: str, env: dict, count: int, timeout: float) -> None:
    probe = ("import ray; ray.init(address=%r, logging_level='ERROR'); "
             "print(sum(node['Alive'] for node in ray.nodes()))" % address)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", probe], env=env, cwd="/", capture_output=True, text=True,
                              timeout=60)
        if done.stdout.strip() == str(count):
            return
        time.sleep(1)
    raise TimeoutError(f"the cluster at {address} did not reach {count} nodes within {timeout:g}s")
