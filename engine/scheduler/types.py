"""Scheduler data: per-pod precomputed facts (PodInfo), per-node accounting (NodeInfo), Status.

Like upstream ``framework.PodInfo``/``NodeInfo``: everything a plugin needs is computed once per pod
(requests, ports, parsed affinity terms, tolerations) so the per-node filter and score loops stay
cheap. A NodeInfo is updated incrementally (``add_pod``/``remove_pod``/``set_node``): O(1) per event.

``Plugin`` is what a plugin module hands the registry (``framework/interface.go``): its extension
points with one signature each, its default score weight and the cluster events that may cure a
rejection it made.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..objects import meta_of, spec_of, status_of
from ..quantity import cpu_millis, memory_bytes
from ..selectors import LabelSelector, Requirement

MAX_NODE_SCORE = 100
DEFAULT_MILLI_CPU_REQUEST = 100                 # 0.1 core, scoring only (schedutil.DefaultMilliCPURequest)
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024      # 200 MiB, scoring only (schedutil.DefaultMemoryRequest)

# Status codes (framework.Code); preemption treats them differently.
UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"
SKIP_CODE = "Skip"

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"

# Cluster events a plugin registers for (``EventsToRegister``): a pod it rejected is moved back to
# the active queue only on one of these.
NODE_ADD = "Node/Add"
NODE_UNCORDON = "Node/UpdateNodeUnschedulable"      # spec.unschedulable true -> false
NODE_TAINT = "Node/UpdateNodeTaint"
NODE_LABEL = "Node/UpdateNodeLabel"
NODE_ALLOCATABLE = "Node/UpdateNodeAllocatable"
POD_ADD = "AssignedPod/Add"
POD_DELETE = "AssignedPod/Delete"                   # deleted, finished, or changed (resources freed)
POD_LABEL = "AssignedPod/UpdatePodLabel"
VOLUME_CHANGE = "PersistentVolume/Change"            # claims, volumes or storage classes added or updated
NAMESPACE_LABEL = "Namespace/UpdateNamespaceLabel"


class Status:
    """A plugin's verdict on one node: a code, the reasons shown in the FitError, and the plugin."""

    __slots__ = ("code", "reasons", "plugin")

    def __init__(self, code: str, reasons: tuple[str, ...] | str, plugin: str = ""):
        self.code = code
        self.reasons = (reasons,) if isinstance(reasons, str) else tuple(reasons)
        self.plugin = plugin

    def __repr__(self) -> str:
        return f"Status({self.code!r}, {self.reasons!r}, {self.plugin!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Status) and (self.code, self.reasons, self.plugin)
                == (other.code, other.reasons, other.plugin))

    def __hash__(self) -> int:
        return hash((self.code, self.reasons, self.plugin))


# From PreFilter: skip this plugin's Filter for the pod; from PreScore: skip its Score.
SKIP = Status(SKIP_CODE, ())


class CycleState:
    """What PreFilter computed for one pod, read by Filter (``framework.CycleState``).

    ``data`` holds each plugin's PreFilter state by plugin name; ``node_names`` is the merged
    PreFilterResult (None: every node), ``narrowed_by`` the plugins that set it; ``room`` is set by
    NodeResourcesFit to the pod's (cpu, memory) when its Filter reduces to a room check, which the
    framework then runs inline.
    """

    __slots__ = ("node_names", "narrowed_by", "data", "room", "chain", "restricted_chain")

    def __init__(self) -> None:
        self.node_names: set[str] | None = None
        self.narrowed_by: list[str] = []
        self.data: dict[str, Any] = {}
        self.room: tuple[int, int] | None = None
        self.chain: list[tuple[Callable, Any]] = []              # filters for nodes neither cordoned nor tainted
        self.restricted_chain: list[tuple[Callable, Any]] = []   # filters for cordoned or hard-tainted nodes


def keep_pre_filter_state(name: str, compute: Callable[[PodInfo, Any], Any]) -> Callable[..., Status | None]:
    """Make a PreFilter hook that stores ``compute(pi, snapshot)`` under ``name``, or SKIPs when it is None."""
    def pre_filter(pi: PodInfo, snapshot: Any, cycle: CycleState) -> Status | None:
        state = compute(pi, snapshot)
        if state is None:
            return SKIP
        cycle.data[name] = state
        return None
    return pre_filter


PreFilter = Callable[["PodInfo", Any, CycleState], "Status | None"]
Filter = Callable[["PodInfo", "NodeInfo", Any], "Status | None"]
PreScore = Callable[["PodInfo", Any, list], Any]
Score = Callable[["PodInfo", "NodeInfo", Any], int]
Normalize = Callable[[list, list, Any], list]


