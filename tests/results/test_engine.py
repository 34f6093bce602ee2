"""A URL becomes a store on SQLite (a file, or in memory) or a clear one-line refusal; a SQLite file is shared
between connections in write-ahead-logging mode."""
from __future__ import annotations

import sqlite3

import pytest

from results import ResultStore, StoreError, sqlite_file
from tests.results.conftest import make_run, make_trial


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


def test_sqlite_file_names_the_file_behind_a_url(tmp_path):
    assert sqlite_file(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql://host/db") is None

