"""``GET /ui/why``: the chain of requests behind an object, from the user's kubectl request on."""
from __future__ import annotations

import pytest


def _web_pods(runtime) -> set[str]:
    return {p["metadata"]["name"] for p in runtime.cluster.store.list("pods", "default")
            if p["metadata"]["name"].startswith("web-") and not p["metadata"].get("deletionTimestamp")}


def test_a_replacement_pod_is_explained_back_to_the_kubectl_delete(runtime, client):
    runtime.advance(30.0)
    before = _web_pods(runtime)
    victim = sorted(before)[0]
    r = client.delete(f"/api/v1/namespaces/default/pods/{victim}", headers={"User-Agent": "kubectl/v1.32.0 (linux/amd64)"})
    assert r.status_code == 200
    runtime.advance(15.0)
    [replacement] = _web_pods(runtime) - before
    body = client.get(f"/ui/why?resource=pods&namespace=default&name={replacement}").get_json()
    chain = body["chain"]
    assert chain[0]["text"] == f"kubernetes-admin deleted pod {victim}"
    assert chain[0]["userAgent"].startswith("kubectl/")
    assert chain[1]["who"] == "the ReplicaSet controller" and replacement in chain[1]["text"]
    assert [s["who"] for s in chain[2:4]] == ["the scheduler", f"the kubelet on {_node(runtime, replacement)}"]
    assert chain[-1]["who"] == "kube-proxy" and "Service web" in chain[-1]["text"]
    assert body["complete"] is True and body["object"]["exists"] is True
    # The deleted pod is still explained while the trail remembers it: who deleted it is its last step.
    gone = client.get(f"/ui/why?resource=pods&namespace=default&name={victim}").get_json()
    assert gone["object"]["exists"] is False and gone["chain"][-1]["text"] == f"kubernetes-admin deleted pod {victim}"


def _node(runtime, pod: str) -> str:
    return runtime.cluster.store.find("pods", "default", pod)["spec"]["nodeName"]


@pytest.mark.parametrize("query, field, code", [
    ("resource=pods&namespace=default", "name", 400),
    ("resource=gizmos&namespace=default&name=x", "resource", 400),
    ("resource=pods&name=web", "namespace", 400),
    ("resource=pods&namespace=Default&name=web", "namespace", 400),
    ("resource=pods&namespace=default&name=-web", "name", 400),
    ("resource=pods&namespace=default&name=web&verbose=1", "verbose", 400),
    ("resource=pods&namespace=default&name=no-such-pod", None, 404),
])
def test_bad_questions_get_a_status_naming_the_field_and_change_nothing(runtime, client, query, field, code):
    revision = runtime.cluster.store.revision
    r = client.get(f"/ui/why?{query}")
    body = r.get_json()
    assert r.status_code == code and body["kind"] == "Status", body
    if field:
        assert body["reason"] == "BadRequest" and f'"{field}"' in body["message"]
    else:
        assert body["reason"] == "NotFound" and 'pods "no-such-pod" not found' in body["message"]
    assert runtime.cluster.store.revision == revision
