"""The live stream: Socket.IO namespace ``/live`` and the one broadcaster that feeds it.

README-protocol (the contract the browser front end is written against)
=======================================================================
Transport: Socket.IO over WebSocket (polling fallback), same origin only, namespace ``/live``.
A connection names its cluster when it connects: ``auth: {"cluster": <id>}`` (default ``demo``, the
only cluster of a server not in class mode), or ``auth: {"grid": true}`` for the instructor's grid.
Who connects comes from the handshake's session cookie or ``Authorization: Bearer`` header
(``webapp.policy``); a connection that may not watch that cluster (or the grid), or names a
cluster that does not exist, is refused: ``connect_error`` carries the Status (401/403/404).
All clients that subscribed to one cluster sit in its room, ``cluster:<id>``, and receive the same
messages; nothing of one cluster reaches another's room.

Client -> server
----------------
``subscribe`` ``{"since": <int revision> | null, "generation": <int, optional>}``
    Ack: ``{"ok": true, "revision": <int>, "generation": <int>}`` (or ``{"ok": false, "error": Status}``
    for a malformed payload). Then exactly one of:
      * ``since`` null/absent -> one ``snapshot``;
      * ``since`` inside the store's history window (and ``generation``, if given, is current) ->
        one ``delta`` with ``from_rv == since`` covering exactly the changes the client missed
        (possibly none: ``changes == []``); after a server restart on the same database, changes
        from before the restart are rebuilt from the persisted change log (``Cluster.catch_up``);
      * otherwise -> ``resync`` ``{"reason": "Expired", "message": ...}`` then a ``snapshot``.
    After that the client receives every broadcast ``delta`` (their ``from_rv`` chain without gaps).
``action`` ``{"type": str, "args": {...}}``
    Ack: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": <metav1.Status>}`` (a 403
    Forbidden Status when the sender may not do it on this cluster: ``webapp.policy``). Types and
    arguments (``webapp.control.ACTIONS``)::

      pod.delete {namespace, name, force?: bool}     pod.crash {namespace, name}
      pod.readiness {namespace, name, failing: bool} node.power_off {name}   node.power_on {name}
      node.cordon {name}  node.uncordon {name}  node.drain {name}
      workload.scale {kind, namespace, name, replicas: int}
      workload.set_image {kind, namespace, name, image, container?}
      workload.rollback {kind, namespace, name, revision?: int}
      object.delete {resource (plural), namespace ("" if cluster-scoped), name}
      apply {yaml: str <= 3 MiB}
      sim.pause  sim.resume  sim.speed {speed: 0.25..50}  sim.step  sim.reset
      drill.list                       -> the catalogue (Drill.public(): no hint text, solution or hidden fault)
      drill.start {id}                 -> swap in the drill's cluster (every client resyncs); its status
      drill.status  drill.hint  drill.stop {finish?: bool}  drill.exit (back to the sandbox cluster)

    While a drill runs, every other action (and every Kubernetes API write, e.g. kubectl) is
    recorded in the drill's action log with its drill time (``webapp/drills.py``).

    ``kind`` is one of Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController.
    A malformed message (not an object, unknown type or argument, wrong type, missing argument,
    oversized string) gets a ``BadRequest`` Status whose ``details.causes[0].field`` names the
    argument at fault (e.g. ``args.replicas``), and changes nothing. ``sim.*`` results are the clock.

Any other event, or a packet that does not decode, is answered (if it asked for an ack) with a
``BadRequest`` Status (``details.causes[0].field`` ``event`` or ``packet``) and changes nothing;
frames that do not decode at all are dropped (``webapp.socket_guard``). Each connection may send
50 messages/s (burst 100); beyond that an event asking for an ack gets a ``TooManyRequests``
Status with ``details.retryAfterSeconds``, and the others are dropped with one ``notice`` event
(that Status) per throttled stretch. Neither closes the connection.

Server -> client
----------------
``snapshot`` ``{"revision", "generation", "objects": [{"resource": plural, "object": {...}}...],
    "clock", "profile": {"name", "values"}}`` -- every object in the store (Lease objects excluded but
    the node Leases of kubelets that are off, see ``LIVE_EXCLUDE``), ordered by (resource, namespace, name). Replace all local state with it.
``delta`` ``{"from_rv", "to_rv", "generation", "changes": [{"type": ADDED|MODIFIED|DELETED,
    "resource", "object"}], "clock"}`` -- one batch per frame (at most one per 25 ms) for all
    the cluster's clients. Apply the changes in order; for DELETED the object is its last state. Several
    modifications of one object inside one batch are folded into one entry carrying the latest
    state (at the position of the first). ``from_rv`` of a delta equals ``to_rv`` of the previous
    one; if it does not, re-subscribe.
``clock`` ``{"now": sim seconds, "paused", "speed", "lag": wall seconds behind pace, "profile": name,
    "generation", "error"?, "speed_lock"?}`` -- inside every delta, alone once a second, and at
    once after ``sim.*`` actions. ``speed_lock``: the instructor fixed the speed (``sim.speed`` is refused).
``resync`` ``{"reason": "Expired"|"Reset", "message"}`` -- local state is stale; a ``snapshot``
    follows immediately (after ``sim.reset`` every client gets ``resync`` Reset + ``snapshot``; so
    after ``drill.start``/``drill.exit``, and when a drill with hidden faults ends). One client that
    fell behind gets no deltas while its send queue is deep or its heartbeat unanswered, then,
    once it has caught up, ``resync`` Expired + ``snapshot`` (never a gap).
``drill`` ``{"active": false}`` or ``{"active": true, "id", "title", "teaches", "briefing", "phase":
    Running|Finished|Stopped, "t", "time_limit", "remaining", "probes": [{name, type, passing, value,
    streak, everFailed}], "hints": [{at, text}], "hints_total", "faults": [...], "actions": [...],
    "seq", "report"? (once over)}`` -- after subscribing while a drill is loaded, and whenever it
    changes (each drill second); ``{"active": false}`` after ``drill.exit``. A ``resync`` Reset
    clears the client's drill (a ``drill`` event follows if one is loaded).
    While a drill runs, faults marked hidden are left out of ``faults``, and their chaos objects and
    Events are left out of snapshots and deltas.

``tiles`` ``{"tiles": [tile...], "full"?: true}`` -- grid connections only: right after connecting
    every cluster's tile (``full``), then the tiles that changed (each cluster at most every 0.5 s):
    ``{"cluster", "owner", "nodes", "nodes_ready", "workloads_available", "workloads_desired",
    "drill": null | {"id", "title", "phase", "t", "time_limit", "probes": [{"name", "passing"}]},
    "paused", "speed", "speed_lock", "last_action": null | {"action", "via", "ok", "wall", "at"},
    "health": ok|degraded|stalled, "loaded"}`` (``webapp.hub``).

``notice`` ``<metav1.Status TooManyRequests>`` -- messages sent without an ack were dropped (above).

Kubernetes Event objects arrive like any other object (resource ``events``); the learner's
explanation is in the annotation ``kubedrill.io/explanation``.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import orjson
import socketio

from engine.errors import BadRequest, Cause, Expired, InternalError, ServiceUnavailable, StatusError

from .control import dispatch
from .hub import CLASS_ROOM, DEFAULT_CLUSTER, check_cluster_id
from .kube_api.common import dumps
from .policy import authorize, authorize_action
from .runtime import Runtime

log = logging.getLogger(__name__)

NAMESPACE = "/live"
ROOM = "cluster:demo"   # a cluster's subscribers share the room ``cluster:<id>`` (see webapp.hub)
LIVE_EXCLUDE = frozenset({"leases"})   # node heartbeats: thousands of writes, nothing to draw
# ... except a node Lease's kubelet state (kubedrill.io/kubelet-state): a powered-off node stays
# Ready in the API for node-monitor-grace-period, and the dashboard should show at once that it is
# off. Renewals are materialised lazily (engine.component_helpers.node_lease), so a node Lease is
# written only when its heartbeats start or stop: streaming those writes costs nothing per tick.
NODE_LEASE_NAMESPACE = "kube-node-lease"
KUBELET_STATE = "kubedrill.io/kubelet-state"
# A change waits at most one frame before it is sent, so the frame bounds the stream's latency:
# 25 ms keeps 200 dashboards under 50 ms at p99 (bench/live_bench.py; 75 ms gave ~100 ms) and is
# still fewer batches than the browser's 60 fps could draw. Each batch costs one send per client.
FRAME_SECONDS = 0.025
CLOCK_SECONDS = 1.0
# While a batch is handed to the room: each hand-over wakes that client's writer thread, and at
# CPython's 5 ms switch interval 200 woken writers preempted the hand-over, which then queued for
# the GIL behind them (some emits took 12-18 ms instead of 3, and p99 latency went from ~46 to ~56
# ms). The hand-over is a few ms of queue puts, so it keeps the GIL that long; the writers then run.
FANOUT_SWITCH_INTERVAL = 0.050
MAX_REVISIONS_PER_BATCH = 20_000
# A subscriber whose Engine.IO send queue holds this many packets (~3 s of frames) is not keeping
# up: before, it was fed regardless, its queue grew without bound and the heartbeat PING queued
# behind it, so Engine.IO's 20 s ping timeout closed the session. Now it leaves the room (no more
# deltas), and once its queue has drained it gets ``resync`` Expired + ``snapshot`` and rejoins:
# an explicit resync, never a gap, and its queue stays short enough for the PING to get through.
LAG_PACKETS = 120
# ... or whose heartbeat PING has been unanswered this long: the PING is written in order with the
# deltas, so its round trip is the client's whole backlog (our queue, both kernels' buffers, the
# client's own event queue), which the queue depth alone does not see. python-engineio clients give
# up when nothing was written for ping_interval + 5 s, so the backlog must stay well under that.
LAG_PING_SECONDS = 3.0
READMIT_AFTER = 1.0    # seconds out of the room at least, so a slow client is not snapshotted every frame
CHAOS_PLURALS = frozenset({"podchaos", "nodechaos", "controlplanechaos", "networkchaos", "schedules"})


class SocketJSON:
    """The JSON codec for Socket.IO packets: orjson, compact (``json=`` of ``SocketIO.init_app``).

    Each subscriber's snapshot is encoded for that subscriber, so a classroom joining at once
    encodes it 200 times; orjson does that ~5x faster than the standard library. Malformed input
    still raises a ``ValueError`` (``orjson.JSONDecodeError`` subclasses ``json.JSONDecodeError``).
    """

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:   # python-socketio passes separators=(",", ":")
        return dumps(obj)

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)


class NoWebSocketCompression:
    """WSGI middleware: hide the client's ``permessage-deflate`` offer on Socket.IO requests.

    Browsers always offer permessage-deflate and simple-websocket always accepts it, after which
    every delta is compressed once *per client* with that client's own zlib context: with 200
    dashboards that is 200 compressions of each ~10 KB batch (bench/live_bench.py measured the
    server at ~70 % of a core instead of ~20 %, and p99 latency x3). Dropping the offer keeps the
    WebSocket uncompressed, which is what a loopback/LAN classroom wants. Wrap ``app.wsgi_app``.
    """

    def __init__(self, wsgi_app: Any, prefix: str = "/socket.io"):
        self.wsgi_app = wsgi_app
        self.prefix = prefix

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith(self.prefix):
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.wsgi_app(environ, start_response)


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Let the calling thread keep the GIL for a short hand-over (``FANOUT_SWITCH_INTERVAL``)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(FANOUT_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _change(ev: Any) -> dict[str, Any]:
    return {"type": ev.type, "resource": ev.resource, "object": ev.obj}


def _node_lease(resource: str, obj: dict) -> bool:
    return resource == "leases" and (obj.get("metadata") or {}).get("namespace") == NODE_LEASE_NAMESPACE


def _kubelet_down(resource: str, obj: dict) -> bool:
    """A node Lease whose kubelet is off (powered off, stopped, partitioned): what a snapshot carries."""
    state = ((obj.get("metadata") or {}).get("annotations") or {}).get(KUBELET_STATE, "running")
    return _node_lease(resource, obj) and state != "running"


def is_hidden(resource: str, obj: dict, hidden: frozenset[tuple[str, str]]) -> bool:
    """Is ``obj`` a hidden drill fault (a chaos object in ``hidden``), an Event about one, or a node Lease?

    A node Lease carries its kubelet's power state, which the dashboard shows at once; a drill that
    hides a power-off must leave the student only what kubectl shows (Ready until the grace period
    runs out), so while any fault is hidden no node Lease is streamed. The drill's end resyncs.
    """
    if not hidden:
        return False
    if _node_lease(resource, obj):
        return True
    if resource == "events":
        ref = obj.get("involvedObject") or obj.get("regarding") or {}
        return (ref.get("kind", ""), ref.get("name", "")) in hidden
    if resource in CHAOS_PLURALS:
        return (obj.get("kind", ""), (obj.get("metadata") or {}).get("name", "")) in hidden
    return False


def fold_changes(events: list[Any], exclude: frozenset[str] = LIVE_EXCLUDE,
                 hidden: frozenset[tuple[str, str]] = frozenset()) -> list[dict[str, Any]]:
    """Turn store events into delta changes, folding repeated modifications of one object.

    ``hidden`` names chaos objects a running drill keeps secret: they and their Events are left out.
    """
    changes: list[dict[str, Any]] = []
    live: dict[tuple[str, str, str], dict[str, Any]] = {}   # key -> its ADDED/MODIFIED entry in changes
    for ev in events:
        if (ev.resource in exclude and not _node_lease(ev.resource, ev.obj)) or (hidden and is_hidden(ev.resource, ev.obj, hidden)):
            continue
        key = ev.key
        if ev.type == "MODIFIED" and key in live:
            live[key]["object"] = ev.obj        # keep the entry's type (ADDED stays ADDED) and position
            continue
        entry = _change(ev)
        changes.append(entry)
        if ev.type == "DELETED":
            live.pop(key, None)
        else:
            live[key] = entry
    return changes


class Broadcaster:
    """The one thread that reads the store's history and emits coalesced deltas to room ``cluster``."""

    def __init__(self, runtime: Runtime, server: socketio.Server, *, namespace: str = NAMESPACE,
                 room: str = ROOM, frame: float = FRAME_SECONDS, clock_every: float = CLOCK_SECONDS,
                 exclude: frozenset[str] = LIVE_EXCLUDE):
        self.runtime = runtime
        self.server = server
        self.namespace = namespace
        self.room = room
        self.frame = frame
        self.clock_every = clock_every
        self.exclude = frozenset(exclude)
        # Held while polling + emitting, and while a subscriber is caught up and joins the room,
        # so a subscriber never misses or doubles a change.
        self._emit_lock = threading.Lock()
        self._last_emit = 0.0
        self._last_clock = 0.0
        self._drill_key: Any = None   # (generation, seq) of the last ``drill`` event sent
        self.lag_packets = LAG_PACKETS
        self.lag_ping_seconds = LAG_PING_SECONDS
        self._lagging: dict[str, tuple[str, float]] = {}   # sid -> (eio_sid, when it left the room)
        self.resyncs_for_lag = 0
        with runtime.lock:
            self.generation = runtime.generation
            self.cursor = runtime.cluster.store.revision

    # ------------------------------------------------------------------ building messages (under runtime.lock)
    def _snapshot_locked(self) -> dict[str, Any]:
        rt = self.runtime
        store = rt.cluster.store
        hidden = rt.hidden_refs()
        objects = [{"resource": r, "object": o} for r, o in store.items()
                   if (r not in self.exclude or _kubelet_down(r, o)) and not (hidden and is_hidden(r, o, hidden))]
        return {"revision": store.revision, "generation": rt.generation, "objects": objects,
                "clock": rt.clock_state(), "profile": rt.profile_state()}

    def _pending_locked(self) -> tuple[str, dict[str, Any]] | None:
        """Advance the cursor to the store's head; the message that tells the room about it, if any."""
        rt = self.runtime
        store = rt.cluster.store
        if rt.generation != self.generation:
            self.generation = rt.generation
            self.cursor = store.revision
            return ("reset", self._snapshot_locked())
        if store.revision <= self.cursor:
            return None
        start = self.cursor
        head = min(store.revision, start + MAX_REVISIONS_PER_BATCH)
        try:
            events = [ev for ev in store.events_since(start) if ev.rv <= head]
        except Expired:
            # The broadcaster fell out of the history window: everyone resyncs.
            self.cursor = store.revision
            return ("expired", self._snapshot_locked())
        self.cursor = head
        return ("delta", {"from_rv": start, "to_rv": head, "generation": self.generation,
                          "changes": fold_changes(events, self.exclude, rt.hidden_refs()),
                          "clock": rt.clock_state()})

    def _drain_locked(self) -> list[tuple[str, dict[str, Any]]]:
        """Every message needed to bring the room to the store's head (several if the backlog is large)."""
        out = []
        while (pending := self._pending_locked()) is not None:
            out.append(pending)
        return out

    def _emit_pending(self, pending: tuple[str, dict[str, Any]] | None, clock: dict[str, Any] | None,
                      skip: str | None = None) -> None:
        if pending is None or pending[0] == "delta":
            with _uninterrupted():
                self._emit_to_room(pending, clock, skip)
        else:   # a snapshot can take long to encode: never hold the GIL through that
            self._emit_to_room(pending, clock, skip)
        self._last_emit = time.monotonic()

    def _emit_to_room(self, pending: tuple[str, dict[str, Any]] | None, clock: dict[str, Any] | None,
                      skip: str | None = None) -> None:
        def emit(event: str, data: Any) -> None:
            self.server.emit(event, data, to=self.room, skip_sid=skip, namespace=self.namespace)

        if pending is None:
            if clock is None:
                return
            emit("clock", clock)
        elif pending[0] == "delta":
            emit("delta", pending[1])
        else:
            reason = "Reset" if pending[0] == "reset" else "Expired"
            message = ((self.runtime.resync_message or "the simulation was reset") if reason == "Reset"
                       else "the live stream fell behind the store's history window")
            emit("resync", {"reason": reason, "message": message})
            emit("snapshot", pending[1])

    # ------------------------------------------------------------------ public
    def _drill_locked(self) -> dict[str, Any] | None:
        """The drill's status if it changed since the last ``drill`` event (None if it did not)."""
        rt = self.runtime
        drill = rt.drill
        key = (rt.generation, drill.seq) if drill is not None else None
        if key == self._drill_key:
            return None
        self._drill_key = key
        return drill.status() if drill is not None else {"active": False}

    def flush(self, *, clock: bool = False) -> bool:
        """Emit whatever changed since the last flush (or the clock if ``clock``); True if a delta went out."""
        return bool(self._flush(clock=clock, wait=True))

    def _flush(self, *, clock: bool, wait: bool) -> bool | None:
        """``flush``; with ``wait=False``, None at once (nothing done) if another thread holds the cluster."""
        if not self._emit_lock.acquire(blocking=wait):
            return None
        try:
            self._shed_laggards()
            if not self.runtime.lock.acquire(blocking=wait):
                return None
            try:
                pending = self._pending_locked()
                state = self.runtime.clock_state() if clock else None
                drill = self._drill_locked()
                readmit = self._readmittable_locked()
                snapshot = self._snapshot_locked() if readmit else None
                drill_now = self.runtime.drill.status() if readmit and self.runtime.drill is not None else None
                head = self.cursor
            finally:
                self.runtime.lock.release()
            self._durable(head)
            self._emit_pending(pending, state)
            if drill is not None:
                self.server.emit("drill", drill, to=self.room, namespace=self.namespace)
            for sid in readmit:
                self._readmit(sid, snapshot, drill_now)
            return pending is not None
        finally:
            self._emit_lock.release()

    # ------------------------------------------------------------------ subscribers that do not keep up
    def _session(self, eio_sid: str) -> Any:
        """The Engine.IO session (None if it is gone, or for a test client, which has none)."""
        sock = self.server.eio.sockets.get(eio_sid)
        return None if sock is None or sock.closed or not hasattr(sock, "queue") else sock

    def _behind(self, sock: Any) -> str | None:
        """Why the session is not keeping up (None if it is)."""
        depth = sock.queue.qsize()
        if depth >= self.lag_packets:
            return f"{depth} messages queued"
        last_ping = sock.last_ping
        if last_ping is not None and time.time() - last_ping > self.lag_ping_seconds:
            return f"heartbeat unanswered for {time.time() - last_ping:.1f} s"
        return None

    def _shed_laggards(self) -> None:
        """Take every subscriber that is not keeping up out of the room (under _emit_lock)."""
        now = time.monotonic()
        for sid, eio_sid in list(self.server.manager.get_participants(self.namespace, self.room)):
            sock = self._session(eio_sid)
            why = self._behind(sock) if sock is not None else None
            if why is not None:
                self.server.leave_room(sid, self.room, namespace=self.namespace)
                self._lagging[sid] = (eio_sid, now)
                log.warning("live client %s is behind (%s): paused until it catches up, then resynced", sid, why)

    def _readmittable_locked(self) -> list[str]:
        """Lagging subscribers whose queue has drained (under runtime.lock, after ``_pending_locked``)."""
        if not self._lagging or self.cursor != self.runtime.cluster.store.revision:
            return []   # a snapshot now would be ahead of the room's cursor: wait for the next frame
        now = time.monotonic()
        ready = []
        for sid, (eio_sid, since) in list(self._lagging.items()):
            sock = self._session(eio_sid)
            if sock is None:
                self._lagging.pop(sid, None)    # gone meanwhile
            elif sock.queue.qsize() == 0 and sock.last_ping is None and now - since >= READMIT_AFTER:
                ready.append(sid)   # it answered the heartbeat: it has read everything sent before
        return ready

    def _readmit(self, sid: str, snapshot: dict[str, Any] | None, drill: dict[str, Any] | None) -> None:
        self._lagging.pop(sid, None)
        self.resyncs_for_lag += 1
        emit = self.server.emit
        emit("resync", {"reason": "Expired", "message": "this client fell behind the live stream"},
             to=sid, namespace=self.namespace)
        emit("snapshot", snapshot, to=sid, namespace=self.namespace)
        if drill is not None:
            emit("drill", drill, to=sid, namespace=self.namespace)
        self.server.enter_room(sid, self.room, namespace=self.namespace)

    def forget(self, sid: str) -> None:
        """Drop what is kept about subscriber ``sid`` (it disconnected)."""
        self._lagging.pop(sid, None)

    def _durable(self, revision: int) -> None:
        """Wait until ``revision`` is committed: a dashboard never sees a change a crash could take back."""
        try:
            self.runtime.make_durable(revision)
        except ServiceUnavailable:
            log.warning("live stream: sending changes the database has not confirmed yet")

    def subscribe(self, sid: str, since: int | None, generation: int | None) -> dict[str, Any]:
        """Bring client ``sid`` up to date (snapshot, catch-up delta or resync) and add it to the room."""
        emit = self.server.emit
        with self._emit_lock:
            with self.runtime.lock:
                backlog = self._drain_locked()   # the room first: the cursor is now the store's head
                store = self.runtime.cluster.store
                head = self.cursor
                reply: list[tuple[str, dict[str, Any]]] = []
                if since is None:
                    reply.append(("snapshot", self._snapshot_locked()))
                else:
                    reason = self._resume_problem(since, generation)
                    events = list(store.events_since(since)) if reason is None else None
                    if events is None and generation in (None, self.generation):
                        events = self.runtime.cluster.catch_up(since)   # across a server restart
                    if events is not None:
                        reply.append(("delta", {"from_rv": since, "to_rv": head, "generation": self.generation,
                                                "changes": fold_changes(events, self.exclude,
                                                                        self.runtime.hidden_refs()),
                                                "clock": self.runtime.clock_state()}))
                    else:
                        reply.append(("resync", {"reason": "Expired", "message": reason}))
                        reply.append(("snapshot", self._snapshot_locked()))
            self._lagging.pop(sid, None)
            self._durable(head)
            for pending in backlog:
                # Not to ``sid``: the reply covers ``since`` to the head, and a client re-subscribing
                # from inside the room would otherwise see these first and take them for a gap.
                self._emit_pending(pending, None, skip=sid)
            with self.runtime.lock:
                drill = self.runtime.drill
                if drill is not None:   # no drill: nothing to say (a resync already cleared the old one)
                    reply.append(("drill", drill.status()))
            for event, data in reply:
                emit(event, data, to=sid, namespace=self.namespace)
            self.server.enter_room(sid, self.room, namespace=self.namespace)
            return {"ok": True, "revision": head, "generation": self.generation}

    def _resume_problem(self, since: int, generation: int | None) -> str | None:
        """Why ``since`` cannot be resumed from (None if it can); call under runtime.lock."""
        store = self.runtime.cluster.store
        if generation is not None and generation != self.generation:
            return f"the simulation was reset (generation {generation} is now {self.generation})"
        if since > store.revision:
            return f"too large resource version: {since}, current: {store.revision}"
        try:
            store.check_window(since)
        except Expired as err:
            return err.message
        return None

    def emit_clock(self) -> None:
        """Send the clock to every subscriber now (after pause/resume/speed/step)."""
        self.flush(clock=True)

    def pump(self) -> None:
        """Flush if there is something to say and a frame has passed since the last batch (the hub's live thread).

        Coalescing: at most one batch per frame, so a burst of writes becomes one message; the clock
        goes out on its own once per ``clock_every`` (a delta carries it too, but an idle demo cluster
        still writes every second, e.g. its database's row counts, and "idle" must not mean "never").
        """
        now = time.monotonic()
        if now - self._last_emit < self.frame:
            return
        rt = self.runtime
        idle = now - self._last_clock >= self.clock_every
        drill = rt.drill
        drill_key = (rt.generation, drill.seq) if drill is not None else None
        if (idle or self._lagging or rt.cluster.store.revision > self.cursor or rt.generation != self.generation
                or drill_key != self._drill_key):
            # One live thread serves every cluster of the hub, and the one engine thread ticks and
            # commits them in the same order: waiting here for a cluster the engine holds (its lock
            # while it ticks, its commit just after) made this thread trail the engine from cluster
            # to cluster, so a pass lasted as long as the engine's (bench/classroom_bench.py, 100
            # students: p99 pass 556 ms, student commit->delta p99 477 ms). A busy cluster is
            # skipped instead and flushed next frame, once the engine has moved on.
            if rt.committing() and rt.committed < rt.cluster.store.revision:
                return
            if self._flush(clock=idle, wait=False) is not None and idle:
                self._last_clock = now


