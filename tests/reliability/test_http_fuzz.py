"""Property-based fuzzing of the HTTP API: no input gets a 5xx, a refused request changes nothing, and the
cluster keeps running and persisting afterwards.

Requests go through the in-process Flask test client (``app``/``client``/``runtime`` fixtures of
tests/conftest.py: no engine thread, so the store revision moves only when a request writes). Examples
are derandomized, so CI sees the same few hundred requests every run.
"""
from __future__ import annotations

import json
import math
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.apiserver.manifests import MAX_DEPTH

FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)

# ------------------------------------------------------------------ strategies

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts = st.one_of(st.text(max_size=12), st.text(alphabet=surrogates, min_size=1, max_size=2),
                  st.sampled_from(["x\x01y", "a\nb", "é中", "", "web-config", "\x00", '"\\']))
ints = st.one_of(st.integers(-5, 5), st.sampled_from([2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1, 2 ** 64, 10 ** 30]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(1e308))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(texts, inner, max_size=3)), max_leaves=12)


def _dumps(value) -> str:
    return json.dumps(value, allow_nan=True)   # NaN/Infinity literals and \udXXX escapes, as a hostile client sends


def deep_json(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


YAML_BITS = ["a: &x [*x]", "a: !!int 'abc'", "a: !!timestamp 2020-99-99", "a: !!binary aGk=", "a: !!float x",
             "a: !!bool maybe", "a: !!python/object:os.system x", "a: !foo bar", "a: .nan", "a: .inf",
             "a: 18446744073709551616", "a: 2020-01-01", "<<: {b: 1}", "? [k]\n: v", "a: &y 1\nb: *y",
             "a: {b: [c, {d: e}]}", "1: one\ntrue: yes", "a: '\\ud800'", 'a: "\\ud800"', "- - - x", "a: |\n  text\n",
             "---\n---\n", "a: [", "\t", "%YAML 1.1\n---\na: 1", "a: !!set {x}", "a: !!omap [x: 1]"]


@st.composite
def manifests(draw) -> str:
    head = draw(st.sampled_from(["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fz}\n", "kind: Pod\n", ""]))
    bits = draw(st.lists(st.sampled_from(YAML_BITS), min_size=1, max_size=3))
    if draw(st.booleans()):
        depth = draw(st.integers(MAX_DEPTH - 2, 1200))
        bits.append("deep: " + "[" * depth + "]" * depth)
    return head + "\n".join(bits) + "\n"


@st.composite
def bodies(draw) -> bytes:
    choice = draw(st.sampled_from(["object", "value", "deep", "yaml", "patch", "garbage", "empty"]))
    if choice == "object":
        obj = {"apiVersion": draw(st.sampled_from(["v1", "apps/v1", "x"])),
               "kind": draw(st.sampled_from(["ConfigMap", "Deployment", "Pod", "Scale", "Status"])),
               "metadata": draw(st.one_of(st.just({"name": "fz"}), values)),
               draw(texts): draw(values), "data": draw(st.dictionaries(texts, values, max_size=2))}
        return _dumps(obj).encode()
    if choice == "value":
        return _dumps(draw(values)).encode()
    if choice == "deep":
        return deep_json(draw(st.integers(MAX_DEPTH - 2, 3000)), draw(st.sampled_from(["list", "dict"]))).encode()
    if choice == "yaml":
        return draw(manifests()).encode()
    if choice == "patch":
        op = {"op": draw(st.sampled_from(["add", "replace", "remove", "test", "move", "copy", "x"])),
              "path": draw(st.sampled_from(["/data/k", "/metadata/labels/x", "/spec/replicas", "", "/", "x"])),
              "value": draw(values), "from": draw(st.sampled_from(["/data", "/metadata/name"]))}
        return _dumps([op]).encode()
    if choice == "garbage":
        return draw(st.binary(max_size=40))
    return b""


PATHS = ["/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/configmaps/web-config",
         "/api/v1/namespaces/default/configmaps/fz", "/apis/apps/v1/namespaces/default/deployments",
         "/apis/apps/v1/namespaces/default/deployments/web", "/apis/apps/v1/namespaces/default/deployments/web/scale",
         "/apis/apps/v1/namespaces/default/deployments/web/status", "/api/v1/namespaces/default/pods",
         "/api/v1/pods", "/api/v1/nodes", "/api/v1/nodes/node-1", "/api/v1/namespaces", "/api/v1/namespaces/default",
         "/api/v1/namespaces/default/pods/nosuch/eviction", "/api/v1/namespaces/default/pods/nosuch/binding",
         "/api/v1/namespaces/default/pods/nosuch/log", "/api/v1/namespaces/default/services/web",
         "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "/api/v1/nosuch", "/apis/x/y/z",
         "/api", "/apis", "/version", "/readyz", "/livez", "/healthz", "/openapi/v3", "/openapi/v3/api/v1"]
CONTENT_TYPES = ["application/json", "application/yaml", "application/merge-patch+json", "application/json-patch+json",
                 "application/strategic-merge-patch+json", "application/apply-patch+yaml", "text/plain",
                 "application/vnd.kubernetes.protobuf", "", "application/json; charset=utf-8", "*/*", "\x7f/\x01"]
ACCEPTS = ["", "application/json", "application/json;as=Table;v=v1;g=meta.k8s.io",
           "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "application/vnd.kubernetes.protobuf",
           "application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io", "text/html", ";;,="]
numbers = st.one_of(st.integers(-3, 100).map(str), st.sampled_from(
    ["NaN", "nan", "inf", "-inf", "-1e309", "1e309", "9223372036854775808", "-9223372036854775809", "1.5", "0x10",
     "", " 1", "1_0", "١", "abc", "%00"]))
QUERY = {
    "limit": numbers, "continue": st.one_of(texts, st.sampled_from(["eyJ4IjoxfQ==", "!!", "0"])),
    "resourceVersion": st.one_of(numbers, texts),
    "resourceVersionMatch": st.sampled_from(["NotOlderThan", "Exact", "x"]),
    "labelSelector": st.one_of(texts, st.sampled_from(["app=web", "app in (a,b)", "!x", "a==b,c!=d", "a in (",
                                                       "=", "a=" + "x" * 70, "a b"])),
    "fieldSelector": st.one_of(texts, st.sampled_from(["metadata.name=web", "spec.nodeName=node-1", "x=y", "=",
                                                       "status.phase!=Running", "metadata.name"])),
    "gracePeriodSeconds": numbers, "propagationPolicy": st.sampled_from(["Orphan", "Foreground", "Sideways", ""]),
    "dryRun": st.sampled_from(["All", "x", ""]), "fieldValidation": st.sampled_from(["Strict", "Warn", "x"]),
    "fieldManager": texts, "force": st.sampled_from(["true", "x"]), "includeObject": st.sampled_from(["Object", "x"]),
    "timeoutSeconds": numbers, "allowWatchBookmarks": st.sampled_from(["true", "maybe"]),
    "watch": st.sampled_from(["0", "false", "x"]),   # real watches get their own test: they stream until timeout
    "container": texts, "tailLines": numbers, "previous": st.sampled_from(["true", "2"]), "verbose": st.just(""),
    "exclude": texts,
}


@st.composite
def query_strings(draw) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(sorted(QUERY)), max_size=4, unique=True))
    return {name: draw(QUERY[name]) for name in names}


