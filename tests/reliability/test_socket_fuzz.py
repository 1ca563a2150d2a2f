"""Fuzz the live socket: garbage events, packets and frames never raise, always get answered, change nothing.

Two levels:

* events and Socket.IO packets through the Flask-SocketIO test client (``app`` + ``sio_client``
  fixtures, engine threads off): every ack is well formed, a rejected action leaves the store's
  revision where it was, and the simulation still steps afterwards;
* raw WebSocket frames (websocket-client) against a real server (``make_live_server``): frames that
  do not decode are dropped, the connection stays up and still answers, no traceback is logged, the
  drops are logged rate-limited, and the engine's clock keeps advancing.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from webapp.control import ACTIONS

NS = "/live"
FAST = {"SOCKETIO_RATE": 1e9, "SOCKETIO_BURST": 10 ** 9}   # the fuzzers measure decoding, not the rate limit
SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# ---------------------------------------------------------------------- strategies
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
                    st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                           max_leaves=12)
arg_names = st.sampled_from(sorted({p.name for params, _ in ACTIONS.values() for p in params} | {"x", ""}))
action_types = st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=30), st.just("x" * 10_000))
actions = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": action_types,
                           "args": st.one_of(json_values, st.dictionaries(arg_names, json_values, max_size=4))}),
    st.fixed_dictionaries({"type": action_types}, optional={"args": json_values, "extra": json_values}),
    st.just({"type": "apply", "args": {"yaml": "x" * (3 * 1024 * 1024 + 1)}}),
    st.just({"type": "node.cordon", "args": {"name": ("[" * 900) + ("]" * 900)}}),
)
deep = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)
packet_bodies = st.one_of(st.text(max_size=60), deep,
                          json_values.map(lambda v: json.dumps(v)),
                          st.lists(json_values, max_size=3).map(lambda v: json.dumps(["action", *v])))
raw_packets = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=40),
    st.tuples(st.sampled_from("0123456789x-"), st.sampled_from(["/live,", "/nope,", "/", "", "/live"]),
              st.one_of(st.none(), st.integers(min_value=0, max_value=10 ** 30)),
              packet_bodies).map(lambda t: f"{t[0]}{t[1]}{'' if t[2] is None else t[2]}{t[3]}"),
)


# ---------------------------------------------------------------------- checks
def well_formed_ack(ack: Any) -> None:
    """An ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": <Status with reason, message, code>}``."""
    assert isinstance(ack, dict), ack
    assert isinstance(ack.get("ok"), bool), ack
    if ack["ok"]:
        return
    status = ack["error"]
    assert status["kind"] == "Status" and status["status"] == "Failure", status
    assert isinstance(status["reason"], str) and status["reason"], status
    assert isinstance(status["message"], str) and status["message"], status
    assert isinstance(status["code"], int) and 400 <= status["code"] <= 599, status
    for cause in status.get("details", {}).get("causes") or []:
        assert isinstance(cause["field"], str) and isinstance(cause["message"], str), status


def rejected_input(ack: dict) -> None:
    """A payload the protocol refuses is a BadRequest naming the field at fault."""
    status = ack["error"]
    assert status["reason"] == "BadRequest", status
    assert status["details"]["causes"][0]["field"], status


def revision(app: Any) -> int:
    return app.extensions["kubedrill"].cluster.store.revision


def still_steps(app: Any) -> None:
    runtime = app.extensions["kubedrill"]
    before = runtime.clock_state()["now"]
    runtime.advance(1.0)
    assert runtime.clock_state()["now"] > before


# ---------------------------------------------------------------------- test client: events and packets
@pytest.mark.app_config(**FAST)
@settings(max_examples=150, **SETTINGS)
@given(message=actions)
def test_garbage_actions_are_answered_and_change_nothing(app, sio_client, message):
    before = revision(app)
    ack = sio_client.emit("action", message, namespace=NS, callback=True)
    well_formed_ack(ack)
    if not ack["ok"]:
        assert revision(app) == before, (message, ack)
    if not isinstance(message, dict) or message.get("type") not in ACTIONS:
        rejected_input(ack)
    still_steps(app) if message == {"type": "sim.step"} else None


@pytest.mark.app_config(**FAST)
@settings(max_examples=150, **SETTINGS)
@given(event=st.one_of(st.sampled_from(["action", "subscribe", "connect", "disconnect"]), st.text(max_size=20)),
       args=st.lists(json_values, max_size=3))
