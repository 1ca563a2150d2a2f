"""kube-proxy's iptables rules on one node, as ``iptables-save -t nat`` would list them there.

Built from what kube-proxy has programmed (``ProxyView``, which lags the API by up to one sync
period), never from the API objects' latest state: the rules change when the proxy syncs, as on a
real node. Per Service port, in the ``nat`` table:

* ``KUBE-SERVICES`` matches ``ClusterIP:port`` (and LoadBalancer ingress IPs) and jumps to
  ``KUBE-SVC-<hash>``; its last rule sends node-local destinations to ``KUBE-NODEPORTS``;
* ``KUBE-SVC-<hash>`` holds one rule per usable endpoint: rule ``i`` of ``n`` matches with
  ``--mode random --probability 1/(n-i)``, the last one always, so every endpoint gets ``1/n`` of
  new connections; ``sessionAffinity: ClientIP`` adds ``recent --rcheck`` rules before them;
* ``KUBE-SEP-<hash>`` DNATs to ``podIP:targetPort``;
* ``KUBE-NODEPORTS`` matches the nodePort and jumps to ``KUBE-EXT-<hash>``, which goes on to
  ``KUBE-SVC`` or, with ``externalTrafficPolicy: Local``, to ``KUBE-SVL-<hash>`` (this node's
  endpoints only).

A Service port with no endpoints gets a ``REJECT`` in the ``filter`` table instead. Not modelled:
``internalTrafficPolicy`` (the tracer ignores it too), externalIPs, topology hints.
The cost is one pass over the asked-for Services' programmed endpoints, never over the cluster.
"""
from __future__ import annotations

import base64
import hashlib
import math
from typing import Any, Iterable

from ..objects import spec_of, status_of
from . import liveness
from .proxy import Endpoint, ServiceKey

# kube-proxy's --cluster-cidr: traffic from outside it to a ClusterIP is masqueraded.
CLUSTER_CIDR = "10.244.0.0/16"
SERVICES, NODEPORTS, EXTERNAL = "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES"
MARK_MASQ = "KUBE-MARK-MASQ"
NODEPORTS_COMMENT = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"


# ------------------------------------------------------------------ names, as upstream computes them
# kubernetes pkg/proxy/iptables/proxier.go: portProtoHash / servicePortChainName (KUBE-SVC-),
# servicePortPolicyLocalChainName (KUBE-SVL-), serviceExternalChainName (KUBE-EXT-) hash
# ServicePortName.String() + lower-case protocol; servicePortEndpointChainName (KUBE-SEP-) appends
# the endpoint "ip:port". The hash is base32(sha256(...)), first 16 characters (chain names must
# stay within iptables' 28).
def service_port_name(key: ServiceKey, port_name: str) -> str:
    """``ns/name`` or ``ns/name:port`` (proxy.ServicePortName.String())."""
    return f"{key[0]}/{key[1]}" + (f":{port_name}" if port_name else "")


def port_proto_hash(svc_port_name: str, protocol: str, endpoint: str = "") -> str:
    digest = hashlib.sha256((svc_port_name + protocol.lower() + endpoint).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def svc_chain(svc_port_name: str, protocol: str) -> str:
    return "KUBE-SVC-" + port_proto_hash(svc_port_name, protocol)


def svl_chain(svc_port_name: str, protocol: str) -> str:
    return "KUBE-SVL-" + port_proto_hash(svc_port_name, protocol)


def ext_chain(svc_port_name: str, protocol: str) -> str:
    return "KUBE-EXT-" + port_proto_hash(svc_port_name, protocol)


def sep_chain(svc_port_name: str, protocol: str, endpoint: str) -> str:
    return "KUBE-SEP-" + port_proto_hash(svc_port_name, protocol, endpoint)


def probability(remaining: int) -> str:
    """kube-proxy's computeProbability: ``1/remaining`` with ten decimals."""
    return f"{1.0 / remaining:0.10f}"


def saved_probability(text: str) -> str:
    """How iptables-save prints it back: the kernel keeps ``lround(p * 2^31)``, shown with 11 decimals."""
    stored = math.floor(float(text) * 0x80000000 + 0.5)
    return f"{stored / 0x80000000:.11f}"


def target_port(ep: Endpoint, sport: dict) -> int:
    """The port kube-proxy DNATs to: the EndpointSlice's port of that name, else the Service's targetPort."""
    number = ep.port_for(sport.get("name") or "")
    if number is not None:
        return number
    tp = sport.get("targetPort", sport.get("port"))
    return tp if isinstance(tp, int) else int(sport.get("port") or 0)


# ------------------------------------------------------------------ rules
class _Tables:
    """Chains in the order first written, each a list of rules, for the JSON and the text."""

    def __init__(self) -> None:
        self.nat: dict[str, list[dict]] = {SERVICES: [], NODEPORTS: []}
        self.filter: dict[str, list[dict]] = {}

    def add(self, table: dict[str, list[dict]], chain: str, args: str, target: str, **extra: Any) -> dict:
        rule = {"chain": chain, "target": target, "text": f"-A {chain} {args}-j {target}"}
        rule.update(extra)
        table.setdefault(chain, []).append(rule)
        return rule


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}" '