class Plugin:
    """One plugin's extension points and defaults, as registered (``framework.Plugin`` + registry entry).

    * ``pre_filter(pi, snapshot, cycle)``: store state in ``cycle.data[name]``, narrow
      ``cycle.node_names``; return None, SKIP (this Filter passes every node) or a rejecting Status.
    * ``filter(pi, ni, data)``: None when the node fits; ``data`` is this plugin's PreFilter state.
    * ``pre_score(pi, snapshot, feasible)``: the Score state, or SKIP (every node scores
      ``skipped_score`` after normalising, so the plugin is not run node by node).
    * ``score(pi, ni, state)`` and ``normalize(scores, feasible, state)``: raw 0-100 scores, rescaled.
    * ``restricted_nodes_only``: the Filter passes every node that is neither cordoned nor carries a
      NoSchedule/NoExecute taint, so the framework runs it on those nodes only.
    * ``events``: cluster events that may make a pod this plugin rejected schedulable.
    """

    __slots__ = ("name", "weight", "pre_filter", "filter", "pre_score", "score", "normalize",
                 "restricted_nodes_only", "skipped_score", "pre_bind", "events")

    def __init__(self, name: str, *, weight: int = 0, pre_filter: PreFilter | None = None,
                 filter: Filter | None = None, pre_score: PreScore | None = None, score: Score | None = None,
                 normalize: Normalize | None = None, restricted_nodes_only: bool = False, skipped_score: int = 0,
                 pre_bind: Callable[["PodInfo", str, Any], None] | None = None, events: Sequence[str] = ()):
        self.name = name
        self.weight = weight
        self.pre_filter = pre_filter
        self.filter = filter
        self.pre_score = pre_score
        self.score = score
        self.normalize = normalize
        self.restricted_nodes_only = restricted_nodes_only
        self.skipped_score = skipped_score
        self.pre_bind = pre_bind
        self.events = frozenset(events)

    def __repr__(self) -> str:
        return f"Plugin({self.name!r}, weight={self.weight})"


# --------------------------------------------------------------------------- requests
def _container_requests(container: Mapping[str, Any]) -> dict[str, Any]:
    """Requests of one container; limits stand in for missing requests as API defaulting does."""
    res = container.get("resources") or {}
    req = dict(res.get("requests") or {})
    for name, value in (res.get("limits") or {}).items():
        req.setdefault(name, value)
    return req


def _to_units(name: str, value: Any) -> int:
    return cpu_millis(value) if name == "cpu" else memory_bytes(value)


def pod_requests(pod: Mapping[str, Any], non_missing: Mapping[str, int] | None = None) -> dict[str, int]:
    """Sum the pod's effective requests (resourcehelper.PodRequests) in milli-CPU and bytes.

    Containers add up; an init container's request is a floor (max), restartable init containers
    (sidecars) add to both; ``spec.overhead`` is added last. ``non_missing`` gives per-container
    defaults for resources a container leaves unset (the scoring-only 100m / 200Mi).
    """
    spec = spec_of(pod)

    def one(container: Mapping[str, Any]) -> dict[str, int]:
        raw = _container_requests(container)
        out = {k: _to_units(k, v) for k, v in raw.items()}
        if non_missing:
            for k, v in non_missing.items():
                if k not in raw:
                    out[k] = v
        return out

    total: dict[str, int] = {}
    for c in spec.get("containers") or ():
        for k, v in one(c).items():
            total[k] = total.get(k, 0) + v
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in spec.get("initContainers") or ():
        req = one(c)
        if c.get("restartPolicy") == "Always":
            for k, v in req.items():
                total[k] = total.get(k, 0) + v
                sidecars[k] = sidecars.get(k, 0) + v
            cur = dict(sidecars)
        else:
            cur = dict(req)
            for k, v in sidecars.items():
                cur[k] = cur.get(k, 0) + v
        for k, v in cur.items():
            if v > init_max.get(k, 0):
                init_max[k] = v
    for k, v in init_max.items():
        if v > total.get(k, 0):
            total[k] = v
    for k, v in (spec.get("overhead") or {}).items():
        total[k] = total.get(k, 0) + _to_units(k, v)
    return total


