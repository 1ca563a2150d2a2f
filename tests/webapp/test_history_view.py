"""``GET /ui/history``: the Charts tab's series and markers, whoever killed what (kubectl included)."""
from __future__ import annotations


def test_history_has_the_demo_curves_and_a_kubectl_kill_with_its_user(runtime, client):
    runtime.advance(30.0)
    pod = next(p["metadata"]["name"] for p in runtime.cluster.store.list("pods", "default")
               if p["metadata"]["name"].startswith("web-"))
    r = client.delete(f"/api/v1/namespaces/default/pods/{pod}", headers={"User-Agent": "kubectl/v1.32.0 (linux/amd64)"})
    assert r.status_code == 200
    runtime.advance(5.0)
    body = client.get("/ui/history").get_json()
    assert body["now"] == runtime.cluster.now and body["started"] == runtime.cluster.started
    keys = {s["key"]: s for s in body["series"]}
    web = keys["deployments/default/web"]
    assert web["title"] == "Deployment web" and web["a"][-1] == 3 and web["t"][-1] == body["now"]
    assert keys["svc/default/web"]["kind"] == "rate"
    [marker] = [m for m in body["markers"] if m["kind"] == "delete"]
    assert marker["what"] == f"pod default/{pod} deleted" and marker["who"] == "kubernetes-admin (kubectl)"
    # Polling with since= gets only what is new: nothing before it, the marker not again.
    later = client.get(f"/ui/history?since={body['now']}").get_json()
    assert all(t > body["now"] for s in later["series"] for t in s["t"])
    assert [m["n"] for m in later["markers"]] in ([], [marker["n"]]) and marker["t"] < body["now"]


def test_a_dashboard_action_names_the_dashboard(runtime, client):
    from webapp.control import dispatch
    runtime.advance(30.0)
    pod = next(p["metadata"]["name"] for p in runtime.cluster.store.list("pods", "default"))
    ack = dispatch(runtime, {"type": "pod.crash", "args": {"namespace": "default", "name": pod}})
    assert ack["ok"], ack
    [marker] = [m for m in client.get("/ui/history").get_json()["markers"] if m["kind"] == "crash"]
    assert marker["who"] == "kubernetes-admin (dashboard)" and pod in marker["what"]


def test_bad_since_and_unknown_parameters_are_400_naming_them(runtime, client):
    for query, named in (("since=soon", '"since"'), ("since=-1", '"since"'), ("since=nan", '"since"'),
                         ("from=3", '"from"')):
        r = client.get(f"/ui/history?{query}")
        assert r.status_code == 400, query
        body = r.get_json()
        assert body["kind"] == "Status" and body["reason"] == "BadRequest" and named in body["message"]
