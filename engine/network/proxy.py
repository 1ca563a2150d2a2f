"""kube-proxy's view of the cluster: the rules it has programmed from Services and EndpointSlices.

Like the iptables proxier it watches Services and EndpointSlices and re-programs its rules at most
once per ``min_sync_period`` (1 s, ``--iptables-min-sync-period``), so a change in the API reaches
the data path a moment later — traffic keeps going to an endpoint until then. Only ``ready``
endpoints get traffic; when none is ready, serving-but-terminating ones are used as a fallback
(ProxyTerminatingEndpoints). The balancing is iptables' ``statistic --mode random``: uniform over
the ready endpoints, with ``sessionAffinity: ClientIP`` pinning a client IP for its timeout.

Also keeps the small indexes a packet trace needs: ClusterIP → Service, nodePort → Service,
pod IP → pod. All are fed by one store subscription; nothing here scans the cluster.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..etcd.store import DELETED, Event, Store
from ..objects import labels_of, spec_of, status_of

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MIN_SYNC_PERIOD = 1.0
ServiceKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One programmed backend: a pod IP, where it runs, and its port by Service port name."""

    ip: str
    namespace: str
    pod: str
    node: str
    ports: tuple[tuple[str, int], ...] = ()
    ready: bool = True
    serving: bool = True
    terminating: bool = False

    def port_for(self, name: str) -> int | None:
        for pname, number in self.ports:
            if pname == name:
                return number
        return None


@dataclass(slots=True)
class Rules:
    """The rules for one Service: its endpoints as the proxy last programmed them."""

    endpoints: tuple[Endpoint, ...] = ()
    fallback: bool = False                 # True when these are terminating endpoints (no ready ones)
    synced_at: float = 0.0
    affinity: dict[str, tuple[Endpoint, float]] = field(default_factory=dict)


