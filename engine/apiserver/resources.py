"""The kinds the cluster serves: group, version, plural, scope, short names, subresources.

One table read by the API server (routing manifests to resources), by discovery (`kubectl api-resources`)
and by the dashboard. Short names and categories match the real apiserver.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceType:
    kind: str
    plural: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """``deployments.apps``: how errors name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_ALL = ("all",)

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("Namespace", "namespaces", "", "v1", False, ("ns",), (), ("status", "finalize")),
    ResourceType("Node", "nodes", "", "v1", False, ("no",), (), ("status", "proxy")),
    ResourceType("Pod", "pods", "", "v1", True, ("po",), _ALL,
                 ("status", "log", "eviction", "binding", "exec", "ephemeralcontainers", "resize")),
    ResourceType("Service", "services", "", "v1", True, ("svc",), _ALL, ("status", "proxy")),
    ResourceType("Endpoints", "endpoints", "", "v1", True, ("ep",)),
    ResourceType("PersistentVolume", "persistentvolumes", "", "v1", False, ("pv",), (), ("status",)),
    ResourceType("PersistentVolumeClaim", "persistentvolumeclaims", "", "v1", True, ("pvc",), (), ("status",)),
    ResourceType("ConfigMap", "configmaps", "", "v1", True, ("cm",)),
    ResourceType("Secret", "secrets", "", "v1", True),
    ResourceType("Event", "events", "", "v1", True, ("ev",)),
    ResourceType("ServiceAccount", "serviceaccounts", "", "v1", True, ("sa",)),
    ResourceType("ReplicaSet", "replicasets", "apps", "v1", True, ("rs",), _ALL, ("status", "scale")),
    ResourceType("Deployment", "deployments", "apps", "v1", True, ("deploy",), _ALL, ("status", "scale")),
    ResourceType("StatefulSet", "statefulsets", "apps", "v1", True, ("sts",), _ALL, ("status", "scale")),
    ResourceType("DaemonSet", "daemonsets", "apps", "v1", True, ("ds",), _ALL, ("status",)),
    ResourceType("ControllerRevision", "controllerrevisions", "apps", "v1", True),
    ResourceType("EndpointSlice", "endpointslices", "discovery.k8s.io", "v1", True),
    ResourceType("StorageClass", "storageclasses", "storage.k8s.io", "v1", False, ("sc",)),
    ResourceType("Lease", "leases", "coordination.k8s.io", "v1", True),
    ResourceType("PodDisruptionBudget", "poddisruptionbudgets", "policy", "v1", True, ("pdb",), (), ("status",)),
)

_BY_KIND: dict[tuple[str, str], ResourceType] = {(r.api_version, r.kind): r for r in RESOURCES}
_BY_PLURAL: dict[str, ResourceType] = {r.plural: r for r in RESOURCES}
_KIND_ONLY: dict[str, ResourceType] = {r.kind: r for r in RESOURCES}


def register(rt: ResourceType) -> None:
    """Add a kind (e.g. the chaos kinds) to the table."""
    global RESOURCES
    RESOURCES = RESOURCES + (rt,)
    _BY_KIND[(rt.api_version, rt.kind)] = rt
    _BY_PLURAL[rt.plural] = rt
    _KIND_ONLY[rt.kind] = rt


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    return _BY_KIND.get((api_version, kind))


def by_kind_name(kind: str) -> ResourceType | None:
    return _KIND_ONLY.get(kind)


def find_plural(plural: str) -> ResourceType | None:
    return _BY_PLURAL.get(plural)


def groups() -> dict[str, list[ResourceType]]:
    """``group/version`` → its resources (``v1`` for the core group), in table order."""
    out: dict[str, list[ResourceType]] = {}
    for r in RESOURCES:
        out.setdefault(r.api_version, []).append(r)
    return out
