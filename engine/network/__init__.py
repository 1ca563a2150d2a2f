"""The cluster network: Service IP/port allocation, kube-proxy's view, packet traces and live traffic.

``install(cluster)`` wires everything into a cluster (admission plugin, the EndpointSlice, Endpoints
and service-LB controllers, the proxy view and the traffic simulator) and sets ``cluster.network``.
Pod IPs are not here: the kubelet allocates them from its node's ``podCIDR`` (engine/kubelet/ipam.py).
"""
from __future__ import annotations

import random
from typing import Any

from .allocation import NODE_PORT_RANGE, SERVICE_CIDR, ServiceAllocator
from .proxy import ProxyView
from .trace import trace
from .traffic import TRAFFIC_RPS, TRAFFIC_STATUS, TrafficSimulator, service_key

__all__ = ["Network", "install", "trace", "SERVICE_CIDR", "NODE_PORT_RANGE", "TRAFFIC_RPS", "TRAFFIC_STATUS"]


class Network:
    """Facade over the network parts of one cluster (``cluster.network``)."""

    def __init__(self, cluster: Any):
        self.cluster = cluster
        api, clock = cluster.api, cluster.clock
        # Own random streams derived from the cluster seed (not drawn from clock.rng): wiring the
        # network, allocating IPs or running traffic never shifts other components' draws (pod names…).
        seed = getattr(cluster, "seed", 0)
        self.allocator = ServiceAllocator(api.store, random.Random(f"{seed}/service-ips"))
        self.proxy = ProxyView(api.store, clock)
        self.rng = random.Random(f"{seed}/trace")
        self.traffic = TrafficSimulator(api, clock, self.proxy, cluster, random.Random(f"{seed}/traffic"))

    def resync(self) -> None:
        """Rebuild allocations, proxy rules and loads from the store (startup, restore)."""
        self.allocator.resync()
        self.proxy.resync()
        self.traffic.resync()

    # ------------------------------------------------------------------ conveniences
    def trace(self, source_pod: tuple[str, str], target: str) -> dict:
        return trace(self.cluster, source_pod, target)

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


def install(cluster: Any) -> Network:
    """Wire Service networking into ``cluster``: admission, controllers, proxy view and traffic."""
    from ..controllers.endpointslice import EndpointsController, EndpointSliceController, ServiceSelectorIndex
    from ..controllers.service_lb import ServiceLBController

    existing = getattr(cluster, "network", None)
    if isinstance(existing, Network):
        return existing
    network = Network(cluster)
    cluster.network = network
    api, clock = cluster.api, cluster.clock
    api.admission.append(network.allocator.admit)
    index = ServiceSelectorIndex(api.store)
    network.service_index = index
    for controller in (EndpointSliceController(api, clock, index), EndpointsController(api, clock, index),
                       ServiceLBController(api, clock)):
        cluster.controllers[controller.name] = controller
    index.resync()
    network.resync()
    return network
