"""Scenario tests named after the Kubernetes conformance tests they mirror (kubernetes profile)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from simulate import active, deployment, events, pods, replicaset, run_until, running_ready

from engine.cluster import Cluster
from engine.errors import Conflict
from engine.objects import owner_controller


def rs_of(cluster, pod):
    return (owner_controller(pod) or {}).get("name")


# ---------------------------------------------------------------- ReplicaSet
def test_replicaset_should_adopt_matching_pods_on_creation_and_release_no_longer_matching_pods(cluster):
    orphan = cluster.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod-adoption-release",
                                 "labels": {"name": "pod-adoption-release"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
    run_until(cluster, lambda: running_ready(cluster, "name=pod-adoption-release"), 60)
    cluster.api.create(replicaset("pod-adoption-release", 1, {"name": "pod-adoption-release"}))
    cluster.run_for(1)
    adopted = cluster.api.get("pods", "default", "pod-adoption-release")
    assert adopted["metadata"]["uid"] == orphan["metadata"]["uid"]
    assert rs_of(cluster, adopted) == "pod-adoption-release"
    assert len(pods(cluster, "name=pod-adoption-release")) == 1  # adopted, nothing new created
    cluster.api.patch("pods", "default", "pod-adoption-release", {"metadata": {"labels": {"name": "not-matching"}}},
                      "merge")
    cluster.run_for(1)
    released = cluster.api.get("pods", "default", "pod-adoption-release")
    assert not released["metadata"].get("ownerReferences")
    replacement = active(cluster, "name=pod-adoption-release")
    assert len(replacement) == 1 and replacement[0]["metadata"]["name"] != "pod-adoption-release"


def test_replicaset_should_replace_a_deleted_pod(cluster):
    cluster.api.create(replicaset("rs", 3))
    run_until(cluster, lambda: len(running_ready(cluster, "app=rs")) == 3, 60)
    victim = running_ready(cluster, "app=rs")[0]["metadata"]["name"]
    cluster.delete_pod("default", victim)
    t_delete = cluster.now
    # The ReplicaSet only counts active pods: the terminating one is replaced at once.
    cluster.run_for(0.01)
    names = {p["metadata"]["name"] for p in active(cluster, "app=rs")}
    assert victim not in names and len(names) == 3
    new = (names - {p["metadata"]["name"] for p in running_ready(cluster, "app=rs")}).pop()
    assert re.fullmatch(r"rs-[bcdfghjklmnpqrstvwxz2456789]{5}", new)
    t_ready = run_until(cluster, lambda: len(running_ready(cluster, "app=rs")) == 3, 60)
    assert t_ready - t_delete < 15
    created = [e["message"] for e in events(cluster, "SuccessfulCreate", "rs")]
    assert created[-1] == f"Created pod: {new}"


def test_replicaset_should_have_a_working_scale_subresource(cluster):
    cluster.api.create(replicaset("scaled", 1))
    run_until(cluster, lambda: len(running_ready(cluster, "app=scaled")) == 1, 60)
    scale = cluster.api.get_scale("replicasets", "default", "scaled")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    assert scale["status"] == {"replicas": 1, "selector": "app=scaled"}
    cluster.api.update_scale("replicasets", "default", "scaled", {"spec": {"replicas": 2}})
    run_until(cluster, lambda: len(running_ready(cluster, "app=scaled")) == 2, 60)
    assert cluster.api.get("replicasets", "default", "scaled")["spec"]["replicas"] == 2
    stale = dict(scale, spec={"replicas": 5})
    with pytest.raises(Conflict):
        cluster.api.update_scale("replicasets", "default", "scaled", stale)


# ---------------------------------------------------------------- Deployment
def _rollout_done(cluster, name, image):
    d = cluster.api.get("deployments", "default", name)
    st = d.get("status", {})
    want = d["spec"]["replicas"]
    imgs = {p["spec"]["containers"][0]["image"] for p in active(cluster, f"app={name}")}
    return (st.get("updatedReplicas") == want and st.get("availableReplicas") == want
            and st.get("replicas") == want and imgs == {image})


def test_rolling_update_deployment_should_delete_old_pods_and_create_new_ones(cluster):
    cluster.api.create(deployment("ru", 3))
    run_until(cluster, lambda: len(running_ready(cluster, "app=ru")) == 3, 60)
    cluster.set_image("Deployment", "default", "ru", "nginx:1.28")
    peak = 0

    def done():
        nonlocal peak
        peak = max(peak, len(active(cluster, "app=ru")))
        # maxUnavailable rounds down to 0 for 3 replicas: never fewer than 3 ready
        assert len(running_ready(cluster, "app=ru")) >= 3 or cluster.now < 1
        return _rollout_done(cluster, "ru", "nginx:1.28")

    run_until(cluster, done, 120)
    assert peak == 4  # maxSurge 25% of 3 rounds up to 1
    rs = cluster.store.list("replicasets", "default")
    sizes = sorted((r["metadata"]["annotations"]["deployment.kubernetes.io/revision"], r["spec"]["replicas"]) for r in rs)
    assert sizes == [("1", 0), ("2", 3)]
    msgs = [e["message"] for e in events(cluster, "ScalingReplicaSet", "ru")]
    assert re.fullmatch(r"Scaled up replica set ru-[456789bcdf]+ from 0 to 1", msgs[1])
    assert any(re.fullmatch(r"Scaled down replica set ru-[456789bcdf]+ from 3 to 2", m) for m in msgs)


def test_recreate_deployment_should_delete_old_pods_and_create_new_ones(cluster):
    cluster.api.create(deployment("rc", 3, strategy={"type": "Recreate"}))
    run_until(cluster, lambda: len(running_ready(cluster, "app=rc")) == 3, 60)
    cluster.set_image("Deployment", "default", "rc", "nginx:1.28")

    def never_mixed():
        images = {p["spec"]["containers"][0]["image"] for p in pods(cluster, "app=rc")}
        assert len(images) <= 1, f"old and new pods coexist: {images}"
        return _rollout_done(cluster, "rc", "nginx:1.28")

    run_until(cluster, never_mixed, 120)


def test_deployment_should_support_rollover(cluster):
    cluster.api.create(deployment("ro", 3))
    run_until(cluster, lambda: len(running_ready(cluster, "app=ro")) == 3, 60)
    cluster.set_image("Deployment", "default", "ro", "nginx:1.28")
    cluster.run_for(0.5)  # mid-rollout: roll over to a third template
    cluster.set_image("Deployment", "default", "ro", "nginx:1.29")
    run_until(cluster, lambda: _rollout_done(cluster, "ro", "nginx:1.29"), 180)
    sets = cluster.store.list("replicasets", "default")
    assert sorted(r["spec"]["replicas"] for r in sets) == [0, 0, 3]


def test_deployment_should_support_proportional_scaling(cluster):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    cluster.api.create(deployment("ps", 10, strategy=strategy))
    run_until(cluster, lambda: len(running_ready(cluster, "app=ps")) == 10, 120)
    # A new image that can never become ready (pull fails) keeps the rollout stuck half-way.
    cluster.set_image("Deployment", "default", "ps", "webserver:404")  # as the upstream e2e test
    cluster.run_for(30)
    sets = {r["spec"]["template"]["spec"]["containers"][0]["image"]: r["spec"]["replicas"]
            for r in cluster.store.list("replicasets", "default")}
    assert sets == {"nginx:1.27": 8, "webserver:404": 5}
    cluster.scale("Deployment", "default", "ps", 30)
    cluster.run_for(1)
    sets = {r["spec"]["template"]["spec"]["containers"][0]["image"]: r["spec"]["replicas"]
            for r in cluster.store.list("replicasets", "default")}
    # Upstream's conformance expectation: 20 extra replicas split 8:5 → old 20, new 13.
    assert sets == {"nginx:1.27": 20, "webserver:404": 13}


def test_deployment_should_support_rollback(cluster):
    cluster.api.create(deployment("rb", 2))
    run_until(cluster, lambda: len(running_ready(cluster, "app=rb")) == 2, 60)
    cluster.set_image("Deployment", "default", "rb", "nginx:1.28")
    run_until(cluster, lambda: _rollout_done(cluster, "rb", "nginx:1.28"), 120)
    cluster.rollback("Deployment", "default", "rb")
    run_until(cluster, lambda: _rollout_done(cluster, "rb", "nginx:1.27"), 120)
    d = cluster.api.get("deployments", "default", "rb")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    revs = sorted(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                  for r in cluster.store.list("replicasets", "default"))
    assert revs == ["2", "3"]  # the old set was renumbered, not duplicated


# ---------------------------------------------------------------- scheduling and nodes
def test_should_not_schedule_pods_on_an_unschedulable_node(cluster):
    for node in ("node-1", "node-2"):
        cluster.cordon(node)
    cluster.api.create(deployment("cordoned", 4))
    run_until(cluster, lambda: len(running_ready(cluster, "app=cordoned")) == 4, 60)
    assert {p["spec"]["nodeName"] for p in active(cluster, "app=cordoned")} == {"node-3"}


def test_a_pod_too_large_for_every_node_stays_pending_with_the_real_failed_scheduling_message(cluster):
    cluster.api.create(deployment("huge", 1, cpu="64"))
    cluster.run_for(30)
    pod = active(cluster, "app=huge")[0]
    assert pod["status"]["phase"] == "Pending"
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    msg = events(cluster, "FailedScheduling", pod["metadata"]["name"])[-1]["message"]
    assert msg.startswith("0/4 nodes are available: 1 node(s) had untolerated taint "
                          "{node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu.")


def test_pods_evicted_from_a_dead_node_are_recreated_elsewhere(cluster):
    cluster.api.create(deployment("dead", 6))
    run_until(cluster, lambda: len(running_ready(cluster, "app=dead")) == 6, 60)
    victims = {p["metadata"]["name"] for p in active(cluster, "app=dead") if p["spec"]["nodeName"] == "node-1"}
    assert victims
    t0 = cluster.now
    cluster.power_off_node("node-1")

    def ready_status():
        cond = next(c for c in cluster.api.get("nodes", None, "node-1")["status"]["conditions"] if c["type"] == "Ready")
        return cond["status"]

    t_unknown = run_until(cluster, lambda: ready_status() == "Unknown", 120)
    assert 40 <= t_unknown - t0 <= 60  # node-monitor-grace-period 50 s (+ heartbeat phase and monitor period)
    t_evict = run_until(cluster, lambda: bool(events(cluster, "TaintManagerEviction")), 600)
    assert 330 <= t_evict - t0 <= 370  # + 300 s default toleration
    t_back = run_until(cluster, lambda: len(running_ready(cluster, "app=dead")) == 6, 60)
    assert t_back - t_evict < 15
    assert all(p["spec"]["nodeName"] != "node-1" for p in running_ready(cluster, "app=dead"))


def test_same_seed_and_commands_give_the_same_event_history():
    def history() -> list[tuple]:
        c = Cluster(seed=7, profile="demo", nodes=3)
        c.run_for(20)
        name = running_ready(c, "app=web")[0]["metadata"]["name"]
        c.delete_pod("default", name)
        c.power_off_node("node-2")
        c.run_for(60)
        return [(e["metadata"]["name"], e["reason"], e["message"], e["count"]) for e in events(c)]

    first, second = history(), history()
    assert len(first) > 20
    assert first == second


def test_the_unmodified_kubernetes_io_guestbook_applies_and_reaches_ready(cluster):
    cluster.apply((Path(__file__).parent / "manifests" / "guestbook.yaml").read_text())

    def ready():
        ds = cluster.store.list("deployments", "default")
        return len(ds) == 3 and all(d.get("status", {}).get("readyReplicas") == d["spec"]["replicas"] for d in ds)

    run_until(cluster, ready, 120)
    svc = cluster.api.get("services", "default", "frontend")
    slices = [s for s in cluster.store.list("endpointslices", "default")
              if s["metadata"]["labels"].get("kubernetes.io/service-name") == "frontend"]
    ready_eps = [e for s in slices for e in s.get("endpoints") or [] if e["conditions"]["ready"]]
    assert svc["spec"]["clusterIP"].startswith("10.") and len(ready_eps) == 3
