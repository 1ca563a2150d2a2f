"""/version, health, discovery (aggregated and legacy), OpenAPI v3 — what kubectl reads first."""
from __future__ import annotations

import yaml

from webapp.kube_api import kubeconfig

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
KUBECTL_DISCOVERY_ACCEPT = (V2 + ",application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                            "application/json")


def test_version_and_health(api_server):
    v = api_server.get("/version").json()
    assert (v["major"], v["minor"], v["gitVersion"]) == ("1", "32", "v1.32.0")
    for path in ("/healthz", "/livez", "/readyz"):
        r = api_server.get(path)
        assert r.status_code == 200 and r.text == "ok"


def test_aggregated_discovery_for_groups(api_server):
    r = api_server.get("/apis", headers={"Accept": KUBECTL_DISCOVERY_ACCEPT})
    assert r.headers["Content-Type"] == V2
    doc = r.json()
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    assert deploy["scope"] == "Namespaced" and deploy["singularResource"] == "deployment"
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_aggregated_discovery_for_core(api_server):
    doc = api_server.get("/api", headers={"Accept": KUBECTL_DISCOVERY_ACCEPT}).json()
    (core,) = doc["items"]
    assert core["metadata"]["name"] == ""
    pods = next(r for r in core["versions"][0]["resources"] if r["resource"] == "pods")
    subs = {s["subresource"]: s["responseKind"] for s in pods["subresources"]}
    assert subs["eviction"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert {"log", "binding", "status", "exec"} <= set(subs)
    nodes = next(r for r in core["versions"][0]["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster" and nodes["shortNames"] == ["no"]


def test_legacy_discovery(api_server):
    assert api_server.get("/api").json()["versions"] == ["v1"]
    groups = {g["name"] for g in api_server.get("/apis").json()["groups"]}
    assert {"apps", "policy", "storage.k8s.io", "discovery.k8s.io", "coordination.k8s.io"} <= groups
    v1 = api_server.get("/api/v1").json()
    names = {r["name"]: r for r in v1["resources"]}
    assert names["pods/eviction"]["group"] == "policy" and names["pods/eviction"]["kind"] == "Eviction"
    assert names["services"]["shortNames"] == ["svc"]
    apps = {r["name"]: r for r in api_server.get("/apis/apps/v1").json()["resources"]}
    assert apps["deployments/scale"]["kind"] == "Scale" and apps["deployments/scale"]["group"] == "autoscaling"
    assert api_server.get("/apis/nope/v1").status_code == 404


def test_openapi_v3_index_and_documents(api_server):
    index = api_server.get("/openapi/v3").json()["paths"]
    assert "api/v1" in index and "apis/apps/v1" in index
    url = index["apis/apps/v1"]["serverRelativeURL"]
    assert "?hash=" in url
    doc = api_server.get(url).json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    spec = doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["properties"]["replicas"]["type"] == "integer"
    r = api_server.get("/openapi/v2")
    assert r.status_code == 404 and r.json()["kind"] == "Status"


def test_kubeconfig_render():
    doc = yaml.safe_load(kubeconfig.render("http://127.0.0.1:8080", namespace="demo"))
    assert doc["current-context"] == "kubedrill"
    assert doc["clusters"][0] == {"name": "kubedrill", "cluster": {"server": "http://127.0.0.1:8080"}}
    assert doc["users"][0] == {"name": "kubedrill", "user": {}}
    assert doc["contexts"][0]["context"] == {"cluster": "kubedrill", "user": "kubedrill", "namespace": "demo"}
