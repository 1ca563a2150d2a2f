"""Node lifecycle: heartbeats, Unknown after the grace period, taints, taint eviction, PodGC (kubernetes profile)."""
from __future__ import annotations

from engine.clock import parse_rfc3339
from engine.controllers.node_lifecycle import eviction_time
from engine.component_helpers.node_lease import effective_renew_time
from tests.engine.kubelet_helpers import Recorder, condition, make_cluster, pod


def node(cluster, name="w1"):
    return cluster.api.get("nodes", None, name)


def taints(cluster, name="w1"):
    return sorted((t["key"], t["effect"]) for t in node(cluster, name)["spec"].get("taints") or ())


def ready(cluster, name="w1"):
    return condition(node(cluster, name), "Ready")


def start_pods(cluster, names, node_name="w1"):
    for n in names:
        cluster.apply(pod(n, node_name))
    cluster.run_until(15)


def test_power_off_unknown_at_50s_taints_and_eviction_at_350s_then_power_on_recovers():
    c = make_cluster()
    rec = Recorder(c)
    start_pods(c, ["a", "b"])
    assert ready(c) == "True" and taints(c) == []
    c.run_until(25)
    c.kubelets["w1"].power_off()
    lease = c.api.get("leases", "kube-node-lease", "w1")
    assert lease["spec"]["renewTime"] == "2026-01-01T00:00:20.000000Z"   # the last real renewal
    c.run_until(69.9)
    assert ready(c) == "True"
    c.run_until(70)   # 20 s last renewal + 50 s grace
    n = node(c)
    cond = next(x for x in n["status"]["conditions"] if x["type"] == "Ready")
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "NodeStatusUnknown",
                                                                 "Kubelet stopped posting node status.")
    assert all(x["status"] == "Unknown" for x in n["status"]["conditions"])
    assert taints(c) == [("node.kubernetes.io/unreachable", "NoExecute"),
                         ("node.kubernetes.io/unreachable", "NoSchedule")]
    no_exec = next(t for t in n["spec"]["taints"] if t["effect"] == "NoExecute")
    assert parse_rfc3339(no_exec["timeAdded"]) == 70
    node_events = [(r, m, comp) for t, name, r, m, comp in rec.rows if name == "w1" and t == 70]
    assert ("NodeNotReady", "Node w1 status is now: NodeNotReady", "node-controller") in node_events
    for name in ("a", "b"):
        p = c.api.get("pods", "default", name)
        assert condition(p, "Ready") == "False" and condition(p, "ContainersReady") == "False"
        assert p["status"]["phase"] == "Running"   # the control plane cannot know better
    c.run_until(369.9)
    assert not c.api.get("pods", "default", "a")["metadata"].get("deletionTimestamp")
    c.run_until(370)   # taint added at 70 + 300 s toleration
    p = c.api.get("pods", "default", "a")
    assert p["metadata"].get("deletionTimestamp")
    disruption = next(x for x in p["status"]["conditions"] if x["type"] == "DisruptionTarget")
    assert disruption["reason"] == "DeletionByTaintManager"
    assert (370, "TaintManagerEviction", "Marking for deletion Pod default/a") in rec.of("a")
    assert next(comp for _, n_, r, _, comp in rec.rows if n_ == "a" and r == "TaintManagerEviction") == \
        "taint-eviction-controller"
    c.run_until(500)
    assert c.store.find("pods", "default", "a") is not None   # Terminating: the dead kubelet cannot confirm
    result = c.kubelets["w1"].power_on()
    assert result["podsFinished"] == 2
    c.run_until(501)
    assert ready(c) == "True" and taints(c) == []
    assert c.store.find("pods", "default", "a") is None and c.store.find("pods", "default", "b") is None


