"""Framework tests: FitError text, percentageOfNodesToScore, rotation, scoring, incremental cache."""
from __future__ import annotations

import random

import pytest
from scheduler_testkit import CONTROL_PLANE_TAINT, make_node, make_pod

from engine.etcd.store import Store
from engine.scheduler.framework import FitError, Framework, SchedulerCache, num_feasible_nodes_to_find
from engine.scheduler.plugins import balanced_allocation, node_resources_fit
from engine.scheduler.types import PodInfo


def cluster(nodes: list[dict], pods: list[dict] = (), store: Store | None = None, seed: int = 1) -> Framework:
    cache = SchedulerCache(store)
    for n in nodes:
        cache.add_node(n)
    for p in pods:
        cache.add_pod(PodInfo(p))
    return Framework(cache, random.Random(seed))


def fit_error(fw: Framework, pod: dict) -> str:
    with pytest.raises(FitError) as info:
        fw.schedule_pod(PodInfo(pod))
    return str(info.value)


def test_fit_error_message_matches_kubernetes():
    nodes = [make_node("cp", taints=[CONTROL_PLANE_TAINT])] + [make_node(f"w{i}", cpu="1") for i in range(3)]
    msg = fit_error(cluster(nodes), make_pod("web-x", cpu="2"))
    assert msg == ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
                   "3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for "
                   "scheduling, 3 No preemption victims found for incoming pod.")


def test_fit_error_counts_each_reason_and_sorts_as_strings():
    nodes = [make_node(f"w{i:02d}", cpu="1", memory="1Gi") for i in range(10)] + [make_node("big", cpu="8", memory="1Gi")]
    msg = fit_error(cluster(nodes), make_pod("p", cpu="2", memory="2Gi"))
    # "10 ..." sorts before "11 ..." and both before "2 ..." (Go's sort.Strings on the whole entry)
    assert msg.startswith("0/11 nodes are available: 10 Insufficient cpu, 11 Insufficient memory. preemption: ")


def test_fit_error_for_prefilter_failure():
    store = Store()
    store.create("persistentvolumeclaims", {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                            "metadata": {"name": "data", "namespace": "default"}, "spec": {}})
    fw = cluster([make_node("n1"), make_node("n2")], store=store)
    pod = make_pod("db-0", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}])
    assert fit_error(fw, pod) == ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                                  "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")


def test_fit_error_cordoned_and_no_nodes():
    assert fit_error(cluster([make_node("n1", unschedulable=True)]), make_pod("p")) == (
        "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: "
        "1 Preemption is not helpful for scheduling.")
    assert fit_error(cluster([]), make_pod("p")) == "no nodes available to schedule pods"
    never = make_pod("p", cpu="9", preemptionPolicy="Never")
    assert fit_error(cluster([make_node("n1")]), never).endswith(
        "preemption: not eligible due to preemptionPolicy=Never.")


def test_daemonset_style_pod_reports_prefilter_result_for_other_nodes():
    pin = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}
    fw = cluster([make_node("n1", cpu="1"), make_node("n2"), make_node("n3")])
    assert fit_error(fw, make_pod("ds-x", cpu="2", affinity=pin)).startswith(
        "0/3 nodes are available: 1 Insufficient cpu, 2 node is filtered out by the prefilter result.")
    assert fw.schedule_pod(PodInfo(make_pod("ds-y", cpu="100m", affinity=pin))).node == "n1"


@pytest.mark.parametrize("nodes, expect", [
    (3, 3), (99, 99), (100, 100), (1000, 420), (5000, 500), (6000, 300), (10000, 500), (20000, 1000),
])
def test_num_feasible_nodes_to_find(nodes, expect):
    # <100: all; else max(5, 50 - n/125)% with a floor of 100 nodes
    assert num_feasible_nodes_to_find(nodes) == expect


def test_filtering_stops_early_and_rotates_start_index():
    fw = cluster([make_node(f"n{i:04d}") for i in range(1000)])
    feasible, diagnosis, _, total = fw.find_nodes_that_fit(PodInfo(make_pod("p")))
    assert total == 1000 and len(feasible) == 420 and not diagnosis.node_to_status
    assert feasible[0].name == "n0000"
    assert fw.next_start_node_index == 420
    feasible, _, _, _ = fw.find_nodes_that_fit(PodInfo(make_pod("q")))
    assert feasible[0].name == "n0420"
    assert [n.name for n in feasible[-2:]] == ["n0838", "n0839"]


