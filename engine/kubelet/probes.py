"""Container probes: when startup, readiness and liveness probes tick, and what their results do.

Like upstream's ``pkg/kubelet/prober``, but a probe is only scheduled while its result can change
something, and its outcome comes from the pod's injected faults. ``ProbeManager`` is a mixin of
``Kubelet`` (engine/kubelet/kubelet.py).
"""
from __future__ import annotations

import math

from .runtime import ContainerRuntime, PodRuntime
from .stages import WARNING, Emit


class ProbeManager:
    """Mixin of ``Kubelet``: schedule probe ticks and apply their results to the container."""

    # ------------------------------------------------------------------ probes
    def _probe(self, rt: PodRuntime, c: ContainerRuntime, kind: str) -> dict | None:
        # A readiness/liveness fault makes the app's endpoint fail; without that probe the kubelet
        # never notices (the pod stays Ready and keeps receiving traffic) — the lesson of drill 06.
        return c.spec.get(f"{kind}Probe") or None

    def _arm_probes(self, rt: PodRuntime, c: ContainerRuntime, ticked: str = "") -> None:
        """Schedule probe ticks only while a probe can change something (cost: pods with probes)."""
        if c.state != "Running" or c.init or rt.terminating or not self.connected:
            return
        wanted = []
        if not c.started:
            if self._probe(rt, c, "startup"):
                wanted.append("startup")
        else:
            readiness = self._probe(rt, c, "readiness")
            if readiness is not None and ("readiness" in rt.faults or not c.ready):
                wanted.append("readiness")
            if "liveness" in rt.faults and self._probe(rt, c, "liveness") is not None:
                wanted.append("liveness")
        timers = c.probe_timers or {}
        for kind in list(timers):
            if kind not in wanted:
                timers.pop(kind).cancel()
        for kind in wanted:
            if kind in timers:
                continue
            probe = self._probe(rt, c, kind)
            period = float(probe.get("periodSeconds") or 10)
            base = (c.started_at or self.clock.now) + float(probe.get("initialDelaySeconds") or 0)
            if self.clock.now <= base and kind != ticked:
                when = base
            elif kind == ticked:
                when = self.clock.now + period   # the probe just ran: next period
            else:
                when = base + math.ceil((self.clock.now - base) / period - 1e-9) * period
            timers[kind] = self.clock.schedule_at(when, lambda k=kind: self._probe_tick(rt, c, k))
        c.probe_timers = timers or None

    def _probe_tick(self, rt: PodRuntime, c: ContainerRuntime, kind: str) -> None:
        if c.probe_timers:
            c.probe_timers.pop(kind, None)
        if c.state != "Running" or rt.terminating or rt.key not in self.pods or not self.connected:
            return
        probe = self._probe(rt, c, kind)
        if probe is None:
            return
        success = kind not in rt.faults
        label = kind.capitalize()
        if kind == "startup":
            if success:
                c.started = True
                c.ready = self._probe(rt, c, "readiness") is None
                self._mark_dirty(rt)
        elif kind == "readiness":
            if success:
                c.r_fail = 0
                c.r_succ += 1
                if not c.ready and c.r_succ >= int(probe.get("successThreshold") or 1):
                    c.ready = True
                    self._log(c, "readiness probe succeeded")
                    self._mark_dirty(rt)
            else:
                c.r_succ = 0
                c.r_fail += 1
                self._unhealthy(rt, c, label, probe, 503)
                if c.ready and c.r_fail >= int(probe.get("failureThreshold") or 3):
                    c.ready = False
                    self._mark_dirty(rt)
        elif kind == "liveness":
            if success:
                c.l_fail = 0
            else:
                c.l_fail += 1
                self._unhealthy(rt, c, label, probe, 500)
                if c.l_fail >= int(probe.get("failureThreshold") or 3):
                    self._emit(rt, c, (Emit("Killing", f"Container {c.name} failed liveness probe, will be restarted",
                                            explanation=f"{c.name} failed its liveness probe {c.l_fail} "
                                                        "times in a row: the kubelet kills and restarts it"),))
                    self._log(c, "received SIGTERM (liveness probe failed), shutting down")
                    self._container_exit(rt, c, 137, "Error")
                    return
        self._arm_probes(rt, c, ticked=kind)

    def _unhealthy(self, rt: PodRuntime, c: ContainerRuntime, label: str, probe: dict, code: int) -> None:
        if probe.get("httpGet") is not None:
            output = f"HTTP probe failed with statuscode: {code}"
        elif probe.get("tcpSocket") is not None:
            port = probe["tcpSocket"].get("port", 80)
            output = f"dial tcp {rt.ip}:{port}: connect: connection refused"
        elif probe.get("grpc") is not None:
            output = 'timeout: failed to connect service ":' + str(probe["grpc"].get("port", "")) + '" within 1s'
        else:
            command = " ".join(str(x) for x in ((probe.get("exec") or {}).get("command") or ()))
            output = f"command \"{command}\" exited with 1" if command else "probe failed"
        what = "removed from Service endpoints until it passes again" if label == "Readiness" else \
            f"restarted after {int(probe.get('failureThreshold') or 3)} failures in a row"
        self._emit(rt, c, (Emit("Unhealthy", f"{label} probe failed: {output}", WARNING,
                                f"{c.name}'s {label.lower()} probe failed: the pod is {what}"),))
        self._log(c, f"{label.lower()} probe failed: {output}")
