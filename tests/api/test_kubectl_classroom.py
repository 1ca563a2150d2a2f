"""The real kubectl in class mode: each student's downloaded kubeconfig reaches their cluster only.

One class server for the module (threads on, 20x simulated time); each test joins its own students
over HTTP exactly as a script would, writes the kubeconfig the join answered, and runs kubectl with it.
"""
from __future__ import annotations

import dataclasses
import queue
import subprocess
import threading
import time
import uuid

import pytest
import requests
import yaml
from kubetools import KUBECTL, Kubectl, need_kubectl, start_server, stop_server

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{owner: {owner}}}\n"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    need_kubectl()
    tmp = tmp_path_factory.mktemp("classroom")
    live, server = start_server(tmp, CLASSROOM=True, JOIN_BURST=100, JOIN_BURST_TOTAL=100)
    yield live
    stop_server(live, server)


def join(live, name: str) -> tuple[Kubectl, dict]:
    """Join as ``name`` (made unique per test) and return kubectl with the downloaded kubeconfig."""
    code = live.app.extensions["kubedrill.class"].info.join_code
    resp = requests.post(live.url + "/class/join", json={"code": code, "name": name}, timeout=30)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    home = live.kubeconfig.parent / f"{name}-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    (home / "config").write_text(body["kubeconfig"])
    student = dataclasses.replace(live, kubeconfig=home / "config", cache_dir=home / "cache")
    return Kubectl(student, namespace="default"), body


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:4]}"


def test_each_students_kubectl_sees_only_their_own_cluster(classroom):
    alice_name, bob_name = unique("alice"), unique("bob")
    alice, _ = join(classroom, alice_name)
    bob, _ = join(classroom, bob_name)
    assert "configmap/a-only created" in alice.ok("apply", "-f", "-", input=CONFIGMAP.format(name="a-only",
                                                                                             owner=alice_name))
    assert "configmap/b-only created" in bob.ok("apply", "-f", "-", input=CONFIGMAP.format(name="b-only",
                                                                                           owner=bob_name))
    seen_by_alice = alice.ok("get", "configmaps", "-o", "name").split()
    seen_by_bob = bob.ok("get", "configmaps", "-o", "name").split()
    assert "configmap/a-only" in seen_by_alice and "configmap/b-only" not in seen_by_alice
    assert "configmap/b-only" in seen_by_bob and "configmap/a-only" not in seen_by_bob
    # The demo cluster (the server's root) has neither.
    demo = {c["metadata"]["name"] for c in classroom.runtime.cluster.store.list("configmaps", "default")}
    assert not {"a-only", "b-only"} & demo


def test_a_students_kubeconfig_against_another_students_cluster_is_forbidden(classroom):
    alice_name = unique("alice")
    alice, alice_joined = join(classroom, alice_name)
    bob, bob_joined = join(classroom, unique("bob"))
    bob.ok("apply", "-f", "-", input=CONFIGMAP.format(name="secret-plans", owner="bob"))
    # Alice edits her kubeconfig's server to Bob's cluster id: her credentials, his cluster.
    alice_server = yaml.safe_load(alice_joined["kubeconfig"])["clusters"][0]["cluster"]["server"]
    bob_server = alice_server.replace(f"/c/{alice_joined['cluster']}", f"/c/{bob_joined['cluster']}")
    assert bob_server.endswith(f"/c/{bob_joined['cluster']}")
    res = alice("get", "configmaps", "--server", bob_server)
    assert res.code == 1
    assert (f'Error from server (Forbidden): configmaps is forbidden: User "{alice_name}" cannot list resource '
            f'"configmaps" in API group "" in the namespace "default"') in res.err
    res = alice("delete", "configmap", "secret-plans", "--server", bob_server)
    assert res.code == 1 and f'configmaps "secret-plans" is forbidden: User "{alice_name}" cannot delete' in res.err
    assert "configmap/secret-plans" in bob.ok("get", "configmaps", "-o", "name").split()


def test_kubectl_without_the_students_token_must_log_in(classroom):
    anonymous = Kubectl(classroom, namespace="default")   # the server's own kubeconfig: no credentials
    res = anonymous("get", "configmaps")
    assert res.code == 1 and "You must be logged in to the server" in res.err


def _lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line.rstrip("\n"))


def test_a_watch_through_the_cluster_prefix_sees_the_students_changes(classroom):
    alice, _ = join(classroom, unique("alice"))
    env = {"KUBECONFIG": str(alice.live.kubeconfig), "KUBECACHEDIR": str(alice.live.cache_dir),
           "HOME": str(alice.live.cache_dir.parent), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([KUBECTL, "get", "configmaps", "-n", "default", "-w", "--output-watch-events",
                             "--request-timeout=30s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    try:
        first = out.get(timeout=30)              # the list the watch starts from: the header line
        assert "NAME" in first, first
        alice.ok("apply", "-f", "-", input=CONFIGMAP.format(name="watched", owner="alice"))
        deadline = time.monotonic() + 30
        while True:
            line = out.get(timeout=max(0.1, deadline - time.monotonic()))
            if "watched" in line:
                assert line.split()[0] == "ADDED"
                break
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Forbidden" not in err and "Unauthorized" not in err


def test_the_official_python_client_with_the_students_kubeconfig(classroom):
    from kubernetes import client as k8s, config as k8s_config
    from kubernetes.client.rest import ApiException

    alice, _ = join(classroom, unique("alice"))
    bob, bob_joined = join(classroom, unique("bob"))
    with k8s_config.new_client_from_config(str(alice.live.kubeconfig)) as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_config_map("default", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="from-python")))
        assert "from-python" in [c.metadata.name for c in core.list_namespaced_config_map("default").items]
    assert "configmap/from-python" not in bob.ok("get", "configmaps", "-o", "name").split()
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(str(alice.live.kubeconfig), client_configuration=cfg)
    cfg.refresh_api_key_hook = None       # it would reload the kubeconfig, and its server, on every call
    cfg.host = cfg.host.rsplit("/c/", 1)[0] + f"/c/{bob_joined['cluster']}"     # her token, his cluster
    with k8s.ApiClient(cfg) as api:
        with pytest.raises(ApiException) as err:
            k8s.CoreV1Api(api).list_namespaced_config_map("default")
        assert err.value.status == 403