def test_small_cluster_evaluates_every_node():
    fw = cluster([make_node(f"n{i}") for i in range(5)])
    feasible, _, _, _ = fw.find_nodes_that_fit(PodInfo(make_pod("p")))
    assert len(feasible) == 5


def test_fused_resource_scores_equal_plugin_scores():
    rng = random.Random(3)
    nodes, pods = [], []
    for i in range(40):
        nodes.append(make_node(f"n{i}", cpu=str(rng.choice([1, 2, 4, 8])), memory=f"{rng.choice([2, 4, 16])}Gi"))
        for j in range(rng.randrange(4)):
            pods.append(make_pod(f"p{i}-{j}", cpu=f"{rng.randrange(0, 900)}m", memory=f"{rng.randrange(0, 900)}Mi",
                                 node=f"n{i}"))
    fw = cluster(nodes, pods)
    feasible = list(fw.cache.nodes)
    for pod in (make_pod("a", "250m", "64Mi"), make_pod("b", None, None), make_pod("c", "3", None)):
        pi = PodInfo(pod)
        per_plugin = fw.prioritize(pi, feasible)
        assert per_plugin[node_resources_fit.NAME] == [node_resources_fit.score(pi, ni) for ni in feasible]
        if pi.best_effort:
            assert balanced_allocation.NAME not in per_plugin
        else:
            assert per_plugin[balanced_allocation.NAME] == [balanced_allocation.score(pi, ni) for ni in feasible]
        summed = [sum(col) for col in zip(*per_plugin.values())]
        assert fw.score_totals(pi, feasible) == summed


def test_scoring_prefers_the_emptier_node():
    fw = cluster([make_node("busy"), make_node("idle")], [make_pod("x", "3", "8Gi", node="busy")])
    assert fw.schedule_pod(PodInfo(make_pod("p", "500m", "1Gi"))).node == "idle"


def test_soft_taint_is_avoided_when_possible():
    soft = [{"key": "maintenance", "effect": "PreferNoSchedule"}]
    fw = cluster([make_node("a", taints=soft), make_node("b")])
    for i in range(5):
        assert fw.schedule_pod(PodInfo(make_pod(f"p{i}"))).node == "b"


def test_ties_are_broken_by_the_seeded_rng():
    def picks(seed: int) -> list[str]:
        fw = cluster([make_node(f"n{i}") for i in range(6)], seed=seed)
        return [fw.schedule_pod(PodInfo(make_pod(f"p{i}"))).node for i in range(8)]
    assert picks(11) == picks(11)
    assert len(set(picks(11))) > 1                 # equal nodes do not always get the same pick
    assert picks(11) != picks(12)


def test_cache_is_incremental_and_ghost_nodes_keep_pods():
    cache = SchedulerCache()
    cache.add_node(make_node("n1", cpu="2"))
    cache.add_pod(PodInfo(make_pod("a", "500m", "1Gi", node="n1", host_ports=[80])))
    ni = cache.node_infos["n1"]
    assert (ni.req_cpu, ni.req_mem, len(ni.pods), list(ni.used_ports)) == (500, 2**30, 1, [("0.0.0.0", "TCP", 80)])
    cache.add_pod(PodInfo(make_pod("a", "1", "1Gi", node="n1")))       # a new version replaces the old
    assert (ni.req_cpu, len(ni.pods), ni.used_ports) == (1000, 1, {})
    cache.remove_node("n1")
    assert cache.nodes == [] and cache.node_infos["n1"].req_cpu == 1000
    cache.remove_pod(("default", "a"))
    assert "n1" not in cache.node_infos


def test_node_list_interleaves_zones():
    cache = SchedulerCache()
    for i, z in enumerate("aaabbc"):
        cache.add_node(make_node(f"n{i}", labels={"topology.kubernetes.io/zone": z}))
    assert [n.name for n in cache.nodes] == ["n0", "n3", "n5", "n1", "n4", "n2"]
