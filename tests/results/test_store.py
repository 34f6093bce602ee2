"""The result store keeps runs and trials exactly, across processes and connections; refuses in one line a file it
cannot open; and deletes one run, with its trials, leaving the other runs whole."""
from __future__ import annotations

import dataclasses
import pickle
import re
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from results import (DeletedRun, LeaseError, ResultStore, RunExistsError, RunNotFoundError, RunStatus, StoreError,
                     TrialStatus, sqlite_file)
from results.lease import lease_expiry
from tests.results.conftest import FAR_AWAY, LIVE, START, dead_owner, make_run, make_trial


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
    with pytest.raises(RunNotFoundError, match="No run named 'nope'"):
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


def test_a_store_pickles_as_its_url_and_reconnects(filled_store):
    copy = pickle.loads(pickle.dumps(filled_store))
    try:
        assert copy.trials() == filled_store.trials()
    finally:
        copy.close()


def test_an_unopenable_sqlite_file_is_a_store_error(tmp_path):
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreError, match="Cannot open the result store"):
        ResultStore(f"sqlite:///{folder}")


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
        with pytest.raises(StoreError, match="opened read-only"):
            reader.delete_run("cnn-run")
        assert len(reader.trials("cnn-run")) == 3
    assert path.read_bytes() == before and _file_state(path)[1] == "delete"


def test_a_reader_refuses_a_missing_file_and_an_empty_database_without_creating_anything(tmp_path):
    with pytest.raises(StoreError, match="No result store at"):
        ResultStore(f"sqlite:///{tmp_path / 'none' / 'nas.db'}", read_only=True)
    assert not (tmp_path / "none").exists()
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(StoreError, match="is empty"):
        ResultStore(f"sqlite:///{tmp_path / 'empty.db'}", read_only=True)


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


# Deleting a run. Each test runs on a SQLite file and on PostgreSQL (filled_store_of_each_backend: cnn-run with three
# trials, mlp-run with two).

def stored(store) -> tuple:
    """Everything the store holds, to show a refused delete changed nothing."""
    return store.list_runs(), store.trials()


def test_deleting_a_run_removes_it_and_its_trials_and_leaves_the_other_run_whole(filled_store_of_each_backend):
    store = filled_store_of_each_backend
    cnn_run, mlp_run, mlp_trials = store.get_run("cnn-run"), store.get_run("mlp-run"), store.trials("mlp-run")
    assert store.delete_run("cnn-run") == DeletedRun(run=cnn_run, trials=3)
    assert store.get_run("cnn-run") is None and store.trials("cnn-run") == []
    assert store.list_runs() == [mlp_run] and store.get_run("mlp-run") == mlp_run
    assert store.trials() == mlp_trials and [trial.number for trial in mlp_trials] == [0, 1]
    store.create_run(make_run("cnn-run"))  # the name is free again, and the new run starts with no trials
    assert store.trials("cnn-run") == []


def test_deleting_an_unknown_run_raises_and_changes_nothing(filled_store_of_each_backend):
    store = filled_store_of_each_backend
    before = stored(store)
    with pytest.raises(RunNotFoundError, match="No run named 'no-such-run'") as refused:
        store.delete_run("no-such-run")
    assert isinstance(refused.value, StoreError) and "\n" not in str(refused.value)
    assert stored(store) == before


@pytest.mark.parametrize("owner", [LIVE, FAR_AWAY], ids=["this-machine", "another-machine"])
def test_a_run_a_live_search_drives_is_refused_and_left_intact(filled_store_of_each_backend, owner):
    store = filled_store_of_each_backend
    store.acquire_lease("cnn-run", owner, lease_expiry())
    before = stored(store)
    host, pid, _ = owner.split(":")
    holder = re.escape(f"process {pid} on {host}")
    with pytest.raises(LeaseError, match=rf"Run 'cnn-run' is in use .*{holder}.*stop that search"):
        store.delete_run("cnn-run")
    assert stored(store) == before and len(store.trials("cnn-run")) == 3


@pytest.mark.parametrize("lease", ["expired", "driver-gone", "released"])
def test_a_run_whose_lease_expired_or_whose_driver_is_gone_can_be_deleted(filled_store_of_each_backend, lease):
    store = filled_store_of_each_backend
    if lease == "expired":  # a driver on another machine that stopped renewing a minute ago
        store.acquire_lease("cnn-run", FAR_AWAY, datetime.now(timezone.utc) - timedelta(minutes=1))
    elif lease == "driver-gone":  # killed on this machine: its lease has not expired, but it will not be renewed
        store.acquire_lease("cnn-run", dead_owner(), datetime.now(timezone.utc) + timedelta(hours=1))
    else:
        store.acquire_lease("cnn-run", LIVE, lease_expiry())
        store.release_lease("cnn-run", LIVE)
    assert store.delete_run("cnn-run").trials == 3
    assert [run.name for run in store.list_runs()] == ["mlp-run"] and len(store.trials()) == 2


def test_a_run_a_search_takes_while_it_is_deleted_keeps_its_trials(filled_store_of_each_backend, monkeypatch):
    """The delete read the run free; a search resumed it before the delete wrote: the delete is undone whole."""
    store = filled_store_of_each_backend
    read_before_the_search_took_it = store.get_run("cnn-run")
    store.acquire_lease("cnn-run", FAR_AWAY, lease_expiry())
    before = stored(store)
    monkeypatch.setattr(store, "get_run", lambda name: read_before_the_search_took_it)
    with pytest.raises(LeaseError, match="Run 'cnn-run' was taken by another search.*nothing was deleted"):
        store.delete_run("cnn-run")
    monkeypatch.undo()
    assert stored(store) == before and store.get_run("cnn-run").owner == FAR_AWAY
