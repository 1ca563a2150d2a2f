"""CRUD, Tables, pagination, watch, subresources and every bad request, over real HTTP."""
from __future__ import annotations

import json
import threading

import pytest
import requests

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                "application/json")


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: int = 1) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def url(server, ns: str, plural: str = "configmaps", name: str = "", group: str = "") -> str:
    base = f"{server.url}/apis/{group}" if group else f"{server.url}/api/v1"
    return f"{base}/namespaces/{ns}/{plural}" + (f"/{name}" if name else "")


def test_create_get_list_update_delete_configmap(api_server, namespace):
    u = url(api_server, namespace)
    r = requests.post(u, json=cm("a", k="v"))
    assert r.status_code == 201
    created = r.json()
    assert created["metadata"]["uid"] and created["metadata"]["namespace"] == namespace
    got = requests.get(u + "/a").json()
    assert got["data"] == {"k": "v"}
    listed = requests.get(u).json()
    assert listed["kind"] == "ConfigMapList" and [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    got["data"]["k"] = "w"
    r = requests.put(u + "/a", json=got)
    assert r.status_code == 200 and r.json()["data"] == {"k": "w"}
    # the old resourceVersion is stale now: 409 Conflict, object unchanged
    stale = dict(got, data={"k": "stale"})
    r = requests.put(u + "/a", json=stale)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    assert requests.get(u + "/a").json()["data"] == {"k": "w"}
    r = requests.delete(u + "/a")
    assert r.status_code == 200
    r = requests.get(u + "/a")
    assert r.status_code == 404
    assert r.json() | {"details": None} == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                            "message": 'configmaps "a" not found', "reason": "NotFound",
                                            "code": 404, "details": None}


def test_generate_name_dry_run_and_already_exists(api_server, namespace):
    u = url(api_server, namespace)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    r = requests.post(u, json=body)
    assert r.status_code == 201 and r.json()["metadata"]["name"].startswith("gen-")
    r = requests.post(u + "?dryRun=All", json=cm("dry"))
    assert r.status_code == 201
    assert requests.get(u + "/dry").status_code == 404
    assert requests.post(u, json=cm("dup")).status_code == 201
    r = requests.post(u, json=cm("dup"))
    assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists"
    assert requests.post(u + "?dryRun=Some", json=cm("x")).status_code == 400


def test_patch_types(api_server, namespace):
    u = url(api_server, namespace)
    requests.post(u, json=cm("p", a="1"))
    for ctype, body, want in [
        ("application/merge-patch+json", {"data": {"b": "2"}}, {"a": "1", "b": "2"}),
        ("application/strategic-merge-patch+json", {"data": {"a": None}}, {"b": "2"}),
        ("application/json-patch+json", [{"op": "add", "path": "/data/c", "value": "3"}], {"b": "2", "c": "3"}),
    ]:
        r = requests.patch(u + "/p", data=json.dumps(body), headers={"Content-Type": ctype})
        assert r.status_code == 200, r.text
        assert r.json()["data"] == want
    # server-side apply creates when absent (201) and needs a fieldManager
    r = requests.patch(u + "/applied?fieldManager=test", data=json.dumps(cm("applied", x="1")),
                       headers={"Content-Type": "application/apply-patch+yaml"})
    assert r.status_code == 201, r.text
    r = requests.patch(u + "/applied", data="{}", headers={"Content-Type": "application/apply-patch+yaml"})
    assert r.status_code == 400


def test_list_pagination_and_selectors(api_server, namespace):
    u = url(api_server, namespace)
    for i in range(5):
        body = cm(f"c{i}")
        body["metadata"]["labels"] = {"parity": "even" if i % 2 == 0 else "odd"}
        requests.post(u, json=body)
    names, token = [], None
    while True:
        r = requests.get(u, params={"limit": 2, **({"continue": token} if token else {})}).json()
        names += [i["metadata"]["name"] for i in r["items"]]
        token = r["metadata"].get("continue")
        if not token:
            break
    assert names == [f"c{i}" for i in range(5)]
    r = requests.get(u, params={"labelSelector": "parity=odd"}).json()
    assert [i["metadata"]["name"] for i in r["items"]] == ["c1", "c3"]
    r = requests.get(u, params={"fieldSelector": "metadata.name=c4"}).json()
    assert [i["metadata"]["name"] for i in r["items"]] == ["c4"]
    all_ns = requests.get(api_server.url + "/api/v1/configmaps", params={"labelSelector": "parity"}).json()
    assert {i["metadata"]["namespace"] for i in all_ns["items"]} >= {namespace}


