"""The Scheduler against a real Store and a recording fake API, on simulated time."""
from __future__ import annotations

from scheduler_testkit import CONTROL_PLANE_TAINT, FakeAPI, make_node, make_pod

from engine.clock import Clock
from engine.etcd.store import Store
from engine.objects import clone
from engine.scheduler import Scheduler


def start(api, clock, nodes=(), pods=()) -> Scheduler:
    for n in nodes:
        api.store.create("nodes", n)
    sched = Scheduler(api, clock, {"pod_initial_backoff": 1.0, "pod_max_backoff": 10.0})
    for p in pods:
        api.store.create("pods", p)
    return sched


def node_of(store: Store, name: str) -> str | None:
    return store.get("pods", "default", name)["spec"].get("nodeName")


def test_binds_pending_pod_and_records_scheduled_event(api, clock, store):
    start(api, clock, [make_node("node-1")], [make_pod("web-0")])
    assert api.binds == []                       # work happens on the clock, not inside the store write
    clock.run_until(0)
    assert api.binds == [("default", "web-0", "node-1")]
    assert node_of(store, "web-0") == "node-1"
    [ev] = api.reasons("Scheduled")
    assert ev["message"] == "Successfully assigned default/web-0 to node-1"
    assert ev["type"] == "Normal" and ev["component"] == "default-scheduler"
    assert "node-1" in ev["explanation"]


def test_ignores_other_schedulers_and_bound_pods(api, clock, store):
    other = make_pod("custom", schedulerName="my-scheduler")
    start(api, clock, [make_node("node-1")], [other, make_pod("static", node="node-1")])
    clock.run_until(5)
    assert api.binds == []
    assert node_of(store, "custom") is None


