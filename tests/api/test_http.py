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


# ------------------------------------------------------------------ bad input never stops the cluster
# Regressions from a robustness campaign: each of these once answered 2xx and halted persistence, or 500.

def _revision(api_server) -> int:
    return api_server.call(lambda c: c.store.revision)


def _still_commits(api_server, namespace: str) -> None:
    """The engine still advances simulated time and a write still commits (persistence did not halt)."""
    import time
    t0 = api_server.call(lambda c: c.clock.now)
    r = requests.post(url(api_server, namespace), json=cm("after-" + uuid_hex()), timeout=10)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 10
    while api_server.call(lambda c: c.clock.now) <= t0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api_server.call(lambda c: c.clock.now) > t0
    assert api_server.runtime.error is None


def uuid_hex() -> str:
    import uuid
    return uuid.uuid4().hex[:8]


def _assert_status(r, code: int, reason: str) -> dict:
    body = r.json() if callable(r.json) else r.json   # requests or the Flask test client
    assert r.status_code == code, body
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["reason"] == reason, body
    return body


@pytest.mark.parametrize("body,field", [
    ('{"data":{"k":"\\ud800"}}', "data.k"),
    ('{"data":{"\\udc00":"v"}}', "data.\\udc00"),
    ('{"x":18446744073709551616}', "x"),
    ('{"data":{"k":"v"},"n":1e400}', "n"),
    ('{"n":NaN}', None),
], ids=["surrogate-value", "surrogate-key", "huge-int", "huge-float", "nan"])
def test_unstorable_patch_content_is_a_400_and_changes_nothing(api_server, namespace, body, field):
    u = url(api_server, namespace)
    assert requests.post(u, json=cm("web-config", k="v")).status_code == 201
    before = requests.get(u + "/web-config").json()["metadata"]["resourceVersion"]
    r = requests.patch(u + "/web-config", data=body.encode(), headers={"Content-Type": "application/merge-patch+json"})
    status = _assert_status(r, 400, "BadRequest")
    if field:
        assert field in status["message"]
    assert requests.get(u + "/web-config").json()["metadata"]["resourceVersion"] == before
    _still_commits(api_server, namespace)


@pytest.mark.parametrize("content_type,body", [
    ("application/json", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"x":18446744073709551616}'),
    ("application/json", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"\\ud800"}}'),
    ("application/json", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"x":' + "[" * 1000 +
     "]" * 1000 + "}"),
    ("application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\nx: " + "[" * 2000 + "]" * 2000),
    ("application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\na: &x [*x]\n"),
    ("application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\na: !!int 'abc'\n"),
    ("application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\na: !!timestamp 2020-99-99\n"),
    ("application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: !!binary aGVsbG8=\n"),
    ("application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: .nan}\n"),
], ids=["huge-int", "surrogate", "deep-json", "deep-yaml", "alias", "int-tag", "timestamp-tag", "binary-tag", "nan"])
def test_unstorable_or_hostile_create_bodies_are_400s(api_server, namespace, content_type, body):
    u = url(api_server, namespace)
    r = requests.post(u, data=body.encode(), headers={"Content-Type": content_type}, timeout=10)
    _assert_status(r, 400, "BadRequest")
    assert requests.get(u + "/big").status_code == 404
    _still_commits(api_server, namespace)


def test_every_write_path_refuses_unstorable_content(api_server, namespace):
    u = url(api_server, namespace)
    created = requests.post(u, json=cm("w", k="v")).json()
    bad = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w","resourceVersion":"%s"},"x":%s}'
    rev = _revision(api_server)
    put = requests.put(u + "/w", data=bad % (created["metadata"]["resourceVersion"], "18446744073709551616"),
                       headers={"Content-Type": "application/json"})
    _assert_status(put, 400, "BadRequest")
    for ctype, patch in [("application/json-patch+json", '[{"op":"add","path":"/data/z","value":"\\ud800"}]'),
                         ("application/strategic-merge-patch+json", '{"data":{"z":"\\ud800"}}'),
                         ("application/apply-patch+yaml", "data: {z: !!binary aGk=}")]:
        r = requests.patch(u + "/w?fieldManager=t", data=patch.encode(), headers={"Content-Type": ctype})
        _assert_status(r, 400, "BadRequest")
    d = url(api_server, namespace, "deployments", group="apps/v1")
    assert requests.post(d, json=deployment("dep")).status_code == 201
    r = requests.patch(d + "/dep/scale", data='{"spec":{"replicas":18446744073709551616}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    _assert_status(r, 400, "BadRequest")
    r = requests.put(d + "/dep/scale", data='{"kind":"Scale","metadata":{"name":"dep"},"spec":{"replicas":1e400}}',
                     headers={"Content-Type": "application/json"})
    _assert_status(r, 400, "BadRequest")
    assert requests.get(u + "/w").json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert requests.get(d + "/dep").json()["spec"]["replicas"] == 1
    _still_commits(api_server, namespace)


@pytest.mark.parametrize("source", ["a: !!int 'abc'",
                                    "kind: ConfigMap\napiVersion: v1\nmetadata: {name: s}\nx: &a [*a]",
                                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\nx: 18446744073709551616",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"},
                                     "x": "\ud800"}],
                         ids=["int-tag", "alias", "huge-int", "surrogate-dict"])
