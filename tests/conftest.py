"""Shared test set-up: keep TensorFlow, Keras and Ray quiet and out of the home folder."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

# Must be set before TensorFlow is imported by any test: one thread keeps timings steady on a shared machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
_HOME = tempfile.mkdtemp(prefix="nas-tests-")
os.environ.setdefault("KERAS_HOME", os.path.join(_HOME, "keras"))
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_HOME, "matplotlib"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# PostgreSQL: a real server for the tests that need one (tests/results/test_concurrent_writers.py).

POSTGRES_SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgres_server.sh")


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server's SQLAlchemy URL: $NAS_TEST_POSTGRES_URL, else a throwaway server started for the session.

    The server comes from tests/postgres_server.sh, which never installs anything when called from here; without
    PostgreSQL's programs the tests that need it are skipped. The URL's user needs CREATEDB (see postgres_database_url).
    """
    given = os.environ.get("NAS_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    import shutil
    import subprocess

    if shutil.which("bash") is None:
        pytest.skip("No PostgreSQL server: set NAS_TEST_POSTGRES_URL (bash, needed to start one, is missing)")
    # Under /tmp, not pytest's folders: the socket path must stay short, and as root the server runs as the
    # postgres user, who cannot enter root's private folders.
    folder = tempfile.mkdtemp(prefix="nas-pg-", dir="/tmp" if os.path.isdir("/tmp") else None)
    env = {**os.environ, "NAS_PG_DIR": folder, "NAS_PG_INSTALL": "0"}
    started = subprocess.run(["bash", POSTGRES_SERVER_SCRIPT, "start"], env=env, capture_output=True, text=True,
                             timeout=180)
    if started.returncode == 3:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip("No PostgreSQL server: set NAS_TEST_POSTGRES_URL, or install PostgreSQL's server programs "
                    "(tests/postgres_server.sh start installs Debian's and prints the URL)")
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"tests/postgres_server.sh could not start a PostgreSQL server:\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        stopped = subprocess.run(["bash", POSTGRES_SERVER_SCRIPT, "stop"], env=env, capture_output=True, text=True,
                                 timeout=120)
        if stopped.returncode != 0:
            print(f"tests/postgres_server.sh stop failed:\n{stopped.stderr}")


@pytest.fixture
def postgres_database_url(postgres_url):
    """The URL of a new, empty database on the PostgreSQL server, dropped after the test."""
    import uuid

    import sqlalchemy as sa

    server = sa.engine.make_url(postgres_url)
    name = f"nas_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:  # FORCE: a test that failed may have left connections open
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
