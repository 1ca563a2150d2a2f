"""Every fault a chaos object can inject, as data, and the one function that applies or reverts it.

Like KWOK's stages: a row says what a fault targets, which primitive operation injects it, which
one reverts it (None: nothing to undo, e.g. a killed pod stays killed), and how it is explained to
a learner. ``apply_fault`` is the only code path; the primitives are thin calls into the kubelets,
the control-plane components, the store and the traffic model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import BadRequest, NotFound, StatusError
from ..etcd.snapshot import wipe_store
from .components import begin_etcd_outage, component_holds, hold
from .kinds import parse_duration, percent
from .plane import ControlPlane

Step = tuple  # (operation name, *arguments)


@dataclass(frozen=True)
class Fault:
    """One row of the fault table."""

    kind: str                  # PodChaos, NodeChaos, ControlPlaneChaos, NetworkChaos
    action: str
    target: str                # "Pod", "Node", "Component", "Service", "Store"
    inject: Step
    revert: Step | None        # None: a one-shot fault with nothing to undo
    verb: str                  # "killed default/web-abc12"
    revert_verb: str
    explanation: str           # str.format fields: target, kind, name
    revert_explanation: str = ""


FAULTS: dict[tuple[str, str], Fault] = {(f.kind, f.action): f for f in (
    Fault("PodChaos", "pod-kill", "Pod", ("delete_pod",), None, "killed", "",
          "{target} was deleted gracefully, as `kubectl delete pod` does: its controller (if any) sees one "
          "replica missing and creates a replacement"),
    Fault("PodChaos", "pod-failure", "Pod", ("pod_fault", "crash-loop", True), ("pod_fault", "crash-loop", False),
          "made fail", "let run",
          "{target}'s container now exits as soon as it starts: the kubelet restarts it with a growing back-off "
          "(CrashLoopBackOff) and the pod stays not Ready",
          "{target}'s container no longer fails: after its current back-off it starts and stays up"),
    Fault("PodChaos", "container-kill", "Pod", ("crash_container",), None, "killed a container of", "",
          "a container of {target} was killed: the kubelet restarts it in place (same pod, restartCount+1)"),
    Fault("PodChaos", "readiness-failure", "Pod", ("pod_fault", "readiness", True), ("pod_fault", "readiness", False),
          "failed the readiness probe of", "restored the readiness probe of",
          "{target}'s readiness probe now fails: after failureThreshold misses the pod turns not Ready and "
          "leaves its Services' endpoints, but it is not restarted",
          "{target}'s readiness probe passes again: the pod turns Ready and rejoins its Services' endpoints"),
    Fault("PodChaos", "liveness-failure", "Pod", ("pod_fault", "liveness", True), ("pod_fault", "liveness", False),
          "failed the liveness probe of", "restored the liveness probe of",
          "{target}'s liveness probe now fails: after failureThreshold misses the kubelet kills and restarts "
          "the container (only if it has a liveness probe)",
          "{target}'s liveness probe passes again: no more restarts"),
    Fault("PodChaos", "image-pull-failure", "Pod", ("pod_fault", "image-pull", True),
          ("pod_fault", "image-pull", False), "broke image pulls for", "restored image pulls for",
          "image pulls for {target} now fail: the next time its container needs its image it goes "
          "ErrImagePull, then ImagePullBackOff",
          "image pulls for {target} work again: the next retry after the back-off succeeds"),
    Fault("PodChaos", "oom", "Pod", ("pod_fault", "oom", True), ("pod_fault", "oom", False),
          "ran out of memory in", "stopped the memory leak in",
          "{target}'s container now exceeds its memory limit: the kernel kills it (OOMKilled, exit code 137) "
          "and the kubelet restarts it with back-off",
          "{target}'s container stays within its memory limit again"),
    Fault("NodeChaos", "power-off", "Node", ("kubelet", "power_off"), ("kubelet", "power_on"),
          "powered off", "powered on",
          "{target} lost power: its containers are gone and its heartbeats stop; the node lifecycle "
          "controller marks it NotReady/Unknown after the grace period, taints it, and its pods are evicted "
          "once their tolerationSeconds run out",
          "{target} booted again: the kubelet registers, renews its lease and the node turns Ready"),
    Fault("NodeChaos", "kubelet-stop", "Node", ("kubelet", "stop_kubelet"), ("kubelet", "start_kubelet"),
          "stopped the kubelet on", "started the kubelet on",
          "the kubelet on {target} stopped: containers keep running, but nobody renews the node's lease, so "
          "the control plane cannot tell the node from a dead one",
          "the kubelet on {target} is back: the lease is renewed and the node turns Ready"),
    Fault("NodeChaos", "network-partition", "Node", ("kubelet", "partition", True), ("kubelet", "partition", False),
          "partitioned", "healed the network of",
          "{target} is cut off from the control plane and the other nodes: its pods may still run but cannot "
          "be reached, and its lease stops being renewed",
          "{target}'s network is healed: heartbeats reach the API server again"),
    Fault("NodeChaos", "memory-pressure", "Node", ("kubelet", "set_pressure", "memory", True),
          ("kubelet", "set_pressure", "memory", False), "put memory pressure on", "relieved memory pressure on",
          "{target} reports MemoryPressure: it is tainted node.kubernetes.io/memory-pressure:NoSchedule, so "
          "new pods go elsewhere",
          "{target} no longer reports MemoryPressure: the taint is removed"),
    Fault("NodeChaos", "disk-pressure", "Node", ("kubelet", "set_pressure", "disk", True),
          ("kubelet", "set_pressure", "disk", False), "put disk pressure on", "relieved disk pressure on",
          "{target} reports DiskPressure: it is tainted node.kubernetes.io/disk-pressure:NoSchedule, so new pods "
          "go elsewhere",
          "{target} no longer reports DiskPressure: the taint is removed"),
    Fault("ControlPlaneChaos", "stop", "Component", ("component", True), ("component", False),
          "stopped", "restarted",
          "{target} is down: nothing it is responsible for happens until it returns (its work queues "
          "keep the keys and catch up then)",
          "{target} is running again: it works through everything that queued up while it was down"),
    Fault("ControlPlaneChaos", "etcd-loss", "Store", ("etcd_loss",), None, "wiped", "",
          "etcd lost its data: the API server answers 503, kubectl fails, nothing heals; running containers "
          "keep running. Only restoring an etcd snapshot (`etcdctl snapshot restore`) brings the cluster back"),
    Fault("NetworkChaos", "delay", "Service", ("traffic", True), ("traffic", False),
          "delayed traffic to", "restored traffic to",
          "requests to Service {target} now take longer: clients with short timeouts start failing",
          "requests to Service {target} are fast again"),
    Fault("NetworkChaos", "loss", "Service", ("traffic", True), ("traffic", False),
          "dropped requests to", "restored traffic to",
          "a share of the requests to Service {target} now fail, whatever the pods behind it do",
          "requests to Service {target} no longer fail on the network"),
)}


def fault_for(kind: str, spec: dict) -> Fault:
    """Return the table row for a chaos object's ``kind`` and ``spec.action``."""
    fault = FAULTS.get((kind, spec.get("action", "stop" if kind == "ControlPlaneChaos" else "")))
    if fault is None:
        raise BadRequest(f'unsupported action "{spec.get("action")}" for {kind}')
    return fault


