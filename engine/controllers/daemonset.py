"""DaemonSet controller: one pod per eligible node, following nodes as they come and go.

After ``pkg/controller/daemon``: the pod is pinned with a required node affinity on
``metadata.name`` and scheduled by the default scheduler; daemon pods tolerate the node-condition
taints (``AddOrUpdateDaemonPodTolerations``) so a NotReady node keeps them. A node event only
reconciles that node, so the cost of a node change does not grow with the cluster.
"""
from __future__ import annotations

from ..client.workqueue import Controller
from ..component_helpers.scheduling import tolerates
from ..errors import StatusError
from ..etcd.store import DELETED, Event
from ..objects import (clone, is_pod_active, is_terminating, labels_of, meta_of, owner_controller, pod_ready,
                       spec_of, status_of)
from ..selectors import LabelSelector
from .controller_utils import min_ready_seconds, omit_zero, pod_available, pod_from_template

DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
STATUS_DEBOUNCE = 0.5


def node_should_run(ds: dict, node: dict) -> bool:
    """Whether a daemon pod belongs on ``node``: its selector/affinity match and its taints are tolerated."""
    if is_terminating(node):
        return False
    pod_spec = spec_of(spec_of(ds).get("template"))
    labels = labels_of(node)
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(_term_matches(t, node) for t in terms):
        return False
    tolerations = list(pod_spec.get("tolerations") or []) + list(DAEMON_TOLERATIONS)
    for taint in spec_of(node).get("taints") or ():
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(tolerates(t, taint) for t in tolerations):
            return False
    return True


def _term_matches(term: dict, node: dict) -> bool:
    labels = labels_of(node)
    for expr in term.get("matchExpressions") or ():
        sel = LabelSelector.from_dict({"matchExpressions": [expr]}) if expr.get("operator") in (
            "In", "NotIn", "Exists", "DoesNotExist") else None
        if sel is None or not sel.matches(labels):
            return False
    for expr in term.get("matchFields") or ():
        if expr.get("key") == "metadata.name":
            values = expr.get("values") or []
            inside = node["metadata"]["name"] in values
            if (expr.get("operator") == "In") != inside:
                return False
    return True


