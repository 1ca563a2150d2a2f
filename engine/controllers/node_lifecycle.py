"""Node lifecycle controller, after ``pkg/controller/nodelifecycle`` + ``pkg/controller/tainteviction`` + PodGC.

* Health: a node whose lease has not been renewed for ``node_monitor_grace_period`` gets its
  Ready/MemoryPressure/DiskPressure/PIDPressure conditions set to ``Unknown`` (``NodeStatusUnknown``,
  ``Kubelet stopped posting node status.``), a ``NodeNotReady`` event, and its pods Ready=False so
  endpoints drop them. The check runs on the ``node_monitor_period`` grid, like the real monitor loop,
  but is driven by one deadline timer per node whose lease *stopped* being renewed (see the
  heartbeat scheme in engine/component_helpers/node_lease.py): healthy nodes cost nothing per tick.
* Taints by condition (TaintNodesByCondition + NoExecute taints): Ready Unknown → ``unreachable``,
  Ready False → ``not-ready`` (NoExecute and NoSchedule), memory/disk/PID pressure → NoSchedule,
  ``spec.unschedulable`` → ``node.kubernetes.io/unschedulable:NoSchedule``.
* Taint eviction: pods on a node with NoExecute taints are deleted when their toleration expires
  (``TaintManagerEviction`` ``Marking for deletion Pod ns/name``, condition DisruptionTarget), at once
  if they do not tolerate the taint, never if they tolerate it without ``tolerationSeconds``;
  pending evictions are cancelled (``Cancelling deletion of Pod ns/name``) when the taint goes.
* PodGC: pods bound to a node whose Node object is gone are force-deleted.
"""
from __future__ import annotations

import math

from ..client.workqueue import Controller
from ..clock import Handle, parse_rfc3339, rfc3339
from ..component_helpers.scheduling import tolerates
from ..etcd.store import ADDED, DELETED, Event
from ..component_helpers.node_lease import LEASE_NAMESPACE, effective_renew_time, lease_is_renewing
from ..objects import clone, condition_true, get_condition, spec_of, status_of

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
MANAGED_TAINTS = (UNREACHABLE, NOT_READY, UNSCHEDULABLE, MEMORY_PRESSURE, DISK_PRESSURE, PID_PRESSURE)
_PRESSURE_TAINTS = (("MemoryPressure", MEMORY_PRESSURE), ("DiskPressure", DISK_PRESSURE),
                    ("PIDPressure", PID_PRESSURE))
_NODE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")


