"""What the Charts tab draws, kept by the server for each cluster since it started, and persisted with it.

**Series.** The desired and ready replicas of each Deployment, StatefulSet, DaemonSet and owner-less
ReplicaSet are sampled from what the store's watch last told, at the next whole simulated second
after they change (a clock callback scheduled only then: no store scan, no tick while nothing
moves, and a tick records only the workloads that moved). Each loaded Service's success rate is
taken, second by second, from the traffic simulation's own per-second series (``TrafficSimulator.traffic_series``, read right after its tick), never recomputed.
Only changes are stored, in three resolutions bounded to 24 h (``engine.history_series``).

**Markers.** Every pod deletion (the start of a graceful delete, or an immediate one), container
exit that is not a clean one (an injected crash, a liveness kill, an OOM kill, a crashing app), node
power-off and chaos fault injection, each with its time, ``what`` ("pod default/web-7c9-x2kq9
deleted") and ``who``. They are read from what the engine sees: the store's watch (pods, node
Leases, chaos objects) and the kubelets' exit listeners. Several of one kind by one actor in the same
instant (a namespace's pods, an etcd loss) are one marker that counts them. Kept: the last 24 h, at
most ``MAX_MARKERS``.

**Who.** ``History.who`` is a hook, a callable returning who to blame for what is happening now.
The default asks the audit trail who is acting (``engine.apiserver.audit``): the chaos object a
fault injection acts for ("chaos:<object name>"), else the identity of the request or write in
progress in a few words ("alice (kubectl)", "alice (dashboard)", "node-controller", "kubelet on
node-2"), else the component whose clock callback is running, else "user" (a direct engine call).

**Persistence.** ``take_rows`` hands the cluster's group commit what changed -- one compressed row
per changed series, one per hour of markers -- at most every ``PERSIST_EVERY`` simulated seconds,
so a steady cluster writes nothing and a busy one a few rows per 10 s, inside commits that happen
anyway. ``History(rows=...)`` resumes from them after a restart.
"""
from __future__ import annotations

import json
import math
import zlib
from typing import Any, Callable, Mapping

from .apiserver.audit import short_name
from .chaos.kinds import FAULT_KINDS, KINDS as CHAOS_KINDS
from .clock import owner_of
from .component_helpers.node_lease import KUBELET_STATE_ANNOTATION
from .etcd.store import ADDED, DELETED, Event
from .history_series import KEEP_SECONDS, Series
from .objects import annotations_of, spec_of, status_of

PERSIST_EVERY = 10.0           # simulated seconds between two writes of what changed
ROLL_EVERY = 10               # simulated seconds between two folding passes' steps
ROLL_PER_TICK = 64             # series folded per step: a step costs the same at 10 or 10,000 series
MAX_MARKERS = 5000
SERIES_ROW = "series/"
MARKERS_ROW = "markers/"       # + the hour of simulated time the markers fall in
WORKLOADS = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
             "replicasets": "ReplicaSet"}
CHAOS_PLURALS = {rt.plural: rt.kind for rt in CHAOS_KINDS if rt.kind in FAULT_KINDS}


def _encode(data: Any) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)


def _decode(body: bytes) -> Any:
    return json.loads(zlib.decompress(body))


def _replicas(resource: str, obj: dict) -> tuple[int, int]:
    status = status_of(obj)
    if resource == "daemonsets":
        return int(status.get("desiredNumberScheduled") or 0), int(status.get("numberReady") or 0)
    replicas = spec_of(obj).get("replicas")
    return (1 if replicas is None else int(replicas)), int(status.get("readyReplicas") or 0)


