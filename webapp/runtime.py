"""Own the simulated cluster and pace its simulated time to wall time (SimPy's ``rt`` idea, as a layer).

One ``Runtime`` per simulated cluster: it holds the ``Cluster``, the ``RLock`` every request/socket
thread takes before touching it, and its pace: every ~50 ms of wall time ``tick_wall`` advances
simulated time by ``speed x elapsed`` through ``cluster.run_until``. A server of many clusters
(``webapp.hub``) ticks them all from ONE engine thread; a runtime on its own can ``start`` a thread
of its own. Waiters (the live broadcaster, HTTP watches)
sleep on a condition variable that is notified whenever the store's revision or the runtime's
``generation`` changes, so nobody polls the engine.

The engine never reads the wall clock; this module is the only place that does (``time.monotonic``).
Nothing here is module-global: tests build as many runtimes as they like and drive them by hand
(``step`` / ``advance``) without starting the thread.
"""
from __future__ import annotations

import gc
import inspect
import logging
import math
import threading
import time
from collections import deque
from typing import Any, Callable

from engine.clock import EPOCH_SECONDS
from engine.cluster import Cluster
from engine.errors import BadRequest, Forbidden, ServiceUnavailable
from engine.etcd import persistence
from engine.etcd.persistence import UnencodableObjects

from .drills import KEPT_REPORTS, DrillSession, find_drill

log = logging.getLogger(__name__)

MIN_SPEED = 0.25
MAX_SPEED = 50.0
STALL_SECONDS = 5.0   # wall seconds without a finished engine tick (while running) that mean "stalled"
PROFILES = ("demo", "kubernetes")

ClusterFactory = Callable[..., Any]


def _default_cluster_factory(**kwargs: Any) -> Any:
    return Cluster(**kwargs)


def _accepts(factory: Callable[..., Any], param: str) -> bool:
    """Whether the cluster factory takes keyword ``param`` (the default factory is ``Cluster`` itself)."""
    if factory is _default_cluster_factory:
        factory = Cluster
    try:
        return param in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


# One writer at a time per SQLite file, queued here in Python. SQLite lets one transaction write at
# a time; the others wait in its busy handler, which sleeps in growing steps (up to 100 ms) and
# wakes in no order, so with a classroom of clusters in one file a write's ack could wait ~0.5 s
# behind its neighbours. A lock per file makes them queue fairly, each waiting only for the commits
# ahead of it (classroom_bench: student p99 106 ms -> 63 ms at 100 students). Other databases
# (PostgreSQL) take concurrent writers and need no lock.
_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_MUTEX = threading.Lock()


def _writer_lock(url: str) -> threading.Lock | None:
    """The process-wide lock every commit to SQLite file ``url`` takes, or None for other databases."""
    if not url.startswith("sqlite"):
        return None
    with _SQLITE_WRITERS_MUTEX:
        return _SQLITE_WRITERS.setdefault(url, threading.Lock())


def wipe_store(url: str, cluster: str = "demo") -> None:
    """Empty cluster ``cluster``'s rows at ``url`` (objects, revision, change log); the others stay."""
    persistence.drop_cluster(url, cluster)


def check_speed(speed: Any) -> float:
    """Return ``speed`` as a float, or raise BadRequest naming the allowed range."""
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed):
        raise BadRequest(f"speed must be a number between {MIN_SPEED:g} and {MAX_SPEED:g}, got {speed!r}")
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise BadRequest(f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}, got {speed:g}")
    return float(speed)


