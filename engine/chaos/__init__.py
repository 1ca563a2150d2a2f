"""Chaos engineering for the simulated cluster: faults as API objects (``chaos.kubedrill.io/v1``).

``install(cluster)`` is the one wiring call: it registers the kinds, adds their defaulting and
validation to the API server's admission chain, and starts the chaos controller as
``cluster.chaos`` (kept out of ``cluster.controllers`` so stopping the controller manager with a
ControlPlaneChaos does not stop the controller that must restart it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .kinds import API_VERSION, GROUP, KINDS, make_admission, register_kinds

if TYPE_CHECKING:
    from ..cluster import Cluster
    from .controller import ChaosController

register_kinds()


def install(cluster: "Cluster") -> "ChaosController":
    """Wire chaos into ``cluster``: kinds, admission plugin, controller (``cluster.chaos``)."""
    from .components import controller_names
    from .controller import ChaosController

    register_kinds()
    cluster.api.admission.append(make_admission(lambda: controller_names(cluster)))
    controller = ChaosController(cluster)
    cluster.chaos = controller
    return controller


__all__ = ["API_VERSION", "GROUP", "KINDS", "install"]
