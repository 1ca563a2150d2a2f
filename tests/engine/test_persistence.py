"""Persistence on SQLite and PostgreSQL: what one process commits, a fresh process loads; revisions never go back.

Every test runs against both databases (``db_url``, tests/conftest.py) unless it checks SQLite's own settings.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from engine.cluster import Cluster
from engine.etcd import persistence as persistence_module
from engine.etcd.persistence import DamagedDatabase, SqlPersistence, drop_cluster, stored_clusters, verify
from engine.etcd.store import Store
from engine.selectors import LabelSelector


@pytest.fixture
def url(db_url: str) -> str:
    """An empty store database: a SQLite file, then a PostgreSQL database."""
    return db_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def pod(name: str, ns: str = "default", node: str = "node-1", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels or {"app": "web"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx:1.27"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": f"uid-{name}"},
            "spec": {"unschedulable": False}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}}}


def reopen(url: str) -> tuple[Store, SqlPersistence]:
    """What a restarted process does: a new SqlPersistence, load, restore into a new store."""
    db = SqlPersistence(url)
    revision, objects = db.load()
    store = Store()
    store.restore(objects, revision)
    return store, db


def test_fresh_database_is_empty_at_revision_zero(url: str) -> None:
    with SqlPersistence(url) as db:
        assert db.load() == (0, [])
        assert db.revision() == 0


def test_commit_then_reopen_gives_the_same_objects_and_revision(url: str) -> None:
    store = Store()
    with SqlPersistence(url) as db:
        store.create("nodes", node("node-1"))
        store.create("pods", pod("web-0"))
        store.create("pods", pod("web-1", ns="prod", tier="ünïcödé"))
        db.sync(store)
    restored, db2 = reopen(url)
    with db2:
        assert restored.revision == 3
        assert list(restored.items()) == list(store.items())
        assert restored.get("pods", "prod", "web-1")["metadata"]["labels"]["tier"] == "ünïcödé"
        assert restored.get("pods", "default", "web-0")["metadata"]["resourceVersion"] == "2"
        assert [p["metadata"]["name"] for p in restored.pods_on_node("node-1")] == ["web-0", "web-1"]


def test_updates_and_deletes_are_persisted(url: str) -> None:
    store = Store()
    with SqlPersistence(url) as db:
        a = store.create("pods", pod("a"))
        store.create("pods", pod("b"))
        db.sync(store)
        moved = dict(a, spec=dict(a["spec"], nodeName="node-2"))
        moved["metadata"] = dict(a["metadata"])
        store.update("pods", moved)
        store.delete("pods", "default", "b")
        db.sync(store)
        assert db.count() == 1
    restored, db2 = reopen(url)
    with db2:
        assert restored.find("pods", "default", "b") is None
        assert restored.get("pods", "default", "a")["spec"]["nodeName"] == "node-2"
        assert restored.get("pods", "default", "a")["metadata"]["resourceVersion"] == "3"
        assert restored.revision == 4  # the delete's revision counts even though no row holds it


def test_restored_store_continues_the_revision_upward(url: str) -> None:
    store = Store()
    with SqlPersistence(url) as db:
        for i in range(5):
            store.create("pods", pod(f"p{i}"))
        store.delete("pods", "default", "p4")
        db.sync(store)
    restored, db2 = reopen(url)
    with db2:
        assert restored.revision == 6
        created = restored.create("pods", pod("p9"))
        assert created["metadata"]["resourceVersion"] == "7"
        db2.sync(restored)
    again, db3 = reopen(url)
    with db3:
        assert again.revision == 7
        rvs = sorted(int(o["metadata"]["resourceVersion"]) for _, o in again.items())
        assert rvs == [1, 2, 3, 4, 7]


def test_stored_revision_never_goes_backwards(url: str) -> None:
    with SqlPersistence(url) as db:
        db.commit(10, {})
        db.commit(4, {})
        assert db.revision() == 10


def test_restored_store_serves_watches_from_its_revision_not_before(url: str) -> None:
    store = Store()
    with SqlPersistence(url) as db:
        for i in range(3):
            store.create("pods", pod(f"p{i}"))
        db.sync(store)
    restored, db2 = reopen(url)
    with db2:
        w = restored.watch(3)
        restored.create("pods", pod("p3"))
        assert [(e.type, e.rv) for e in w.poll()] == [("ADDED", 4)]
        assert restored.list("pods", labels=LabelSelector.parse("app=web"))[0]["metadata"]["name"] == "p0"


def test_one_transaction_per_commit(url: str) -> None:
    with SqlPersistence(url) as db:
        begins: list[int] = []
        event.listen(db.engine, "begin", lambda conn: begins.append(1))
        store = Store()
        for i in range(300):
            store.create("pods", pod(f"p{i}"))
        db.sync(store)
        assert len(begins) == 1
        assert db.count() == 300


def test_a_failed_commit_writes_nothing(url: str) -> None:
    with SqlPersistence(url) as db:
        db.commit(1, {("pods", "default", "a"): pod("a")})
        # Two change-log rows for one revision violate the log's primary key mid-transaction.
        with pytest.raises(IntegrityError):
            db.commit(3, {("pods", "default", "b"): pod("b"), ("pods", "default", "a"): None},
                      log=[(2, "ADDED", "pods", "default", "b"), (2, "DELETED", "pods", "default", "a")])
        revision, objects = db.load()
        assert revision == 1
        assert [o["metadata"]["name"] for _, o in objects] == ["a"]
        db.commit(4, {("pods", "default", "c"): pod("c")})  # the failure does not poison later commits
        assert db.revision() == 4 and db.count() == 2


def test_change_log_records_the_timeline_in_revision_order(url: str) -> None:
    store = Store()
    with SqlPersistence(url) as db:
        db.attach(store)
        a = store.create("pods", pod("a"))
        store.update("pods", dict(a, status={"phase": "Succeeded"}))
        db.sync(store)
        store.delete("pods", "default", "a")
        store.create("nodes", node("n1"))
        db.sync(store)
        assert db.changes_since(0) == [(1, "ADDED", "pods", "default", "a"), (2, "MODIFIED", "pods", "default", "a"),
                                       (3, "DELETED", "pods", "default", "a"), (4, "ADDED", "nodes", "", "n1")]
        assert db.changes_since(2, limit=1) == [(3, "DELETED", "pods", "default", "a")]


def test_change_log_is_pruned_to_its_retention(url: str) -> None:
    store = Store()
    with SqlPersistence(url, log_retention=10) as db:
        db.attach(store)
        for i in range(30):
            store.create("pods", pod(f"p{i}"))
            db.sync(store)
        kept = [row[0] for row in db.changes_since(0)]
        assert kept[-1] == 30
        assert kept[0] >= 30 - 10 - 1  # pruning runs every retention/10 revisions
        assert kept == list(range(kept[0], 31))


def test_simulated_time_survives_a_restart(url: str) -> None:
    with SqlPersistence(url) as db:
        db.commit(1, {("nodes", "", "n1"): node("n1")}, sim_now=123.456789)
    with SqlPersistence(url) as db:
        db.load()
        assert db.sim_now == pytest.approx(123.456789)


def test_sqlite_runs_in_wal_mode_with_the_recommended_settings(sqlite_url: str) -> None:
    with SqlPersistence(sqlite_url) as db, db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_generic_upsert_fallback_replaces_rows(url: str) -> None:
    with SqlPersistence(url) as db:
        db._upsert_stmt = None  # what a database without ON CONFLICT gets
        db.commit(1, {("pods", "default", "a"): pod("a", tier="one")})
        db.commit(2, {("pods", "default", "a"): pod("a", tier="two")})
        revision, objects = db.load()
    assert revision == 2
    assert [o["metadata"]["labels"] for _, o in objects] == [{"tier": "two"}]


def test_two_writers_on_one_database_never_fail(url: str) -> None:
    SqlPersistence(url).close()  # create the schema once
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            with SqlPersistence(url) as db:
                for i in range(40):
                    db.commit(i, {("pods", prefix, f"p{i}"): pod(f"p{i}", ns=prefix)})
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with SqlPersistence(url) as db:
        assert db.count() == 80


# ---------------------------------------------------------------------------------------------- many clusters
def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": data}


def test_two_clusters_in_one_database_keep_their_own_objects_revisions_and_change_logs(url: str) -> None:
    one, two = Store(), Store()
    with SqlPersistence(url, cluster="one") as a, SqlPersistence(url, cluster="two") as b:
        a.attach(one)
        b.attach(two)
        one.create("pods", pod("web-0"))   # the same key in both clusters
        one.create("pods", pod("web-1"))
        two.create("pods", pod("web-0", node="node-9"))
        a.sync(one, sim_now=10.0)
        b.sync(two, sim_now=20.0)
        assert (a.revision(), b.revision()) == (2, 1)
        assert (a.count(), b.count()) == (2, 1)
        assert a.changes_since(0) == [(1, "ADDED", "pods", "default", "web-0"), (2, "ADDED", "pods", "default", "web-1")]
        assert b.changes_since(0) == [(1, "ADDED", "pods", "default", "web-0")]
        two.delete("pods", "default", "web-0")   # deletes cluster two's web-0 only
        b.sync(two)
        assert a.count() == 2 and b.count() == 0
        a.clear()
        assert a.load() == (0, []) and a.changes_since(0) == []
        assert b.revision() == 2 and len(b.changes_since(0)) == 2
    _, db = reopen(url)   # the default cluster is a third one, untouched by both
    with db, SqlPersistence(url, cluster="two") as b:
        assert db.load() == (0, [])
        b.load()
        assert b.sim_now == pytest.approx(20.0)


def test_change_log_pruning_stays_within_its_cluster(url: str) -> None:
    with SqlPersistence(url, cluster="busy", log_retention=10) as busy, SqlPersistence(url, cluster="quiet") as quiet:
        quiet.commit(1, {}, log=[(1, "ADDED", "pods", "default", "q")])
        for rv in range(1, 31):
            busy.commit(rv, {}, log=[(rv, "ADDED", "pods", "default", f"p{rv}")])
        assert busy.changes_since(0)[0][0] > 1
        assert quiet.changes_since(0) == [(1, "ADDED", "pods", "default", "q")]


def test_a_cluster_id_is_a_bound_parameter_not_sql(url: str) -> None:
    odd = "o'brien; DROP TABLE objects --"
    with SqlPersistence(url, cluster=odd) as db:
        db.commit(1, {("pods", "default", "a"): pod("a")})
        assert db.load()[1][0][1]["metadata"]["name"] == "a" and db.count() == 1
    assert stored_clusters(url) == [odd]
    with pytest.raises(ValueError):
        SqlPersistence(url, cluster="")


def stored_keys(cluster: Cluster) -> set[tuple[str, str, str]]:
    return {(r, o["metadata"].get("namespace", ""), o["metadata"]["name"]) for r, o in cluster.store.items()}


def test_clusters_built_on_one_database_each_resume_their_own_state(db_url: str) -> None:
    a = Cluster(seed=3, store_url=db_url, nodes=1, empty=True, store_cluster="a")
    b = Cluster(seed=4, store_url=db_url, nodes=2, empty=True, store_cluster="b")
    a.apply(configmap("only-in-a", x="1"))
    b.apply(configmap("only-in-b", y="2"))
    a.run_for(5)
    state = {name: (c.store.revision, c.clock.now, stored_keys(c)) for name, c in (("a", a), ("b", b))}
    a.close()
    b.close()
    again = {"a": Cluster(seed=3, store_url=db_url, nodes=1, empty=True, store_cluster="a"),
             "b": Cluster(seed=4, store_url=db_url, nodes=2, empty=True, store_cluster="b")}
    try:
        for name, (revision, now, keys) in state.items():
            resumed = again[name]
            assert resumed.restored
            assert resumed.store.revision >= revision and abs(resumed.clock.now - now) < 1e-6
            assert keys <= stored_keys(resumed)
        assert again["a"].api.get("configmaps", "default", "only-in-a")["data"] == {"x": "1"}
        assert again["a"].store.find("configmaps", "default", "only-in-b") is None
        assert again["b"].store.find("configmaps", "default", "only-in-a") is None
        assert len(again["b"].store.list("nodes")) == len(again["a"].store.list("nodes")) + 1   # + a worker
    finally:
        for cluster in again.values():
            cluster.close()
    assert stored_clusters(db_url) == ["a", "b"]


# ---------------------------------------------------------------------------------------------- shared engine
def test_persistences_of_one_url_share_one_engine_and_outlive_each_other(url: str) -> None:
    a = SqlPersistence(url, cluster="a")
    b = SqlPersistence(url, cluster="b")
    try:
        assert a.engine is b.engine
        a.commit(1, {("pods", "default", "x"): pod("x")})
        pool = a.engine.pool
        a.close()
        a.close()   # twice is harmless
        assert b.engine.pool is pool   # not disposed (dispose swaps in a new pool): b still holds it
        b.commit(5, {("pods", "default", "y"): pod("y")})
        assert b.load()[0] == 5 and b.count() == 1
        with SqlPersistence(url, cluster="a") as a2:   # joins the engine b still holds
            assert a2.engine is b.engine and a2.count() == 1
    finally:
        b.close()
    with SqlPersistence(url) as c:   # everyone had closed: a new engine, the old one's pool was let go
        assert c.engine is not b.engine
        assert c.load() == (0, [])


# ---------------------------------------------------------------------------------------------- listing and dropping
def test_stored_clusters_and_drop_cluster(url: str) -> None:
    assert stored_clusters(url) == []
    with SqlPersistence(url, cluster="b") as b, SqlPersistence(url, cluster="a") as a:
        a.commit(3, {("pods", "default", "x"): pod("x")}, log=[(3, "ADDED", "pods", "default", "x")])
        b.commit(7, {("pods", "default", "x"): pod("x")}, log=[(7, "ADDED", "pods", "default", "x")])
        assert stored_clusters(url) == ["a", "b"]
        a.close()
        drop_cluster(url, "a")
        drop_cluster(url, "never-existed")
        assert stored_clusters(url) == ["b"]
        assert b.revision() == 7 and b.count() == 1 and len(b.changes_since(0)) == 1
    with SqlPersistence(url, cluster="a") as a:   # a dropped cluster starts again from nothing
        assert a.load() == (0, []) and a.changes_since(0) == []


# ---------------------------------------------------------------------------------------------- upgrade
# The tables exactly as the single-cluster release created them (SQLAlchemy's DDL for its models).
OLD_SCHEMA = {
    "sqlite": ["""CREATE TABLE objects (
        resource VARCHAR(63) NOT NULL, namespace VARCHAR(253) NOT NULL, name VARCHAR(253) NOT NULL,
        body TEXT NOT NULL, rv BIGINT NOT NULL, PRIMARY KEY (resource, namespace, name))""",
               """CREATE TABLE meta ("key" VARCHAR(63) NOT NULL, value BIGINT NOT NULL, PRIMARY KEY ("key"))""",
               """CREATE TABLE changes (
        rv INTEGER NOT NULL, type VARCHAR(8) NOT NULL, resource VARCHAR(63) NOT NULL,
        namespace VARCHAR(253) NOT NULL, name VARCHAR(253) NOT NULL, PRIMARY KEY (rv))"""],
    "postgresql": ["""CREATE TABLE objects (
        resource VARCHAR(63) NOT NULL, namespace VARCHAR(253) NOT NULL, name VARCHAR(253) NOT NULL,
        body TEXT NOT NULL, rv BIGINT NOT NULL, PRIMARY KEY (resource, namespace, name))""",
                   """CREATE TABLE meta (key VARCHAR(63) NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (key))""",
                   """CREATE TABLE changes (
        rv BIGINT NOT NULL, type VARCHAR(8) NOT NULL, resource VARCHAR(63) NOT NULL,
        namespace VARCHAR(253) NOT NULL, name VARCHAR(253) NOT NULL, PRIMARY KEY (rv))"""],
}


def write_old_database(url: str, revision: int = 12, sim_now_us: int = 90_000_000) -> None:
    """A database of the previous release: namespace "default" and a ConfigMap in it (at ``revision``),
    the ConfigMap's change-log row and the simulated clock."""
    stamp = "2025-01-01T00:00:00Z"
    rows = [("namespaces", "", "default", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": "default", "uid": "uid-default", "resourceVersion": str(revision - 1),
                "creationTimestamp": stamp}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
            ("configmaps", "default", "kept", dict(configmap("kept", a="1"), metadata={
                "name": "kept", "namespace": "default", "uid": "uid-kept", "resourceVersion": str(revision),
                "creationTimestamp": stamp}))]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for ddl in OLD_SCHEMA[engine.dialect.name]:
                conn.exec_driver_sql(ddl)
            conn.execute(text("INSERT INTO objects (resource, namespace, name, body, rv) "
                              "VALUES (:resource, :namespace, :name, :body, :rv)"),
                         [{"resource": resource, "namespace": ns, "name": name, "body": json.dumps(obj),
                           "rv": int(obj["metadata"]["resourceVersion"])} for resource, ns, name, obj in rows])
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('revision', :rv), ('sim_now_us', :now)"),
                         {"rv": revision, "now": sim_now_us})
            conn.execute(text("INSERT INTO changes (rv, type, resource, namespace, name) VALUES "
                              "(:rv, 'ADDED', 'configmaps', 'default', 'kept')"), {"rv": revision})
    finally:
        engine.dispose()


