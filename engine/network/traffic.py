"""Synthetic client load on Services, routed like kube-proxy, in one aggregated tick per second.

A Service opts in with the annotation ``kubedrill.io/traffic-rps: "20"`` (changeable at any time).
Once per simulated second one clock callback routes each loaded Service's N requests over the
endpoints kube-proxy has *programmed* (``ProxyView``: ready endpoints from EndpointSlices, a sync
behind the API, which is itself behind reality). A request succeeds only if the pod it lands on
really answers now (``liveness.pod_problem``: container running, not terminating, node powered and
reachable, app not failing); otherwise it fails as refused, timeout or error. No programmed
endpoint means every request fails with ``no endpoints available``.

Requests are not simulated one by one: with uniform balancing the failures of a second are one
binomial draw (N, bad endpoints / endpoints); ClientIP affinity routes a fixed set of synthetic
clients, each pinned to its endpoint. Per Service a bounded per-second history is kept in memory
and a compact summary is published as the annotation ``kubedrill.io/traffic`` only when the
rounded success rate (last 10 s) or the load changes, so a healthy steady state writes nothing.
"""
from __future__ import annotations

import json
import math
import random
from array import array
from typing import Any, Callable, Mapping

from ..clock import Clock
from ..errors import StatusError
from ..etcd.store import DELETED, Event, Store
from ..objects import annotations_of, clone, status_of
from . import liveness
from .proxy import ProxyView

TRAFFIC_RPS = "kubedrill.io/traffic-rps"
TRAFFIC_STATUS = "kubedrill.io/traffic"
HISTORY_SECONDS = 3600
WINDOW_SECONDS = 10
AFFINITY_CLIENTS = 8           # synthetic client IPs when sessionAffinity is ClientIP
CLIENT_TIMEOUT_MS = 5000       # a request slower than this counts as a timeout
BASE_LATENCY_MS = 2.0
NO_ENDPOINTS = "no-endpoints"
FAULT = "fault"
ServiceKey = tuple[str, str]


def binomial(rng: random.Random, n: int, p: float) -> int:
    """One Binomial(n, p) draw: exact waiting-time method for small n·p, normal approximation above."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    mean = n * p
    if mean < 30.0:
        # Sum of geometric gaps between successes: O(n·p) draws.
        log_q = math.log1p(-p)
        count, x = 0, 0
        while True:
            x += int(math.log(1.0 - rng.random()) / log_q) + 1
            if x > n:
                return count
            count += 1
    value = int(round(rng.gauss(mean, math.sqrt(mean * (1.0 - p)))))
    return min(n, max(0, value))


def service_key(key: Any) -> ServiceKey:
    """Accept ``("default", "web")``, ``"default/web"`` or ``"web"`` (default namespace)."""
    if isinstance(key, (tuple, list)):
        return str(key[0]), str(key[1])
    ns, _, name = str(key).rpartition("/")
    return (ns or "default", name)


def parse_rps(svc: dict) -> float:
    text = annotations_of(svc).get(TRAFFIC_RPS)
    if text in (None, ""):
        return 0.0
    try:
        value = float(text)
    except (TypeError, ValueError):
        return 0.0
    return value if value > 0 and math.isfinite(value) else 0.0


class _Load:
    """One Service's load, history ring and last published summary."""

    __slots__ = ("rps", "carry", "t", "sent", "failed", "reasons", "total_sent", "total_ok", "total_failed",
                 "published", "last")

    def __init__(self, rps: float):
        self.rps = rps
        self.carry = 0.0
        # 12 bytes per second of history: 43 KB per Service for the full hour.
        self.t = array("i", [-1]) * HISTORY_SECONDS
        self.sent = array("i", [0]) * HISTORY_SECONDS
        self.failed = array("i", [0]) * HISTORY_SECONDS
        self.reasons: list[tuple[int, dict[str, int]]] = []     # failures by kind, last WINDOW_SECONDS
        self.total_sent = self.total_ok = self.total_failed = 0
        self.published: tuple | None = None
        self.last = -1

    def record(self, t: int, sent: int, failed: int, reasons: dict[str, int] | None) -> None:
        i = t % HISTORY_SECONDS
        self.t[i], self.sent[i], self.failed[i] = t, sent, failed
        self.total_sent += sent
        self.total_ok += sent - failed
        self.total_failed += failed
        self.last = t
        if reasons:
            self.reasons.append((t, reasons))
        if self.reasons and self.reasons[0][0] <= t - WINDOW_SECONDS:
            self.reasons = [r for r in self.reasons if r[0] > t - WINDOW_SECONDS]

    def window(self, t: int, seconds: int = WINDOW_SECONDS) -> tuple[int, int]:
        """(sent, failed) over the ``seconds`` seconds ending at ``t``."""
        sent = failed = 0
        tt, ss, ff = self.t, self.sent, self.failed
        for s in range(t - seconds + 1, t + 1):
            i = s % HISTORY_SECONDS
            if tt[i] == s:
                sent += ss[i]
                failed += ff[i]
        return sent, failed


