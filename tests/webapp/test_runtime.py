"""The runtime: pacing simulated time to wall time, waiting for changes, reset, persistence.

The database tests run on SQLite and PostgreSQL (``db_url``, tests/conftest.py).
"""
from __future__ import annotations

import threading

import pytest

from engine.errors import BadRequest
from webapp.runtime import Runtime

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "note", "namespace": "default"},
             "data": {"k": "v"}}


@pytest.fixture
def rt():
    runtime = Runtime(seed=1, nodes=2, store_url=None)
    yield runtime
    runtime.stop()


def test_a_tick_advances_speed_times_elapsed(rt):
    rt.set_speed(4)
    start = rt.cluster.clock.now
    rt.tick_once(0.05)
    assert rt.cluster.clock.now == pytest.approx(start + 0.2)
    assert rt.lag == 0


def test_a_slow_tick_is_capped_and_reported_as_lag(rt):
    start = rt.cluster.clock.now
    rt.tick_once(2.0)                      # the engine (or the machine) stalled for 2 s of wall time
    assert rt.cluster.clock.now == pytest.approx(start + rt.max_tick)
    assert rt.lag == pytest.approx(2.0 - rt.max_tick)
    rt.tick_once(0.0)                      # the debt is paid over the next ticks
    assert rt.lag == pytest.approx(2.0 - 2 * rt.max_tick)


def test_lag_beyond_the_bound_is_dropped_so_time_slips(rt):
    rt.tick_once(60.0)
    assert rt.lag == pytest.approx(rt.max_lag)


def test_paused_runtime_does_not_move(rt):
    rt.pause()
    now = rt.cluster.clock.now
    rt.tick_once(5.0)
    assert rt.cluster.clock.now == now
    rt.resume()
    rt.tick_once(0.1)
    assert rt.cluster.clock.now == pytest.approx(now + 0.1)


@pytest.mark.parametrize("speed", [0.1, 51, "2", True, float("nan")])
def test_speed_outside_range_is_refused(rt, speed):
    with pytest.raises(BadRequest):
        rt.set_speed(speed)
    assert rt.speed == 1.0


def test_wait_for_revision_wakes_on_a_write_from_another_thread(rt):
    rv = rt.revision()
    writer = threading.Timer(0.05, lambda: rt.call(rt.cluster.apply, [CONFIGMAP]))
    writer.start()
    got = rt.wait_for_revision(rv, timeout=10)
    writer.join()
    assert got > rv


def test_wait_for_revision_times_out_when_nothing_changes(rt):
    rv = rt.revision()
    assert rt.wait_for_revision(rv, timeout=0.05) == rv


def test_call_runs_under_the_lock_and_returns_the_result(rt):
    def inside():
        # The RLock is held by this thread: another thread cannot take it.
        taken = []
        t = threading.Thread(target=lambda: taken.append(rt.lock.acquire(timeout=0.01)))
        t.start()
        t.join()
        return taken[0]

    assert rt.call(inside) is False


def test_engine_thread_moves_simulated_time(rt):
    rt.set_speed(50)
    start = rt.cluster.clock.now
    rv = rt.revision()
    # A write due 1 simulated second from now: at 50x the thread reaches it after ~20 ms of wall time.
    rt.cluster.clock.schedule(1.0, lambda: rt.cluster.apply([CONFIGMAP]))
    rt.start()
    assert rt.wait_for_revision(rv, timeout=10) > rv
    rt.stop(close=False)
    assert rt.cluster.clock.now > start
    assert not rt.running


def test_reset_builds_a_fresh_cluster_and_bumps_generation(rt):
    rt.call(rt.cluster.apply, [CONFIGMAP])
    generation = rt.generation
    nodes = [n["metadata"]["name"] for n in rt.cluster.store.list("nodes")]
    old = rt.cluster
    rt.reset()
    assert rt.cluster is not old and rt.generation == generation + 1
    assert rt.cluster.store.find("configmaps", "default", "note") is None
    assert [n["metadata"]["name"] for n in rt.cluster.store.list("nodes")] == nodes   # same seed, same nodes


def test_reset_with_a_database_does_not_resume_the_old_cluster(db_url):
    url = db_url
    rt = Runtime(seed=1, nodes=1, store_url=url)
    try:
        rt.call(rt.cluster.apply, [CONFIGMAP])
        rt.reset()
        assert rt.cluster.store.find("configmaps", "default", "note") is None
    finally:
        rt.stop()
    again = Runtime(seed=1, nodes=1, store_url=url)   # a restart resumes the reset cluster
    try:
        assert again.cluster.store.find("configmaps", "default", "note") is None
        assert again.cluster.store.list("namespaces")
    finally:
        again.stop()


