"""One failing component never stops the others: errors are counted, surfaced and retried with back-off.

A sync that raises (a controller's, the kubelet's, a scheduling cycle, a chaos fault handler, any
clock callback) is recorded in ``Cluster.health()`` and retried for that key only; the clock,
persistence and every other key carry on.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import engine.chaos.controller as chaos_controller
from engine.client.workqueue import FAILURE_MAX, Controller, ItemExponentialFailureRateLimiter
from engine.clock import Clock, owner_of
from engine.cluster import Cluster
from engine.errors import Conflict
from simulate import running_ready


@pytest.fixture(autouse=True)
def lenient_clock(strict_clock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo conftest's strict clocks: carrying on after an error is what these tests check."""
    monkeypatch.setattr(Clock, "strict", False)


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                     "resources": {"requests": {"cpu": "100m"}}}]}}


def phase(cluster: Cluster, name: str) -> str:
    return cluster.api.get("pods", "default", name).get("status", {}).get("phase", "")


class Flaky(Controller):
    """A controller whose sync raises for one key (a bug), and records when each key was synced."""

    name = "flaky-controller"

    def __init__(self, clock: Clock, bad: str, error: Exception | None = None):
        super().__init__(SimpleNamespace(store=None), clock)
        self.bad = bad
        self.error = error or RuntimeError("nil pointer dereference")
        self.synced: list[tuple[str, float]] = []

    def sync(self, key: str) -> None:
        self.synced.append((key, self.clock.now))
        if key == self.bad:
            raise self.error


# ------------------------------------------------------------------ the work queue (client-go's loop)

def test_rate_limiter_doubles_from_5ms_to_1000s_and_forget_resets() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("k") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == FAILURE_MAX == 1000.0 and max(delays) == 1000.0
    assert limiter.num_requeues("k") == 20 and limiter.when("other") == 0.005
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0 and limiter.when("k") == 0.005


def test_a_failing_key_is_retried_with_back_off_while_other_keys_sync() -> None:
    clock = Clock(seed=1)
    ctl = Flaky(clock, bad="bad")
    for key in ("a", "bad", "b"):
        ctl.queue.add(key)
    clock.run_until(0.1)
    ctl.queue.add("c")                 # the queue still takes and syncs new keys
    clock.run_until(1.0)
    assert [k for k, _ in ctl.synced if k != "bad"] == ["a", "b", "c"]
    bad_times = [t for k, t in ctl.synced if k == "bad"]
    gaps = [round(b - a, 6) for a, b in zip(bad_times, bad_times[1:])]
    assert gaps[:6] == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16]   # simulated seconds, doubling
    health = clock.failures.health()["flaky-controller"]
    assert health == {"errors": len(bad_times), "last_error": "RuntimeError: nil pointer dereference",
                      "last_key": "bad", "at": round(bad_times[-1], 3)}
    assert ctl.queue.num_requeues("bad") == len(bad_times)


def test_success_forgets_the_back_off() -> None:
    clock = Clock(seed=1)
    ctl = Flaky(clock, bad="k")
    ctl.queue.add("k")
    clock.run_until(0.02)              # fails at 0, 0.005, 0.015
    assert ctl.queue.num_requeues("k") == 3
    ctl.bad = ""                       # fixed: the next retry succeeds
    clock.run_until(0.1)
    assert ctl.queue.num_requeues("k") == 0
    assert clock.failures.count("flaky-controller") == 3


def test_api_errors_are_retried_but_not_counted_as_failures() -> None:
    clock = Clock(seed=1)
    ctl = Flaky(clock, bad="k", error=Conflict("the object has been modified"))
    ctl.queue.add("k")
    clock.run_until(0.1)
    assert len([k for k, _ in ctl.synced if k == "k"]) > 3
    assert clock.failures.health() == {}
    assert ctl.queue.errors[-1] == ("k", "the object has been modified")


