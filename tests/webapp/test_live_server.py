"""The live stream over a real server and real WebSocket transport, with the engine thread running."""
from __future__ import annotations

import queue
from typing import Any

import pytest
import requests
import socketio
from live_helpers import CONFIGMAP, NS


class Listener:
    """A python-socketio client on /live whose received events land in a queue."""

    def __init__(self, url: str, **connect: Any):
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        for name in ("snapshot", "delta", "clock", "resync"):
            self.sio.on(name, self._recorder(name), namespace=NS)
        self.sio.connect(url, namespaces=[NS], transports=["websocket"], wait_timeout=10, **connect)

    def _recorder(self, name: str):
        return lambda data: self.events.put((name, data))

    def next(self, name: str, timeout: float = 10.0, where=lambda data: True) -> Any:
        """The next ``name`` event satisfying ``where`` (others are skipped), or fail after ``timeout``."""
        while True:
            try:
                got, data = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {name!r} event within {timeout} s") from None
            if got == name and where(data):
                return data

    def call(self, event: str, data: Any) -> Any:
        return self.sio.call(event, data, namespace=NS, timeout=10)

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture
def listener(live_server):
    clients: list[Listener] = []

    def make(**connect: Any) -> Listener:
        client = Listener(live_server, **connect)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _has_configmap(name: str):
    return lambda delta: any(c["resource"] == "configmaps" and c["object"]["metadata"]["name"] == name
                             for c in delta["changes"])


def test_websocket_transport_snapshot_then_pushed_deltas(listener, live_app):
    a, b = listener(), listener()
    assert a.sio.transport() == "websocket"
    assert a.call("subscribe", {"since": None})["ok"]
    assert b.call("subscribe", {"since": None})["ok"]
    snap = a.next("snapshot")
    b.next("snapshot")
    assert snap["generation"] == live_app.extensions["kubedrill"].generation

    ack = a.call("action", {"type": "apply", "args": {"yaml": CONFIGMAP.format(name="pushed")}})
    assert ack["ok"], ack
    # No flush by hand: the broadcaster thread pushes the change to everyone in the room.
    da = a.next("delta", where=_has_configmap("pushed"))
    db = b.next("delta", where=_has_configmap("pushed"))
    assert da == db


def test_idle_clients_still_get_the_clock(listener):
    a = listener()
    a.call("subscribe", {"since": None})
    first = a.next("clock", timeout=5)
    second = a.next("clock", timeout=5)
    assert {"now", "paused", "speed", "lag", "profile"} <= set(first)
    assert second["now"] >= first["now"]


def test_reconnecting_client_resumes_from_its_revision(listener, live_server):
    a = listener()
    a.call("subscribe", {"since": None})
    revision = a.next("snapshot")["revision"]
    a.close()

    writer = listener()
    assert writer.call("action", {"type": "apply", "args": {"yaml": CONFIGMAP.format(name="while-away")}})["ok"]

    back = listener()
    assert back.call("subscribe", {"since": revision})["ok"]
    delta = back.next("delta")
    assert delta["from_rv"] == revision
    assert _has_configmap("while-away")(delta)


def test_a_foreign_origin_is_refused(live_server):
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(live_server, namespaces=[NS], transports=["websocket"], wait_timeout=5,
                    headers={"Origin": "http://evil.example"})
    r = requests.get(f"{live_server}/socket.io/?EIO=4&transport=polling",
                     headers={"Origin": "http://evil.example"}, timeout=5)
    assert r.status_code == 400
    r = requests.get(f"{live_server}/socket.io/?EIO=4&transport=polling", headers={"Origin": live_server},
                     timeout=5)
    assert r.status_code == 200


def test_the_page_is_served(live_server):
    r = requests.get(live_server + "/", timeout=5)
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