def desired_taints(node: dict) -> list[tuple[str, str]]:
    """Return the (key, effect) taints this controller wants on ``node``, from its conditions and spec."""
    out: list[tuple[str, str]] = []
    ready = get_condition(node, "Ready")
    status = ready.get("status") if ready else None
    if status == "Unknown":
        out += [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    elif status == "False":
        out += [(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")]
    for ctype, key in _PRESSURE_TAINTS:
        if condition_true(node, ctype):
            out.append((key, "NoSchedule"))
    if spec_of(node).get("unschedulable"):
        out.append((UNSCHEDULABLE, "NoSchedule"))
    return out


def eviction_time(pod: dict, taints: list[dict]) -> float | None:
    """When the taint manager deletes ``pod`` on a node with these NoExecute ``taints`` (None = never).

    A taint the pod does not tolerate evicts at once (its ``timeAdded``); otherwise the smallest
    ``tolerationSeconds`` of the tolerations used counts from the taint's ``timeAdded``.
    """
    tolerations = spec_of(pod).get("tolerations") or []
    when: float | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        added = parse_rfc3339(taint["timeAdded"]) if taint.get("timeAdded") else 0.0
        used = [t for t in tolerations if tolerates(t, taint)]
        if not used:
            return added
        seconds = [t.get("tolerationSeconds") for t in used if t.get("tolerationSeconds") is not None]
        if not seconds:
            continue
        at = added + max(0, min(int(s) for s in seconds))
        when = at if when is None else min(when, at)
    return when


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"

    def __init__(self, api, clock, profile=None):
        super().__init__(api, clock)
        self.profile = profile or api.profile
        self._checks: dict[str, Handle] = {}                      # node → next health check
        self._noexecute: dict[str, list[dict]] = {}               # node → its NoExecute taints
        self._evictions: dict[tuple[str, str], tuple[Handle, str, str]] = {}   # pod → (timer, uid, node)
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ events → keys
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "leases":
            meta = ev.obj["metadata"]
            if meta.get("namespace") == LEASE_NAMESPACE and ev.type != DELETED:
                self.queue.add(("node", meta["name"]))
        elif resource == "nodes":
            name = ev.obj["metadata"]["name"]
            if ev.type == DELETED:
                self.queue.add(("gone", name))
                return
            if ev.type == ADDED:
                self.queue.add(("registered", name))
                self.queue.add(("node", name))
                return
            old = ev.old or {}
            if (status_of(old).get("conditions") != status_of(ev.obj).get("conditions")
                    or spec_of(old).get("unschedulable") != spec_of(ev.obj).get("unschedulable")
                    or spec_of(old).get("taints") != spec_of(ev.obj).get("taints")):
                self.queue.add(("node", name))
        elif resource == "pods":
            meta = ev.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if ev.type == DELETED:
                pending = self._evictions.pop(key, None)
                if pending is not None:
                    pending[0].cancel()
                return
            node = spec_of(ev.obj).get("nodeName")
            if node and node in self._noexecute and key not in self._evictions and not meta.get("deletionTimestamp"):
                self.queue.add(("pod", key[0], key[1]))

    def resync(self) -> None:
        """After a restart from the database: look at every node once."""
        for node in self.store.list("nodes"):
            self.queue.add(("node", node["metadata"]["name"]))

    def sync(self, key) -> None:
        kind = key[0]
        if kind == "node":
            self.sync_node(key[1])
        elif kind == "registered":
            node = self.store.find("nodes", "", key[1])
            if node is not None:
                self.api.record_event(node, "RegisteredNode", f"Node {key[1]} event: Registered Node {key[1]} in "
                                      "Controller", component="node-controller",
                                      explanation=f"the control plane now tracks {key[1]}'s health")
        elif kind == "gone":
            self.gc_orphaned_pods(key[1])
        elif kind == "pod":
            self._sync_pod(key[1], key[2])
        elif kind == "evict":
            self._evict(key[1], key[2], key[3])

    # ------------------------------------------------------------------ health
    def sync_node(self, name: str) -> None:
        node = self.store.find("nodes", "", name)
        if node is None:
            return
        now = self.clock.now
        lease = self.store.find("leases", LEASE_NAMESPACE, name)
        grace = self.profile.node_monitor_grace_period
        stale = False
        check = self._checks.pop(name, None)
        if check is not None:
            check.cancel()
        if lease is None or not lease_is_renewing(lease):
            if lease is not None:
                last = effective_renew_time(lease, now) or 0.0
            else:
                last = parse_rfc3339(node["metadata"]["creationTimestamp"])
                grace = self.profile.node_startup_grace_period
            deadline = last + grace
            if now + 1e-9 >= deadline:
                stale = True
            else:
                period = self.profile.node_monitor_period
                at = math.ceil(deadline / period - 1e-9) * period
                self._checks[name] = self.clock.schedule_at(at, lambda: self.queue.add(("node", name)))
        if stale:
            node = self._mark_unknown(node, last, grace) or node
        self._sync_taints(node)

    def _mark_unknown(self, node: dict, last: float, grace: float) -> dict | None:
        ready = get_condition(node, "Ready")
        if ready is not None and ready.get("status") == "Unknown":
            return None
        name = node["metadata"]["name"]
        now = rfc3339(self.clock.now)
        new = clone(node)
        conds = new.setdefault("status", {}).setdefault("conditions", [])
        by_type = {c.get("type"): c for c in conds}
        for ctype in _NODE_CONDITIONS:
            cond = by_type.get(ctype)
            if cond is None:
                conds.append({"type": ctype, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                              "message": "Kubelet never posted node status.", "lastHeartbeatTime": now,
                              "lastTransitionTime": now})
            elif cond.get("status") != "Unknown":
                cond.update(status="Unknown", reason="NodeStatusUnknown",
                            message="Kubelet stopped posting node status.", lastTransitionTime=now)
        stored = self.api.update_status(new)
        tolerance = self.profile.default_toleration_seconds
        self.api.record_event(
            {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "uid": node["metadata"].get("uid", "")}},
            "NodeNotReady", f"Node {name} status is now: NodeNotReady", component="node-controller",
            explanation=(f"{name} has not sent a heartbeat for {_num(self.clock.now - last)} s: marked Unknown; its "
                         f"pods will be evicted in {tolerance} s unless it returns."))
        self.mark_pods_not_ready(name)
        return stored

    def mark_pods_not_ready(self, node: str) -> None:
        """``MarkPodsNotReady``: Ready (and ContainersReady) False for every pod on the node."""
        now = rfc3339(self.clock.now)
        for pod in self.store.pods_on_node(node):
            conds = status_of(pod).get("conditions") or []
            if not any(c.get("type") in ("Ready", "ContainersReady") and c.get("status") != "False" for c in conds):
                continue
            new = dict(pod)
            status = dict(status_of(pod))
            status["conditions"] = [dict(c, status="False", lastTransitionTime=now)
                                    if c.get("type") in ("Ready", "ContainersReady") and c.get("status") != "False"
                                    else c for c in conds]
            new["status"] = status
            self.api.update_status(new)

    # ------------------------------------------------------------------ taints
    def _sync_taints(self, node: dict) -> None:
        name = node["metadata"]["name"]
        current = list(spec_of(node).get("taints") or [])
        want = desired_taints(node)
        now = rfc3339(self.clock.now)
        kept = [t for t in current if t.get("key") not in MANAGED_TAINTS
                or (t.get("key"), t.get("effect")) in want]
        have = {(t.get("key"), t.get("effect")) for t in kept}
        added = []
        for key, effect in want:
            if (key, effect) not in have:
                taint = {"key": key, "effect": effect}
                if effect == "NoExecute":
                    taint["timeAdded"] = now
                added.append(taint)
        taints = kept + added
        if taints != current:
            new = clone(node)
            if taints:
                new["spec"]["taints"] = taints
            else:
                new["spec"].pop("taints", None)
            # The kubelet records NodeNotSchedulable; the taint is what the scheduler reads.
            self.api.update_internal(new)
        noexec = [t for t in taints if t.get("effect") == "NoExecute"]
        if noexec:
            self._noexecute[name] = noexec
            for pod in self.store.pods_on_node(name):
                self._schedule_eviction(pod, noexec)
        elif self._noexecute.pop(name, None) is not None:
            self._cancel_evictions(name)

    # ------------------------------------------------------------------ taint eviction
    def _sync_pod(self, ns: str, name: str) -> None:
        pod = self.store.find("pods", ns, name)
        if pod is None:
            return
        taints = self._noexecute.get(spec_of(pod).get("nodeName") or "")
        if taints:
            self._schedule_eviction(pod, taints)

    def _schedule_eviction(self, pod: dict, taints: list[dict]) -> None:
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if meta.get("deletionTimestamp"):
            return
        when = eviction_time(pod, taints)
        pending = self._evictions.get(key)
        if pending is not None:
            if pending[1] == meta.get("uid") and when is not None and abs(pending[0].when - when) < 1e-9:
                return
            pending[0].cancel()
            del self._evictions[key]
        if when is None:
            return
        uid = meta.get("uid", "")
        handle = self.clock.schedule_at(when, lambda: self.queue.add(("evict", key[0], key[1], uid)))
        self._evictions[key] = (handle, uid, spec_of(pod).get("nodeName") or "")

    def _evict(self, ns: str, name: str, uid: str) -> None:
        pending = self._evictions.get((ns, name))
        if pending is not None and pending[1] == uid:
            del self._evictions[(ns, name)]
        pod = self.store.find("pods", ns, name)
        if pod is None or pod["metadata"].get("uid") != uid or pod["metadata"].get("deletionTimestamp"):
            return
        node = spec_of(pod).get("nodeName") or ""
        taints = self._noexecute.get(node)
        if not taints:
            return
        when = eviction_time(pod, taints)
        if when is None:
            return
        if when > self.clock.now + 1e-9:
            self._schedule_eviction(pod, taints)
            return
        self.api.record_event(pod, "TaintManagerEviction", f"Marking for deletion Pod {ns}/{name}",
                              component="taint-eviction-controller",
                              explanation=(f"{node} is tainted {taints[0]['key']}:NoExecute and {name}'s toleration "
                                           "ran out: the pod is deleted so its controller can replace it elsewhere"))
        new = dict(pod)
        status = dict(status_of(pod))
        conds = [c for c in status.get("conditions") or () if c.get("type") != "DisruptionTarget"]
        conds.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": rfc3339(self.clock.now), "reason": "DeletionByTaintManager",
                      "message": "Taint manager: deleting due to NoExecute taint"})
        status["conditions"] = conds
        new["status"] = status
        self.api.update_status(new)
        self.api.delete_internal("pods", ns, name, uid=uid)

    def _cancel_evictions(self, node: str) -> None:
        for key in sorted(k for k, v in self._evictions.items() if v[2] == node):
            handle, uid, _ = self._evictions.pop(key)
            handle.cancel()
            pod = self.store.find("pods", *key)
            if pod is None or pod["metadata"].get("uid") != uid:
                continue
            self.api.record_event(pod, "TaintManagerEviction", f"Cancelling deletion of Pod {key[0]}/{key[1]}",
                                  component="taint-eviction-controller",
                                  explanation=f"{node} is healthy again: {key[1]} is no longer going to be evicted")

    # ------------------------------------------------------------------ PodGC
    def gc_orphaned_pods(self, node: str) -> None:
        """PodGC: force-delete pods bound to a node that no longer exists."""
        check = self._checks.pop(node, None)
        if check is not None:
            check.cancel()
        self._noexecute.pop(node, None)
        if self.store.find("nodes", "", node) is not None:
            return
        now = rfc3339(self.clock.now)
        for pod in self.store.pods_on_node(node):
            meta = pod["metadata"]
            ns, name, uid = meta.get("namespace", ""), meta["name"], meta.get("uid", "")
            pending = self._evictions.pop((ns, name), None)
            if pending is not None:
                pending[0].cancel()
            if status_of(pod).get("phase") not in ("Succeeded", "Failed"):
                new = dict(pod)
                status = dict(status_of(pod))
                conds = [c for c in status.get("conditions") or () if c.get("type") != "DisruptionTarget"]
                conds.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                              "lastTransitionTime": now, "reason": "DeletionByPodGC",
                              "message": "PodGC: node no longer exists"})
                status["conditions"] = conds
                status["phase"] = "Failed"
                new["status"] = status
                self.api.update_status(new)
            self.api.delete_internal("pods", ns, name, grace_period=0, uid=uid)


def _num(value: float) -> str:
    return str(int(round(value))) if abs(value - round(value)) < 1e-6 else f"{value:.1f}"
