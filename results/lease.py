"""One driver per run: a lease on the run's row in the store, renewed while the search runs.

A search takes the lease when it creates or resumes a run, renews it every `LEASE_SECONDS / 4` from a thread, and
gives it back when it ends. A second driver of the same run (a second `--resume`, on this machine or another that
shares the store) is refused while the lease holds. A driver that dies without giving it back (SIGKILL, a lost
machine) stops renewing: its lease lapses after `LEASE_SECONDS`, and at once when the owner was a process of this
machine that no longer exists, so `--resume` right after a kill works. The lease is a conditional UPDATE, one
transaction, so it works alike on SQLite and PostgreSQL; expiry reads each driver's own clock, which machines that
share a store keep within seconds of each other (NTP), far under the lease's minute.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

from results.errors import first_line
from results.records import RunRecord, RunStatus

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0


def new_owner() -> str:
    """This driver's name in the store: its host, its process and a token of its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str | None) -> bool:
    """Whether an owner is known dead: a process of this machine that no longer exists (None: no owner at all)."""
    if owner is None:
        return True
    host, pid = _host_and_process(owner)
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's driver: only its lease's expiry tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def lease_holds(run: RunRecord, now: datetime | None = None) -> bool:
    """Whether the run is held by a driver that may still be alive."""
    now = now or datetime.now(timezone.utc)
    return (run.owner is not None and run.lease_expires_at is not None and run.lease_expires_at > now
            and not owner_is_gone(run.owner))


def lease_holder(run: RunRecord) -> str:
    """Who holds the run and until when, for a message that tells the user which process to stop."""
    host, pid = _host_and_process(run.owner or "")
    return (f"driver {run.owner}, process {pid} on {host}; its lease holds until {run.lease_expires_at:%H:%M:%S} "
            f"UTC")


def _host_and_process(owner: str) -> tuple[str, str]:
    """The host and process id in an owner's name (new_owner's "host:pid:token")."""
    host, _, rest = owner.partition(":")
    return host, rest.partition(":")[0]


def shown_status(run: RunRecord) -> RunStatus:
    """The status to show: a run stored as running whose driver is gone was interrupted."""
    if run.status is RunStatus.RUNNING and not lease_holds(run):
        return RunStatus.INTERRUPTED
    return run.status


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) + timedelta(seconds=LEASE_SECONDS)


class RunLease:
    """The lease a driver holds on one run: renewed from a daemon thread until `release()`."""

    def __init__(self, store, run: str, owner: str):
        self.store, self.run, self.owner = store, run, owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"nas-lease-{run}", daemon=True)

    def start(self) -> RunLease:
        """Renew from now on (once; a second call changes nothing)."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 4):
            try:
                if not self.store.renew_lease(self.run, self.owner, lease_expiry()):
                    logger.error("Run %s was taken over by another driver after this one stopped renewing its lease; "
                                 "this search's results may be overwritten.", self.run)
                    return
            except Exception as error:  # a store briefly unreachable: try again at the next beat
                logger.warning("Could not renew the lease on run %s: %s", self.run, first_line(error))

    def release(self) -> None:
        """Stop renewing and give the run back (nothing to give back if it never became this driver's)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            self.store.release_lease(self.run, self.owner)
        except Exception as error:  # it lapses by itself
            logger.warning("Could not give back the lease on run %s (it lapses in %.0f s): %s", self.run,
                           LEASE_SECONDS, first_line(error))
