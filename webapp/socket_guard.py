"""Keep garbage and floods on the Socket.IO connection from reaching, or stopping, the live stream.

Where python-engineio / python-socketio (4.15 / 5.18) raise on bad input, and what catches it here:

* **Engine.IO frames** (``engineio.socket.Socket._websocket_handler``): each WebSocket frame is
  decoded by ``engineio.packet.Packet(encoded_packet=...)`` *outside* the loop's ``try``, so an
  empty frame, a first character that is not a digit (``int()``) or a bad base64 ``b...`` frame
  raises out of the handler: one traceback, and the connection is left half-dead until its ping
  times out. ``FilteredWebSocket`` (the ``websocket`` entry of this server's async driver table,
  a copy: the module's table is shared by every server) hands the handler only frames that decode
  and drops the rest, and drops a frame above the ``maxPayload`` the server advertises
  (``max_http_buffer_size``) instead of letting Engine.IO close the connection for it. (Passing
  simple-websocket its ``max_message_size`` would bound its buffer, but its close on overflow left
  the connection hanging open in tests: not done.)
* **Socket.IO packets** (``socketio.Server._handle_eio_message``): ``Packet.decode`` raises on bad
  JSON, a bad id or attachment count; ``_handle_event`` indexes ``data[0]`` whatever ``data`` is,
  and a non-string event name raises later in the handler thread. engineio logs each of those
  with a full traceback (``message handler error``). ``LivePacket`` (``serializer=``) decodes
  strictly -- text frames only, no binary events (the protocol has none, and a pending binary
  event would swallow every later frame as its attachment), an event must be ``[name: str,
  ...]`` and not a reserved name -- and raises ``BadPacket`` with what it could read (type,
  namespace, ack id). ``SocketGuard`` wraps ``_handle_eio_message`` on *this* server instance (the
  Flask-SocketIO test client calls it directly, engineio through its ``message`` handler) and
  answers a bad event that asked for an ack with a ``BadRequest`` Status; anything else is dropped.
* **Floods**: a token bucket per Engine.IO session (``RATE`` messages/s, ``BURST`` at once). A
  message over the limit is not decoded further or dispatched: an event that asked for an ack gets
  a ``TooManyRequests`` Status (with ``retryAfterSeconds``); otherwise the client gets one
  ``notice`` event (a TooManyRequests Status) per throttled stretch. The connection is never
  closed for it. Engine.IO PONGs do not pass through here, so a throttled client is never
  disconnected by a missed heartbeat.

Every drop is counted and logged through ``RateLimitedLog``: one line per ``LOG_EVERY`` seconds
per kind at most, with the number suppressed since -- never a traceback per frame.
"""
from __future__ import annotations

import io
import logging
import math
import socket
import threading
import time
from typing import Any

import socketio
from engineio import payload as engineio_payload
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from socketio import packet as sio_packet

from engine.errors import BadRequest, Cause, TooManyRequests

log = logging.getLogger(__name__)

# 50 messages/s sustained, 100 at once, per connection: the dashboard sends one subscribe per
# (re)connect and one action per click, so a person never comes near it; a script that floods
# gets answered, not served, and cannot take the engine's lock 1,000 times a second.
RATE = 50.0
BURST = 100
SEND_BUFFER_BYTES = 256 * 1024         # a WebSocket's kernel send buffer (FilteredWebSocket)
MAX_ENGINEIO_PACKET_TYPE = 6           # open, close, ping, pong, message, upgrade, noop
LOG_EVERY = 10.0                       # seconds between two log lines of one kind
MAX_EVENT_NAME = 64
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                             "removeListener"})
ENGINEIO_TYPES = frozenset("123456")   # CLOSE PING PONG MESSAGE UPGRADE NOOP; a client never sends OPEN