# --------------------------------------------------------------------------- affinity terms
class AffinityTerm:
    """A parsed PodAffinityTerm: which pods it selects (namespaces + selector) and its topologyKey."""

    __slots__ = ("selector", "namespaces", "namespace_selector", "topology_key", "weight")

    def __init__(self, term: Mapping[str, Any], own_namespace: str, weight: int = 0):
        self.selector = LabelSelector.from_dict(term.get("labelSelector"))
        ns_sel = term.get("namespaceSelector")
        self.namespace_selector = LabelSelector.from_dict(ns_sel) if ns_sel is not None else None
        names = frozenset(term.get("namespaces") or ())
        if not names and ns_sel is None:
            names = frozenset((own_namespace,))
        self.namespaces = names
        self.topology_key = term.get("topologyKey", "")
        self.weight = weight

    def matches(self, pod: "PodInfo", namespace_labels: Callable[[str], Mapping[str, str] | None]) -> bool:
        """Whether ``pod`` is selected by this term (namespace first, then labels)."""
        if pod.namespace not in self.namespaces:
            sel = self.namespace_selector
            if sel is None:
                return False
            if sel.requirements or sel.nothing:
                if not sel.matches(namespace_labels(pod.namespace)):
                    return False
        return self.selector.matches(pod.labels)


def _terms(node: Mapping[str, Any] | None, key: str, namespace: str, weighted: bool) -> tuple[AffinityTerm, ...]:
    if not node:
        return ()
    out = []
    for item in node.get(key) or ():
        if weighted:
            out.append(AffinityTerm(item.get("podAffinityTerm") or {}, namespace, int(item.get("weight", 0))))
        else:
            out.append(AffinityTerm(item, namespace))
    return tuple(out)


# --------------------------------------------------------------------------- PodInfo
class PodInfo:
    """Everything the plugins read about one pod, computed once."""

    __slots__ = ("key", "namespace", "name", "uid", "pod", "labels", "node_name", "priority",
                 "cpu", "mem", "scalars", "nz_cpu", "nz_mem", "host_ports", "tolerations",
                 "node_selector", "required_node_affinity", "preferred_node_affinity",
                 "required_affinity", "required_anti_affinity", "preferred_affinity", "preferred_anti_affinity",
                 "spread_constraints", "pvc_names", "terminating", "has_affinity", "best_effort")

    def __init__(self, pod: Mapping[str, Any]):
        meta = meta_of(pod)
        spec = spec_of(pod)
        self.pod = pod
        self.namespace = meta.get("namespace") or "default"
        self.name = meta.get("name", "")
        self.key = (self.namespace, self.name)
        self.uid = meta.get("uid", "")
        self.labels = meta.get("labels") or {}
        self.node_name = spec.get("nodeName") or ""
        self.priority = int(spec.get("priority") or 0)
        self.terminating = bool(meta.get("deletionTimestamp"))
        req = pod_requests(pod)
        self.best_effort = not any(req.values())
        self.cpu = req.pop("cpu", 0)
        self.mem = req.pop("memory", 0)
        self.scalars = {k: v for k, v in req.items() if v}
        nz = pod_requests(pod, {"cpu": DEFAULT_MILLI_CPU_REQUEST, "memory": DEFAULT_MEMORY_REQUEST})
        self.nz_cpu = nz.get("cpu", 0)
        self.nz_mem = nz.get("memory", 0)
        ports = []
        for c in list(spec.get("initContainers") or ()) + list(spec.get("containers") or ()):
            for p in c.get("ports") or ():
                hp = int(p.get("hostPort") or 0)
                if hp > 0:
                    ports.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", hp))
        self.host_ports = tuple(ports)
        self.tolerations = tuple(spec.get("tolerations") or ())
        self.node_selector = dict(spec.get("nodeSelector") or {})
        affinity = spec.get("affinity") or {}
        na = affinity.get("nodeAffinity") or {}
        req_na = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.required_node_affinity = tuple((req_na or {}).get("nodeSelectorTerms") or ()) if req_na else None
        self.preferred_node_affinity = tuple(
            (int(p.get("weight", 0)), p.get("preference") or {})
            for p in na.get("preferredDuringSchedulingIgnoredDuringExecution") or ())
        pa, paa = affinity.get("podAffinity"), affinity.get("podAntiAffinity")
        ns = self.namespace
        self.required_affinity = _terms(pa, "requiredDuringSchedulingIgnoredDuringExecution", ns, False)
        self.preferred_affinity = _terms(pa, "preferredDuringSchedulingIgnoredDuringExecution", ns, True)
        self.required_anti_affinity = _terms(paa, "requiredDuringSchedulingIgnoredDuringExecution", ns, False)
        self.preferred_anti_affinity = _terms(paa, "preferredDuringSchedulingIgnoredDuringExecution", ns, True)
        self.has_affinity = bool(self.required_affinity or self.preferred_affinity or self.required_anti_affinity
                                 or self.preferred_anti_affinity)
        self.spread_constraints = tuple(spec.get("topologySpreadConstraints") or ())
        claims = []
        for vol in spec.get("volumes") or ():
            if vol.get("persistentVolumeClaim"):
                claims.append(vol["persistentVolumeClaim"].get("claimName", ""))
            elif vol.get("ephemeral"):
                claims.append(f"{self.name}-{vol.get('name', '')}")
        self.pvc_names = tuple(claims)

    def __repr__(self) -> str:
        return f"PodInfo({self.namespace}/{self.name})"


