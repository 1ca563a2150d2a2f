"""The hub: one server, many simulated clusters, each addressed by an id.

Every cluster is a ``Runtime`` (its own cluster, clock, speed, pause, drill) with its own live
``Broadcaster`` (Socket.IO room ``cluster:<id>``). The hub owns them all, and the two threads that
move them: ONE engine thread ticks every loaded runtime in turn (``Runtime.tick_wall``), and ONE live
thread flushes every broadcaster at most once a frame and pushes the instructor's tiles. Thread
count and idle cost do not grow with the number of students.

Addressing: ``ClusterPrefix`` turns ``/c/<id>/<rest>`` into ``/<rest>`` with ``SCRIPT_NAME``
``/c/<id>``, so every route (dashboard, ``/ui``, the Kubernetes API) serves any cluster unchanged and
a kubeconfig's ``server: http://HOST:PORT/c/<id>`` just works; a path without the prefix is the
``demo`` cluster (a single user's server is exactly what it always was).

Bounded: a cluster nobody watches (no live subscriber, no API watch), with no drill running and no
request for ``idle_seconds``, is saved and dropped from memory; the next request loads it back
(``get``). At most ``max_clusters`` student clusters exist (``ClassFull`` beyond).

Scaling out later: a cluster is owned by exactly one process and named by id, so several processes
can share one database behind a proxy that routes ``/c/<id>`` by id (see README, Architecture).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Callable

from flask import current_app, request

from engine.errors import AlreadyExists, Forbidden, NotFound

from .policy import DEMO_CLUSTER
from .records import ClusterRecord, Records
from .runtime import Runtime, _accepts, _default_cluster_factory

log = logging.getLogger(__name__)

DEFAULT_CLUSTER = DEMO_CLUSTER   # the instructor's / single user's cluster, served at /
CLUSTER_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_PREFIX = re.compile(r"^/c/([^/]*)(/.*)?$")
ENGINE_TICK = 0.05      # wall seconds between engine passes over every loaded cluster
TILE_SECONDS = 0.5      # a student's tile is recomputed at most this often
EVICT_CHECK_SECONDS = 5.0
ROOM_PREFIX = "cluster:"
# A student's cluster keeps a short watch history: an idle demo cluster writes ~6 revisions/s at
# ~1.9 KiB each (leases, volume usage), so the engine's default 100,000-revision window is ~180 MiB
# per cluster and a class of 100 would grow without bound for hours. 2,000 revisions is ~5.5 min,
# about what a real apiserver keeps before etcd's default 5-minute compaction; a client resuming
# from further back gets 410 Gone / a fresh snapshot, as against a real cluster. The demo cluster
# keeps the default.
STUDENT_HISTORY_WINDOW = 2_000
CLASS_ROOM = "class"    # the instructor grid's connections


class ClassFull(Forbidden):
    """No more clusters may be made: the hub holds ``max_clusters`` student clusters."""


class ClusterPrefix:
    """WSGI middleware: route ``/c/<id>/...`` to the app with ``SCRIPT_NAME`` ``/c/<id>``.

    ``environ["kubedrill.cluster"]`` carries the id (``demo`` without a prefix). ``/c/<id>`` alone
    is redirected to ``/c/<id>/`` so the dashboard's relative links resolve below it.
    """

    def __init__(self, wsgi_app: Any):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        match = _PREFIX.match(environ.get("PATH_INFO", ""))
        if match is None:
            environ["kubedrill.cluster"] = DEFAULT_CLUSTER
            return self.wsgi_app(environ, start_response)
        cid, rest = match.group(1), match.group(2)
        if rest is None:
            start_response("308 Permanent Redirect", [("Location", f"{environ.get('SCRIPT_NAME', '')}/c/{cid}/"),
                                                      ("Content-Length", "0")])
            return [b""]
        environ["SCRIPT_NAME"] = f"{environ.get('SCRIPT_NAME', '')}/c/{cid}"
        environ["PATH_INFO"] = rest
        environ["kubedrill.cluster"] = cid
        return self.wsgi_app(environ, start_response)


def check_cluster_id(cid: str) -> str:
    """``cid`` when it is a well-formed cluster id; NotFound (a path that names nothing) otherwise."""
    if not isinstance(cid, str) or not CLUSTER_ID.match(cid):
        shown = cid if isinstance(cid, str) and len(cid) <= 64 else "..."
        raise NotFound(f'cluster "{shown}" not found: a cluster id is lower-case letters, digits and "-"')
    return cid


def hub() -> "Hub":
    """The app's hub."""
    return current_app.extensions["kubedrill.hub"]