def daemon_pod(ds: dict, node_name: str) -> dict:
    pod = pod_from_template(ds, ds["spec"]["template"])
    spec = pod["spec"]
    spec["affinity"] = dict(spec.get("affinity") or {})
    spec["affinity"]["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}
    tolerations = list(spec.get("tolerations") or [])
    for t in DAEMON_TOLERATIONS:
        if not any(x.get("key") == t["key"] and x.get("effect") == t["effect"] for x in tolerations):
            tolerations.append(dict(t))
    spec["tolerations"] = tolerations
    pod["metadata"]["labels"]["pod-template-generation"] = str(ds["metadata"].get("generation", 1))
    return pod


def target_node(pod: dict) -> str:
    """The node a daemon pod is pinned to (its node affinity), or where it runs."""
    if spec_of(pod).get("nodeName"):
        return pod["spec"]["nodeName"]
    terms = (((spec_of(pod).get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for f in term.get("matchFields") or ():
            if f.get("key") == "metadata.name" and f.get("values"):
                return f["values"][0]
    return ""


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        self.store.subscribe(self.on_event)

    def on_event(self, ev: Event) -> None:
        meta = ev.obj["metadata"]
        if ev.resource == "daemonsets":
            self.queue.add(("ds", meta.get("namespace", ""), meta["name"]))
        elif ev.resource == "nodes":
            if ev.type == DELETED or ev.old is None or self._node_changed(ev.old, ev.obj):
                for ds in self.store.list("daemonsets"):
                    self.queue.add(("node", ds["metadata"].get("namespace", ""), ds["metadata"]["name"], meta["name"]))
        elif ev.resource == "pods":
            ref = owner_controller(ev.obj)
            if ref is not None and ref.get("kind") == "DaemonSet":
                ns = meta.get("namespace", "")
                node = target_node(ev.obj)
                if node and (ev.type == DELETED or not is_pod_active(ev.obj)):
                    self.queue.add(("node", ns, ref["name"], node))
                self.queue.add_after(("status", ns, ref["name"]), STATUS_DEBOUNCE)

    @staticmethod
    def _node_changed(old: dict, new: dict) -> bool:
        return (old["metadata"].get("labels") != new["metadata"].get("labels")
                or spec_of(old).get("taints") != spec_of(new).get("taints"))

    def resync(self) -> None:
        for ds in self.store.list("daemonsets"):
            self.queue.add(("ds", ds["metadata"].get("namespace", ""), ds["metadata"]["name"]))

    def sync(self, key) -> None:
        if key[0] == "ds":
            _, ns, name = key
            ds = self.store.find("daemonsets", ns, name)
            if ds is None:
                return
            if not ds["metadata"].get("deletionTimestamp"):
                by_node = self._pods_by_node(ds)
                for node in self.store.list("nodes"):
                    self._reconcile_node(ds, node, by_node.pop(node["metadata"]["name"], []))
                for node_name, pods in by_node.items():  # pods for nodes that no longer exist
                    self._reconcile_node(ds, None, pods, node_name)
            self._sync_status(ds)
        elif key[0] == "node":
            _, ns, name, node_name = key
            ds = self.store.find("daemonsets", ns, name)
            if ds is None or ds["metadata"].get("deletionTimestamp"):
                return
            pods = [p for p in self.store.owned_by(ds["metadata"]["uid"], "pods") if target_node(p) == node_name]
            self._reconcile_node(ds, self.store.find("nodes", "", node_name), pods, node_name)
            self.queue.add_after(("status", ns, name), STATUS_DEBOUNCE)
        else:
            _, ns, name = key
            ds = self.store.find("daemonsets", ns, name)
            if ds is not None:
                self._sync_status(ds)

    def _pods_by_node(self, ds: dict) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for pod in self.store.owned_by(ds["metadata"]["uid"], "pods"):
            out.setdefault(target_node(pod), []).append(pod)
        return out

    def _reconcile_node(self, ds: dict, node: dict | None, pods: list[dict], node_name: str = "") -> None:
        node_name = node["metadata"]["name"] if node is not None else node_name
        active = [p for p in pods if is_pod_active(p)]
        should = node is not None and node_should_run(ds, node)
        name = ds["metadata"]["name"]
        if should and not active:
            try:
                made = self.api.create_internal(daemon_pod(ds, node_name))
            except StatusError as err:
                self.api.record_event(ds, "FailedCreate", f"Error creating: {err.message}", type="Warning",
                                      component=self.name)
                raise
            self.api.record_event(ds, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}",
                                  component=self.name,
                                  explanation=f"DaemonSet {name} runs one pod per node: created "
                                              f"{made['metadata']['name']} for {node_name}")
        victims = active if not should else sorted(active, key=lambda p: p["metadata"]["creationTimestamp"])[1:]
        for pod in victims:
            pm = pod["metadata"]
            if self.api.delete_internal("pods", pm["namespace"], pm["name"], uid=pm["uid"]) is not None:
                self.api.record_event(ds, "SuccessfulDelete", f"Deleted pod: {pm['name']}", component=self.name,
                                      explanation=f"DaemonSet {name} no longer belongs on {node_name}: "
                                                  f"deleted {pm['name']}")

    def _sync_status(self, ds: dict) -> None:
        """``updateDaemonSetStatus``: write the calculated status when it differs from the stored one."""
        pods = [p for p in self.store.owned_by(ds["metadata"]["uid"], "pods") if is_pod_active(p)]
        status = calculate_status(ds, pods, self.store.list("nodes"), self.clock.now)
        if status != status_of(ds):
            new = clone(ds)
            new["status"] = status
            self.api.update_status(new)


def calculate_status(ds: dict, pods: list[dict], nodes: list[dict], now: float) -> dict:
    """Return the DaemonSet's status for its active ``pods`` over the cluster's ``nodes`` at ``now`` (pure)."""
    by_name = {n["metadata"]["name"]: n for n in nodes}
    desired = sum(1 for n in by_name.values() if node_should_run(ds, n))
    scheduled = [p for p in pods if p["spec"].get("nodeName") in by_name]
    current = sum(1 for p in scheduled if node_should_run(ds, by_name[p["spec"]["nodeName"]]))
    ready = sum(1 for p in pods if pod_ready(p))
    min_ready = min_ready_seconds(ds)
    available = sum(1 for p in pods if pod_available(p, min_ready, now))
    generation = meta_of(ds).get("generation", 1)
    updated = sum(1 for p in pods if labels_of(p).get("pod-template-generation") == str(generation))
    status = {
        "currentNumberScheduled": current, "numberMisscheduled": len(scheduled) - current,
        "desiredNumberScheduled": desired, "numberReady": ready,
        "observedGeneration": generation, "updatedNumberScheduled": updated,
        "numberAvailable": available, "numberUnavailable": max(desired - available, 0),
    }
    return omit_zero(status, ("numberAvailable", "numberUnavailable", "updatedNumberScheduled"))
