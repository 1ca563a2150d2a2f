"""Service ClusterIP and NodePort allocation, as kube-apiserver's Service REST storage does it.

The allocators are *derived* from the store: a store subscription records which Service holds
which IP and port as soon as the Service is written, and releases them when it is deleted or
changed. The admission plugin (``ServiceAllocator.admit``) only *chooses* free values and rejects
taken ones; it commits nothing, so a dry run or a create that fails validation later leaks no
address. ``resync()`` rebuilds both tables from the store after a restart.

Ranges are kubeadm's: ``--service-cluster-ip-range=10.96.0.0/12`` (``kubernetes`` at 10.96.0.1,
kube-dns at 10.96.0.10) and ``--service-node-port-range=30000-32767``. Like the real bitmap
allocators, dynamic allocation is random over the *upper* band and leaves a static lower band
(the first 256 IPs, the first 86 ports) for values users pick by hand.
"""
from __future__ import annotations

import ipaddress
import json
import random
from typing import TYPE_CHECKING

from ..errors import Cause, Invalid
from ..etcd.store import DELETED, Event
from ..objects import meta_of, spec_of

if TYPE_CHECKING:
    from ..apiserver.resources import ResourceType
    from ..apiserver.server import APIServer
    from ..etcd.store import Store

SERVICE_CIDR = "10.96.0.0/12"
NODE_PORT_RANGE = (30000, 32767)
ServiceKey = tuple[str, str]  # (namespace, name)

INVALID = "FieldValueInvalid"
NEEDS_NODE_PORTS = ("NodePort", "LoadBalancer")