class Runtime:
    """The cluster, its lock and the single engine thread that moves simulated time forward."""

    def __init__(self, *, seed: int = 1, profile: str = "demo", store_url: str | None = None, nodes: int = 3,
                 empty: bool = False, speed: float = 1.0, paused: bool = False, tick: float = 0.05,
                 max_tick: float = 0.25, max_lag: float = 5.0,
                 cluster_factory: ClusterFactory | None = None, cluster_options: dict[str, Any] | None = None,
                 wall_epoch: bool = True):
        self.seed = seed
        self._wall_epoch = wall_epoch  # new clusters start at today's date (engine tests start at 0)
        self.profile_name = profile
        self.store_url = store_url
        self.nodes = nodes
        self.empty = empty
        self.speed = check_speed(speed)
        self.paused = paused
        self.tick = tick            # wall seconds between engine ticks
        self.max_tick = max_tick    # at most this much wall time's worth of sim time per tick
        self.max_lag = max_lag      # owed time beyond this many wall seconds is dropped (time slips)
        self.lag = 0.0              # wall seconds the engine is behind its pace (0 when keeping up)
        self.error: str | None = None
        self.generation = 1
        self.lock = threading.RLock()
        self._changed = threading.Condition(threading.Lock())
        self._factory = cluster_factory or _default_cluster_factory
        self._options = dict(cluster_options or {})   # extra Cluster keywords (e.g. window)
        self._owed = 0.0            # simulated seconds owed to the pace but not yet run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_tick = time.monotonic()   # when the engine thread last finished a tick (watchdog)
        # Group commit (see ``make_durable``): batches queue here in revision order, handed over under
        # ``lock``; whoever needs durability commits every queued batch in one transaction.
        self._batches: list[tuple[Any, Any]] = []      # (persistence, CommitBatch)
        self._batches_mutex = threading.Lock()
        self._commit_lock = threading.Lock()
        self.committed = 0                             # highest revision known to be in the database
        self.unpersisted: list[Any] = []               # keys of objects no database could hold (see _commit_queued)
        self.cluster = self._new_cluster()
        self.drill: Any = None           # webapp.drills.DrillSession while a drill owns the cluster
        self._sandbox: Any = None        # the user's own cluster, kept aside during a drill
        self.drill_reports: deque[dict[str, Any]] = deque(maxlen=KEPT_REPORTS)   # ended drills', newest first
        self.resync_message: str | None = None   # why the generation last changed (for the live stream)
        self.owner: str | None = None    # the student whose cluster this is (webapp.hub); None for demo
        self.on_report: Callable[[dict[str, Any]], None] | None = None   # told of every ended drill's report
        self.last_action: dict[str, Any] | None = None   # {"action", "via", "ok", "wall"} (instructor's tile)
        self.speed_lock: float | None = None   # set by the instructor: the speed cannot be changed
        self.pacer: Callable[[], bool] | None = None   # "is the shared engine thread alive?" (webapp.hub)
        self.watchers = 0                # open Kubernetes API watches (a watched cluster is not idle)
        self.touched = time.monotonic()  # last request, action or subscription (idle eviction)
        self._last_wall = time.monotonic()

    @classmethod
    def from_config(cls, config: dict[str, Any], **kwargs: Any) -> "Runtime":
        """Build a runtime from Flask config keys.

        DB_URL, SEED, PROFILE, SPEED, NODES, EMPTY, PAUSED; CLUSTER_FACTORY (a callable taking the
        Cluster keywords, for tests) and CLUSTER_OPTIONS (extra Cluster keywords, e.g. ``window``).
        """
        return cls(seed=int(config.get("SEED", 1)), profile=str(config.get("PROFILE", "demo")),
                   store_url=config.get("DB_URL"), nodes=int(config.get("NODES", 3)),
                   empty=bool(config.get("EMPTY", False)), speed=float(config.get("SPEED", 1.0)),
                   paused=bool(config.get("PAUSED", False)),
                   cluster_factory=config.get("CLUSTER_FACTORY"),
                   cluster_options=config.get("CLUSTER_OPTIONS"), **kwargs)

    def _new_cluster(self, *, fresh: bool = False) -> Any:
        kwargs: dict[str, Any] = dict(seed=self.seed, profile=self.profile_name, store_url=self.store_url,
                                      nodes=self.nodes, empty=self.empty, **self._options)
        if _accepts(self._factory, "start") and self._wall_epoch:
            # Start new clusters at today's date so kubectl's client-side ages (describe, events) are right.
            kwargs["start"] = max(0.0, time.time() - EPOCH_SECONDS)
        if fresh and self.store_url:
            if _accepts(self._factory, "fresh"):
                kwargs["fresh"] = True
            else:
                # A reset must not resume the persisted cluster: empty the database first.
                wipe_store(self.store_url, self._options.get("store_cluster", "demo"))
        cluster = self._factory(**kwargs)
        self._adopt(cluster)
        # A big cluster is millions of long-lived objects: keep the cyclic GC from re-scanning them
        # (a full pass costs ~1.5 s at 100k pods and would stall the engine thread).
        gc.collect()
        gc.freeze()
        return cluster

    # ------------------------------------------------------------------ durability
    def _adopt(self, cluster: Any) -> None:
        """Route ``cluster``'s flushes through the group commit (clusters without a database need none)."""
        if getattr(cluster, "persistence", None) is not None and hasattr(cluster, "committer"):
            persistence = cluster.persistence
            cluster.committer = lambda batch: self._enqueue(persistence, batch)
        self.committed = cluster.store.revision   # a new cluster commits its start synchronously

    def _enqueue(self, persistence: Any, batch: Any) -> None:
        with self._batches_mutex:
            self._batches.append((persistence, batch))

    def make_durable(self, revision: int) -> None:
        """Return once everything up to ``revision`` is committed to the database.

        Call it WITHOUT holding ``lock``. The first caller commits every queued batch (its own and
        those of the threads that queued meanwhile) in one transaction; the others find their revision
        committed when they get the commit lock: one transaction per round, however many writers.
        A commit that fails keeps its batches queued (the next caller retries them) and raises
        ServiceUnavailable, so the write is not acknowledged.
        """
        if self.committed >= revision:
            return
        with self._commit_lock:
            if self.committed >= revision:
                return
            self._commit_queued()
            # Every batch handed over before this call is in now: the revision is durable (a cluster
            # without a database, e.g. a drill's, has nothing to commit and is "durable" at once).
            self.committed = max(self.committed, revision)

    def committing(self) -> bool:
        """Whether a thread is committing this runtime's changes right now (``make_durable`` would wait)."""
        return self._commit_lock.locked()

    def _commit_queued(self) -> None:
        """Commit every queued batch, consecutive batches of one database merged; hold ``_commit_lock``."""
        with self._batches_mutex:
            batches, self._batches = self._batches, []
        done = 0
        try:
            while done < len(batches):
                persistence, merged = batches[done]
                end = done + 1
                while end < len(batches) and batches[end][0] is persistence:
                    merged = merged.then(batches[end][1])
                    end += 1
                try:
                    self._commit_one(persistence, merged)
                except UnencodableObjects as bad:
                    # Never let one object no database can hold stop every later commit: keep it in
                    # memory only, say so, and commit the rest (the API rejects such input first).
                    log.error("not persisted (%s); committing the rest of the batch", bad)
                    self.unpersisted.extend(bad.keys)
                    for key in bad.keys:
                        merged.changes.pop(key, None)
                    self._commit_one(persistence, merged)
                done = end
        except Exception as exc:
            with self._batches_mutex:
                self._batches[:0] = batches[done:]
            log.exception("commit to the database failed; the batch stays queued")
            raise ServiceUnavailable(f"the change could not be saved to the database: {type(exc).__name__}") from exc

    @staticmethod
    def _commit_one(persistence: Any, batch: Any) -> None:
        writer = _writer_lock(getattr(persistence, "url", ""))
        if writer is None:
            persistence.commit_batch(batch)
            return
        with writer:
            persistence.commit_batch(batch)

    def _drain(self) -> None:
        """Commit every queued batch now (before a cluster is closed, replaced or set aside)."""
        with self._commit_lock:
            self._commit_queued()

    # ------------------------------------------------------------------ access
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` under the lock; answer only once what it wrote or saw is durable.

        An API write is acknowledged after its commit (group commit, outside the lock), and a read
        waits for the commit of what it read, so no client ever holds a resourceVersion that a crash
        could take back. Waiters are woken once the lock is released.
        """
        changed = False
        target: int | None = None
        try:
            with self.lock:
                before = self.cluster.store.revision
                try:
                    return fn(*args, **kwargs)
                finally:
                    changed = self.cluster.store.revision != before
                    if changed:
                        self.cluster.flush()
                    target = self.cluster.store.revision
        finally:
            if target is not None:
                self.make_durable(target)
            if changed:  # notify after the lock is released, so woken threads can take it
                self.notify()

    def revision(self) -> int:
        """The store's current revision (an int read; safe without the lock)."""
        return self.cluster.store.revision

    def notify(self) -> None:
        """Wake every thread blocked in ``wait_for_revision``."""
        with self._changed:
            self._changed.notify_all()

    def wait_for_revision(self, rv: int, timeout: float, generation: int | None = None) -> int:
        """Block (not holding the lock) until the revision passes ``rv`` or ``timeout``; return the revision.

        With ``generation``, also return as soon as the runtime's generation differs (a reset).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                current = self.cluster.store.revision
                if current > rv or (generation is not None and generation != self.generation):
                    return current
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return current
                self._changed.wait(remaining)

    def clock_state(self) -> dict[str, Any]:
        """The clock as the dashboard shows it: sim time, pause, speed, lag, profile, generation."""
        state = {"now": round(self.cluster.clock.now, 3), "started": round(self.cluster.started, 3),
                 "paused": self.paused, "speed": self.speed,
                 "lag": round(self.lag, 3), "profile": self.profile_name, "generation": self.generation}
        if self.error:
            state["error"] = self.error
        if self.speed_lock is not None:
            state["speed_lock"] = self.speed_lock
        return state

    def health(self) -> dict[str, Any]:
        """Whether the engine is alive, for /readyz and the dashboard.

        ``stalled``: simulated time should be moving (the thread runs, not paused) but no tick has
        finished for ``STALL_SECONDS`` of wall time — the engine thread is stuck. ``components``:
        the failures each component has recorded (``Cluster.health``), which do not stop the others.
        """
        age = time.monotonic() - self._last_tick
        stalled = self.running and not self.paused and age > STALL_SECONDS
        components = self.cluster.health()
        if self.unpersisted:
            last = self.unpersisted[-1]
            components = dict(components, persistence={
                "errors": len(self.unpersisted), "last_error": "kept in memory only: not valid JSON",
                "last_key": "/".join(part for part in last if part), "at": round(self.cluster.clock.now, 3)})
        return {"ok": not stalled and self.error is None, "stalled": stalled, "paused": self.paused,
                "last_tick_age": round(age, 3), "error": self.error, "components": components}

    def profile_state(self) -> dict[str, Any]:
        """The timing profile in force: its name and values (``cluster.profile_values()``)."""
        cluster = self.cluster
        if hasattr(cluster, "profile_values"):
            values = cluster.profile_values()
        else:
            values = cluster.profile.values()
        return {"name": self.profile_name, "values": values}

    # ------------------------------------------------------------------ control
    def pause(self) -> dict[str, Any]:
        """Stop simulated time (the engine thread idles); return the clock state."""
        with self.lock:
            self.paused = True
            self.lag = 0.0
            self._owed = 0.0
            state = self.clock_state()
            target = self.cluster.store.revision
        self.make_durable(target)
        self.notify()
        return state

    def resume(self) -> dict[str, Any]:
        """Let simulated time flow again from where it stopped; return the clock state."""
        with self.lock:
            self.paused = False
            self.error = None
            self._owed = 0.0
            state = self.clock_state()
        self.notify()
        return state

    def set_speed(self, speed: Any) -> dict[str, Any]:
        """Set simulated seconds per wall second (0.25-50); BadRequest outside that range."""
        value = check_speed(speed)
        with self.lock:
            if self.speed_lock is not None and value != self.speed_lock:
                raise Forbidden(f"the instructor has locked the speed at {self.speed_lock:g}x: "
                                "ask them to unlock it")
            self.speed = value
            self._owed = 0.0
            state = self.clock_state()
        self.notify()
        return state

    def step(self) -> dict[str, Any]:
        """Advance to the next scheduled event, or by 1 simulated second if none is due sooner."""
        with self.lock:
            clock = self.cluster.clock
            limit = clock.now + 1.0
            nxt = clock.peek()
            self._advance_to(limit if nxt is None or nxt > limit else nxt)
            state = self.clock_state()
            target = self.cluster.store.revision
        self.make_durable(target)
        self.notify()
        return state

    def advance(self, seconds: float) -> dict[str, Any]:
        """Run ``seconds`` of simulated time now, whatever the pace (tests and fast-forward)."""
        with self.lock:
            self._advance_to(self.cluster.clock.now + seconds)
            state = self.clock_state()
            target = self.cluster.store.revision
        self.make_durable(target)
        self.notify()
        return state

    def reset(self) -> None:
        """Replace the cluster by a fresh one (same seed/profile/nodes) and bump ``generation``.

        A drill in progress is abandoned: the fresh cluster is the sandbox again.
        """
        with self.lock:
            self._drain()
            for old in (self.cluster, self._sandbox):
                close = getattr(old, "close", None)
                if callable(close):
                    close()
            self.drill = None
            self._sandbox = None
            self.cluster = self._new_cluster(fresh=True)
            self.generation += 1
            self.resync_message = "the simulation was reset"
            self.lag = 0.0
            self._owed = 0.0
            self.error = None
        self.notify()

    # ------------------------------------------------------------------ drills
    # Design: a drill swaps the runtime's cluster for the drill's own (memory-only) cluster and
    # bumps ``generation``, so every live client and HTTP watch resynchronises. The sandbox cluster
    # is kept aside, frozen, and comes back with ``exit_drill``. While the drill runs, the engine
    # thread advances the DrillRun (timeline, probes once per simulated second) instead of plain
    # cluster time; user actions (socket ``action`` messages, Kubernetes API writes) are recorded in
    # the run's action log through ``record_action``. See webapp/drills.py.
    def _drill_cluster_factory(self) -> ClusterFactory:
        def factory(**kwargs: Any) -> Any:
            kwargs = dict(kwargs, store_url=None, empty=True, **self._options)
            if _accepts(self._factory, "start") and self._wall_epoch:
                kwargs["start"] = max(0.0, time.time() - EPOCH_SECONDS)
            return self._factory(**kwargs)
        return factory

    def start_drill(self, drill_id: str) -> dict[str, Any]:
        """Start drill ``drill_id`` on a fresh cluster of its own; return its live status."""
        drill = find_drill(drill_id)                # NotFound before anything changes
        session = DrillSession(drill, self._drill_cluster_factory(), on_end=self._report_ended)
        cluster = session.start()       # a cluster of its own: built and warmed up outside the lock
        with self.lock:
            self._drain()
            if self._sandbox is None:
                self._sandbox = self.cluster        # keep the user's cluster (and its database) aside
            else:
                close = getattr(self.cluster, "close", None)   # the previous drill's cluster
                if callable(close):
                    close()
            self.cluster = cluster
            self._adopt(cluster)
            self.drill = session
            self._after_swap(f'drill "{drill.id}" started')
            status = session.status()
        self.notify()
        return status

    def _report_ended(self, report: dict[str, Any]) -> None:
        self.drill_reports.appendleft(report)
        if self.on_report is not None:
            try:
                self.on_report(report)   # kept in the database (webapp.hub): it outlives the server
            except Exception:   # the report stays in memory; losing the copy must not break the drill
                log.exception("could not store the drill report")

    def drill_status(self) -> dict[str, Any]:
        """The drill's live status, or ``{"active": false}`` when no drill is loaded."""
        with self.lock:
            return self.drill.status() if self.drill is not None else {"active": False}

    def drill_hint(self) -> dict[str, Any]:
        """Reveal the running drill's next hint; BadRequest when no drill is running."""
        with self.lock:
            return self._running_drill().hint()

    def stop_drill(self, *, finish: bool = False) -> dict[str, Any]:
        """End the running drill (``finish``: play its remaining time at once); return its report."""
        with self.lock:
            session = self._running_drill()
            hidden = session.hidden_refs()
            report = session.stop(finish=finish)
            if hidden:
                self._after_swap("the drill is over: its hidden faults are revealed")
        self.notify()
        return report

    def exit_drill(self) -> dict[str, Any]:
        """Leave the drill (running or over) and bring the sandbox cluster back; return the clock.

        A drill left while running is stopped first, so its report is kept like any other.
        """
        with self.lock:
            if self.drill is None:
                raise BadRequest("no drill is loaded")
            if self.drill.running:
                self.drill.stop()
            close = getattr(self.cluster, "close", None)
            if callable(close):
                close()
            if self._sandbox is not None:
                self.cluster = self._sandbox
                self._adopt(self.cluster)
            else:
                self.cluster = self._new_cluster()
            self._sandbox = None
            self.drill = None
            self._after_swap("left the drill: back to your own cluster")
            state = self.clock_state()
        self.notify()
        return state

    def drill_report(self) -> dict[str, Any] | None:
        """The latest kept report (the drill just over, or the last one left); None while a drill runs.

        While a drill runs there is none, so no report of an earlier try gives its hidden faults away.
        """
        with self.lock:
            if self.drill is not None and self.drill.running:
                return None
            return self.drill_reports[0] if self.drill_reports else None

    def record_action(self, action: str, args: dict[str, Any], *, via: str, ok: bool = True,
                      result: Any = None, error: str | None = None) -> None:
        """Note a user action (the instructor's tile shows the last) and count it in a running drill's report."""
        with self.lock:
            self.last_action = {"action": action, "via": via, "ok": ok, "wall": time.time()}
            if self.drill is not None:
                self.drill.record(action, args, via=via, ok=ok, result=result, error=error)

    def hidden_refs(self) -> frozenset[tuple[str, str]]:
        """(kind, name) of chaos objects the live stream must not show yet (hidden drill faults)."""
        drill = self.drill
        return drill.hidden_refs() if drill is not None else frozenset()

    def _running_drill(self) -> Any:
        if self.drill is None or not self.drill.running:
            raise BadRequest("no drill is running: start one first")
        return self.drill

    def _after_swap(self, message: str) -> None:
        """The cluster changed identity (or must be resent whole): make every client resync."""
        self.generation += 1
        self.resync_message = message
        self.lag = 0.0
        self._owed = 0.0
        self.error = None

    def _advance_to(self, target: float) -> None:
        """Move simulated time to ``target``: through the drill while one runs, else the cluster alone."""
        drill = self.drill
        if drill is not None and drill.running:
            hidden = drill.hidden_refs()
            if drill.advance_to(target) and hidden:
                self._after_swap("the drill is over: its hidden faults are revealed")
        else:
            self.cluster.run_until(target)

    # ------------------------------------------------------------------ engine thread
    def start(self) -> None:
        """Start the engine thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kubedrill-engine", daemon=True)
        self._thread.start()

    def stop(self, *, close: bool = True) -> None:
        """Stop the engine thread and (by default) close the cluster so its last step is persisted."""
        self._stop.set()
        self.notify()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        if close:
            with self.lock:
                self._drain()
                for cluster in (self.cluster, self._sandbox):
                    fn = getattr(cluster, "close", None)
                    if callable(fn):
                        fn()

    @property
    def running(self) -> bool:
        """Whether something paces this runtime: its own thread, or the hub's shared engine thread."""
        if self._thread is not None and self._thread.is_alive():
            return True
        return self.pacer is not None and self.pacer()

    def _run(self) -> None:
        self._last_wall = time.monotonic()
        while not self._stop.wait(self.tick):
            self.tick_wall()

    def tick_wall(self) -> None:
        """One pace step: advance by the wall time since the last one (what the engine thread calls)."""
        now = time.monotonic()
        elapsed, self._last_wall = now - self._last_wall, now
        if not self.paused:
            self.tick_once(elapsed)
        self._last_tick = time.monotonic()

    def tick_once(self, elapsed: float) -> None:
        """Advance simulated time by ``speed x elapsed`` (capped per tick); what the thread does each tick."""
        with self.lock:
            if self.paused:
                return
            speed = self.speed
            owed = self._owed + speed * elapsed
            # Cap the work of one tick so a slow engine cannot hold the lock for long and the UI
            # stays responsive; the rest is owed, and beyond max_lag it is dropped (time slips).
            advance = min(owed, speed * self.max_tick)
            before = self.cluster.store.revision
            generation = self.generation
            try:
                self._advance_to(self.cluster.clock.now + advance)
            except Exception as exc:  # an engine bug must not kill the thread silently: pause and say so
                log.exception("engine failed while advancing simulated time; pausing")
                self.error = f"engine error: {type(exc).__name__}: {exc}"
                self.paused = True
                self._owed = 0.0
                self.lag = 0.0
                changed = True
            else:
                self._owed = min(owed - advance, speed * self.max_lag)
                self.lag = self._owed / speed
                changed = self.cluster.store.revision != before or self.generation != generation
            target = self.cluster.store.revision
        try:
            self.make_durable(target)   # engine-made changes are committed every step
        except ServiceUnavailable as exc:
            self.error = exc.message   # said on /readyz and in the dashboard; the next tick retries
        else:
            if self.error and self.error.startswith("the change could not be saved"):
                self.error = None
        if changed:
            self.notify()
