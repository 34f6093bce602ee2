"""A store of a newer schema version is refused untouched; an older one is upgraded in place by a writer and read as
it is, with None for the newer columns, by a reader."""
from __future__ import annotations

import sqlite3

import pytest

from results import SCHEMA_VERSION, JudgedWith, ResultStore, StoreError
from tests.results.conftest import make_run, make_trial


def test_a_store_of_another_schema_version_is_refused_untouched(tmp_path):
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    with ResultStore(url) as store:
        store.create_run(make_run("r1"))
    with sqlite3.connect(tmp_path / "nas.db") as connection:
        connection.execute("update meta set value = '99' where key = 'schema_version'")
    with pytest.raises(StoreError, match=f"schema version 99. Expected version {SCHEMA_VERSION} or older"):
        ResultStore(url)
    with sqlite3.connect(tmp_path / "nas.db") as connection:
        assert connection.execute("select name from runs").fetchall() == [("r1",)]


def test_a_store_of_schema_version_1_is_upgraded_to_the_latest_in_place_and_keeps_its_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    with ResultStore(url) as store:
        store.create_run(make_run("r1"))
        store.save_trial(make_trial("r1", 0, 0.9))
    with sqlite3.connect(tmp_path / "nas.db") as connection:  # back to version 1's tables, as an older nas wrote them
        for column in ("attempts", "cpu_seconds", "gpu_seconds", "final_cpu_seconds", "final_gpu_seconds",
                       "latency_device", "latency_threads", "latency_batch_size", "latency_batch_ms", "final_epochs",
                       "score", "metrics", "test_score", "test_metrics", "model_path", "final_seed", "layers",
                       "judged_with", "history"):
            connection.execute(f"alter table trials drop column {column}")
        for column in ("task", "objective", "direction", "owner", "lease_expires_at"):
            connection.execute(f"alter table runs drop column {column}")
        connection.execute("update meta set value = '1' where key = 'schema_version'")
    with ResultStore(url) as store:
        assert store.get_trial("r1", 0).validation_accuracy == 0.9
        assert store.get_trial("r1", 0).cpu_seconds is None and store.get_run("r1").objective is None
        assert store.get_trial("r1", 0).judged_with is JudgedWith.TRAINING  # before weight sharing, all trained
        store.save_trial(make_trial("r1", 1, 0.8, cpu_seconds=12.5, latency_device="CPU", score=0.8,
                                    layers=[{"kind": "input"}], judged_with=JudgedWith.SHARED_WEIGHTS))
        assert (store.get_trial("r1", 1).cpu_seconds, store.get_trial("r1", 1).latency_device) == (12.5, "CPU")
        assert store.get_trial("r1", 1).layers == [{"kind": "input"}]
        assert store.get_trial("r1", 1).judged_with is JudgedWith.SHARED_WEIGHTS
        store.save_trial(make_trial("r1", 2, 0.7, history=[{"epoch": 1, "train_seconds": 1.0, "logs": {"loss": 0.5}}]))
        assert store.get_trial("r1", 2).history[0]["logs"] == {"loss": 0.5}
    with sqlite3.connect(tmp_path / "nas.db") as connection:
        version = connection.execute("select value from meta where key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)


def test_a_reader_reads_an_older_store_without_upgrading_it(tmp_path):
    path = tmp_path / "nas.db"
    with ResultStore(f"sqlite:///{path}") as store:
        store.create_run(make_run("r1"))
        store.save_trial(make_trial("r1", 0, 0.9, score=0.9))
    with sqlite3.connect(path) as connection:  # as nas of schema version 4 left it
        for column in ("score", "metrics", "test_score", "test_metrics", "model_path", "final_seed", "layers",
                       "judged_with", "history"):
            connection.execute(f"alter table trials drop column {column}")
        for column in ("task", "objective", "direction", "owner", "lease_expires_at"):
            connection.execute(f"alter table runs drop column {column}")
        connection.execute("update meta set value = '4' where key = 'schema_version'")
    with ResultStore(f"sqlite:///{path}", read_only=True) as reader:
        trial = reader.get_trial("r1", 0)
        assert (trial.validation_accuracy, trial.score, reader.get_run("r1").objective) == (0.9, None, None)
    with sqlite3.connect(path) as connection:
        assert connection.execute("select value from meta where key = 'schema_version'").fetchone() == ("4",)

