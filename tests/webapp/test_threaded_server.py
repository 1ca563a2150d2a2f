"""``ThreadedServer.stop``: a bounded stop that drops every connection, like a process exit.

Regression for a flaky hang of the browser restart test: ``engineio.Server.disconnect()`` waits in
``queue.join()`` for packets a session whose WebSocket writer is gone can never deliver.
"""
from __future__ import annotations

import http.client
import socket
import threading
from typing import Any, Iterator

import pytest
import socketio
from engineio import packet
from engineio.socket import Socket
from flask import Flask
from live_helpers import NS

from webapp import create_app, shutdown_app
from webapp.server import ThreadedServer


@pytest.fixture
def server() -> Iterator[ThreadedServer]:
    """A real server for a fresh app (engine and broadcaster threads off)."""
    app = create_app({"TESTING": True, "SEED": 1, "DB_URL": None, "START_THREADS": False})
    srv = ThreadedServer(app).start()
    yield srv
    try:
        srv.stop(timeout=5)   # idempotent: most tests stopped it already
    finally:
        shutdown_app(app)


def connect_live(url: str) -> tuple[Any, threading.Event]:
    """A python-socketio client on /live over WebSocket, and an event set when it is disconnected."""
    gone = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("disconnect", lambda *args: gone.set(), namespace=NS)
    client.connect(url, namespaces=[NS], transports=["websocket"], wait_timeout=10)
    return client, gone


def test_stop_drops_websocket_and_idle_clients_and_refuses_new_ones(server: ThreadedServer) -> None:
    client, gone = connect_live(server.url)
    # A connection whose request never completes (browsers pre-connect): its thread blocks reading.
    idle = socket.create_connection((server.host, server.port), timeout=10)
    idle.sendall(b"GET /healthz HTTP/1.1\r\n")
    assert len(server.app.extensions["kubedrill.socketio_server"].eio.sockets) == 1

    server.stop(timeout=3)   # raises if a connection thread is still running after 3 s

    assert gone.wait(5), "the Socket.IO client was not disconnected"
    assert server.app.extensions["kubedrill.socketio_server"].eio.sockets == {}
    try:
        assert idle.recv(1) == b""   # closed by the server, no response
    except ConnectionResetError:
        pass
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=2).close()
    client.disconnect()
    idle.close()


def test_stop_does_not_wait_for_packets_a_dead_session_cannot_deliver(server: ThreadedServer) -> None:
    # The state the flaky hang left behind: a session whose writer thread has gone while a packet
    # is still queued (eio.disconnect() would join that queue forever).
    eio = server.app.extensions["kubedrill.socketio_server"].eio
    orphan = Socket(eio, "orphan-session")
    orphan.connected = orphan.upgraded = True
    orphan.send(packet.Packet(packet.MESSAGE, data="never delivered"))
    eio.sockets[orphan.sid] = orphan
    client, gone = connect_live(server.url)   # and a live one next to it

    server.stop(timeout=3)   # raises if a connection thread is still running after 3 s

    assert orphan.closed
    assert gone.wait(5)
    client.disconnect()


def test_stop_fails_instead_of_hanging_when_a_request_never_ends() -> None:
    app = Flask(__name__)
    entered, release = threading.Event(), threading.Event()

    @app.get("/stuck")
    def stuck() -> str:
        entered.set()
        release.wait(30)   # ignores its connection being shut down
        return "late"

    srv = ThreadedServer(app).start()
    caller = threading.Thread(target=lambda: _get_ignoring_errors(srv, "/stuck"), daemon=True)
    caller.start()
    try:
        assert entered.wait(5)
        with pytest.raises(RuntimeError, match=f"port {srv.port} did not stop within 1 s"):
            srv.stop(timeout=1)
    finally:
        release.set()
        caller.join(5)


def _get_ignoring_errors(srv: ThreadedServer, path: str) -> None:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
    except OSError:
        pass   # the server shut the connection down: expected here
    finally:
        conn.close()