def _go_strings(values: list[str]) -> str:
    """Render a ``[]string`` as Go's ``%#v`` does in field errors: ``[]string{"10.96.0.5"}``."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def needs_node_ports(spec: dict) -> bool:
    """Tell whether a Service of this spec gets node ports (NodePort, or LoadBalancer unless disabled)."""
    kind = spec.get("type") or "ClusterIP"
    if kind == "NodePort":
        return True
    return kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False


def needs_cluster_ip(spec: dict) -> bool:
    return (spec.get("type") or "ClusterIP") != "ExternalName"


class ServiceAllocator:
    """The ClusterIP bitmap and the NodePort bitmap of one API server."""

    def __init__(self, store: "Store", rng: random.Random, cidr: str = SERVICE_CIDR,
                 node_ports: tuple[int, int] = NODE_PORT_RANGE):
        self.store = store
        self.rng = rng
        self.network = ipaddress.ip_network(cidr)
        self.cidr = cidr
        # Usable addresses: network+1 .. broadcast-1, like the real allocator.
        self.ip_base = int(self.network.network_address) + 1
        self.ip_size = self.network.num_addresses - 2
        self.ip_static = min(max(16, self.ip_size // 16), 256)     # static band (lower)
        self.port_base, self.port_max = node_ports
        self.port_size = self.port_max - self.port_base + 1
        self.port_static = min(max(16, self.port_size // 32), 128)  # 86 for 30000-32767
        self.ips: dict[int, ServiceKey] = {}
        self.ports: dict[int, ServiceKey] = {}
        self._held: dict[ServiceKey, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        store.subscribe(self.on_event)

    # ------------------------------------------------------------------ derived state
    def resync(self) -> None:
        """Rebuild both tables from the Services in the store."""
        self.ips.clear()
        self.ports.clear()
        self._held.clear()
        for svc in self.store.list("services"):
            self._hold(svc)

    def on_event(self, ev: Event) -> None:
        if ev.resource != "services":
            return
        key = (ev.obj["metadata"].get("namespace", ""), ev.obj["metadata"]["name"])
        self._release(key)
        if ev.type != DELETED:
            self._hold(ev.obj)

    def _hold(self, svc: dict) -> None:
        key = (svc["metadata"].get("namespace", ""), svc["metadata"]["name"])
        spec = spec_of(svc)
        ips = []
        for text in spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []):
            value = self._ip_int(text)
            if value is not None and self._ip_in_range(value):
                ips.append(value)
                self.ips[value] = key
        ports = []
        for port in spec.get("ports") or ():
            node_port = port.get("nodePort") if isinstance(port, dict) else None
            if isinstance(node_port, int) and self.port_base <= node_port <= self.port_max:
                ports.append(node_port)
                self.ports[node_port] = key
        self._held[key] = (tuple(ips), tuple(ports))

    def _release(self, key: ServiceKey) -> None:
        ips, ports = self._held.pop(key, ((), ()))
        for value in ips:
            if self.ips.get(value) == key:
                del self.ips[value]
        for value in ports:
            if self.ports.get(value) == key:
                del self.ports[value]

    # ------------------------------------------------------------------ queries
    @staticmethod
    def _ip_int(text: str) -> int | None:
        try:
            return int(ipaddress.IPv4Address(text))
        except (ipaddress.AddressValueError, ValueError, TypeError):
            return None

    def _ip_in_range(self, value: int) -> bool:
        return self.ip_base <= value < self.ip_base + self.ip_size

    def port_owner(self, port: int) -> ServiceKey | None:
        return self.ports.get(port)

    # ------------------------------------------------------------------ choosing
    def pick_ip(self) -> str:
        """A random free ClusterIP from the upper band (the lower band only when that is full)."""
        lo, hi = self.ip_base + self.ip_static, self.ip_base + self.ip_size
        for _ in range(64):
            value = self.rng.randrange(lo, hi)
            if value not in self.ips:
                return str(ipaddress.IPv4Address(value))
        for band in ((lo, hi), (self.ip_base, lo)):
            for value in range(*band):
                if value not in self.ips:
                    return str(ipaddress.IPv4Address(value))
        raise Invalid.of("Service", "", "", [Cause(
            "spec.clusterIPs", "Internal error: failed to allocate a serviceIP: range is full", INVALID)])

    def pick_port(self, taken: set[int]) -> int | None:
        lo, hi = self.port_base + self.port_static, self.port_max + 1
        for _ in range(64):
            value = self.rng.randrange(lo, hi)
            if value not in self.ports and value not in taken:
                return value
        for band in ((lo, hi), (self.port_base, lo)):
            for value in range(*band):
                if value not in self.ports and value not in taken:
                    return value
        return None

    # ------------------------------------------------------------------ admission
    def admit(self, api: "APIServer", rt: "ResourceType", obj: dict, old: dict | None) -> None:
        """Admission: fill ``clusterIP(s)`` and ``nodePort``s, reject taken or out-of-range values."""
        if rt.kind != "Service":
            return
        spec = obj.setdefault("spec", {})
        meta = meta_of(obj)
        key = (meta.get("namespace", ""), meta.get("name", ""))
        old_spec = spec_of(old)
        causes: list[Cause] = []
        if old is not None:
            drop_type_dependent_fields(spec, old_spec)
        self._admit_cluster_ip(spec, old_spec, key, causes, old is not None)
        self._admit_node_ports(spec, old_spec, key, causes, old is not None)
        if causes:
            raise Invalid.of(rt.kind, rt.group, meta.get("name", "") or "", causes)

    def _admit_cluster_ip(self, spec: dict, old_spec: dict, key: ServiceKey, causes: list[Cause],
                          updating: bool) -> None:
        if not needs_cluster_ip(spec):
            # ExternalName: no virtual IP at all (the old one is released by the store event).
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(field, None)
            return
        ip = spec.get("clusterIP") or ""
        ips = spec.get("clusterIPs") or []
        if not ip and ips:
            ip = ips[0]
        if updating and not ip and needs_cluster_ip(old_spec) and old_spec.get("clusterIP"):
            # patchAllocatedValues: an update that leaves clusterIP empty keeps the allocated one.
            ip = old_spec["clusterIP"]
        if ip == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            return
        if not ip:
            ip = self.pick_ip()
        elif not (updating and ip == old_spec.get("clusterIP")):
            value = self._ip_int(ip)
            if value is None:
                causes.append(Cause("spec.clusterIPs[0]", f"Invalid value: {json.dumps(ip)}: must be a valid IP "
                                    "address, (e.g. 10.9.8.7 or 2001:db8::ffff)", INVALID))
                return
            if not self._ip_in_range(value):
                causes.append(Cause("spec.clusterIPs", f"Invalid value: {_go_strings([ip])}: failed to allocate IP "
                                    f"{ip}: the provided IP ({ip}) is not in the valid range. The range of valid "
                                    f"IPs is {self.cidr}", INVALID))
                return
            owner = self.ips.get(value)
            if owner is not None and owner != key:
                causes.append(Cause("spec.clusterIPs", f"Invalid value: {_go_strings([ip])}: failed to allocate IP "
                                    f"{ip}: provided IP is already allocated", INVALID))
                return
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")

    def _admit_node_ports(self, spec: dict, old_spec: dict, key: ServiceKey, causes: list[Cause],
                          updating: bool) -> None:
        ports = [p for p in spec.get("ports") or () if isinstance(p, dict)]
        old_ports = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort")
                     for p in old_spec.get("ports") or () if isinstance(p, dict) and p.get("nodePort")}
        if not needs_node_ports(spec):
            if updating and needs_node_ports(old_spec):
                # dropTypeDependentFields: leaving NodePort/LoadBalancer drops the node ports it had.
                for p in ports:
                    if p.get("nodePort") and p.get("nodePort") == old_ports.get((p.get("port"), p.get("protocol") or "TCP")):
                        del p["nodePort"]
            return
        if updating:
            for p in ports:
                if not p.get("nodePort"):
                    previous = old_ports.get((p.get("port"), p.get("protocol") or "TCP"))
                    if previous:
                        p["nodePort"] = previous
        mine = set(old_ports.values()) if updating else set()
        taken: dict[int, str] = {}   # node port -> protocol, within this Service
        for i, p in enumerate(ports):
            node_port = p.get("nodePort")
            protocol = p.get("protocol") or "TCP"
            if node_port in (None, 0):
                continue
            if not isinstance(node_port, int) or isinstance(node_port, bool):
                continue  # validation reports the type
            if not self.port_base <= node_port <= self.port_max:
                continue  # validation reports the range, with the same wording
            owner = self.ports.get(node_port)
            clash_here = node_port in taken and taken[node_port] == protocol
            if clash_here or (owner is not None and owner != key and node_port not in mine):
                causes.append(Cause(f"spec.ports[{i}].nodePort",
                                    f"Invalid value: {node_port}: provided port is already allocated", INVALID))
                continue
            taken[node_port] = protocol
        if causes:
            return
        for p in ports:
            if p.get("nodePort") in (None, 0):
                value = self.pick_port(set(taken))
                if value is None:
                    causes.append(Cause("spec.ports", "Internal error: failed to allocate a nodePort: range is full",
                                        INVALID))
                    return
                p["nodePort"] = value
                taken[value] = p.get("protocol") or "TCP"



def drop_type_dependent_fields(spec: dict, old_spec: dict) -> None:
    """``dropTypeDependentFields``: a type change clears the fields only the old type allowed, if untouched."""
    old_type, new_type = old_spec.get("type") or "ClusterIP", spec.get("type") or "ClusterIP"
    if old_type == new_type:
        return
    external = ("NodePort", "LoadBalancer")
    if old_type in external and new_type not in external \
            and spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy"):
        spec.pop("externalTrafficPolicy", None)
    if old_type == "LoadBalancer" and new_type != "LoadBalancer":
        for field in ("allocateLoadBalancerNodePorts", "loadBalancerClass", "healthCheckNodePort"):
            if spec.get(field) == old_spec.get(field):
                spec.pop(field, None)
