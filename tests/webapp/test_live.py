"""The live protocol on namespace /live: snapshot, deltas, resume, resync, broadcast (in-process client)."""
from __future__ import annotations

from typing import Any

import pytest
from live_helpers import CONFIGMAP, NS, action, apply_configmap, messages, subscribe

from webapp.extensions import socketio


def _names(changes: list[dict], resource: str = "configmaps") -> list[tuple[str, str]]:
    return [(c["type"], c["object"]["metadata"]["name"]) for c in changes if c["resource"] == resource]


def test_subscribe_without_revision_gets_one_snapshot_of_the_whole_store(sio_client, runtime):
    ack = subscribe(sio_client)
    store = runtime.cluster.store

    assert ack == {"ok": True, "revision": store.revision, "generation": runtime.generation}
    [(name, snap)] = messages(sio_client)
    assert name == "snapshot"
    assert snap["revision"] == store.revision
    kinds = {o["resource"] for o in snap["objects"]}
    assert "nodes" in kinds and "namespaces" in kinds
    assert "leases" not in kinds  # node heartbeats are not streamed
    nodes = [o["object"]["metadata"]["name"] for o in snap["objects"] if o["resource"] == "nodes"]
    assert len(nodes) == len(store.list("nodes"))
    assert snap["clock"]["profile"] == "demo" and snap["clock"]["paused"] is False
    assert snap["profile"]["name"] == "demo"
    assert snap["profile"]["values"]["node_monitor_grace_period"] == 8.0


def test_applying_a_configmap_reaches_subscribers_as_one_delta(sio_client, runtime, live):
    subscribe(sio_client)
    messages(sio_client)
    before = runtime.cluster.store.revision

    ack = apply_configmap(sio_client, "colours")
    live.flush()

    assert ack["result"][0]["kind"] == "ConfigMap" and ack["result"][0]["name"] == "colours"
    [(name, delta)] = messages(sio_client)
    assert name == "delta"
    assert delta["from_rv"] == before and delta["to_rv"] == runtime.cluster.store.revision
    assert ("ADDED", "colours") in _names(delta["changes"])
    added = next(c for c in delta["changes"] if c["resource"] == "configmaps")
    assert added["object"]["data"] == {"colour": "blue"}
    assert delta["clock"]["now"] == round(runtime.cluster.clock.now, 3)


def test_every_subscriber_gets_the_same_broadcast(app, client, sio_client, live):
    other = socketio.test_client(app, namespace=NS, flask_test_client=client)
    subscribe(sio_client)
    subscribe(other)
    messages(sio_client)
    messages(other)

    apply_configmap(sio_client, "shared")
    live.flush()

    mine, theirs = messages(sio_client, "delta"), messages(other, "delta")
    assert mine == theirs and len(mine) == 1
    assert ("ADDED", "shared") in _names(mine[0][1]["changes"])
    other.disconnect(namespace=NS)


def test_unsubscribed_clients_get_no_deltas(sio_client, live):
    apply_configmap(sio_client, "quiet")
    live.flush()
    assert messages(sio_client, "delta") == []


def test_resume_from_last_revision_gets_exactly_the_missing_changes(app, client, sio_client, runtime, live):
    subscribe(sio_client)
    last = messages(sio_client)[-1][1]["revision"]
    sio_client.disconnect(namespace=NS)

    # While the client is away: two configmaps created, one deleted, one modified twice.
    writer = socketio.test_client(app, namespace=NS, flask_test_client=client)
    apply_configmap(writer, "a")
    apply_configmap(writer, "b")
    assert action(writer, "object.delete", resource="configmaps", namespace="default", name="a")["ok"]
    for colour in ("green", "red"):
        ack = action(writer, "apply", yaml=CONFIGMAP.format(name="b").replace("blue", colour))
        assert ack["ok"], ack
    live.flush()
    missed = [e for e in runtime.cluster.store.events_since(last) if e.resource == "configmaps"]

    back = socketio.test_client(app, namespace=NS, flask_test_client=client)
    ack = subscribe(back, last)
    [(name, delta)] = messages(back)

    assert ack["ok"] and name == "delta"
    assert delta["from_rv"] == last and delta["to_rv"] == runtime.cluster.store.revision
    # Deletion of "a" is kept; b's later modifications fold into its ADDED entry with the latest data.
    assert _names(delta["changes"]) == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    b = next(c["object"] for c in delta["changes"] if c["object"]["metadata"]["name"] == "b")
    assert b["data"] == {"colour": "red"}
    assert b["metadata"]["resourceVersion"] == str(max(e.rv for e in missed if e.obj["metadata"]["name"] == "b"))
    writer.disconnect(namespace=NS)
    back.disconnect(namespace=NS)