def test_unschedulable_pod_gets_condition_and_warning(api, clock, store):
    nodes = [make_node("cp", taints=[CONTROL_PLANE_TAINT])] + [make_node(f"w{i}", cpu="1") for i in range(3)]
    start(api, clock, nodes, [make_pod("web-x", cpu="2")])
    clock.run_until(0)
    expected = ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
                "3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for "
                "scheduling, 3 No preemption victims found for incoming pod.")
    [ev] = api.reasons("FailedScheduling")
    assert ev["type"] == "Warning" and ev["message"] == expected
    assert ev["explanation"] == ("No node can run web-x: 3 nodes lack CPU, 1 is the control plane (tainted). "
                                 "It stays Pending until room appears.")
    cond = next(c for c in store.get("pods", "default", "web-x")["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", expected)
    assert [u["subresource"] for u in api.updates] == ["status"]


def test_repeated_failure_updates_status_once(api, clock, store):
    start(api, clock, [make_node("w1", cpu="1")], [make_pod("big", cpu="2")])
    clock.run_until(0)
    clock.run_until(400)                          # the 5-minute flush retries it once more
    assert len(api.reasons("FailedScheduling")) == 2
    assert api.reasons("FailedScheduling")[1]["time"] == 300
    assert len(api.updates) == 1                  # same message: no second status write


def test_retries_follow_backoff_while_events_keep_coming(api, clock, store):
    start(api, clock, [make_node("w1", cpu="1")], [make_pod("big", cpu="2")])
    filler = make_pod("filler", cpu="10m", node="w1")

    def churn() -> None:                          # a bound pod deleted every 0.25 s frees "room"
        store.create("pods", clone(filler))
        store.delete("pods", "default", "filler")
        clock.schedule(0.25, churn)

    clock.schedule(0.25, churn)
    clock.run_until(40)
    times = [e["time"] for e in api.reasons("FailedScheduling")]
    assert [b - a for a, b in zip(times, times[1:])][:6] == [1, 2, 4, 8, 10, 10]


def test_node_added_requeues_unschedulable_pod(api, clock, store):
    start(api, clock, [make_node("small", cpu="1")], [make_pod("big", cpu="2")])
    clock.run_until(5)
    assert node_of(store, "big") is None
    store.create("nodes", make_node("large", cpu="8"))
    clock.run_until(5)
    assert node_of(store, "big") == "large"


def test_uncordon_and_terminated_pod_free_the_way(api, clock, store):
    start(api, clock, [make_node("n1", cpu="1", unschedulable=True)],
          [make_pod("done", cpu="800m", node="n1"), make_pod("next", cpu="500m")])
    clock.run_until(2)
    node = clone(store.get("nodes", "", "n1"))
    node["spec"].pop("unschedulable")
    store.update("nodes", node)
    clock.run_until(4)
    assert node_of(store, "next") is None        # uncordoned, but still no room
    assert "1 Insufficient cpu" in api.reasons("FailedScheduling")[-1]["message"]
    done = clone(store.get("pods", "default", "done"))
    done["status"]["phase"] = "Succeeded"
    store.update("pods", done)
    clock.run_until(6)
    assert node_of(store, "next") == "n1"


def test_no_double_booking_within_one_batch(api, clock, store):
    start(api, clock, [make_node("n1", cpu="1")], [make_pod(f"p{i}", cpu="400m") for i in range(3)])
    clock.run_until(0)
    assert sorted(b[1] for b in api.binds) == ["p0", "p1"]
    assert api.reasons("FailedScheduling")[0]["message"].startswith("0/1 nodes are available: 1 Insufficient cpu.")


def test_higher_priority_pod_goes_first(api, clock, store):
    sched = start(api, clock, [make_node("n1", cpu="1")])
    sched.stop()
    store.create("pods", make_pod("low", cpu="600m", priority=0))
    store.create("pods", make_pod("high", cpu="600m", priority=1000))
    sched.start()
    clock.run_until(0)
    assert api.binds == [("default", "high", "n1")]


def test_stopped_scheduler_queues_but_does_not_bind(api, clock, store):
    sched = start(api, clock, [make_node("n1")])
    sched.stopped = True
    store.create("pods", make_pod("waiting"))
    clock.run_until(60)
    assert api.binds == [] and "default/waiting" not in str(api.events)
    sched.start()
    clock.run_until(60)
    assert node_of(store, "waiting") == "n1"


def test_failed_binding_is_forgotten_and_retried(api, clock, store):
    sched = start(api, clock, [make_node("n1", cpu="1")])
    api.fail_binds = True
    store.create("pods", make_pod("p", cpu="800m"))
    clock.run_until(0)
    assert sched.cache.node_infos["n1"].req_cpu == 0          # the assumed pod was forgotten
    api.fail_binds = False
    clock.run_until(1)
    assert node_of(store, "p") == "n1"
    assert sched.cache.node_infos["n1"].req_cpu == 800


def test_same_seed_same_placements():
    def run(seed: int) -> list[tuple[str, str, str]]:
        clock, store = Clock(seed), Store()
        api = FakeAPI(store, clock)
        start(api, clock, [make_node(f"n{i}") for i in range(5)], [make_pod(f"p{i}") for i in range(20)])
        clock.run_until(1)
        return api.binds
    assert run(4) == run(4)
    assert len({b[2] for b in run(4)}) == 5


def test_volume_claims(api, clock, store):
    store.create("storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                    "metadata": {"name": "wait"}, "provisioner": "example.com/csi",
                                    "volumeBindingMode": "WaitForFirstConsumer"})
    for name, cls in (("late", "wait"), ("now", "")):
        store.create("persistentvolumeclaims", {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                "metadata": {"name": name, "namespace": "default"},
                                                "spec": {"storageClassName": cls}})
    vol = lambda claim: [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]  # noqa: E731
    start(api, clock, [make_node("n1")], [make_pod("a", volumes=vol("late")), make_pod("b", volumes=vol("now"))])
    clock.run_until(0)
    assert node_of(store, "a") == "n1"
    pvc = store.get("persistentvolumeclaims", "default", "late")
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "n1"
    assert api.reasons("FailedScheduling")[0]["message"] == (
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are "
        "available: 1 Preemption is not helpful for scheduling.")
    store.create("persistentvolumes", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-now"},
                                       "spec": {}})
    bound = clone(store.get("persistentvolumeclaims", "default", "now"))
    bound["spec"]["volumeName"] = "pv-now"
    store.update("persistentvolumeclaims", bound)
    clock.run_until(2)
    assert node_of(store, "b") == "n1"


def test_pod_anti_affinity_spreads_replicas(api, clock, store):
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    pods = [make_pod(f"web-{i}", labels={"app": "web"}, affinity=anti) for i in range(3)]
    start(api, clock, [make_node("n1"), make_node("n2")], pods)
    clock.run_until(0)
    assert sorted(b[2] for b in api.binds) == ["n1", "n2"]
    assert api.reasons("FailedScheduling")[0]["message"].startswith(
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.")
