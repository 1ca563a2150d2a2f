"""Builders and a tiny fake API server for the scheduler's own unit tests (imported by the test modules)."""
from __future__ import annotations

from engine.clock import Clock
from engine.errors import Conflict, NotFound
from engine.etcd.store import Store
from engine.objects import clone

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def make_node(name: str, cpu: str = "4", memory: str = "16Gi", pods: str = "110", *, labels: dict | None = None,
              taints: list | None = None, unschedulable: bool = False) -> dict:
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {},
            "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                       "allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}
    if taints:
        node["spec"]["taints"] = taints
    if unschedulable:
        node["spec"]["unschedulable"] = True
    return node


def make_pod(name: str, cpu: str | None = "100m", memory: str | None = "128Mi", *, namespace: str = "default",
             labels: dict | None = None, node: str | None = None, **spec_extra) -> dict:
    requests = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    container = {"name": "app", "image": "nginx:1.27"}
    if requests:
        container["resources"] = {"requests": requests}
    ports = spec_extra.pop("host_ports", None)
    if ports:
        container["ports"] = [{"containerPort": p, "hostPort": p, "protocol": "TCP"} for p in ports]
    spec = {"schedulerName": "default-scheduler", "containers": [container], **spec_extra}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}",
                         "labels": dict(labels or {})},
            "spec": spec, "status": {"phase": "Pending"}}


class FakeAPI:
    """Records bind / update / record_event and applies them to a real Store."""

    def __init__(self, store: Store, clock: Clock):
        self.store = store
        self.clock = clock
        self.binds: list[tuple[str, str, str]] = []
        self.updates: list[dict] = []
        self.events: list[dict] = []
        self.fail_binds = False

    def bind(self, namespace: str, name: str, node_name: str) -> None:
        pod = self.store.find("pods", namespace, name)
        if pod is None:
            raise NotFound.of("pods", "", name)
        if self.fail_binds or pod["spec"].get("nodeName"):
            raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}"')
        new = clone(pod)
        new["spec"]["nodeName"] = node_name
        conds = [c for c in new["status"].get("conditions", []) if c["type"] != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True"})
        new["status"]["conditions"] = conds
        self.store.update("pods", new)
        self.binds.append((namespace, name, node_name))

    def update(self, obj: dict, *, subresource: str | None = None) -> dict:
        self.updates.append({"obj": obj, "subresource": subresource})
        resource = {"Pod": "pods", "PersistentVolumeClaim": "persistentvolumeclaims"}[obj["kind"]]
        return self.store.update(resource, obj)

    def record_event(self, involved: dict, reason: str, message: str, *, type: str = "Normal",
                     component: str, explanation: str = "") -> None:
        self.events.append({"pod": involved["metadata"]["name"], "reason": reason, "message": message,
                            "type": type, "component": component, "explanation": explanation,
                            "time": self.clock.now})

    def reasons(self, reason: str) -> list[dict]:
        return [e for e in self.events if e["reason"] == reason]


