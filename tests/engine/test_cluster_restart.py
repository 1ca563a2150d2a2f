"""Restarting on the same database resumes the same cluster (SQLite and PostgreSQL: ``db_url``)."""
from __future__ import annotations

from simulate import run_until, running_ready

from engine.cluster import Cluster


def test_restart_resumes_every_object_and_the_revision_never_goes_back(db_url):
    url = db_url
    first = Cluster(seed=3, profile="demo", store_url=url, nodes=2)
    run_until(first, lambda: len(running_ready(first, "app=web")) == 3, 60)
    first.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}, "data": {"a": "1"}})
    before = {(r, o["metadata"].get("namespace", ""), o["metadata"]["name"]) for r, o in first.store.items()}
    revision, now = first.store.revision, first.clock.now
    first.close()

    second = Cluster(seed=3, profile="demo", store_url=url, nodes=2)
    after = {(r, o["metadata"].get("namespace", ""), o["metadata"]["name"]) for r, o in second.store.items()}
    assert before <= after
    assert second.store.revision >= revision
    assert abs(second.clock.now - now) < 1e-6
    assert second.api.get("configmaps", "default", "kept")["data"] == {"a": "1"}
    # The resumed cluster keeps healing: kill a web pod, the ReplicaSet replaces it.
    victim = running_ready(second, "app=web")[0]["metadata"]["name"]
    rv = second.store.revision
    second.delete_pod("default", victim)
    run_until(second, lambda: len(running_ready(second, "app=web")) == 3
              and victim not in {p["metadata"]["name"] for p in running_ready(second, "app=web")}, 60)
    assert second.store.revision > rv
    second.close()


def test_catch_up_tells_the_changes_of_before_a_restart_from_the_change_log(db_url):
    url = db_url
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept", "namespace": "default"}}
    first = Cluster(seed=3, store_url=url, nodes=1, empty=True)
    first.apply([cm, dict(cm, metadata={"name": "dropped", "namespace": "default"})])
    seen = first.store.revision
    first.api.delete("configmaps", "default", "dropped")
    first.api.patch("configmaps", "default", "kept", {"data": {"x": "1"}}, "merge")
    first.close()

    second = Cluster(seed=3, store_url=url, nodes=1, empty=True)
    events = [(e.type, e.resource, e.key[2]) for e in second.catch_up(seen) if e.resource == "configmaps"]
    assert events == [("DELETED", "configmaps", "dropped"), ("MODIFIED", "configmaps", "kept")]
    assert Cluster(seed=3, nodes=1, empty=True).catch_up(0) is None   # no database, nothing to tell
    second.close()


def test_restarting_twice_never_collides_with_what_the_first_run_recorded(db_url):
    """A resumed cluster draws a fresh random stream: Event names and uids are not handed out twice."""
    url = db_url
    first = Cluster(seed=5, store_url=url, nodes=1)
    first.run_for(30)
    first.close()
    for _ in range(2):
        again = Cluster(seed=5, store_url=url, nodes=1)   # used to fail with AlreadyExists on an Event
        again.run_for(30)
        again.close()
    assert again.restored


def test_an_emptied_database_keeps_its_revision(db_url):
    from engine.etcd.persistence import SqlPersistence
    url = db_url
    first = Cluster(seed=5, store_url=url, nodes=1)
    revision = first.store.revision
    first.close()
    db = SqlPersistence(url)
    from engine.etcd.persistence import OBJECTS
    with db.engine.begin() as conn:
        conn.execute(OBJECTS.delete())
    db.close()
    again = Cluster(seed=5, store_url=url, nodes=1)
    try:
        assert again.store.revision > revision    # bootstrapped anew, numbering after what was handed out
    finally:
        again.close()