def test_garbage_events_are_answered(app, sio_client, event, args):
    before = revision(app)
    sio_client.acks = None
    app.extensions["kubedrill.socketio_server"]._handle_eio_message(
        sio_client.eio_sid, "2/live,1" + json.dumps([event, *args]))
    ack = sio_client.acks
    assert ack is not None, "every event that asks for an ack gets one"
    assert len(ack["args"]) == 1
    well_formed_ack(ack["args"][0])
    if not ack["args"][0]["ok"]:
        assert revision(app) == before
    assert sio_client.is_connected(NS)


@pytest.mark.app_config(**FAST)
@settings(max_examples=200, **SETTINGS)
@given(raw=raw_packets)
def test_undecodable_packets_are_dropped_or_answered(app, sio_client, raw):
    server = app.extensions["kubedrill.socketio_server"]
    before = revision(app)
    sio_client.acks = None
    server._handle_eio_message(sio_client.eio_sid, raw)   # raises nothing, whatever ``raw`` is
    if sio_client.acks is not None:
        for arg in sio_client.acks["args"]:
            well_formed_ack(arg)
    if isinstance(raw, str) and raw.startswith("2/live,") and "action" not in raw and "subscribe" not in raw:
        assert revision(app) == before
    assert not server._binary_packet, "no half-received binary event keeps swallowing frames"


def test_an_undecodable_event_that_asked_for_an_ack_gets_a_bad_request(app, sio_client):
    server = app.extensions["kubedrill.socketio_server"]
    for raw in ['2/live,7["action",{bad json', '2/live,7{"type":"sim.step"}', '2/live,7[5]', '2/live,7["connect"]',
                '2/live,7' + "[" * 5000 + "]" * 5000, '51-/live,7["action",{"_placeholder":true,"num":0}]']:
        sio_client.acks = None
        server._handle_eio_message(sio_client.eio_sid, raw)
        assert sio_client.acks is not None, raw
        (ack,) = sio_client.acks["args"]
        well_formed_ack(ack)
        rejected_input(ack)
    assert sio_client.is_connected(NS)
    still_steps(app)


@pytest.mark.app_config(SOCKETIO_RATE=5.0, SOCKETIO_BURST=10)
def test_a_flood_is_throttled_with_too_many_requests_never_disconnected(app, sio_client):
    acks = [sio_client.emit("action", {"type": "drill.status"}, namespace=NS, callback=True) for _ in range(40)]
    for ack in acks:
        well_formed_ack(ack)
    throttled = [a for a in acks if not a["ok"]]
    # the burst of 10 (less the connect packet, plus what refilled meanwhile) served, the rest refused
    assert len(throttled) >= 20 and len(acks) - len(throttled) >= 9
    status = throttled[0]["error"]
    assert status["reason"] == "TooManyRequests" and status["code"] == 429
    assert status["details"]["retryAfterSeconds"] >= 1
    for _ in range(20):                 # no ack asked: dropped, with one notice for the whole stretch
        sio_client.emit("action", {"type": "drill.status"}, namespace=NS)
    notices = [m for m in sio_client.get_received(NS) if m["name"] == "notice"]
    assert len(notices) == 1 and notices[0]["args"][0]["reason"] == "TooManyRequests"
    assert sio_client.is_connected(NS)
    time.sleep(0.3)                      # the bucket refills: served again
    assert sio_client.emit("action", {"type": "drill.status"}, namespace=NS, callback=True)["ok"]


# ---------------------------------------------------------------------- a real server: raw WebSocket frames
class RawClient:
    """A bare Engine.IO v4 WebSocket client on ``/live`` (websocket-client), answering pings itself."""

    def __init__(self, url: str):
        import websocket

        self.ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                              timeout=20, suppress_origin=True)
        assert self.ws.recv().startswith("0{")           # OPEN
        self.ws.send("40/live,")
        while not (frame := self.recv()).startswith("40/live,"):
            pass
        self.next_id = 100

    def recv(self) -> str:
        while True:
            frame = self.ws.recv()
            if frame == "2":
                self.ws.send("3")                         # PONG
                continue
            return frame

    def call(self, event: str, data: Any) -> Any:
        """Send an event asking for an ack; return the ack's first argument (deltas in between are skipped)."""
        self.next_id += 1
        self.ws.send(f"42/live,{self.next_id}" + json.dumps([event, data]))
        prefix = f"43/live,{self.next_id}"
        while not (frame := self.recv()).startswith(prefix):
            pass
        return json.loads(frame[len(prefix):])[0]

    def close(self) -> None:
        self.ws.close()


