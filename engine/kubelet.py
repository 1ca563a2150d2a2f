"""The node agents: one ``Kubelet`` per node, all fed by one ``KubeletManager``.

The manager subscribes to the store once and routes pod events by ``spec.nodeName`` (and
ConfigMap/Secret/PVC events to the pods waiting for them) into one keyed work queue, so per-pod
work is event-driven and never a scan. Each kubelet interprets the stage table of
``engine/kubelet_stages.py`` for the pods bound to it: volumes, sandbox (pod IP from the node's
podCIDR), image pulls, init containers, create/start, probes, exits, restarts with back-off, and
graceful termination. Pod status is written through ``api.update_status`` only when it changed,
coalesced per simulated instant.

Heartbeats — cost follows change, not cluster size
--------------------------------------------------
A live kubelet renews its Lease ``kube-node-lease/<node>`` every ``lease_renew_interval`` (10 s),
on the grid ``heartbeat_start + k·interval``. Writing 5,000 leases every 10 s would make an idle
cluster the most expensive thing the simulator does, so renewals are *materialised lazily*:

* When heartbeats start (registration, power on, kubelet start, partition healed) the Lease is
  written with ``spec.renewTime = now`` and the annotation
  ``kubedrill.io/heartbeat-interval-seconds: "10"``: "renewed every 10 s from renewTime on".
* While the annotation is present the lease is fresh by construction: its effective renew time is
  ``renewTime + floor((now − renewTime)/interval)·interval`` (``effective_renew_time``), which is
  what a reader (the node lifecycle controller, the dashboard) uses.
* When heartbeats stop (power off, kubelet stop, network partition) the Lease is written once
  more with the *last renewal that really happened* and without the annotation (the lease then
  shows exactly what etcd would hold: the last real ``renewTime``), plus
  ``kubedrill.io/kubelet-state`` saying why (also what a restart from the database resumes from).

The node lifecycle controller therefore needs one deadline timer only for nodes whose lease stopped
being renewed (``renewTime + node_monitor_grace_period``), and healthy nodes cost nothing per tick.
Node status is likewise posted only when it changes (``nodeStatusReportFrequency`` reports of an
unchanged status are not materialised). Outcomes and timings are the real ones: a powered-off node
goes Unknown ``grace`` seconds after its last renewal.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from .apiserver import get_condition, set_condition
from .clock import parse_rfc3339, rfc3339, rfc3339_micro
from .controllers.base import WorkQueue
from .controllers.volume_binding import attach_blocker
from .errors import BadRequest, NotFound
from .kubelet_stages import (FAULT_KINDS, FAULTS_ANNOTATION, IGNORE_SIGTERM_ANNOTATION, PROFILE_FALLBACKS,
                             RESTART_POLICY, WARNING, Emit, Stage, format_duration, format_faults, image_exists,
                             image_id, image_size, normalize_image, parse_faults, pull_error, stages_for)
from .objects import clone
from .store import DELETED, MODIFIED, Event

HEARTBEAT_ANNOTATION = "kubedrill.io/heartbeat-interval-seconds"
KUBELET_STATE_ANNOTATION = "kubedrill.io/kubelet-state"
LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "v1.32.0"
CONTAINER_RUNTIME = "containerd://1.7.24"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
KERNEL_VERSION = "6.1.0-28-amd64"
_HEX = "0123456789abcdef"
# Waiting reasons that stay visible while the kubelet retries (kubectl keeps showing them).
_STICKY_REASONS = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "PodInitializing",
                   "CreateContainerConfigError")

# Node conditions the kubelet owns: type → (healthy status, healthy reason, healthy message,
# unhealthy reason, unhealthy message, event when healthy, event when unhealthy).
_PRESSURE = {
    "memory": ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
               "KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
               "NodeHasSufficientMemory", "NodeHasInsufficientMemory"),
    "disk": ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
             "KubeletHasDiskPressure", "kubelet has disk pressure",
             "NodeHasNoDiskPressure", "NodeHasDiskPressure"),
    "pid": ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
            "KubeletHasInsufficientPID", "kubelet has insufficient PID available",
            "NodeHasSufficientPID", "NodeHasInsufficientPID"),
}


def effective_renew_time(lease: dict, now: float) -> float | None:
    """Return the last renewal of ``lease`` at ``now`` (sim seconds), honouring lazy materialisation."""
    spec = lease.get("spec") or {}
    stamp = spec.get("renewTime")
    if not stamp:
        return None
    renewed = parse_rfc3339(stamp)
    interval = (lease["metadata"].get("annotations") or {}).get(HEARTBEAT_ANNOTATION)
    if interval:
        step = float(interval)
        if step > 0 and now > renewed:
            renewed += math.floor((now - renewed) / step + 1e-9) * step
    return renewed


def materialized_lease(lease: dict, now: float) -> dict:
    """The Lease as a reader should see it at ``now``: a healthy kubelet's renewTime is its last renewal.

    Healthy kubelets do not rewrite their Lease every interval (see this module's docstring); readers
    such as the HTTP API show the renewal that has happened by now instead of the stored one.
    """
    if not lease_is_renewing(lease):
        return lease
    renewed = effective_renew_time(lease, now)
    if renewed is None:
        return lease
    shown = dict(lease)
    shown["spec"] = dict(lease.get("spec") or {}, renewTime=rfc3339_micro(renewed))
    return shown


def lease_is_renewing(lease: dict) -> bool:
    return bool((lease["metadata"].get("annotations") or {}).get(HEARTBEAT_ANNOTATION))


def node_pod_cidr(index: int) -> str:
    """``10.244.<i>.0/24`` for the first 256 nodes, then the next /16s (10.245…10.255, 10.128…)."""
    block, third = divmod(index, 256)
    second = 244 + block if block < 12 else 128 + (block - 12)
    return f"10.{second}.{third}.0/24"


def node_internal_ip(index: int) -> str:
    third, fourth = divmod(index, 250)
    return f"172.18.{third}.{fourth + 2}"


class NodeIPAM:
    """host-local IPAM for one node's /24: addresses .2-.254 handed out round-robin (.1 is the bridge)."""

    __slots__ = ("prefix", "used", "last")

    def __init__(self, cidr: str):
        self.prefix = cidr.rsplit(".", 1)[0] + "."
        self.used: set[int] = set()
        self.last = 1

    def allocate(self) -> str:
        for step in range(1, 254):
            host = (self.last - 2 + step) % 253 + 2
            if host not in self.used:
                self.used.add(host)
                self.last = host
                return self.prefix + str(host)
        raise RuntimeError(f"no free pod IP left in {self.prefix}0/24")

    def reserve(self, ip: str) -> None:
        if ip and ip.startswith(self.prefix):
            try:
                self.used.add(int(ip.rsplit(".", 1)[1]))
            except ValueError:
                pass

    def release(self, ip: str | None) -> None:
        if ip and ip.startswith(self.prefix):
            try:
                self.used.discard(int(ip.rsplit(".", 1)[1]))
            except ValueError:
                pass


class ContainerRuntime:
    """What containerd knows about one container of a pod (kubelet memory, not the API)."""

    __slots__ = ("name", "image", "init", "spec", "state", "waiting_reason", "waiting_message", "started_at",
                 "finished_at", "exit_code", "exit_reason", "restart_count", "last_state", "ready", "started",
                 "container_id", "pulled", "timer", "probe_timers", "crash_next", "backoff", "pull_next",
                 "r_succ", "r_fail", "l_fail", "log", "prev_log", "blocked")

    def __init__(self, spec: dict, init: bool):
        self.name: str = spec.get("name", "")
        self.image: str = spec.get("image", "")
        self.init = init
        self.spec = spec
        self.state = "Waiting"
        self.waiting_reason = "ContainerCreating"
        self.waiting_message = ""
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.exit_code: int | None = None
        self.exit_reason = ""
        self.restart_count = 0
        self.last_state: dict | None = None
        self.ready = False
        self.started = False
        self.container_id = ""
        self.pulled = False
        self.timer = None
        self.probe_timers: dict[str, Any] | None = None
        self.crash_next = 0.0
        self.backoff = 0.0
        self.pull_next = 0.0
        self.r_succ = self.r_fail = self.l_fail = 0
        self.log: list[str] | None = None
        self.prev_log: list[str] | None = None
        self.blocked = ""

    def cancel_timers(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.probe_timers:
            for handle in self.probe_timers.values():
                handle.cancel()
            self.probe_timers = None


class PodRuntime:
    """The kubelet's view of one pod: sandbox, IP and containers."""

    __slots__ = ("ns", "name", "uid", "state", "ip", "start_time", "inits", "containers", "timer", "terminating",
                 "faults", "flush_pending", "restart_policy", "gates", "ignore_sigterm", "blocked", "waiting_refs",
                 "final", "host_network")

    def __init__(self, pod: dict):
        meta, spec = pod["metadata"], pod.get("spec") or {}
        self.ns: str = meta.get("namespace", "")
        self.name: str = meta["name"]
        self.uid: str = meta.get("uid", "")
        self.state = "Bound"
        self.ip = ""
        self.start_time = ""
        self.inits = [ContainerRuntime(c, True) for c in spec.get("initContainers") or ()]
        self.containers = [ContainerRuntime(c, False) for c in spec.get("containers") or ()]
        if self.inits:
            for c in self.containers:
                c.waiting_reason = "PodInitializing"
        self.timer = None
        self.terminating = False
        self.faults: set[str] = parse_faults((meta.get("annotations") or {}).get(FAULTS_ANNOTATION))
        self.flush_pending = False
        self.restart_policy: str = spec.get("restartPolicy") or "Always"
        self.gates = [g.get("conditionType") for g in spec.get("readinessGates") or () if g.get("conditionType")]
        self.ignore_sigterm = (meta.get("annotations") or {}).get(IGNORE_SIGTERM_ANNOTATION) == "true"
        self.blocked = ""
        self.waiting_refs: tuple = ()
        self.final = False
        self.host_network = bool(spec.get("hostNetwork"))

    @property
    def key(self) -> tuple[str, str]:
        return self.ns, self.name

    def all_containers(self) -> list[ContainerRuntime]:
        return self.inits + self.containers

    def cancel_timers(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for c in self.inits:
            c.cancel_timers()
        for c in self.containers:
            c.cancel_timers()

    def involved(self) -> dict:
        return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": self.name, "namespace": self.ns,
                                                                 "uid": self.uid}}


class KubeletManager:
    """All kubelets of a cluster: one store subscription, one work queue, routing by node."""

    def __init__(self, api, clock, profile):
        self.api = api
        self.clock = clock
        self.profile = profile
        self.store = api.store
        self.kubelets: dict[str, Kubelet] = {}
        self.waiting: dict[tuple[str, str, str], set[tuple[str, str, str]]] = {}   # ref → {(node, ns, pod)}
        self._next_index = 0
        self.queue = WorkQueue(clock, self._sync, "kubelet")
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ nodes
    def add_node(self, name: str, *, cpu: str = "4", memory: str = "16Gi", pods: int = 110,
                 labels: dict | None = None, taints: list | None = None, control_plane: bool = False) -> "Kubelet":
        """Register a node (Node object, Lease, events) and start its kubelet."""
        if name in self.kubelets or self.store.find("nodes", "", name) is not None:
            raise BadRequest(f'node "{name}" already exists')
        index = self._next_index
        self._next_index += 1
        cidr = node_pod_cidr(index)
        node_labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        if control_plane:
            node_labels["node-role.kubernetes.io/control-plane"] = ""
            node_labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        node_labels.update(labels or {})
        if taints is None and control_plane:
            taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        rng = self.clock.rng
        capacity = {"cpu": str(cpu), "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
                    "hugepages-2Mi": "0", "memory": str(memory), "pods": str(pods)}
        now = rfc3339(self.clock.now)
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node_labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                         "kubeadm.alpha.kubernetes.io/cri-socket":
                                             "unix:///run/containerd/containerd.sock"}},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"kind://docker/kubedrill/{name}",
                     **({"taints": [dict(t) for t in taints]} if taints else {})},
            "status": {
                "capacity": capacity, "allocatable": dict(capacity),
                "conditions": _node_conditions({}, now, pressure={}),
                "addresses": [{"type": "InternalIP", "address": node_internal_ip(index)},
                              {"type": "Hostname", "address": name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"machineID": _hex(rng, 32), "systemUUID": _uuid(rng), "bootID": _uuid(rng),
                             "kernelVersion": KERNEL_VERSION, "osImage": OS_IMAGE,
                             "containerRuntimeVersion": CONTAINER_RUNTIME, "kubeletVersion": KUBELET_VERSION,
                             "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux",
                             "architecture": "amd64"},
                "images": [],
            },
        }
        stored = self.api.create_internal(node)
        kubelet = Kubelet(self, name, cidr, node_internal_ip(index))
        self.kubelets[name] = kubelet
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": name, "namespace": LEASE_NAMESPACE,
                              "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                                   "uid": stored["metadata"]["uid"]}]},
                 "spec": {"holderIdentity": name, "leaseDurationSeconds": int(self.profile.node_lease_duration),
                          "renewTime": rfc3339_micro(self.clock.now)}}
        self.api.create_internal(lease)
        kubelet.boot_events(first=True)
        kubelet.start_heartbeat()
        return kubelet

    def resume(self) -> None:
        """After a restart from the database: rebuild kubelets from Node objects and continue their pods."""
        nodes = self.store.list("nodes")
        for node in nodes:
            cidr = (node.get("spec") or {}).get("podCIDR") or ""
            try:
                second, third = (int(x) for x in cidr.split(".")[1:3])
                block = second - 244 if second >= 244 else second - 128 + 12
                self._next_index = max(self._next_index, block * 256 + third + 1)
            except (ValueError, IndexError):
                pass
        for node in nodes:
            name = node["metadata"]["name"]
            if name in self.kubelets:
                continue
            ip = next((a["address"] for a in node.get("status", {}).get("addresses") or ()
                       if a.get("type") == "InternalIP"), "")
            kubelet = Kubelet(self, name, (node.get("spec") or {}).get("podCIDR") or node_pod_cidr(
                self._allocate_index()), ip)
            self.kubelets[name] = kubelet
            lease = self.store.find("leases", LEASE_NAMESPACE, name)
            state = ((lease or {}).get("metadata", {}).get("annotations") or {}).get(KUBELET_STATE_ANNOTATION,
                                                                                   "running")
            kubelet.powered = state != "powered-off"
            kubelet.kubelet_running = state not in ("kubelet-stopped", "powered-off")
            kubelet.partitioned = state == "partitioned"
            for img in node.get("status", {}).get("images") or ():
                for n in img.get("names") or ():
                    if "@" not in n:
                        kubelet.images.add(n)
            for cond in node.get("status", {}).get("conditions") or ():
                for kind, row in _PRESSURE.items():
                    if cond.get("type") == row[0] and cond.get("status") == "True":
                        kubelet.pressure[kind] = True
            if lease is not None and lease_is_renewing(lease):
                kubelet.hb_start = parse_rfc3339(lease["spec"]["renewTime"])
            if kubelet.powered:
                for pod in self.store.pods_on_node(name):
                    kubelet.adopt(pod)
                if kubelet.connected:
                    if lease is None or not lease_is_renewing(lease):
                        kubelet.start_heartbeat()
                    kubelet.resync()

    def _allocate_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    # ------------------------------------------------------------------ routing
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "pods":
            obj, old = ev.obj, ev.old
            node = (obj.get("spec") or {}).get("nodeName")
            if not node:
                return
            if ev.type == MODIFIED and old is not None:
                om, nm = old["metadata"], obj["metadata"]
                # A status-only write (our own, the node controller's) needs no kubelet work.
                if (om.get("deletionTimestamp") == nm.get("deletionTimestamp")
                        and (old.get("spec") or {}).get("nodeName") == node
                        and (om.get("annotations") or {}).get(FAULTS_ANNOTATION)
                        == (nm.get("annotations") or {}).get(FAULTS_ANNOTATION)):
                    return
            if node in self.kubelets:
                meta = obj["metadata"]
                self.queue.add(("pod", node, meta.get("namespace", ""), meta["name"]))
        elif resource in ("configmaps", "secrets", "persistentvolumeclaims", "persistentvolumes"):
            waiters = self.waiting.get(ev.key)
            if waiters:
                for node, ns, name in sorted(waiters):
                    self.queue.add(("pod", node, ns, name))
        elif resource == "nodes":
            name = ev.obj["metadata"]["name"]
            if name in self.kubelets:
                if ev.type == DELETED:
                    self.queue.add(("node-deleted", name, "", ""))
                elif ev.old is not None and (ev.old.get("spec") or {}).get("unschedulable") != \
                        (ev.obj.get("spec") or {}).get("unschedulable"):
                    self.queue.add(("node-schedulable", name, "", ""))

    def _sync(self, key: tuple[str, str, str, str]) -> None:
        kind, node, ns, name = key
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            return
        if kind == "pod":
            kubelet.sync_pod(ns, name)
        elif kind == "node-deleted":
            if self.store.find("nodes", "", node) is None:
                kubelet.shutdown()
                del self.kubelets[node]
        elif kind == "node-schedulable":
            kubelet.record_schedulable()

    def watch_ref(self, ref: tuple[str, str, str], node: str, ns: str, name: str) -> None:
        self.waiting.setdefault(ref, set()).add((node, ns, name))

    def unwatch_refs(self, refs: Iterable[tuple[str, str, str]], node: str, ns: str, name: str) -> None:
        for ref in refs:
            waiters = self.waiting.get(ref)
            if waiters is not None:
                waiters.discard((node, ns, name))
                if not waiters:
                    del self.waiting[ref]


