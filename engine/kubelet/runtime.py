"""The container-runtime side of the kubelet: its in-memory records of pods and containers.

``PodRuntime`` and ``ContainerRuntime`` are what containerd knows (kubelet memory, never an API
object): lost when a node powers off, rebuilt from the reported pod status when a kubelet adopts a
pod (``restore_container``). Also the small ID and number formatting helpers the kubelet modules share.
"""
from __future__ import annotations

from typing import Any

from ..clock import parse_rfc3339
from ..objects import annotations_of, spec_of
from .stages import CONTAINER_START, FAULTS_ANNOTATION, IGNORE_SIGTERM_ANNOTATION, POD_START, parse_faults

_HEX = "0123456789abcdef"


class ContainerRuntime:
    """What containerd knows about one container of a pod (kubelet memory, not the API)."""

    __slots__ = ("name", "image", "init", "spec", "state", "waiting_reason", "waiting_message", "started_at",
                 "finished_at", "exit_code", "exit_reason", "restart_count", "last_state", "ready", "started",
                 "container_id", "pulled", "timer", "probe_timers", "crash_next", "backoff", "pull_next",
                 "r_succ", "r_fail", "l_fail", "log", "prev_log", "blocked")

    def __init__(self, spec: dict, init: bool):
        self.name: str = spec.get("name", "")
        self.image: str = spec.get("image", "")
        self.init = init
        self.spec = spec
        self.state = CONTAINER_START
        self.waiting_reason = "ContainerCreating"
        self.waiting_message = ""
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.exit_code: int | None = None
        self.exit_reason = ""
        self.restart_count = 0
        self.last_state: dict | None = None
        self.ready = False
        self.started = False
        self.container_id = ""
        self.pulled = False
        self.timer = None
        self.probe_timers: dict[str, Any] | None = None
        self.crash_next = 0.0
        self.backoff = 0.0
        self.pull_next = 0.0
        self.r_succ = self.r_fail = self.l_fail = 0
        self.log: list[str] | None = None
        self.prev_log: list[str] | None = None
        self.blocked = ""

    def cancel_timers(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.probe_timers:
            for handle in self.probe_timers.values():
                handle.cancel()
            self.probe_timers = None


class PodRuntime:
    """The kubelet's view of one pod: sandbox, IP and containers."""

    __slots__ = ("ns", "name", "uid", "state", "ip", "start_time", "inits", "containers", "timer", "terminating",
                 "faults", "flush_pending", "restart_policy", "gates", "ignore_sigterm", "blocked", "waiting_refs",
                 "final", "host_network")

    def __init__(self, pod: dict):
        meta, spec = pod["metadata"], spec_of(pod)
        self.ns: str = meta.get("namespace", "")
        self.name: str = meta["name"]
        self.uid: str = meta.get("uid", "")
        self.state = POD_START
        self.ip = ""
        self.start_time = ""
        self.inits = [ContainerRuntime(c, True) for c in spec.get("initContainers") or ()]
        self.containers = [ContainerRuntime(c, False) for c in spec.get("containers") or ()]
        if self.inits:
            for c in self.containers:
                c.waiting_reason = "PodInitializing"
        self.timer = None
        self.terminating = False
        self.faults: set[str] = parse_faults(annotations_of(pod).get(FAULTS_ANNOTATION))
        self.flush_pending = False
        self.restart_policy: str = spec.get("restartPolicy") or "Always"
        self.gates = [g.get("conditionType") for g in spec.get("readinessGates") or () if g.get("conditionType")]
        self.ignore_sigterm = annotations_of(pod).get(IGNORE_SIGTERM_ANNOTATION) == "true"
        self.blocked = ""
        self.waiting_refs: tuple = ()
        self.final = False
        self.host_network = bool(spec.get("hostNetwork"))

    @property
    def key(self) -> tuple[str, str]:
        return self.ns, self.name

    def all_containers(self) -> list[ContainerRuntime]:
        return self.inits + self.containers

    def cancel_timers(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for c in self.inits:
            c.cancel_timers()
        for c in self.containers:
            c.cancel_timers()

    def involved(self) -> dict:
        return {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": self.name, "namespace": self.ns,
                                                                 "uid": self.uid}}


# ---------------------------------------------------------------------------------------------------
# helpers

def restore_container(c: ContainerRuntime, status: dict | None, reboot: bool) -> None:
    """Rebuild a container's runtime record from its reported status."""
    if not status:
        return
    c.restart_count = int(status.get("restartCount") or 0)
    c.last_state = status.get("lastState") or None
    c.container_id = status.get("containerID") or ""
    c.pulled = bool(status.get("imageID"))
    state = status.get("state") or {}
    if "running" in state:
        c.state = "Running"
        c.started_at = parse_rfc3339(state["running"]["startedAt"]) if state["running"].get("startedAt") else None
        c.started = bool(status.get("started", True))
        c.ready = bool(status.get("ready"))
        if reboot:
            c.state, c.exit_code, c.exit_reason = "Exited", 255, "Unknown"
            c.finished_at = None
            c.ready = c.started = False
    elif "terminated" in state:
        term = state["terminated"]
        c.state = "Exited"
        c.exit_code = int(term.get("exitCode") or 0)
        c.exit_reason = term.get("reason") or ""
        c.started_at = parse_rfc3339(term["startedAt"]) if term.get("startedAt") else None
        c.finished_at = parse_rfc3339(term["finishedAt"]) if term.get("finishedAt") else None
        if c.init and c.exit_code == 0:
            c.state = "Done"
    else:
        waiting = state.get("waiting") or {}
        c.waiting_reason = waiting.get("reason") or "ContainerCreating"
        c.waiting_message = waiting.get("message") or ""
        c.state = "Waiting"


def random_hex(rng, n: int) -> str:
    """Return ``n`` random hex digits from the cluster's seeded rng (container, machine IDs)."""
    return "".join(rng.choice(_HEX) for _ in range(n))


def random_uuid(rng) -> str:
    """Return a random UUID (one 128-bit draw from the seeded rng), formatted 8-4-4-4-12."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def format_number(value: float) -> str:
    """Render seconds as Kubernetes messages do: ``10`` for whole numbers, else ``2.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