class LiveNamespace(socketio.Namespace):
    """Socket.IO handlers for ``/live``: ``subscribe`` and ``action`` (see the protocol above).

    A connection is bound to ONE cluster when it connects (``auth: {"cluster": id}``, default
    ``demo``) or to the instructor's grid (``auth: {"grid": true}``); who it is comes from the
    handshake's session cookie or bearer token (``webapp.policy``), checked then and on every action.
    """

    def __init__(self, hub: Any, principal_of: Callable[[dict], Any], namespace: str = NAMESPACE):
        super().__init__(namespace)
        self.hub = hub
        self.principal_of = principal_of
        self._conns: dict[str, tuple[str | None, Any]] = {}   # sid -> (cluster id or None for the grid, principal)

    # The events a client may send, and how many arguments each takes at most.
    EVENTS = {"subscribe": 1, "action": 1}

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Route an event; an unknown one or one with extra arguments is answered with a BadRequest Status.

        The library's routing returns nothing for an unknown event, so a client waiting for the
        ack would wait forever, and a wrong argument count raised TypeError in the handler thread.
        ``connect``/``disconnect`` come from the server itself (clients cannot send them:
        ``webapp.socket_guard.LivePacket`` refuses reserved names).
        """
        if event in ("connect", "disconnect"):
            return super().trigger_event(event, *args)
        limit = self.EVENTS.get(event)
        if limit is None:
            shown = event if len(event) <= 64 else event[:64] + "..."
            return _error(BadRequest(f'event: unsupported event "{shown}": supported values: "subscribe", "action"',
                                     causes=[Cause("event", f'unsupported event "{shown}"', "FieldValueNotSupported")]))
        sid, *payload = args
        if len(payload) > limit:
            return _error(BadRequest(f"{event}: takes one argument, got {len(payload)}",
                                     causes=[Cause(event, f"takes one argument, got {len(payload)}")]))
        try:
            return getattr(self, f"on_{event}")(sid, *payload)
        except StatusError as err:
            return _error(err)
        except Exception as exc:  # a bug, not the client's input: answer, never leave the ack hanging
            log.exception("%s failed", event)
            return _error(InternalError(f"Internal error occurred: {type(exc).__name__}: {exc}"))

    def on_connect(self, sid: str, environ: dict, auth: Any = None) -> bool:
        try:
            principal = self.principal_of(environ)
            cluster, grid = _connect_args(auth)
            if grid:
                authorize(principal, "list", "*", resource="clusters", group="kubedrill.io")
            else:
                authorize(principal, "watch", cluster, resource="clusters", group="kubedrill.io", name=cluster)
                self.hub.get(cluster)   # NotFound for a cluster that does not exist
        except StatusError as err:
            # Two arguments: the client's connect_error then has .message (the sentence) and .data
            # (the Status). With the Status alone, python-socketio sends its str() as the message.
            status = err.to_status()
            raise socketio.exceptions.ConnectionRefusedError(status["message"], status) from None
        self._conns[sid] = (None if grid else cluster, principal)
        if grid:
            self.server.enter_room(sid, CLASS_ROOM, namespace=self.namespace)
            tiles = [self.hub.summary(cid) for cid in self.hub.ids()]
            self.server.emit("tiles", {"tiles": tiles, "full": True}, to=sid, namespace=self.namespace)
        return True

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        # The server's own reasons (a ping timeout above all) are worth a line: a dashboard lost its stream.
        cluster, _ = self._conns.pop(sid, (None, None))
        if cluster is not None:
            self.hub.forget_subscriber(cluster, sid)
        if reason not in (None, self.server.reason.CLIENT_DISCONNECT, self.server.reason.TRANSPORT_CLOSE):
            log.warning("live client %s disconnected: %s", sid, reason)

    def _bound(self, sid: str) -> tuple[str, Any]:
        cluster, principal = self._conns.get(sid, (None, None))
        if cluster is None:
            raise BadRequest("this connection watches the class grid, not a cluster: connect with "
                             'auth {"cluster": <id>} to subscribe or act')
        return cluster, principal

    def on_subscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        cluster, _ = self._bound(sid)
        since, generation = _subscribe_args(data)
        return self.hub.broadcaster(cluster).subscribe(sid, since, generation)

    def on_action(self, sid: str, data: Any = None) -> dict[str, Any]:
        cluster, principal = self._bound(sid)
        runtime = self.hub.get(cluster)

        ack = dispatch(runtime, data, authorize=lambda kind, args: authorize_action(principal, cluster, kind, args))
        if ack["ok"] and isinstance(data, dict) and str(data.get("type", "")).startswith(("sim.", "drill.")):
            try:
                self.hub.broadcaster(cluster).emit_clock()
            except Exception:
                log.exception("could not emit the clock after %s", data.get("type"))
        return ack


def _connect_args(auth: Any) -> tuple[str, bool]:
    """(cluster id, grid?) from the connection's ``auth`` payload; BadRequest naming the field at fault."""
    if auth is None:
        return DEFAULT_CLUSTER, False
    if not isinstance(auth, dict):
        raise BadRequest("auth: must be an object", causes=[Cause("auth", "must be an object")])
    unknown = sorted(str(k)[:64] for k in auth if k not in ("cluster", "grid"))
    if unknown:
        raise BadRequest(f"auth.{unknown[0]}: unknown field", causes=[Cause(f"auth.{unknown[0]}", "unknown field")])
    grid = auth.get("grid", False)
    if not isinstance(grid, bool):
        raise BadRequest("auth.grid: must be a boolean", causes=[Cause("auth.grid", "must be a boolean")])
    cluster = auth.get("cluster", DEFAULT_CLUSTER)
    if grid:
        return "", True
    if not isinstance(cluster, str):
        raise BadRequest("auth.cluster: must be a string", causes=[Cause("auth.cluster", "must be a string")])
    return check_cluster_id(cluster), False


def _error(err: StatusError) -> dict[str, Any]:
    return {"ok": False, "error": err.to_status()}


def _subscribe_args(data: Any) -> tuple[int | None, int | None]:
    if data is None:
        return None, None
    if not isinstance(data, dict):
        raise BadRequest("subscribe: must be an object", causes=[Cause("subscribe", "must be an object")])
    out: list[int | None] = []
    for field in ("since", "generation"):
        value = data.get(field)
        if value is None:
            out.append(None)
            continue
        if isinstance(value, str) and value.isdigit() and len(value) < 20:
            value = int(value)    # resourceVersion strings are accepted too
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadRequest(f"{field}: must be a non-negative integer or null",
                             causes=[Cause(field, "must be a non-negative integer or null")])
        out.append(value)
    return out[0], out[1]