class Kubelet:
    """One node's agent: heartbeats, node status, and the pods bound to the node."""

    def __init__(self, manager: KubeletManager, name: str, cidr: str, internal_ip: str):
        self.manager = manager
        self.api = manager.api
        self.clock = manager.clock
        self.profile = manager.profile
        self.store = manager.store
        self.name = name
        self.cidr = cidr
        self.internal_ip = internal_ip
        self.ipam = NodeIPAM(cidr)
        self.pods: dict[tuple[str, str], PodRuntime] = {}
        self.images: set[str] = set()
        self.powered = True
        self.kubelet_running = True
        self.partitioned = False
        self.hb_start = self.clock.now
        self.pressure: dict[str, bool] = {}
        self._node_flush = False

    # ------------------------------------------------------------------ state
    @property
    def connected(self) -> bool:
        """Can this kubelet talk to the API server (powered, running, not partitioned)?"""
        return self.powered and self.kubelet_running and not self.partitioned

    @property
    def state(self) -> str:
        if not self.powered:
            return "powered-off"
        if not self.kubelet_running:
            return "kubelet-stopped"
        if self.partitioned:
            return "partitioned"
        return "running"

    def _node_involved(self) -> dict:
        # The kubelet records node events with the node name as UID, as the real one does.
        return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": self.name, "uid": self.name}}

    def _node_event(self, reason: str, message: str, type: str = "Normal", explanation: str = "") -> None:
        self.api.record_event(self._node_involved(), reason, message, type=type, component="kubelet",
                              host=self.name, explanation=explanation)

    def boot_events(self, first: bool = False) -> None:
        self._node_event("Starting", "Starting kubelet.",
                         explanation=f"the kubelet on {self.name} started" + ("" if first else " again"))
        self._node_event("NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
        for kind in ("memory", "disk", "pid"):
            row = _PRESSURE[kind]
            event = row[6] if self.pressure.get(kind) else row[5]
            self._node_event(event, f"Node {self.name} status is now: {event}")
        self._node_event("NodeReady", f"Node {self.name} status is now: NodeReady",
                         explanation=f"{self.name} is Ready: the scheduler may place pods on it")

    # ------------------------------------------------------------------ heartbeats
    def start_heartbeat(self) -> None:
        """Renew the lease now and from now on every ``lease_renew_interval`` (materialised lazily)."""
        self.hb_start = self.clock.now
        self._write_lease(self.clock.now, renewing=True)

    def stop_heartbeat(self) -> None:
        """Materialise the last renewal that really happened before the heartbeats stopped."""
        interval = self.profile.lease_renew_interval
        elapsed = max(0.0, self.clock.now - self.hb_start)
        last = self.hb_start + math.floor(elapsed / interval + 1e-9) * interval
        self._write_lease(last, renewing=False)

    def _write_lease(self, renew: float, *, renewing: bool) -> None:
        lease = self.store.find("leases", LEASE_NAMESPACE, self.name)
        if lease is None:
            return
        new = clone(lease)
        annotations = dict(new["metadata"].get("annotations") or {})
        if renewing:
            annotations[HEARTBEAT_ANNOTATION] = _num(self.profile.lease_renew_interval)
        else:
            annotations.pop(HEARTBEAT_ANNOTATION, None)
        annotations[KUBELET_STATE_ANNOTATION] = self.state
        new["metadata"]["annotations"] = annotations
        new["spec"]["renewTime"] = rfc3339_micro(renew)
        new["spec"]["holderIdentity"] = self.name
        self.api.update_internal(new)

    # ------------------------------------------------------------------ node status
    def post_node_status(self) -> None:
        """Write the node's conditions and images if they changed (always after (re)connecting)."""
        self._node_flush = False
        if not self.connected:
            return
        node = self.store.find("nodes", "", self.name)
        if node is None:
            return
        now = rfc3339(self.clock.now)
        old_status = node.get("status") or {}
        conds = _node_conditions(old_status, now, pressure=self.pressure)
        images = self._images_status()
        if _strip_heartbeats(conds) == _strip_heartbeats(old_status.get("conditions") or []) \
                and images == (old_status.get("images") or []):
            return
        new = dict(node)
        new["status"] = dict(old_status, conditions=conds, images=images)
        old_ready = get_condition(node, "Ready")
        self.api.update_status(new)
        if old_ready is not None and old_ready.get("status") != "True":
            self._node_event("NodeReady", f"Node {self.name} status is now: NodeReady",
                             explanation=f"{self.name} posts its status again and is Ready")

    def _schedule_node_status(self) -> None:
        if not self._node_flush:
            self._node_flush = True
            self.clock.schedule(0, self.post_node_status)

    def _images_status(self) -> list[dict]:
        out = []
        for ref in sorted(self.images)[:50]:
            out.append({"names": [image_id(ref), ref], "sizeBytes": image_size(ref)})
        return out

    def set_pressure(self, kind: str, on: bool) -> dict:
        """Report MemoryPressure/DiskPressure (the node lifecycle controller taints the node from it)."""
        if kind not in ("memory", "disk", "pid"):
            raise BadRequest(f'unsupported pressure "{kind}": supported values: "memory", "disk"')
        if self.pressure.get(kind, False) != on:
            self.pressure[kind] = on
            if self.connected:
                row = _PRESSURE[kind]
                self._node_event(row[6] if on else row[5], f"Node {self.name} status is now: "
                                 f"{row[6] if on else row[5]}",
                                 explanation=(f"{self.name} reports {row[0]}: the node lifecycle controller taints it "
                                              "so no new pods are scheduled there") if on else
                                 f"{self.name} no longer reports {row[0]}")
                self.post_node_status()
        return {"node": self.name, "pressure": kind, "on": on}

    def record_schedulable(self) -> None:
        if not self.connected:
            return
        node = self.store.find("nodes", "", self.name)
        if node is None:
            return
        if (node.get("spec") or {}).get("unschedulable"):
            self._node_event("NodeNotSchedulable", f"Node {self.name} status is now: NodeNotSchedulable",
                             explanation=f"{self.name} is cordoned: running pods stay, new pods go elsewhere")
        else:
            self._node_event("NodeSchedulable", f"Node {self.name} status is now: NodeSchedulable",
                             explanation=f"{self.name} is uncordoned: the scheduler may use it again")

    # ------------------------------------------------------------------ faults on the node
    def power_off(self) -> dict:
        """Cut the power: kubelet and containers gone, heartbeats stop; pods stay in the API as they were."""
        if not self.powered:
            return {"node": self.name, "state": self.state, "changed": False}
        was_connected = self.connected
        count = len(self.pods)
        for rt in list(self.pods.values()):
            self._drop(rt)
        self.powered = False
        self.kubelet_running = False
        self.partitioned = False
        if was_connected:
            self.stop_heartbeat()
        else:
            self._write_lease_state()
        return {"node": self.name, "state": self.state, "changed": True, "podsLost": count}

    def power_on(self) -> dict:
        """Boot: re-register status, renew the lease; pods found dead are restarted or finished."""
        if self.powered and self.kubelet_running and not self.partitioned:
            return {"node": self.name, "state": self.state, "changed": False}
        if self.powered:
            # Only the kubelet or the network was down: same as starting it / healing the partition.
            self.partitioned = False
            return self.start_kubelet()
        self.powered = True
        self.kubelet_running = True
        self.partitioned = False
        node = self.store.find("nodes", "", self.name)
        if node is not None:
            new = dict(node)
            status = dict(node.get("status") or {})
            info = dict(status.get("nodeInfo") or {})
            info["bootID"] = _uuid(self.clock.rng)
            status["nodeInfo"] = info
            new["status"] = status
            self.api.update_status(new)
            self._node_event("Rebooted", f"Node {self.name} has been rebooted, boot id: {info['bootID']}",
                             type=WARNING, explanation=f"{self.name} booted again: its containers were lost")
        self.boot_events()
        self.start_heartbeat()
        self.post_node_status()
        restarted, finished = 0, 0
        for pod in self.store.pods_on_node(self.name):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                self.api.finish_pod_termination(meta.get("namespace", ""), meta["name"], meta.get("uid", ""))
                finished += 1
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            self.adopt(pod, reboot=True)
            restarted += 1
        return {"node": self.name, "state": self.state, "changed": True, "podsRestarted": restarted,
                "podsFinished": finished}

    def stop_kubelet(self) -> dict:
        """Stop the kubelet only: containers keep running, but no heartbeats and no status."""
        if not self.powered or not self.kubelet_running:
            return {"node": self.name, "state": self.state, "changed": False}
        was_connected = self.connected
        self.kubelet_running = False
        self._freeze()
        if was_connected:
            self.stop_heartbeat()
        else:
            self._write_lease_state()
        return {"node": self.name, "state": self.state, "changed": True}

    def start_kubelet(self) -> dict:
        if not self.powered:
            return self.power_on()
        if self.connected:
            return {"node": self.name, "state": self.state, "changed": False}
        self.kubelet_running = True
        if self.partitioned:
            self._write_lease_state()
            return {"node": self.name, "state": self.state, "changed": True}
        self.boot_events()
        self._reconnect()
        return {"node": self.name, "state": self.state, "changed": True}

    def partition(self, on: bool) -> dict:
        """Cut (or heal) the node's network: to the control plane it looks like a stopped kubelet."""
        if not self.powered or self.partitioned == on:
            return {"node": self.name, "state": self.state, "changed": False}
        was_connected = self.connected
        self.partitioned = on
        if on:
            self._freeze()
            if was_connected:
                self.stop_heartbeat()
        elif self.kubelet_running:
            self._reconnect()
        return {"node": self.name, "state": self.state, "changed": True}

    def _reconnect(self) -> None:
        self.start_heartbeat()
        self.post_node_status()
        self.resync()

    def _write_lease_state(self) -> None:
        lease = self.store.find("leases", LEASE_NAMESPACE, self.name)
        if lease is not None:
            renew = parse_rfc3339(lease["spec"]["renewTime"]) if lease["spec"].get("renewTime") else self.clock.now
            self._write_lease(renew, renewing=False)

    def _freeze(self) -> None:
        # Without the kubelet nobody drives the lifecycle: pending stages and probes stop where they are.
        for rt in self.pods.values():
            rt.cancel_timers()

    def resync(self) -> None:
        """Compare every pod bound here (and every runtime) with the store, as the kubelet's sync loop does."""
        keys = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in self.store.pods_on_node(self.name)}
        keys.update(self.pods)
        for ns, name in sorted(keys):
            self.manager.queue.add(("pod", self.name, ns, name))
            rt = self.pods.get((ns, name))
            if rt is not None:
                self._mark_dirty(rt)

    def shutdown(self) -> None:
        """The Node object was deleted: stop everything this kubelet runs."""
        for rt in list(self.pods.values()):
            self._drop(rt)
        self.powered = False

    # ------------------------------------------------------------------ faults on pods
    def _runtime(self, ns: str, name: str) -> PodRuntime:
        rt = self.pods.get((ns, name))
        if rt is None:
            if self.store.find("pods", ns, name) is None:
                raise NotFound.of("pods", "", name)
            raise BadRequest(f'pod "{name}" has no running containers on node {self.name}')
        return rt

    def crash_container(self, ns: str, name: str, container: str | None = None) -> dict:
        """Make a running container exit with code 1 once (restarted per restartPolicy, with back-off)."""
        rt = self._runtime(ns, name)
        target = next((c for c in rt.containers if c.state == "Running" and (container is None or c.name == container)),
                      None)
        if target is None:
            raise BadRequest(f'pod "{name}" has no running container to crash')
        self._log(target, "panic: simulated crash (injected by kubedrill)")
        self._container_exit(rt, target, 1, "Error")
        return {"pod": f"{ns}/{name}", "container": target.name, "exitCode": 1}

    def set_failure(self, ns: str, name: str, kind: str, on: bool) -> dict:
        """Switch a fault on or off for a pod (stored as the ``kubedrill.io/faults`` annotation)."""
        if kind not in FAULT_KINDS:
            raise BadRequest(f'unsupported fault "{kind}": supported values: '
                             + ", ".join(f'"{k}"' for k in FAULT_KINDS))
        pod = self.store.find("pods", ns, name)
        if pod is None:
            raise NotFound.of("pods", "", name)
        annotations = (pod["metadata"].get("annotations") or {})
        faults = parse_faults(annotations.get(FAULTS_ANNOTATION))
        if (kind in faults) != on:
            faults = faults | {kind} if on else faults - {kind}
            new = clone(pod)
            ann = dict(annotations)
            if faults:
                ann[FAULTS_ANNOTATION] = format_faults(faults)
            else:
                ann.pop(FAULTS_ANNOTATION, None)
            new["metadata"]["annotations"] = ann
            if not ann:
                del new["metadata"]["annotations"]
            self.api.update_internal(new)
        return {"pod": f"{ns}/{name}", "fault": kind, "on": on, "faults": sorted(faults)}

    def set_readiness_failing(self, ns: str, name: str, failing: bool) -> dict:
        return self.set_failure(ns, name, "readiness", failing)

    # ------------------------------------------------------------------ pod sync (from the work queue)
    def sync_pod(self, ns: str, name: str) -> None:
        if not self.connected:
            return  # the kubelet cannot see the API server; resync() catches up later
        pod = self.store.find("pods", ns, name)
        rt = self.pods.get((ns, name))
        if rt is not None and (pod is None or pod["metadata"].get("uid") != rt.uid
                               or (pod.get("spec") or {}).get("nodeName") != self.name):
            self._drop(rt)   # force-deleted (or replaced by a pod with the same name): stop its containers
            rt = None
        if pod is None or (pod.get("spec") or {}).get("nodeName") != self.name:
            return
        meta = pod["metadata"]
        if rt is None:
            if meta.get("deletionTimestamp"):
                self.api.finish_pod_termination(ns, name, meta.get("uid", ""))
                return
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return
            rt = self.adopt(pod)
            return
        faults = parse_faults((meta.get("annotations") or {}).get(FAULTS_ANNOTATION))
        if faults != rt.faults:
            self._set_faults(rt, faults)
        if meta.get("deletionTimestamp") and not rt.terminating:
            self._terminate(rt, pod)
            return
        if rt.terminating:
            if rt.final:
                self._finish(rt)
            elif not any(c.timer is not None for c in rt.all_containers()):
                self._terminate(rt, pod)   # the kubelet was away: send SIGTERM again
            return
        self._advance(rt)

    def adopt(self, pod: dict, reboot: bool = False) -> PodRuntime:
        """Take charge of a pod: new (start from scratch), already running (resume) or found dead after a reboot."""
        rt = PodRuntime(pod)
        self.pods[rt.key] = rt
        status = pod.get("status") or {}
        statuses = {s.get("name"): s for s in status.get("containerStatuses") or ()}
        init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or ()}
        rt.start_time = status.get("startTime") or ""
        has_sandbox = bool(status.get("podIP")) and not reboot
        if has_sandbox:
            rt.ip = status["podIP"]
            if not rt.host_network:
                self.ipam.reserve(rt.ip)
            rt.state = "SandboxReady"
        if statuses or init_statuses:
            for c in rt.inits:
                _restore_container(c, init_statuses.get(c.name), reboot)
            for c in rt.containers:
                _restore_container(c, statuses.get(c.name), reboot)
            if reboot:
                self._pod_event(rt, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.",
                                explanation=f"{self.name} rebooted: the pod's sandbox and containers are gone, "
                                            "so the kubelet creates them again")
                for c in rt.inits:
                    # A new sandbox runs the init containers again.
                    c.state, c.waiting_reason, c.ready, c.started = "Waiting", "PodInitializing", False, False
                for c in rt.containers:
                    if c.state == "Exited":
                        self._after_exit(rt, c)
            else:
                for c in rt.all_containers():
                    if c.state == "Running":
                        c.pulled = True
                        self.images.add(normalize_image(c.image))
                    elif c.state == "Exited":
                        self._after_exit(rt, c, adopting=True)
        if not rt.start_time:
            rt.start_time = rfc3339(self.clock.now)
        if self.connected:
            self._mark_dirty(rt)
            self._advance(rt)
        return rt

    def _set_faults(self, rt: PodRuntime, faults: set[str]) -> None:
        rt.faults = faults
        if rt.terminating:
            return
        for c in rt.all_containers():
            if c.state == "Running":
                if c.timer is not None:
                    c.timer.cancel()   # a crash/oom stage may apply now (or no longer)
                    c.timer = None
                self._arm_probes(rt, c)
        self._advance(rt)

    # ------------------------------------------------------------------ the stage interpreter
    def _advance(self, rt: PodRuntime) -> None:
        """Start the next stage(s) the pod's state allows (level-triggered; safe to call any time)."""
        if not self.connected or rt.terminating or rt.timer is not None or (rt.ns, rt.name) not in self.pods:
            return
        if rt.state == "Bound":
            problem = self._volumes_problem(rt)
            if problem is not None:
                error, volume, refs = problem
                if rt.blocked != error:
                    rt.blocked = error
                    stage = stages_for("pod", "Bound", init=False, faults=rt.faults)[0]
                    self._emit(rt, None, stage.blocked, error=error, volume=volume,
                               error_short=error.split(" : ")[-1])
                self._wait_for(rt, refs)
                self._mark_dirty(rt)
                return
            rt.blocked = ""
            self._wait_for(rt, ())
            rt.state = "VolumesMounted"
        if rt.state == "VolumesMounted":
            stage = stages_for("pod", "VolumesMounted", init=False, faults=rt.faults)[0]
            rt.timer = self.clock.schedule(self._delay(stage.delay, None), lambda: self._sandbox_ready(rt))
            self._mark_dirty(rt)
            return
        for c in rt.inits:
            if c.state == "Done" and c.exit_code == 0:
                continue
            self._advance_container(rt, c)
            self._mark_dirty(rt)
            return
        for c in rt.containers:
            self._advance_container(rt, c)
        self._mark_dirty(rt)

    def _sandbox_ready(self, rt: PodRuntime) -> None:
        rt.timer = None
        if rt.terminating or rt.key not in self.pods:
            return
        rt.ip = self.internal_ip if rt.host_network else self.ipam.allocate()
        rt.state = "SandboxReady"
        self._advance(rt)

    def _advance_container(self, rt: PodRuntime, c: ContainerRuntime) -> None:
        if c.timer is not None or c.state == "Done":
            return
        faults = set(rt.faults)
        if not image_exists(c.image):
            faults.add("image-pull")
        for stage in stages_for("container", c.state, init=c.init, faults=faults):
            if stage.guard == "image_needs_pull" and not self._needs_pull(c):
                continue
            if stage.guard == "config_ready":
                error, refs = self._config_problem(rt, c)
                if error:
                    c.waiting_reason, c.waiting_message = "CreateContainerConfigError", error
                    if c.blocked != error:
                        c.blocked = error
                        self._emit(rt, c, stage.blocked, error=error, error_short=error)
                    self._wait_for(rt, refs)
                    self._mark_dirty(rt)
                    return
                c.blocked = ""
                self._wait_for(rt, ())
            self._start_stage(rt, c, stage)
            return
        if c.state == "Running":
            self._arm_probes(rt, c)

    def _start_stage(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage) -> None:
        if stage.waiting_reason and c.state != "Running" and not (
                stage.waiting_reason == "ContainerCreating" and c.waiting_reason in _STICKY_REASONS):
            c.waiting_reason = stage.waiting_reason
            c.waiting_message = ""
        if stage.name == "container-pull-backoff":
            c.backoff = c.pull_next = (self.profile.image_pull_backoff_initial if not c.pull_next
                                       else min(c.pull_next * 2, self.profile.image_pull_backoff_max))
            c.waiting_message = f'Back-off pulling image "{c.image}"'
        elif stage.name == "container-restart-backoff":
            c.waiting_message = (f"back-off {_go_duration(c.backoff)} restarting failed container={c.name} "
                                 f"pod={rt.name}_{rt.ns}({rt.uid})")
        delay = self._delay(stage.delay, c)
        fields = {"seconds": format_duration(delay), "backoff": _num(c.backoff)}
        self._emit(rt, c, stage.events_before, **fields)
        if delay <= 0:
            self._complete_stage(rt, c, stage, delay)
        else:
            c.timer = self.clock.schedule(delay, lambda: self._stage_timer(rt, c, stage, delay))
            self._mark_dirty(rt)

    def _stage_timer(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, delay: float) -> None:
        c.timer = None
        if rt.terminating or rt.key not in self.pods or not self.connected:
            return
        self._complete_stage(rt, c, stage, delay)

    def _complete_stage(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, delay: float) -> None:
        fields: dict[str, Any] = {"seconds": format_duration(delay), "backoff": _num(c.backoff)}
        name = stage.name
        if name == "container-pull-failed":
            error = pull_error(c.image)
            c.state, c.waiting_reason, c.waiting_message = "PullFailed", "ErrImagePull", error
            fields["error"] = error
        elif name in ("container-pull", "container-image-present"):
            c.state = "Pulled"
            c.pulled = True
            c.pull_next = 0.0
            ref = normalize_image(c.image)
            if ref not in self.images:
                self.images.add(ref)
                self._schedule_node_status()
            fields["size"] = image_size(c.image)
        elif name == "container-pull-error-sync":
            c.state = "PullBackOff"
        elif name == "container-pull-backoff":
            c.state = "Waiting"
        elif name == "container-create":
            c.state = "Created"
            c.container_id = "containerd://" + _hex(self.clock.rng, 64)
        elif name == "container-start":
            c.state = "Running"
            c.started_at = self.clock.now
            c.finished_at = None
            c.exit_code = None
            c.waiting_reason = c.waiting_message = ""
            c.log = None   # a new container instance starts with an empty log
            self._log(c, f"container {c.name} started (image {c.image})")
            c.r_succ = c.r_fail = c.l_fail = 0
            probes = c.spec.get("startupProbe"), c.spec.get("readinessProbe")
            c.started = not probes[0]
            c.ready = not c.init and c.started and not probes[1] and "readiness" not in rt.faults
        elif name == "container-restart-backoff":
            c.state = "Waiting"
        elif stage.exit_code is not None:
            if stage.exit_reason == "OOMKilled":
                self._log(c, "fatal error: runtime: out of memory (container memory limit reached)")
            elif stage.exit_code:
                self._log(c, f"error: exiting with status {stage.exit_code}")
            else:
                self._log(c, "done")
            self._emit(rt, c, stage.events, **fields)
            self._container_exit(rt, c, stage.exit_code, stage.exit_reason)
            return
        self._emit(rt, c, stage.events, **fields)
        self._mark_dirty(rt)
        if c.init and c.state == "Running":
            self._advance_container(rt, c)
        else:
            self._advance(rt)

    def _delay(self, key: str | None, c: ContainerRuntime | None) -> float:
        if key is None:
            return 0.0
        if key in ("crash_backoff", "image_pull_backoff"):
            return c.backoff if c is not None else 0.0
        value = getattr(self.profile, key, None)
        if value is None:
            value = PROFILE_FALLBACKS.get(key, 0.0)
        if isinstance(value, (tuple, list)):
            low, high = value
            return self.clock.rng.uniform(low, high)
        return float(value)

    def _needs_pull(self, c: ContainerRuntime) -> bool:
        policy = c.spec.get("imagePullPolicy") or "IfNotPresent"
        if policy == "Always":
            return True
        if policy == "Never":
            return False
        return normalize_image(c.image) not in self.images

    # ------------------------------------------------------------------ exits and restarts
    def _container_exit(self, rt: PodRuntime, c: ContainerRuntime, code: int, reason: str) -> None:
        c.cancel_timers()
        c.state = "Exited"
        c.exit_code = code
        c.exit_reason = reason
        c.finished_at = self.clock.now
        c.ready = False
        c.started = False
        self._after_exit(rt, c)
        self._mark_dirty(rt)
        self._advance(rt)

    def _after_exit(self, rt: PodRuntime, c: ContainerRuntime, adopting: bool = False) -> None:
        """Decide what an exited container does next: done, restart now, or back off first."""
        code = c.exit_code or 0
        policy = rt.restart_policy
        if c.init and policy == "Always":
            policy = "OnFailure"   # init containers restart only on failure
        if c.init and code == 0:
            c.state = "Done"
            return
        if not RESTART_POLICY.get(policy, RESTART_POLICY["Always"])(code):
            c.state = "Done"
            return
        terminated = self._terminated_state(c)
        c.last_state = {"terminated": terminated}
        c.prev_log, c.log = c.log, None
        if c.started_at is not None and c.finished_at is not None and \
                c.finished_at - c.started_at >= self.profile.crash_backoff_reset:
            c.crash_next = 0.0
        c.backoff = c.crash_next
        c.crash_next = (self.profile.crash_backoff_initial if not c.crash_next
                        else min(c.crash_next * 2, self.profile.crash_backoff_max))
        c.restart_count += 1
        c.state = "BackOff" if c.backoff > 0 else "Waiting"
        c.waiting_reason = "CrashLoopBackOff" if c.backoff > 0 else "ContainerCreating"

    def _terminated_state(self, c: ContainerRuntime) -> dict:
        out = {"exitCode": c.exit_code or 0, "reason": c.exit_reason or ("Completed" if not c.exit_code else "Error"),
               "startedAt": rfc3339(c.started_at) if c.started_at is not None else None,
               "finishedAt": rfc3339(c.finished_at if c.finished_at is not None else self.clock.now)}
        if c.container_id:
            out["containerID"] = c.container_id
        return out

    # ------------------------------------------------------------------ probes
    def _probe(self, rt: PodRuntime, c: ContainerRuntime, kind: str) -> dict | None:
        # A readiness/liveness fault makes the app's endpoint fail; without that probe the kubelet
        # never notices (the pod stays Ready and keeps receiving traffic) — the lesson of drill 06.
        return c.spec.get(f"{kind}Probe") or None

    def _arm_probes(self, rt: PodRuntime, c: ContainerRuntime, ticked: str = "") -> None:
        """Schedule probe ticks only while a probe can change something (cost: pods with probes)."""
        if c.state != "Running" or c.init or rt.terminating or not self.connected:
            return
        wanted = []
        if not c.started:
            if self._probe(rt, c, "startup"):
                wanted.append("startup")
        else:
            readiness = self._probe(rt, c, "readiness")
            if readiness is not None and ("readiness" in rt.faults or not c.ready):
                wanted.append("readiness")
            if "liveness" in rt.faults and self._probe(rt, c, "liveness") is not None:
                wanted.append("liveness")
        timers = c.probe_timers or {}
        for kind in list(timers):
            if kind not in wanted:
                timers.pop(kind).cancel()
        for kind in wanted:
            if kind in timers:
                continue
            probe = self._probe(rt, c, kind)
            period = float(probe.get("periodSeconds") or 10)
            base = (c.started_at or self.clock.now) + float(probe.get("initialDelaySeconds") or 0)
            if self.clock.now <= base and kind != ticked:
                when = base
            elif kind == ticked:
                when = self.clock.now + period   # the probe just ran: next period
            else:
                when = base + math.ceil((self.clock.now - base) / period - 1e-9) * period
            timers[kind] = self.clock.schedule_at(when, lambda k=kind: self._probe_tick(rt, c, k))
        c.probe_timers = timers or None

    def _probe_tick(self, rt: PodRuntime, c: ContainerRuntime, kind: str) -> None:
        if c.probe_timers:
            c.probe_timers.pop(kind, None)
        if c.state != "Running" or rt.terminating or rt.key not in self.pods or not self.connected:
            return
        probe = self._probe(rt, c, kind)
        if probe is None:
            return
        success = kind not in rt.faults
        label = kind.capitalize()
        if kind == "startup":
            if success:
                c.started = True
                c.ready = self._probe(rt, c, "readiness") is None
                self._mark_dirty(rt)
        elif kind == "readiness":
            if success:
                c.r_fail = 0
                c.r_succ += 1
                if not c.ready and c.r_succ >= int(probe.get("successThreshold") or 1):
                    c.ready = True
                    self._log(c, "readiness probe succeeded")
                    self._mark_dirty(rt)
            else:
                c.r_succ = 0
                c.r_fail += 1
                self._unhealthy(rt, c, label, probe, 503)
                if c.ready and c.r_fail >= int(probe.get("failureThreshold") or 3):
                    c.ready = False
                    self._mark_dirty(rt)
        elif kind == "liveness":
            if success:
                c.l_fail = 0
            else:
                c.l_fail += 1
                self._unhealthy(rt, c, label, probe, 500)
                if c.l_fail >= int(probe.get("failureThreshold") or 3):
                    self._emit(rt, c, (Emit("Killing", f"Container {c.name} failed liveness probe, will be restarted",
                                            explanation=f"{c.name} failed its liveness probe "
                                                        f"{c.l_fail} times in a row: the kubelet kills and restarts it"),))
                    self._log(c, "received SIGTERM (liveness probe failed), shutting down")
                    self._container_exit(rt, c, 137, "Error")
                    return
        self._arm_probes(rt, c, ticked=kind)

    def _unhealthy(self, rt: PodRuntime, c: ContainerRuntime, label: str, probe: dict, code: int) -> None:
        if probe.get("httpGet") is not None:
            output = f"HTTP probe failed with statuscode: {code}"
        elif probe.get("tcpSocket") is not None:
            port = probe["tcpSocket"].get("port", 80)
            output = f"dial tcp {rt.ip}:{port}: connect: connection refused"
        elif probe.get("grpc") is not None:
            output = 'timeout: failed to connect service ":' + str(probe["grpc"].get("port", "")) + '" within 1s'
        else:
            command = " ".join(str(x) for x in ((probe.get("exec") or {}).get("command") or ()))
            output = f"command \"{command}\" exited with 1" if command else "probe failed"
        what = "removed from Service endpoints until it passes again" if label == "Readiness" else \
            f"restarted after {int(probe.get('failureThreshold') or 3)} failures in a row"
        self._emit(rt, c, (Emit("Unhealthy", f"{label} probe failed: {output}", WARNING,
                                f"{c.name}'s {label.lower()} probe failed: the pod is {what}"),))
        self._log(c, f"{label.lower()} probe failed: {output}")

    # ------------------------------------------------------------------ termination
    def _terminate(self, rt: PodRuntime, pod: dict) -> None:
        rt.terminating = True
        rt.cancel_timers()
        meta = pod["metadata"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        grace = float(grace or 0)
        running = [c for c in rt.all_containers() if c.state == "Running"]
        for c in rt.all_containers():
            if c.state != "Running":
                c.ready = False
                if c.state not in ("Exited", "Done"):
                    c.state = "Done"
                    c.exit_code = None
        pending = len(running)
        if not running:
            rt.final = True
            self._mark_dirty(rt)
            self.clock.schedule(0, lambda: self._finish(rt))
            return
        left = [pending]
        for c in running:
            self._emit(rt, c, (Emit("Killing", f"Stopping container {c.name}",
                                    explanation=f"the pod is being deleted: {c.name} gets SIGTERM and up to "
                                                f"{_num(grace)}s to exit"),))
            self._log(c, "received SIGTERM, shutting down gracefully")
            if rt.ignore_sigterm:
                delay, code, reason = grace, 137, "Error"
            else:
                delay = min(self._delay("sigterm_exit_seconds", c), grace)
                code, reason = (0, "Completed") if delay < grace else (137, "Error")

            def exited(c=c, code=code, reason=reason) -> None:
                c.timer = None
                if code == 137:
                    self._log(c, "killed with SIGKILL: the grace period ended")
                else:
                    self._log(c, "exited after SIGTERM")
                c.state, c.exit_code, c.exit_reason = "Done", code, reason
                c.finished_at = self.clock.now
                c.ready = False
                left[0] -= 1
                if left[0] == 0:
                    rt.final = True
                    self._finish(rt)

            c.timer = self.clock.schedule(delay, exited)
        self._mark_dirty(rt)

    def _finish(self, rt: PodRuntime) -> None:
        """All containers stopped: post the final status and let the API server remove the pod."""
        if rt.key not in self.pods or self.pods[rt.key] is not rt:
            return
        if not self.connected:
            return   # confirmed later, when the kubelet is back
        self._flush(rt)
        self.api.finish_pod_termination(rt.ns, rt.name, rt.uid)
        if self.store.find("pods", rt.ns, rt.name) is None or \
                self.store.find("pods", rt.ns, rt.name)["metadata"].get("uid") != rt.uid:
            self._drop(rt)

    def _drop(self, rt: PodRuntime) -> None:
        """Forget a pod: containers stopped, IP released, no more watching ConfigMaps for it."""
        rt.cancel_timers()
        if not rt.host_network:
            self.ipam.release(rt.ip)
        self._wait_for(rt, ())
        if self.pods.get(rt.key) is rt:
            del self.pods[rt.key]

    # ------------------------------------------------------------------ guards
    def _volumes_problem(self, rt: PodRuntime) -> tuple[str, str, tuple] | None:
        pod = self.store.find("pods", rt.ns, rt.name)
        if pod is None:
            return None
        refs, first = [], None
        for vol in (pod.get("spec") or {}).get("volumes") or ():
            vname = vol.get("name", "")
            error = ref = None
            if isinstance(vol.get("configMap"), dict) and not vol["configMap"].get("optional"):
                cm = vol["configMap"].get("name", "")
                ref = ("configmaps", rt.ns, cm)
                if self.store.find(*ref) is None:
                    error = f'MountVolume.SetUp failed for volume "{vname}" : configmap "{cm}" not found'
            elif isinstance(vol.get("secret"), dict) and not vol["secret"].get("optional"):
                sec = vol["secret"].get("secretName", "")
                ref = ("secrets", rt.ns, sec)
                if self.store.find(*ref) is None:
                    error = f'MountVolume.SetUp failed for volume "{vname}" : secret "{sec}" not found'
            elif isinstance(vol.get("persistentVolumeClaim"), dict):
                claim = vol["persistentVolumeClaim"].get("claimName", "")
                ref = ("persistentvolumeclaims", rt.ns, claim)
                pvc = self.store.find(*ref)
                if pvc is None:
                    error = (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached volumes=[], "
                             f'failed to process volumes=[{vname}]: persistentvolumeclaim "{claim}" not found')
                elif (pvc.get("status") or {}).get("phase") != "Bound":
                    error = (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached volumes=[], "
                             f"failed to process volumes=[{vname}]: error processing PVC {rt.ns}/{claim}: "
                             "PVC is not bound")
                elif attach_blocker(self.store, pod) is not None:
                    # ReadWriteOnce volume still attached to another node: the attachdetach-controller
                    # reports Multi-Attach; the kubelet just cannot mount (real wording).
                    ref = ("persistentvolumes", "", pvc["spec"].get("volumeName", ""))
                    error = (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached "
                             f"volumes=[{vname}], failed to process volumes=[]: timed out waiting for the condition")
            if error is not None:
                refs.append(ref)
                if first is None:
                    first = (error, vname)
        if first is None:
            return None
        return first[0], first[1], tuple(refs)

    def _config_problem(self, rt: PodRuntime, c: ContainerRuntime) -> tuple[str, tuple]:
        ns = rt.ns
        for env in c.spec.get("env") or ():
            source = env.get("valueFrom") or {}
            for kind, resource, label in (("configMapKeyRef", "configmaps", "ConfigMap"),
                                          ("secretKeyRef", "secrets", "Secret")):
                ref = source.get(kind)
                if not isinstance(ref, dict) or ref.get("optional"):
                    continue
                obj = self.store.find(resource, ns, ref.get("name", ""))
                key = (resource, ns, ref.get("name", ""))
                if obj is None:
                    return f'{resource[:-1]} "{ref.get("name", "")}" not found', (key,)
                data = dict(obj.get("data") or {})
                data.update(obj.get("binaryData") or {})
                data.update(obj.get("stringData") or {})
                if ref.get("key") not in data:
                    return f"couldn't find key {ref.get('key')} in {label} {ns}/{ref.get('name', '')}", (key,)
        for source in c.spec.get("envFrom") or ():
            for kind, resource in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                ref = source.get(kind)
                if not isinstance(ref, dict) or ref.get("optional"):
                    continue
                key = (resource, ns, ref.get("name", ""))
                if self.store.find(*key) is None:
                    return f'{resource[:-1]} "{ref.get("name", "")}" not found', (key,)
        return "", ()

    def _wait_for(self, rt: PodRuntime, refs: tuple) -> None:
        refs = tuple(refs)
        if refs == rt.waiting_refs:
            return
        self.manager.unwatch_refs(rt.waiting_refs, self.name, rt.ns, rt.name)
        for ref in refs:
            self.manager.watch_ref(ref, self.name, rt.ns, rt.name)
        rt.waiting_refs = refs

    # ------------------------------------------------------------------ events and logs
    def _pod_event(self, rt: PodRuntime, reason: str, message: str, type: str = "Normal",
                   explanation: str = "", field_path: str = "") -> None:
        self.api.record_event(rt.involved(), reason, message, type=type, component="kubelet",
                              explanation=explanation, host=self.name, field_path=field_path)

    def _emit(self, rt: PodRuntime, c: ContainerRuntime | None, emits: Iterable[Emit], **fields: Any) -> None:
        if not emits:
            return
        values = {"pod": rt.name, "ns": rt.ns, "uid": rt.uid, "node": self.name, "container": "", "image": "",
                  "seconds": "", "size": "", "error": "", "volume": "", "backoff": "", "error_short": ""}
        if c is not None:
            values["container"] = c.name
            values["image"] = c.image
        values.update(fields)
        path = ""
        if c is not None:
            path = f"spec.{'initContainers' if c.init else 'containers'}{{{c.name}}}"
        for emit in emits:
            self._pod_event(rt, emit.reason, emit.message.format(**values), emit.type,
                            emit.explanation.format(**values) if emit.explanation else "", path)

    def _log(self, c: ContainerRuntime, line: str) -> None:
        if c.log is None:
            c.log = []
        c.log.append(f"{rfc3339_micro(self.clock.now)} {line}")
        if len(c.log) > 500:
            del c.log[:100]

    # ------------------------------------------------------------------ status
    def _mark_dirty(self, rt: PodRuntime) -> None:
        if not rt.flush_pending:
            rt.flush_pending = True
            self.clock.schedule(0, lambda: self._flush(rt))

    def _flush(self, rt: PodRuntime) -> None:
        rt.flush_pending = False
        if not self.connected or self.pods.get(rt.key) is not rt:
            return
        pod = self.store.find("pods", rt.ns, rt.name)
        if pod is None or pod["metadata"].get("uid") != rt.uid:
            return
        old = pod.get("status") or {}
        status = self.build_status(rt, old)
        if status == old:
            return
        new = dict(pod)
        new["status"] = status
        self.api.update_status(new)

    def build_status(self, rt: PodRuntime, old: dict) -> dict:
        """The pod status the kubelet reports for ``rt`` (conditions it does not own are kept)."""
        now = rfc3339(self.clock.now)
        status: dict[str, Any] = {}
        status["phase"] = self._phase(rt)
        conditions = [dict(cond) for cond in old.get("conditions") or ()]
        tmp = {"conditions": conditions}
        sandbox = rt.state == "SandboxReady" and not (rt.terminating and rt.final)
        set_condition(tmp, "PodReadyToStartContainers", "True" if sandbox else "False", now=now)
        pending_inits = [c.name for c in rt.inits if not (c.state == "Done" and c.exit_code == 0)]
        if pending_inits:
            set_condition(tmp, "Initialized", "False", reason="ContainersNotInitialized",
                          message=f"containers with incomplete status: [{' '.join(pending_inits)}]", now=now)
        else:
            set_condition(tmp, "Initialized", "True", now=now)
        unready = [c.name for c in rt.containers if not c.ready]
        if unready:
            msg = f"containers with unready status: [{' '.join(unready)}]"
            set_condition(tmp, "ContainersReady", "False", reason="ContainersNotReady", message=msg, now=now)
            set_condition(tmp, "Ready", "False", reason="ContainersNotReady", message=msg, now=now)
        else:
            set_condition(tmp, "ContainersReady", "True", now=now)
            missing = [g for g in rt.gates if (next((x for x in conditions if x.get("type") == g), {})
                                               .get("status") != "True")]
            if missing:
                gate = missing[0]
                exists = any(x.get("type") == gate for x in conditions)
                message = (f'the status of pod readiness gate "{gate}" is not "True", but False' if exists else
                           f'corresponding condition of pod readiness gate "{gate}" does not exist.')
                set_condition(tmp, "Ready", "False", reason="ReadinessGatesNotReady", message=message, now=now)
            else:
                set_condition(tmp, "Ready", "True", now=now)
        order = {"PodReadyToStartContainers": 0, "Initialized": 1, "Ready": 2, "ContainersReady": 3,
                 "PodScheduled": 4}
        conditions.sort(key=lambda x: order.get(x.get("type"), 5))
        status["conditions"] = conditions
        status["hostIP"] = self.internal_ip
        status["hostIPs"] = [{"ip": self.internal_ip}]
        if rt.ip:
            status["podIP"] = rt.ip
            status["podIPs"] = [{"ip": rt.ip}]
        status["startTime"] = rt.start_time
        if rt.inits:
            status["initContainerStatuses"] = [self._container_status(rt, c) for c in rt.inits]
        status["containerStatuses"] = [self._container_status(rt, c) for c in rt.containers]
        if old.get("qosClass"):
            status["qosClass"] = old["qosClass"]
        for key in ("nominatedNodeName", "reason", "message"):
            if old.get(key):
                status[key] = old[key]
        return status

    def _phase(self, rt: PodRuntime) -> str:
        if any(c.init and c.state == "Done" and c.exit_code not in (0, None) for c in rt.inits):
            return "Failed"
        if rt.terminating and rt.final:
            codes = [c.exit_code for c in rt.containers]
            if rt.restart_policy != "Always" and all(code == 0 for code in codes):
                return "Succeeded"
            return "Failed" if rt.restart_policy != "Always" or any(code not in (0, None) for code in codes) \
                else "Succeeded"
        if rt.state != "SandboxReady" or any(not (c.state == "Done" and c.exit_code == 0) for c in rt.inits):
            return "Pending"
        if rt.containers and all(c.state == "Done" for c in rt.containers):
            return "Succeeded" if all(c.exit_code == 0 for c in rt.containers) else "Failed"
        if any(c.state == "Running" or c.restart_count > 0 or c.state == "Done" for c in rt.containers):
            return "Running"
        return "Pending"

    def _container_status(self, rt: PodRuntime, c: ContainerRuntime) -> dict:
        image = normalize_image(c.image)
        if c.state == "Running":
            state = {"running": {"startedAt": rfc3339(c.started_at or self.clock.now)}}
        elif c.state in ("Exited", "Done") and c.exit_code is not None:
            state = {"terminated": self._terminated_state(c)}
        elif c.state in ("Exited", "Done"):
            state = {"terminated": {"exitCode": 137 if c.started_at is not None else 0,
                                    "reason": "ContainerStatusUnknown" if c.started_at is not None else "Completed",
                                    "message": "The container could not be located when the pod was terminated",
                                    "startedAt": None, "finishedAt": rfc3339(self.clock.now)}} \
                if c.started_at is not None else {"waiting": {"reason": "ContainerCreating"}}
        elif c.restart_count and c.last_state and c.waiting_reason == "ContainerCreating":
            state = c.last_state   # an immediate restart: kubectl shows the exit until the new one runs
        else:
            waiting = {"reason": c.waiting_reason or "ContainerCreating"}
            if c.waiting_message:
                waiting["message"] = c.waiting_message
            state = {"waiting": waiting}
        out = {"name": c.name, "state": state, "lastState": c.last_state or {}, "ready": bool(c.ready),
               "restartCount": c.restart_count, "image": image, "imageID": image_id(c.image) if c.pulled else "",
               "started": c.state == "Running" and c.started}
        if c.container_id:
            out["containerID"] = c.container_id
        return out


# ---------------------------------------------------------------------------------------------------
# helpers

def _restore_container(c: ContainerRuntime, status: dict | None, reboot: bool) -> None:
    """Rebuild a container's runtime record from its reported status."""
    if not status:
        return
    c.restart_count = int(status.get("restartCount") or 0)
    c.last_state = status.get("lastState") or None
    c.container_id = status.get("containerID") or ""
    c.pulled = bool(status.get("imageID"))
    state = status.get("state") or {}
    if "running" in state:
        c.state = "Running"
        c.started_at = parse_rfc3339(state["running"]["startedAt"]) if state["running"].get("startedAt") else None
        c.started = bool(status.get("started", True))
        c.ready = bool(status.get("ready"))
        if reboot:
            c.state, c.exit_code, c.exit_reason = "Exited", 255, "Unknown"
            c.finished_at = None
            c.ready = c.started = False
    elif "terminated" in state:
        term = state["terminated"]
        c.state = "Exited"
        c.exit_code = int(term.get("exitCode") or 0)
        c.exit_reason = term.get("reason") or ""
        c.started_at = parse_rfc3339(term["startedAt"]) if term.get("startedAt") else None
        c.finished_at = parse_rfc3339(term["finishedAt"]) if term.get("finishedAt") else None
        if c.init and c.exit_code == 0:
            c.state = "Done"
    else:
        waiting = state.get("waiting") or {}
        c.waiting_reason = waiting.get("reason") or "ContainerCreating"
        c.waiting_message = waiting.get("message") or ""
        c.state = "Waiting"


def _node_conditions(old_status: dict, now: str, *, pressure: dict[str, bool]) -> list[dict]:
    """The four kubelet-owned node conditions, with heartbeat now and transition times kept when unchanged."""
    old = {c.get("type"): c for c in old_status.get("conditions") or ()}
    out = []
    rows = [(row[0], "True" if pressure.get(kind) else "False", row[3] if pressure.get(kind) else row[1],
             row[4] if pressure.get(kind) else row[2]) for kind, row in _PRESSURE.items()]
    rows.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    for ctype, value, reason, message in rows:
        prev = old.get(ctype)
        transition = prev.get("lastTransitionTime") if prev and prev.get("status") == value else now
        out.append({"type": ctype, "status": value, "lastHeartbeatTime": now, "lastTransitionTime": transition,
                    "reason": reason, "message": message})
    return out


def _strip_heartbeats(conds: list[dict]) -> list[tuple]:
    return [(c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in conds]


def _hex(rng, n: int) -> str:
    return "".join(rng.choice(_HEX) for _ in range(n))


def _uuid(rng) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _go_duration(seconds: float) -> str:
    """Go's Duration.String for whole seconds: 10s, 1m20s, 5m0s."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s"