def test_a_database_of_the_single_cluster_release_becomes_cluster_demo(url: str) -> None:
    write_old_database(url)
    verify(url)   # the old schema is not "damaged"
    with SqlPersistence(url) as db:
        revision, objects = db.load()
        assert revision == 12 and db.sim_now == pytest.approx(90.0)
        assert sorted((r, o["metadata"]["name"]) for r, o in objects) == [("configmaps", "kept"),
                                                                          ("namespaces", "default")]
        assert db.changes_since(0) == [(12, "ADDED", "configmaps", "default", "kept")]
        with db.engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT cluster, name FROM objects")).all()) == [("demo", "default"),
                                                                                             ("demo", "kept")]
            assert not {"objects_v1", "meta_v1", "changes_v1"} & set(inspect(conn).get_table_names())
    with SqlPersistence(url, cluster="other") as other:   # opening again upgrades nothing twice
        assert other.load() == (0, [])
    assert stored_clusters(url) == ["demo", "other"]
    verify(url)


def test_a_cluster_resumes_from_a_database_of_the_single_cluster_release(db_url: str) -> None:
    write_old_database(db_url)
    cluster = Cluster(seed=3, store_url=db_url, nodes=1, empty=True)
    try:
        assert cluster.restored
        assert cluster.store.revision >= 12 and cluster.clock.now >= 90.0
        assert cluster.api.get("configmaps", "default", "kept")["data"] == {"a": "1"}
        created = cluster.api.create(configmap("new"))
        assert int(created["metadata"]["resourceVersion"]) > 12
    finally:
        cluster.close()


def test_an_interrupted_upgrade_leaves_the_old_database_as_it_was(sqlite_url: str, monkeypatch) -> None:
    write_old_database(sqlite_url)

    def fail(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(persistence_module.Base.metadata, "create_all", fail)
    with pytest.raises(RuntimeError):
        SqlPersistence(sqlite_url)
    monkeypatch.undo()
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"objects", "meta", "changes"}
            assert "cluster" not in {c["name"] for c in inspect(conn).get_columns("objects")}
    finally:
        engine.dispose()
    with SqlPersistence(sqlite_url) as db:
        assert db.load()[0] == 12


def test_verify_reads_every_cluster_of_the_new_schema(sqlite_url: str) -> None:
    with SqlPersistence(sqlite_url, cluster="a") as a, SqlPersistence(sqlite_url, cluster="b") as b:
        a.commit(1, {("pods", "default", "x"): pod("x")})
        b.commit(1, {("pods", "default", "x"): pod("x")})
    verify(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE objects SET body = '{broken' WHERE cluster = 'b'"))
    finally:
        engine.dispose()
    with pytest.raises(DamagedDatabase):
        verify(sqlite_url)
