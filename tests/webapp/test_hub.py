"""The hub: several clusters on one server, each its own world (clock, speed, drill, objects, stream).

What a class would notice if it were not so: one student's drill, speed or reset reaching another,
an object made on one cluster appearing on another, a cluster that forgets its objects once it was
unloaded for being idle, a drill report that is gone after a restart.
"""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask_socketio import SocketIO

from live_helpers import CONFIGMAP, NS, action, messages, subscribe
from webapp import create_app, shutdown_app
from webapp.extensions import socketio

TEST_CONFIG = {"TESTING": True, "SEED": 1, "START_THREADS": False}
CM_JSON = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine"}, "data": {"k": "v"}}


@pytest.fixture
def db_app(db_url: str) -> Any:
    """An app on a real database: SQLite, then PostgreSQL (``db_url``)."""
    app = create_app(dict(TEST_CONFIG, DB_URL=db_url))
    yield app
    shutdown_app(app)


def _hub(app: Any) -> Any:
    return app.extensions["kubedrill.hub"]


def _configmaps(client: Any, cid: str) -> set[str]:
    resp = client.get(f"/c/{cid}/api/v1/namespaces/default/configmaps")
    assert resp.status_code == 200, resp.get_json()
    return {item["metadata"]["name"] for item in resp.get_json()["items"]}


def test_objects_made_on_one_cluster_stay_there(db_app: Any) -> None:
    hub = _hub(db_app)
    hub.create("alice-0001", owner="alice")
    hub.create("bob-0002", owner="bob")
    client = db_app.test_client()
    resp = client.post("/c/alice-0001/api/v1/namespaces/default/configmaps", json=CM_JSON)
    assert resp.status_code == 201, resp.get_json()
    assert "mine" in _configmaps(client, "alice-0001")
    assert "mine" not in _configmaps(client, "bob-0002")
    assert "mine" not in _configmaps(client, "demo")
    # Without a prefix the path is the demo cluster, as on a single-user server.
    assert _configmaps(client, "demo") == {i["metadata"]["name"] for i in
                                           client.get("/api/v1/namespaces/default/configmaps").get_json()["items"]}


def test_a_drill_speed_or_reset_on_one_cluster_leaves_the_other_alone(db_app: Any) -> None:
    hub = _hub(db_app)
    alice, bob = hub.create("alice-0001", owner="alice"), hub.create("bob-0002", owner="bob")
    bob_generation, bob_now = bob.generation, bob.cluster.clock.now
    alice.start_drill("01-pod-kill")
    alice.set_speed(10)
    alice.advance(5)
    alice.reset()
    assert bob.drill is None and bob.speed == 1.0
    assert bob.generation == bob_generation and bob.cluster.clock.now == bob_now
    assert alice.generation > 1 and alice.speed == 10