class History:
    """Series and markers of one cluster (see the module docstring)."""

    def __init__(self, api, clock, traffic=None, kubelets=None, rows: Mapping[str, bytes] | None = None):
        """``traffic``: the TrafficSimulator; ``kubelets``: the KubeletManager; ``rows``: what was persisted."""
        self.api = api
        self.clock = clock
        self.store = api.store
        self.traffic = traffic
        self.who: Callable[[], str] = self._default_who
        self.series: dict[str, Series] = {}
        self.markers: list[dict] = []
        self._sampled: dict[str, tuple[str, int, int]] = {}    # workload key -> (title, desired, ready)
        self._changed: set[str] = set()                         # workload keys whose values moved this second
        self._roll_queue: list[str] = []                        # series still to fold in this pass
        self._sample_handle = None                              # the next sampling tick, when one is due
        self._dirty_hours: set[int] = set()
        self._gone: set[str] = set()                            # series dropped since the last take_rows
        self._saved_at = clock.now
        self._n = 0
        self._load(rows or {})
        for resource in WORKLOADS:
            for obj in self.store.list(resource):
                self._workload(resource, obj)
        self.store.subscribe(self.on_event)
        if traffic is not None:
            traffic.on_tick.append(self._traffic_tick)
        if kubelets is not None:
            kubelets.exit_listeners.append(self._container_exit)
        self._wake()
        self.clock.schedule_at(math.floor(clock.now) + ROLL_EVERY, self._roll_tick, "history")

    # ------------------------------------------------------------------ who
    def _default_who(self) -> str:
        audit = self.api.audit
        if audit.behalf:
            return audit.behalf
        if audit.claimed:
            return short_name(audit.blame)
        running = self.clock.running
        if running is None:
            return "user"
        return running.owner or owner_of(running.callback)

    # ------------------------------------------------------------------ sampling
    def _wake(self) -> None:
        """Sample at the next whole second, if a workload moved (no tick while nothing does: a cluster at
        rest has no history event, and Step still jumps to the next thing that happens)."""
        if self._changed and self._sample_handle is None:
            self._sample_handle = self.clock.schedule_at(math.floor(self.clock.now) + 1, self._tick, "history")

    def _tick(self) -> None:
        # Only what moved this second: a tick's cost does not grow with the number of workloads.
        self._sample_handle = None
        t = int(round(self.clock.now))
        for key in self._changed:
            title, desired, ready = self._sampled[key]
            self._series(key, title, "replicas").add(t, desired, ready)
        self._changed.clear()

    def _roll_tick(self) -> None:
        t = int(round(self.clock.now))
        self._roll_some(t)
        self.clock.schedule_at(t + ROLL_EVERY, self._roll_tick, "history")

    def _traffic_tick(self, t: int) -> None:
        traffic = self.traffic
        for key in sorted(traffic.loads):
            if traffic.loads[key].rps <= 0:
                continue
            ns, name = key
            series = self._series(f"svc/{ns}/{name}", f"Service {name}", "rate")
            for point in traffic.traffic_series(key, t - 1):
                if point["successRate"] is not None:      # no request that second: the last rate holds
                    series.add(point["t"], point["successRate"], None)

    def _series(self, key: str, title: str, kind: str) -> Series:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series(key, title, kind)
            self._gone.discard(key)
        elif not series.live or series.title != title:
            series.live, series.title, series.dirty = True, title, True
        return series

    def _end(self, key: str) -> None:
        series = self.series.get(key)
        if series is not None and series.live:
            series.add(int(round(self.clock.now)), None, None)
            series.live = False

    def _roll_some(self, now: float) -> None:
        """Fold ``ROLL_PER_TICK`` series per step, a pass over all of them at a time (tiers are 15 min
        and 6 h long: a series folded minutes late loses nothing), so no step pays for them all."""
        if not self._roll_queue:
            self._roll_queue = list(self.series)
            self._prune_markers(now)
        for _ in range(min(ROLL_PER_TICK, len(self._roll_queue))):
            key = self._roll_queue.pop()
            series = self.series.get(key)
            if series is not None and not series.roll(now):
                del self.series[key]
                self._gone.add(key)

    def _prune_markers(self, now: float) -> None:
        cut = now - KEEP_SECONDS
        if self.markers and (self.markers[0]["t"] < cut or len(self.markers) > MAX_MARKERS):
            old = self.markers
            self.markers = [m for m in old if m["t"] >= cut][-MAX_MARKERS:]
            self._dirty_hours.update(int(m["t"] // 3600) for m in old[:len(old) - len(self.markers)])

    # ------------------------------------------------------------------ what the store shows
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "pods":
            self._pod(ev)
        elif resource in WORKLOADS:
            if ev.type == DELETED:
                key = f"{resource}/{ev.key[1]}/{ev.key[2]}"
                self._sampled.pop(key, None)
                self._changed.discard(key)
                self._end(key)
            else:
                self._workload(resource, ev.obj)
        elif resource == "services" and ev.type == DELETED:
            self._end(f"svc/{ev.key[1]}/{ev.key[2]}")
        elif resource == "leases":
            self._lease(ev)
        elif resource in CHAOS_PLURALS:
            self._chaos(ev)

    def _workload(self, resource: str, obj: dict) -> None:
        meta = obj["metadata"]
        if resource == "replicasets" and any(r.get("controller") for r in meta.get("ownerReferences") or ()):
            return     # a Deployment's ReplicaSet: its Deployment's series says it
        key = f"{resource}/{meta.get('namespace', '')}/{meta['name']}"
        sample = (f"{WORKLOADS[resource]} {meta['name']}", *_replicas(resource, obj))
        if self._sampled.get(key) != sample:
            self._sampled[key] = sample
            self._changed.add(key)
            self._wake()

    def _pod(self, ev: Event) -> None:
        meta = ev.obj["metadata"]
        if ev.type == ADDED or (ev.type == DELETED and meta.get("deletionTimestamp")):
            return     # created, or the end of a graceful delete already marked when it began
        if ev.type != DELETED and (not meta.get("deletionTimestamp") or
                                   (ev.old is not None and ev.old["metadata"].get("deletionTimestamp"))):
            return
        self.mark("delete", f"pod {meta.get('namespace', '')}/{meta['name']} deleted", "pods deleted")

    def _lease(self, ev: Event) -> None:
        if ev.type == DELETED or annotations_of(ev.obj).get(KUBELET_STATE_ANNOTATION) != "powered-off":
            return
        if ev.old is not None and annotations_of(ev.old).get(KUBELET_STATE_ANNOTATION) == "powered-off":
            return
        self.mark("power-off", f"node {ev.obj['metadata']['name']} powered off", "nodes powered off")

    def _chaos(self, ev: Event) -> None:
        if ev.type == DELETED:
            return
        started = (status_of(ev.obj).get("experiment") or {}).get("startTime")
        before = (status_of(ev.old).get("experiment") or {}).get("startTime") if ev.old is not None else None
        if not started or started == before:
            return
        records = (status_of(ev.obj).get("experiment") or {}).get("containerRecords") or ()
        hit = [r.get("id", "") for r in records if r.get("phase") == "Injected"]
        if not hit:
            return     # it selected nothing, or failed: no fault started
        shown = ", ".join(hit[:3]) + (f" and {len(hit) - 3} more" if len(hit) > 3 else "")
        name = ev.obj["metadata"]["name"]
        what = f"{CHAOS_PLURALS[ev.resource]} {name}: {spec_of(ev.obj).get('action', '')} {shown}"
        self.mark("chaos", what, "faults started", who=f"chaos:{name}")

    def _container_exit(self, ns: str, pod: str, container: str, code: int, reason: str, node: str) -> None:
        if code == 0:
            return     # a clean exit (a finished init container, a completed job) is no kill
        obj = self.store.find("pods", ns, pod)
        if obj is not None and obj["metadata"].get("deletionTimestamp"):
            return     # stopped because the pod is being deleted: that deletion is the marker
        how = "OOMKilled" if reason == "OOMKilled" else f"crashed (exit {code})"
        # Inside a clock callback and acting for nobody, the kubelet itself killed it (a probe, OOM).
        who = self.who() if self.api.audit.claimed or self.clock.running is None else f"kubelet on {node}"
        self.mark("crash", f"container {container} of pod {ns}/{pod} {how}", "containers crashed", who=who)

    # ------------------------------------------------------------------ markers
    def mark(self, kind: str, what: str, plural: str, *, who: str | None = None, t: float | None = None) -> dict:
        """Record a marker now (or at ``t``); one like the last (same kind, who and instant) is counted into it."""
        who = who or self.who()
        t = round(self.clock.now if t is None else t, 3)
        last = self.markers[-1] if self.markers else None
        if last is not None and last["t"] == t and last["kind"] == kind and last["who"] == who:
            last["count"] = last.get("count", 1) + 1
            last["what"] = f"{last['first']} and {last['count'] - 1} more {plural}"
            marker = last
        else:
            self._n += 1
            marker = {"n": self._n, "t": t, "kind": kind, "what": what, "who": who, "first": what}
            self.markers.append(marker)
        self._dirty_hours.add(int(t // 3600))
        return marker

    # ------------------------------------------------------------------ reading
    def view(self, since: float | None = None) -> dict:
        """``{"now", "series": [{key, title, kind, live, t, a, b}], "markers": [{n, t, kind, what, who}]}``.

        With ``since``: only points after it (a client polling appends them) and markers at or after
        it (a marker made at the very instant of the last poll is not lost; ``n`` tells duplicates)."""
        now = self.clock.now
        ordered = sorted(self.series.values(), key=lambda s: (s.kind != "replicas", s.title, s.key))
        series = [{"key": s.key, "title": s.title, "kind": s.kind, "live": s.live, **s.points(since, now)}
                  for s in ordered]
        markers = [{k: m[k] for k in ("n", "t", "kind", "what", "who")}
                   for m in self.markers if since is None or m["t"] >= since]
        return {"now": now, "series": series, "markers": markers}

    # ------------------------------------------------------------------ persistence
    def take_rows(self, now: float, *, force: bool = False) -> dict[str, bytes | None]:
        """Rows changed since the last call (None: delete the row), or {} until ``PERSIST_EVERY`` has passed."""
        if not force and now - self._saved_at < PERSIST_EVERY:
            return {}
        self._saved_at = now
        rows: dict[str, bytes | None] = {SERIES_ROW + key: None for key in self._gone}
        self._gone.clear()
        for key, series in self.series.items():
            if series.dirty:
                rows[SERIES_ROW + key] = _encode(series.to_json())
                series.dirty = False
        for hour in sorted(self._dirty_hours):
            kept = [[m["n"], m["t"], m["kind"], m["what"], m["who"], m.get("count", 1), m["first"]]
                    for m in self.markers if int(m["t"] // 3600) == hour]
            rows[f"{MARKERS_ROW}{hour}"] = _encode(kept) if kept else None
        self._dirty_hours.clear()
        return rows

    def _load(self, rows: Mapping[str, bytes]) -> None:
        markers: list[dict] = []
        for key, body in sorted(rows.items()):
            if key.startswith(SERIES_ROW):
                series = Series.from_json(_decode(body))
                self.series[series.key] = series
            elif key.startswith(MARKERS_ROW):
                for n, t, kind, what, who, count, first in _decode(body):
                    markers.append({"n": n, "t": t, "kind": kind, "what": what, "who": who, "first": first,
                                    **({"count": count} if count > 1 else {})})
        self.markers = sorted(markers, key=lambda m: m["n"])
        self._n = max((m["n"] for m in self.markers), default=0)
        for series in self.series.values():
            # A series the restart cut: its object's watch event (or its absence) says whether it goes on.
            series.live = False

