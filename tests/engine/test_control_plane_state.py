"""The control-plane view's facts: which components run, what stopped them, how deep their queues are."""
from __future__ import annotations

import pytest

from engine.cluster import Cluster

from tests.engine.test_chaos import chaos, make_cluster, web_pods

def fault(name: str, spec: dict) -> dict:
    return chaos("ControlPlaneChaos", name, spec)


@pytest.fixture
def cluster() -> Cluster:
    return make_cluster()


def controller(states: dict, name: str) -> dict:
    return next(c for c in states["controllers"] if c["name"] == name)


def test_all_running_at_rest(cluster):
    states = cluster.component_states()
    assert states["apiserver"]["running"] and states["etcd"]["running"] and states["scheduler"]["running"]
    assert all(c["running"] and c["queue"] == 0 for c in states["controllers"])
    assert [k["node"] for k in states["kubelets"]] == ["control-plane", "node-1", "node-2", "node-3"]
    assert all(k["running"] and k["power"] == "on" for k in states["kubelets"])
    assert states["faults"] == []
    # The ReplicaSet controller made the pods: its last action names a ReplicaSet it synced, and when.
    last = controller(states, "replicaset-controller")["lastAction"]
    assert last["verb"] == "sync" and last["object"].count("/") == 1 and 0 < last["t"] <= cluster.now


def test_stopped_scheduler_is_shown_with_its_fault_until_deleted(cluster):
    cluster.apply(fault("no-sched", {"component": "scheduler"}))
    cluster.run_for(0.5)
    states = cluster.component_states()
    assert states["scheduler"]["running"] is False
    assert states["scheduler"]["stoppedBy"] == [{"kind": "ControlPlaneChaos", "namespace": "default",
                                                 "name": "no-sched"}]
    assert controller(states, "replicaset-controller")["running"] is True
    [active] = states["faults"]
    assert (active["kind"], active["name"], active["stops"]) == ("ControlPlaneChaos", "no-sched", ["scheduler"])
    assert active["since"]
    cluster.delete_object("controlplanechaos", "default", "no-sched")
    cluster.run_for(0.5)
    states = cluster.component_states()
    assert states["scheduler"]["running"] is True and states["scheduler"]["stoppedBy"] == []
    assert states["faults"] == []


def test_queue_grows_while_replicaset_controller_is_stopped_and_drains_after(cluster):
    cluster.apply(fault("no-rs", {"component": "controller-manager", "controllers": ["replicaset-controller"]}))
    cluster.run_for(0.5)
    cluster.delete_pod("default", web_pods(cluster)[0], force=True)
    cluster.run_for(5)
    rs = controller(cluster.component_states(), "replicaset-controller")
    assert rs["running"] is False and rs["queue"] >= 1
    assert rs["stoppedBy"][0]["name"] == "no-rs"
    assert controller(cluster.component_states(), "deployment-controller")["running"] is True
    assert len(web_pods(cluster)) == 5                      # nothing replaced the pod meanwhile
    cluster.delete_object("controlplanechaos", "default", "no-rs")
    cluster.run_for(5)
    rs = controller(cluster.component_states(), "replicaset-controller")
    assert rs["running"] is True and rs["queue"] == 0
    assert len(web_pods(cluster)) == 6


def test_etcd_loss_stops_etcd_and_what_talks_to_it(cluster):
    cluster.apply(fault("etcd", {"action": "etcd-loss"}))
    cluster.run_for(1)
    states = cluster.component_states()
    assert not states["etcd"]["running"] and not states["apiserver"]["running"]
    assert states["etcd"]["stoppedBy"] == [{"kind": "Store", "namespace": "", "name": "etcd"}]
    assert states["scheduler"]["stoppedBy"] == states["etcd"]["stoppedBy"]
    assert not any(k["running"] for k in states["kubelets"])
    assert all(k["power"] == "on" for k in states["kubelets"])