def test_table_output(api_server, namespace):
    u = url(api_server, namespace)
    requests.post(u, json=cm("t", a="1", b="2"))
    r = requests.get(u, headers={"Accept": TABLE_ACCEPT})
    assert r.headers["Content-Type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    t = r.json()
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert t["rows"][0]["cells"][:2] == ["t", 2]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    one = requests.get(u + "/t", headers={"Accept": TABLE_ACCEPT}).json()
    assert one["kind"] == "Table" and len(one["rows"]) == 1
    full = requests.get(u + "?includeObject=Object", headers={"Accept": TABLE_ACCEPT}).json()
    assert full["rows"][0]["object"]["data"] == {"a": "1", "b": "2"}
    assert requests.get(u, headers={"Accept": "application/vnd.kubernetes.protobuf"}).status_code == 406


@pytest.mark.parametrize("path,params,code", [
    ("/api/v1/nosuchthings", {}, 404),
    ("/apis/apps/v1/namespaces/default/nosuch", {}, 404),
    ("/api/v1/namespaces/default/pods", {"labelSelector": "a in (b"}, 400),
    ("/api/v1/namespaces/default/pods", {"fieldSelector": "spec.bogus=1"}, 400),
    ("/api/v1/namespaces/default/pods", {"limit": "abc"}, 400),
    ("/api/v1/namespaces/default/pods", {"watch": "maybe"}, 400),
    ("/api/v1/namespaces/default/pods", {"continue": "garbage!"}, 400),
])
def test_bad_reads_are_status_errors(api_server, path, params, code):
    r = requests.get(api_server.url + path, params=params)
    assert r.status_code == code
    status = r.json()
    assert status["kind"] == "Status" and status["code"] == code and status["status"] == "Failure"
    if code == 404:
        assert status["message"] == "the server could not find the requested resource"


def test_bad_writes_leave_the_cluster_unchanged(api_server, namespace):
    u = url(api_server, namespace)

    def contents():
        # The simulation keeps running (heartbeats, traffic), so compare this namespace's objects, not the revision.
        return api_server.call(lambda c: sorted((r, o["metadata"]["name"], o["metadata"]["resourceVersion"])
                                                for r, o in c.store.items()
                                                if o["metadata"].get("namespace") == namespace))

    before = contents()
    r = requests.post(u, data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["reason"] == "BadRequest"
    r = requests.post(u, data="a: [b", headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400
    r = requests.post(u, data=json.dumps(cm("x")), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["reason"] == "UnsupportedMediaType"
    big = cm("big", blob="x" * (3 * 1024 * 1024 + 10))
    r = requests.post(u, data=json.dumps(big), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["reason"] == "RequestEntityTooLarge"
    r = requests.patch(u + "/x", data="{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    r = requests.patch(u + "/x", data="[", headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 400
    wrong_ns = cm("x")
    wrong_ns["metadata"]["namespace"] = "elsewhere"
    assert requests.post(u, json=wrong_ns).status_code == 400
    assert requests.post(u, json={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).status_code == 400
    assert requests.delete(u + "/x?gracePeriodSeconds=x").status_code == 400
    assert requests.delete(u + "/x?propagationPolicy=Sideways").status_code == 400
    assert requests.post(u + "?fieldValidation=Loose", json=cm("x")).status_code == 400
    assert contents() == before
    assert requests.get(api_server.url + "/healthz").text == "ok"


def test_strict_field_validation_and_warn_header(api_server, namespace):
    u = url(api_server, namespace)
    body = cm("fv")
    body["bogus"] = 1
    r = requests.post(u + "?fieldValidation=Strict", json=body)
    assert r.status_code == 400 and "unknown field" in r.json()["message"]
    r = requests.post(u + "?fieldValidation=Warn", json=body)
    assert r.status_code == 201
    assert 'unknown field \\"bogus\\"' in r.headers.get("Warning", "")


def test_protobuf_bodies_are_refused_with_guidance(api_server, namespace):
    r = requests.post(url(api_server, namespace), data=b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap",
                      headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert r.status_code == 415
    assert "kubectl apply -f" in r.json()["message"]


def test_scale_subresource(api_server, namespace):
    u = url(api_server, namespace, "deployments", group="apps/v1")
    assert requests.post(u, json=deployment("sc", 1)).status_code == 201
    s = requests.get(u + "/sc/scale").json()
    assert s["kind"] == "Scale" and s["apiVersion"] == "autoscaling/v1" and s["spec"]["replicas"] == 1
    assert s["status"]["selector"] == "app=sc"
    r = requests.patch(u + "/sc/scale", data='{"spec":{"replicas":3}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 3
    assert requests.get(u + "/sc").json()["spec"]["replicas"] == 3
    for _ in range(5):  # the controllers may update the Deployment between our GET and PUT (409): retry
        s = requests.get(u + "/sc/scale").json()
        s["spec"]["replicas"] = 2
        if requests.put(u + "/sc/scale", json=s).status_code == 200:
            break
    else:
        raise AssertionError("PUT scale never succeeded")
    s["spec"]["replicas"] = 5
    s["metadata"]["resourceVersion"] = "1"  # stale
    r = requests.put(u + "/sc/scale", json=s)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    assert requests.get(u + "/sc").json()["spec"]["replicas"] == 2


def test_status_subresource_and_delete_collection(api_server, namespace):
    u = url(api_server, namespace, "deployments", group="apps/v1")
    requests.post(u, json=deployment("st"))
    got = requests.get(u + "/st/status").json()
    assert got["metadata"]["name"] == "st"
    requests.post(url(api_server, namespace), json=cm("d1"))
    requests.post(url(api_server, namespace), json=cm("d2"))
    r = requests.delete(url(api_server, namespace))
    assert r.status_code == 200 and {i["metadata"]["name"] for i in r.json()["items"]} >= {"d1", "d2"}
    assert requests.get(url(api_server, namespace)).json()["items"] == []


def _read_events(resp, n: int, out: list, done: threading.Event):
    for line in resp.iter_lines(chunk_size=1):
        if line:
            out.append(json.loads(line))
        if len(out) >= n:
            break
    done.set()


def test_watch_streams_changes_and_selector_transitions(api_server, namespace):
    u = url(api_server, namespace)
    requests.post(u, json=cm("w0"))
    rv = requests.get(u).json()["metadata"]["resourceVersion"]
    resp = requests.get(u, params={"watch": "1", "resourceVersion": rv, "labelSelector": "watched=yes",
                                   "timeoutSeconds": 20}, stream=True, timeout=30)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    out: list = []
    done = threading.Event()
    threading.Thread(target=_read_events, args=(resp, 3, out, done), daemon=True).start()
    labelled = cm("w1")
    labelled["metadata"]["labels"] = {"watched": "yes"}
    requests.post(u, json=labelled)
    requests.post(u, json=cm("w2"))  # never matches: not seen
    requests.patch(u + "/w1", data='{"data":{"x":"1"}}', headers={"Content-Type": "application/merge-patch+json"})
    requests.patch(u + "/w1", data='{"metadata":{"labels":{"watched":"no"}}}',
                   headers={"Content-Type": "application/merge-patch+json"})
    assert done.wait(10)
    resp.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in out] == [
        ("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_watch_without_resource_version_sends_current_objects_and_times_out(api_server, namespace):
    u = url(api_server, namespace)
    requests.post(u, json=cm("now"))
    r = requests.get(u, params={"watch": "true", "timeoutSeconds": 1, "allowWatchBookmarks": "true"}, timeout=10)
    events = [json.loads(line) for line in r.text.splitlines()]
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "now"
    assert events[-1]["type"] == "BOOKMARK" and events[-1]["object"]["metadata"]["resourceVersion"]


def test_watch_too_old_resource_version_is_an_expired_error_event(api_server, namespace):
    store = api_server.runtime.cluster.store
    old_compacted = store.compacted
    store.compacted = store.revision  # pretend history was compacted up to now
    try:
        r = requests.get(url(api_server, namespace), params={"watch": "1", "resourceVersion": "1"}, timeout=10)
    finally:
        store.compacted = old_compacted
    (event,) = [json.loads(line) for line in r.text.splitlines()]
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_table_watch(api_server, namespace):
    u = url(api_server, namespace)
    requests.post(u, json=cm("tw", a="1"))
    r = requests.get(u, params={"watch": "1", "timeoutSeconds": 1}, headers={"Accept": TABLE_ACCEPT}, timeout=10)
    assert r.headers["Content-Type"].startswith("application/json;as=Table")
    first = json.loads(r.text.splitlines()[0])
    assert first["object"]["kind"] == "Table" and first["object"]["rows"][0]["cells"][0] == "tw"


def test_a_healthy_nodes_lease_shows_its_latest_renewal(api_server):
    # Healthy kubelets do not rewrite their Lease every 10 s; readers still see a fresh renewTime.
    from engine.clock import parse_rfc3339
    lease = requests.get(api_server.url + "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
                         timeout=10).json()
    now = api_server.call(lambda c: c.clock.now)
    age = now - parse_rfc3339(lease["spec"]["renewTime"].split(".")[0] + "Z")
    interval = api_server.call(lambda c: c.profile.lease_renew_interval)
    assert 0 <= age <= interval + 1
    listed = requests.get(api_server.url + "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                          timeout=10).json()["items"]
    assert {item["metadata"]["name"] for item in listed} >= {"control-plane", "node-1"}
