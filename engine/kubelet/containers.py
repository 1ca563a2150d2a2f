"""The container lifecycle: the kubelet's interpreter of the stage table in engine/kubelet/stages.py.

Like kuberuntime_manager's SyncPod: mount volumes, create the sandbox (pod IP), pull images (with
back-off), run init containers in order, create and start containers; and when a container exits,
decide by restartPolicy whether it is done, restarts now or backs off (CrashLoopBackOff).
``ContainerLifecycle`` is a mixin of ``Kubelet`` (engine/kubelet/kubelet.py).

The table says what happens; this module only knows how: ``SELECTORS`` and ``GUARDS`` are the checks
a stage names, ``EFFECTS`` what a stage does when it starts (``on_start``) or completes (``effect``).
"""
from __future__ import annotations

from typing import Any, Callable

from .runtime import ContainerRuntime, PodRuntime, format_number, random_hex
from .stages import (BACKOFF_DELAYS, EXITED, format_duration, image_exists, image_size, normalize_image,
                     PROFILE_FALLBACKS, pull_error, RESTART_POLICY, SANDBOX_READY, Stage, stages_for)

# Waiting reasons that stay visible while the kubelet retries (kubectl keeps showing them).
_STICKY_REASONS = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "PodInitializing",
                   "CreateContainerConfigError")


