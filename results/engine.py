"""How the store reaches its database: a SQLAlchemy engine for a URL, and the settings SQLite needs per connection
and per file (a busy timeout, foreign keys, query-only readers, write-ahead logging).

PostgreSQL needs none of them but a read-only session for readers; the server does the rest.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_errors
from sqlalchemy.pool import StaticPool

from results.errors import StoreError

# How long a writer waits for another process's lock on a SQLite file before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 30

_URL_EXAMPLE = "sqlite:///path/to/nas.db or postgresql://user:password@host/database"


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and for in-memory SQLite)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa_errors.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def engine_for(url: str, read_only: bool) -> sa.Engine:
    """An engine for the store at `url`; a writer's creates the folder of a SQLite file, a reader's cannot write."""
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


def switch_to_wal(engine: sa.Engine) -> None:
    """Write-ahead logging lets the leaderboard read while a search writes, and keeps committed trials intact when a
    process is killed mid-write; the file keeps the setting.

    PRAGMA journal_mode=WAL needs the file to itself for a moment; SQLite does not wait for that with its busy
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
