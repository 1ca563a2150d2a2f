"""EndpointSlice and legacy Endpoints controllers, after ``pkg/controller/endpointslice`` and
``pkg/controller/endpoint``.

For every Service with a selector they publish the pods behind it. A pod event only touches the
Services of the pod's namespace whose selector matches the pod (old or new labels), found through
a small index keyed by one label of each selector; each of those Services is re-synced, and an
object is written only when its content changed.

EndpointSlices: ``<svc>-<5 chars>`` (generateName), at most 100 endpoints each, one group of
slices per distinct resolved port set, owned by the Service (the garbage collector removes them
with it). Each endpoint carries ``ready`` (pod Ready and not terminating, or forced by
``publishNotReadyAddresses``), ``serving`` (pod Ready), ``terminating`` (deletionTimestamp set).
A Service with no endpoints keeps one empty placeholder slice, like the real controller.

Endpoints: one object named like the Service, ``subsets`` of ``addresses`` / ``notReadyAddresses``
grouped by port set and sorted by IP; terminating pods are left out; over 1000 addresses the
object is truncated and annotated ``endpoints.kubernetes.io/over-capacity: truncated``.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from ..client.workqueue import Controller
from ..clock import rfc3339_micro
from ..etcd.store import ADDED, DELETED, Event, Store
from ..objects import annotations_of, clone, controller_ref, is_terminating, labels_of, pod_ready, spec_of, status_of
from ..selectors import LabelSelector

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100
MAX_ENDPOINTS_ADDRESSES = 1000
_RESERVED_LABELS = (SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL)

ServiceKey = tuple[str, str]


def trigger_timestamp(seconds: float) -> str:
    """``time.RFC3339Nano`` of a simulated instant (fraction trimmed of trailing zeros, as Go does)."""
    text = rfc3339_micro(seconds)
    head, _, frac = text[:-1].partition(".")
    frac = frac.rstrip("0")
    return f"{head}.{frac}Z" if frac else f"{head}Z"


# ---------------------------------------------------------------------- shared index
class ServiceSelectorIndex:
    """Which Services of a namespace select a pod: one anchor label per selector, then a full match."""

    def __init__(self, store: Store):
        self.store = store
        self.selectors: dict[ServiceKey, dict[str, str]] = {}
        self._anchor: dict[tuple[str, str, str], set[str]] = {}
        store.subscribe(self.on_event)

    def resync(self) -> None:
        self.selectors.clear()
        self._anchor.clear()
        for svc in self.store.list("services"):
            self._set(svc)

    def on_event(self, ev: Event) -> None:
        if ev.resource != "services":
            return
        meta = ev.obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if ev.type == DELETED:
            self._drop(key)
        else:
            self._set(ev.obj)

    def _set(self, svc: dict) -> None:
        meta = svc["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        selector = service_selector(svc)
        if self.selectors.get(key) == selector:
            return
        self._drop(key)
        if selector:
            self.selectors[key] = selector
            k = min(selector)
            self._anchor.setdefault((key[0], k, selector[k]), set()).add(key[1])

    def _drop(self, key: ServiceKey) -> None:
        selector = self.selectors.pop(key, None)
        if selector:
            k = min(selector)
            names = self._anchor.get((key[0], k, selector[k]))
            if names is not None:
                names.discard(key[1])
                if not names:
                    del self._anchor[(key[0], k, selector[k])]

    def matching(self, namespace: str, labels: dict[str, str] | None) -> set[str]:
        """Names of the Services in ``namespace`` whose selector matches ``labels``."""
        out: set[str] = set()
        if not labels:
            return out
        anchor = self._anchor
        for k, v in labels.items():
            names = anchor.get((namespace, k, v))
            if not names:
                continue
            for name in names:
                selector = self.selectors[(namespace, name)]
                if all(labels.get(sk) == sv for sk, sv in selector.items()):
                    out.add(name)
        return out


def service_selector(svc: dict) -> dict[str, str] | None:
    """The selector the endpoint controllers act on (None: no selector, or an ExternalName Service)."""
    spec = spec_of(svc)
    if (spec.get("type") or "ClusterIP") == "ExternalName":
        return None
    selector = spec.get("selector")
    return {str(k): str(v) for k, v in selector.items()} if selector else None


# ---------------------------------------------------------------------- pure helpers
def _pod_signature(pod: dict) -> tuple:
    """The pod fields an endpoint depends on (``podEndpointsChanged``)."""
    meta, spec, status = pod["metadata"], spec_of(pod), status_of(pod)
    return (status.get("podIP"), pod_ready(pod), bool(meta.get("deletionTimestamp")), spec.get("nodeName"),
            status.get("phase") in ("Succeeded", "Failed"), spec.get("hostname"), spec.get("subdomain"))


def find_port(pod: dict, service_port: dict) -> int | None:
    """Resolve a Service port's ``targetPort`` on a pod (``podutil.FindPort``): a number, or a named port."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for c in spec_of(pod).get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                return p.get("containerPort")
    return None


