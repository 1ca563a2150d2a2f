"""The node side of the kubelet: node events, Lease heartbeats, and the node status it posts.

Upstream splits this between ``pkg/kubelet/nodestatus`` (conditions, images, node info) and the
node lease controller. ``NodeStatusManager`` is a mixin of ``Kubelet`` (engine/kubelet/kubelet.py) and uses
its state (``connected``, ``state``, ``images``, ``pressure``, ``hb_start``). Lease renewals are
materialised lazily (engine/component_helpers/node_lease.py); node status is posted only when conditions or images change.
"""
from __future__ import annotations

import math

from ..clock import parse_rfc3339, rfc3339, rfc3339_micro
from ..errors import BadRequest
from ..objects import annotations_of, clone, get_condition, spec_of, status_of
from ..component_helpers.node_lease import HEARTBEAT_ANNOTATION, KUBELET_STATE_ANNOTATION, LEASE_NAMESPACE
from .runtime import format_number, random_hex, random_uuid
from .stages import image_id, image_size

KUBELET_VERSION = "v1.32.0"
CONTAINER_RUNTIME = "containerd://1.7.24"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
KERNEL_VERSION = "6.1.0-28-amd64"

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


class NodeStatusManager:
    """Mixin of ``Kubelet``: node events, heartbeats (the Lease) and node status (conditions, images)."""

    def _node_involved(self) -> dict:
        # The kubelet records node events with the node name as UID, as the real one does.
        return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": self.name, "uid": self.name}}

    def _node_event(self, reason: str, message: str, type: str = "Normal", explanation: str = "") -> None:
        self.api.record_event(self._node_involved(), reason, message, type=type, component="kubelet",
                              host=self.name, explanation=explanation)

    def restore_node_status(self, node: dict) -> None:
        """Take back the images and pressure the Node reports (after a restart from the database)."""
        status = status_of(node)
        for img in status.get("images") or ():
            for n in img.get("names") or ():
                if "@" not in n:
                    self.images.add(n)
        for cond in status.get("conditions") or ():
            for kind, row in _PRESSURE.items():
                if cond.get("type") == row[0] and cond.get("status") == "True":
                    self.pressure[kind] = True

    def boot_events(self, first: bool = False) -> None:
        """Record the events of a kubelet (re)start: Starting, allocatable, pressure and NodeReady."""
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
        annotations = dict(annotations_of(new))
        if renewing:
            annotations[HEARTBEAT_ANNOTATION] = format_number(self.profile.lease_renew_interval)
        else:
            annotations.pop(HEARTBEAT_ANNOTATION, None)
        annotations[KUBELET_STATE_ANNOTATION] = self.state
        new["metadata"]["annotations"] = annotations
        new["spec"]["renewTime"] = rfc3339_micro(renew)
        new["spec"]["holderIdentity"] = self.name
        self.api.update_internal(new)

    def _write_lease_state(self) -> None:
        lease = self.store.find("leases", LEASE_NAMESPACE, self.name)
        if lease is not None:
            renew = parse_rfc3339(lease["spec"]["renewTime"]) if lease["spec"].get("renewTime") else self.clock.now
            self._write_lease(renew, renewing=False)

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
        old_status = status_of(node)
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
        if spec_of(node).get("unschedulable"):
            self._node_event("NodeNotSchedulable", f"Node {self.name} status is now: NodeNotSchedulable",
                             explanation=f"{self.name} is cordoned: running pods stay, new pods go elsewhere")
        else:
            self._node_event("NodeSchedulable", f"Node {self.name} status is now: NodeSchedulable",
                             explanation=f"{self.name} is uncordoned: the scheduler may use it again")


def new_node(name: str, *, labels: dict, taints: list | None, capacity: dict, cidr: str, internal_ip: str,
             rng, now: str) -> dict:
    """Return the Node object a kubelet registers (kind-like: containerd, Debian, the node's podCIDR)."""
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                     "kubeadm.alpha.kubernetes.io/cri-socket":
                                         "unix:///run/containerd/containerd.sock"}},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"kind://docker/kubedrill/{name}",
                 **({"taints": [dict(t) for t in taints]} if taints else {})},
        "status": {
            "capacity": capacity, "allocatable": dict(capacity),
            "conditions": _node_conditions({}, now, pressure={}),
            "addresses": [{"type": "InternalIP", "address": internal_ip},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            # Drawn in this order (machineID, systemUUID, bootID): the seeded rng makes nodes reproducible.
            "nodeInfo": {"machineID": random_hex(rng, 32), "systemUUID": random_uuid(rng), "bootID": random_uuid(rng),
                         "kernelVersion": KERNEL_VERSION, "osImage": OS_IMAGE,
                         "containerRuntimeVersion": CONTAINER_RUNTIME, "kubeletVersion": KUBELET_VERSION,
                         "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux",
                         "architecture": "amd64"},
            "images": [],
        },
    }


def _node_conditions(old_status: dict, now: str, *, pressure: dict[str, bool]) -> list[dict]:
    """Return the four kubelet-owned node conditions, with heartbeat now and transition times kept when unchanged."""
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
