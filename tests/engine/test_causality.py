"""The why of a change: a replacement pod's chain, read back from the audit trail, from the user's request on."""
from __future__ import annotations

from engine.apiserver.audit import Identity
from engine.causality import Why
from engine.cluster import Cluster

from simulate import deployment, run_until, running_ready

ALICE = Identity("alice", ("system:authenticated",), "kubectl/v1.32.0")
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def _replace_a_web_pod(cluster: Cluster) -> tuple[dict, dict]:
    cluster.apply([deployment("web", 3), SERVICE])
    run_until(cluster, lambda: len(running_ready(cluster, "app=web")) == 3)
    cluster.run_for(5)
    old = running_ready(cluster, "app=web")[0]
    with cluster.api.audit.acting(ALICE):
        cluster.delete_pod("default", old["metadata"]["name"])
    olds = {p["metadata"]["uid"] for p in running_ready(cluster, "app=web")}
    run_until(cluster, lambda: any(p["metadata"]["uid"] not in olds for p in running_ready(cluster, "app=web")))
    cluster.run_for(5)   # endpoints and kube-proxy catch up
    new = next(p for p in running_ready(cluster, "app=web") if p["metadata"]["uid"] not in olds)
    return old, new


def test_a_replacement_pods_chain_starts_at_the_users_delete_and_ends_at_kube_proxy(cluster: Cluster):
    old, new = _replace_a_web_pod(cluster)
    answer = Why(cluster.api, cluster.network.proxy).explain("pods", "default", new["metadata"]["name"])
    chain = answer["chain"]
    node = new["spec"]["nodeName"]
    assert [s["who"] for s in chain] == [
        "alice", "the ReplicaSet controller", "the scheduler", f"the kubelet on {node}", f"the kubelet on {node}",
        "the EndpointSlice controller", "kube-proxy"], [s["text"] for s in chain]
    assert chain[0]["text"] == f"alice deleted pod {old['metadata']['name']}"
    assert chain[1]["text"] == (f"the ReplicaSet controller saw fewer pods than the 3 it wants and created pod "
                                f"{new['metadata']['name']}")
    assert chain[2]["text"] == f"the scheduler bound it to {node}"
    assert chain[5]["text"] == f"the EndpointSlice controller added its IP {new['status']['podIP']} to Service web"
    assert "reprogrammed Service web" in chain[6]["text"]
    assert [s["t"] for s in chain] == sorted(s["t"] for s in chain)
    assert answer["complete"] is True
    assert chain[0]["userAgent"] == "kubectl/v1.32.0"


def test_a_rollouts_pods_go_back_to_the_users_image_change(cluster: Cluster):
    cluster.apply([deployment("web", 2)])
    run_until(cluster, lambda: len(running_ready(cluster, "app=web")) == 2)
    olds = {p["metadata"]["uid"] for p in running_ready(cluster, "app=web")}
    with cluster.api.audit.acting(ALICE):
        cluster.set_image("Deployment", "default", "web", "nginx:1.28")
    run_until(cluster, lambda: len([p for p in running_ready(cluster, "app=web")
                                    if p["metadata"]["uid"] not in olds]) == 2)
    new = next(p for p in running_ready(cluster, "app=web") if p["metadata"]["uid"] not in olds)
    chain = Why(cluster.api).explain("pods", "default", new["metadata"]["name"])["chain"]
    whos = [s["who"] for s in chain]
    assert whos[:3] == ["alice", "the Deployment controller", "the ReplicaSet controller"], [s["text"] for s in chain]
    assert chain[0]["text"] == "alice changed Deployment web"


def test_an_object_older_than_the_trail_says_the_chain_is_incomplete(cluster: Cluster):
    cluster.apply([deployment("web", 1)])
    run_until(cluster, lambda: len(running_ready(cluster, "app=web")) == 1)
    pod = running_ready(cluster, "app=web")[0]
    cluster.api.audit.entries.clear()          # as if the bounded trail had rolled past its creation
    answer = Why(cluster.api).explain("pods", "default", pod["metadata"]["name"])
    assert answer["complete"] is False and answer["object"]["exists"] is True
