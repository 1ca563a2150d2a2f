"""Services: ClusterIP/NodePort allocation, LoadBalancer status, EndpointSlices and Endpoints."""
from __future__ import annotations

import ipaddress

import pytest

from engine.cluster import Cluster
from engine.errors import Invalid

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 8080, name: http}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 2
"""


def make_cluster(**kwargs) -> Cluster:
    kwargs.setdefault("seed", 3)
    return Cluster(**kwargs)


def service(name: str, *, selector: dict | None = None, ports: list | None = None, **spec) -> dict:
    body: dict = {"ports": ports if ports is not None else [{"port": 80}], **spec}
    if selector is not None:
        body["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": body}


def fake_pod(cluster: Cluster, name: str, ip: str, *, ready: bool = True, labels: dict | None = None,
             node: str = "node-x", ports: list | None = None) -> dict:
    """A pod bound to a node with no kubelet, its status written as a kubelet would."""
    api = cluster.api
    pod = api.create({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": "db"}},
                      "spec": {"nodeName": node, "containers": [{"name": "db", "image": "postgres:17",
                                                                  "ports": ports or []}]}})
    return set_ready(cluster, name, ready, ip=ip, base=pod)


def set_ready(cluster: Cluster, name: str, ready: bool, *, ip: str | None = None, base: dict | None = None) -> dict:
    pod = dict(base or cluster.api.get("pods", "default", name))
    status = dict(pod.get("status") or {})
    status["phase"] = "Running"
    if ip:
        status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
    flag = "True" if ready else "False"
    status["conditions"] = [{"type": t, "status": flag} for t in ("ContainersReady", "Ready")]
    status["containerStatuses"] = [{"name": "db", "ready": ready, "state": {"running": {}}, "restartCount": 0,
                                    "image": "postgres:17", "imageID": ""}]
    pod["status"] = status
    return cluster.api.update_status(pod)


def slices(cluster: Cluster, name: str) -> list[dict]:
    return [es for es in cluster.store.list("endpointslices", "default")
            if es["metadata"]["labels"].get("kubernetes.io/service-name") == name]


def endpoint_ips(cluster: Cluster, name: str, *, ready: bool | None = None) -> list[str]:
    out = []
    for es in slices(cluster, name):
        for ep in es.get("endpoints") or ():
            if ready is None or ep["conditions"]["ready"] is ready:
                out.append(ep["addresses"][0])
    return sorted(out)


# --------------------------------------------------------------------------- ClusterIP
def test_cluster_ip_is_allocated_from_the_upper_band_of_the_kubeadm_range():
    cluster = make_cluster(bootstrap=False)
    svc = cluster.api.create(service("web", selector={"app": "web"}))
    ip = ipaddress.IPv4Address(svc["spec"]["clusterIP"])
    assert ip in ipaddress.IPv4Network("10.96.0.0/12")
    assert int(ip) >= int(ipaddress.IPv4Address("10.96.1.1"))   # the first 256 addresses are the static band
    assert svc["spec"]["clusterIPs"] == [str(ip)]
    assert svc["spec"]["ipFamilies"] == ["IPv4"] and svc["spec"]["ipFamilyPolicy"] == "SingleStack"


def test_explicit_cluster_ip_must_be_free_and_in_range():
    cluster = make_cluster(bootstrap=False)
    first = cluster.api.create(service("a", clusterIP="10.96.0.5"))
    assert first["spec"]["clusterIPs"] == ["10.96.0.5"]
    with pytest.raises(Invalid) as taken:
        cluster.api.create(service("b", clusterIP="10.96.0.5"))
    assert taken.value.message == ('Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.5"}: '
                                   "failed to allocate IP 10.96.0.5: provided IP is already allocated")
    assert taken.value.code == 422
    with pytest.raises(Invalid) as outside:
        cluster.api.create(service("c", clusterIP="192.168.0.9"))
    assert "the provided IP (192.168.0.9) is not in the valid range. The range of valid IPs is 10.96.0.0/12" \
        in outside.value.message
    # Deleting the Service releases its IP at once.
    cluster.api.delete("services", "default", "a")
    assert cluster.api.create(service("b", clusterIP="10.96.0.5"))["spec"]["clusterIP"] == "10.96.0.5"


def test_headless_service_gets_no_virtual_ip_and_updates_keep_the_allocated_one():
    cluster = make_cluster(bootstrap=False)
    headless = cluster.api.create(service("sql", selector={"app": "sql"}, clusterIP="None"))
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["clusterIPs"] == ["None"]
    web = cluster.api.create(service("web", selector={"app": "web"}))
    replaced = dict(web, spec={k: v for k, v in web["spec"].items() if k not in ("clusterIP", "clusterIPs")})
    replaced["metadata"] = dict(web["metadata"], labels={"tier": "front"})
    updated = cluster.api.update(replaced)
    assert updated["spec"]["clusterIP"] == web["spec"]["clusterIP"]


def test_dry_run_allocates_nothing():
    cluster = make_cluster(bootstrap=False)
    cluster.api.create(service("a", clusterIP="10.96.0.7"), dry_run=True)
    assert cluster.api.create(service("b", clusterIP="10.96.0.7"))["spec"]["clusterIP"] == "10.96.0.7"


def test_allocations_survive_a_resync_from_the_store():
    cluster = make_cluster(bootstrap=False)
    cluster.api.create(service("a", clusterIP="10.96.0.8", type="NodePort",
                               ports=[{"port": 80, "nodePort": 30080}]))
    cluster.network.allocator.resync()
    with pytest.raises(Invalid, match="provided IP is already allocated"):
        cluster.api.create(service("b", clusterIP="10.96.0.8"))
    with pytest.raises(Invalid, match="provided port is already allocated"):
        cluster.api.create(service("c", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))


# --------------------------------------------------------------------------- NodePort
def test_node_port_conflicts_are_rejected():
    cluster = make_cluster(bootstrap=False)
    cluster.api.create(service("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    with pytest.raises(Invalid) as taken:
        cluster.api.create(service("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert taken.value.message == ('Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                                   "provided port is already allocated")
    with pytest.raises(Invalid) as outside:
        cluster.api.create(service("c", type="NodePort", ports=[{"port": 80, "nodePort": 29999}]))
    assert "spec.ports[0].nodePort: Invalid value: 29999: provided port is not in the valid range. " \
           "The range of valid ports is 30000-32767" in outside.value.message


def test_node_ports_follow_type_changes():
    cluster = make_cluster(bootstrap=False)
    svc = cluster.api.create(service("web", type="NodePort"))
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30086 <= port <= 32767   # random, from above the static band
    as_cluster_ip = cluster.api.patch("services", "default", "web", {"spec": {"type": "ClusterIP"}}, "merge")
    assert "nodePort" not in as_cluster_ip["spec"]["ports"][0]
    # The port is free again: another Service may take it explicitly.
    other = cluster.api.create(service("other", type="NodePort", ports=[{"port": 81, "nodePort": port}]))
    assert other["spec"]["ports"][0]["nodePort"] == port
    back = cluster.api.patch("services", "default", "web", {"spec": {"type": "LoadBalancer"}}, "merge")
    assert back["spec"]["ports"][0]["nodePort"] not in (None, port)


# --------------------------------------------------------------------------- LoadBalancer
def test_load_balancer_is_pending_then_gets_an_ingress_ip():
    cluster = make_cluster(bootstrap=False)
    svc = cluster.api.create(service("front", type="LoadBalancer", selector={"app": "web"}))
    assert svc["status"]["loadBalancer"] == {}
    assert svc["spec"]["ports"][0]["nodePort"]
    cluster.run_for(5)
    status = cluster.api.get("services", "default", "front")["status"]
    assert status["loadBalancer"]["ingress"] == [{"ip": "172.18.255.1", "ipMode": "VIP"}]
    events = [(e["reason"], e["message"], e["source"]["component"]) for e in cluster.store.list("events", "default")
              if e["involvedObject"]["name"] == "front"]
    assert ("EnsuringLoadBalancer", "Ensuring load balancer", "service-controller") in events
    assert ("EnsuredLoadBalancer", "Ensured load balancer", "service-controller") in events
    second = cluster.api.create(service("second", type="LoadBalancer", selector={"app": "web"}))
    assert second["status"]["loadBalancer"] == {}
    cluster.run_for(5)
    assert cluster.api.get("services", "default", "second")["status"]["loadBalancer"]["ingress"][0]["ip"] == \
        "172.18.255.2"
    cluster.api.patch("services", "default", "front", {"spec": {"type": "ClusterIP"}}, "merge")
    cluster.run_for(1)
    assert cluster.api.get("services", "default", "front")["status"]["loadBalancer"] == {}


# --------------------------------------------------------------------------- EndpointSlices
def test_endpoint_slice_shape_and_legacy_endpoints():
    cluster = make_cluster(bootstrap=False)
    fake_pod(cluster, "db-0", "10.244.1.10", ports=[{"containerPort": 5432, "name": "pg"}])
    fake_pod(cluster, "db-1", "10.244.2.10", ready=False, ports=[{"containerPort": 5432, "name": "pg"}])
    svc = cluster.api.create(service("db", selector={"app": "db"},
                                     ports=[{"name": "sql", "port": 5432, "targetPort": "pg"}]))
    cluster.run_for(1)
    [es] = slices(cluster, "db")
    meta = es["metadata"]
    assert meta["name"].startswith("db-") and len(meta["name"]) == len("db-") + 5
    assert meta["labels"] == {"kubernetes.io/service-name": "db",
                              "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "db",
                                        "uid": svc["metadata"]["uid"], "controller": True,
                                        "blockOwnerDeletion": True}]
    assert es["addressType"] == "IPv4"
    assert es["ports"] == [{"name": "sql", "port": 5432, "protocol": "TCP"}]
    ep0 = next(e for e in es["endpoints"] if e["targetRef"]["name"] == "db-0")
    assert ep0["addresses"] == ["10.244.1.10"] and ep0["nodeName"] == "node-x"
    assert ep0["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert ep0["targetRef"]["kind"] == "Pod" and ep0["targetRef"]["namespace"] == "default"
    ep1 = next(e for e in es["endpoints"] if e["targetRef"]["name"] == "db-1")
    assert ep1["conditions"] == {"ready": False, "serving": False, "terminating": False}
    eps = cluster.api.get("endpoints", "default", "db")
    assert eps["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert "endpoints.kubernetes.io/last-change-trigger-time" in eps["metadata"]["annotations"]
    [subset] = eps["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.10"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.2.10"]
    assert subset["ports"] == [{"name": "sql", "port": 5432, "protocol": "TCP"}]


def test_pod_event_recomputes_only_changed_services_and_writes_only_changes():
    cluster = make_cluster(bootstrap=False)
    fake_pod(cluster, "db-0", "10.244.1.10")
    cluster.api.create(service("db", selector={"app": "db"}))
    cluster.api.create(service("other", selector={"app": "other"}))
    cluster.run_for(1)
    rv = cluster.store.revision
    # A status write that changes nothing an endpoint depends on writes nothing.
    pod = cluster.api.get("pods", "default", "db-0")
    cluster.api.update_status(dict(pod, status=dict(pod["status"], message="still fine")))
    cluster.run_for(1)
    assert cluster.store.revision == rv + 1
    before = cluster.api.get("endpoints", "default", "other")["metadata"]["resourceVersion"]
    set_ready(cluster, "db-0", False)
    cluster.run_for(1)
    assert endpoint_ips(cluster, "db", ready=False) == ["10.244.1.10"]
    assert cluster.api.get("endpoints", "default", "other")["metadata"]["resourceVersion"] == before


def test_terminating_and_publish_not_ready():
    cluster = make_cluster(bootstrap=False)
    fake_pod(cluster, "db-0", "10.244.1.10")
    fake_pod(cluster, "db-1", "10.244.1.11", ready=False)
    cluster.api.create(service("db", selector={"app": "db"}))
    cluster.api.create(service("db-all", selector={"app": "db"}, clusterIP="None", publishNotReadyAddresses=True))
    cluster.run_for(1)
    assert endpoint_ips(cluster, "db-all", ready=True) == ["10.244.1.10", "10.244.1.11"]
    assert slices(cluster, "db-all")[0]["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    cluster.api.delete("pods", "default", "db-0")   # graceful: stays, terminating, until a kubelet confirms
    cluster.run_for(1)
    ep = next(e for es in slices(cluster, "db") for e in es["endpoints"] if e["targetRef"]["name"] == "db-0")
    assert ep["conditions"] == {"ready": False, "serving": True, "terminating": True}
    subsets = cluster.api.get("endpoints", "default", "db").get("subsets") or []
    assert [a["ip"] for s in subsets for a in s.get("addresses", []) + s.get("notReadyAddresses", [])] == \
        ["10.244.1.11"]


def test_slices_hold_at_most_100_endpoints_and_empty_service_keeps_a_placeholder():
    cluster = make_cluster(bootstrap=False)
    cluster.api.create(service("db", selector={"app": "db"}))
    cluster.run_for(1)
    [placeholder] = slices(cluster, "db")
    assert placeholder["endpoints"] == []
    for i in range(150):
        fake_pod(cluster, f"db-{i}", f"10.244.{i // 100}.{i % 100 + 2}")
    cluster.run_for(1)
    sizes = sorted(len(es["endpoints"]) for es in slices(cluster, "db"))
    assert sizes == [50, 100]
    assert placeholder["metadata"]["name"] in {es["metadata"]["name"] for es in slices(cluster, "db")}
    assert len(endpoint_ips(cluster, "db", ready=True)) == 150


def test_deleting_the_service_removes_its_endpoints():
    cluster = make_cluster(bootstrap=False)
    fake_pod(cluster, "db-0", "10.244.1.10")
    cluster.api.create(service("db", selector={"app": "db"}))
    cluster.run_for(1)
    cluster.api.delete("services", "default", "db")
    cluster.run_for(1)
    assert slices(cluster, "db") == []
    assert cluster.store.find("endpoints", "default", "db") is None


def test_endpoints_drop_a_pod_that_fails_readiness_and_re_add_it_when_it_recovers():
    cluster = make_cluster(nodes=3, empty=True)
    cluster.apply(WEB)
    cluster.api.create(service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": "http"}]))
    cluster.run_for(30)
    pods = sorted(p["metadata"]["name"] for p in cluster.store.list("pods", "default"))
    assert len(endpoint_ips(cluster, "web", ready=True)) == 3
    assert slices(cluster, "web")[0]["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    victim = cluster.api.get("pods", "default", pods[0])
    ip = victim["status"]["podIP"]
    cluster.set_readiness_failing("default", pods[0], True)
    cluster.run_for(1)
    assert ip in endpoint_ips(cluster, "web", ready=True)      # one failed probe is not enough
    cluster.run_for(10)                                         # failureThreshold 3 × period 2 s
    assert ip in endpoint_ips(cluster, "web", ready=False)
    assert ip not in endpoint_ips(cluster, "web", ready=True)
    subset = cluster.api.get("endpoints", "default", "web")["subsets"][0]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == [ip]
    assert len(subset["addresses"]) == 2
    cluster.set_readiness_failing("default", pods[0], False)
    cluster.run_for(5)
    assert ip in endpoint_ips(cluster, "web", ready=True)
    assert "notReadyAddresses" not in cluster.api.get("endpoints", "default", "web")["subsets"][0]
