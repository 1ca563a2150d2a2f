"""kube-scheduler: watch pending pods, pick a node for each, bind it (``pkg/scheduler``).

The store subscription is the informer: handlers only update the cache and the queue, never
schedule inline. Work happens in a clock callback scheduled at delay 0 whenever activeQ becomes
non-empty, one scheduling cycle per pod, in a bounded batch per callback (deterministic order).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..clock import rfc3339
from ..errors import StatusError
from ..objects import clone, labels_of, meta_of, spec_of, status_of
from .framework import FitError, Framework, SchedulerCache
from .queue import QueuedPod, SchedulingQueue
from .types import (NAMESPACE_LABEL, NODE_ADD, NODE_ALLOCATABLE, NODE_LABEL, NODE_TAINT, NODE_UNCORDON, POD_ADD,
                    POD_DELETE, POD_LABEL, VOLUME_CHANGE, PodInfo)

SCHEDULER_NAME = "default-scheduler"
COMPONENT = "default-scheduler"
BATCH = 256   # pods per clock callback; bounded so other simulated actors interleave

_FRIENDLY = {
    "Insufficient cpu": ("lack CPU", "lacks CPU"),
    "Insufficient memory": ("lack memory", "lacks memory"),
    "Too many pods": ("are full (pod limit reached)", "is full (pod limit reached)"),
    "node(s) were unschedulable": ("are cordoned", "is cordoned"),
    "node(s) didn't match Pod's node affinity/selector": ("don't match its node selector/affinity",
                                                          "doesn't match its node selector/affinity"),
    "node(s) didn't have free ports for the requested pod ports": ("have its host port taken",
                                                                   "has its host port taken"),
    "node(s) didn't match pod topology spread constraints": ("would break its topology spread",
                                                             "would break its topology spread"),
    "node(s) didn't match pod affinity rules": ("don't satisfy its pod affinity", "doesn't satisfy its pod affinity"),
    "node(s) didn't match pod anti-affinity rules": ("would break its pod anti-affinity",
                                                     "would break its pod anti-affinity"),
    "node(s) didn't satisfy existing pods anti-affinity rules": ("run pods whose anti-affinity forbids it",
                                                                 "runs pods whose anti-affinity forbids it"),
}


def _pod_key(pod: Mapping[str, Any]) -> tuple[str, str]:
    meta = meta_of(pod)
    return (meta.get("namespace") or "default", meta.get("name", ""))


def _is_terminal(pod: Mapping[str, Any]) -> bool:
    return status_of(pod).get("phase") in ("Succeeded", "Failed")


def responsible_for(pod: Mapping[str, Any]) -> bool:
    """Pending pods for this scheduler: our schedulerName, no node yet, not being deleted, not finished."""
    spec = spec_of(pod)
    return ((spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME and not spec.get("nodeName")
            and not meta_of(pod).get("deletionTimestamp") and not _is_terminal(pod))


def _scheduling_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """``isPodUpdated``: anything but status / resourceVersion / managedFields changed."""
    if old is None:
        return True
    om, nm = meta_of(old), meta_of(new)
    return (old.get("spec") != new.get("spec") or om.get("labels") != nm.get("labels")
            or om.get("annotations") != nm.get("annotations"))


def explain_failure(pod_name: str, counts: Mapping[str, int], pre_filter_msg: str) -> str:
    """A one-line learner explanation of a FitError."""
    if pre_filter_msg:
        if "unbound immediate" in pre_filter_msg:
            return (f"No node can run {pod_name} yet: its PersistentVolumeClaim is not bound to a volume. "
                    "It stays Pending until the claim is bound.")
        return f"No node can run {pod_name}: {pre_filter_msg}. It stays Pending until that is fixed."
    parts = []
    for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if "node-role.kubernetes.io/control-plane" in reason:
            phrase = ("are the control plane (tainted)", "is the control plane (tainted)")
        elif reason.startswith("node(s) had untolerated taint"):
            tail = reason.split("taint", 1)[1].strip()
            phrase = (f"have a taint it does not tolerate ({tail})", f"has a taint it does not tolerate ({tail})")
        else:
            phrase = _FRIENDLY.get(reason, (f"rejected it ({reason})", f"rejected it ({reason})"))
        verb = phrase[0] if n != 1 else phrase[1]
        if not parts:
            parts.append(f"{n} node{'s' if n != 1 else ''} {verb}")
        else:
            parts.append(f"{n} {verb}")
    detail = ", ".join(parts) if parts else "there are no nodes"
    return f"No node can run {pod_name}: {detail}. It stays Pending until room appears."


class Scheduler:
    """The default scheduler of one simulated cluster."""

    def __init__(self, api: Any, clock: Any, profile_values: Mapping[str, Any] | None = None):
        values = dict(profile_values or {})
        self.api = api
        self.clock = clock
        self.store = api.store
        self.cache = SchedulerCache(self.store)
        self.framework = Framework(self.cache, clock.rng,
                                   int(values.get("percentage_of_nodes_to_score",
                                                  values.get("percentageOfNodesToScore", 0)) or 0))
        self.queue = SchedulingQueue(
            clock,
            initial_backoff=float(values.get("pod_initial_backoff", values.get("podInitialBackoffSeconds", 1.0))),
            max_backoff=float(values.get("pod_max_backoff", values.get("podMaxBackoffSeconds", 10.0))),
            max_unschedulable=float(values.get("pod_max_in_unschedulable_pods_duration",
                                               values.get("podMaxInUnschedulablePodsDuration", 300.0))),
            on_active=self._kick)
        self.stopped = False
        self.batch = BATCH
        self._pending = None
        self.scheduled = 0
        self.failed = 0
        for node in self.store.list("nodes"):
            self.cache.add_node(node)
        for pod in self.store.list("pods"):
            self._on_pod("ADDED", pod, None)
        self._unsubscribe = self.store.subscribe(self._on_event)

    # ---------------------------------------------------------------- lifecycle
    def stop(self) -> None:
        """Stop scheduling (pods still queue up), as when kube-scheduler is down."""
        self.stopped = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def start(self) -> None:
        """Resume scheduling whatever queued up meanwhile."""
        self.stopped = False
        self._kick()

    def close(self) -> None:
        self.stop()
        self._unsubscribe()

    def resync(self) -> None:
        """Nothing to catch up: the cache was listed at construction and follows every event."""

    def _kick(self) -> None:
        if self._pending is None and not self.stopped:
            self._pending = self.clock.schedule(0, self._run, COMPONENT)

    def _run(self) -> None:
        self._pending = None
        if self.stopped:
            return
        for _ in range(self.batch):
            if self.stopped:
                return
            qp = self.queue.pop()
            if qp is None:
                return
            try:
                self.schedule_one(qp)
            except Exception as err:  # a bug in one cycle: that pod backs off, the others are scheduled
                self._handle_error(qp, err)
        if self.queue.has_active():
            self._kick()

    # ---------------------------------------------------------------- informer handlers
    def _on_event(self, ev: Any) -> None:
        resource = ev.resource
        if resource == "pods":
            self._on_pod(ev.type, ev.obj, ev.old)
        elif resource == "nodes":
            self._on_node(ev.type, ev.obj, ev.old)
        elif resource in ("persistentvolumeclaims", "persistentvolumes", "storageclasses"):
            if ev.type != "DELETED":
                self._move_for(VOLUME_CHANGE)
        elif resource == "namespaces":
            old_labels = meta_of(ev.old).get("labels")
            if ev.type != "DELETED" and old_labels != meta_of(ev.obj).get("labels"):
                self._move_for(NAMESPACE_LABEL)

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        key = _pod_key(pod)
        cache, queue = self.cache, self.queue
        if etype == "DELETED":
            queue.delete(key)
            if cache.remove_pod(key) is not None:
                self._move_for(POD_DELETE)
            return
        node = spec_of(pod).get("nodeName")
        if node:
            if key in queue:
                queue.delete(key)
            if _is_terminal(pod):
                if cache.remove_pod(key) is not None:
                    self._move_for(POD_DELETE)
                return
            current = cache.pod(key)
            if current is not None and current.node_name == node and key in cache.assumed:
                cache.assumed.discard(key)          # our own binding confirmed: same pod, same node
                current.pod = pod
                return
            if (current is not None and current.node_name == node and current.pod.get("spec") == pod.get("spec")
                    and current.labels == labels_of(pod)
                    and current.terminating == bool(pod["metadata"].get("deletionTimestamp"))):
                current.pod = pod                   # status-only change: the accounting is unchanged
                return
            cache.add_pod(PodInfo(pod))
            if current is None:
                self._move_for(POD_ADD)
            else:
                self._move_for(POD_DELETE, POD_LABEL)
            return
        if not responsible_for(pod):
            queue.delete(key)
            return
        if spec_of(pod).get("schedulingGates"):
            queue.delete(key)                       # PreEnqueue: gated pods wait outside the queue
            return
        if key not in queue:
            queue.add(pod)
        else:
            queue.update(pod, _scheduling_changed(old, pod))

    def _on_node(self, etype: str, node: dict, old: dict | None) -> None:
        cache = self.cache
        name = node["metadata"]["name"]
        if etype == "DELETED":
            cache.remove_node(name)
            return
        if etype == "ADDED" or old is None or name not in cache.node_infos or cache.node_infos[name].node is None:
            cache.add_node(node)
            self._move_for(NODE_ADD)
            return
        o_meta, n_meta = meta_of(old), meta_of(node)
        o_spec, n_spec = spec_of(old), spec_of(node)
        o_alloc = status_of(old).get("allocatable")
        n_alloc = status_of(node).get("allocatable")
        labels_changed = o_meta.get("labels") != n_meta.get("labels")
        if o_spec == n_spec and not labels_changed and o_alloc == n_alloc:
            cache.node_infos[name].node = node      # heartbeat / conditions: nothing the filters read
            return
        cache.update_node(node)
        events = []
        if bool(o_spec.get("unschedulable")) and not n_spec.get("unschedulable"):
            events.append(NODE_UNCORDON)
        if o_spec.get("taints") != n_spec.get("taints"):
            events.append(NODE_TAINT)
        if labels_changed:
            events.append(NODE_LABEL)
        if o_alloc != n_alloc:
            events.append(NODE_ALLOCATABLE)
        if events:
            self._move_for(*events)

    def _move_for(self, *events: str) -> None:
        """Give the pods rejected by a plugin registered for one of ``events`` another try."""
        plugins = self.framework.plugins_registered_for(*events)
        if plugins:
            self.queue.move_all(plugins)

    # ---------------------------------------------------------------- one cycle
    def schedule_one(self, qp: QueuedPod) -> str | None:
        """Run one scheduling cycle for ``qp``; returns the node name on success."""
        ns, name = qp.key
        pod = self.store.find("pods", ns, name)
        if pod is None or not responsible_for(pod):
            self.queue.delete(qp.key)
            return None
        qp.pod = pod
        pi = PodInfo(pod)
        try:
            result = self.framework.schedule_pod(pi)
        except FitError as err:
            self._handle_failure(qp, pi, err)
            return None
        node = result.node
        pi.node_name = node
        self.cache.assume(pi)
        try:
            self.framework.run_pre_bind(pi, node, self.api)
            self.api.bind(ns, name, node)
        except StatusError as err:
            self.cache.forget(qp.key)
            self.queue.add_backoff(qp)
            self.failed += 1
            self._record(pod, "FailedScheduling", f"Binding rejected: {err.message}", "Warning",
                         f"The scheduler chose {node} for {name} but the binding failed ({err.message}); "
                         "it will retry after a back-off.")
            return None
        self.queue.done(qp.key)
        self.scheduled += 1
        if result.feasible == 1:
            why = "it is the only node that passed every filter."
        else:
            why = (f"it passed every filter and scored highest ({result.score}) of the {result.feasible} "
                   "feasible nodes checked.")
        self._record(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {node}", "Normal",
                     f"The scheduler placed {name} on {node}: {why} The kubelet there starts it next.")
        return node

    def _handle_error(self, qp: QueuedPod, err: Exception) -> None:
        """Count an unexpected error in ``qp``'s cycle; undo its assumption and retry it after its back-off."""
        self.cache.forget(qp.key)       # a no-op once the binding was confirmed
        self.queue.add_backoff(qp)
        self.failed += 1
        self.clock.failures.record(COMPONENT, err, qp.key)

    def _handle_failure(self, qp: QueuedPod, pi: PodInfo, err: FitError) -> None:
        self.failed += 1
        self.queue.add_unschedulable(qp, err.diagnosis.unschedulable_plugins)
        message = str(err)
        explanation = explain_failure(pi.name, err.diagnosis.reasons_histogram(), err.diagnosis.pre_filter_msg)
        self._record(qp.pod, "FailedScheduling", message, "Warning", explanation)
        self._set_unschedulable_condition(qp.key, message)

    def _set_unschedulable_condition(self, key: tuple[str, str], message: str) -> None:
        pod = self.store.find("pods", *key)
        if pod is None or spec_of(pod).get("nodeName"):
            return
        conds = status_of(pod).get("conditions") or []
        old = next((c for c in conds if c.get("type") == "PodScheduled"), None)
        if old is not None and old.get("status") == "False" and old.get("reason") == "Unschedulable" \
                and old.get("message") == message:
            return
        new = clone(pod)
        status = new.setdefault("status", {})
        status.setdefault("phase", "Pending")
        cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": rfc3339(self.clock.now), "reason": "Unschedulable", "message": message}
        if old is not None and old.get("status") == "False" and old.get("lastTransitionTime"):
            cond["lastTransitionTime"] = old["lastTransitionTime"]
        new_conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        new_conds.append(cond)
        status["conditions"] = new_conds
        try:
            update_status = getattr(self.api, "update_status", None)
            if update_status is not None:
                update_status(new)
            else:
                self.api.update(new, subresource="status")
        except StatusError:
            pass     # the pod changed or went away meanwhile; the next attempt writes again

    def _record(self, pod: dict, reason: str, message: str, type_: str, explanation: str) -> None:
        try:
            self.api.record_event(pod, reason, message, type=type_, component=COMPONENT, explanation=explanation)
        except StatusError:
            pass     # events are best effort, as in Kubernetes