class ProxyView:
    """Services and endpoints as kube-proxy has programmed them, plus lookup indexes for traces."""

    def __init__(self, store: Store, clock: Clock, min_sync_period: float = MIN_SYNC_PERIOD):
        self.store = store
        self.clock = clock
        self.min_sync_period = min_sync_period
        self.services: dict[ServiceKey, dict] = {}
        self.slices: dict[ServiceKey, dict[str, dict]] = {}
        self.rules: dict[ServiceKey, Rules] = {}
        self.by_cluster_ip: dict[str, ServiceKey] = {}
        self.by_node_port: dict[int, ServiceKey] = {}
        self.pod_by_ip: dict[str, tuple[str, str]] = {}
        self._dirty: set[ServiceKey] = set()
        self._sync_handle = None
        self.last_sync = -1e18
        self.syncs = 0
        store.subscribe(self.on_event)

    # ------------------------------------------------------------------ informer
    def resync(self) -> None:
        """Rebuild every index from the store and program all rules at once (startup)."""
        self.services.clear()
        self.slices.clear()
        self.by_cluster_ip.clear()
        self.by_node_port.clear()
        self.pod_by_ip.clear()
        for svc in self.store.list("services"):
            self._set_service(svc, None)
        for es in self.store.list("endpointslices"):
            self._set_slice(es, None)
        for pod in self.store.list("pods"):
            self._set_pod(pod, None)
        self._dirty = set(self.services) | set(self.slices)
        self.sync()

    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "pods":
            if ev.type == DELETED:
                self._set_pod(None, ev.obj)
            else:
                self._set_pod(ev.obj, ev.old)
        elif resource == "endpointslices":
            self._set_slice(None if ev.type == DELETED else ev.obj, ev.old if ev.type != DELETED else ev.obj)
        elif resource == "services":
            self._set_service(None if ev.type == DELETED else ev.obj, ev.old if ev.type != DELETED else ev.obj)

    def _set_pod(self, pod: dict | None, old: dict | None) -> None:
        if old is not None:
            ip = status_of(old).get("podIP")
            key = (old["metadata"].get("namespace", ""), old["metadata"]["name"])
            if ip and self.pod_by_ip.get(ip) == key:
                del self.pod_by_ip[ip]
        if pod is not None and not spec_of(pod).get("hostNetwork"):
            ip = status_of(pod).get("podIP")
            if ip:
                self.pod_by_ip[ip] = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])

    def _set_service(self, svc: dict | None, old: dict | None) -> None:
        ref = svc if svc is not None else old
        key = (ref["metadata"].get("namespace", ""), ref["metadata"]["name"])
        previous = self.services.get(key)
        if svc is not None and previous is not None and spec_of(previous) == spec_of(svc):
            self.services[key] = svc   # metadata-only change (e.g. the traffic annotation): rules unchanged
            return
        if previous is not None:
            spec = spec_of(previous)
            ip = spec.get("clusterIP")
            if ip and self.by_cluster_ip.get(ip) == key:
                del self.by_cluster_ip[ip]
            for p in spec.get("ports") or ():
                if p.get("nodePort") and self.by_node_port.get(p["nodePort"]) == key:
                    del self.by_node_port[p["nodePort"]]
            del self.services[key]
        if svc is not None:
            self.services[key] = svc
            spec = spec_of(svc)
            ip = spec.get("clusterIP")
            if ip and ip != "None":
                self.by_cluster_ip[ip] = key
            for p in spec.get("ports") or ():
                if p.get("nodePort"):
                    self.by_node_port[p["nodePort"]] = key
        self._mark(key)

    def _set_slice(self, es: dict | None, old: dict | None) -> None:
        for obj, present in ((old, False), (es, True)):
            if obj is None:
                continue
            svc_name = labels_of(obj).get(SERVICE_NAME_LABEL)
            if not svc_name:
                continue
            key = (obj["metadata"].get("namespace", ""), svc_name)
            bucket = self.slices.setdefault(key, {})
            if present:
                bucket[obj["metadata"]["name"]] = obj
            else:
                bucket.pop(obj["metadata"]["name"], None)
                if not bucket:
                    del self.slices[key]
            self._mark(key)

    # ------------------------------------------------------------------ sync loop
    def _mark(self, key: ServiceKey) -> None:
        self._dirty.add(key)
        if self._sync_handle is None:
            when = max(self.clock.now, self.last_sync + self.min_sync_period)
            self._sync_handle = self.clock.schedule_at(when, self.sync)

    def sync(self) -> None:
        """Program the rules of every Service that changed since the last sync (syncProxyRules)."""
        if self._sync_handle is not None:
            self._sync_handle.cancel()
            self._sync_handle = None
        self.last_sync = self.clock.now
        self.syncs += 1
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            svc = self.services.get(key)
            if svc is None:
                self.rules.pop(key, None)
                continue
            endpoints, fallback = self._compute(key)
            rules = self.rules.get(key)
            if rules is None:
                self.rules[key] = Rules(endpoints, fallback, self.clock.now)
            elif rules.endpoints != endpoints or rules.fallback != fallback:
                rules.endpoints, rules.fallback, rules.synced_at = endpoints, fallback, self.clock.now
                alive = set(endpoints)
                for client, (ep, _) in list(rules.affinity.items()):
                    if ep not in alive:
                        del rules.affinity[client]

    def _compute(self, key: ServiceKey) -> tuple[tuple[Endpoint, ...], bool]:
        ready: list[Endpoint] = []
        terminating: list[Endpoint] = []
        for name in sorted(self.slices.get(key, ())):
            es = self.slices[key][name]
            ports = tuple((p.get("name") or "", p.get("port")) for p in es.get("ports") or () if p.get("port"))
            for ep in es.get("endpoints") or ():
                cond = ep.get("conditions") or {}
                ref = ep.get("targetRef") or {}
                addresses = ep.get("addresses") or ()
                if not addresses:
                    continue
                is_ready = cond.get("ready") is not False
                serving = cond.get("serving", is_ready) is not False
                is_terminating = bool(cond.get("terminating"))
                record = Endpoint(addresses[0], ref.get("namespace") or key[0], ref.get("name") or "",
                                  ep.get("nodeName") or "", ports, is_ready, serving, is_terminating)
                if is_ready:
                    ready.append(record)
                elif serving and is_terminating:
                    terminating.append(record)
        if ready:
            return tuple(ready), False
        return tuple(terminating), bool(terminating)

    # ------------------------------------------------------------------ data path
    def endpoints(self, key: ServiceKey) -> tuple[Endpoint, ...]:
        """The endpoints the proxy currently sends ``key``'s traffic to (may lag the API)."""
        rules = self.rules.get(key)
        return rules.endpoints if rules is not None else ()

    def affinity_timeout(self, key: ServiceKey) -> float | None:
        """ClientIP affinity timeout in seconds, or None without session affinity."""
        spec = spec_of(self.services.get(key))
        if spec.get("sessionAffinity") != "ClientIP":
            return None
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        return float(config.get("timeoutSeconds") or 10800)

    def pick(self, key: ServiceKey, client_ip: str, rng: random.Random,
             candidates: tuple[Endpoint, ...] | None = None) -> Endpoint | None:
        """Choose a backend like the iptables rules: uniform random, or the client's pinned one."""
        rules = self.rules.get(key)
        eps = candidates if candidates is not None else (rules.endpoints if rules is not None else ())
        if not eps:
            return None
        timeout = self.affinity_timeout(key)
        now = self.clock.now
        if timeout is not None and rules is not None:
            pinned = rules.affinity.get(client_ip)
            if pinned is not None and pinned[1] > now and pinned[0] in eps:
                rules.affinity[client_ip] = (pinned[0], now + timeout)
                return pinned[0]
        chosen = eps[rng.randrange(len(eps))] if len(eps) > 1 else eps[0]
        if timeout is not None and rules is not None:
            rules.affinity[client_ip] = (chosen, now + timeout)
        return chosen

    def service_for_ip(self, ip: str) -> ServiceKey | None:
        return self.by_cluster_ip.get(ip)

    def service_for_node_port(self, port: int) -> ServiceKey | None:
        return self.by_node_port.get(port)

    def pod_for_ip(self, ip: str) -> tuple[str, str] | None:
        return self.pod_by_ip.get(ip)

    def describe(self, key: ServiceKey) -> dict[str, Any]:
        """The programmed rules of a Service, as plain data (dashboard, tests)."""
        rules = self.rules.get(key)
        if rules is None:
            return {"endpoints": [], "fallback": False, "syncedAt": None}
        return {"endpoints": [{"ip": e.ip, "pod": f"{e.namespace}/{e.pod}", "node": e.node} for e in rules.endpoints],
                "fallback": rules.fallback, "syncedAt": rules.synced_at}
