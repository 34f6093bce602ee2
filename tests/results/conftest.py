"""Stores for the store and leaderboard tests: an empty one, one with two small runs in it, each on SQLite and (when
a server is at hand, tests/conftest.py) on PostgreSQL; and the names of lease owners alive and gone."""
from __future__ import annotations

import multiprocessing
import os
import socket
from datetime import datetime, timedelta, timezone

import pytest

from results import ResultStore, RunRecord, RunStatus, TrialRecord, TrialStatus

START = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
LIVE = f"{socket.gethostname()}:{os.getpid()}:live"  # this test process: alive, on this machine
FAR_AWAY = "another-machine:4242:token"  # a driver elsewhere: only its expiry can tell it is gone


def dead_owner() -> str:
    """The owner name of a process of this machine that has exited."""
    child = multiprocessing.get_context("spawn").Process(target=int)
    child.start()
    child.join()
    return f"{socket.gethostname()}:{child.pid}:dead"


def make_run(name: str, space: str = "cnn", strategy: str = "random", dataset: str = "mnist",
             minutes: int = 0, **settings) -> RunRecord:
    """A running run whose stored config holds `settings` (the search's, as SearchConfig names them)."""
    return RunRecord(name=name, space=space, strategy=strategy, dataset=dataset, status=RunStatus.RUNNING,
                     config={"space": space, "trials": 3, **settings}, created_at=START + timedelta(minutes=minutes))


def make_trial(run: str, number: int, accuracy: float | None, params: int | None = 1000,
               status: TrialStatus = TrialStatus.COMPLETED, **fields) -> TrialRecord:
    return TrialRecord(run=run, number=number, status=status, arch_key=f"depth={number}", arch={"depth": number},
                       validation_accuracy=accuracy, params=params, **fields)


def add_two_runs(store: ResultStore) -> ResultStore:
    """cnn-run with three trials (one failed) and mlp-run, five minutes younger, with two."""
    store.create_run(make_run("cnn-run"))
    store.create_run(make_run("mlp-run", space="mlp", strategy="bayes", dataset="digits", minutes=5))
    for trial in (make_trial("cnn-run", 0, 0.91, params=5000, latency_ms=0.5),
                  make_trial("cnn-run", 1, 0.95, params=9000, latency_ms=0.7, test_accuracy=0.94),
                  make_trial("cnn-run", 2, None, params=None, status=TrialStatus.FAILED, error="NaN loss"),
                  make_trial("mlp-run", 0, 0.95, params=3000, latency_ms=0.2),
                  make_trial("mlp-run", 1, 0.80, params=100, latency_ms=0.1)):
        store.save_trial(trial)
    return store


@pytest.fixture
def store(tmp_path):
    with ResultStore(f"sqlite:///{tmp_path / 'runs' / 'nas.db'}") as opened:
        yield opened


@pytest.fixture
def filled_store(store):
    return add_two_runs(store)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """A new store's URL, once a SQLite file and once a new PostgreSQL database (skipped where there is no server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs' / 'nas.db'}"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def filled_store_of_each_backend(url):
    with ResultStore(url) as opened:
        yield add_two_runs(opened)