def target_id(target: dict) -> str:
    """``default/web-abc12``, ``node-1``, ``scheduler``: how a record names what was hit."""
    ns = target.get("namespace")
    return f"{ns}/{target['name']}" if ns else target["name"]


def apply_fault(plane: ControlPlane, fault: Fault, target: dict, spec: dict, *, revert: bool = False) -> str:
    """Inject (or revert) ``fault`` on one ``target``; return a short note (empty when nothing to say).

    Raises a StatusError when the target cannot take the fault (pod not running, node gone...).
    """
    step = fault.revert if revert else fault.inject
    if step is None:
        return ""
    operation, *args = step
    return _OPERATIONS[operation](plane, target, spec, *args) or ""


# ------------------------------------------------------------------ primitive operations

def _kubelet_of(plane: ControlPlane, node: str | None) -> Any:
    kubelet = plane.kubelets.get(node or "")
    if kubelet is None:
        raise NotFound.of("nodes", "", node or "")
    return kubelet


def _delete_pod(plane: ControlPlane, target: dict, spec: dict) -> str:
    gone = plane.api.delete_internal("pods", target["namespace"], target["name"],
                                       grace_period=spec.get("gracePeriod"), uid=target.get("uid"))
    if gone is None:
        raise NotFound.of("pods", "", target["name"])
    return ""