def test_power_on_before_eviction_cancels_it_and_restarts_containers():
    c = make_cluster()
    rec = Recorder(c)
    start_pods(c, ["a"])
    ip_before = c.api.get("pods", "default", "a")["status"]["podIP"]
    c.kubelets["w1"].power_off()
    c.run_until(100)
    assert ready(c) == "Unknown"
    c.kubelets["w1"].power_on()
    c.run_until(115)
    assert ready(c) == "True" and taints(c) == []
    assert ("TaintManagerEviction", "Cancelling deletion of Pod default/a") in [(r, m) for _, r, m in rec.of("a")]
    assert "SandboxChanged" in rec.reasons("a")
    p = c.api.get("pods", "default", "a")
    cs = p["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1 and "running" in cs["state"]
    assert cs["lastState"]["terminated"]["reason"] == "Unknown"
    assert condition(p, "Ready") == "True" and p["status"]["podIP"] != ""
    assert ip_before  # a new sandbox (maybe a new IP) — the pod object and its name are unchanged
    c.run_until(1000)
    assert c.store.find("pods", "default", "a")["metadata"].get("deletionTimestamp") is None


def test_kubelet_stop_looks_like_a_dead_node_but_containers_keep_running():
    c = make_cluster()
    start_pods(c, ["a"])
    kubelet = c.kubelets["w1"]
    kubelet.stop_kubelet()
    c.run_until(80)
    assert ready(c) == "Unknown"
    assert ("default", "a") in kubelet.pods and kubelet.pods[("default", "a")].containers[0].state == "Running"
    kubelet.start_kubelet()
    c.run_until(81)
    assert ready(c) == "True" and taints(c) == []
    p = c.api.get("pods", "default", "a")
    assert condition(p, "Ready") == "True" and p["status"]["containerStatuses"][0]["restartCount"] == 0


def test_partition_then_heal_finishes_pods_deleted_meanwhile():
    c = make_cluster()
    start_pods(c, ["a"])
    kubelet = c.kubelets["w1"]
    kubelet.partition(True)
    c.run_until(400)
    assert c.api.get("pods", "default", "a")["metadata"].get("deletionTimestamp")
    kubelet.partition(False)
    c.run_until(405)
    assert c.store.find("pods", "default", "a") is None
    assert ready(c) == "True"


def test_zero_toleration_is_evicted_as_soon_as_the_node_is_unreachable():
    c = make_cluster()
    quick = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
              "tolerationSeconds": 0}]
    c.apply(pod("quick", tolerations=quick))
    c.apply(pod("slow"))
    c.run_until(10)
    slow_tolerations = c.api.get("pods", "default", "slow")["spec"]["tolerations"]
    assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300} in slow_tolerations   # DefaultTolerationSeconds admission
    c.kubelets["w1"].power_off()
    c.run_until(60)   # last renewal at 10 s + 50 s grace
    assert c.api.get("pods", "default", "quick")["metadata"].get("deletionTimestamp")
    assert not c.api.get("pods", "default", "slow")["metadata"].get("deletionTimestamp")


def test_eviction_time_rules():
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-01-01T00:01:00Z"}
    assert eviction_time({"spec": {}}, [taint]) == 60                       # not tolerated: at once
    assert eviction_time({"spec": {"tolerations": [{"operator": "Exists"}]}}, [taint]) is None   # forever
    assert eviction_time({"spec": {"tolerations": [{"key": taint["key"], "operator": "Exists",
                                                    "tolerationSeconds": 30}]}}, [taint]) == 90


def test_cordon_taints_unschedulable_and_records_events():
    c = make_cluster()
    rec = Recorder(c)
    c.cordon("w1", True)
    c.run_for(1)
    assert taints(c) == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    assert ("NodeNotSchedulable", "Node w1 status is now: NodeNotSchedulable") in \
        [(r, m) for _, r, m in rec.of("w1")]
    c.cordon("w1", False)
    c.run_for(1)
    assert taints(c) == []
    assert "NodeSchedulable" in rec.reasons("w1")


def test_memory_pressure_taints_noschedule_and_clears():
    c = make_cluster()
    c.kubelets["w1"].set_pressure("memory", True)
    c.run_for(1)
    assert condition(node(c), "MemoryPressure") == "True"
    assert taints(c) == [("node.kubernetes.io/memory-pressure", "NoSchedule")]
    c.kubelets["w1"].set_pressure("memory", False)
    c.run_for(1)
    assert taints(c) == []


def test_pods_of_a_deleted_node_are_force_deleted_by_podgc():
    c = make_cluster()
    start_pods(c, ["a", "b"], "w2")
    c.kubelets["w2"].power_off()
    c.api.delete("nodes", None, "w2")
    c.run_for(1)
    assert c.store.find("pods", "default", "a") is None and c.store.find("pods", "default", "b") is None


def test_stopped_controller_acts_only_when_started_again():
    c = make_cluster()
    nlc = c.controllers["node-lifecycle-controller"]
    nlc.stop()
    c.kubelets["w1"].power_off()
    c.run_until(120)
    assert ready(c) == "True"
    nlc.start()
    c.run_for(0.1)
    assert ready(c) == "Unknown"


def test_healthy_nodes_cost_no_writes_while_idle():
    c = make_cluster(nodes=("w1", "w2", "w3", "w4"))
    writes = []
    c.store.subscribe(lambda ev: writes.append(ev.key) if ev.resource != "events" else None)
    c.run_for(3600)
    assert writes == []   # heartbeats are materialised only when they stop
    lease = c.api.get("leases", "kube-node-lease", "w3")
    assert effective_renew_time(lease, c.clock.now) == 3600.0 - (3600.0 % 10)


def test_demo_profile_marks_unknown_after_8s():
    c = make_cluster("demo")
    c.kubelets["w1"].power_off()
    start = c.clock.now
    while ready(c) != "Unknown":
        c.run_for(0.5)
    assert c.clock.now - start <= 9
