"""One driver per run: the lease a search holds on its run in the store."""
from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone

import pytest

from results import LeaseError, ResultStore, RunStatus
from results.lease import RunLease, lease_expiry, lease_holds, new_owner, shown_status
from tests.results.conftest import FAR_AWAY, LIVE, dead_owner, make_run


def held_by(store, owner: str, expires_in_s: float = 60.0) -> None:
    store.create_run(make_run("r1"))
    store.acquire_lease("r1", owner, datetime.now(timezone.utc) + timedelta(seconds=expires_in_s))


def test_a_free_run_is_leased_and_a_second_driver_is_refused_while_it_holds(store):
    held_by(store, LIVE)
    with pytest.raises(LeaseError, match="Run 'r1' is in use by another search .*Expected one search per run"):
        store.acquire_lease("r1", new_owner(), lease_expiry())
    assert store.get_run("r1").owner == LIVE
    store.acquire_lease("r1", LIVE, lease_expiry())  # its own owner renews by taking it again


def test_a_lease_of_another_machine_holds_until_it_expires(store):
    held_by(store, FAR_AWAY, expires_in_s=30)
    with pytest.raises(LeaseError):
        store.acquire_lease("r1", new_owner(), lease_expiry())
    store.renew_lease("r1", FAR_AWAY, datetime.now(timezone.utc) - timedelta(seconds=1))  # it stopped renewing
    me = new_owner()
    store.acquire_lease("r1", me, lease_expiry())
    assert store.get_run("r1").owner == me
    assert not store.renew_lease("r1", FAR_AWAY, lease_expiry())  # the old driver learns it lost the run


def test_a_killed_driver_of_this_machine_is_taken_over_at_once(store):
    held_by(store, dead_owner(), expires_in_s=3600)  # SIGKILL: it never gave the lease back
    assert not lease_holds(store.get_run("r1")) and shown_status(store.get_run("r1")) is RunStatus.INTERRUPTED
    me = new_owner()
    store.acquire_lease("r1", me, lease_expiry())
    assert lease_holds(store.get_run("r1")) and shown_status(store.get_run("r1")) is RunStatus.RUNNING


def test_a_released_lease_frees_the_run(store):
    held_by(store, LIVE)
    lease = RunLease(store, "r1", LIVE).start()
    lease.release()
    assert (store.get_run("r1").owner, store.get_run("r1").lease_expires_at) == (None, None)
    store.acquire_lease("r1", new_owner(), lease_expiry())


def test_the_lease_is_renewed_while_the_driver_runs(store, monkeypatch):
    monkeypatch.setattr("results.lease.LEASE_SECONDS", 0.4)  # renewed every 0.1 s
    held_by(store, LIVE, expires_in_s=0.4)
    lease = RunLease(store, "r1", LIVE).start()
    try:
        first = store.get_run("r1").lease_expires_at
        import time

        time.sleep(0.6)
        assert store.get_run("r1").lease_expires_at > first + timedelta(seconds=0.1)
        assert lease_holds(store.get_run("r1"))
    finally:
        lease.release()


def _race(url: str, barrier, results) -> None:
    with ResultStore(url) as store:
        owner = new_owner()
        barrier.wait()
        try:
            store.acquire_lease("r1", owner, lease_expiry())
            results.put(owner)
        except LeaseError:
            results.put(None)
        barrier.wait()  # every racer alive until all have tried: a winner that exited could be taken over


def test_of_drivers_that_race_for_a_lapsed_lease_exactly_one_wins(url):
    with ResultStore(url) as store:
        held_by(store, FAR_AWAY, expires_in_s=-1)  # lapsed: anyone may take it, but only one may
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(6), context.Queue()
    racers = [context.Process(target=_race, args=(url, barrier, results)) for _ in range(6)]
    for racer in racers:
        racer.start()
    won = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
    winners = [owner for owner in won if owner is not None]
    assert len(winners) == 1
    with ResultStore(url, read_only=True) as store:
        assert store.get_run("r1").owner == winners[0]
