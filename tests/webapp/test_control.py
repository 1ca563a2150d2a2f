"""Dashboard actions: validation of every message, error acks, and the simulation controls."""
from __future__ import annotations

import pytest
from live_helpers import CONFIGMAP, NS, action, apply_configmap, messages

HUGE = "x" * (3 * 1024 * 1024 + 1)


@pytest.mark.parametrize("message, field", [
    ("delete everything", "action"),
    ([1, 2], "action"),
    (None, "action"),
    ({}, "type"),
    ({"type": 7}, "type"),
    ({"type": "pod.explode", "args": {}}, "type"),
    ({"type": "pod.delete", "args": "web-1"}, "args"),
    ({"type": "pod.delete", "args": {"name": "web-1"}}, "args.namespace"),
    ({"type": "pod.delete", "args": {"namespace": "default", "name": 12}}, "args.name"),
    ({"type": "pod.delete", "args": {"namespace": "default", "name": "w", "force": "yes"}}, "args.force"),
    ({"type": "pod.delete", "args": {"namespace": "default", "name": ""}}, "args.name"),
    ({"type": "pod.delete", "args": {"namespace": "default", "name": "w", "grace": 3}}, "args.grace"),
    ({"type": "pod.readiness", "args": {"namespace": "default", "name": "w", "failing": 1}}, "args.failing"),
    ({"type": "node.power_off", "args": {"name": "n" * 254}}, "args.name"),
    ({"type": "workload.scale", "args": {"kind": "Deployment", "namespace": "default", "name": "web",
                                         "replicas": "three"}}, "args.replicas"),
    ({"type": "workload.scale", "args": {"kind": "Deployment", "namespace": "default", "name": "web",
                                         "replicas": 2.5}}, "args.replicas"),
    ({"type": "workload.scale", "args": {"kind": "Deployment", "namespace": "default", "name": "web",
                                         "replicas": True}}, "args.replicas"),
    ({"type": "workload.scale", "args": {"kind": "Pod", "namespace": "default", "name": "web",
                                         "replicas": 2}}, "args.kind"),
    ({"type": "workload.rollback", "args": {"kind": "Deployment", "namespace": "default", "name": "web",
                                            "revision": "1"}}, "args.revision"),
    ({"type": "apply", "args": {"yaml": HUGE}}, "args.yaml"),
    ({"type": "apply", "args": {"yaml": ["kind: ConfigMap"]}}, "args.yaml"),
    ({"type": "apply", "args": {}}, "args.yaml"),
    ({"type": "sim.speed", "args": {"speed": "fast"}}, "args.speed"),
    ({"type": "sim.speed", "args": {"speed": 500}}, "args.speed"),
    ({"type": "sim.speed", "args": {"speed": 0.1}}, "args.speed"),
    ({"type": "sim.pause", "args": {"now": True}}, "args.now"),
    ({"type": "sim.pause", "extra": 1}, "extra"),
])
def test_malformed_action_is_a_bad_request_naming_the_field_and_changes_nothing(sio_client, runtime, message,
                                                                                field):
    revision, now, speed = runtime.cluster.store.revision, runtime.cluster.clock.now, runtime.speed

    ack = sio_client.emit("action", message, namespace=NS, callback=True)

    assert ack["ok"] is False
    status = ack["error"]
    assert status["kind"] == "Status" and status["reason"] == "BadRequest" and status["code"] == 400
    assert status["details"]["causes"][0]["field"] == field
    assert field in status["message"]
    assert len(status["message"]) < 2000  # a huge payload is not echoed back
    assert runtime.cluster.store.revision == revision
    assert runtime.cluster.clock.now == now and runtime.speed == speed and runtime.paused is False