def test_resume_when_nothing_was_missed_is_an_empty_delta(sio_client, runtime):
    rv = runtime.cluster.store.revision
    subscribe(sio_client, rv)
    [(name, delta)] = messages(sio_client)
    assert name == "delta" and delta["from_rv"] == delta["to_rv"] == rv and delta["changes"] == []


@pytest.mark.app_config(CLUSTER_OPTIONS={"window": 8})
def test_revision_older_than_the_history_window_gets_resync_then_snapshot(sio_client, runtime):
    old = runtime.cluster.store.revision
    for i in range(10):
        apply_configmap(sio_client, f"cm-{i}")

    ack = subscribe(sio_client, old)
    got = messages(sio_client)

    assert ack["ok"]
    assert [name for name, _ in got] == ["resync", "snapshot"]
    assert got[0][1]["reason"] == "Expired"
    assert "too old resource version" in got[0][1]["message"]
    names = {o["object"]["metadata"]["name"] for o in got[1][1]["objects"] if o["resource"] == "configmaps"}
    assert {f"cm-{i}" for i in range(10)} <= names


def test_revision_from_the_future_or_another_generation_resyncs(sio_client, runtime):
    rv = runtime.cluster.store.revision
    subscribe(sio_client, rv + 1000)
    assert [n for n, _ in messages(sio_client)] == ["resync", "snapshot"]

    subscribe(sio_client, rv, generation=runtime.generation + 5)
    got = messages(sio_client)
    assert [n for n, _ in got] == ["resync", "snapshot"]
    assert "reset" in got[0][1]["message"]


def test_reset_sends_every_subscriber_a_resync_and_a_fresh_snapshot(sio_client, runtime):
    subscribe(sio_client)
    apply_configmap(sio_client, "doomed")
    messages(sio_client)
    generation = runtime.generation

    ack = action(sio_client, "sim.reset")
    got = messages(sio_client)

    assert ack["ok"] and runtime.generation == generation + 1
    names = [n for n, _ in got]
    assert names[-2:] == ["resync", "snapshot"], names
    assert got[-2][1]["reason"] == "Reset"
    snapshot = got[-1][1]
    assert snapshot["generation"] == generation + 1
    assert not [o for o in snapshot["objects"] if o["resource"] == "configmaps"
                and o["object"]["metadata"]["name"] == "doomed"]


def test_sim_actions_push_the_clock_to_subscribers(sio_client, runtime):
    subscribe(sio_client)
    messages(sio_client)

    assert action(sio_client, "sim.pause")["ok"]
    [(name, clock)] = messages(sio_client, "clock")
    assert name == "clock" and clock["paused"] is True

    assert action(sio_client, "sim.speed", speed=4)["ok"]
    assert messages(sio_client, "clock")[-1][1]["speed"] == 4.0


def test_deltas_chain_without_gaps(sio_client, runtime, live):
    subscribe(sio_client)
    head = messages(sio_client)[-1][1]["revision"]
    for i in range(3):
        apply_configmap(sio_client, f"chain-{i}")
        runtime.advance(2.0)
        live.flush()
    deltas = [d for _, d in messages(sio_client, "delta")]
    assert deltas and deltas[0]["from_rv"] == head
    for prev, nxt in zip(deltas, deltas[1:]):
        assert nxt["from_rv"] == prev["to_rv"]
    assert deltas[-1]["to_rv"] == runtime.cluster.store.revision