class TrafficSimulator:
    """Synthetic load for every annotated Service of one cluster, on one per-second tick."""

    def __init__(self, api, clock: Clock, proxy: ProxyView, kubelets: Mapping[str, Any],
                 rng: random.Random | None = None):
        """``kubelets`` (node name -> kubelet) tells whether a pod really answers (``liveness``)."""
        self.api = api
        self.clock = clock
        self.store: Store = api.store
        self.proxy = proxy
        self.kubelets = kubelets
        self.rng = rng or random.Random(clock.rng.getrandbits(64))
        self.loads: dict[ServiceKey, _Load] = {}
        self.faults: dict[ServiceKey, tuple[float, float]] = {}     # latency ms, error rate
        self._order: list[ServiceKey] | None = None
        self._tick_handle = None
        self.ticks = 0
        self.on_tick: list[Callable[[int], None]] = []              # listeners (dashboard), called after a tick
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ configuration
    def resync(self) -> None:
        for svc in self.store.list("services"):
            self._configure(svc)

    def on_event(self, ev: Event) -> None:
        if ev.resource != "services":
            return
        if ev.type == DELETED:
            meta = ev.obj["metadata"]
            self._drop((meta.get("namespace", ""), meta["name"]))
            return
        old = ev.old
        if old is not None and annotations_of(old).get(TRAFFIC_RPS) == \
                annotations_of(ev.obj).get(TRAFFIC_RPS):
            return
        self._configure(ev.obj)

    def _configure(self, svc: dict) -> None:
        key = (svc["metadata"].get("namespace", ""), svc["metadata"]["name"])
        rps = parse_rps(svc)
        load = self.loads.get(key)
        if rps <= 0:
            if load is not None:
                load.rps = 0.0   # keep the history; the Service simply gets no more requests
            return
        if load is None:
            self.loads[key] = _Load(rps)
            self._order = None
        else:
            load.rps = rps
        self._arm()

    def _drop(self, key: ServiceKey) -> None:
        if self.loads.pop(key, None) is not None:
            self._order = None
        self.faults.pop(key, None)

    def set_load(self, key: Any, rps: float) -> dict:
        """Change a Service's client load (writes the ``kubedrill.io/traffic-rps`` annotation)."""
        ns, name = service_key(key)
        value = None if not rps or rps <= 0 else (str(int(rps)) if float(rps).is_integer() else str(rps))
        return self.api.patch("services", ns, name, {"metadata": {"annotations": {TRAFFIC_RPS: value}}}, "merge")

    def set_fault(self, key: Any, latency_ms: float = 0.0, error_rate: float = 0.0) -> None:
        """NetworkChaos hook: add latency and a share of failing requests to a Service (0, 0 clears)."""
        key = service_key(key)
        if latency_ms <= 0 and error_rate <= 0:
            self.faults.pop(key, None)
        else:
            self.faults[key] = (max(0.0, float(latency_ms)), min(1.0, max(0.0, float(error_rate))))

    # ------------------------------------------------------------------ the tick
    def _arm(self) -> None:
        if self._tick_handle is None:
            self._tick_handle = self.clock.schedule_at(math.floor(self.clock.now) + 1, self.tick)

    def tick(self) -> None:
        """Route one simulated second of requests for every loaded Service, then publish summaries."""
        self._tick_handle = None
        t = int(round(self.clock.now))
        self.ticks += 1
        if self._order is None:
            self._order = sorted(self.loads)
        problems: dict[tuple[str, str], tuple[str, str] | None] = {}
        active = False
        for key in self._order:
            load = self.loads[key]
            if load.rps <= 0:
                continue
            active = True
            self._simulate(key, load, t, problems)
            self._publish(key, load, t)
        for listener in self.on_tick:
            listener(t)
        if active:
            self._tick_handle = self.clock.schedule_at(t + 1, self.tick)

    def _problem(self, ep, problems: dict) -> tuple[str, str] | None:
        pk = (ep.namespace, ep.pod)
        if not ep.pod:
            return None   # an endpoint that is not a pod (the API server's own, a manual one): assumed up
        if pk in problems:
            return problems[pk]
        pod = self.store.find("pods", ep.namespace, ep.pod)
        if pod is None or status_of(pod).get("podIP") != ep.ip:
            found = (liveness.REFUSED, f"pod {ep.namespace}/{ep.pod} is gone: nothing answers at {ep.ip}")
        else:
            found = liveness.pod_problem(self.store, self.kubelets, pod)
        problems[pk] = found
        return found

    def _simulate(self, key: ServiceKey, load: _Load, t: int, problems: dict) -> None:
        total = load.carry + load.rps
        n = int(total)
        load.carry = total - n
        reasons: dict[str, int] = {}
        failed = 0
        eps = self.proxy.endpoints(key)
        rng = self.rng
        if n == 0:
            pass
        elif not eps:
            failed = n
            reasons[NO_ENDPOINTS] = n
        elif self.proxy.affinity_timeout(key) is not None:
            base, extra = divmod(n, AFFINITY_CLIENTS)
            for i in range(AFFINITY_CLIENTS):
                share = base + (1 if i < extra else 0)
                ep = self.proxy.pick(key, f"10.0.{i}.1", rng)
                problem = self._problem(ep, problems) if ep is not None else (NO_ENDPOINTS, "")
                if problem is not None and share:
                    failed += share
                    reasons[problem[0]] = reasons.get(problem[0], 0) + share
        else:
            bad: dict[str, int] = {}
            for ep in eps:
                problem = self._problem(ep, problems)
                if problem is not None:
                    bad[problem[0]] = bad.get(problem[0], 0) + 1
            if bad:
                k = len(eps)
                remaining_n, remaining_k = n, k
                for kind in sorted(bad):
                    # Multinomial as a chain of binomials: requests landing on this kind of bad endpoint.
                    count = bad[kind]
                    hit = remaining_n if count == remaining_k else binomial(rng, remaining_n, count / remaining_k)
                    if hit:
                        reasons[kind] = hit
                        failed += hit
                    remaining_n -= hit
                    remaining_k -= count
        fault = self.faults.get(key)
        if fault is not None and n - failed > 0:
            latency, error_rate = fault
            if latency + BASE_LATENCY_MS >= CLIENT_TIMEOUT_MS:
                extra = n - failed
                reasons[liveness.TIMEOUT] = reasons.get(liveness.TIMEOUT, 0) + extra
            else:
                extra = binomial(rng, n - failed, error_rate)
                if extra:
                    reasons[FAULT] = reasons.get(FAULT, 0) + extra
            failed += extra
        load.record(t, n, failed, reasons or None)

    def _publish(self, key: ServiceKey, load: _Load, t: int) -> None:
        sent, failed = load.window(t)
        rate = round(100.0 * (sent - failed) / sent, 1) if sent else None
        rps = int(load.rps) if float(load.rps).is_integer() else load.rps
        stamp = (rps, rate)
        if stamp == load.published:
            return
        svc = self.store.find("services", *key)
        if svc is None:
            return
        summary = json.dumps({"rps": rps, "successRate": rate, "sent": sent, "failed": failed},
                             separators=(",", ":"))
        new = clone(svc)
        annotations = dict(annotations_of(new))
        annotations[TRAFFIC_STATUS] = summary
        new["metadata"]["annotations"] = annotations
        try:
            self.api.update_internal(new)
        except StatusError:
            return   # tried again next second
        load.published = stamp

    # ------------------------------------------------------------------ reading
    def traffic_stats(self, key: Any) -> dict:
        """Totals, the last-10-s window, failure reasons and the programmed endpoints of a Service."""
        key = service_key(key)
        load = self.loads.get(key)
        latency, error_rate = self.faults.get(key, (0.0, 0.0))
        out: dict[str, Any] = {
            "service": f"{key[0]}/{key[1]}", "rps": 0, "sent": 0, "ok": 0, "failed": 0,
            "window": {"seconds": WINDOW_SECONDS, "sent": 0, "ok": 0, "failed": 0, "successRate": None},
            "lastSecond": None, "reasons": {}, "endpoints": self.proxy.describe(key)["endpoints"],
            "latencyMs": BASE_LATENCY_MS + latency, "fault": {"latencyMs": latency, "errorRate": error_rate},
        }
        if load is None:
            return out
        out["rps"] = int(load.rps) if float(load.rps).is_integer() else load.rps
        out.update(sent=load.total_sent, ok=load.total_ok, failed=load.total_failed)
        if load.last >= 0:
            sent, failed = load.window(load.last)
            out["window"].update(sent=sent, ok=sent - failed, failed=failed,
                                 successRate=round(100.0 * (sent - failed) / sent, 1) if sent else None)
            i = load.last % HISTORY_SECONDS
            out["lastSecond"] = {"t": load.last, "sent": load.sent[i], "ok": load.sent[i] - load.failed[i],
                                 "failed": load.failed[i]}
            reasons: dict[str, int] = {}
            for s, by_kind in load.reasons:
                if s > load.last - WINDOW_SECONDS:
                    for kind, count in by_kind.items():
                        reasons[kind] = reasons.get(kind, 0) + count
            out["reasons"] = reasons
        return out

    def traffic_series(self, key: Any, since: float | None = None) -> list[dict]:
        """Per-second points ``{t, sent, ok, failed, successRate}`` after ``since`` (bounded history)."""
        load = self.loads.get(service_key(key))
        if load is None or load.last < 0:
            return []
        first = max(load.last - HISTORY_SECONDS + 1, 0 if since is None else int(math.floor(since)) + 1)
        out = []
        for s in range(first, load.last + 1):
            i = s % HISTORY_SECONDS
            if load.t[i] != s:
                continue
            sent = load.sent[i]
            ok = sent - load.failed[i]
            out.append({"t": s, "sent": sent, "ok": ok, "failed": load.failed[i],
                        "successRate": round(100.0 * ok / sent, 1) if sent else None})
        return out