def pod_endpoint_ports(svc: dict, pod: dict) -> list[dict]:
    """The EndpointSlice ports of ``pod`` for ``svc`` (ports that cannot be resolved are left out)."""
    out = []
    for sp in spec_of(svc).get("ports") or ():
        number = find_port(pod, sp)
        if number is None:
            continue
        port = {"name": sp.get("name") or "", "port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def should_publish(pod: dict, include_terminating: bool) -> bool:
    """``ShouldPodBeInEndpoints``: has an IP, not finished, and (unless asked) not terminating."""
    status = status_of(pod)
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not include_terminating and is_terminating(pod):
        return False
    return True


def pod_endpoint(svc: dict, pod: dict, zone: str | None) -> dict:
    """One ``discovery/v1`` Endpoint for ``pod``."""
    meta, spec = pod["metadata"], spec_of(pod)
    terminating = bool(meta.get("deletionTimestamp"))
    serving = pod_ready(pod)
    publish = bool(spec_of(svc).get("publishNotReadyAddresses"))
    ep: dict[str, Any] = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                       "terminating": terminating},
    }
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        ep["hostname"] = spec["hostname"]
    ep["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
                       "uid": meta.get("uid", "")}
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    if zone:
        ep["zone"] = zone
    return ep


def service_labels(svc: dict, extra: dict[str, str]) -> dict[str, str]:
    labels = {k: v for k, v in labels_of(svc).items() if k not in _RESERVED_LABELS}
    if spec_of(svc).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    labels.update(extra)
    return labels


def _ports_key(ports: list[dict] | None) -> str:
    return json.dumps(ports or [], sort_keys=True)


def _ep_id(ep: dict) -> str:
    ref = ep.get("targetRef") or {}
    return ref.get("uid") or (ep.get("addresses") or [""])[0]


def _ep_sort(ep: dict) -> tuple:
    ref = ep.get("targetRef") or {}
    return (ref.get("name") or "", (ep.get("addresses") or [""])[0])


