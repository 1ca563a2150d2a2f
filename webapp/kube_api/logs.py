"""``GET pods/<name>/log``: simulated container logs as ``text/plain``; ``follow=true`` keeps streaming.

Text comes from ``cluster.pod_logs(ns, name, container, previous, tail_lines)`` (engine/kubelet/logs.py). If
the engine has no log generator, the log is built from the pod's own Events (kubelet lines such as
"Started container nginx"), so ``kubectl logs`` always shows something true about the pod.
"""
from __future__ import annotations

import time
from typing import Iterator

from flask import Response

from engine.errors import BadRequest, StatusError

from .common import q_bool, q_int, q_str, runtime

FOLLOW_LIMIT = 3600.0   # wall seconds a follow stream may stay open
WAKE_EVERY = 2.0


def _container_of(pod: dict, container: str | None, previous: bool) -> str:
    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    inits = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
    if container:
        if container not in containers and container not in inits:
            raise BadRequest(f"container {container} is not valid for pod {name}")
        return container
    if len(containers) == 1:
        return containers[0]
    default = ((pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container"))
    if default in containers:
        return default
    raise BadRequest(f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]")


def events_log(cluster, namespace: str, name: str, container: str | None, previous: bool,
               tail_lines: int | None) -> str:
    """Fallback log text: the pod's kubelet events rendered as timestamped lines."""
    pod = cluster.api.get("pods", namespace, name)
    c = _container_of(pod, container, previous)
    uid = pod["metadata"].get("uid")
    items, _, _ = cluster.api.list("events", namespace, field_selector=f"involvedObject.name={name}")
    lines = []
    for ev in items:
        inv = ev.get("involvedObject") or {}
        if inv.get("uid") and inv.get("uid") != uid:
            continue
        fp = inv.get("fieldPath") or ""
        if fp and c not in fp:
            continue
        stamp = ev.get("lastTimestamp") or ev.get("firstTimestamp") or ev.get("eventTime") or ""
        lines.append(f"{stamp} [kubedrill] {ev.get('reason', '')}: {ev.get('message', '')}")
    if not lines:
        lines.append(f"[kubedrill] container {c} has not written any log lines yet")
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    return "".join(line + "\n" for line in lines)


def fetch(cluster, namespace: str, name: str, container: str | None, previous: bool,
          tail_lines: int | None) -> str:
    """Log text from the engine (or the events fallback)."""
    pod_logs = getattr(cluster, "pod_logs", None)
    if pod_logs is not None:
        try:
            return pod_logs(namespace, name, container, previous, tail_lines)
        except (ImportError, AttributeError, NotImplementedError):
            pass
    return events_log(cluster, namespace, name, container, previous, tail_lines)


def serve(target) -> Response:
    """Answer ``GET .../pods/<name>/log``."""
    rt_obj = runtime()
    container = q_str("container") or None
    previous = q_bool("previous")
    follow = q_bool("follow")
    tail = q_int("tailLines", minimum=0)
    limit_bytes = q_int("limitBytes", minimum=1)
    q_bool("timestamps")
    ns, name = target.namespace, target.name

    def first(cluster):
        pod = cluster.api.get("pods", ns, name)
        text = fetch(cluster, ns, name, container, previous, tail)
        full = fetch(cluster, ns, name, container, previous, None) if follow else text
        return pod["metadata"].get("uid"), text, full

    uid, text, full = rt_obj.call(lambda: first(rt_obj.cluster))
    if limit_bytes is not None:
        text = text.encode()[:limit_bytes].decode("utf-8", "ignore")
    if not follow or previous:
        return Response(text, status=200, content_type="text/plain")

    generation = rt_obj.generation

    def generate() -> Iterator[str]:
        sent = full
        yield ""  # send the headers at once (see watch.generate)
        if text:
            yield text
        deadline = time.monotonic() + FOLLOW_LIMIT
        while time.monotonic() < deadline and rt_obj.generation == generation:
            rev = rt_obj.revision()
            rt_obj.wait_for_revision(rev, WAKE_EVERY, generation)

            def again(cluster):
                pod = cluster.store.find("pods", ns, name)
                if pod is None or pod["metadata"].get("uid") != uid:
                    return None, True
                done = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
                try:
                    return fetch(cluster, ns, name, container, False, None), done
                except StatusError:
                    return None, True

            now_text, done = rt_obj.call(lambda: again(rt_obj.cluster))
            if now_text is not None:
                if now_text.startswith(sent):
                    new = now_text[len(sent):]
                else:  # the log was rotated/restarted: print what is new by line
                    old_lines = set(sent.splitlines())
                    new = "".join(l + "\n" for l in now_text.splitlines() if l not in old_lines)
                if new:
                    yield new
                sent = now_text
            if done:
                return

    return Response(generate(), status=200, content_type="text/plain")