class _Builder:
    def __init__(self, net: Any, node: str):
        self.net = net
        self.proxy = net.proxy
        self.node = node
        self.tables = _Tables()
        self.ports: list[dict] = []

    def service(self, key: ServiceKey) -> None:
        svc = self.proxy.services.get(key)
        if svc is None:
            return
        spec = spec_of(svc)
        vip = spec.get("clusterIP") or ""
        if not vip or vip == "None" or spec.get("type") == "ExternalName":
            return   # headless and ExternalName Services are DNS only: kube-proxy writes nothing
        lb_ips = [i.get("ip") for i in (status_of(svc).get("loadBalancer") or {}).get("ingress") or () if i.get("ip")]
        endpoints = self.proxy.endpoints(key)
        for sport in spec.get("ports") or ():
            self.service_port(key, spec, vip, lb_ips, sport, endpoints)

    def service_port(self, key: ServiceKey, spec: dict, vip: str, lb_ips: list[str], sport: dict,
                     endpoints: tuple[Endpoint, ...]) -> None:
        t = self.tables
        name = service_port_name(key, sport.get("name") or "")
        proto = (sport.get("protocol") or "TCP").lower()
        port, node_port = sport.get("port"), sport.get("nodePort")
        match = f"-d {vip}/32 -p {proto} {_comment(name + ' cluster IP')}-m {proto} --dport {port} "
        entry: dict[str, Any] = {
            "service": f"{key[0]}/{key[1]}", "servicePortName": name, "protocol": proto.upper(),
            "clusterIP": vip, "port": port, "nodePort": node_port, "chain": None, "localChain": None,
            "externalChain": None, "endpoints": [], "rejected": None,
            "externalTrafficPolicy": spec.get("externalTrafficPolicy") or "Cluster",
            "syncedAt": getattr(self.proxy.rules.get(key), "synced_at", None)}
        self.ports.append(entry)
        if not endpoints:
            why = f"{name} has no endpoints"
            entry["rejected"] = why
            t.add(t.filter, SERVICES, match.replace(name + " cluster IP", why), "REJECT --reject-with icmp-port-unreachable")
            if node_port:
                t.add(t.filter, EXTERNAL, f"-p {proto} {_comment(why)}-m addrtype --dst-type LOCAL -m {proto} "
                                          f"--dport {node_port} ", "REJECT --reject-with icmp-port-unreachable")
            return
        chain = svc_chain(name, proto)
        entry["chain"] = chain
        t.add(t.nat, SERVICES, match, chain, match_ip=vip, match_port=port)
        external = bool(node_port or lb_ips)
        if external:
            ext = ext_chain(name, proto)
            entry["externalChain"] = ext
            for ip in lb_ips:
                t.add(t.nat, SERVICES, f"-d {ip}/32 -p {proto} {_comment(name + ' loadbalancer IP')}-m {proto} "
                                       f"--dport {port} ", ext, match_ip=ip, match_port=port)
            if node_port:
                t.add(t.nat, NODEPORTS, f"-p {proto} {_comment(name)}-m {proto} --dport {node_port} ", ext,
                      match_port=node_port)
        t.add(t.nat, chain, f"! -s {CLUSTER_CIDR} {match}", MARK_MASQ)
        entry["endpoints"] = self.balance(chain, name, proto, key, sport, endpoints)
        if external:
            self.external(entry, name, proto, key, sport, endpoints)

    def balance(self, chain: str, name: str, proto: str, key: ServiceKey, sport: dict,
                endpoints: tuple[Endpoint, ...]) -> list[dict]:
        """writeServiceToEndpointRules: affinity checks first, then one random-probability rule per endpoint."""
        t = self.tables
        affinity = self.proxy.affinity_timeout(key)
        rows = []
        for ep in endpoints:
            dest = f"{ep.ip}:{target_port(ep, sport)}"
            rows.append((ep, dest, sep_chain(name, proto, dest)))
        if affinity is not None:
            for ep, dest, sep in rows:
                t.add(t.nat, chain, f"{_comment(f'{name} -> {dest}')}-m recent --rcheck --seconds {int(affinity)} "
                                    f"--reap --name {sep} --mask 255.255.255.255 --rsource ", sep)
        out = []
        n = len(rows)
        for i, (ep, dest, sep) in enumerate(rows):
            p = probability(n - i) if i < n - 1 else None
            stat = f"-m statistic --mode random --probability {saved_probability(p)} " if p else ""
            t.add(t.nat, chain, f"{_comment(f'{name} -> {dest}')}{stat}", sep, probability=p)
            out.append({"chain": sep, "ip": ep.ip, "port": int(dest.rsplit(':', 1)[1]), "destination": dest,
                        "pod": f"{ep.namespace}/{ep.pod}" if ep.pod else None, "node": ep.node or None,
                        "probability": p, "share": 1.0 / n, "rule": i + 1, "ready": ep.ready,
                        "terminating": ep.terminating})
            self.endpoint_chain(sep, name, proto, ep, dest, affinity is not None)
        return out

    def endpoint_chain(self, sep: str, name: str, proto: str, ep: Endpoint, dest: str, sticky: bool) -> None:
        t = self.tables
        if sep in t.nat:
            return   # one KUBE-SEP chain per endpoint, even when the Cluster and Local chains both use it
        t.add(t.nat, sep, f"-s {ep.ip}/32 {_comment(name)}", MARK_MASQ)
        recent = f"-m recent --set --name {sep} --mask 255.255.255.255 --rsource " if sticky else ""
        t.add(t.nat, sep, f"-p {proto} {_comment(name)}{recent}-m {proto} ", f"DNAT --to-destination {dest}",
              destination=dest)

    def external(self, entry: dict, name: str, proto: str, key: ServiceKey, sport: dict,
                 endpoints: tuple[Endpoint, ...]) -> None:
        t = self.tables
        ext, chain = entry["externalChain"], entry["chain"]
        if entry["externalTrafficPolicy"] != "Local":
            t.add(t.nat, ext, _comment(f"masquerade traffic for {name} external destinations"), MARK_MASQ)
            t.add(t.nat, ext, "", chain)
            return
        # Local: the client's source IP is kept, so only this node's endpoints may answer; traffic
        # from pods and from the node itself is short-circuited to the Cluster chain.
        t.add(t.nat, ext, f"-s {CLUSTER_CIDR} {_comment(f'pod traffic for {name} external destinations')}", chain)
        t.add(t.nat, ext, f"{_comment(f'masquerade LOCAL traffic for {name} external destinations')}"
                          "-m addrtype --src-type LOCAL ", MARK_MASQ)
        t.add(t.nat, ext, f"{_comment(f'route LOCAL traffic for {name} external destinations')}"
                          "-m addrtype --src-type LOCAL ", chain)
        local = tuple(ep for ep in endpoints if ep.node == self.node)
        if not local:
            why = f"{name} has no local endpoints"
            entry["localRejected"] = why
            if entry["nodePort"]:
                t.add(t.filter, EXTERNAL, f"-p {proto} {_comment(why)}-m addrtype --dst-type LOCAL -m {proto} "
                                          f"--dport {entry['nodePort']} ", "DROP")
            return
        svl = svl_chain(name, proto)
        entry["localChain"] = svl
        entry["localEndpoints"] = self.balance(svl, name, proto, key, sport, local)
        t.add(t.nat, ext, "", svl)