# ---------------------------------------------------------------------- base
class _EndpointsBase(Controller):
    """Shared event handling: Services and the pods they select enqueue the Service key."""

    def __init__(self, api, clock, index: ServiceSelectorIndex):
        super().__init__(api, clock)
        self.index = index
        self.trigger: dict[ServiceKey, float] = {}
        self.store.subscribe(self.on_event)

    def resync(self) -> None:
        for svc in self.store.list("services"):
            self.queue.add((svc["metadata"].get("namespace", ""), svc["metadata"]["name"]))

    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "pods":
            self._on_pod(ev)
        elif resource == "services":
            meta = ev.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            old = ev.old
            if ev.type == ADDED or ev.type == DELETED or old is None or old.get("spec") != ev.obj.get("spec") \
                    or old["metadata"].get("labels") != meta.get("labels"):
                self._enqueue(key)
        else:
            self._on_own(ev)

    def _on_pod(self, ev: Event) -> None:
        pod, old = ev.obj, ev.old
        meta = pod["metadata"]
        ns = meta.get("namespace", "")
        labels = meta.get("labels")
        if ev.type == "MODIFIED" and old is not None:
            old_labels = old["metadata"].get("labels")
            if old_labels == labels and _pod_signature(old) == _pod_signature(pod):
                return
            names = self.index.matching(ns, labels)
            if old_labels != labels:
                names |= self.index.matching(ns, old_labels)
        else:
            names = self.index.matching(ns, labels)
        for name in names:
            self._enqueue((ns, name))

    def _on_own(self, ev: Event) -> None:  # pragma: no cover - overridden
        pass

    def _enqueue(self, key: ServiceKey) -> None:
        self.trigger[key] = self.clock.now
        self.queue.add(key)

    def _pods(self, svc: dict, selector: dict[str, str]) -> list[dict]:
        return self.store.list("pods", svc["metadata"].get("namespace", ""), LabelSelector.from_labels(selector))

    def _zone(self, node: str | None, cache: dict[str, str | None]) -> str | None:
        if not node:
            return None
        if node not in cache:
            obj = self.store.find("nodes", "", node)
            cache[node] = labels_of(obj).get(ZONE_LABEL)
        return cache[node]


