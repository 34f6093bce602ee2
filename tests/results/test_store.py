"""The result store keeps runs and trials exactly, across processes and connections, and refuses bad URLs clearly."""
from __future__ import annotations

import dataclasses
import pickle
import sqlite3
from datetime import datetime, timezone

import pytest

from results import (SCHEMA_VERSION, JudgedWith, ResultStore, RunExistsError, RunStatus, StoreError, TrialStatus,
                     sqlite_file)
from tests.results.conftest import START, make_run, make_trial


def test_runs_and_trials_round_trip_exactly(store):
    run = dataclasses.replace(make_run("r1"), strategy_state={"strategy": "random", "next_id": 2})
    store.create_run(run)
    trial = make_trial("r1", 0, 0.97, params=1234, flops=5678, latency_ms=0.42, train_seconds=3.5, epochs=2,
                       node="abc", host="box", error=None, started_at=START, finished_at=START)
    store.save_trial(trial)
    assert store.get_run("r1") == run
    assert store.get_trial("r1", 0) == trial
    assert store.get_trial("r1", 0).started_at.tzinfo is not None
    assert store.get_run("missing") is None and store.get_trial("r1", 7) is None


def test_saving_a_trial_again_replaces_it(store):
    store.create_run(make_run("r1"))
    store.save_trial(make_trial("r1", 0, None, status=TrialStatus.RUNNING))
    store.save_trial(make_trial("r1", 0, 0.9))
    store.set_final_training("r1", 0, test_accuracy=0.88, test_metrics={"accuracy": 0.88, "loss": 0.3},
                             model_path="/runs/models/r1/trial-0.keras", final_seed=7, epochs=4)
    (trial,) = store.trials("r1")
    assert trial.status is TrialStatus.COMPLETED and trial.validation_accuracy == 0.9 and trial.test_accuracy == 0.88
    assert (trial.test_metrics, trial.model_path, trial.final_seed, trial.final_epochs) == (
        {"accuracy": 0.88, "loss": 0.3}, "/runs/models/r1/trial-0.keras", 7, 4)


def test_update_run_changes_only_what_is_given(store):
    store.create_run(make_run("r1"))
    finished = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
    store.update_run("r1", status=RunStatus.COMPLETED, finished_at=finished)
    store.update_run("r1", strategy_state={"next_id": 3})
    run = store.get_run("r1")
    assert (run.status, run.finished_at, run.strategy_state, run.config) == \
        (RunStatus.COMPLETED, finished, {"next_id": 3}, {"space": "cnn", "trials": 3})
    with pytest.raises(StoreError, match="No run named 'nope'"):
        store.update_run("nope", status=RunStatus.FAILED)


def test_a_second_run_with_a_stored_name_is_refused(store):
    store.create_run(make_run("r1"))
    with pytest.raises(RunExistsError, match="'r1' is already stored.*--resume"):
        store.create_run(make_run("r1", space="mlp"))
    assert store.get_run("r1").space == "cnn"


def test_trials_of_all_runs_come_in_run_then_number_order(filled_store):
    assert [(trial.run, trial.number) for trial in filled_store.trials()] == \
        [("cnn-run", 0), ("cnn-run", 1), ("cnn-run", 2), ("mlp-run", 0), ("mlp-run", 1)]
    assert [run.name for run in filled_store.list_runs()] == ["cnn-run", "mlp-run"]


def test_what_one_connection_commits_another_sees_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    with ResultStore(url) as writer, ResultStore(url) as reader:
        writer.create_run(make_run("r1"))
        writer.save_trial(make_trial("r1", 0, 0.5))
        assert [trial.number for trial in reader.trials("r1")] == [0]
    # Plain sqlite3 sees the same rows: nothing is held back in a cache or an open transaction.
    with sqlite3.connect(tmp_path / "nas.db") as connection:
        assert connection.execute("select count(*) from trials").fetchone() == (1,)
        assert connection.execute("pragma journal_mode").fetchone() == ("wal",)


def test_a_store_pickles_as_its_url_and_reconnects(filled_store):
    copy = pickle.loads(pickle.dumps(filled_store))
    try:
        assert copy.trials() == filled_store.trials()
    finally:
        copy.close()


def test_in_memory_sqlite_keeps_its_data_across_calls():
    with ResultStore("sqlite://") as store:
        store.create_run(make_run("r1"))
        assert store.get_run("r1") is not None


@pytest.mark.parametrize("url, message", [
    ("not a url", "Expected a database URL such as sqlite:///"),
    ("nosuchdb://host/x", "Unknown database scheme 'nosuchdb'"),
    ("mysql+nosuchdriver://host/x", "Unknown database scheme"),
    ("postgresql+psycopg2://user:secret@127.0.0.1:1/db", "psycopg2"),
])
def test_bad_urls_get_one_clear_line(url, message):
    with pytest.raises(StoreError, match=message) as error:
        ResultStore(url)
    assert "\n" not in str(error.value) and "secret" not in str(error.value)