@st.composite
def requests_(draw) -> dict:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return {"method": method, "path": draw(st.sampled_from(PATHS)), "query": draw(query_strings()),
            "body": draw(bodies()) if method != "GET" else b"", "content_type": draw(st.sampled_from(CONTENT_TYPES)),
            "accept": draw(st.sampled_from(ACCEPTS))}


# ------------------------------------------------------------------ invariants

def _revision(runtime) -> int:
    return runtime.call(lambda: runtime.cluster.store.revision)


def _query(params: dict[str, str]) -> str:
    """Percent-encode ``params``; a lone surrogate goes out as the (invalid UTF-8) bytes a hostile client sends."""
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params.items())


def _send(client, req: dict):
    headers = {"Accept": req["accept"]} if req["accept"] else {}
    if req["content_type"]:
        headers["Content-Type"] = req["content_type"]
    return client.open(req["path"], method=req["method"], query_string=_query(req["query"]), data=req["body"],
                       headers=headers, buffered=False)


def _check(runtime, client, req: dict) -> None:
    """Send ``req``; no 5xx, a 4xx is a Status and left the store alone, every JSON answer is strict JSON."""
    before = _revision(runtime)
    resp = _send(client, req)
    try:
        body = resp.get_data()
    finally:
        resp.close()
    assert resp.status_code < 500, (req, body[:500])
    content_type = resp.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        doc = orjson.loads(body)   # strict: no NaN, no lone surrogates
        if resp.status_code >= 400:
            assert doc["kind"] == "Status" and doc["status"] == "Failure" and doc["code"] == resp.status_code, doc
    if resp.status_code >= 400:
        assert _revision(runtime) == before, (req, body[:500])
    for value in resp.headers.values():
        value.encode("latin-1")   # every header could be sent


