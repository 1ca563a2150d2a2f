"""Chaos engineering for the simulated cluster: faults as API objects (``chaos.kubedrill.io/v1``).

The composition root wires it: it builds a ``ControlPlane`` (the narrow view of what faults may
touch), adds ``admission(plane)`` to the API server's admission chain and runs a ``ChaosController``
beside the controller manager, not in it, so stopping the controller manager with a
ControlPlaneChaos does not stop the controller that must restart it.
"""
from __future__ import annotations

from typing import Callable

from .components import controller_names, end_etcd_outage
from .controller import ChaosController
from .kinds import API_VERSION, GROUP, KINDS, make_admission, register_kinds
from .plane import ControlPlane

register_kinds()


def admission(plane: ControlPlane) -> Callable:
    """Return the admission plugin defaulting and validating chaos objects (it checks controller names)."""
    register_kinds()
    return make_admission(lambda: controller_names(plane))


__all__ = ["API_VERSION", "GROUP", "KINDS", "ChaosController", "ControlPlane", "admission", "end_etcd_outage"]