def _pod_fault(plane: ControlPlane, target: dict, spec: dict, kind: str, on: bool) -> str:
    pod = plane.store.find("pods", target["namespace"], target["name"])
    if pod is None or (target.get("uid") and pod["metadata"].get("uid") != target["uid"]):
        if on:
            raise NotFound.of("pods", "", target["name"])
        return "pod already gone"
    _kubelet_of(plane, pod["spec"].get("nodeName")).set_failure(target["namespace"], target["name"], kind, on)
    return ""


def _crash_container(plane: ControlPlane, target: dict, spec: dict) -> str:
    names = spec.get("containerNames") or [None]
    kubelet = _kubelet_of(plane, target.get("node"))
    done = []
    for name in names:
        out = kubelet.crash_container(target["namespace"], target["name"], name)
        done.append(out.get("container", name or ""))
    return "container " + ", ".join(done)


def _kubelet(plane: ControlPlane, target: dict, spec: dict, method: str, *args: Any) -> str:
    getattr(_kubelet_of(plane, target["name"]), method)(*args)
    return ""


def _component(plane: ControlPlane, target: dict, spec: dict, on: bool) -> str:
    hold(plane, list(target["holds"]), on)
    return ""


def _etcd_loss(plane: ControlPlane, target: dict, spec: dict) -> str:
    begin_etcd_outage(plane)
    return f"{wipe_store(plane.store)} objects lost"


def _traffic(plane: ControlPlane, target: dict, spec: dict, on: bool) -> str:
    if plane.traffic is None:
        raise BadRequest("the traffic simulation is not running: NetworkChaos has nothing to act on")
    latency_ms = error_rate = 0.0
    if on and spec.get("action") == "delay":
        latency_ms = parse_duration(spec["delay"]["latency"]) * 1000.0
    if on and spec.get("action") == "loss":
        error_rate = (percent(spec["loss"]["loss"]) or 0) / 100.0
    plane.traffic.set_fault(f"{target['namespace']}/{target['name']}", latency_ms, error_rate)
    return ""


_OPERATIONS: dict[str, Callable[..., str]] = {
    "delete_pod": _delete_pod,
    "pod_fault": _pod_fault,
    "crash_container": _crash_container,
    "kubelet": _kubelet,
    "component": _component,
    "etcd_loss": _etcd_loss,
    "traffic": _traffic,
}


def component_targets(plane: ControlPlane, spec: dict) -> list[dict]:
    """The one Component target of a ControlPlaneChaos (with the holds it takes)."""
    if spec.get("action") == "etcd-loss":
        return [{"kind": "Store", "name": "etcd"}]
    name = spec["component"]
    holds = component_holds(plane, name, spec.get("controllers"))
    label = name if not spec.get("controllers") else f"{name} ({', '.join(spec['controllers'])})"
    return [{"kind": "Component", "name": label, "holds": holds}]


__all__ = ["FAULTS", "Fault", "apply_fault", "fault_for", "target_id", "component_targets", "StatusError"]
