"""Two searches at once against one result store, a SQLite file or a PostgreSQL server: both runs whole."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from results import ResultStore, TrialStatus

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("postgres_database_url")


# Whole searches in two processes, each with a Ray of its own, take 37-40 s a backend: slow, as the default suite
# already races real writer processes on both backends at the store itself (tests/results/test_concurrent_writers.py).
@pytest.mark.slow  # about 40 s a backend: two whole searches at once, each starting its own Ray
def test_two_searches_writing_to_one_store_at_once_lose_nothing(store_url, tiny_8x8, tmp_path):
    searches = [subprocess.Popen(
        [sys.executable, "-m", "nas.search", "--space", "mlp", "--data", tiny_8x8, "--trials", "4", "--epochs", "2",
         "--top-k", "1", "--storage", store_url, "--output", str(tmp_path / "runs"), "--name", name, "--seed", seed],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True) for name, seed in (("first", "1"), ("second", "2"))]
    for search in searches:
        _, errors = search.communicate(timeout=400)
        assert search.returncode == 0, errors[-2000:]
    with ResultStore(store_url) as store:
        for name in ("first", "second"):
            trials = store.trials(name)
            assert [trial.number for trial in trials] == [0, 1, 2, 3]
            assert all(trial.status is TrialStatus.COMPLETED and trial.run == name for trial in trials)
            assert sum(trial.test_accuracy is not None for trial in trials) == 1
            assert store.get_run(name).status.value == "completed"
