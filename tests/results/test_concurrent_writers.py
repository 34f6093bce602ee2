"""Several searches writing to one store at once lose nothing, on a SQLite file and on a real PostgreSQL server.

Each writer is its own OS process (the "spawn" start method, as separate `nas search` commands would be), and a
barrier releases them together so their writes really overlap. The PostgreSQL tests get a new database each
(the `url` fixture of tests/results/conftest.py), on the server at $NAS_TEST_POSTGRES_URL or one started for the
session by tests/postgres_server.sh; they are skipped where there is neither.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import time
import traceback
from datetime import timedelta

import pytest
import sqlalchemy as sa

from results import SCHEMA_VERSION, ResultStore, RunExistsError, RunStatus, StoreError, TrialStatus, leaderboard
from results.lease import lease_expiry, new_owner
from tests.results.conftest import START, make_run, make_trial

SPAWN = multiprocessing.get_context("spawn")
WRITERS = 3
TRIALS = 40
TIMEOUT_S = 60  # for any one wait on other processes; a hung writer fails the test instead of hanging it


# What a writer stores: every value depends on the run and the trial, so a row in the wrong run shows.

def run_name(writer: int) -> str:
    return f"search-{writer}"


def accuracy(writer: int, number: int) -> float:
    return round(0.5 + writer / 10 + number / 1000, 6)


def running_trial(writer: int, number: int):
    return make_trial(run_name(writer), number, None, params=None, status=TrialStatus.RUNNING,
                      host=run_name(writer), node=f"{writer}:{number}", started_at=START + timedelta(seconds=number))


def completed_trial(writer: int, number: int):
    return make_trial(run_name(writer), number, accuracy(writer, number), params=1000 * writer + number,
                      latency_ms=number / 8, train_seconds=1.5, epochs=2, host=run_name(writer),
                      node=f"{writer}:{number}", started_at=START + timedelta(seconds=number),
                      finished_at=START + timedelta(seconds=number, milliseconds=500))


def strategy_state(writer: int, done: int) -> dict:
    return {"strategy": "random", "run": run_name(writer), "next_id": done, "seen": list(range(done))}


# Processes

def write_search(barrier, url: str, writer: int, open_after_barrier: bool = False) -> tuple[float, float]:
    """One search's writes, as nas/runner/experiment.py makes them (the run leased to its driver while it writes);
    returns when its writing began and ended."""
    if open_after_barrier:
        barrier.wait(TIMEOUT_S)
        began = time.monotonic()
        store = ResultStore(url)
    else:
        store = ResultStore(url)
        barrier.wait(TIMEOUT_S)
        began = time.monotonic()
    with store:
        owner = new_owner()
        store.create_run(dataclasses.replace(make_run(run_name(writer), minutes=writer), owner=owner,
                                             lease_expires_at=lease_expiry()))
        for number in range(TRIALS):
            store.save_trial(running_trial(writer, number))
            store.save_trial(completed_trial(writer, number))
            store.update_run(run_name(writer), strategy_state=strategy_state(writer, number + 1))
        store.update_run(run_name(writer), status=RunStatus.COMPLETED, finished_at=START + timedelta(hours=1))
        store.release_lease(run_name(writer), owner)
    return began, time.monotonic()


def race_to_create(barrier, url: str, writer: int, names: list[str]) -> list[str]:
    """Tries to create every run in `names`, all processes at once; returns the names this one got."""
    won = []
    with ResultStore(url) as store:
        for name in names:
            barrier.wait(TIMEOUT_S)
            try:
                store.create_run(make_run(name, strategy=f"writer-{writer}"))
            except RunExistsError:
                continue
            store.save_trial(make_trial(name, 0, accuracy(writer, 0), host=f"writer-{writer}"))
            won.append(name)
    return won


def _call(target, barrier, results, index: int, args: tuple) -> None:
    try:
        results.put((index, True, target(barrier, *args)))
    except BaseException:  # noqa: BLE001 - the parent reports it
        results.put((index, False, traceback.format_exc()))
        barrier.abort()  # frees the others rather than leaving them waiting


def start(target, args_per_process: list[tuple], barrier):
    results = SPAWN.Queue()
    processes = [SPAWN.Process(target=_call, args=(target, barrier, results, index, args), daemon=True)
                 for index, args in enumerate(args_per_process)]
    for process in processes:
        process.start()
    return processes, results


def collect(processes, results) -> list:
    """Each process's return value, in order; fails the test with the traceback of any that raised."""
    returned: dict[int, object] = {}
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(returned) < len(processes):
            try:
                index, ok, value = results.get(timeout=1)
            except queue.Empty:
                dead = [process.exitcode for process in processes if process.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    pytest.fail(f"A writer process died or hung (exit codes {[p.exitcode for p in processes]})")
                continue
            if not ok:
                pytest.fail(f"Writer process {index} failed:\n{value}")
            returned[index] = value
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    return [returned[index] for index in range(len(processes))]


def run_in_processes(target, args_per_process: list[tuple]) -> list:
    barrier = SPAWN.Barrier(len(args_per_process))
    return collect(*start(target, args_per_process, barrier))


# Checks

def assert_every_search_is_stored_whole(store: ResultStore, writers: int) -> None:
    assert sorted(run.name for run in store.list_runs()) == [run_name(writer) for writer in range(writers)]
    for writer in range(writers):
        run = store.get_run(run_name(writer))
        assert (run.status, run.strategy_state) == (RunStatus.COMPLETED, strategy_state(writer, TRIALS))
        assert store.trials(run.name) == [completed_trial(writer, number) for number in range(TRIALS)]
    assert len(store.trials()) == writers * TRIALS


# Tests

def test_concurrent_searches_lose_no_trial_and_mix_no_runs(url):
    with ResultStore(url):  # the schema exists before they start, as when searches join a team's database
        pass
    spans = run_in_processes(write_search, [(url, writer) for writer in range(WRITERS)])
    began, ended = max(first for first, _ in spans), min(last for _, last in spans)
    assert began < ended, f"The writers did not overlap: {spans}"
    with ResultStore(url) as store:
        assert_every_search_is_stored_whole(store, WRITERS)


# Without the schema lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), a loser of this race got
# "table meta already exists" or an IntegrityError instead of the store.
def test_searches_opening_a_new_store_at_once_all_get_it(url):
    """The first searches on an empty database race to create its tables and its schema version."""
    run_in_processes(write_search, [(url, writer, True) for writer in range(WRITERS)])
    with ResultStore(url) as store:
        assert_every_search_is_stored_whole(store, WRITERS)


def test_of_two_processes_creating_one_run_name_exactly_one_gets_it(url):
    names = [f"contested-{round_}" for round_ in range(10)]
    with ResultStore(url):
        pass
    won = run_in_processes(race_to_create, [(url, writer, names) for writer in range(2)])
    assert sorted(won[0] + won[1]) == names  # each name won once: never by both, never by neither
    with ResultStore(url) as store:
        assert sorted(run.name for run in store.list_runs()) == names
        for writer, names_won in enumerate(won):
            for name in names_won:
                assert store.get_run(name).strategy == f"writer-{writer}"
                assert store.trials(name) == [make_trial(name, 0, accuracy(writer, 0), host=f"writer-{writer}")]
        assert len(store.trials()) == len(names)


def test_a_leaderboard_read_while_searches_write_sees_only_whole_rows(url):
    with ResultStore(url):
        pass
    barrier = SPAWN.Barrier(WRITERS + 1)  # the reader, here, is released with the writers
    processes, results = start(write_search, [(url, writer) for writer in range(WRITERS)], barrier)
    reads = partial_reads = 0
    seen = {run_name(writer): 0 for writer in range(WRITERS)}
    with ResultStore(url) as store:
        barrier.wait(TIMEOUT_S)
        while any(process.is_alive() for process in processes) and results.empty():
            rows = leaderboard(store)
            reads += 1
            by_run: dict[str, list] = {}
            for row in rows:
                by_run.setdefault(row.run, []).append(row)
            for name, run_rows in by_run.items():
                writer = int(name.removeprefix("search-"))
                numbers = sorted(row.trial for row in run_rows)
                # A search writes its trials in order, so any moment shows 0..k, all done but perhaps the last.
                assert numbers == list(range(len(numbers))), numbers
                assert len(numbers) >= seen[name], "A read lost rows an earlier read saw"
                seen[name] = len(numbers)
                for row in run_rows:
                    assert (row.space, row.strategy, row.host) == ("cnn", "random", name)
                    if row.status == "running":
                        assert row.trial == numbers[-1] and row.validation_accuracy is None and row.params is None
                    else:
                        assert row.status == "completed"
                        assert (row.validation_accuracy, row.params, row.epochs) == \
                            (accuracy(writer, row.trial), 1000 * writer + row.trial, 2)
            partial_reads += sum(seen.values()) < WRITERS * TRIALS
        collect(processes, results)
        assert partial_reads >= 1, f"The reader saw the writers at work only {partial_reads} of {reads} times"
        assert len(leaderboard(store)) == WRITERS * TRIALS
        assert_every_search_is_stored_whole(store, WRITERS)


def test_a_store_of_another_schema_version_is_refused_untouched(url):
    with ResultStore(url) as store:
        store.create_run(make_run("r1"))
        store.save_trial(make_trial("r1", 0, 0.5))
        with store.engine.begin() as connection:
            connection.execute(sa.text("update meta set value = '99' where key = 'schema_version'"))
    with pytest.raises(StoreError, match=rf"schema version 99\. Expected version {SCHEMA_VERSION}\b") as error:
        ResultStore(url)
    password = sa.engine.make_url(url).password
    assert "\n" not in str(error.value) and not (password and f":{password}@" in str(error.value))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("select value from meta")).all() == [("99",)]
            assert connection.execute(sa.text("select name from runs")).all() == [("r1",)]
            assert connection.execute(sa.text("select run, number from trials")).all() == [("r1", 0)]
    finally:
        engine.dispose()