def _cluster_still_works(runtime, client) -> None:
    """Time still advances, a write still commits, and everything stored round-trips through JSON."""
    t0 = runtime.call(lambda: runtime.cluster.clock.now)
    runtime.advance(5)
    assert runtime.call(lambda: runtime.cluster.clock.now) > t0
    assert runtime.error is None
    r = client.post("/api/v1/namespaces/default/configmaps",
                    json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "after-"}})
    assert r.status_code == 201, r.json
    name = r.json["metadata"]["name"]
    assert client.get(f"/api/v1/namespaces/default/configmaps/{name}").status_code == 200

    def roundtrip():
        for _, obj in runtime.cluster.store.items():
            assert orjson.loads(orjson.dumps(obj)) == obj
    runtime.call(roundtrip)
    runtime.call(runtime.cluster.flush)


# ------------------------------------------------------------------ properties

def test_random_requests_never_5xx_and_refusals_change_nothing(runtime, client):
    @fuzz(400)
    @given(req=requests_())
    def prop(req):
        _check(runtime, client, req)

    prop()
    _cluster_still_works(runtime, client)


def test_hostile_bodies_on_every_write_path(runtime, client):
    writes = st.fixed_dictionaries({
        "method": st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
        "path": st.sampled_from(["/api/v1/namespaces/default/configmaps",
                                 "/api/v1/namespaces/default/configmaps/web-config",
                                 "/apis/apps/v1/namespaces/default/deployments/web",
                                 "/apis/apps/v1/namespaces/default/deployments/web/scale"]),
        "query": st.just({}), "body": bodies(), "accept": st.just(""),
        "content_type": st.sampled_from(CONTENT_TYPES[:6])})

    @fuzz(300)
    @given(req=writes)
    def prop(req):
        _check(runtime, client, req)

    prop()
    _cluster_still_works(runtime, client)


def test_ui_query_parameters(runtime, client):
    @fuzz(120)
    @given(path=st.sampled_from(["/ui/traffic/default/web", "/ui/traffic/x/y", "/ui/profile", "/ui/drills",
                                 "/ui/drills/report.json", "/ui/drills/report"]),
           params=st.dictionaries(st.sampled_from(["since", "until", "x", "projector"]), numbers, max_size=2))
    def prop(path, params):
        resp = client.get(path, query_string=params)
        assert resp.status_code < 500, (path, params)
        if resp.status_code >= 400:
            assert resp.is_json and resp.json["kind"] == "Status"
        if "since" in params and path.startswith("/ui/traffic"):
            try:
                ok = math.isfinite(float(params["since"])) and float(params["since"]) >= 0
            except ValueError:
                ok = False
            assert (resp.status_code == 200) == (ok and set(params) == {"since"}), (params, resp.json)

    prop()


def test_dashboard_apply_refuses_bad_manifests(runtime):
    from engine.errors import StatusError

    @fuzz(150)
    @given(text=manifests())
    def prop(text):
        before = _revision(runtime)
        try:
            runtime.call(lambda: runtime.cluster.apply(text, namespace="default"))
        except StatusError as e:
            assert 400 <= e.code < 500, e.message
            assert _revision(runtime) == before

    prop()


@pytest.mark.app_config(MAX_WATCHES_PER_CLIENT=1000)
def test_watches_with_random_parameters(runtime, client):
    @fuzz(80)
    @given(params=query_strings(), accept=st.sampled_from(ACCEPTS))
    def prop(params, accept):
        params = dict(params, watch="true", timeoutSeconds="1")
        before = _revision(runtime)
        resp = client.get("/api/v1/namespaces/default/pods", query_string=_query(params), headers={"Accept": accept},
                          buffered=False)
        try:
            assert resp.status_code < 500, params
            if resp.status_code >= 400:
                assert resp.json["kind"] == "Status"
                assert _revision(runtime) == before
            else:
                first = next(iter(resp.response), b"")   # the header-flushing empty chunk, or an ERROR line
                assert not first or b"InternalError" not in first
        finally:
            resp.close()

    prop()
    _cluster_still_works(runtime, client)
