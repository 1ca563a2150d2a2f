"""Timing profiles: ``kubernetes`` uses the real v1.32 defaults, ``demo`` compresses the slow timers.

The values are data shown to the user (dashboard header, ``/ui/profile``), never hidden constants.
Sources for the kubernetes values: KUBERNETES.md sections 1, 5 and 6.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import BadRequest


@dataclass(frozen=True)
class Profile:
    name: str
    # kubelet
    node_lease_duration: float = 40.0          # nodeLeaseDurationSeconds
    lease_renew_interval: float = 10.0         # 40 s x nodeLeaseRenewIntervalFraction 0.25
    node_status_report_frequency: float = 300.0
    image_pull_seconds: tuple[float, float] = (1.0, 4.0)   # (min, max) uniform, seeded
    container_start_seconds: tuple[float, float] = (0.3, 1.0)
    sandbox_seconds: tuple[float, float] = (0.5, 1.5)      # sandbox + CNI (pod IP) before containers
    sigterm_exit_seconds: tuple[float, float] = (0.5, 2.0)  # how long a well-behaved app takes to exit
    crash_backoff_initial: float = 10.0        # backOffPeriod
    crash_backoff_max: float = 300.0           # MaxContainerBackOff
    crash_backoff_reset: float = 600.0         # back-off forgotten after 10 min of running
    image_pull_backoff_initial: float = 10.0
    image_pull_backoff_max: float = 300.0
    # node lifecycle controller
    node_monitor_period: float = 5.0
    node_monitor_grace_period: float = 50.0    # 50 s since v1.32 (PR #126287)
    node_startup_grace_period: float = 60.0
    default_toleration_seconds: int = 300      # DefaultTolerationSeconds admission
    # scheduler
    pod_initial_backoff: float = 1.0
    pod_max_backoff: float = 10.0
    # controllers
    progress_deadline_default: int = 600
    event_ttl: float = 3600.0

    def values(self) -> dict:
        """The profile as plain data (for the API and the dashboard)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out


KUBERNETES = Profile(name="kubernetes")

# Classroom timings: a node failure is noticed in ~8 s and its pods are evicted ~10 s later, so the
# whole failure-and-recovery story fits in well under a minute. Everything else keeps its real shape.
DEMO = Profile(
    name="demo",
    lease_renew_interval=2.0,
    node_lease_duration=8.0,
    image_pull_seconds=(0.5, 1.5),
    crash_backoff_initial=2.0,
    crash_backoff_max=30.0,
    crash_backoff_reset=60.0,
    image_pull_backoff_initial=2.0,
    image_pull_backoff_max=30.0,
    node_monitor_period=1.0,
    node_monitor_grace_period=8.0,
    node_startup_grace_period=10.0,
    default_toleration_seconds=10,
    progress_deadline_default=600,
)

PROFILES = {"kubernetes": KUBERNETES, "demo": DEMO}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise BadRequest(f'unknown profile "{name}": supported values: "demo", "kubernetes"') from None