def _closes_the_connection(frame: str | bytes) -> bool:
    # An Engine.IO CLOSE or a Socket.IO DISCONNECT/CONNECT of /live are the protocol working, not garbage.
    return isinstance(frame, str) and (frame[:1] == "1" or frame[:2] in ("41", "40"))


frames = st.one_of(
    st.text(max_size=60), st.binary(max_size=60),
    st.tuples(st.sampled_from("0123456789bx"), raw_packets).map(lambda t: t[0] + (t[1] if isinstance(t[1], str)
                                                                                    else t[1].hex())),
).filter(lambda f: not _closes_the_connection(f))


@pytest.fixture
def fuzz_server(make_live_server):
    server = make_live_server(**FAST)
    client = RawClient(server.url)
    yield server, client
    client.close()


@settings(max_examples=120, **SETTINGS)
@given(batch=st.lists(frames, min_size=1, max_size=5))
def test_raw_garbage_frames_are_dropped_and_the_connection_keeps_answering(fuzz_server, batch):
    server, client = fuzz_server
    for frame in batch:
        if isinstance(frame, bytes):
            client.ws.send_binary(frame)
        else:
            client.ws.send(frame)
    well_formed_ack(client.call("action", {"type": "drill.status"}))


def test_raw_frames_never_log_a_traceback_and_the_engine_keeps_running(make_live_server, caplog):
    server = make_live_server(**FAST)
    runtime = server.app.extensions["kubedrill"]
    client = RawClient(server.url)
    garbage = ["", "x", "b!!!", "9", "0{}", "4", "42/live,[", "42/live,5[", "42/nope,6[\"action\"]",
               "42/live,7" + "[" * 3000 + "]" * 3000, "4" + "z" * (1024 * 1024), "451-/live,[\"a\",{}]"]
    with caplog.at_level(logging.INFO):
        t0 = runtime.clock_state()["now"]
        for _ in range(20):
            for frame in garbage:
                client.ws.send(frame)
            client.ws.send_binary(b"\x00\xffgarbage")
        ack = client.call("action", {"type": "drill.status"})
        assert ack["ok"], ack
        deadline = time.monotonic() + 30
        while runtime.clock_state()["now"] <= t0 + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runtime.clock_state()["now"] > t0 + 1, "the engine keeps running"
    client.close()
    assert not [r for r in caplog.records if r.exc_info], "no traceback per frame"
    lines = [r for r in caplog.records if r.name == "webapp.socket_guard"]
    assert 0 < len(lines) <= 6, [r.getMessage() for r in lines]   # one line per kind, not one per frame
    counts = server.app.extensions["kubedrill.socket_guard"].report.counts
    assert sum(counts.values()) >= 20 * 10


def test_a_frame_above_the_advertised_max_payload_is_dropped(make_live_server):
    server = make_live_server(SOCKETIO_MAX_MESSAGE_BYTES=64 * 1024, **FAST)
    client = RawClient(server.url)
    client.ws.send("42/live,5" + json.dumps(["action", {"type": "sim.step", "args": {"x": "z" * 128 * 1024}}]))
    assert client.call("action", {"type": "drill.status"})["ok"]
    assert server.app.extensions["kubedrill.socket_guard"].report.counts["dropped Engine.IO frame"] == 1
    client.close()


# ---------------------------------------------------------------------- a little load
def test_under_a_little_load_no_socket_is_dropped_and_no_delta_is_skipped(make_live_server):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from load_bench import run_load

    server = make_live_server()
    result = run_load(server.url, http_clients=10, socket_clients=5, seconds=4)
    assert result["http_requests"] > 0 and result["http_errors"] == 0, result
    assert result["disconnects"] == 0 and result["gaps"] == 0, result   # resyncs are allowed: they are explicit
    assert result["still_connected"] == 5 and result["socket_errors"] == 0, result
    assert result["deltas"] > 0, result


def test_undecodable_polling_payloads_are_one_rate_limited_line_not_tracebacks(live_server, caplog):
    """The long-polling transport carries frames too: garbage there is counted, never a traceback."""
    import logging

    import requests

    base = live_server + "/socket.io/?EIO=4&transport=polling"
    handshake = requests.get(base, timeout=10).text
    sid = json.loads(handshake[handshake.index("{"):])["sid"]
    with caplog.at_level(logging.WARNING):
        for body in (b"\xff\xfe", b"9999", b"4{{{", b"\x00" * 10):
            r = requests.post(f"{base}&sid={sid}", data=body, timeout=10)
            assert r.status_code < 500
    assert not [rec for rec in caplog.records if rec.exc_info]
