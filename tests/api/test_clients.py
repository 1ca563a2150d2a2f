"""The official ``kubernetes`` Python client and ``lightkube`` against a live Kubedrill."""
from __future__ import annotations

import threading

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException


@pytest.fixture
def api_client(api_server):
    cfg = k8s.Configuration()
    cfg.host = api_server.url
    with k8s.ApiClient(cfg) as c:
        yield c


def _cm(name: str, **data) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name), data=data)


def test_official_client_crud(api_client, namespace):
    core = k8s.CoreV1Api(api_client)
    created = core.create_namespaced_config_map(namespace, _cm("one", a="1"))
    assert created.metadata.uid and created.data == {"a": "1"}
    listed = core.list_namespaced_config_map(namespace)
    assert [i.metadata.name for i in listed.items] == ["one"] and listed.metadata.resource_version
    patched = core.patch_namespaced_config_map("one", namespace, {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    core.delete_namespaced_config_map("one", namespace)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("one", namespace)
    assert err.value.status == 404


def test_official_client_typed_workloads_and_nodes(api_client, namespace):
    apps = k8s.AppsV1Api(api_client)
    labels = {"app": "py"}
    dep = k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name="py"),
        spec=k8s.V1DeploymentSpec(replicas=2, selector=k8s.V1LabelSelector(match_labels=labels),
                                  template=k8s.V1PodTemplateSpec(
                                      metadata=k8s.V1ObjectMeta(labels=labels),
                                      spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="nginx:1.27")]))))
    apps.create_namespaced_deployment(namespace, dep)
    got = apps.read_namespaced_deployment("py", namespace)
    assert got.spec.strategy.type == "RollingUpdate"  # defaulted by the API server
    scale = apps.patch_namespaced_deployment_scale("py", namespace, {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3
    nodes = k8s.CoreV1Api(api_client).list_node()
    assert len(nodes.items) >= 1


def test_official_client_watch(api_client, namespace):
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, _cm("before"))
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def run():
        w = k8s_watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, namespace, timeout_seconds=10):
            seen.append((ev["type"], ev["object"].metadata.name))
            ready.set()
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    core.create_namespaced_config_map(namespace, _cm("after"))
    core.delete_namespaced_config_map("after", namespace)
    t.join(15)
    assert seen == [("ADDED", "before"), ("ADDED", "after"), ("DELETED", "after")]


def test_lightkube(api_server, namespace):
    from lightkube import Client, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Node

    client = Client(KubeConfig.from_file(str(api_server.kubeconfig)), field_manager="lightkube")  # our kubeconfig
    client.create(ConfigMap(metadata=ObjectMeta(name="lk"), data={"x": "1"}), namespace=namespace)
    cm = client.get(ConfigMap, "lk", namespace=namespace)
    assert cm.data == {"x": "1"}
    client.patch(ConfigMap, "lk", {"data": {"y": "2"}}, namespace=namespace)
    assert client.get(ConfigMap, "lk", namespace=namespace).data == {"x": "1", "y": "2"}
    applied = client.apply(ConfigMap(metadata=ObjectMeta(name="lk2", namespace=namespace), data={"z": "3"}))
    assert applied.data == {"z": "3"}
    assert sorted(c.metadata.name for c in client.list(ConfigMap, namespace=namespace)) == ["lk", "lk2"]
    assert list(client.list(Node))
    client.delete(ConfigMap, "lk", namespace=namespace)
    assert [c.metadata.name for c in client.list(ConfigMap, namespace=namespace)] == ["lk2"]
