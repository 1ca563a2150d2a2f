"""The in-tree plugin registry and the default profile (upstream ``plugins/registry.go``, ``default_plugins.go``).

Adding a plugin is one module exporting ``PLUGIN`` (a ``types.Plugin``) plus one entry here. The
registry order is the order the framework runs the extension points in: upstream's default order,
except that NodeName runs before NodeUnschedulable, which only changes the reason reported for a
cordoned node that a pod with ``spec.nodeName`` does not name (this simulation always did so).
ImageLocality is not simulated.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from ..types import Plugin
from . import (balanced_allocation, inter_pod_affinity, node_affinity, node_name, node_ports, node_resources_fit,
               node_unschedulable, pod_topology_spread, resource_allocation, taint_toleration, volume_binding)

IN_TREE_REGISTRY: dict[str, Plugin] = {p.name: p for p in (
    node_name.PLUGIN,
    node_unschedulable.PLUGIN,
    taint_toleration.PLUGIN,
    node_affinity.PLUGIN,
    node_ports.PLUGIN,
    node_resources_fit.PLUGIN,
    volume_binding.PLUGIN,
    pod_topology_spread.PLUGIN,
    inter_pod_affinity.PLUGIN,
    balanced_allocation.PLUGIN,
)}

# Score plugins computed together in one pass over the nodes when all of them are enabled: the
# function takes the pod, the nodes, each member's weight (0: skipped by its PreScore) and a base
# added to every node, and returns the weighted sum. Members have no NormalizeScore.
FUSED_SCORES: dict[tuple[str, ...], Callable[..., list[int]]] = {
    (node_resources_fit.NAME, balanced_allocation.NAME): resource_allocation.resource_scores,
}


class Profile:
    """A scheduling profile: the enabled plugins in run order and each score plugin's weight."""

    __slots__ = ("scheduler_name", "plugins", "weights")

    def __init__(self, scheduler_name: str, plugins: Iterable[Plugin], weights: Mapping[str, int]):
        self.scheduler_name = scheduler_name
        self.plugins = tuple(plugins)
        self.weights = dict(weights)


def default_profile(scheduler_name: str = "default-scheduler",
                    registry: Mapping[str, Plugin] = IN_TREE_REGISTRY) -> Profile:
    """Every registered plugin, in registry order, with its default weight."""
    return Profile(scheduler_name, registry.values(), {name: p.weight for name, p in registry.items() if p.weight})
