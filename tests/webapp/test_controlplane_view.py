"""``/ui/control-plane``: the Control plane tab's components, their state and the faults in force."""
from __future__ import annotations

from typing import Any

from live_helpers import action

STOP_SCHEDULER = """\
apiVersion: chaos.kubedrill.io/v1
kind: ControlPlaneChaos
metadata: {name: sched-off}
spec: {component: scheduler}
"""


def states(client: Any) -> dict:
    r = client.get("/ui/control-plane")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def test_components_of_the_demo_cluster(client: Any) -> None:
    body = states(client)
    assert body["apiserver"]["running"] and body["etcd"]["running"] and body["scheduler"]["running"]
    names = [c["name"] for c in body["controllers"]]
    assert {"replicaset-controller", "deployment-controller", "endpointslice-controller"} <= set(names)
    assert names == sorted(names) and all(c["running"] for c in body["controllers"])
    assert [k["node"] for k in body["kubelets"]] == ["control-plane", "node-1", "node-2", "node-3"]
    assert body["kubeProxy"]["running"] and body["faults"] == []
    # Who each component writes as in the audit trail, and where that trail is: the tab's request feed.
    assert body["scheduler"]["user"] == "system:kube-scheduler"
    rs = next(c for c in body["controllers"] if c["name"] == "replicaset-controller")
    assert rs["user"] == "system:serviceaccount:kube-system:replicaset-controller"
    assert body["auditSeq"] == client.application.extensions["kubedrill"].cluster.api.audit.seq > 0


def test_unknown_parameter_is_refused_by_name(client: Any) -> None:
    r = client.get("/ui/control-plane?verbose=1")
    assert r.status_code == 400
    status = r.get_json()
    assert status["kind"] == "Status" and status["reason"] == "BadRequest"
    assert '"verbose"' in status["message"]


def test_a_fault_ended_with_the_delete_action_lets_the_scheduler_run(sio_client: Any, client: Any,
                                                                     runtime: Any) -> None:
    assert action(sio_client, "apply", yaml=STOP_SCHEDULER)["ok"]
    runtime.advance(1)
    body = states(client)
    assert body["scheduler"]["running"] is False
    assert [r["name"] for r in body["scheduler"]["stoppedBy"]] == ["sched-off"]
    assert [(f["kind"], f["name"], f["stops"]) for f in body["faults"]] == [("ControlPlaneChaos", "sched-off",
                                                                             ["scheduler"])]
    ack = action(sio_client, "object.delete", resource="controlplanechaos", namespace="default", name="sched-off")
    assert ack["ok"], ack
    runtime.advance(1)
    body = states(client)
    assert body["scheduler"]["running"] is True and body["faults"] == []


def test_a_hidden_drill_fault_stops_components_without_being_named(sio_client: Any, client: Any,
                                                                  runtime: Any) -> None:
    assert action(sio_client, "drill.start", id="09-controller-manager-down")["ok"]
    runtime.advance(7)      # its hidden ControlPlaneChaos kcm-down struck at 5 s
    r = client.get("/ui/control-plane")
    body = r.get_json()
    assert not any(c["running"] for c in body["controllers"])
    assert all(c["stoppedBy"] == [] for c in body["controllers"]) and body["faults"] == []
    assert "kcm-down" not in r.get_data(as_text=True)