@pytest.mark.parametrize("payload", ["everything", [1], {"since": "abc"}, {"since": -1}, {"since": True}])
def test_malformed_subscribe_is_refused(sio_client, payload):
    ack = sio_client.emit("subscribe", payload, namespace=NS, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["reason"] == "BadRequest" and ack["error"]["code"] == 400
    assert messages(sio_client) == []


def test_resume_across_a_server_restart_rebuilds_what_was_missed_from_the_change_log(tmp_path):
    """A page that saw revision N before the restart gets one delta, not a full resync."""
    from webapp import create_app, shutdown_app

    config = {"TESTING": True, "SEED": 1, "DB_URL": f"sqlite:///{tmp_path / 'cluster.db'}", "START_THREADS": False}
    first = create_app(dict(config))
    page = socketio.test_client(first, namespace=NS, flask_test_client=first.test_client())
    apply_configmap(page, "old")
    subscribe(page)
    last = messages(page)[-1][1]["revision"]
    page.disconnect(namespace=NS)
    writer = socketio.test_client(first, namespace=NS, flask_test_client=first.test_client())
    assert action(writer, "object.delete", resource="configmaps", namespace="default", name="old")["ok"]
    apply_configmap(writer, "new")
    apply_configmap(writer, "gone")
    assert action(writer, "object.delete", resource="configmaps", namespace="default", name="gone")["ok"]
    writer.disconnect(namespace=NS)
    shutdown_app(first)

    second = create_app(dict(config))
    try:
        back = socketio.test_client(second, namespace=NS, flask_test_client=second.test_client())
        ack = subscribe(back, last)
        [(name, delta)] = messages(back)
        assert ack["ok"] and name == "delta", delta
        store = second.extensions["kubedrill"].cluster.store
        assert delta["from_rv"] == last and delta["to_rv"] == store.revision > last
        # "gone" came and went while the page was away: it never hears of it.
        assert _names(delta["changes"]) == [("DELETED", "old"), ("ADDED", "new")]
        assert next(c for c in delta["changes"] if c["type"] == "ADDED")["object"]["data"] == {"colour": "blue"}
        back.disconnect(namespace=NS)
    finally:
        shutdown_app(second)


class _StubSession:
    """Stands in for the Engine.IO session the test client does not have: a send queue and a heartbeat."""

    def __init__(self) -> None:
        import queue

        self.queue: Any = queue.Queue()
        self.closed = False
        self.last_ping: float | None = None


def test_a_subscriber_that_falls_behind_is_paused_then_resynced_never_gapped(app, sio_client, live, monkeypatch):
    import webapp.live as live_module

    monkeypatch.setattr(live_module, "READMIT_AFTER", 0.0)
    subscribe(sio_client)
    messages(sio_client)
    session = _StubSession()
    app.extensions["kubedrill.socketio_server"].eio.sockets[sio_client.eio_sid] = session
    for _ in range(live.lag_packets):
        session.queue.put(object())
    apply_configmap(sio_client, "while-behind")
    live.flush()
    assert messages(sio_client, "delta") == [], "a client that is behind gets no more deltas"
    session.last_ping = 1.0                       # drained, but the heartbeat is not answered yet
    while not session.queue.empty():
        session.queue.get()
    apply_configmap(sio_client, "still-behind")
    live.flush()
    assert messages(sio_client) == []
    session.last_ping = None                      # it answered: it has read everything
    apply_configmap(sio_client, "caught-up")
    live.flush()
    got = messages(sio_client)
    assert [name for name, _ in got[:2]] == ["resync", "snapshot"], got
    assert got[0][1]["reason"] == "Expired"
    snap = got[1][1]
    names = {o["object"]["metadata"]["name"] for o in snap["objects"] if o["resource"] == "configmaps"}
    assert {"while-behind", "still-behind", "caught-up"} <= names
    apply_configmap(sio_client, "after")
    live.flush()
    ((_, delta),) = messages(sio_client, "delta")
    assert delta["from_rv"] == snap["revision"], "back in the room, the chain goes on from the snapshot"
    assert live.resyncs_for_lag == 1


def _kubelet_states(objects: list[dict]) -> list[tuple[str, str]]:
    return [(o["object"]["metadata"]["name"], o["object"]["metadata"]["annotations"]["kubedrill.io/kubelet-state"])
            for o in objects if o["resource"] == "leases"]


def test_a_powered_off_kubelet_reaches_the_dashboard_as_its_node_lease(app, client, sio_client, live):
    # The API keeps the node Ready for the grace period: only the Lease says at once that it is off.
    subscribe(sio_client)
    messages(sio_client)
    assert action(sio_client, "node.power_off", name="node-1")["ok"]
    live.flush()
    changes = [c for _, d in messages(sio_client, "delta") for c in d["changes"]]
    assert _kubelet_states(changes) == [("node-1", "powered-off")]
    # A page opened later gets it in its snapshot; the Leases of running kubelets stay out.
    late = socketio.test_client(app, namespace=NS, flask_test_client=client)
    subscribe(late)
    [(_, snap)] = messages(late, "snapshot")
    assert _kubelet_states(snap["objects"]) == [("node-1", "powered-off")]
    late.disconnect(namespace=NS)
