"""The store's tables, the schema version they are at, and how a store of an older version is upgraded in place;
with them, how a run or a trial record becomes a row and back.

A writer creates or upgrades the tables under a schema lock (`prepare_schema`), one process at a time; a reader only
checks the version and notes which columns an older store lacks (`read_schema`), so it reads them as None.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from results.errors import StoreError
from results.records import JudgedWith, RunRecord, RunStatus, TrialRecord, TrialStatus

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 8
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


# Which columns each table of a store has: all of them once a writer prepared it, fewer in an older store a reader
# opened as it is.
Columns = dict[str, set[str]]


def prepare_schema(connection: sa.Connection, url: str) -> Columns:
    """Create a new store's tables, or check an existing one is a nas store and upgrade it, in the connection's
    transaction and under the schema lock; every column is there afterwards."""
    _lock_schema(connection)
    stored = _stored_version(connection, url)
    if stored is None:
        metadata.create_all(connection)
        connection.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif stored < SCHEMA_VERSION:
        _upgrade(connection, stored)
        logger.info("Upgraded the result store at %s from schema version %s to %d; nothing was removed.",
                    url, stored, SCHEMA_VERSION)
    return {table.name: {column.name for column in table.columns} for table in (runs_table, trials_table)}


def read_schema(connection: sa.Connection, url: str) -> Columns:
    """Check the store is a nas store this version can read; the columns its tables have."""
    if _stored_version(connection, url) is None:
        raise StoreError(f"The result store at {url} is empty: no search has written to it. Expected a store a "
                         f"search wrote")
    inspector = sa.inspect(connection)
    return {name: {column["name"] for column in inspector.get_columns(name)} for name in ("runs", "trials")}


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


def _lock_schema(connection: sa.Connection) -> None:
    """Hold the database's schema lock until this transaction ends: searches that open a new or an older store at
    once then create or upgrade it one after the other, each seeing what the one before did, all or nothing."""
    backend = connection.dialect.name
    if backend == "sqlite":
        # pysqlite opens no transaction before DDL (each CREATE or ALTER would commit on its own): open one, and
        # take the file's write lock now, waiting up to the engine's busy timeout for another writer
        # (results/engine.py).
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


# Each record type's status enum; every datetime field is a timestamp, stored in UTC.
_STATUS_TYPES = {RunRecord: RunStatus, TrialRecord: TrialStatus}


def to_row(record: RunRecord | TrialRecord) -> dict[str, Any]:
    row = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    row["status"] = _STATUS_TYPES[type(record)](record.status).value
    if isinstance(record, TrialRecord):
        row["judged_with"] = JudgedWith(record.judged_with).value
    return {name: utc(value) if isinstance(value, datetime) else value for name, value in row.items()}


def from_row(record_type: type, row) -> Any:
    values = {field.name: row.get(field.name) for field in dataclasses.fields(record_type)}  # older stores: None
    values["status"] = _STATUS_TYPES[record_type](values["status"])
    if record_type is TrialRecord:
        values["judged_with"] = JudgedWith(values["judged_with"] or JudgedWith.TRAINING)
    return record_type(**{name: utc(value) if isinstance(value, datetime) else value
                          for name, value in values.items()})


def utc(moment: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC; SQLite hands them back without a zone, which is then UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
