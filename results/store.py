"""The result store: every run and every trial, in any database SQLAlchemy can reach (SQLite by default).

SQLAlchemy Core does the database work: the same tables and queries run on a SQLite file for one user and on
PostgreSQL for a team. The search's driver writes each trial as it starts and ends, each write its own committed
transaction, so a crash or a kill loses at most the trials in flight.

Only a search writes: it creates the tables of a new store and upgrades an older one (results/schema.py). Readers
(the leaderboard, nas.train, a search's result) open a store with `read_only=True`: they refuse a file that is not a
nas store, change nothing in it (no tables, no journal mode), and read an older schema's rows with None for the
columns it lacks. How a URL becomes a connection, and SQLite's settings, are results/engine.py's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_errors

from results.engine import engine_for, sqlite_file, switch_to_wal
from results.errors import LeaseError, RunExistsError, RunNotFoundError, StoreError, first_line
from results.lease import LEASE_SECONDS, lease_holder, lease_holds
from results.records import RunRecord, RunStatus, TrialRecord
from results.schema import from_row, prepare_schema, read_schema, runs_table, to_row, trials_table, utc

# What a leaderboard ranks every trial by (ResultStore.trial_figures).
RANKING_FIELDS = ("run", "number", "status", "validation_accuracy", "score", "test_accuracy", "test_score", "params",
                  "flops", "latency_ms", "train_seconds")


@dataclass(frozen=True)
class DeletedRun:
    """What `ResultStore.delete_run` removed: the run as it was stored, and how many trials it had."""

    run: RunRecord
    trials: int


class ResultStore:
    """Runs and trials in a database at a SQLAlchemy URL. A writer (the default) creates the tables on first use and
    upgrades an older store; `read_only=True` opens an existing store as it is and never writes to it."""

    def __init__(self, url: str, *, read_only: bool = False):
        self._given_url = url
        self.read_only = read_only
        if read_only and (file := sqlite_file(url)) is not None and not file.is_file():
            raise StoreError(f"No result store at {file}. Expected the path of a store a search wrote (nas.db in "
                             f"its output folder)")
        self.engine = engine_for(url, read_only)
        self.url = self.engine.url.render_as_string(hide_password=True)
        try:
            if read_only:
                with self.engine.connect() as connection:
                    self._columns = read_schema(connection, self.url)
            else:
                with self.engine.begin() as connection:
                    self._columns = prepare_schema(connection, self.url)
                if sqlite_file(url) is not None:  # set once the file is known to be a nas store
                    switch_to_wal(self.engine)
        except sa_errors.DatabaseError as error:  # unreachable, unwritable, or not a database at all
            self.engine.dispose()
            expected = "an existing nas result store" if read_only else "a reachable, writable database"
            raise StoreError(f"Cannot open the result store at {self.url}: {first_line(error.orig)}. "
                             f"Expected {expected}; the file was left as it is") from None
        except StoreError:
            self.engine.dispose()
            raise

    def __reduce__(self):
        # A store travels as its URL (Ray Tune pickles the callbacks that hold one) and reconnects where it lands.
        return _reopen, (self._given_url, self.read_only)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    # Runs

    def create_run(self, run: RunRecord) -> None:
        self._check_writable()
        try:
            with self.engine.begin() as connection:
                connection.execute(runs_table.insert().values(to_row(run)))
        except sa_errors.IntegrityError:
            raise _run_exists(run.name) from None

    def check_new_run_name(self, name: str) -> None:
        """Raise RunExistsError if `name` is taken, so a search can refuse it before it starts any work."""
        if self.get_run(name) is not None:
            raise _run_exists(name)

    def get_run(self, name: str) -> RunRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(self._select(runs_table).where(runs_table.c.name == name)).mappings().first()
        return None if row is None else from_row(RunRecord, row)

    def list_runs(self) -> list[RunRecord]:
        """All runs, oldest first."""
        query = self._select(runs_table).order_by(runs_table.c.created_at, runs_table.c.name)
        with self.engine.connect() as connection:
            return [from_row(RunRecord, row) for row in connection.execute(query).mappings()]

    def update_run(self, name: str, *, status: RunStatus | None = None, config: dict | None = None,
                   strategy_state: dict | None = None, finished_at: datetime | None = None) -> None:
        self._check_writable()
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = RunStatus(status).value
        if config is not None:
            values["config"] = config
        if strategy_state is not None:
            values["strategy_state"] = strategy_state
        if finished_at is not None:
            values["finished_at"] = utc(finished_at)
        if not values:
            return
        with self.engine.begin() as connection:
            updated = connection.execute(runs_table.update().where(runs_table.c.name == name).values(values))
        if updated.rowcount == 0:
            raise self._no_run(name)

    def delete_run(self, name: str) -> DeletedRun:
        """Delete the run and its trials in one transaction, and return what was deleted. Only the store's rows
        go: the models and other files the run saved stay on disk.

        Refused (LeaseError) while a search drives the run, as `acquire_lease` decides: a lease that has not
        expired, of a driver not known to be gone. Like `acquire_lease`, a compare-and-set on the owner read: a
        search that takes the run meanwhile keeps it, with all its trials."""
        self._check_writable()
        run = self._stored_run(name)
        if lease_holds(run):
            raise _in_use(run, "a run no search drives: stop that search or wait for it to end, then delete the run")
        with self.engine.begin() as connection:
            # The trials first: deleting the run first would cascade to them, leaving none to count.
            trials = connection.execute(trials_table.delete().where(trials_table.c.run == name)).rowcount
            deleted = connection.execute(runs_table.delete().where((runs_table.c.name == name) & _owned_by(run.owner)))
            if deleted.rowcount == 0:  # raised inside the transaction: its trials are rolled back
                raise LeaseError(f"Run {name!r} was taken by another search, or deleted, while it was being deleted; "
                                 f"nothing was deleted. Expected a run no search drives")
        return DeletedRun(run, trials)

    # Leases: one driver per run (results/lease.py)

    def acquire_lease(self, name: str, owner: str, expires_at: datetime) -> None:
        """Make `owner` the run's driver until `expires_at`, unless another live driver holds it (LeaseError). A
        compare-and-set on the owner read: of two drivers that race for a lapsed lease, one wins."""
        self._check_writable()
        run = self._stored_run(name)
        if run.owner not in (None, owner) and lease_holds(run):
            raise _in_use(run, "one search per run: wait for that one to end, or resume once its lease lapses")
        with self.engine.begin() as connection:
            taken = connection.execute(runs_table.update().where((runs_table.c.name == name) & _owned_by(run.owner))
                                       .values(owner=owner, lease_expires_at=utc(expires_at))).rowcount
        if taken == 0:
            raise LeaseError(f"Run {name!r} was just taken by another search. Expected one search per run")

    def renew_lease(self, name: str, owner: str, expires_at: datetime) -> bool:
        """Extend the owner's lease; False when the run is no longer the owner's."""
        with self.engine.begin() as connection:
            return connection.execute(runs_table.update()
                                      .where((runs_table.c.name == name) & (runs_table.c.owner == owner))
                                      .values(lease_expires_at=utc(expires_at))).rowcount == 1

    def release_lease(self, name: str, owner: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(runs_table.update().where((runs_table.c.name == name) & (runs_table.c.owner == owner))
                               .values(owner=None, lease_expires_at=None))

    # Trials

    def save_trial(self, trial: TrialRecord) -> None:
        """Insert the trial, or replace the stored row with the same run and number."""
        self._check_writable()
        row = to_row(trial)
        key = (trials_table.c.run == trial.run) & (trials_table.c.number == trial.number)
        with self.engine.begin() as connection:
            if connection.execute(trials_table.update().where(key).values(row)).rowcount == 0:
                connection.execute(trials_table.insert().values(row))

    def set_final_training(self, run: str, number: int, *, final_seed: int, test_accuracy: float | None = None,
                           test_score: float | None = None, test_metrics: dict | None = None,
                           model_path: str | None = None, cpu_seconds: float | None = None,
                           gpu_seconds: float | None = None, epochs: int | None = None) -> bool:
        """Record the final training of a top-k trial: its seed (every final training has one), test figures,
        saved model, epochs and what the training cost. Written once per model: False (and nothing written) when
        the trial already has its final training."""
        self._check_writable()
        key = (trials_table.c.run == run) & (trials_table.c.number == number)
        values = dict(test_accuracy=test_accuracy, test_score=test_score, test_metrics=test_metrics,
                      model_path=model_path, final_seed=final_seed, final_cpu_seconds=cpu_seconds,
                      final_gpu_seconds=gpu_seconds, final_epochs=epochs)
        with self.engine.begin() as connection:
            updated = connection.execute(trials_table.update().where(key & trials_table.c.final_seed.is_(None))
                                         .values(values))
        if updated.rowcount == 1:
            return True
        if self.get_trial(run, number) is None:
            raise StoreError(f"No trial {run}:{number} in the store at {self.url}")
        return False

    def get_trial(self, run: str, number: int) -> TrialRecord | None:
        key = (trials_table.c.run == run) & (trials_table.c.number == number)
        with self.engine.connect() as connection:
            row = connection.execute(self._select(trials_table).where(key)).mappings().first()
        return None if row is None else from_row(TrialRecord, row)

    def trials(self, run: str | None = None, without: tuple[str, ...] = ()) -> list[TrialRecord]:
        """The trials of one run (or of all runs), in run and trial-number order; the fields named in `without`
        are not read and stay None (the leaderboard of a large store skips the layers and metrics it does not
        show)."""
        query = self._select(trials_table, without).order_by(trials_table.c.run, trials_table.c.number)
        if run is not None:
            query = query.where(trials_table.c.run == run)
        with self.engine.connect() as connection:
            return [from_row(TrialRecord, row) for row in connection.execute(query).mappings()]

    def trial_figures(self, run: str | None = None) -> list[tuple]:
        """Per trial (of one run, or of all runs), the values of RANKING_FIELDS as plain tuples, in run and trial
        order: what a leaderboard needs to rank every trial, read in a fraction of a second from 100,000 of them
        (None for a column an older store lacks)."""
        columns = [trials_table.c[name] if name in self._columns["trials"] else sa.null() for name in RANKING_FIELDS]
        query = sa.select(*columns).order_by(trials_table.c.run, trials_table.c.number)
        if run is not None:
            query = query.where(trials_table.c.run == run)
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]

    def trials_by_key(self, keys: list[tuple[str, int]], without: tuple[str, ...] = ()) -> list[TrialRecord]:
        """The trials with these (run, number) keys, in the keys' order (a leaderboard reads whole only the trials
        it shows)."""
        found: dict[tuple[str, int], TrialRecord] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(keys), 500):  # well within every database's limit on bound parameters
                chunk = keys[start:start + 500]
                query = self._select(trials_table, without).where(
                    sa.tuple_(trials_table.c.run, trials_table.c.number).in_(chunk))
                for row in connection.execute(query).mappings():
                    found[(row["run"], row["number"])] = from_row(TrialRecord, row)
        return [found[key] for key in keys if key in found]

    def _select(self, table: sa.Table, without: tuple[str, ...] = ()) -> sa.Select:
        """SELECT of the table's columns this store has (a read-only store of an older schema lacks the newer),
        less those `without`."""
        return sa.select(*[column for column in table.columns
                           if column.name in self._columns[table.name] and column.name not in without])

    def cost_sums(self, runs: list[str]) -> dict[str, tuple[float, float, float, float]]:
        """Per run: the sums of its trials' cpu_seconds, gpu_seconds, final_cpu_seconds and final_gpu_seconds (in
        the database: one query, whatever the number of trials)."""
        fields = ("cpu_seconds", "gpu_seconds", "final_cpu_seconds", "final_gpu_seconds")
        present = [field for field in fields if field in self._columns["trials"]]  # an older store: fewer
        query = (sa.select(trials_table.c.run, *[sa.func.coalesce(sa.func.sum(trials_table.c[field]), 0.0)
                                                 for field in present])
                 .where(trials_table.c.run.in_(runs)).group_by(trials_table.c.run))
        sums = {run: (0.0,) * len(fields) for run in runs}
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                found = dict(zip(present, row[1:]))
                sums[row[0]] = tuple(float(found.get(field, 0.0)) for field in fields)
        return sums

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"The result store at {self.url} was opened read-only; only a search writes to it")

    def _stored_run(self, name: str) -> RunRecord:
        if (run := self.get_run(name)) is None:
            raise self._no_run(name)
        return run

    def _no_run(self, name: str) -> RunNotFoundError:
        return RunNotFoundError(f"No run named {name!r} in the store at {self.url}. Expected the name of a stored "
                                f"run")


def _in_use(run: RunRecord, expected: str) -> LeaseError:
    """The refusal of a run another live driver holds, saying which process that is and when its lease lapses."""
    return LeaseError(f"Run {run.name!r} is in use by another search ({lease_holder(run)}). Expected {expected} "
                      f"(a lease lapses {LEASE_SECONDS:.0f} s after its driver stops, at once if that is a process "
                      f"of this machine that is gone)")


def _owned_by(owner: str | None) -> sa.ColumnElement[bool]:
    """The runs whose owner is still `owner`: the condition of a compare-and-set on a run read before."""
    return runs_table.c.owner.is_(None) if owner is None else runs_table.c.owner == owner


def _reopen(url: str, read_only: bool) -> ResultStore:
    return ResultStore(url, read_only=read_only)


def _run_exists(name: str) -> RunExistsError:
    return RunExistsError(f"A run named {name!r} is already stored. Expected a new name, or to resume run {name} "
                          "(resume=True, --resume) to continue it")
