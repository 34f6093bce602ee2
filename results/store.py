"""The result store: every run and every trial, in any database SQLAlchemy can reach (SQLite by default).

SQLAlchemy Core does the database work: the same tables and queries run on a SQLite file for one user and on
PostgreSQL for a team. The search's driver writes each trial as it starts and ends, each write its own committed
transaction, so a crash or a kill loses at most the trials in flight.

Only a search writes: it creates the tables of a new store and upgrades an older one. Readers (the leaderboard,
nas.train, a search's result) open a store with `read_only=True`: they refuse a file that is not a nas store, change
nothing in it (no tables, no journal mode), and read an older schema's rows with None for the columns it lacks.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_errors
from sqlalchemy.pool import StaticPool

from results.lease import LEASE_SECONDS, lease_holds
from results.records import JudgedWith, RunRecord, RunStatus, TrialRecord, TrialStatus

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 8
# How long a writer waits for another process's lock on a SQLite file before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 30
# The PostgreSQL advisory lock that makes creating and upgrading a store's tables one process at a time.
_SCHEMA_LOCK_KEY = 0x6E6173  # "nas"

metadata = sa.MetaData()

meta_table = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

runs_table = sa.Table(
    "runs", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("space", sa.String(64), nullable=False),
    sa.Column("strategy", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("strategy_state", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # Added in schema version 5: what the run searched for.
    sa.Column("task", sa.String(16)),
    sa.Column("objective", sa.String(200)),
    sa.Column("direction", sa.String(8)),
    # Added in schema version 6: the driver that holds the run, until when (results/lease.py).
    sa.Column("owner", sa.String(300)),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
)

trials_table = sa.Table(
    "trials", metadata,
    sa.Column("run", sa.String(200), sa.ForeignKey("runs.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("arch_key", sa.Text, nullable=False),
    sa.Column("arch", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("validation_accuracy", sa.Float),
    sa.Column("test_accuracy", sa.Float),
    sa.Column("params", sa.BigInteger),
    sa.Column("flops", sa.BigInteger),
    sa.Column("latency_ms", sa.Float),
    sa.Column("train_seconds", sa.Float),
    sa.Column("epochs", sa.Integer),
    sa.Column("node", sa.String(128)),
    sa.Column("host", sa.String(256)),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # Added in schema version 2: what each trial cost.
    sa.Column("attempts", sa.Integer),
    sa.Column("cpu_seconds", sa.Float),
    sa.Column("gpu_seconds", sa.Float),
    sa.Column("final_cpu_seconds", sa.Float),
    sa.Column("final_gpu_seconds", sa.Float),
    # Added in schema version 3: how latency was measured.
    sa.Column("latency_device", sa.String(128)),
    sa.Column("latency_threads", sa.Integer),
    sa.Column("latency_batch_size", sa.Integer),
    sa.Column("latency_batch_ms", sa.Float),
    # Added in schema version 4: how many epochs the final training ran (fitted to a time budget, or as asked).
    sa.Column("final_epochs", sa.Integer),
    # Added in schema version 5: any objective, every validation and test metric, the kept model, the layers.
    sa.Column("score", sa.Float),
    sa.Column("metrics", sa.JSON),
    sa.Column("test_score", sa.Float),
    sa.Column("test_metrics", sa.JSON),
    sa.Column("model_path", sa.Text),
    sa.Column("final_seed", sa.Integer),
    sa.Column("layers", sa.JSON),
    # Added in schema version 7: how the validation score was measured (records.JudgedWith; NULL: trained).
    sa.Column("judged_with", sa.String(16)),
    # Added in schema version 8: each epoch's training and validation metrics.
    sa.Column("history", sa.JSON),
)
# What a leaderboard ranks every trial by (ResultStore.trial_figures).
RANKING_FIELDS = ("run", "number", "status", "validation_accuracy", "score", "test_accuracy", "test_score", "params",
                  "flops", "latency_ms", "train_seconds")
# The columns each schema version added to existing tables, so an older store is upgraded in place.
_ADDED_COLUMNS = {
    2: [("trials", ("attempts", "cpu_seconds", "gpu_seconds", "final_cpu_seconds", "final_gpu_seconds"))],
    3: [("trials", ("latency_device", "latency_threads", "latency_batch_size", "latency_batch_ms"))],
    4: [("trials", ("final_epochs",))],
    5: [("runs", ("task", "objective", "direction")),
        ("trials", ("score", "metrics", "test_score", "test_metrics", "model_path", "final_seed", "layers"))],
    6: [("runs", ("owner", "lease_expires_at"))],
    7: [("trials", ("judged_with",))],
    8: [("trials", ("history",))],
}
# A nas store holds these tables; a file without them (and without the schema version in `meta`) is another's.
_NAS_TABLES = {"meta", "runs", "trials"}

_URL_EXAMPLE = "sqlite:///path/to/nas.db or postgresql://user:password@host/database"


class StoreError(Exception):
    """The store cannot be opened or used as asked; the message is one line for the user."""


class RunExistsError(StoreError):
    """A new run was given the name of a stored one."""


class LeaseError(StoreError):
    """The run is held by another live search driver."""


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and for in-memory SQLite)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa_errors.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class ResultStore:
    """Runs and trials in a database at a SQLAlchemy URL. A writer (the default) creates the tables on first use and
    upgrades an older store; `read_only=True` opens an existing store as it is and never writes to it."""

    def __init__(self, url: str, *, read_only: bool = False):
        self._given_url = url
        self.read_only = read_only
        if read_only and (file := sqlite_file(url)) is not None and not file.is_file():
            raise StoreError(f"No result store at {file}. Expected the path of a store a search wrote (nas.db in "
                             f"its output folder)")
        self.engine = _create_engine(url, read_only)
        self.url = self.engine.url.render_as_string(hide_password=True)
        try:
            self._columns = self._read_schema() if read_only else self._prepare_schema()
        except sa_errors.DatabaseError as error:  # unreachable, unwritable, or not a database at all
            self.engine.dispose()
            expected = "an existing nas result store" if read_only else "a reachable, writable database"
            raise StoreError(f"Cannot open the result store at {self.url}: {_first_line(error.orig)}. "
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
                connection.execute(runs_table.insert().values(_to_row(run)))
        except sa_errors.IntegrityError:
            raise _run_exists(run.name) from None

    def check_new_run_name(self, name: str) -> None:
        """Raise RunExistsError if `name` is taken, so a search can refuse it before it starts any work."""
        if self.get_run(name) is not None:
            raise _run_exists(name)

    def get_run(self, name: str) -> RunRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(self._select(runs_table).where(runs_table.c.name == name)).mappings().first()
        return None if row is None else _from_row(RunRecord, row)

    def list_runs(self) -> list[RunRecord]:
        """All runs, oldest first."""
        query = self._select(runs_table).order_by(runs_table.c.created_at, runs_table.c.name)
        with self.engine.connect() as connection:
            return [_from_row(RunRecord, row) for row in connection.execute(query).mappings()]

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
            values["finished_at"] = _utc(finished_at)
        if not values:
            return
        with self.engine.begin() as connection:
            updated = connection.execute(runs_table.update().where(runs_table.c.name == name).values(values))
        if updated.rowcount == 0:
            raise StoreError(f"No run named {name!r} in the store at {self.url}")

    # Leases: one driver per run (results/lease.py)

    def acquire_lease(self, name: str, owner: str, expires_at: datetime) -> None:
        """Make `owner` the run's driver until `expires_at`, unless another live driver holds it (LeaseError). A
        compare-and-set on the owner read: of two drivers that race for a lapsed lease, one wins."""
        self._check_writable()
        run = self.get_run(name)
        if run is None:
            raise StoreError(f"No run named {name!r} in the store at {self.url}")
        if run.owner not in (None, owner) and lease_holds(run):
            raise LeaseError(f"Run {name!r} is in use by another search (driver {run.owner}; its lease holds until "
                             f"{run.lease_expires_at:%H:%M:%S} UTC). Expected one search per run: wait for that one "
                             f"to end, or resume once its lease lapses ({LEASE_SECONDS:.0f} s after its driver stops)")
        held = runs_table.c.owner.is_(None) if run.owner is None else runs_table.c.owner == run.owner
        with self.engine.begin() as connection:
            taken = connection.execute(runs_table.update().where((runs_table.c.name == name) & held)
                                       .values(owner=owner, lease_expires_at=_utc(expires_at))).rowcount
        if taken == 0:
            raise LeaseError(f"Run {name!r} was just taken by another search. Expected one search per run")

    def renew_lease(self, name: str, owner: str, expires_at: datetime) -> bool:
        """Extend the owner's lease; False when the run is no longer the owner's."""
        with self.engine.begin() as connection:
            return connection.execute(runs_table.update()
                                      .where((runs_table.c.name == name) & (runs_table.c.owner == owner))
                                      .values(lease_expires_at=_utc(expires_at))).rowcount == 1

    def release_lease(self, name: str, owner: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(runs_table.update().where((runs_table.c.name == name) & (runs_table.c.owner == owner))
                               .values(owner=None, lease_expires_at=None))

    # Trials

    def save_trial(self, trial: TrialRecord) -> None:
        """Insert the trial, or replace the stored row with the same run and number."""
        self._check_writable()
        row = _to_row(trial)
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
        return None if row is None else _from_row(TrialRecord, row)

    def trials(self, run: str | None = None, without: tuple[str, ...] = ()) -> list[TrialRecord]:
        """The trials of one run (or of all runs), in run and trial-number order; the fields named in `without`
        are not read and stay None (the leaderboard of a large store skips the layers and metrics it does not
        show)."""
        query = self._select(trials_table, without).order_by(trials_table.c.run, trials_table.c.number)
        if run is not None:
            query = query.where(trials_table.c.run == run)
        with self.engine.connect() as connection:
            return [_from_row(TrialRecord, row) for row in connection.execute(query).mappings()]

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
                    found[(row["run"], row["number"])] = _from_row(TrialRecord, row)
        return [found[key] for key in keys if key in found]

    def _prepare_schema(self) -> dict[str, set[str]]:
        """Create a new store's tables, or check an existing one is a nas store and upgrade it; every column is
        there afterwards."""
        with self.engine.begin() as connection:
            _lock_schema(connection)
            stored = _stored_version(connection, self.url)
            if stored is None:
                metadata.create_all(connection)
                connection.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif stored < SCHEMA_VERSION:
                _upgrade(connection, stored)
                logger.info("Upgraded the result store at %s from schema version %s to %d; nothing was removed.",
                            self.url, stored, SCHEMA_VERSION)
        if self.engine.dialect.name == "sqlite" and sqlite_file(self._given_url) is not None:
            # Write-ahead logging lets the leaderboard read while a search writes, and keeps committed trials intact
            # when a process is killed mid-write. Set once the file is known to be ours; the file keeps it.
            _switch_to_wal(self.engine)
        return {table.name: {column.name for column in table.columns} for table in (runs_table, trials_table)}

    def _read_schema(self) -> dict[str, set[str]]:
        """Check the store is a nas store this version can read; the columns its tables have."""
        with self.engine.connect() as connection:
            if _stored_version(connection, self.url) is None:
                raise StoreError(f"The result store at {self.url} is empty: no search has written to it. Expected "
                                 f"a store a search wrote")
            inspector = sa.inspect(connection)
            return {name: {column["name"] for column in inspector.get_columns(name)} for name in ("runs", "trials")}

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


def _stored_version(connection: sa.Connection, url: str) -> int | None:
    """The schema version of the nas store behind the connection; None for an empty database. A database that holds
    tables but not a nas store's, or a version newer than this one's, is refused."""
    tables = set(sa.inspect(connection).get_table_names())
    if not tables or (connection.dialect.name != "sqlite" and not tables & _NAS_TABLES):
        return None  # a server database may hold other applications' tables beside ours
    version = None
    if _NAS_TABLES <= tables:
        version = connection.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
    if version is None:
        raise StoreError(f"The database at {url} is not a nas result store (it holds tables of its own: "
                         f"{', '.join(sorted(tables)[:5])}). Expected a store written by nas.search, or a new "
                         f"file; nothing was changed")
    if not version.isdigit() or not 1 <= int(version) <= SCHEMA_VERSION:
        raise StoreError(f"The result store at {url} has schema version {version}. Expected version "
                         f"{SCHEMA_VERSION} or older: open it with the nas release that wrote it, or use another "
                         f"store (storage or output)")
    return int(version)


def _reopen(url: str, read_only: bool) -> ResultStore:
    return ResultStore(url, read_only=read_only)


def _lock_schema(connection: sa.Connection) -> None:
    """Hold the database's schema lock until this transaction ends: searches that open a new or an older store at
    once then create or upgrade it one after the other, each seeing what the one before did, all or nothing."""
    backend = connection.dialect.name
    if backend == "sqlite":
        # pysqlite opens no transaction before DDL (each CREATE or ALTER would commit on its own): open one, and
        # take the file's write lock now, waiting up to SQLITE_BUSY_TIMEOUT_S for another writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif backend == "postgresql":  # DDL is transactional there; the lock is per database, released at commit
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")


def _upgrade(connection: sa.Connection, version: int) -> None:
    """Add the columns of every later schema version to an older store, in the caller's transaction: either all
    of them land, with the new version number, or none."""
    for added_in in range(version + 1, SCHEMA_VERSION + 1):
        for table_name, columns in _ADDED_COLUMNS[added_in]:
            table = metadata.tables[table_name]
            for name in columns:
                column_type = table.c[name].type.compile(dialect=connection.dialect)
                connection.execute(sa.text(f"ALTER TABLE {table_name} ADD COLUMN {name} {column_type}"))
    connection.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                       .values(value=str(SCHEMA_VERSION)))


def _run_exists(name: str) -> RunExistsError:
    return RunExistsError(f"A run named {name!r} is already stored. Expected a new name, or to resume run {name} "
                          "(resume=True, --resume) to continue it")


def _create_engine(url: str, read_only: bool) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa_errors.ArgumentError:
        raise StoreError(f"Expected a database URL such as {_URL_EXAMPLE}. Received: {url!r}") from None
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        file = sqlite_file(url)
        if file is None:  # in memory: one connection shared, or every connection would see an empty database
            options["poolclass"] = StaticPool
            options["connect_args"]["check_same_thread"] = False
        elif not read_only:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"Cannot create the folder of the result store {file}: {error.strerror}. "
                                 f"Expected a writable output folder") from None
    elif read_only and parsed.get_backend_name() == "postgresql":
        options["execution_options"] = {"postgresql_readonly": True}  # the server refuses writes in its sessions
    try:
        engine = sa.create_engine(parsed, **options)
    except sa_errors.NoSuchModuleError:
        raise StoreError(f"Unknown database scheme {parsed.drivername!r} in {parsed.render_as_string()!r}. "
                         f"Expected a URL such as {_URL_EXAMPLE}") from None
    except ImportError as error:
        raise StoreError(f"The database driver for {parsed.drivername!r} is not installed ({error}). Expected it "
                         "installed in this environment (for PostgreSQL: pip install \"nas[postgres]\")") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_reader_pragmas if read_only else _sqlite_writer_pragmas)
    return engine


def _switch_to_wal(engine: sa.Engine) -> None:
    """PRAGMA journal_mode=WAL needs the file to itself for a moment; SQLite does not wait for that with its busy
    timeout, so a search that opens a new store while another is reading it retries, up to the same timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            return
        except sa_errors.OperationalError as error:
            if "locked" not in str(error.orig) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_writer_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # per connection; the file does not change
    cursor.close()


def _sqlite_reader_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # SQLite itself refuses every write on this connection
    cursor.close()


# Each record type's status enum; every datetime field is a timestamp, stored in UTC.
_STATUS_TYPES = {RunRecord: RunStatus, TrialRecord: TrialStatus}


def _to_row(record: RunRecord | TrialRecord) -> dict[str, Any]:
    row = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    row["status"] = _STATUS_TYPES[type(record)](record.status).value
    if isinstance(record, TrialRecord):
        row["judged_with"] = JudgedWith(record.judged_with).value
    return {name: _utc(value) if isinstance(value, datetime) else value for name, value in row.items()}


def _from_row(record_type: type, row) -> Any:
    values = {field.name: row.get(field.name) for field in dataclasses.fields(record_type)}  # older stores: None
    values["status"] = _STATUS_TYPES[record_type](values["status"])
    if record_type is TrialRecord:
        values["judged_with"] = JudgedWith(values["judged_with"] or JudgedWith.TRAINING)
    return record_type(**{name: _utc(value) if isinstance(value, datetime) else value
                          for name, value in values.items()})


def _utc(moment: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC; SQLite hands them back without a zone, which is then UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__