def test_engine_errors_come_back_as_their_kubernetes_status(sio_client, runtime):
    revision = runtime.cluster.store.revision
    ack = action(sio_client, "pod.delete", namespace="default", name="no-such-pod")
    assert ack["ok"] is False
    assert ack["error"]["reason"] == "NotFound" and ack["error"]["code"] == 404
    assert ack["error"]["message"] == 'pods "no-such-pod" not found'

    ack = action(sio_client, "apply", yaml="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    assert ack["ok"] is False and ack["error"]["code"] in (400, 422)
    assert runtime.cluster.store.revision == revision


def test_an_unexpected_failure_is_an_internal_error_ack_not_a_crash(sio_client, runtime, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runtime.cluster, "power_off_node", boom)
    ack = action(sio_client, "node.power_off", name="worker-1")
    assert ack["ok"] is False
    assert ack["error"]["reason"] == "InternalError" and ack["error"]["code"] == 500
    assert "disk on fire" in ack["error"]["message"]
    # The socket still works afterwards.
    assert action(sio_client, "sim.step")["ok"]


def test_apply_then_delete_object_round_trip(sio_client, runtime):
    apply_configmap(sio_client, "settings")
    assert runtime.call(runtime.cluster.store.get, "configmaps", "default", "settings")["data"] == {"colour": "blue"}

    ack = action(sio_client, "object.delete", resource="configmaps", namespace="default", name="settings")
    assert ack["ok"], ack
    assert runtime.cluster.store.find("configmaps", "default", "settings") is None


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""


def test_scale_and_set_image_change_the_deployment(sio_client, runtime):
    assert action(sio_client, "apply", yaml=DEPLOYMENT)["ok"]
    ack = action(sio_client, "workload.scale", kind="Deployment", namespace="default", name="shop", replicas=5)
    assert ack["ok"], ack
    assert runtime.cluster.store.get("deployments", "default", "shop")["spec"]["replicas"] == 5

    ack = action(sio_client, "workload.set_image", kind="Deployment", namespace="default", name="shop",
                 image="nginx:1.28")
    assert ack["ok"], ack
    spec = runtime.cluster.store.get("deployments", "default", "shop")["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == "nginx:1.28"


def test_node_cordon_and_uncordon(sio_client, runtime):
    node = "extra-node"
    assert action(sio_client, "apply", yaml=f"apiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n")["ok"]
    assert action(sio_client, "node.cordon", name=node)["ok"]
    assert runtime.cluster.store.get("nodes", "", node)["spec"].get("unschedulable") is True
    assert action(sio_client, "node.uncordon", name=node)["ok"]
    assert not runtime.cluster.store.get("nodes", "", node)["spec"].get("unschedulable")


def test_pause_resume_and_speed(sio_client, runtime):
    ack = action(sio_client, "sim.pause")
    assert ack == {"ok": True, "result": runtime.clock_state()}
    assert runtime.paused is True
    now = runtime.cluster.clock.now
    runtime.tick_once(1.0)                 # what the engine thread would do: nothing while paused
    assert runtime.cluster.clock.now == now

    assert action(sio_client, "sim.resume")["result"]["paused"] is False
    assert action(sio_client, "sim.speed", speed=10)["result"]["speed"] == 10.0
    runtime.tick_once(0.1)
    assert runtime.cluster.clock.now == pytest.approx(now + 1.0)


def test_step_advances_to_the_next_event_but_never_more_than_a_second(sio_client, runtime):
    clock = runtime.cluster.clock
    for _ in range(5):
        before, due = clock.now, clock.peek()
        ack = action(sio_client, "sim.step")
        assert ack["ok"]
        expected = before + 1.0 if due is None or due > before + 1.0 else due
        assert clock.now == pytest.approx(expected)
        assert ack["result"]["now"] == pytest.approx(round(expected, 3))


def test_apply_of_changed_yaml_updates_in_place(sio_client, runtime):
    apply_configmap(sio_client, "theme")
    ack = action(sio_client, "apply", yaml=CONFIGMAP.format(name="theme").replace("blue", "green"))
    assert ack["ok"], ack
    assert runtime.cluster.store.get("configmaps", "default", "theme")["data"] == {"colour": "green"}
    messages(sio_client)
