"""A store with two small runs in it, for the store and leaderboard tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from results import ResultStore, RunRecord, RunStatus, TrialRecord, TrialStatus

START = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def make_run(name: str, space: str = "cnn", strategy: str = "random", dataset: str = "mnist",
             minutes: int = 0, **settings) -> RunRecord:
    """A running run whose stored config holds `settings` (the search's, as SearchConfig names them)."""
    return RunRecord(name=name, space=space, strategy=strategy, dataset=dataset, status=RunStatus.RUNNING,
                     config={"space": space, "trials": 3, **settings}, created_at=START + timedelta(minutes=minutes))


def make_trial(run: str, number: int, accuracy: float | None, params: int | None = 1000,
               status: TrialStatus = TrialStatus.COMPLETED, **fields) -> TrialRecord:
    return TrialRecord(run=run, number=number, status=status, arch_key=f"depth={number}", arch={"depth": number},
                       validation_accuracy=accuracy, params=params, **fields)


@pytest.fixture
def store(tmp_path):
    with ResultStore(f"sqlite:///{tmp_path / 'runs' / 'nas.db'}") as opened:
        yield opened


@pytest.fixture
def filled_store(store):
    store.create_run(make_run("cnn-run"))
    store.create_run(make_run("mlp-run", space="mlp", strategy="bayes", dataset="digits", minutes=5))
    for trial in (make_trial("cnn-run", 0, 0.91, params=5000, latency_ms=0.5),
                  make_trial("cnn-run", 1, 0.95, params=9000, latency_ms=0.7, test_accuracy=0.94),
                  make_trial("cnn-run", 2, None, params=None, status=TrialStatus.FAILED, error="NaN loss"),
                  make_trial("mlp-run", 0, 0.95, params=3000, latency_ms=0.2),
                  make_trial("mlp-run", 1, 0.80, params=100, latency_ms=0.1)):
        store.save_trial(trial)
    return store
