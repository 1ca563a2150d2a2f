"""Simulated container logs (``kubectl logs``): what happened to the container, line by line.

The kubelet keeps a small ring of lines per container instance (started, probe failures, SIGTERM,
crash exit codes, OOM kills); ``previous`` reads the instance before the last restart, as the real
``--previous`` does. Errors use the real API server / kubelet wording.
"""
from __future__ import annotations

from typing import Any

from ..errors import BadRequest
from ..objects import spec_of, status_of
from .stages import normalize_image


def _kubelet_for(cluster: Any, node: str):
    manager = getattr(cluster, "kubelet_manager", None)
    kubelets = manager.kubelets if manager is not None else getattr(cluster, "kubelets", {}) or {}
    return kubelets.get(node)


def pod_logs(cluster: Any, ns: str, name: str, container: str | None = None, previous: bool = False,
             tail_lines: int | None = None) -> str:
    """Return the log text of one container of a pod (newline-terminated lines, possibly empty)."""
    pod = cluster.api.get("pods", ns, name)
    spec = spec_of(pod)
    names = [c.get("name") for c in spec.get("containers") or ()]
    init_names = [c.get("name") for c in spec.get("initContainers") or ()]
    if container is None:
        if len(names) != 1:
            extra = f" or one of the init containers: [{' '.join(init_names)}]" if init_names else ""
            raise BadRequest(f"a container name must be specified for pod {name}, choose one of: "
                             f"[{' '.join(names)}]{extra}")
        container = names[0]
    if container not in names and container not in init_names:
        raise BadRequest(f"container {container} is not valid for pod {name}")
    status = status_of(pod)
    statuses = {s.get("name"): s for s in (status.get("containerStatuses") or []) +
                (status.get("initContainerStatuses") or [])}
    cstatus = statuses.get(container) or {}
    node = spec.get("nodeName") or ""
    if previous:
        if not (cstatus.get("lastState") or {}).get("terminated"):
            raise BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
    else:
        waiting = (cstatus.get("state") or {}).get("waiting")
        if not node or not cstatus or (waiting and not cstatus.get("containerID")):
            reason = (waiting or {}).get("reason") or "ContainerCreating"
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: trying and failing '
                                 "to pull image")
            raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    kubelet = _kubelet_for(cluster, node)
    if kubelet is None or not kubelet.connected:
        ip = getattr(kubelet, "internal_ip", "") or node
        raise BadRequest(f'Get "https://{ip}:10250/containerLogs/{ns}/{name}/{container}": dial tcp {ip}:10250: '
                         "connect: no route to host")
    lines = None
    rt = kubelet.pods.get((ns, name))
    if rt is not None and rt.uid == pod["metadata"].get("uid"):
        c = next((x for x in rt.all_containers() if x.name == container), None)
        if c is not None:
            lines = list((c.prev_log if previous else c.log) or [])
    if lines is None:
        lines = _from_status(cstatus, previous)
    if tail_lines is not None and tail_lines >= 0:
        lines = lines[-tail_lines:] if tail_lines else []
    return "".join(line + "\n" for line in lines)


def _from_status(cstatus: dict, previous: bool) -> list[str]:
    """Derive the log lines from the reported status (after a restart, when the kubelet kept no buffer)."""
    state = (cstatus.get("lastState") if previous else cstatus.get("state")) or {}
    image = normalize_image(cstatus.get("image") or "")
    out = []
    if "running" in state:
        out.append(f"{state['running'].get('startedAt', '')} container {cstatus.get('name')} started (image {image})")
    elif "terminated" in state:
        term = state["terminated"]
        out.append(f"{term.get('startedAt') or ''} container {cstatus.get('name')} started (image {image})")
        if term.get("reason") == "OOMKilled":
            out.append(f"{term.get('finishedAt', '')} fatal error: runtime: out of memory "
                       "(container memory limit reached)")
        else:
            out.append(f"{term.get('finishedAt', '')} exited with code {term.get('exitCode', 0)} "
                       f"({term.get('reason', '')})")
    return out