def render(node: str, nat: dict[str, list[dict]], filter_: dict[str, list[dict]], synced_at: float) -> str:
    """The ``iptables-save`` text of these chains (nat, then filter)."""
    lines = [f"# kube-proxy rules on {node}, as last synced at t={synced_at:.1f}s (simulated)"]
    for table, chains in (("nat", nat), ("filter", filter_)):
        if not any(chains.values()) and table == "filter":
            continue
        lines.append(f"*{table}")
        lines += [f":{name} - [0:0]" for name in chains]
        lines += [rule["text"] for rules in chains.values() for rule in rules]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def node_rules(net: Any, node: str, services: Iterable[ServiceKey] | None = None) -> dict[str, Any]:
    """The rules kube-proxy holds on ``node`` for ``services`` (every proxied Service when None).

    ``net`` is the cluster's ``Network``. Returns ``{"node", "syncedAt", "problem", "services": [one
    entry per Service port], "chains": {"nat": {chain: [rules]}, "filter": {...}}, "text"}``.
    """
    proxy = net.proxy
    builder = _Builder(net, node)
    keys = sorted(proxy.services) if services is None else list(services)
    for key in keys:
        builder.service(tuple(key))
    t = builder.tables
    t.add(t.nat, SERVICES, f"{_comment(NODEPORTS_COMMENT)}-m addrtype --dst-type LOCAL ", NODEPORTS)
    synced = proxy.last_sync if proxy.last_sync > -1e17 else 0.0
    problem = liveness.node_problem(net.store, net.kubelets, node)
    return {"node": node, "syncedAt": synced, "problem": problem, "services": builder.ports,
            "chains": {"nat": t.nat, "filter": t.filter}, "text": render(node, t.nat, t.filter, synced)}
