"""Follow one connection through the simulated network and say where it goes — or why it fails.

The four ways pods talk (Kubernetes' networking model):
* container to container in one pod: ``localhost`` (the pod shares one network namespace);
* pod to pod on one node: through the node's ``cni0`` bridge (veth pairs);
* pod to pod across nodes: routed over the pod network, one route per node ``podCIDR``;
* pod to Service: a DNS lookup (CoreDNS behind ``kube-dns``) gives the ClusterIP, kube-proxy's
  rules DNAT it to one ready endpoint chosen at random (or pinned by ``sessionAffinity: ClientIP``),
  then one of the pod-to-pod paths above.
Plus a headless Service's pod DNS name (``sql-0.sql.default.svc.cluster.local``) and a NodePort
(``node-2:30080``).

The route is decided by what kube-proxy has programmed (which lags the API); whether the packet is
answered is decided by reality (``liveness``): a powered-off node, a stopped container or a failing
app. ``trace`` returns ``{"ok", "pattern", "hops": [{kind, from, to, detail}], "path", "reason", "code"}``.

``pattern`` is one of ``PATTERNS``, or None when the target never resolved (NXDOMAIN, no such IP).
A headless Service's name, or a pod's DNS name under one, counts as pod-to-pod: CoreDNS answers with
the pod IP itself, so after the lookup no Service is involved (no ClusterIP, no kube-proxy), only
the bridge or the route to the pod's node. ``path`` lists the nodes the packet crosses, in order,
``destination`` the pod it reaches (``namespace/name``; None before one is chosen).
Failure ``code``s: ``no-such-pod``, ``pod-not-running`` (the source, or a stopped container),
``node-down`` (powered off or partitioned), ``no-endpoints``, ``no-such-service`` (NXDOMAIN),
``dns-failed``, ``timeout`` (no such Service port), ``connection-refused`` (nothing listens on that
pod port, no such nodePort), ``no-route`` (an IP nobody owns), ``app-error``.
"""
from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from ..objects import spec_of, status_of
from . import liveness
from .iptables import probability, sep_chain, service_port_name, svc_chain, svl_chain, \
    target_port
from .proxy import Endpoint, ServiceKey

CLUSTER_DOMAIN = "cluster.local"
DNS_SERVICE = ("kube-system", "kube-dns")
CONTAINER, SAME_NODE, CROSS_NODE, SERVICE = ("container-to-container", "pod-to-pod-same-node",
                                             "pod-to-pod-cross-node", "pod-to-service")
PATTERNS = (CONTAINER, SAME_NODE, CROSS_NODE, SERVICE)