def test_a_strict_clock_lets_the_error_propagate() -> None:
    clock = Clock(seed=1, strict=True)
    ctl = Flaky(clock, bad="bad")
    ctl.queue.add("bad")
    with pytest.raises(RuntimeError, match="nil pointer"):
        clock.run_until(1)


# ------------------------------------------------------------------ the clock (last line of defence)

def test_a_raising_callback_does_not_stop_run_until() -> None:
    clock = Clock(seed=1)
    ran: list[float] = []

    def broken() -> None:
        raise ValueError("boom")

    clock.schedule(1, broken, owner="node-problem-detector")
    clock.schedule(2, lambda: ran.append(clock.now))
    clock.schedule(3, broken)
    clock.run_until(10)
    assert ran == [2.0] and clock.now == 10
    health = clock.failures.health()
    assert health["node-problem-detector"]["errors"] > 1          # retried, and failing each time
    derived = health[owner_of(broken)]
    assert derived["last_error"] == "ValueError: boom"
    assert "broken" in derived["last_key"]


def test_a_raising_callback_is_retried_with_back_off_until_it_succeeds() -> None:
    clock = Clock(seed=1)
    attempts: list[float] = []

    def flaky() -> None:
        attempts.append(clock.now)
        if len(attempts) < 4:
            raise RuntimeError("not yet")

    clock.schedule(1, flaky, owner="probe")
    clock.run_until(100)
    gaps = [round(b - a, 6) for a, b in zip(attempts, attempts[1:])]
    assert gaps == [0.005, 0.01, 0.02]                           # 5 ms doubling, then it worked
    assert clock.failures.count("probe") == 3


def test_a_cancelled_callback_is_not_retried() -> None:
    clock = Clock(seed=1)
    attempts: list[float] = []

    def broken() -> None:
        attempts.append(clock.now)
        raise RuntimeError("boom")

    handle = clock.schedule(1, broken)
    clock.run_until(1.001)
    handle.cancel()                                              # e.g. the pod it probed was deleted
    clock.run_until(100)
    assert attempts == [1.0]


def test_owner_names_the_component() -> None:
    clock = Clock(seed=1)
    ctl = Flaky(clock, bad="")
    assert owner_of(ctl.sync) == "flaky-controller"            # a controller's class-level name
    assert owner_of(ctl.queue.add) == "WorkQueue"
    assert owner_of(lambda: None).startswith("test_owner_names_the_component")


def test_strict_clock_raises_from_run_until() -> None:
    clock = Clock(seed=1, strict=True)
    clock.schedule(1, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        clock.run_until(2)


# ------------------------------------------------------------------ components of a real cluster

def test_a_failing_controller_sync_shows_in_health_and_the_rest_of_the_cluster_works() -> None:
    cluster = Cluster(seed=1, profile="kubernetes", nodes=3, empty=True)
    rs = cluster.controllers["replicaset-controller"]
    real = rs.queue.sync

    def sync(key):
        if key == ("default", "broken"):
            raise KeyError("spec.template")
        real(key)

    rs.queue.sync = sync
    for name in ("web", "broken"):
        cluster.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
                       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                                "template": {"metadata": {"labels": {"app": name}},
                                             "spec": pod(name)["spec"]}}})
    cluster.run_for(60)
    assert len(running_ready(cluster, "app=web")) == 2
    assert running_ready(cluster, "app=broken") == []
    health = cluster.health()
    assert set(health) == {"replicaset-controller"}
    entry = health["replicaset-controller"]
    assert entry["errors"] > 5 and entry["last_error"] == "KeyError: 'spec.template'"
    assert entry["last_key"] == "default/broken" and 0 < entry["at"] <= cluster.now