# ---------------------------------------------------------------------- EndpointSlice controller
class EndpointSliceController(_EndpointsBase):
    name = "endpointslice-controller"

    def _on_own(self, ev: Event) -> None:
        if ev.resource != "endpointslices" or ev.type != DELETED:
            return
        labels = labels_of(ev.obj)
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SERVICE_NAME_LABEL):
            self.queue.add((ev.obj["metadata"].get("namespace", ""), labels[SERVICE_NAME_LABEL]))

    def sync(self, key: ServiceKey) -> None:
        ns, name = key
        svc = self.store.find("services", ns, name)
        if svc is None or is_terminating(svc):
            self.trigger.pop(key, None)
            return   # the garbage collector removes the slices the Service owns
        existing = self.store.list("endpointslices", ns, LabelSelector.from_labels(
            {SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY}))
        selector = service_selector(svc)
        if selector is None:
            for es in existing:
                self.api.delete_internal("endpointslices", ns, es["metadata"]["name"], uid=es["metadata"].get("uid"))
            return
        groups = self.desired_groups(svc, self._pods(svc, selector))
        self.reconcile(svc, groups, existing)

    def desired_groups(self, svc: dict, pods: Iterable[dict]) -> dict[str, tuple[list[dict], list[dict]]]:
        """Endpoints grouped by their resolved port set: ``ports key -> (ports, endpoints)``."""
        groups: dict[str, tuple[list[dict], list[dict]]] = {}
        zones: dict[str, str | None] = {}
        for pod in pods:
            if not should_publish(pod, include_terminating=True):
                continue
            ports = pod_endpoint_ports(svc, pod)
            ep = pod_endpoint(svc, pod, self._zone(spec_of(pod).get("nodeName"), zones))
            pkey = _ports_key(ports)
            if pkey not in groups:
                groups[pkey] = (ports, [])
            groups[pkey][1].append(ep)
        return groups

    def reconcile(self, svc: dict, groups: dict[str, tuple[list[dict], list[dict]]], existing: list[dict]) -> None:
        """Write the fewest slice changes that make ``existing`` hold exactly ``groups``."""
        ns, name = svc["metadata"].get("namespace", ""), svc["metadata"]["name"]
        labels = service_labels(svc, {SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY})
        owner = controller_ref(svc)
        by_group: dict[str, list[dict]] = {}
        for es in sorted(existing, key=lambda s: s["metadata"]["name"]):
            by_group.setdefault(_ports_key(es.get("ports")), []).append(es)
        keep: list[tuple[dict | None, list[dict], list[dict]]] = []   # (slice or None, ports, endpoints)
        for pkey in sorted(groups):
            ports, eps = groups[pkey]
            slices = by_group.pop(pkey, [])
            buckets: dict[str, list[dict]] = {s["metadata"]["name"]: [] for s in slices}
            where = {_ep_id(ep): s["metadata"]["name"] for s in slices for ep in s.get("endpoints") or ()}
            leftovers = []
            for ep in sorted(eps, key=_ep_sort):
                home = where.get(_ep_id(ep))
                if home is not None and len(buckets[home]) < MAX_ENDPOINTS_PER_SLICE:
                    buckets[home].append(ep)
                else:
                    leftovers.append(ep)
            new_buckets: list[list[dict]] = []
            for ep in leftovers:
                home = next((n for n in buckets if len(buckets[n]) < MAX_ENDPOINTS_PER_SLICE), None)
                if home is not None:
                    buckets[home].append(ep)
                    continue
                if not new_buckets or len(new_buckets[-1]) >= MAX_ENDPOINTS_PER_SLICE:
                    new_buckets.append([])
                new_buckets[-1].append(ep)
            for es in slices:
                keep.append((es, ports, buckets[es["metadata"]["name"]]))
            for bucket in new_buckets:
                keep.append((None, ports, bucket))
        stale = [es for rest in by_group.values() for es in rest]
        filled = [item for item in keep if item[2]]
        if not filled:
            # Placeholder: a Service with a selector and no endpoints still has one empty slice.
            reuse = next((es for es, _, _ in keep if es is not None), None) or (stale.pop(0) if stale else None)
            filled = [(reuse, [], [])]
            stale += [es for es, _, _ in keep if es is not None and es is not reuse]
        else:
            stale += [es for es, _, eps in keep if es is not None and not eps]
            # Like the real reconciler, an empty (placeholder) slice is reused for a new one, not replaced.
            empties = [es for es in stale if not es.get("endpoints")]
            for i, (es, ports, eps) in enumerate(filled):
                if es is None and empties:
                    reuse = empties.pop(0)
                    stale.remove(reuse)
                    filled[i] = (reuse, ports, eps)
        for es, ports, eps in filled:
            eps = sorted(eps, key=_ep_sort)
            if es is None:
                self.api.create_internal(self._slice(svc, None, labels, owner, ports, eps))
            elif (es.get("endpoints") or []) != eps or (es.get("ports") or []) != ports \
                    or es["metadata"].get("labels") != labels or es["metadata"].get("ownerReferences") != [owner]:
                self.api.update_internal(self._slice(svc, es, labels, owner, ports, eps))
        for es in stale:
            self.api.delete_internal("endpointslices", ns, es["metadata"]["name"], uid=es["metadata"].get("uid"))

    def _slice(self, svc: dict, current: dict | None, labels: dict, owner: dict, ports: list[dict],
               eps: list[dict]) -> dict:
        key = (svc["metadata"].get("namespace", ""), svc["metadata"]["name"])
        if current is None:
            obj: dict[str, Any] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                                   "metadata": {"generateName": f"{key[1]}-", "namespace": key[0]},
                                   "addressType": "IPv4"}
        else:
            obj = clone(current)
        meta = obj["metadata"]
        meta["labels"] = dict(labels)
        meta["ownerReferences"] = [dict(owner)]
        annotations = dict(meta.get("annotations") or {})
        annotations[TRIGGER_TIME] = trigger_timestamp(self.trigger.get(key, self.clock.now))
        meta["annotations"] = annotations
        obj["endpoints"] = [clone(ep) for ep in eps]
        obj["ports"] = [dict(p) for p in ports]
        return obj