class TraceFailed(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def _split_port(target: str) -> tuple[str, int | None]:
    host, sep, port = target.strip().rpartition(":")
    if sep and port.isdigit() and host:
        return host, int(port)
    return target.strip(), None


def _node_ip(node: dict | None) -> str:
    for addr in status_of(node).get("addresses") or ():
        if addr.get("type") == "InternalIP":
            return addr.get("address", "")
    return ""


class _Tracer:
    def __init__(self, net: Any):
        self.net = net
        self.proxy = net.proxy
        self.store = net.store
        self.kubelets = net.kubelets
        self.hops: list[dict] = []
        self.pattern: str | None = None
        self.path: list[str] = []
        self.destination: str | None = None

    def hop(self, kind: str, src: str, dst: str, detail: str, **extra: Any) -> None:
        self.hops.append({"kind": kind, "from": src, "to": dst, "detail": detail, **extra})

    def cross(self, node: str) -> None:
        if node and (not self.path or self.path[-1] != node):
            self.path.append(node)

    def result(self, ok: bool, reason: str = "", code: str = "") -> dict:
        return {"ok": ok, "pattern": self.pattern, "hops": self.hops, "path": self.path,
                "destination": self.destination, "reason": reason, "code": code}

    # ------------------------------------------------------------------ entry
    def run(self, source: tuple[str, str], target: str) -> dict:
        ns, name = source
        pod = self.store.find("pods", ns, name)
        if pod is None:
            raise TraceFailed("no-such-pod", f'pod "{name}" not found in namespace "{ns}"')
        status = status_of(pod)
        src_ip = status.get("podIP") or ""
        if not src_ip or status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
            phase = "Terminating" if pod["metadata"].get("deletionTimestamp") else status.get("phase") or "Pending"
            raise TraceFailed("pod-not-running", f"source pod {ns}/{name} is not running ({phase})")
        node = spec_of(pod).get("nodeName") or ""
        why = liveness.node_problem(self.store, self.kubelets, node)
        if why:
            raise TraceFailed("node-down", f"{why}: the source pod cannot send anything")
        self.src = pod
        self.src_key = (ns, name)
        self.src_ip = src_ip
        self.src_node = node
        self.src_label = f"{ns}/{name} ({src_ip})"
        self.cross(node)
        host, port = _split_port(target)
        if host in ("localhost", "127.0.0.1"):
            self.localhost(port)
        elif _is_ip(host):
            self.to_ip(host, port)
        elif port is not None and self.store.find("nodes", "", host) is not None:
            self.node_port(host, port)
        else:
            self.by_name(host.rstrip(".").lower(), port)
        return self.result(True)

    # ------------------------------------------------------------------ patterns
    def localhost(self, port: int | None) -> None:
        self.pattern = CONTAINER
        self.destination = f"{self.src_key[0]}/{self.src_key[1]}"
        containers = [c.get("name") for c in spec_of(self.src).get("containers") or ()]
        owner = self._listener(self.src, port)
        where = f"localhost:{port}" if port else "localhost"
        if port is not None and owner is None and self._declares_ports(self.src):
            raise TraceFailed("connection-refused", f"nothing listens on {where} in pod {self.src_key[0]}/"
                                                    f"{self.src_key[1]}: connection refused")
        self.hop("localhost", self.src_label, where,
                 f"containers of one pod share its network namespace ({', '.join(containers)}): "
                 f"{where} reaches {'container ' + owner if owner else 'a sibling container'} directly, "
                 "no bridge, no routing")
        self._answer(self.src, port, self.src_ip, where)

    def to_ip(self, ip: str, port: int | None) -> None:
        if ip == self.src_ip:
            self.localhost(port)
            return
        svc = self.proxy.service_for_ip(ip)
        if svc is not None:
            self.pattern = SERVICE
            self.via_service(svc, port, self.src_node, self.src_label)
            return
        pod_key = self.proxy.pod_for_ip(ip)
        if pod_key is not None:
            self.to_pod(pod_key, ip, port, self.src_node, self.src_label)
            return
        raise TraceFailed("no-route", f"no pod or Service has IP {ip}: the packet is dropped (timeout)")

    def by_name(self, host: str, port: int | None) -> None:
        parts = host.split(".")
        if parts[-2:] == CLUSTER_DOMAIN.split("."):
            parts = parts[:-2]
        if parts and parts[-1] == "svc":
            parts = parts[:-1]
        fqdn = host if host.endswith(CLUSTER_DOMAIN) else None
        if len(parts) == 1:
            hostname, svc_name, ns = None, parts[0], self.src_key[0]
        elif len(parts) == 2:
            hostname, (svc_name, ns) = None, parts
        elif len(parts) == 3:
            hostname, svc_name, ns = parts
        else:
            raise TraceFailed("no-such-service", f"DNS lookup of {host} failed: NXDOMAIN")
        fqdn = f"{svc_name}.{ns}.svc.{CLUSTER_DOMAIN}" if hostname is None else \
            f"{hostname}.{svc_name}.{ns}.svc.{CLUSTER_DOMAIN}"
        dns = self.dns_server(fqdn)
        key = (ns, svc_name)
        svc = self.proxy.services.get(key)
        if svc is None:
            raise TraceFailed("no-such-service", f"DNS lookup of {fqdn} failed: NXDOMAIN (no Service "
                                                 f'"{svc_name}" in namespace "{ns}")')
        spec = spec_of(svc)
        kind = spec.get("type") or "ClusterIP"
        if kind == "ExternalName":
            self.pattern = SERVICE
            self.hop("dns", self.src_label, spec.get("externalName", ""),
                     f"{dns}: {fqdn} is a CNAME for {spec.get('externalName')} (ExternalName: no proxying, "
                     "the name points outside the cluster)")
            return
        if spec.get("clusterIP") == "None" or hostname is not None:
            self.headless(key, svc, hostname, fqdn, dns, port)
            return
        ip = spec.get("clusterIP", "")
        self.pattern = SERVICE
        self.hop("dns", self.src_label, ip, f"{dns}: {fqdn} → {ip} (the Service's ClusterIP, a virtual IP no "
                                            "interface owns)")
        self.via_service(key, port, self.src_node, self.src_label)

    def dns_server(self, fqdn: str) -> str:
        """Check that cluster DNS answers; return how it was asked (for the hop text)."""
        dns_svc = self.proxy.services.get(DNS_SERVICE)
        if dns_svc is None:
            return "cluster DNS"
        ip = spec_of(dns_svc).get("clusterIP", "")
        eps = self.proxy.endpoints(DNS_SERVICE)
        if not eps:
            raise TraceFailed("dns-failed", f"DNS lookup of {fqdn} failed: kube-dns ({ip}) has no ready endpoints, "
                                            "CoreDNS is down (connection refused)")
        healthy = [ep for ep in eps if self._endpoint_problem(ep) is None]
        if not healthy:
            raise TraceFailed("dns-failed", f"DNS lookup of {fqdn} timed out: no CoreDNS pod behind kube-dns ({ip}) "
                                            "answers")
        return f"CoreDNS via kube-dns {ip}"

    def headless(self, key: ServiceKey, svc: dict, hostname: str | None, fqdn: str, dns: str,
                 port: int | None) -> None:
        publish = bool(spec_of(svc).get("publishNotReadyAddresses"))
        records: list[tuple[str, dict]] = []   # CoreDNS reads the EndpointSlices directly
        for es in sorted(self.proxy.slices.get(key, {}).values(), key=lambda s: s["metadata"]["name"]):
            for ep in es.get("endpoints") or ():
                cond = ep.get("conditions") or {}
                if not (publish or cond.get("ready") is not False) or not ep.get("addresses"):
                    continue
                if hostname is not None and ep.get("hostname") != hostname:
                    continue
                records.append((ep["addresses"][0], ep))
        if not records:
            code = "no-such-service" if hostname is not None else "no-endpoints"
            raise TraceFailed(code, f"DNS lookup of {fqdn} failed: NXDOMAIN (headless Service {key[0]}/{key[1]} "
                                    f"has no ready endpoint{' named ' + hostname if hostname else 's'})")
        ip, ep = records[self.net.rng.randrange(len(records))] if len(records) > 1 else records[0]
        what = "the pod's own DNS record" if hostname else f"one of {len(records)} A records (one per ready pod)"
        self.hop("dns", self.src_label, ip, f"{dns}: {fqdn} → {ip}, {what}; headless Service: no ClusterIP, "
                                            "no kube-proxy")
        ref = ep.get("targetRef") or {}
        self.to_pod((ref.get("namespace") or key[0], ref.get("name") or ""), ip, port, self.src_node,
                    self.src_label)

    def via_service(self, key: ServiceKey, port: int | None, node: str, from_label: str,
                    node_port: int | None = None) -> None:
        svc = self.proxy.services[key]
        spec = spec_of(svc)
        ports = spec.get("ports") or []
        if node_port is not None:
            sport = next((p for p in ports if p.get("nodePort") == node_port), None)
        elif port is None:
            sport = ports[0] if ports else None
        else:
            sport = next((p for p in ports if p.get("port") == port), None)
        vip = spec.get("clusterIP", "")
        if sport is None:
            raise TraceFailed("timeout", f"Service {key[0]}/{key[1]} has no port {port}: kube-proxy has no rule "
                                         f"for {vip}:{port}, the packet is dropped (timeout)")
        front = f"{node}:{node_port}" if node_port is not None else f"{vip}:{sport.get('port')}"
        eps = self.proxy.endpoints(key)
        local = node_port is not None and spec.get("externalTrafficPolicy") == "Local"
        if local:
            eps = tuple(ep for ep in eps if ep.node == node)
        if not eps:
            if local:
                raise TraceFailed("no-endpoints", f"externalTrafficPolicy Local: no ready endpoint of Service "
                                                  f"{key[0]}/{key[1]} on {node}, the packet is dropped (timeout)")
            raise TraceFailed("no-endpoints", f"Service {key[0]}/{key[1]} has no ready endpoints: kube-proxy "
                                              f"rejects connections to {front} (connection refused)")
        ep = self.proxy.pick(key, self.src_ip, self.net.rng, candidates=eps)
        target = target_port(ep, sport)
        self.hop("kube-proxy", front, f"{ep.ip}:{target}",
                 self._dnat_detail(key, sport, node, front, eps, ep, target, node_port is not None, local),
                 probability=1.0 / len(eps), endpoint=f"{ep.namespace}/{ep.pod}" if ep.pod else None,
                 node=node)
        if not ep.pod:
            # Not a pod (the API server's endpoint on the control-plane node, a manual Endpoints entry).
            self.hop("pod", front, f"{ep.ip}:{target}", f"{ep.ip}:{target} answers (an endpoint outside the "
                                                         "pod network, e.g. kube-apiserver on its node)")
            return
        self.to_pod((ep.namespace, ep.pod), ep.ip, target, node, front)

    def _dnat_detail(self, key: ServiceKey, sport: dict, node: str, front: str, eps: tuple[Endpoint, ...],
                     ep: Endpoint, target: int, external: bool, local: bool) -> str:
        """Which rules on ``node`` matched, as iptables (engine/network/iptables.py) holds them there."""
        name = service_port_name(key, sport.get("name") or "")
        proto = sport.get("protocol") or "TCP"
        chain = (svl_chain if local else svc_chain)(name, proto)
        entry = f"KUBE-NODEPORTS → KUBE-EXT → {chain}" if external else f"KUBE-SERVICES matches {front} → {chain}"
        n, i = len(eps), eps.index(ep)
        sep = sep_chain(name, proto, f"{ep.ip}:{target}")
        if n == 1:
            rule = "its only rule"
        elif i < n - 1:
            rule = f"rule {i + 1} of {n} (--probability {probability(n - i)})"
        else:
            rule = f"rule {n} of {n} (the last, no --probability)"
        if self.proxy.affinity_timeout(key) is not None:
            how = f"pinned to this client ({self.src_ip}) by sessionAffinity: ClientIP"
        elif n == 1:
            how = "the only ready endpoint"
        else:
            how = f"each of the {n} ready endpoints gets 1/{n} of new connections (statistic mode random)"
        who = f"{ep.namespace}/{ep.pod} " if ep.pod else ""
        return (f"kube-proxy's rules on {node}: {entry}; {rule} jumps to {sep}, which DNATs to {who}"
                f"({ep.ip}:{target}); {how}")

    def node_port(self, node_name: str, port: int) -> None:
        node = self.store.find("nodes", "", node_name)
        node_ip = _node_ip(node)
        why = liveness.node_problem(self.store, self.kubelets, node_name)
        if why:
            raise TraceFailed("node-down", f"{why}: {node_name}:{port} does not answer (timeout)")
        key = self.proxy.service_for_node_port(port)
        if key is None:
            raise TraceFailed("connection-refused", f"no Service uses nodePort {port}: nothing listens on "
                                                    f"{node_name}:{port} (connection refused)")
        self.pattern = SERVICE
        self.cross(node_name)
        self.hop("node-port", self.src_label, f"{node_name}:{port}",
                 f"{node_ip or node_name}:{port} is NodePort {port} of Service {key[0]}/{key[1]}; kube-proxy "
                 f"opens it on every node (KUBE-NODEPORTS){'' if node_name == self.src_node else ', the packet is routed there from ' + self.src_node}")
        self.via_service(key, None, node_name, f"{node_name}:{port}", node_port=port)

    def to_pod(self, key: tuple[str, str], ip: str, port: int | None, from_node: str, from_label: str) -> None:
        pod = self.store.find("pods", *key)
        if pod is None or status_of(pod).get("podIP") != ip:
            raise TraceFailed("connection-refused", f"nothing answers at {ip}: pod {key[0]}/{key[1]} is gone "
                                                    "(connection refused)")
        dst_node = spec_of(pod).get("nodeName") or ""
        label = f"{key[0]}/{key[1]} ({ip})"
        self.destination = f"{key[0]}/{key[1]}"
        if key == self.src_key:
            self.pattern = self.pattern or CONTAINER
            self.hop("localhost", from_label, label, "the pod reaches its own IP through the loopback of its "
                                                     "network namespace")
        elif dst_node == from_node:
            self.pattern = self.pattern or SAME_NODE
            bridge = self._bridge_ip(dst_node)
            self.hop("bridge", from_label, label,
                     f"same node {dst_node}: {self._leaves(from_node)} → cni0 bridge"
                     f"{' (' + bridge + ')' if bridge else ''} → {_veth(pod)} → eth0 of {key[1]}, no routing",
                     node=dst_node)
        else:
            self.pattern = self.pattern or CROSS_NODE
            cidr = self._pod_cidr(dst_node)
            why = liveness.node_problem(self.store, self.kubelets, dst_node)
            node_ip = _node_ip(self.store.find("nodes", "", dst_node))
            detail = (f"{self._leaves(from_node)} → cni0 on {from_node}; {from_node}'s route {cidr or ip} via "
                      f"{dst_node}{' (' + node_ip + ')' if node_ip else ''} carries it over the pod network; "
                      f"cni0 on {dst_node} → {_veth(pod)} → eth0 of {key[1]}")
            self.cross(dst_node)
            self.hop("node-to-node", from_node, dst_node, detail)
            if why:
                raise TraceFailed("node-down", f"{why}: packets to {ip} are lost (timeout)")
        self._answer(pod, port, ip)

    # ------------------------------------------------------------------ helpers
    def _answer(self, pod: dict, port: int | None, ip: str, where: str | None = None) -> None:
        meta = pod["metadata"]
        label = f"{meta.get('namespace', '')}/{meta['name']} ({ip})"
        problem = liveness.pod_problem(self.store, self.kubelets, pod)
        if problem is not None:
            kind, why = problem
            code = {"timeout": "node-down", "error": "app-error"}.get(kind, "pod-not-running")
            suffix = {"timeout": "timeout", "error": "HTTP 503"}.get(kind, "connection refused")
            raise TraceFailed(code, f"{why} ({suffix})")
        owner = self._listener(pod, port)
        if port is not None and owner is None and self._declares_ports(pod):
            raise TraceFailed("connection-refused", f"nothing listens on {ip}:{port} in pod {meta.get('namespace')}/"
                                                    f"{meta['name']} (connection refused)")
        where = where or (f"{ip}:{port}" if port is not None else ip)
        self.hop("pod", label if not self.hops else self.hops[-1]["to"], where,
                 f"container {owner or self._first_container(pod)} in {meta['name']} answers on {where}")

    @staticmethod
    def _declares_ports(pod: dict) -> bool:
        return any(c.get("ports") for c in spec_of(pod).get("containers") or ())

    @staticmethod
    def _listener(pod: dict, port: int | None) -> str | None:
        for c in spec_of(pod).get("containers") or ():
            for p in c.get("ports") or ():
                if port is None or p.get("containerPort") == port:
                    return c.get("name")
        return None

    @staticmethod
    def _first_container(pod: dict) -> str:
        containers = spec_of(pod).get("containers") or [{}]
        return containers[0].get("name", "?")

    def _endpoint_problem(self, ep: Endpoint) -> tuple[str, str] | None:
        pod = self.store.find("pods", ep.namespace, ep.pod)
        if pod is None:
            return liveness.REFUSED, "gone"
        return liveness.pod_problem(self.store, self.kubelets, pod)

    def _leaves(self, node: str) -> str:
        """How the packet leaves the sender: the source pod's eth0 and veth, or (NodePort) the node."""
        if node == self.src_node and not any(h["kind"] == "node-port" for h in self.hops):
            return f"eth0 of {self.src_key[1]} → {_veth(self.src)}"
        return f"{node} (after DNAT)"

    def _pod_cidr(self, node: str) -> str:
        obj = self.store.find("nodes", "", node)
        return spec_of(obj).get("podCIDR", "")

    def _bridge_ip(self, node: str) -> str:
        cidr = self._pod_cidr(node)
        return cidr.rsplit(".", 1)[0] + ".1" if cidr else ""


def _veth(pod: dict) -> str:
    """The host end of the pod's veth pair; the bridge CNI plugin names it veth + 8 hex characters."""
    meta = pod["metadata"]
    seed = meta.get("uid") or f"{meta.get('namespace')}/{meta['name']}"
    return "veth" + hashlib.sha256(seed.encode()).hexdigest()[:8]


def trace(network: Any, source_pod: tuple[str, str], target: str) -> dict:
    """Trace a connection from ``source_pod`` (namespace, name) to ``target`` through ``network``.

    ``network`` is the cluster's ``Network``: its store, proxy view, kubelets and trace rng.

    ``target``: a pod or Service IP (``ip[:port]``), ``localhost[:port]``, a Service name (``web``,
    ``web.default``, ``web.default.svc.cluster.local``), a pod behind a headless Service
    (``sql-0.sql.default.svc.cluster.local``), or ``<nodeName>:<nodePort>``.
    """
    tracer = _Tracer(network)
    try:
        return tracer.run(tuple(source_pod), str(target))
    except TraceFailed as failed:
        return tracer.result(False, failed.reason, failed.code)