def test_dashboard_apply_manifest_refuses_bad_input_with_a_400(api_server, namespace, source):
    from engine.errors import BadRequest
    with pytest.raises(BadRequest):
        api_server.call(lambda c: c.apply(source, namespace=namespace))   # the socket "apply"
    assert requests.get(url(api_server, namespace) + "/s").status_code == 404


@pytest.mark.parametrize("key", ["x\x01y", "a\nb", "é中", 'q"\\'])
def test_a_warning_header_for_an_odd_unknown_field_never_fails_the_write(api_server, namespace, key):
    u = url(api_server, namespace)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "odd"}, key: 1}
    r = requests.post(u, data=json.dumps(body, ensure_ascii=False).encode(),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    warning = r.headers["Warning"].encode("latin-1").decode("utf-8")   # UTF-8 on the wire, as Go writes it
    assert warning.startswith('299 - "unknown field ') and "\n" not in warning and "\x01" not in warning
    if key == "é中":
        assert "é中" in warning
    assert requests.get(u + "/odd").status_code == 200


@pytest.mark.parametrize("body,field", [('{"preconditions":"x"}', "preconditions"),
                                        ('{"preconditions":{"uid":1}}', "preconditions.uid"),
                                        ('{"gracePeriodSeconds":18446744073709551616}', "gracePeriodSeconds"),
                                        ('{"gracePeriodSeconds":99999999999999}', "gracePeriodSeconds"),
                                        ('{"propagationPolicy":["x"]}', "propagationPolicy"),
                                        ('{"orphanDependents":"yes"}', "orphanDependents"),
                                        ('{"dryRun":"All"}', "dryRun")])
def test_malformed_delete_options_are_400s(api_server, namespace, body, field):
    u = url(api_server, namespace)
    assert requests.post(u, json=cm("d")).status_code == 201
    r = requests.delete(u + "/d", data=body, headers={"Content-Type": "application/json"})
    assert field in _assert_status(r, 400, "BadRequest")["message"]
    assert requests.get(u + "/d").status_code == 200


@pytest.mark.parametrize("query", ["gracePeriodSeconds=9223372036854775808", "limit=1e3", "limit=%E0%A5%A7"])
def test_integer_query_parameters_are_int64(api_server, namespace, query):
    r = requests.get(url(api_server, namespace) + "?" + query) if "limit" in query else \
        requests.delete(url(api_server, namespace) + "/none?" + query)
    _assert_status(r, 400, "BadRequest")


@pytest.mark.parametrize("since", ["NaN", "inf", "-1e309", "-1", "x"])
def test_ui_traffic_since_must_be_a_finite_number(api_server, since):
    r = requests.get(api_server.url + "/ui/traffic/default/web", params={"since": since})
    _assert_status(r, 400, "BadRequest")
    assert "since" in r.json()["message"]
    assert requests.get(api_server.url + "/ui/traffic/default/web", params={"since": "1.5"}).status_code == 200
    _assert_status(requests.get(api_server.url + "/ui/traffic/default/web", params={"until": "1"}), 400, "BadRequest")


def test_a_body_over_the_limit_is_refused_before_it_is_read(api_server):
    import socket
    with socket.create_connection(("127.0.0.1", int(api_server.url.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")   # 100 MiB, never sent
        data = b""
        while b"}" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    status = json.loads(body)
    assert status["reason"] == "RequestEntityTooLarge" and "3145728" in status["message"]


def test_readyz_names_the_failed_check_and_livez_stays_ok(app, client, runtime, monkeypatch):
    assert client.get("/readyz").get_data(as_text=True) == "ok"
    verbose = client.get("/readyz?verbose").get_data(as_text=True)
    assert verbose.splitlines()[0] == "[+]ping ok" and "[+]engine ok" in verbose
    assert verbose.endswith("readyz check passed\n")
    monkeypatch.setattr(runtime, "health", lambda: {"ok": False, "stalled": True, "paused": False,
                                                    "last_tick_age": 12.0, "error": None, "components": {}})
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_data(as_text=True) == "[-]engine failed: reason withheld\nreadyz check failed\n"
    r = client.get("/readyz?verbose")
    assert r.status_code == 503 and "[+]ping ok\n" in r.get_data(as_text=True)
    assert client.get("/readyz?exclude=engine").status_code == 200
    assert client.get("/readyz/engine").status_code == 503 and client.get("/readyz/ping").status_code == 200
    assert client.get("/readyz/nosuch").status_code == 404
    assert client.get("/livez").get_data(as_text=True) == "ok" and client.get("/healthz").status_code == 200
    assert client.get("/livez?verbose").get_data(as_text=True).endswith("livez check passed\n")


@pytest.mark.app_config(MAX_WATCHES_PER_CLIENT=2)
def test_watches_per_client_are_bounded(client):
    path = "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=30"
    first, second = client.get(path, buffered=False), client.get(path, buffered=False)
    assert first.status_code == second.status_code == 200
    third = client.get(path, buffered=False)
    body = _assert_status(third, 429, "TooManyRequests")
    assert "MAX_WATCHES_PER_CLIENT" in body["message"] and third.headers["Retry-After"] == "1"
    first.close()
    again = client.get(path, buffered=False)
    assert again.status_code == 200
    again.close()
    second.close()