def selector_with_match_label_keys(selector: LabelSelector, keys: Any, labels: Mapping[str, str]) -> LabelSelector:
    """Add ``key=value`` for each matchLabelKeys key the incoming pod carries (topology spread)."""
    extra = [Requirement(k, "=", (str(labels[k]),)) for k in keys or () if k in labels]
    if not extra:
        return selector
    return LabelSelector(tuple(selector.requirements) + tuple(extra), nothing=selector.nothing)


# --------------------------------------------------------------------------- NodeInfo
class NodeInfo:
    """One node plus the pods the scheduler counts on it, with running totals."""

    __slots__ = ("name", "node", "labels", "unschedulable", "taints", "hard_taints", "prefer_taints",
                 "alloc_cpu", "alloc_mem", "alloc_pods", "alloc_scalars",
                 "pods", "req_cpu", "req_mem", "req_scalars", "nz_cpu", "nz_mem",
                 "used_ports", "affinity_pods", "anti_affinity_pods", "index")

    def __init__(self, name: str):
        self.name = name
        self.node: dict | None = None
        self.labels: Mapping[str, str] = {}
        self.unschedulable = False
        self.taints: tuple = ()
        self.hard_taints: tuple = ()
        self.prefer_taints: tuple = ()
        self.alloc_cpu = self.alloc_mem = self.alloc_pods = 0
        self.alloc_scalars: dict[str, int] = {}
        self.pods: dict[tuple[str, str], PodInfo] = {}
        self.req_cpu = self.req_mem = self.nz_cpu = self.nz_mem = 0
        self.req_scalars: dict[str, int] = {}
        self.used_ports: dict[tuple[str, str, int], int] = {}
        self.affinity_pods: dict[tuple[str, str], PodInfo] = {}
        self.anti_affinity_pods: dict[tuple[str, str], PodInfo] = {}
        self.index = -1   # position in the snapshot's node list

    def set_node(self, node: dict | None) -> None:
        """Take a new version of the Node object (allocatable, labels, taints, cordon)."""
        self.node = node
        if node is None:
            return
        meta = meta_of(node)
        spec = spec_of(node)
        status = status_of(node)
        self.labels = meta.get("labels") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple(spec.get("taints") or ())
        self.hard_taints = tuple(t for t in self.taints if t.get("effect") in ("NoSchedule", "NoExecute"))
        self.prefer_taints = tuple(t for t in self.taints if t.get("effect") == "PreferNoSchedule")
        alloc = status.get("allocatable") or status.get("capacity") or {}
        self.alloc_cpu = cpu_millis(alloc.get("cpu", 0))
        self.alloc_mem = memory_bytes(alloc.get("memory", 0))
        self.alloc_pods = int(memory_bytes(alloc.get("pods", 0)))
        self.alloc_scalars = {k: memory_bytes(v) for k, v in alloc.items() if k not in ("cpu", "memory", "pods")}

    def add_pod(self, pi: PodInfo) -> None:
        self.pods[pi.key] = pi
        self.req_cpu += pi.cpu
        self.req_mem += pi.mem
        self.nz_cpu += pi.nz_cpu
        self.nz_mem += pi.nz_mem
        for k, v in pi.scalars.items():
            self.req_scalars[k] = self.req_scalars.get(k, 0) + v
        for port in pi.host_ports:
            self.used_ports[port] = self.used_ports.get(port, 0) + 1
        if pi.has_affinity:
            self.affinity_pods[pi.key] = pi
        if pi.required_anti_affinity:
            self.anti_affinity_pods[pi.key] = pi

    def remove_pod(self, key: tuple[str, str]) -> PodInfo | None:
        pi = self.pods.pop(key, None)
        if pi is None:
            return None
        self.req_cpu -= pi.cpu
        self.req_mem -= pi.mem
        self.nz_cpu -= pi.nz_cpu
        self.nz_mem -= pi.nz_mem
        for k, v in pi.scalars.items():
            self.req_scalars[k] = self.req_scalars.get(k, 0) - v
        for port in pi.host_ports:
            left = self.used_ports.get(port, 0) - 1
            if left > 0:
                self.used_ports[port] = left
            else:
                self.used_ports.pop(port, None)
        self.affinity_pods.pop(key, None)
        self.anti_affinity_pods.pop(key, None)
        return pi

    def __repr__(self) -> str:
        return (f"NodeInfo({self.name}, pods={len(self.pods)}, cpu={self.req_cpu}/{self.alloc_cpu}m, "
                f"mem={self.req_mem}/{self.alloc_mem})")