class RateLimitedLog:
    """Log one line per kind at most every ``every`` seconds, saying how many were suppressed."""

    def __init__(self, logger: logging.Logger, every: float = LOG_EVERY):
        self.logger = logger
        self.every = every
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self.counts: dict[str, int] = {}   # kind -> every occurrence (tests and benches read it)

    def note(self, kind: str, detail: str) -> None:
        """Count one occurrence of ``kind``; log it unless a line of that kind went out recently."""
        now = time.monotonic()
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            last = self._last.get(kind)
            if last is not None and now - last < self.every:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        more = f" (+{suppressed} more in the last {self.every:g} s)" if suppressed else ""
        self.logger.warning("live socket: %s: %s%s", kind, detail[:200], more)


class PollingErrors(logging.Filter):
    """Turn engineio's traceback for an undecodable long-polling POST into one rate-limited line.

    ``engineio.Server.handle_request`` decodes a polling POST body inside a bare ``except`` that calls
    ``logger.exception("post request handler error")`` (and answers ``ok``): a traceback per frame.
    """

    def __init__(self, report: RateLimitedLog):
        super().__init__()
        self.report = report

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() == "post request handler error" and record.exc_info:
            err = record.exc_info[1]
            self.report.note("undecodable polling payload", f"{type(err).__name__}: {err}")
            return False
        return True


class PollingBodyFilter:
    """WSGI middleware: refuse a long-polling POST whose Engine.IO payload does not decode (400).

    Engine.IO answers an unknown packet type by disconnecting the session, and ``disconnect`` can wait
    forever in ``queue.join()`` (see webapp/server.py) -- a request that never returns. Checking the
    payload first keeps that path unreachable; a sound body is handed on unchanged.
    """

    def __init__(self, app: Any, report: RateLimitedLog, max_bytes: int):
        self.app = app
        self.report = report
        self.max_bytes = max_bytes

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("PATH_INFO", "").startswith("/socket.io"):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        problem = None
        if not 0 <= length <= self.max_bytes:
            problem = f"bad Content-Length {environ.get('CONTENT_LENGTH')!r}"
        else:
            body = environ["wsgi.input"].read(length)
            problem = _polling_problem(body)
            environ["wsgi.input"] = io.BytesIO(body)
        if problem is None:
            return self.app(environ, start_response)
        self.report.note("undecodable polling payload", problem)
        start_response("400 BAD REQUEST", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"bad Engine.IO payload"]


def _polling_problem(body: bytes) -> str | None:
    """Why a polling POST body is not a sound Engine.IO v4 payload (None when it is)."""
    try:
        text = body.decode("utf-8")
        packets = engineio_payload.Payload(encoded_payload=text).packets
    except Exception as err:   # noqa: BLE001 - any decode failure of foreign bytes is "undecodable"
        return f"{type(err).__name__}: {err}"
    for pkt in packets:
        if not 0 <= pkt.packet_type <= MAX_ENGINEIO_PACKET_TYPE:
            return f"unknown Engine.IO packet type {pkt.packet_type}"
    return None


