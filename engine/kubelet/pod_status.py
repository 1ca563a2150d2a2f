"""Return the pod status the kubelet reports: phase, conditions and container statuses, written when changed.

Like upstream's ``pkg/kubelet/status`` manager: status writes are coalesced per simulated instant
(``_mark_dirty`` → ``_flush``) and go through ``api.update_status`` only when the status changed.
``PodStatusManager`` is a mixin of ``Kubelet`` (engine/kubelet/kubelet.py).
"""
from __future__ import annotations

from typing import Any

from ..clock import rfc3339
from ..objects import set_condition, status_of
from .runtime import ContainerRuntime, PodRuntime
from .stages import SANDBOX_READY, image_id, normalize_image


class PodStatusManager:
    """Mixin of ``Kubelet``: build the pod status from the runtime records and post it."""

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
        old = status_of(pod)
        status = self.build_status(rt, old)
        if status == old:
            return
        new = dict(pod)
        new["status"] = status
        self.api.update_status(new)

    def build_status(self, rt: PodRuntime, old: dict) -> dict:
        """Return the pod status the kubelet reports for ``rt`` (conditions it does not own are kept)."""
        status: dict[str, Any] = {}
        status["phase"] = self._phase(rt)
        status["conditions"] = self._pod_conditions(rt, old, rfc3339(self.clock.now))
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

    def _pod_conditions(self, rt: PodRuntime, old: dict, now: str) -> list[dict]:
        """Return the pod conditions: the kubelet's four and readiness gates set, the others kept, in kubectl order."""
        conditions = [dict(cond) for cond in old.get("conditions") or ()]
        tmp = {"conditions": conditions}
        sandbox = rt.state == SANDBOX_READY and not (rt.terminating and rt.final)
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
        return conditions

    def _phase(self, rt: PodRuntime) -> str:
        if any(c.init and c.state == "Done" and c.exit_code not in (0, None) for c in rt.inits):
            return "Failed"
        if rt.terminating and rt.final:
            codes = [c.exit_code for c in rt.containers]
            if rt.restart_policy != "Always" and all(code == 0 for code in codes):
                return "Succeeded"
            return "Failed" if rt.restart_policy != "Always" or any(code not in (0, None) for code in codes) \
                else "Succeeded"
        if rt.state != SANDBOX_READY or any(not (c.state == "Done" and c.exit_code == 0) for c in rt.inits):
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

    def _terminated_state(self, c: ContainerRuntime) -> dict:
        out = {"exitCode": c.exit_code or 0, "reason": c.exit_reason or ("Completed" if not c.exit_code else "Error"),
               "startedAt": rfc3339(c.started_at) if c.started_at is not None else None,
               "finishedAt": rfc3339(c.finished_at if c.finished_at is not None else self.clock.now)}
        if c.container_id:
            out["containerID"] = c.container_id
        return out
