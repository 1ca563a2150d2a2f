"""Which components run in a cluster, and in what order they are started."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .apiserver.admission import PLUGINS
from .controllers.daemonset import DaemonSetController
from .controllers.deployment import DeploymentController
from .controllers.garbage_collector import GarbageCollector
from .controllers.namespace import NamespaceController
from .controllers.node_lifecycle import NodeLifecycleController
from .controllers.replicaset import ReplicaSetController
from .controllers.statefulset import StatefulSetController
from .controllers.volume_binding import AttachDetachController, PersistentVolumeController
from .controllers.volume_data import StorageDataWriter
from .kubelet.kubelet import KubeletManager
from .network import install as install_network
from .scheduler.scheduler import Scheduler

if TYPE_CHECKING:
    from .cluster import Cluster


def wire(cluster: "Cluster") -> None:
    api, clock = cluster.api, cluster.clock
    api.admission.extend(PLUGINS)
    for controller in (GarbageCollector(api, clock), NamespaceController(api, clock),
                       ReplicaSetController(api, clock), DeploymentController(api, clock),
                       DaemonSetController(api, clock), NodeLifecycleController(api, clock, cluster.profile),
                       StatefulSetController(api, clock), PersistentVolumeController(api, clock),
                       AttachDetachController(api, clock), StorageDataWriter(api, clock)):
        cluster.controllers[controller.name] = controller
    cluster.scheduler = Scheduler(api, clock, cluster.profile.values())
    cluster.kubelet_manager = KubeletManager(api, clock, cluster.profile)
    cluster.kubelets = cluster.kubelet_manager.kubelets
    # Services: ClusterIP/NodePort admission, EndpointSlice + Endpoints + service-LB controllers,
    # kube-proxy's view and live traffic (sets cluster.network).
    install_network(cluster)
    # Faults as API objects (chaos.kubedrill.io); kept outside cluster.controllers so that stopping
    # the controller manager does not stop what must restart it.
    from .chaos import install as install_chaos
    install_chaos(cluster)