class BadPacket(ValueError):
    """A Socket.IO packet the live protocol does not accept, with what could be read of it."""

    def __init__(self, message: str, pkt: Any, field: str = "packet"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.packet_type = getattr(pkt, "packet_type", None)
        self.namespace = getattr(pkt, "namespace", None)
        self.id = getattr(pkt, "id", None)

    def to_status(self) -> dict[str, Any]:
        return BadRequest(f"{self.field}: {self.message}",
                          causes=[Cause(self.field, self.message, "FieldValueInvalid")]).to_status()


class LivePacket(sio_packet.Packet):
    """A Socket.IO packet that decodes strictly: what does not fit the protocol raises ``BadPacket``."""

    uses_binary_events = False   # the server never sends bytes; a dict with bytes is a bug, not an attachment

    def decode(self, encoded_packet: Any) -> int:
        if not isinstance(encoded_packet, str):
            raise BadPacket("binary frames are not part of the protocol", self)
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, TypeError, IndexError, RecursionError) as exc:
            # super() set the type, namespace and id before it failed, if it got that far
            raise BadPacket(f"undecodable packet: {type(exc).__name__}: {str(exc)[:100]}", self) from None
        kind = self.packet_type
        if kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK) or attachments:
            raise BadPacket("binary events are not part of the protocol", self)
        if kind not in (sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT, sio_packet.ACK):
            raise BadPacket(f"unsupported packet type {kind!r}", self)
        if kind == sio_packet.EVENT:
            data = self.data
            if not isinstance(data, list) or not data:
                raise BadPacket("an event must be an array [name, ...arguments]", self, "event")
            name = data[0]
            if not isinstance(name, str):
                raise BadPacket("the event name must be a string", self, "event")
            if name in RESERVED_EVENTS or not 0 < len(name) <= MAX_EVENT_NAME:
                shown = name if len(name) <= MAX_EVENT_NAME else name[:MAX_EVENT_NAME] + "..."
                raise BadPacket(f'unsupported event "{shown}"', self, "event")
        return attachments


def engineio_frame_ok(frame: Any) -> bool:
    """Would Engine.IO decode this WebSocket frame without raising (and is it one a client sends)?"""
    # Binary frames are Engine.IO MESSAGEs carrying Socket.IO attachments, which the protocol has none of.
    return isinstance(frame, str) and frame[:1] in ENGINEIO_TYPES


class FilteredWebSocket(SimpleWebSocketWSGI):
    """simple-websocket for Engine.IO that bounds frame size and drops frames Engine.IO cannot decode."""

    guard: "SocketGuard"   # set on the per-server subclass made by SocketGuard

    def __init__(self, handler: Any, server: Any, **kwargs: Any):
        super().__init__(handler, server, **kwargs)
        self.max_frame = server.max_http_buffer_size

    def __call__(self, environ: dict, start_response: Any) -> Any:
        sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
        if sock is not None:
            try:
                # Linux grows a send buffer to 4 MB: ~10 s of deltas for a client that reads slowly,
                # invisible to the live stream's lag check (webapp.live.LAG_PACKETS), which watches
                # the Engine.IO queue. Bounded, a slow reader's backlog shows up in that queue.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            except OSError:
                pass
        return super().__call__(environ, start_response)

    def wait(self) -> Any:
        while True:
            frame = super().wait()
            if frame is None:
                return frame
            size = len(frame)
            if size <= self.max_frame and engineio_frame_ok(frame):
                return frame
            self.guard.report.note("dropped Engine.IO frame",
                                   f"{'binary' if isinstance(frame, (bytes, bytearray)) else 'text'} frame of "
                                   f"{size} bytes starting {frame[:16]!r}")


class _Bucket:
    __slots__ = ("tokens", "stamp", "noticed")

    def __init__(self, burst: float, now: float):
        self.tokens = float(burst)
        self.stamp = now
        self.noticed = False   # a ``notice`` went out during the current throttled stretch


