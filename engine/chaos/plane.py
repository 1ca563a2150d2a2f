"""What chaos may act on: a narrow view of one cluster, built by the composition root (``engine.cluster``).

Chaos never sees the whole cluster: it gets the API server, clock and store, the components it may
stop by name, the kubelets (node and pod faults), the traffic model (NetworkChaos), and keeps its own
bookkeeping here (how many faults hold each component down, what an etcd loss stopped).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from ..apiserver.server import APIServer
from ..clock import Clock
from ..etcd.store import Store


class Stoppable(Protocol):
    """A component a fault can stop and start again (its work queue keeps the keys meanwhile)."""

    def stop(self) -> None: ...

    def start(self) -> None: ...


class Traffic(Protocol):
    """The traffic model's NetworkChaos hook."""

    def set_fault(self, key: Any, latency_ms: float = 0.0, error_rate: float = 0.0) -> None: ...


@dataclass
class ControlPlane:
    """The parts of a cluster chaos may touch, and chaos's own state about them."""

    api: APIServer
    clock: Clock
    store: Store
    scheduler: Stoppable
    kubelet_queue: Stoppable                 # the kubelets' shared work queue ("kubelets")
    controllers: Mapping[str, Stoppable]     # the controller manager, live: name -> controller
    kubelets: Mapping[str, Any]              # node name -> kubelet, live
    traffic: Traffic | None = None
    chaos: Stoppable | None = None           # the chaos controller itself, set once it is built
    holds: dict[str, int] = field(default_factory=dict)   # component name -> faults holding it down
    etcd_outage: list[str] | None = None     # the holds an etcd loss took, released by a restore