class ContainerLifecycle:
    """Mixin of ``Kubelet``: drive each pod's sandbox and containers through the stage table."""

    # ------------------------------------------------------------------ the stage interpreter
    def _advance(self, rt: PodRuntime) -> None:
        """Start the next stage(s) the pod's state allows (level-triggered; safe to call any time)."""
        if not self.connected or rt.terminating or rt.timer is not None or rt.key not in self.pods:
            return
        if rt.state != SANDBOX_READY:
            self._run_stages(rt, None)   # the pod-scope stages come first: volumes, then the sandbox
        else:
            for c in rt.inits:
                if c.state == "Done" and c.exit_code == 0:
                    continue
                self._advance_container(rt, c)   # init containers run one at a time, in order
                break
            else:
                for c in rt.containers:
                    self._advance_container(rt, c)
        self._mark_dirty(rt)

    def _advance_container(self, rt: PodRuntime, c: ContainerRuntime) -> None:
        if c.timer is not None or c.state == "Done":
            return
        if not self._run_stages(rt, c) and c.state == "Running":
            self._arm_probes(rt, c)   # no stage ends it: only a probe (or an injected crash) can

    def _run_stages(self, rt: PodRuntime, c: ContainerRuntime | None) -> bool:
        """Start the first stage matching the pod's (``c`` None) or the container's state; False if none does."""
        if c is None:
            candidates = stages_for("pod", rt.state, init=False, faults=rt.faults)
        else:
            faults = set(rt.faults)
            if not image_exists(c.image):
                faults.add("image-pull")   # a tag no registry has fails like the injected fault
            candidates = stages_for("container", c.state, init=c.init, faults=faults)
        for stage in candidates:
            if stage.selector is not None and not SELECTORS[stage.selector](self, rt, c):
                continue
            if stage.guard is not None and self._guard_blocks(rt, c, stage):
                return True
            self._start_stage(rt, c, stage)
            return True
        return False

    def _guard_blocks(self, rt: PodRuntime, c: ContainerRuntime | None, stage: Stage) -> bool:
        """Tell whether the stage's guard holds it; while it does, watch what it waits for and say why once."""
        holder = rt if c is None else c
        problem = GUARDS[stage.guard](self, rt, c)
        if problem is None:
            holder.blocked = ""
            self._wait_for(rt, ())
            return False
        error, refs, fields = problem
        if c is not None and stage.blocked_reason:
            c.waiting_reason, c.waiting_message = stage.blocked_reason, error
        if holder.blocked != error:
            holder.blocked = error
            self._emit(rt, c, stage.blocked, error=error, **fields)
        self._wait_for(rt, refs)
        self._mark_dirty(rt)
        return True

    def _start_stage(self, rt: PodRuntime, c: ContainerRuntime | None, stage: Stage) -> None:
        """Run the stage's on_start and record its opening events; complete it now or when its delay is up."""
        if c is not None and stage.waiting_reason and c.state != "Running" and not (
                stage.waiting_reason == "ContainerCreating" and c.waiting_reason in _STICKY_REASONS):
            c.waiting_reason = stage.waiting_reason
            c.waiting_message = ""
        if stage.on_start is not None:
            EFFECTS[stage.on_start](self, rt, c, stage, {})
        delay = self._delay(stage.delay, c)
        self._emit(rt, c, stage.events_before, **self._stage_fields(c, delay))
        if delay <= 0:
            self._complete_stage(rt, c, stage, delay)
            return
        (rt if c is None else c).timer = self.clock.schedule(delay, lambda: self._stage_timer(rt, c, stage, delay))
        self._mark_dirty(rt)

    def _stage_timer(self, rt: PodRuntime, c: ContainerRuntime | None, stage: Stage, delay: float) -> None:
        # A pod that went away or a kubelet that lost the API server completes nothing (resync resumes it).
        holder = rt if c is None else c
        holder.timer = None
        if rt.terminating or rt.key not in self.pods or not self.connected:
            return
        self._complete_stage(rt, c, stage, delay)

    def _complete_stage(self, rt: PodRuntime, c: ContainerRuntime | None, stage: Stage, delay: float) -> None:
        """Enter the stage's ``next`` state, run its effect, record its events and look for the next stage."""
        fields = self._stage_fields(c, delay)
        (rt if c is None else c).state = stage.next
        if stage.effect is not None:
            EFFECTS[stage.effect](self, rt, c, stage, fields)
        self._emit(rt, c, stage.events, **fields)
        if c is not None:
            # A container's new state is reported before the stages it unblocks start; the pod scope
            # leaves that to _advance, which marks the pod once the sandbox or first container stage started.
            self._mark_dirty(rt)
        self._advance(rt)

    def _stage_fields(self, c: ContainerRuntime | None, delay: float) -> dict[str, Any]:
        return {"seconds": format_duration(delay), "backoff": format_number(c.backoff) if c is not None else ""}

    def _delay(self, key: str | None, c: ContainerRuntime | None) -> float:
        if key is None:
            return 0.0
        if key in BACKOFF_DELAYS:
            return c.backoff if c is not None else 0.0
        value = getattr(self.profile, key, None)
        if value is None:
            value = PROFILE_FALLBACKS.get(key, 0.0)
        if isinstance(value, (tuple, list)):
            low, high = value
            return self.clock.rng.uniform(low, high)
        return float(value)

    # ------------------------------------------------------------------ selectors and guards
    def _needs_pull(self, rt: PodRuntime, c: ContainerRuntime) -> bool:
        policy = c.spec.get("imagePullPolicy") or "IfNotPresent"
        if policy == "Always":
            return True
        if policy == "Never":
            return False
        return normalize_image(c.image) not in self.images

    def _volumes_guard(self, rt: PodRuntime, c: None) -> tuple[str, tuple, dict] | None:
        problem = self._volumes_problem(rt)
        if problem is None:
            return None
        error, volume, refs = problem
        return error, refs, {"volume": volume, "error_short": error.split(" : ")[-1]}

    def _config_guard(self, rt: PodRuntime, c: ContainerRuntime) -> tuple[str, tuple, dict] | None:
        error, refs = self._config_problem(rt, c)
        return (error, refs, {"error_short": error}) if error else None

    # ------------------------------------------------------------------ effects
    def _assign_pod_ip(self, rt: PodRuntime, c: None, stage: Stage, fields: dict) -> None:
        rt.ip = self.internal_ip if rt.host_network else self.ipam.allocate()

    def _report_pull_error(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
        error = pull_error(c.image)
        c.waiting_reason, c.waiting_message = "ErrImagePull", error
        fields["error"] = error

    def _record_image(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
        c.pulled = True
        c.pull_next = 0.0
        ref = normalize_image(c.image)
        if ref not in self.images:
            self.images.add(ref)
            self._schedule_node_status()
        fields["size"] = image_size(c.image)

    def _next_pull_backoff(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
        c.backoff = c.pull_next = (self.profile.image_pull_backoff_initial if not c.pull_next
                                   else min(c.pull_next * 2, self.profile.image_pull_backoff_max))
        c.waiting_message = f'Back-off pulling image "{c.image}"'

    def _crash_loop_message(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
        c.waiting_message = (f"back-off {_go_duration(c.backoff)} restarting failed container={c.name} "
                             f"pod={rt.name}_{rt.ns}({rt.uid})")

    def _assign_container_id(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
        c.container_id = "containerd://" + random_hex(self.clock.rng, 64)

    def _start_process(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
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

    def _exit_process(self, rt: PodRuntime, c: ContainerRuntime, stage: Stage, fields: dict) -> None:
        self._log(c, stage.log)
        self._record_exit(rt, c, stage.exit_code, stage.exit_reason)

    # ------------------------------------------------------------------ exits and restarts
    def _container_exit(self, rt: PodRuntime, c: ContainerRuntime, code: int, reason: str) -> None:
        """End a running container outside the table (injected crash, liveness kill), then restart it by policy."""
        c.state = EXITED
        self._record_exit(rt, c, code, reason)
        self._mark_dirty(rt)
        self._advance(rt)

    def _record_exit(self, rt: PodRuntime, c: ContainerRuntime, code: int, reason: str) -> None:
        c.cancel_timers()
        c.exit_code = code
        c.exit_reason = reason
        c.finished_at = self.clock.now
        c.ready = False
        c.started = False
        for listener in self.manager.exit_listeners:
            listener(rt.ns, rt.name, c.name, code, reason, self.name)
        self._after_exit(rt, c)

    def _after_exit(self, rt: PodRuntime, c: ContainerRuntime) -> None:
        """Decide what an exited container does next (one of ``AFTER_EXIT``): done, restart now, or back off."""
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


# What the stage table's names mean: checks that pick a stage, checks that hold one, and effects.
Check = Callable[[ContainerLifecycle, PodRuntime, Any], Any]
Effect = Callable[[ContainerLifecycle, PodRuntime, Any, Stage, dict], None]

SELECTORS: dict[str, Check] = {
    "image_needs_pull": ContainerLifecycle._needs_pull,
}
GUARDS: dict[str, Check] = {   # each returns None when the stage may start, else (error, refs to wait for, fields)
    "volumes_ready": ContainerLifecycle._volumes_guard,
    "config_ready": ContainerLifecycle._config_guard,
}
EFFECTS: dict[str, Effect] = {
    "assign-pod-ip": ContainerLifecycle._assign_pod_ip,
    "report-pull-error": ContainerLifecycle._report_pull_error,
    "record-image": ContainerLifecycle._record_image,
    "next-pull-backoff": ContainerLifecycle._next_pull_backoff,
    "crash-loop-message": ContainerLifecycle._crash_loop_message,
    "assign-container-id": ContainerLifecycle._assign_container_id,
    "start-process": ContainerLifecycle._start_process,
    "exit-process": ContainerLifecycle._exit_process,
}


def _go_duration(seconds: float) -> str:
    """Render whole seconds as Go's Duration.String does: 10s, 1m20s, 5m0s."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s"