def test_a_failing_kubelet_sync_stops_neither_the_clock_nor_persistence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cluster.db'}"
    cluster = Cluster(seed=1, profile="kubernetes", nodes=3, empty=True, store_url=url)
    queue = cluster.kubelet_manager.queue
    real = queue.sync

    def sync(key):
        if key[0] == "pod" and key[3] == "bad":
            raise RuntimeError("container runtime crashed")
        real(key)

    queue.sync = sync
    cluster.apply([pod("good"), pod("bad")])
    cluster.run_for(60)
    assert cluster.now == 60
    assert phase(cluster, "good") == "Running"
    assert phase(cluster, "bad") == "Pending"
    entry = cluster.health()["kubelet"]
    node = cluster.api.get("pods", "default", "bad")["spec"]["nodeName"]
    assert entry["last_key"] == f"pod/{node}/default/bad" and entry["errors"] > 5
    cluster.close()
    reopened = Cluster(store_url=url)          # what the running cluster committed meanwhile
    assert phase(reopened, "good") == "Running"
    assert reopened.health() == {}
    reopened.close()


def test_a_failing_scheduling_cycle_backs_off_that_pod_only() -> None:
    cluster = Cluster(seed=1, profile="kubernetes", nodes=3, empty=True)
    framework = cluster.scheduler.framework
    real = framework.schedule_pod
    attempts: list[float] = []

    def schedule_pod(pi):
        if pi.name == "bad":
            attempts.append(cluster.now)
            raise AttributeError("'NoneType' object has no attribute 'allocatable'")
        return real(pi)

    framework.schedule_pod = schedule_pod
    cluster.apply([pod("bad"), pod("good")])
    cluster.run_for(30)
    assert phase(cluster, "good") == "Running"
    assert not cluster.api.get("pods", "default", "bad")["spec"].get("nodeName")
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert len(attempts) >= 3 and gaps == sorted(gaps) and gaps[0] > 0   # the pod's own back-off
    entry = cluster.health()["default-scheduler"]
    assert entry["errors"] == len(attempts) and entry["last_key"] == "default/bad"
    framework.schedule_pod = real                 # fixed: the next retry binds it
    cluster.run_for(30)
    assert phase(cluster, "bad") == "Running"


def test_a_failing_fault_handler_fails_its_target_and_the_chaos_controller_continues(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = Cluster(seed=5, profile="demo", nodes=3, empty=True)
    cluster.apply([pod("a"), pod("b")])
    cluster.run_for(30)
    real = chaos_controller.apply_fault

    def apply_fault(plane, fault, target, spec, *, revert=False):
        if target.get("name") == "a":
            raise RuntimeError("fault handler bug")
        return real(plane, fault, target, spec, revert=revert)

    monkeypatch.setattr(chaos_controller, "apply_fault", apply_fault)
    cluster.apply({"apiVersion": "chaos.kubedrill.io/v1", "kind": "PodChaos", "metadata": {"name": "kill"},
                   "spec": {"action": "pod-kill", "mode": "all", "selector": {"namespaces": ["default"]}}})
    cluster.run_for(5)
    status = cluster.api.get("podchaos", "default", "kill")["status"]
    by_name = {r["name"]: r for r in status["experiment"]["containerRecords"]}
    assert by_name["a"]["phase"] == "Failed"
    assert by_name["a"]["events"][-1]["message"] == "RuntimeError: fault handler bug"
    assert by_name["b"]["phase"] == "Injected"
    assert any(e["reason"] == "FailedApply" and "fault handler bug" in e["message"]
               for e in cluster.store.list("events", "default"))
    entry = cluster.health()["chaos-controller-manager"]
    assert entry["errors"] == 1 and entry["last_key"] == "podchaos/default/kill"
    cluster.apply({"apiVersion": "chaos.kubedrill.io/v1", "kind": "PodChaos", "metadata": {"name": "again"},
                   "spec": {"action": "pod-kill", "mode": "all", "selector": {"namespaces": ["default"]}}})
    cluster.run_for(5)
    assert cluster.api.get("podchaos", "default", "again")["status"]["experiment"]["containerRecords"]


def test_nothing_failed_means_empty_health() -> None:
    cluster = Cluster(seed=1, profile="kubernetes", nodes=3, empty=True)
    cluster.apply([pod("good")])
    cluster.run_for(30)
    assert cluster.health() == {}