def request_cluster() -> str:
    """The id of the cluster the current request addresses (``/c/<id>/``, else ``demo``)."""
    return request.environ.get("kubedrill.cluster", DEFAULT_CLUSTER)


def current_runtime() -> Runtime:
    """The runtime of the request's cluster (loaded back from the database if it was evicted)."""
    return hub().get(request_cluster())


class Hub:
    """Every cluster of the server by id, their runtimes and broadcasters, and the threads moving them."""

    def __init__(self, config: dict[str, Any], server: Any, *, namespace: str,
                 broadcaster_factory: Callable[..., Any], frame: float = 0.025):
        self.config = config
        self.store_url: str | None = config.get("DB_URL")
        self.server = server
        self.namespace = namespace
        self._make_broadcaster = broadcaster_factory
        self.frame = float(frame)   # the live thread's pass, = the live stream's frame (webapp.live)
        self.max_clusters = int(config.get("MAX_CLUSTERS", 60))
        self.idle_seconds = float(config.get("IDLE_SECONDS", 600.0))   # 0: never evict
        self.records = Records(self.store_url)
        self._lock = threading.RLock()     # guards the tables below; never held while a cluster runs
        self._known: dict[str, ClusterRecord] = {r.id: r for r in self.records.clusters()}
        self._runtimes: dict[str, Runtime] = {}
        self._broadcasters: dict[str, Any] = {}
        self._loading: dict[str, threading.Event] = {}
        self._tiles: dict[str, tuple[Any, dict[str, Any]]] = {}   # cid -> (change key, last tile sent)
        self._tile_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.evictions = 0
        # Called with (cluster id, runtime) whenever a cluster is made or loaded back, before any
        # request can reach it (the classroom applies its speed lock there).
        self.on_load: list[Callable[[str, Runtime], None]] = []
        demo = Runtime.from_config(config)
        if DEFAULT_CLUSTER not in self._known:
            record = ClusterRecord(DEFAULT_CLUSTER, None, time.time(), self._spec_from_config(), demo.speed, demo.paused)
            self.records.add_cluster(record)
            self._known[DEFAULT_CLUSTER] = record
        self._install(DEFAULT_CLUSTER, demo)

    # ------------------------------------------------------------------ clusters
    def _spec_from_config(self, template: dict[str, Any] | None = None) -> dict[str, Any]:
        c = self.config
        spec = {"seed": int(c.get("SEED", 1)), "profile": str(c.get("PROFILE", "demo")),
                "nodes": int(c.get("NODES", 3)), "empty": bool(c.get("EMPTY", False))}
        spec.update(template or {})
        return spec

    def _persisted_options(self, cid: str) -> tuple[str | None, dict[str, Any]]:
        """The database URL and Cluster keywords that keep cluster ``cid``'s objects apart from the others'."""
        options = dict(self.config.get("CLUSTER_OPTIONS") or {})
        factory = self.config.get("CLUSTER_FACTORY") or _default_cluster_factory
        if cid == DEFAULT_CLUSTER:
            return self.store_url, options
        if _accepts(factory, "window"):
            options.setdefault("window", STUDENT_HISTORY_WINDOW)
        if self.store_url is None:
            return self.store_url, options
        if not _accepts(factory, "store_cluster"):
            return None, options   # a factory that cannot key its rows by cluster keeps them in memory
        options["store_cluster"] = cid
        return self.store_url, options

    def _build(self, record: ClusterRecord) -> Runtime:
        spec = record.spec
        url, options = self._persisted_options(record.id)
        return Runtime(seed=int(spec.get("seed", 1)), profile=str(spec.get("profile", "demo")), store_url=url,
                       nodes=int(spec.get("nodes", 3)), empty=bool(spec.get("empty", False)),
                       speed=record.speed, paused=record.paused,
                       cluster_factory=self.config.get("CLUSTER_FACTORY"), cluster_options=options)

    def _install(self, cid: str, runtime: Runtime) -> None:
        record = self._known[cid]
        runtime.pacer = self._engine_alive
        runtime.on_report = lambda report, cid=cid: self._keep_report(cid, report)
        if not runtime.drill_reports:
            for report in reversed(self.records.reports(cid, limit=runtime.drill_reports.maxlen)):
                runtime.drill_reports.appendleft(report)
        runtime.owner = record.owner
        for hook in list(self.on_load):
            hook(cid, runtime)
        broadcaster = self._make_broadcaster(runtime, self.server, namespace=self.namespace,
                                             room=ROOM_PREFIX + cid)
        with self._lock:
            self._runtimes[cid] = runtime
            self._broadcasters[cid] = broadcaster

    def get(self, cid: str) -> Runtime:
        """The runtime of cluster ``cid``, loaded from the database if it was evicted; NotFound if unknown."""
        runtime = self._runtimes.get(cid)
        if runtime is None:
            runtime = self._load(check_cluster_id(cid))
        runtime.touched = time.monotonic()
        return runtime

    def _load(self, cid: str) -> Runtime:
        while True:
            with self._lock:
                runtime = self._runtimes.get(cid)
                if runtime is not None:
                    return runtime
                record = self._known.get(cid)
                if record is None:
                    raise NotFound(f'cluster "{cid}" not found')
                waiting = self._loading.get(cid)
                if waiting is None:
                    done = self._loading[cid] = threading.Event()
                    break
            waiting.wait(30)   # someone else is loading it: use theirs
        try:
            runtime = self._build(record)   # outside the hub lock: a big cluster takes a while
            self._install(cid, runtime)
            return runtime
        finally:
            with self._lock:
                self._loading.pop(cid, None)
            done.set()

    def broadcaster(self, cid: str) -> Any:
        """The live broadcaster of cluster ``cid`` (loading it if needed)."""
        self.get(cid)
        with self._lock:
            return self._broadcasters[cid]

    def forget_subscriber(self, cid: str, sid: str) -> None:
        """A live subscriber of ``cid`` disconnected (its broadcaster, if loaded, forgets it)."""
        broadcaster = self._broadcasters.get(cid)
        if broadcaster is not None:
            broadcaster.forget(sid)

    def create(self, cid: str, *, owner: str | None = None, template: dict[str, Any] | None = None) -> Runtime:
        """Make cluster ``cid`` from ``template`` (the demo cluster by default) and return its runtime.

        ``template`` may name ``manifests`` (YAML applied once the cluster is up) and ``drill`` (started
        at once), besides seed/profile/nodes/empty. ClassFull when ``max_clusters`` is reached.
        """
        check_cluster_id(cid)
        template = dict(template or {})
        manifests, drill = template.pop("manifests", None), template.pop("drill", None)
        with self._lock:
            if cid in self._known:
                raise AlreadyExists(f'cluster "{cid}" already exists')
            students = sum(1 for k in self._known if k != DEFAULT_CLUSTER)
            if students >= self.max_clusters:
                raise ClassFull(f"the class is full ({self.max_clusters} clusters): ask your instructor "
                                "to make room (app.py --max-clusters)")
            speed = float(self.config.get("SPEED", 1.0))
            record = ClusterRecord(cid, owner, time.time(), self._spec_from_config(template), speed, False)
            self._known[cid] = record   # reserved: a second create of the same id fails at once
        try:
            runtime = self._build(record)
            if manifests:
                from .control import dispatch
                ack = dispatch(runtime, {"type": "apply", "args": {"yaml": manifests}})
                if not ack["ok"]:
                    log.warning("class template manifests failed on %s: %s", cid, ack["error"].get("message"))
            if drill:
                runtime.start_drill(drill)
            self.records.add_cluster(record)
        except BaseException:
            with self._lock:
                self._known.pop(cid, None)
            raise
        self._install(cid, runtime)
        return runtime

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._known)

    def exists(self, cid: str) -> bool:
        return cid in self._known

    def owner(self, cid: str) -> str | None:
        record = self._known.get(cid)
        return record.owner if record is not None else None

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._runtimes)

    # ------------------------------------------------------------------ reports
    def _keep_report(self, cid: str, report: dict[str, Any]) -> None:
        stored_id = self.records.add_report(cid, self.owner(cid), report)
        report.setdefault("id", stored_id)
        report.setdefault("cluster", cid)
        report.setdefault("student", self.owner(cid))

    def reports(self, cid: str | None = None) -> list[dict[str, Any]]:
        """Every stored drill report (of one cluster, or all), newest first."""
        return self.records.reports(cid)

    # ------------------------------------------------------------------ the instructor's tiles
    def summary(self, cid: str) -> dict[str, Any]:
        """What the instructor's tile of cluster ``cid`` shows (an evicted cluster: its last tile, unloaded)."""
        runtime = self._runtimes.get(cid)
        if runtime is None:
            last = self._tiles.get(cid)
            tile = dict(last[1]) if last else {"cluster": cid, "owner": self.owner(cid), "nodes": 0, "nodes_ready": 0,
                                              "workloads_available": 0, "workloads_desired": 0, "drill": None,
                                              "paused": self._known[cid].paused if cid in self._known else False,
                                              "speed": self._known[cid].speed if cid in self._known else 1.0,
                                              "last_action": None, "health": "ok"}
            tile["loaded"] = False
            return tile
        return _tile(cid, runtime)

    # ------------------------------------------------------------------ threads
    def _engine_alive(self) -> bool:
        return any(t.name == "kubedrill-engine" and t.is_alive() for t in self._threads)

    def start(self) -> None:
        """Start the engine and live threads (idempotent)."""
        if self._threads:
            return
        self._stop.clear()
        for name, target in (("kubedrill-engine", self._engine_loop), ("kubedrill-live", self._live_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both threads, then save and close every loaded cluster."""
        self._stop.set()
        for runtime in list(self._runtimes.values()):
            runtime.notify()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        self._threads = []
        with self._lock:
            runtimes = list(self._runtimes.items())
        for cid, runtime in runtimes:
            self._save_pace(cid, runtime)
            runtime.stop()
        self.records.close()

    def _save_pace(self, cid: str, runtime: Runtime) -> None:
        try:
            self.records.save_pace(cid, runtime.speed, runtime.paused)
            record = self._known.get(cid)
            if record is not None:
                record.speed, record.paused = runtime.speed, runtime.paused
        except Exception:
            log.exception("could not save the pace of cluster %s", cid)

    def _engine_loop(self) -> None:
        next_check = time.monotonic() + EVICT_CHECK_SECONDS
        while not self._stop.wait(ENGINE_TICK):
            for cid, runtime in list(self._runtimes.items()):
                try:
                    runtime.tick_wall()
                except Exception:   # tick_once already pauses a failing cluster; never stop the others
                    log.exception("engine pass failed on cluster %s", cid)
            if self.idle_seconds > 0 and time.monotonic() >= next_check:
                next_check = time.monotonic() + EVICT_CHECK_SECONDS
                self.evict_idle()

    def _watched(self, cid: str) -> bool:
        participants = self.server.manager.get_participants(self.namespace, ROOM_PREFIX + cid)
        return next(iter(participants), None) is not None

    def evict_idle(self, now: float | None = None) -> list[str]:
        """Save and drop every idle student cluster from memory; return their ids."""
        now = time.monotonic() if now is None else now
        evicted = []
        for cid, runtime in list(self._runtimes.items()):
            drill = runtime.drill
            # A cluster without a database would lose everything: it stays (only tests run without one).
            if (cid == DEFAULT_CLUSTER or runtime.store_url is None or runtime.watchers > 0
                    or (drill is not None and drill.running)
                    or now - runtime.touched < self.idle_seconds or self._watched(cid)):
                continue
            with self._lock:
                if self._runtimes.get(cid) is not runtime:
                    continue
                self._runtimes.pop(cid)
                self._broadcasters.pop(cid, None)
            self._tiles[cid] = (None, _tile(cid, runtime))
            self._save_pace(cid, runtime)
            runtime.stop()
            self.evictions += 1
            evicted.append(cid)
            log.info("cluster %s idle for %.0f s: saved and unloaded", cid, now - runtime.touched)
        return evicted

    def _live_loop(self) -> None:
        while not self._stop.wait(self.frame):
            self.pump()

    def pump(self) -> None:
        """One live-thread pass: flush every broadcaster that has something to say, then the tiles."""
        for cid, broadcaster in list(self._broadcasters.items()):
            try:
                broadcaster.pump()
            except Exception:   # keep streaming the other clusters whatever one bad batch did
                log.exception("live stream of cluster %s failed to emit a batch", cid)
        try:
            self.push_tiles()
        except Exception:
            log.exception("could not push the instructor's tiles")

    def push_tiles(self, *, force: bool = False) -> list[dict[str, Any]]:
        """Send the tiles that changed (at most one per cluster per ``TILE_SECONDS``) to room ``class``."""
        now = time.monotonic()
        changed = []
        for cid, runtime in list(self._runtimes.items()):
            if not force and now - self._tile_at.get(cid, 0.0) < TILE_SECONDS:
                continue
            drill = runtime.drill
            key = (runtime.generation, runtime.cluster.store.revision, drill.seq if drill is not None else None,
                   runtime.paused, runtime.speed, (runtime.last_action or {}).get("wall"), runtime.error)
            last = self._tiles.get(cid)
            if not force and last is not None and last[0] == key:
                continue
            self._tile_at[cid] = now
            tile = _tile(cid, runtime)
            if force or last is None or last[1] != tile:
                changed.append(tile)
            self._tiles[cid] = (key, tile)
        if changed:
            self.server.emit("tiles", {"tiles": changed}, to=CLASS_ROOM, namespace=self.namespace)
        return changed


def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def _workloads(store: Any) -> tuple[int, int]:
    """Available and desired replicas over every Deployment, StatefulSet and DaemonSet."""
    available = desired = 0
    for resource in ("deployments", "statefulsets"):
        for obj in store.list(resource):
            desired += int((obj.get("spec") or {}).get("replicas", 1) or 0)
            status = obj.get("status") or {}
            available += int(status.get("availableReplicas", status.get("readyReplicas", 0)) or 0)
    for obj in store.list("daemonsets"):
        status = obj.get("status") or {}
        desired += int(status.get("desiredNumberScheduled", 0) or 0)
        available += int(status.get("numberAvailable", 0) or 0)
    return available, desired


def _tile(cid: str, runtime: Runtime) -> dict[str, Any]:
    """The instructor's tile of a loaded cluster (read under its lock)."""
    with runtime.lock:
        store = runtime.cluster.store
        nodes = store.list("nodes")
        available, desired = _workloads(store)
        drill = runtime.drill
        drill_tile = None
        if drill is not None:
            status = drill.status()
            drill_tile = {"id": status["id"], "title": status["title"], "phase": status["phase"], "t": status["t"],
                          "time_limit": status["time_limit"],
                          "probes": [{"name": p["name"], "passing": p["passing"]} for p in status["probes"]]}
        last = runtime.last_action
        health = runtime.health()
    state = "ok" if health["ok"] else ("stalled" if health["stalled"] else "degraded")
    return {"cluster": cid, "owner": runtime.owner, "nodes": len(nodes),
            "nodes_ready": sum(1 for n in nodes if _ready(n)), "workloads_available": available,
            "workloads_desired": desired, "drill": drill_tile, "paused": runtime.paused, "speed": runtime.speed,
            "speed_lock": runtime.speed_lock,
            "last_action": None if last is None else {
                "action": last["action"], "via": last["via"], "ok": last["ok"], "wall": last["wall"],
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last["wall"]))},
            "health": state, "loaded": True}
