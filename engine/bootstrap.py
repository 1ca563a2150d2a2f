"""The cluster a user starts with: a control plane, workers, system pods and the demo workloads."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cluster import Cluster


def bootstrap_cluster(cluster: "Cluster", workers: int = 3, demo: bool = True) -> None:
    """Nothing beyond the system namespaces until the kubelets land."""


def resume_kubelets(cluster: "Cluster") -> None:
    """Rebuild node agents after a restart."""
