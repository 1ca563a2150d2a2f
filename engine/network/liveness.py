"""What is true on the wire right now, as opposed to what the API says.

The API lags reality: a powered-off node's pods stay Ready until the node lifecycle controller
notices, a container with a failing app stays Ready until its readiness probe fails
``failureThreshold`` times. Traffic and traces ask these functions, which read the kubelet's own
memory (``engine/kubelet/kubelet.py``: ``powered``, ``partitioned``, ``pods[(ns, name)]`` with container
states and injected faults), given as the node name -> kubelet mapping, and fall back to the API objects
when no kubelet is known.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..etcd.store import Store
from ..objects import spec_of, status_of

REFUSED, TIMEOUT, ERROR = "refused", "timeout", "error"
FAULTS_ANNOTATION = "kubedrill.io/faults"


def node_problem(store: Store, kubelets: Mapping[str, Any], node: str) -> str | None:
    """Why packets to ``node`` are lost (``powered off``, ``partitioned``…), or None when it is reachable.

    A stopped kubelet does not stop the containers: the node still forwards traffic.
    """
    kubelet = kubelets.get(node)
    if kubelet is not None:
        if not getattr(kubelet, "powered", True):
            return f"node {node} is powered off"
        if getattr(kubelet, "partitioned", False):
            return f"node {node} is cut off from the network (partitioned)"
        return None
    obj = store.find("nodes", "", node)
    if obj is None:
        return f"node {node} does not exist"
    for cond in status_of(obj).get("conditions") or ():
        if cond.get("type") == "Ready":
            return None if cond.get("status") == "True" else f"node {node} is NotReady"
    return None


def pod_problem(store: Store, kubelets: Mapping[str, Any], pod: dict) -> tuple[str, str] | None:
    """Would ``pod`` answer a request now? None if so, else ``(kind, why)`` with kind refused/timeout/error."""
    meta, spec = pod["metadata"], spec_of(pod)
    ns, name = meta.get("namespace", ""), meta["name"]
    node = spec.get("nodeName") or ""
    if not node:
        return REFUSED, f"pod {ns}/{name} is not scheduled"
    why = node_problem(store, kubelets, node)
    if why:
        return TIMEOUT, why
    kubelet = kubelets.get(node)
    runtime = getattr(kubelet, "pods", {}).get((ns, name)) if kubelet is not None else None
    if runtime is not None and getattr(runtime, "uid", meta.get("uid")) == meta.get("uid"):
        if getattr(runtime, "terminating", False):
            return REFUSED, f"pod {ns}/{name} got SIGTERM and no longer accepts connections"
        for c in getattr(runtime, "containers", ()):
            if getattr(c, "state", "") != "Running":
                return REFUSED, f"container {c.name} of pod {ns}/{name} is not running"
        if "readiness" in (getattr(runtime, "faults", None) or ()):
            return ERROR, f"pod {ns}/{name} answers with errors (its app is failing)"
        return None
    if kubelet is not None:
        return REFUSED, f"pod {ns}/{name} is not running on {node}"
    # No kubelet (bare test clusters): believe the API.
    status = status_of(pod)
    if meta.get("deletionTimestamp"):
        return REFUSED, f"pod {ns}/{name} got SIGTERM and no longer accepts connections"
    if status.get("phase") != "Running":
        return REFUSED, f"pod {ns}/{name} is {status.get('phase') or 'Pending'}, not Running"
    for cs in status.get("containerStatuses") or ():
        if "running" not in (cs.get("state") or {}):
            return REFUSED, f"container {cs.get('name')} of pod {ns}/{name} is not running"
    faults = (meta.get("annotations") or {}).get(FAULTS_ANNOTATION) or ""
    if "readiness" in faults.split(","):
        return ERROR, f"pod {ns}/{name} answers with errors (its app is failing)"
    return None