def test_a_restart_resumes_the_persisted_cluster(db_url):
    url = db_url
    rt = Runtime(seed=1, nodes=1, store_url=url)
    rt.call(rt.cluster.apply, [CONFIGMAP])
    rt.advance(3.0)
    revision = rt.revision()
    rt.stop()
    again = Runtime(seed=1, nodes=1, store_url=url)
    try:
        # Resuming may write (kubelets re-post their status) but the revision never goes backwards.
        assert again.revision() >= revision
        assert again.cluster.store.get("configmaps", "default", "note")["data"] == {"k": "v"}
        assert again.cluster.clock.now >= 3.0
    finally:
        again.stop()


# ---------------------------------------------------------------------------------------------- durability
def _stored_revision(url: str) -> int:
    from engine.etcd.persistence import SqlPersistence
    db = SqlPersistence(url)
    try:
        return db.revision()
    finally:
        db.close()


def test_an_acknowledged_write_is_in_the_database_when_call_returns(db_url):
    url = db_url
    rt = Runtime(seed=1, nodes=1, store_url=url, wall_epoch=False)
    try:
        stored = rt.call(lambda: rt.cluster.api.create(CONFIGMAP))
        assert _stored_revision(url) >= int(stored["metadata"]["resourceVersion"])
    finally:
        rt.stop()


def test_writes_while_paused_survive_a_crash(db_url):
    """No engine tick runs while paused: the write itself commits (a crash is a runtime never stopped)."""
    url = db_url
    rt = Runtime(seed=1, nodes=1, store_url=url, wall_epoch=False)
    rt.pause()
    rt.call(lambda: rt.cluster.api.create(CONFIGMAP))
    again = Runtime(seed=1, nodes=1, store_url=url, wall_epoch=False)   # the first one is never closed
    try:
        assert again.cluster.store.find("configmaps", "default", "note") is not None
    finally:
        again.stop()


def test_concurrent_writers_share_commits(db_url, monkeypatch):
    """Group commit: writers that wait for the database together are committed in one transaction."""
    url = db_url
    rt = Runtime(seed=1, nodes=1, store_url=url, wall_epoch=False)
    commits: list[int] = []
    persistence = rt.cluster.persistence
    original = persistence.commit_batch
    gate = threading.Event()

    def slow_commit(batch):
        commits.append(len(batch.changes))
        gate.wait(5)            # the first commit takes a while: the other writers queue meanwhile
        original(batch)

    monkeypatch.setattr(persistence, "commit_batch", slow_commit)
    names = [f"cm-{i}" for i in range(8)]
    threads = [threading.Thread(target=rt.call, args=(lambda n=n: rt.cluster.api.create(
        dict(CONFIGMAP, metadata={"name": n, "namespace": "default"})),)) for n in names]
    try:
        for t in threads:
            t.start()
        while not commits:
            threading.Event().wait(0.01)
        threading.Event().wait(0.2)
        gate.set()
        for t in threads:
            t.join(10)
        assert len(commits) < len(names)          # fewer transactions than writes
        assert sum(commits) >= len(names)         # and every write in one of them
        assert _stored_revision(url) == rt.cluster.store.revision
    finally:
        rt.stop()


def test_a_failed_commit_is_not_acknowledged_and_is_retried(db_url, monkeypatch):
    from engine.errors import ServiceUnavailable
    url = db_url
    rt = Runtime(seed=1, nodes=1, store_url=url, wall_epoch=False)
    persistence = rt.cluster.persistence
    original = persistence.commit_batch
    failures = [RuntimeError("disk full")]

    def flaky(batch):
        if failures:
            raise failures.pop()
        original(batch)

    monkeypatch.setattr(persistence, "commit_batch", flaky)
    try:
        with pytest.raises(ServiceUnavailable):
            rt.call(lambda: rt.cluster.api.create(CONFIGMAP))
        rt.call(lambda: None)                     # the next caller commits the queued batch
        assert _stored_revision(url) == rt.cluster.store.revision
    finally:
        rt.stop()


def test_an_object_no_database_can_hold_does_not_block_later_commits(tmp_path):
    """The API rejects lone surrogates; should one reach the store anyway, the rest still commits."""
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    rt = Runtime(seed=1, nodes=1, store_url=url, wall_epoch=False)
    try:
        bad = dict(CONFIGMAP, metadata={"name": "bad", "namespace": "default"}, data={"k": "\ud800"})
        rt.call(lambda: rt.cluster.store.create("configmaps", bad))     # behind the API server's back
        rt.call(lambda: rt.cluster.api.create(CONFIGMAP))
        assert _stored_revision(url) == rt.cluster.store.revision
        assert ("configmaps", "default", "bad") in rt.unpersisted
        assert rt.health()["components"]["persistence"]["last_key"] == "configmaps/default/bad"
    finally:
        rt.stop()