def test_an_unknown_or_malformed_cluster_id_is_a_404_status(db_app: Any) -> None:
    client = db_app.test_client()
    for path in ("/c/nobody/api/v1/pods", "/c/Not_An_Id/ui/health", "/c/nobody/"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.get_json()["reason"] == "NotFound"
    assert client.get("/c/demo").status_code == 308   # the dashboard's relative links need the slash


def test_an_idle_cluster_is_unloaded_and_comes_back_with_its_objects(db_app: Any) -> None:
    hub = _hub(db_app)
    hub.idle_seconds = 60
    hub.create("alice-0001", owner="alice")
    client = db_app.test_client()
    assert client.post("/c/alice-0001/api/v1/namespaces/default/configmaps", json=CM_JSON).status_code == 201
    runtime = hub.get("alice-0001")
    now_before = runtime.cluster.clock.now
    assert hub.evict_idle(now=time.monotonic() + 30) == []           # not idle long enough
    assert hub.evict_idle(now=time.monotonic() + 120) == ["alice-0001"]
    assert "alice-0001" not in hub.loaded() and "demo" in hub.loaded()   # the demo cluster always stays
    assert hub.summary("alice-0001")["loaded"] is False
    assert "mine" in _configmaps(client, "alice-0001")                # the next request loads it back
    assert hub.get("alice-0001").cluster.clock.now == pytest.approx(now_before, abs=0.5)   # time stood still


def test_a_watched_or_drilling_cluster_is_never_unloaded(db_app: Any) -> None:
    hub = _hub(db_app)
    hub.idle_seconds = 60
    runtime = hub.create("alice-0001", owner="alice")
    runtime.watchers = 1
    assert hub.evict_idle(now=time.monotonic() + 120) == []
    runtime.watchers = 0
    runtime.start_drill("01-pod-kill")
    assert hub.evict_idle(now=time.monotonic() + 120) == []


def test_a_student_cluster_keeps_minutes_of_watch_history_not_hours(db_app: Any) -> None:
    """A class of 100 must not grow without bound: a student's cluster keeps about as much history as
    a real apiserver (etcd compacts every 5 minutes), so an old resourceVersion is 410 Gone there,
    while the demo cluster keeps the long default."""
    hub = _hub(db_app)
    alice = hub.create("alice-0001", owner="alice")
    demo = hub.get("demo")
    client = db_app.test_client()
    old = {cid: client.get(f"/c/{cid}/api/v1/namespaces/default/configmaps").get_json()["metadata"]["resourceVersion"]
           for cid in ("alice-0001", "demo")}
    for runtime in (alice, demo):
        runtime.advance(600)   # an idle demo cluster writes a few revisions per simulated second
    assert alice.cluster.store.revision - int(old["alice-0001"]) > alice.cluster.store.window
    def watch_from(cid: str) -> list[dict[str, Any]]:
        resp = client.get(f"/c/{cid}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"
                          f"&resourceVersion={old[cid]}")
        assert resp.status_code == 200
        return [json.loads(line) for chunk in resp.response for line in chunk.splitlines() if line.strip()]

    # kube-apiserver answers a watch from a compacted revision with one ERROR event: 410 Expired.
    [gone] = watch_from("alice-0001")
    assert gone["type"] == "ERROR" and gone["object"]["code"] == 410 and gone["object"]["reason"] == "Expired"
    assert gone["object"]["message"].startswith(f"too old resource version: {old['alice-0001']} ")
    assert all(event["type"] != "ERROR" for event in watch_from("demo"))


def test_the_class_is_full_at_max_clusters() -> None:
    app = create_app(dict(TEST_CONFIG, DB_URL=None, MAX_CLUSTERS=1))
    try:
        _hub(app).create("alice-0001", owner="alice")
        with pytest.raises(Exception) as err:
            _hub(app).create("bob-0002", owner="bob")
        status = err.value.to_status()
        assert status["code"] == 403 and "the class is full (1 clusters)" in status["message"]
    finally:
        shutdown_app(app)


def test_every_cluster_resumes_after_a_restart_with_its_own_objects(db_url: str) -> None:
    app = create_app(dict(TEST_CONFIG, DB_URL=db_url))
    client = app.test_client()
    for cid in ("alice-0001", "bob-0002"):
        _hub(app).create(cid, owner=cid.split("-")[0])
        body = dict(CM_JSON, metadata={"name": f"of-{cid}"})
        assert client.post(f"/c/{cid}/api/v1/namespaces/default/configmaps", json=body).status_code == 201
    _hub(app).get("bob-0002").set_speed(4)
    shutdown_app(app)

    again = create_app(dict(TEST_CONFIG, DB_URL=db_url))
    try:
        client = again.test_client()
        assert set(_hub(again).ids()) == {"demo", "alice-0001", "bob-0002"}
        assert _hub(again).loaded() == ["demo"]          # students' clusters load on their first request
        assert "of-alice-0001" in _configmaps(client, "alice-0001")
        assert "of-alice-0001" not in _configmaps(client, "bob-0002")
        assert _hub(again).owner("bob-0002") == "bob" and _hub(again).get("bob-0002").speed == 4
    finally:
        shutdown_app(again)


def test_a_drill_report_is_kept_in_the_database_across_a_restart(db_url: str) -> None:
    url = db_url
    app = create_app(dict(TEST_CONFIG, DB_URL=url))
    runtime = _hub(app).create("alice-0001", owner="alice")
    runtime.start_drill("01-pod-kill")
    runtime.advance(3)
    runtime.stop_drill()
    runtime.exit_drill()
    shutdown_app(app)

    again = create_app(dict(TEST_CONFIG, DB_URL=url))
    try:
        reports = _hub(again).reports("alice-0001")
        assert [(r["drill"], r["student"], r["cluster"]) for r in reports] == [("01-pod-kill", "alice", "alice-0001")]
        resp = again.test_client().get("/c/alice-0001/ui/drills/report.json")
        assert resp.status_code == 200 and resp.get_json()["drill"] == "01-pod-kill"
        assert again.test_client().get("/ui/drills/report.json").status_code == 404   # not the demo's
    finally:
        shutdown_app(again)


def test_a_socket_connection_streams_and_acts_on_its_own_cluster_only(db_app: Any) -> None:
    hub = _hub(db_app)
    hub.create("alice-0001", owner="alice")
    flask_client = db_app.test_client()
    alice = socketio.test_client(db_app, namespace=NS, flask_test_client=flask_client, auth={"cluster": "alice-0001"})
    demo = socketio.test_client(db_app, namespace=NS, flask_test_client=flask_client)
    try:
        assert subscribe(alice)["ok"] and subscribe(demo)["ok"]
        messages(alice), messages(demo)
        assert action(alice, "apply", yaml=CONFIGMAP.format(name="from-alice"))["ok"]
        hub.pump()
        names = lambda sio: {c["object"]["metadata"]["name"] for _, d in messages(sio, "delta") for c in d["changes"]}
        assert "from-alice" in names(alice)
        assert "from-alice" not in names(demo)
        assert "from-alice" in _configmaps(flask_client, "alice-0001")
    finally:
        for sio in (alice, demo):
            if sio.is_connected(NS):
                sio.disconnect(namespace=NS)


def test_a_socket_connection_to_a_missing_cluster_is_refused_with_a_status(db_app: Any) -> None:
    client = socketio.test_client(db_app, namespace=NS, flask_test_client=db_app.test_client(),
                                  auth={"cluster": "nobody"})
    assert not client.is_connected(NS)