def test_an_unopenable_sqlite_file_is_a_store_error(tmp_path):
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreError, match="Cannot open the result store"):
        ResultStore(f"sqlite:///{folder}")


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


def test_sqlite_file_names_the_file_behind_a_url(tmp_path):
    assert sqlite_file(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql://host/db") is None


def _file_state(path):
    """The bytes of a SQLite file and its journal mode, to show a refused store was left as it was."""
    with sqlite3.connect(path) as connection:
        mode = connection.execute("pragma journal_mode").fetchone()[0]
    return path.read_bytes(), mode


@pytest.mark.parametrize("read_only", [False, True])
def test_another_programs_sqlite_file_is_refused_and_left_untouched(tmp_path, read_only):
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:  # their own `runs` table, in the default rollback-journal mode
        connection.execute("create table runs (id integer primary key, what text)")
        connection.execute("insert into runs (what) values ('theirs')")
    before = _file_state(path)
    with pytest.raises(StoreError, match="is not a nas result store .*runs.*nothing was changed"):
        ResultStore(f"sqlite:///{path}", read_only=read_only)
    assert _file_state(path) == before == (before[0], "delete")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]


@pytest.mark.parametrize("read_only", [False, True])
def test_a_corrupted_file_is_refused_in_one_line_and_left_untouched(tmp_path, read_only):
    path = tmp_path / "nas.db"
    path.write_bytes(b"these are not the bytes of a SQLite database\n" * 100)
    with pytest.raises(StoreError) as refused:
        ResultStore(f"sqlite:///{path}", read_only=read_only)
    assert "file is not a database" in str(refused.value) and "\n" not in str(refused.value)
    assert path.read_bytes() == b"these are not the bytes of a SQLite database\n" * 100


def test_a_reader_never_writes_and_cannot_be_made_to(filled_store, tmp_path):
    path = sqlite_file(filled_store.url)
    filled_store.close()
    with sqlite3.connect(path) as connection:  # a store last written in rollback-journal mode stays so when read
        connection.execute("pragma journal_mode=delete")
    before = path.read_bytes()
    with ResultStore(f"sqlite:///{path}", read_only=True) as reader:
        assert [run.name for run in reader.list_runs()] == ["cnn-run", "mlp-run"]
        assert len(reader.trials()) == 5
        with pytest.raises(StoreError, match="opened read-only"):
            reader.save_trial(make_trial("cnn-run", 9, 0.5))
    assert path.read_bytes() == before and _file_state(path)[1] == "delete"


def test_a_reader_refuses_a_missing_file_and_an_empty_database_without_creating_anything(tmp_path):
    with pytest.raises(StoreError, match="No result store at"):
        ResultStore(f"sqlite:///{tmp_path / 'none' / 'nas.db'}", read_only=True)
    assert not (tmp_path / "none").exists()
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(StoreError, match="is empty"):
        ResultStore(f"sqlite:///{tmp_path / 'empty.db'}", read_only=True)


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


def test_a_final_training_is_written_once(store):
    store.create_run(make_run("r1"))
    store.save_trial(make_trial("r1", 0, 0.9))
    assert store.set_final_training("r1", 0, test_accuracy=0.88, epochs=4, final_seed=3)
    assert not store.set_final_training("r1", 0, test_accuracy=0.70, epochs=9, final_seed=3)  # a second driver's
    assert (store.get_trial("r1", 0).test_accuracy, store.get_trial("r1", 0).final_epochs) == (0.88, 4)
    with pytest.raises(StoreError, match="No trial r1:5"):
        store.set_final_training("r1", 5, test_accuracy=0.5, epochs=1, final_seed=3)


def test_fields_left_unread_stay_none_and_costs_are_summed_in_the_database(filled_store):
    filled_store.save_trial(make_trial("cnn-run", 3, 0.5, layers=[{"kind": "input"}], cpu_seconds=10.0,
                                       final_cpu_seconds=5.0))
    filled_store.save_trial(make_trial("cnn-run", 4, 0.6, cpu_seconds=2.5, gpu_seconds=1.0))
    light = {trial.number: trial for trial in filled_store.trials("cnn-run", without=("layers", "arch"))}
    assert light[3].layers is None and light[3].arch is None and light[3].validation_accuracy == 0.5
    assert filled_store.get_trial("cnn-run", 3).layers == [{"kind": "input"}]
    assert filled_store.cost_sums(["cnn-run", "mlp-run", "no-such-run"]) == {
        "cnn-run": (12.5, 1.0, 5.0, 0.0), "mlp-run": (0.0, 0.0, 0.0, 0.0), "no-such-run": (0.0, 0.0, 0.0, 0.0)}
