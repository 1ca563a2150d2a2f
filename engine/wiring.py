"""Which components run in a cluster, and in what order they are started."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .admission import PLUGINS
from .controllers.daemonset import DaemonSetController
from .controllers.deployment import DeploymentController
from .controllers.garbage_collector import GarbageCollector
from .controllers.namespace import NamespaceController
from .controllers.node_lifecycle import NodeLifecycleController
from .controllers.replicaset import ReplicaSetController
from .kubelet import KubeletManager
from .scheduler.scheduler import Scheduler

if TYPE_CHECKING:
    from .cluster import Cluster


def wire(cluster: "Cluster") -> None:
    api, clock = cluster.api, cluster.clock
    api.admission.extend(PLUGINS)
    for controller in (GarbageCollector(api, clock), NamespaceController(api, clock),
                       ReplicaSetController(api, clock), DeploymentController(api, clock),
                       DaemonSetController(api, clock), NodeLifecycleController(api, clock, cluster.profile)):
        cluster.controllers[controller.name] = controller
    cluster.scheduler = Scheduler(api, clock, cluster.profile.values())
    cluster.kubelet_manager = KubeletManager(api, clock, cluster.profile)
    cluster.kubelets = cluster.kubelet_manager.kubelets
