"""The container lifecycle: the kubelet's interpreter of the stage table in engine/kubelet/stages.py.

Like kuberuntime_manager's SyncPod: mount volumes, create the sandbox (pod IP), pull images (with
back-off), run init containers in order, create and start containers; and when a container exits,
decide by restartPolicy whether it is done, restarts now or backs off (CrashLoopBackOff).
``ContainerLifecycle`` is a mixin of ``Kubelet`` (engine/kubelet/kubelet.py).
"""
from __future__ import annotations

from typing import Any

from .runtime import ContainerRuntime, PodRuntime, format_number, random_hex
from .stages import (
    PROFILE_FALLBACKS,
    RESTART_POLICY,
    Stage,
    format_duration,
    image_exists,
    image_size,
    normalize_image,
    pull_error,
    stages_for,
)

# Waiting reasons that stay visible while the kubelet retries (kubectl keeps showing them).
_STICKY_REASONS = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "PodInitializing",
                   "CreateContainerConfigError")


class ContainerLifecycle:
    """Mixin of ``Kubelet``: drive each pod's sandbox and containers through the stage table."""

    # ------------------------------------------------------------------ the stage interpreter
    def _advance(self, rt: PodRuntime) -> None:
        """Start the next stage(s) the pod's state allows (level-triggered; safe to call any time)."""
        if not self.connected or rt.terminating or rt.timer is not None or (rt.ns, rt.name) not in self.pods:
            return
        if rt.state == "Bound":
            problem = self._volumes_problem(rt)
            if problem is not None:
                error, volume, refs = problem
                if rt.blocked != error:
                    rt.blocked = error
                    stage = stages_for("pod", "Bound", init=False, faults=rt.faults)[0]
                    self._emit(rt, None, stage.blocked, error=error, volume=volume,
                               error_short=error.split(" : ")[-1])
                self._wait_for(rt, refs)
                self._mark_dirty(rt)
                return
            rt.blocked = ""
            self._wait_for(rt, ())
            rt.state = "VolumesMounted"
        if rt.state == "VolumesMounted":
            stage = stages_for("pod", "VolumesMounted", init=False, faults=rt.faults)[0]
            rt.timer = self.clock.schedule(self._delay(stage.delay, None), lambda: self._sandbox_ready(rt))
            self._mark_dirty(rt)
            return
        for c in rt.inits:
            if c.state == "Done" and c.exit_code == 0:
                continue
            self._advance_container(rt, c)
            self._mark_dirty(rt)
            return
        for c in rt.containers:
            self._advance_container(rt, c)
        self._mark_dirty(rt)

    def _sandbox_ready(self, rt: PodRuntime) -> None:
        rt.timer = None
        if rt.terminating or rt.key not in self.pods:
            return
        rt.ip = self.internal_ip if rt.host_network else self.ipam.allocate()
        rt.state = "SandboxReady"
        self._advance(rt)

    def _advance_container(self, rt: PodRuntime, c: ContainerRuntime) -> None:
        if c.timer is not None or c.state == "Done":
            return
        faults = set(rt.faults)
        if not image_exists(c.image):
            faults.add("image-pull")
        for stage in stages_for("container", c.state, init=c.init, faults=faults):
            if stage.guard == "image_needs_pull" and not self._needs_pull(c):
                continue
            if stage.guard == "config_ready":
                error, refs = self._config_problem(rt, c)
                if error:
                    c.waiting_reason, c.waiting_message = "CreateContainerConfigError", error
                    if c.blocked != error:
                        c.blocked = error
                        self._emit(rt, c, stage.blocked, error=error, error_short=error)
                    self._wait_for(rt, refs)
                    self._mark_dirty(rt)
                    return
                c.blocked = ""
                self._wait_for(rt, ())
            self._start_stage(rt, c, stage)
            return
        if c.state == "Running":
            self._arm_probes(rt, c)

    def _start_stage(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage) -> None:
        if stage.waiting_reason and c.state != "Running" and not (
                stage.waiting_reason == "ContainerCreating" and c.waiting_reason in _STICKY_REASONS):
            c.waiting_reason = stage.waiting_reason
            c.waiting_message = ""
        if stage.name == "container-pull-backoff":
            c.backoff = c.pull_next = (self.profile.image_pull_backoff_initial if not c.pull_next
                                       else min(c.pull_next * 2, self.profile.image_pull_backoff_max))
            c.waiting_message = f'Back-off pulling image "{c.image}"'
        elif stage.name == "container-restart-backoff":
            c.waiting_message = (f"back-off {_go_duration(c.backoff)} restarting failed container={c.name} "
                                 f"pod={rt.name}_{rt.ns}({rt.uid})")
        delay = self._delay(stage.delay, c)
        fields = {"seconds": format_duration(delay), "backoff": format_number(c.backoff)}
        self._emit(rt, c, stage.events_before, **fields)
        if delay <= 0:
            self._complete_stage(rt, c, stage, delay)
        else:
            c.timer = self.clock.schedule(delay, lambda: self._stage_timer(rt, c, stage, delay))
            self._mark_dirty(rt)

    def _stage_timer(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, delay: float) -> None:
        c.timer = None
        if rt.terminating or rt.key not in self.pods or not self.connected:
            return
        self._complete_stage(rt, c, stage, delay)

    def _complete_stage(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, delay: float) -> None:
        fields: dict[str, Any] = {"seconds": format_duration(delay), "backoff": format_number(c.backoff)}
        name = stage.name
        if name == "container-pull-failed":
            error = pull_error(c.image)
            c.state, c.waiting_reason, c.waiting_message = "PullFailed", "ErrImagePull", error
            fields["error"] = error
        elif name in ("container-pull", "container-image-present"):
            c.state = "Pulled"
            c.pulled = True
            c.pull_next = 0.0
            ref = normalize_image(c.image)
            if ref not in self.images:
                self.images.add(ref)
                self._schedule_node_status()
            fields["size"] = image_size(c.image)
        elif name == "container-pull-error-sync":
            c.state = "PullBackOff"
        elif name == "container-pull-backoff":
            c.state = "Waiting"
        elif name == "container-create":
            c.state = "Created"
            c.container_id = "containerd://" + random_hex(self.clock.rng, 64)
        elif name == "container-start":
            c.state = "Running"
            c.started_at = self.clock.now
            c.finished_at = None
            c.exit_code = None
            c.waiting_reason = c.waiting_message = ""
            c.log = None   # a new container instance starts with an empty log
            self._log(c, f"container {c.name} started (image {c.image})")
            c.r_succ = c.r_fail = c.l_fail = 0
            probes = c.spec.get("startupProbe"), c.spec.get("readinessProbe")
            c.started = not probes[0]
            c.ready = not c.init and c.started and not probes[1] and "readiness" not in rt.faults
        elif name == "container-restart-backoff":
            c.state = "Waiting"
        elif stage.exit_code is not None:
            if stage.exit_reason == "OOMKilled":
                self._log(c, "fatal error: runtime: out of memory (container memory limit reached)")
            elif stage.exit_code:
                self._log(c, f"error: exiting with status {stage.exit_code}")
            else:
                self._log(c, "done")
            self._emit(rt, c, stage.events, **fields)
            self._container_exit(rt, c, stage.exit_code, stage.exit_reason)
            return
        self._emit(rt, c, stage.events, **fields)
        self._mark_dirty(rt)
        if c.init and c.state == "Running":
            self._advance_container(rt, c)
        else:
            self._advance(rt)

    def _delay(self, key: str | None, c: ContainerRuntime | None) -> float:
        if key is None:
            return 0.0
        if key in ("crash_backoff", "image_pull_backoff"):
            return c.backoff if c is not None else 0.0
        value = getattr(self.profile, key, None)
        if value is None:
            value = PROFILE_FALLBACKS.get(key, 0.0)
        if isinstance(value, (tuple, list)):
            low, high = value
            return self.clock.rng.uniform(low, high)
        return float(value)

    def _needs_pull(self, c: ContainerRuntime) -> bool:
        policy = c.spec.get("imagePullPolicy") or "IfNotPresent"
        if policy == "Always":
            return True
        if policy == "Never":
            return False
        return normalize_image(c.image) not in self.images

    # ------------------------------------------------------------------ exits and restarts
    def _container_exit(self, rt: PodRuntime, c: ContainerRuntime, code: int, reason: str) -> None:
        c.cancel_timers()
        c.state = "Exited"
        c.exit_code = code
        c.exit_reason = reason
        c.finished_at = self.clock.now
        c.ready = False
        c.started = False
        self._after_exit(rt, c)
        self._mark_dirty(rt)
        self._advance(rt)

    def _after_exit(self, rt: PodRuntime, c: ContainerRuntime, adopting: bool = False) -> None:
        """Decide what an exited container does next: done, restart now, or back off first."""
        code = c.exit_code or 0
        policy = rt.restart_policy
        if c.init and policy == "Always":
            policy = "OnFailure"   # init containers restart only on failure
        if c.init and code == 0:
            c.state = "Done"
            return
        if not RESTART_POLICY.get(policy, RESTART_POLICY["Always"])(code):
            c.state = "Done"
            return
        terminated = self._terminated_state(c)
        c.last_state = {"terminated": terminated}
        c.prev_log, c.log = c.log, None
        if c.started_at is not None and c.finished_at is not None and \
                c.finished_at - c.started_at >= self.profile.crash_backoff_reset:
            c.crash_next = 0.0
        c.backoff = c.crash_next
        c.crash_next = (self.profile.crash_backoff_initial if not c.crash_next
                        else min(c.crash_next * 2, self.profile.crash_backoff_max))
        c.restart_count += 1
        c.state = "BackOff" if c.backoff > 0 else "Waiting"
        c.waiting_reason = "CrashLoopBackOff" if c.backoff > 0 else "ContainerCreating"


def _go_duration(seconds: float) -> str:
    """Go's Duration.String for whole seconds: 10s, 1m20s, 5m0s."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s"
