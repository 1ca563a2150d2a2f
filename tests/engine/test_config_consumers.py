"""ConfigMaps and Secrets consumed by pods: env, envFrom and volumes; missing references hold the pod."""
from __future__ import annotations

import base64

import pytest

from engine.errors import Invalid
from simulate import events, run_until


def pod_with(cluster, name: str, container: dict, volumes: list | None = None) -> None:
    spec = {"containers": [{"name": "app", "image": "nginx:1.27", **container}]}
    if volumes:
        spec["volumes"] = volumes
    cluster.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def waiting(cluster, name: str) -> dict:
    pod = cluster.api.get("pods", "default", name)
    states = [c.get("state", {}) for c in pod.get("status", {}).get("containerStatuses") or []]
    return states[0].get("waiting", {}) if states else {}


def phase(cluster, name: str) -> str:
    return cluster.api.get("pods", "default", name)["status"].get("phase", "")


def test_a_missing_secret_key_keeps_the_container_in_create_container_config_error_until_the_secret_is_created(cluster):
    pod_with(cluster, "db-client", {"env": [{"name": "PASSWORD", "valueFrom": {
        "secretKeyRef": {"name": "db", "key": "password"}}}]})
    run_until(cluster, lambda: waiting(cluster, "db-client").get("reason") == "CreateContainerConfigError", 60)
    assert waiting(cluster, "db-client")["message"] == 'secret "db" not found'
    cluster.run_for(30)
    assert phase(cluster, "db-client") == "Pending"  # still held, nothing retries it into Running
    # A Secret without the key is not enough either.
    cluster.api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                        "stringData": {"user": "app"}})
    run_until(cluster, lambda: "couldn't find key password" in waiting(cluster, "db-client").get("message", ""), 30)
    assert phase(cluster, "db-client") == "Pending"
    cluster.api.patch("secrets", "default", "db", {"stringData": {"password": "s3cr3t"}}, "merge")
    run_until(cluster, lambda: phase(cluster, "db-client") == "Running", 60)
    secret = cluster.api.get("secrets", "default", "db")
    assert secret["data"]["password"] == base64.b64encode(b"s3cr3t").decode()  # stringData folded into data
    assert "stringData" not in secret


def test_env_from_a_configmap_and_optional_references(cluster):
    pod_with(cluster, "envfrom", {"envFrom": [{"configMapRef": {"name": "settings"}},
                                             {"secretRef": {"name": "maybe", "optional": True}}]})
    run_until(cluster, lambda: waiting(cluster, "envfrom").get("reason") == "CreateContainerConfigError", 60)
    assert waiting(cluster, "envfrom")["message"] == 'configmap "settings" not found'
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"A": "1"}})
    run_until(cluster, lambda: phase(cluster, "envfrom") == "Running", 60)  # the optional Secret may be absent


def test_a_missing_secret_volume_holds_the_pod_in_container_creating_with_failed_mount(cluster):
    pod_with(cluster, "mounts", {"volumeMounts": [{"name": "certs", "mountPath": "/certs"}]},
             [{"name": "certs", "secret": {"secretName": "tls"}}])
    run_until(cluster, lambda: bool(events(cluster, "FailedMount", "mounts")), 60)
    msg = events(cluster, "FailedMount", "mounts")[-1]["message"]
    assert msg == 'MountVolume.SetUp failed for volume "certs" : secret "tls" not found'
    assert waiting(cluster, "mounts").get("reason", "ContainerCreating") == "ContainerCreating"
    cluster.api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "type": "Opaque",
                        "data": {"tls.crt": base64.b64encode(b"cert").decode()}})
    run_until(cluster, lambda: phase(cluster, "mounts") == "Running", 60)


def test_immutable_configmap_rejects_changes(cluster):
    cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"},
                        "data": {"a": "1"}, "immutable": True})
    with pytest.raises(Invalid) as info:
        cluster.api.patch("configmaps", "default", "frozen", {"data": {"a": "2"}}, "merge")
    assert info.value.causes[0].field == "data"
    assert cluster.api.get("configmaps", "default", "frozen")["data"] == {"a": "1"}