class SocketGuard:
    """Rate-limit, decode strictly and answer garbage for one ``socketio.Server`` (see the module doc)."""

    def __init__(self, server: socketio.Server, *, rate: float = RATE, burst: int = BURST):
        if not issubclass(server.packet_class, LivePacket):
            raise ValueError("create the server with serializer=LivePacket")
        self.server = server
        self.rate = float(rate)
        self.burst = int(burst)
        self.report = RateLimitedLog(log)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._handle_message = server._handle_eio_message      # the library's bound methods
        self._handle_disconnect = server._handle_eio_disconnect

    def install(self) -> "SocketGuard":
        """Put the guard in front of the server's packet handling and WebSocket frames."""
        server, eio = self.server, self.server.eio
        server._handle_eio_message = self.handle_message        # type: ignore[method-assign]
        server._handle_eio_disconnect = self.handle_disconnect  # type: ignore[method-assign]
        eio.on("message", self.handle_message)
        eio.on("disconnect", self.handle_disconnect)
        websocket = type("GuardedWebSocket", (FilteredWebSocket,), {"guard": self})
        eio._async = {**eio._async, "websocket": websocket}    # a copy: the driver's table is shared
        # A logger of this server's own (engineio's default one is shared by every server).
        eio.logger = logging.getLogger(f"kubedrill.engineio.{id(eio):x}")
        eio.logger.addFilter(PollingErrors(self.report))
        return self

    # ------------------------------------------------------------------ engine.io handlers
    def handle_message(self, eio_sid: str, data: Any) -> None:
        """Dispatch one Socket.IO packet if the client is within its rate and the packet is sound."""
        if not self._take(eio_sid):
            self._throttled(eio_sid, data)
            return
        try:
            self._handle_message(eio_sid, data)
        except BadPacket as exc:
            self.report.note("rejected Socket.IO packet", exc.message)
            self._answer(eio_sid, exc.packet_type, exc.namespace, exc.id, exc.to_status())
        except Exception as exc:  # the library's own checks (e.g. not connected): drop the packet, keep the session
            self.server._binary_packet.pop(eio_sid, None)
            self.report.note("dropped Socket.IO packet", f"{type(exc).__name__}: {exc}")

    def handle_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        with self._lock:
            self._buckets.pop(eio_sid, None)
        self._handle_disconnect(eio_sid, reason)

    # ------------------------------------------------------------------ rate limit
    def _take(self, eio_sid: str) -> bool:
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(eio_sid)
            if bucket is None:
                bucket = self._buckets[eio_sid] = _Bucket(self.burst, now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.noticed = False
                return True
            return False

    def _throttled(self, eio_sid: str, data: Any) -> None:
        self.report.note("throttled Socket.IO message", f"client {eio_sid} is over {self.rate:g} messages/s")
        with self._lock:
            bucket = self._buckets.get(eio_sid)
            retry = math.ceil((1.0 - bucket.tokens) / self.rate) if bucket is not None else 1
        status = TooManyRequests(f"too many messages: at most {self.rate:g} per second ({self.burst} at once); "
                                 "this one was not processed", retry_after=max(1, retry)).to_status()
        pkt = self.server.packet_class()
        try:
            pkt.decode(data)
        except BadPacket:
            pass   # still tells what it could read: an ack id is worth answering
        if pkt.packet_type == sio_packet.EVENT and pkt.id is not None:
            self._answer(eio_sid, pkt.packet_type, pkt.namespace, pkt.id, status)
            return
        with self._lock:
            if bucket is None or bucket.noticed:
                return
            bucket.noticed = True
        namespace = pkt.namespace or "/"
        sid = self.server.manager.sid_from_eio_sid(eio_sid, namespace) if namespace else None
        if sid is not None:
            self.server._send_packet(eio_sid, self.server.packet_class(
                sio_packet.EVENT, data=["notice", status], namespace=namespace))

    # ------------------------------------------------------------------ answers
    def _answer(self, eio_sid: str, packet_type: Any, namespace: Any, ack_id: Any, status: dict[str, Any]) -> None:
        """Ack an event that asked for one with ``{"ok": false, "error": status}``, if it is answerable."""
        if packet_type not in (sio_packet.EVENT, sio_packet.BINARY_EVENT) or not isinstance(ack_id, int):
            return
        namespace = namespace if isinstance(namespace, str) and namespace else "/"
        if not self.server.manager.sid_from_eio_sid(eio_sid, namespace):
            return   # no socket on that namespace: the client could not receive the ack
        try:
            self.server._send_packet(eio_sid, self.server.packet_class(
                sio_packet.ACK, namespace=namespace, id=ack_id, data=[{"ok": False, "error": status}]))
        except Exception as exc:  # the session went away meanwhile
            self.report.note("could not answer", f"{type(exc).__name__}: {exc}")
