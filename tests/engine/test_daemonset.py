"""DaemonSet: one pod per eligible node, following nodes as they come and go."""
from __future__ import annotations

from simulate import active, run_until, running_ready


def on_nodes(cluster, selector: str, namespace: str = "default") -> dict[str, str]:
    return {p["spec"]["nodeName"]: p["metadata"]["name"] for p in running_ready(cluster, selector, namespace)}


def test_kube_proxy_runs_on_every_node_including_the_control_plane(cluster):
    nodes = {n["metadata"]["name"] for n in cluster.store.list("nodes")}
    run_until(cluster, lambda: set(on_nodes(cluster, "k8s-app=kube-proxy", "kube-system")) == nodes, 60)
    ds = cluster.api.get("daemonsets", "kube-system", "kube-proxy")
    run_until(cluster, lambda: cluster.api.get("daemonsets", "kube-system", "kube-proxy")["status"].get("numberReady") == 4, 10)
    status = cluster.api.get("daemonsets", "kube-system", "kube-proxy")["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberMisscheduled"]) == (4, 4, 0)
    assert ds["metadata"]["generation"] == 1


def test_a_new_node_gets_a_daemon_pod_and_a_removed_node_loses_it(cluster):
    cluster.apply("""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox:1.36, command: [sleep, infinity]}]}
""")
    # The control plane's NoSchedule taint is not tolerated by this DaemonSet: workers only.
    run_until(cluster, lambda: set(on_nodes(cluster, "app=agent")) == {"node-1", "node-2", "node-3"}, 60)
    cluster.kubelet_manager.add_node("node-4")
    run_until(cluster, lambda: "node-4" in on_nodes(cluster, "app=agent"), 60)
    cluster.api.delete("nodes", None, "node-2")
    run_until(cluster, lambda: all(p["spec"]["nodeName"] != "node-2" for p in active(cluster, "app=agent"))
              and len(cluster.store.list("pods", "default")) == 3, 120)
    assert set(on_nodes(cluster, "app=agent")) == {"node-1", "node-3", "node-4"}


def test_node_selector_limits_the_daemon_to_matching_nodes(cluster):
    cluster.api.patch("nodes", None, "node-3", {"metadata": {"labels": {"disk": "ssd"}}}, "merge")
    cluster.apply("""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ssd-agent}
spec:
  selector: {matchLabels: {app: ssd-agent}}
  template:
    metadata: {labels: {app: ssd-agent}}
    spec:
      nodeSelector: {disk: ssd}
      containers: [{name: agent, image: busybox:1.36}]
""")
    run_until(cluster, lambda: set(on_nodes(cluster, "app=ssd-agent")) == {"node-3"}, 60)
    cluster.api.patch("nodes", None, "node-1", {"metadata": {"labels": {"disk": "ssd"}}}, "merge")
    run_until(cluster, lambda: set(on_nodes(cluster, "app=ssd-agent")) == {"node-1", "node-3"}, 60)
    cluster.api.patch("nodes", None, "node-3", {"metadata": {"labels": {"disk": None}}}, "merge")
    run_until(cluster, lambda: set(on_nodes(cluster, "app=ssd-agent")) == {"node-1"}
              and len(active(cluster, "app=ssd-agent")) == 1, 60)
