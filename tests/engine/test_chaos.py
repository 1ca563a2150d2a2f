"""Chaos objects: which targets each fault kind and mode hits (seeded, so exact), and that it reverts."""
from __future__ import annotations

import random

import pytest

from engine.chaos.selection import choose
from engine.cluster import Cluster
from engine.errors import Invalid, ServiceUnavailable

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        resources: {requests: {cpu: 100m, memory: 64Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}
"""


def make_cluster(seed: int = 5) -> Cluster:
    cluster = Cluster(seed=seed, profile="demo", nodes=3, empty=True)
    cluster.apply(WEB)
    cluster.run_for(30)
    return cluster


@pytest.fixture
def cluster() -> Cluster:
    return make_cluster()


def chaos(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": "chaos.kubedrill.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def web_pods(cluster: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in cluster.store.list("pods", "default")
                  if not p["metadata"].get("deletionTimestamp"))


def records(cluster: Cluster, plural: str, name: str) -> list[dict]:
    return cluster.api.get(plural, "default", name)["status"]["experiment"]["containerRecords"]


def chaos_events(cluster: Cluster) -> list[tuple[str, str]]:
    return [(e["reason"], e["message"]) for e in cluster.store.list("events", "default")
            if e["source"]["component"] == "chaos-controller-manager"]


# ------------------------------------------------------------------ selection modes (pure)

@pytest.mark.parametrize("mode,value,expected", [
    ("one", None, [1]),
    ("all", None, list(range(10))),
    ("fixed", "3", [0, 1, 4]),
    ("fixed", 30, list(range(10))),               # more than there are: all of them
    ("fixed-percent", "50", [0, 1, 4, 6, 9]),
    ("random-max-percent", "50", [0, 1, 4, 9]),
])
def test_choose_is_seeded_and_exact(mode, value, expected):
    assert choose(list(range(10)), mode, value, random.Random(42)) == expected


def test_choose_fixed_percent_floors_like_chaos_mesh():
    assert len(choose(list(range(3)), "fixed-percent", "50", random.Random(1))) == 1
    assert choose([], "all", None, random.Random(1)) == []


# ------------------------------------------------------------------ PodChaos

def test_pod_kill_one_deletes_exactly_the_recorded_pod_and_explains(cluster):
    before = web_pods(cluster)
    cluster.apply(chaos("PodChaos", "kill-web", {"action": "pod-kill", "selector": {"labelSelectors": {"app": "web"}}}))
    cluster.run_for(0.1)
    recs = records(cluster, "podchaos", "kill-web")
    assert len(recs) == 1 and recs[0]["phase"] == "Injected" and recs[0]["id"].startswith("default/web-")
    victim = recs[0]["name"]
    assert victim in before and victim not in web_pods(cluster)
    assert ("Applied", f"PodChaos kill-web injected: killed default/{victim}") in chaos_events(cluster)
    event = next(e for e in cluster.store.list("events", "default") if e["reason"] == "Applied")
    assert "replacement" in event["metadata"]["annotations"]["kubedrill.io/explanation"]
    cluster.run_for(20)
    assert len(web_pods(cluster)) == 6                 # the ReplicaSet replaced it


def test_same_seed_hits_the_same_pods():
    hits = []
    for _ in range(2):
        c = make_cluster(seed=9)
        c.apply(chaos("PodChaos", "k", {"action": "pod-kill", "mode": "fixed", "value": "2",
                                         "selector": {"labelSelectors": {"app": "web"}}}))
        c.run_for(0.1)
        hits.append([r["id"] for r in records(c, "podchaos", "k")])
    assert hits[0] == hits[1] and len(hits[0]) == 2


@pytest.mark.parametrize("mode,value,count", [("all", None, 6), ("fixed", "4", 4), ("fixed-percent", "50", 3)])
def test_pod_kill_modes_hit_the_right_number(cluster, mode, value, count):
    spec = {"action": "pod-kill", "mode": mode, "selector": {"labelSelectors": {"app": "web"}}}
    if value:
        spec["value"] = value
    before = set(web_pods(cluster))
    cluster.apply(chaos("PodChaos", "k", spec))
    cluster.run_for(0.1)
    hit = {r["name"] for r in records(cluster, "podchaos", "k")}
    assert len(hit) == count and hit <= before and not hit & set(web_pods(cluster))


def test_random_max_percent_stays_under_its_maximum(cluster):
    cluster.apply(chaos("PodChaos", "k", {"action": "pod-kill", "mode": "random-max-percent", "value": "50",
                                           "selector": {"labelSelectors": {"app": "web"}}}))
    cluster.run_for(0.1)
    status = cluster.api.get("podchaos", "default", "k")["status"]
    assert len(status["experiment"]["containerRecords"]) <= 3


def test_pods_selector_by_name_and_no_match_is_reported(cluster):
    name = web_pods(cluster)[2]
    cluster.apply(chaos("PodChaos", "by-name", {"action": "pod-kill", "selector": {"pods": {"default": [name]}}}))
    cluster.apply(chaos("PodChaos", "nothing", {"action": "pod-kill", "selector": {"labelSelectors": {"app": "db"}}}))
    cluster.run_for(0.1)
    assert [r["name"] for r in records(cluster, "podchaos", "by-name")] == [name]
    nothing = cluster.api.get("podchaos", "default", "nothing")["status"]
    assert nothing["experiment"]["phase"] == "Failed"
    assert ("FailedApply", "PodChaos nothing: no pod is selected") in chaos_events(cluster)


def test_pod_failure_crash_loops_then_duration_reverts(cluster):
    cluster.apply(chaos("PodChaos", "fail", {"action": "pod-failure", "duration": "20s",
                                              "selector": {"labelSelectors": {"app": "web"}}}))
    cluster.run_for(12)
    victim = records(cluster, "podchaos", "fail")[0]["name"]
    pod = cluster.api.get("pods", "default", victim)
    assert "crash-loop" in pod["metadata"]["annotations"]["kubedrill.io/faults"]
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 1
    cluster.run_for(10)                                   # past the 20 s duration
    status = cluster.api.get("podchaos", "default", "fail")["status"]
    assert status["experiment"]["phase"] == "Finished"
    assert status["experiment"]["containerRecords"][0]["phase"] == "Recovered"
    assert "kubedrill.io/faults" not in (cluster.api.get("pods", "default", victim)["metadata"].get("annotations") or {})
    assert any(r == "Recovered" for r, _ in chaos_events(cluster))


def test_deleting_the_chaos_object_reverts_readiness_failure(cluster):
    cluster.apply(chaos("PodChaos", "unready", {"action": "readiness-failure",
                                                 "selector": {"labelSelectors": {"app": "web"}}}))
    cluster.run_for(15)
    victim = records(cluster, "podchaos", "unready")[0]["name"]
    ready = lambda: next(c["status"] for c in cluster.api.get("pods", "default", victim)["status"]["conditions"]
                         if c["type"] == "Ready")
    assert ready() == "False"
    cluster.api.delete("podchaos", "default", "unready")
    cluster.run_for(10)
    assert ready() == "True"


# ------------------------------------------------------------------ NodeChaos

def test_power_off_selects_workers_only_and_duration_powers_back_on(cluster):
    cluster.apply(chaos("NodeChaos", "off", {"action": "power-off", "mode": "all", "duration": "30s"}))
    cluster.run_for(0.1)
    hit = [r["id"] for r in records(cluster, "nodechaos", "off")]
    assert hit == ["node-1", "node-2", "node-3"]          # the control plane is spared by default
    assert not any(cluster.kubelets[n].powered for n in hit)
    cluster.run_for(31)
    assert all(cluster.kubelets[n].powered for n in hit)


@pytest.mark.parametrize("action,check", [
    ("kubelet-stop", lambda k: not k.kubelet_running and k.powered),
    ("network-partition", lambda k: k.partitioned),
    ("memory-pressure", lambda k: k.pressure.get("memory")),
    ("disk-pressure", lambda k: k.pressure.get("disk")),
])
def test_node_actions_apply_and_revert_on_delete(cluster, action, check):
    cluster.apply(chaos("NodeChaos", "n", {"action": action, "selector": {"nodes": ["node-2"]}}))
    cluster.run_for(1)
    assert check(cluster.kubelets["node-2"])
    cluster.api.delete("nodechaos", "default", "n")
    cluster.run_for(1)
    assert not check(cluster.kubelets["node-2"])


# ------------------------------------------------------------------ ControlPlaneChaos

def test_controller_manager_down_nothing_heals_until_it_returns(cluster):
    cluster.apply(chaos("ControlPlaneChaos", "kcm", {"component": "controller-manager", "duration": "30s"}))
    cluster.run_for(0.1)
    assert all(c.stopped for c in cluster.controllers.values())
    cluster.delete_pod("default", web_pods(cluster)[0])
    cluster.run_for(20)
    assert len(web_pods(cluster)) == 5                  # no replacement while it is down
    cluster.run_for(20)
    assert not any(c.stopped for c in cluster.controllers.values())
    assert len(web_pods(cluster)) == 6


def test_one_named_controller_and_scheduler(cluster):
    cluster.apply(chaos("ControlPlaneChaos", "rs", {"component": "controller-manager",
                                                    "controllers": ["replicaset-controller"]}))
    cluster.apply(chaos("ControlPlaneChaos", "sched", {"component": "scheduler", "duration": "10s"}))
    cluster.run_for(0.1)
    assert cluster.controllers["replicaset-controller"].stopped
    assert not cluster.controllers["deployment-controller"].stopped
    assert cluster.scheduler.stopped
    cluster.run_for(11)
    assert not cluster.scheduler.stopped and cluster.controllers["replicaset-controller"].stopped


def test_unknown_controller_is_invalid(cluster):
    with pytest.raises(Invalid) as err:
        cluster.api.create(chaos("ControlPlaneChaos", "x", {"component": "controller-manager",
                                                            "controllers": ["nope"]}))
    assert err.value.causes[0].field == "spec.controllers[0]"


def test_apiserver_down_kubectl_fails_until_duration(cluster):
    cluster.apply(chaos("ControlPlaneChaos", "api", {"component": "apiserver", "duration": "15s"}))
    cluster.run_for(1)
    with pytest.raises(ServiceUnavailable):
        cluster.api.list("pods", "default")
    cluster.run_for(15)
    assert len(cluster.api.list("pods", "default")[0]) == 6
    assert cluster.api.get("controlplanechaos", "default", "api")["status"]["experiment"]["phase"] == "Finished"


def test_etcd_loss_then_restore_from_snapshot(cluster):
    cluster.backup_etcd()
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-backup"}})
    cluster.apply(chaos("ControlPlaneChaos", "etcd", {"action": "etcd-loss"}))
    cluster.run_for(5)
    assert cluster.store.count("deployments") == 0
    with pytest.raises(ServiceUnavailable):
        cluster.api.get("deployments", "default", "web")
    cluster.restore_etcd(cluster.etcd_backups[-1])
    cluster.run_for(10)
    assert cluster.api.get("deployments", "default", "web")["status"]["readyReplicas"] == 6
    assert cluster.store.find("configmaps", "default", "after-backup") is None
    assert len(web_pods(cluster)) == 6


# ------------------------------------------------------------------ NetworkChaos

def test_network_delay_calls_the_traffic_model_and_reverts(cluster):
    calls = []

    class Traffic:
        def set_fault(self, key, latency_ms, error_rate):
            calls.append((key, latency_ms, error_rate))

    cluster.control_plane.traffic = Traffic()
    cluster.apply(chaos("NetworkChaos", "slow", {"action": "delay", "service": "web", "delay": {"latency": "200ms"},
                                                 "duration": "10s"}))
    cluster.run_for(11)
    assert calls == [("default/web", 200.0, 0.0), ("default/web", 0.0, 0.0)]


# ------------------------------------------------------------------ Schedule

def test_schedule_spawns_children_and_keeps_history(cluster):
    cluster.apply(chaos("Schedule", "killer", {"schedule": "@every 10s", "type": "PodChaos", "historyLimit": 2,
                                               "podChaos": {"action": "pod-kill",
                                                            "selector": {"labelSelectors": {"app": "web"}}}}))
    cluster.run_for(35)
    status = cluster.api.get("schedules", "default", "killer")["status"]
    assert status["runs"] == 3
    children = sorted(c["metadata"]["name"] for c in cluster.store.list("podchaos", "default"))
    assert children == ["killer-2", "killer-3"]
    cluster.api.delete("schedules", "default", "killer")
    cluster.run_for(15)
    assert cluster.store.list("podchaos", "default") == []      # garbage-collected with their owner


def test_schedule_dry_run_records_without_killing(cluster):
    before = web_pods(cluster)
    cluster.apply(chaos("Schedule", "dry", {"schedule": "@every 5s", "type": "PodChaos", "dryRun": True,
                                            "podChaos": {"action": "pod-kill", "mode": "fixed", "value": "2",
                                                         "selector": {"labelSelectors": {"app": "web"}}}}))
    cluster.run_for(16)
    status = cluster.api.get("schedules", "default", "dry")["status"]
    assert len(status["dryRunRecords"]) == 3
    assert all(len(r["wouldHit"]) == 2 and set(h.split("/")[1] for h in r["wouldHit"]) <= set(before)
               for r in status["dryRunRecords"])
    assert web_pods(cluster) == before
    assert any(reason == "DryRun" for reason, _ in chaos_events(cluster))


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize("kind,spec,field", [
    ("PodChaos", {"action": "explode"}, "spec.action"),
    ("PodChaos", {"action": "pod-kill", "mode": "fixed"}, "spec.value"),
    ("PodChaos", {"action": "pod-kill", "duration": "soon"}, "spec.duration"),
    ("NodeChaos", {"action": "power-off", "mode": "sometimes"}, "spec.mode"),
    ("ControlPlaneChaos", {"component": "etcd"}, "spec.component"),
    ("NetworkChaos", {"action": "loss", "service": "web", "loss": {"loss": "150"}}, "spec.loss.loss"),
    ("Schedule", {"schedule": "every minute", "type": "PodChaos", "podChaos": {"action": "pod-kill"}},
     "spec.schedule"),
    ("Schedule", {"schedule": "@every 1m", "type": "PodChaos", "podChaos": {"action": "nap"}},
     "spec.podChaos.action"),
])
def test_invalid_specs_name_the_field(cluster, kind, spec, field):
    with pytest.raises(Invalid) as err:
        cluster.api.create(chaos(kind, "bad", spec))
    assert field in [c.field for c in err.value.causes]
    assert err.value.to_status()["code"] == 422


def test_defaults_and_immutable_spec(cluster):
    created = cluster.api.create(chaos("PodChaos", "d", {"action": "pod-kill", "selector": {}}))
    assert created["spec"]["mode"] == "one" and created["spec"]["selector"]["namespaces"] == ["default"]
    changed = dict(created, spec=dict(created["spec"], action="oom"))
    with pytest.raises(Invalid):
        cluster.api.update(changed)
