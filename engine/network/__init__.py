"""The cluster network: Service IP/port allocation, kube-proxy's view, packet traces and live traffic.

``Network`` holds these parts for one cluster; the composition root (``engine.cluster``) builds it,
adds ``allocator.admit`` to the admission chain and runs the EndpointSlice, Endpoints and service-LB
controllers beside it (they are controllers, not part of this package).
Pod IPs are not here: the kubelet allocates them from its node's ``podCIDR`` (engine/kubelet/ipam.py).
"""
from __future__ import annotations

import random
from typing import Any, Mapping

from ..apiserver.audit import service_account
from ..apiserver.server import APIServer
from ..clock import Clock
from .allocation import NODE_PORT_RANGE, SERVICE_CIDR, ServiceAllocator
from .proxy import ProxyView
from .trace import trace
from .traffic import TRAFFIC_RPS, TRAFFIC_STATUS, TrafficSimulator, service_key

__all__ = ["Network", "trace", "SERVICE_CIDR", "NODE_PORT_RANGE", "TRAFFIC_RPS", "TRAFFIC_STATUS"]


class Network:
    """Facade over the network parts of one cluster (``cluster.network``)."""

    def __init__(self, api: APIServer, clock: Clock, kubelets: Mapping[str, Any], seed: int = 0):
        """``kubelets`` (node name -> kubelet, kept live) says what really answers on the wire."""
        self.store = api.store
        self.kubelets = kubelets
        # Own random streams derived from the cluster seed (not drawn from clock.rng): wiring the
        # network, allocating IPs or running traffic never shifts other components' draws (pod names…).
        self.allocator = ServiceAllocator(api.store, random.Random(f"{seed}/service-ips"))
        self.proxy = ProxyView(api.store, clock)
        self.rng = random.Random(f"{seed}/trace")
        # The load generator's annotations are the simulation's, not a Kubernetes component's: its own account.
        self.traffic = TrafficSimulator(api.as_user(service_account("kubedrill-traffic")), clock, self.proxy, kubelets, random.Random(f"{seed}/traffic"))

    def resync(self) -> None:
        """Rebuild allocations, proxy rules and loads from the store (startup, restore)."""
        self.allocator.resync()
        self.proxy.resync()
        self.traffic.resync()

    # ------------------------------------------------------------------ conveniences
    def trace(self, source_pod: tuple[str, str], target: str) -> dict:
        return trace(self, source_pod, target)

    def traffic_stats(self, key: Any) -> dict:
        return self.traffic.traffic_stats(key)

    def traffic_series(self, key: Any, since: float | None = None) -> list[dict]:
        return self.traffic.traffic_series(key, since)

    def set_load(self, key: Any, rps: float) -> dict:
        return self.traffic.set_load(key, rps)

    def set_fault(self, key: Any, latency_ms: float = 0.0, error_rate: float = 0.0) -> None:
        self.traffic.set_fault(key, latency_ms, error_rate)

    def proxy_rules(self, key: Any) -> dict:
        return self.proxy.describe(service_key(key))