# ---------------------------------------------------------------------- Endpoints controller
class EndpointsController(_EndpointsBase):
    name = "endpoint-controller"

    def _on_own(self, ev: Event) -> None:
        if ev.resource == "endpoints" and ev.type == DELETED:
            meta = ev.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if key in self.index.selectors:
                self.queue.add(key)

    def sync(self, key: ServiceKey) -> None:
        ns, name = key
        svc = self.store.find("services", ns, name)
        current = self.store.find("endpoints", ns, name)
        if svc is None:
            self.trigger.pop(key, None)
            if current is not None:
                self.api.delete_internal("endpoints", ns, name, uid=current["metadata"].get("uid"))
            return
        selector = service_selector(svc)
        if selector is None:
            return   # Endpoints of a Service without selector belong to whoever wrote them
        subsets, truncated = self.desired_subsets(svc, self._pods(svc, selector))
        labels = service_labels(svc, {SKIP_MIRROR_LABEL: "true"})
        if current is not None and (current.get("subsets") or []) == subsets \
                and labels_of(current) == labels \
                and (annotations_of(current).get(OVER_CAPACITY) == "truncated") == truncated:
            return
        obj: dict[str, Any] = clone(current) if current is not None else {
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}}
        meta = obj["metadata"]
        meta["labels"] = labels
        annotations = dict(meta.get("annotations") or {})
        annotations[TRIGGER_TIME] = trigger_timestamp(self.trigger.get(key, self.clock.now))
        if truncated:
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        meta["annotations"] = annotations
        if subsets:
            obj["subsets"] = subsets
        else:
            obj.pop("subsets", None)
        if current is None:
            self.api.create_internal(obj)
        else:
            self.api.update_internal(obj)

    def desired_subsets(self, svc: dict, pods: Iterable[dict]) -> tuple[list[dict], bool]:
        """``RepackSubsets``: addresses grouped by identical port sets, sorted by IP; truncation flag."""
        spec = spec_of(svc)
        publish = bool(spec.get("publishNotReadyAddresses"))
        groups: dict[str, tuple[list[dict], list[dict], list[dict]]] = {}
        total = 0
        for pod in pods:
            if not should_publish(pod, include_terminating=publish):
                continue
            pmeta, pspec = pod["metadata"], spec_of(pod)
            addr: dict[str, Any] = {"ip": pod["status"]["podIP"]}
            if pspec.get("hostname") and pspec.get("subdomain") == svc["metadata"]["name"]:
                addr["hostname"] = pspec["hostname"]
            if pspec.get("nodeName"):
                addr["nodeName"] = pspec["nodeName"]
            addr["targetRef"] = {"kind": "Pod", "namespace": pmeta.get("namespace", ""), "name": pmeta["name"],
                                 "uid": pmeta.get("uid", "")}
            ports = []
            for p in pod_endpoint_ports(svc, pod):
                port = {"port": p["port"], "protocol": p["protocol"]}
                if p.get("name"):
                    port = {"name": p["name"], **port}
                if p.get("appProtocol"):
                    port["appProtocol"] = p["appProtocol"]
                ports.append(port)
            if spec.get("ports") and not ports:
                continue   # no port of the Service resolves on this pod
            pkey = _ports_key(ports)
            if pkey not in groups:
                groups[pkey] = (ports, [], [])
            ready = publish or pod_ready(pod)
            groups[pkey][1 if ready else 2].append(addr)
            total += 1
        truncated = total > MAX_ENDPOINTS_ADDRESSES
        budget = MAX_ENDPOINTS_ADDRESSES
        subsets = []
        for pkey in sorted(groups):
            ports, ready, not_ready = groups[pkey]
            ready.sort(key=lambda a: (_ip_sort(a["ip"]), a["targetRef"]["uid"]))
            not_ready.sort(key=lambda a: (_ip_sort(a["ip"]), a["targetRef"]["uid"]))
            ready, not_ready = ready[:budget], not_ready[:max(0, budget - len(ready))]
            budget -= len(ready) + len(not_ready)
            subset: dict[str, Any] = {}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            if not subset:
                continue
            if ports:
                subset["ports"] = ports
            subsets.append(subset)
        return subsets, truncated


def _ip_sort(ip: str) -> tuple:
    try:
        return tuple(int(x) for x in ip.split("."))
    except ValueError:
        return (ip,)
