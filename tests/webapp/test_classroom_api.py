"""Class mode over HTTP: joining, the instructor's endpoints, and every bad input of issue #13 point 8.

Each test is what a student, an instructor or an attacker would notice: the status and message
they read, the cookie their browser keeps, the kubeconfig they download, whose cluster changed
(and that a refused request changed nothing).
"""
from __future__ import annotations

import csv
import io
import logging
import time
from typing import Any

import pytest
import requests
import yaml

from live_helpers import NS, action
from webapp import create_app, shutdown_app
from webapp.classroom.store import EXPIRED_CODE, OTHER_CLASS, UNKNOWN, WRONG_CODE
from webapp.extensions import socketio
from webapp.server import ThreadedServer

CLASS_CONFIG = {"TESTING": True, "SEED": 1, "START_THREADS": False, "CLASSROOM": True,
                "JOIN_BURST": 100, "JOIN_BURST_TOTAL": 100}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine"}, "data": {"k": "v"}}
CM_PATH = "/api/v1/namespaces/default/configmaps"


def make_app(db: str | None = None, **config: Any) -> Any:
    return create_app(dict(CLASS_CONFIG, DB_URL=db, **config))


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'class.db'}"


@pytest.fixture
def app(request) -> Any:
    config: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("app_config"))):
        config.update(marker.kwargs)
    application = make_app(**config)
    yield application
    shutdown_app(application)


def store(app: Any) -> Any:
    return app.extensions["kubedrill.class"]


def hub(app: Any) -> Any:
    return app.extensions["kubedrill.hub"]


def code(app: Any) -> str:
    return store(app).info.join_code


def join(client: Any, name: str, join_code: str) -> Any:
    return client.post("/class/join", json={"code": join_code, "name": name})


def student(app: Any, name: str) -> tuple[Any, str]:
    """A test client that joined as ``name`` (its cookie jar holds the session), and its cluster id."""
    client = app.test_client()
    resp = join(client, name, code(app))
    assert resp.status_code == 201, resp.get_json()
    return client, resp.get_json()["cluster"]


def instructor(app: Any) -> Any:
    client = app.test_client()
    token = store(app).mint_instructor_login()
    assert client.get(f"/class?token={token}").status_code == 303
    return client


def session_cookie(resp: Any) -> str:
    (header,) = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("kubedrill_session=")]
    return header


def status(resp: Any, code: int) -> dict:
    assert resp.status_code == code, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert body["kind"] == "Status" and body["code"] == code
    return body


def state(app: Any) -> tuple[list[str], list[str]]:
    """What a bad request must not change: the clusters and the students."""
    return hub(app).ids(), [s.name for s in store(app).students()]


# ---------------------------------------------------------------------- joining
def test_a_student_joins_and_gets_a_cluster_a_cookie_and_a_kubeconfig(app):
    client = app.test_client()
    resp = join(client, "  Alice  ", code(app).lower())   # the code in any case, the name trimmed
    assert resp.status_code == 201
    body = resp.get_json()
    cid = body["cluster"]
    assert cid.startswith("alice-") and body["name"] == "Alice"
    assert body["dashboard"] == f"http://localhost/c/{cid}/"
    cookie = session_cookie(resp)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    credential = cookie.split(";")[0].split("=", 1)[1]

    kubeconfig = yaml.safe_load(body["kubeconfig"])
    assert kubeconfig["current-context"] == f"kubedrill-{cid}"
    # kubectl sends no token to a plain-http server: it rides in the server URL, and becomes Basic auth.
    server = f"http://kubedrill-{cid}:{credential}@localhost/c/{cid}"
    assert kubeconfig["clusters"] == [{"name": f"kubedrill-{cid}", "cluster": {"server": server}}]
    assert kubeconfig["users"] == [{"name": f"kubedrill-{cid}", "user": {"token": credential}}]
    assert kubeconfig["contexts"][0]["context"]["namespace"] == "default"

    # The dashboard opens with the cookie; the kubeconfig's token works without it.
    assert client.get(f"/c/{cid}/").status_code == 200
    bearer = {"Authorization": f"Bearer {credential}"}
    assert app.test_client().post(f"/c/{cid}{CM_PATH}", json=CM, headers=bearer).status_code == 201
    assert "mine" in {i["metadata"]["name"] for i in client.get(f"/c/{cid}{CM_PATH}").get_json()["items"]}
    basic = app.test_client().get(f"/c/{cid}{CM_PATH}/mine", auth=(f"kubedrill-{cid}", credential))
    assert basic.status_code == 200
    download = client.get("/class/kubeconfig")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="kubedrill-{cid}.kubeconfig"'
    assert yaml.safe_load(download.get_data(as_text=True)) == kubeconfig
    assert client.get("/class/api/me").get_json() == {
        "role": "student", "name": "Alice", "cluster": cid, "dashboard": f"http://localhost/c/{cid}/",
        "grid": None, "kubeconfig": "http://localhost/class/kubeconfig"}


def test_joining_again_with_ones_own_cookie_is_the_same_cluster(app):
    client, cid = student(app, "alice")
    before = state(app)
    again = join(client, "Alice", code(app))
    assert again.status_code == 200 and again.get_json()["cluster"] == cid
    assert state(app) == before


def test_the_join_page_prefills_the_code_without_running_it():
    app = make_app()
    try:
        page = app.test_client().get('/join?code=<script>x</script>')
        assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
        html = page.get_data(as_text=True)
        assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    finally:
        shutdown_app(app)


@pytest.mark.parametrize("name, field_reason", [("", "FieldValueRequired"), ("   ", "FieldValueRequired"),
                                                ("x" * 41, "FieldValueTooLong"), ("tab\there", "FieldValueInvalid"),
                                                ("instructor", "FieldValueInvalid"), (42, "FieldValueInvalid")])
def test_a_bad_name_is_a_422_naming_the_field_and_changes_nothing(app, name, field_reason):
    before = state(app)
    body = status(join(app.test_client(), name, code(app)), 422)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "name"
    assert body["details"]["causes"][0]["reason"] == field_reason
    assert state(app) == before


def test_a_taken_name_is_a_409_that_suggests_another(app):
    student(app, "alice")
    before = state(app)
    for name in ("alice", "ALICE", " alice "):
        body = status(join(app.test_client(), name, code(app)), 409)
        assert body["message"] == 'a student called "{}" has already joined: choose another name, e.g. "{}2"'.format(
            name.strip(), name.strip())
        assert body["details"]["causes"][0]["field"] == "name"
    assert state(app) == before


def test_a_wrong_code_is_a_403_and_changes_nothing(app):
    before = state(app)
    for wrong in ("WRONG1", "", None, 123456):
        body = status(join(app.test_client(), "bob", wrong), 403)
        assert body["message"] == WRONG_CODE
    assert state(app) == before


def test_an_expired_code_is_a_403_and_a_new_code_replaces_the_old(app):
    teacher = instructor(app)
    resp = teacher.post("/class/api/code", json={"expires_minutes": 5})
    assert resp.status_code == 200
    new = resp.get_json()
    assert new["join_url"] == f"http://localhost/join?code={new['join_code']}" and new["code_expires"]
    store(app).clock = lambda: time.time() + 6 * 60     # six minutes later
    body = status(join(app.test_client(), "bob", new["join_code"]), 403)
    assert body["message"] == EXPIRED_CODE
    status(teacher.post("/class/api/code", json={"expires_minutes": -1}), 422)
    assert teacher.post("/class/api/code").status_code == 200   # no body: a code that never expires
    assert store(app).students() == []


def test_a_join_body_that_is_not_json_is_refused(app):
    client = app.test_client()
    assert status(client.post("/class/join", data="code=X&name=y",
                              content_type="application/x-www-form-urlencoded"), 415)["reason"] == "UnsupportedMediaType"
    assert status(client.post("/class/join", data="{", content_type="application/json"), 400)
    assert status(client.post("/class/join", json=["a"]), 400)
    assert status(client.post("/class/join", json={"code": "x" * (5 << 20), "name": "big"}), 413)


@pytest.mark.app_config(MAX_CLUSTERS=1)
def test_a_full_class_says_so(app):
    student(app, "alice")
    before = state(app)
    body = status(join(app.test_client(), "bob", code(app)), 403)
    assert body["message"].startswith("the class is full (1 clusters): ask your instructor")
    assert state(app) == before


@pytest.mark.app_config(JOIN_BURST=2, JOIN_RATE=1)
def test_too_many_joins_from_one_address_are_a_429_with_retry_after(app):
    bad = join(app.test_client(), "x", "WRONG1")   # wrong codes count: that is what guessing looks like
    assert bad.status_code == 403
    student(app, "alice")
    before = state(app)
    resp = join(app.test_client(), "bob", code(app))
    body = status(resp, 429)
    assert body["reason"] == "TooManyRequests"
    wait = int(resp.headers["Retry-After"])
    assert 1 <= wait <= 60 and body["details"]["retryAfterSeconds"] == wait
    assert state(app) == before


# ---------------------------------------------------------------------- credentials
def test_no_or_a_forged_token_is_a_401_and_pages_send_the_browser_to_join(app):
    _, cid = student(app, "alice")
    anonymous = app.test_client()
    assert status(anonymous.get(f"/c/{cid}{CM_PATH}"), 401)["message"] == "Unauthorized"
    forged = {"Authorization": f"Bearer {store(app).info.id}.forged-token"}
    assert status(anonymous.get(f"/c/{cid}{CM_PATH}", headers=forged), 401)["message"] == UNKNOWN
    assert status(anonymous.post(f"/c/{cid}{CM_PATH}", json=CM, headers=forged), 401)
    assert status(anonymous.get("/ui/health"), 401)
    for page in ("/", f"/c/{cid}/"):
        resp = anonymous.get(page)
        assert resp.status_code == 303 and resp.headers["Location"] == "/join"
    anonymous.set_cookie("kubedrill_session", "garbage")
    assert anonymous.get("/").headers["Location"] == "/join"
    assert status(anonymous.get("/class/api/me"), 401)
    assert "mine" not in {c["metadata"]["name"] for c in hub(app).get(cid).cluster.store.list("configmaps")}


def test_a_cookie_from_another_class_is_refused_with_what_to_do(app):
    other = make_app()
    try:
        client, cid = student(other, "alice")
        cookie = client.get_cookie("kubedrill_session").value
        mine = app.test_client()
        mine.set_cookie("kubedrill_session", cookie)
        assert status(mine.get(f"{CM_PATH}"), 401)["message"] == OTHER_CLASS
        assert status(mine.get("/class/api/me"), 401)["message"] == OTHER_CLASS
        assert mine.get("/").headers["Location"] == "/join"
    finally:
        shutdown_app(other)


def test_a_student_on_another_students_cluster_is_refused_in_kube_apiservers_words(app):
    alice, a = student(app, "alice")
    bob, _ = student(app, "bob")
    assert alice.post(f"/c/{a}{CM_PATH}", json=CM).status_code == 201
    body = status(bob.get(f"/c/{a}/api/v1/namespaces/default/pods"), 403)
    assert body["message"] == ('pods is forbidden: User "bob" cannot list resource "pods" in API group "" '
                               'in the namespace "default"')
    body = status(bob.delete(f"/c/{a}{CM_PATH}/mine"), 403)
    assert body["message"] == ('configmaps "mine" is forbidden: User "bob" cannot delete resource "configmaps" '
                               'in API group "" in the namespace "default"')
    assert body["details"] == {"name": "mine", "kind": "configmaps"}
    assert status(bob.get(f"/c/{a}/ui/health"), 403)["message"] == 'forbidden: User "bob" cannot get path "/ui/health"'
    assert status(bob.get(f"/c/{a}/ui/drills"), 403)["message"] == 'forbidden: User "bob" cannot get path "/ui/drills"'
    page = bob.get(f"/c/{a}/")
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert "forbidden: User &#34;bob&#34; cannot get path &#34;/&#34;" in page.get_data(as_text=True)
    # Bob's own cluster and the demo cluster (read-only) are his to see; nothing of Alice's changed.
    assert bob.get("/").status_code == 200 and bob.get(CM_PATH).status_code == 200
    assert status(bob.post(CM_PATH, json=CM), 403)["message"].startswith('configmaps is forbidden: User "bob" cannot create')
    assert {i["metadata"]["name"] for i in alice.get(f"/c/{a}{CM_PATH}").get_json()["items"]} >= {"mine"}


def test_class_routes_exist_at_the_root_only(app):
    teacher = instructor(app)
    assert status(teacher.get("/c/demo/class/api/students"), 404)


INSTRUCTOR_ONLY = [("post", "/class/api/bulk", {"action": "sim.pause"}), ("get", "/class/api/reports", None),
                   ("get", "/class/api/reports/1", None), ("post", "/class/api/viewer", None),
                   ("post", "/class/api/code", None), ("post", "/class/api/template", {"drill": None}),
                   ("get", "/class/api/template", None)]
GRID_READS = [("get", "/class/api/students", None), ("get", "/class/api/tiles", None)]


@pytest.mark.parametrize("method, path, body", INSTRUCTOR_ONLY + GRID_READS)
def test_instructor_endpoints_refuse_students_403_and_anonymous_401(app, method, path, body):
    alice, _ = student(app, "alice")
    before = state(app), code(app)
    kwargs = {"json": body} if body is not None else {}
    refused = status(getattr(alice, method)(path, **kwargs), 403)
    assert refused["reason"] == "Forbidden"
    assert refused["message"].startswith(refused["details"]["kind"] + '.kubedrill.io is forbidden: User "alice" cannot ')
    assert status(getattr(app.test_client(), method)(path, **kwargs), 401)
    assert (state(app), code(app)) == before


def test_the_viewer_link_watches_everything_and_changes_nothing(app):
    teacher = instructor(app)
    _, a = student(app, "alice")
    link = teacher.post("/class/api/viewer").get_json()["url"]
    assert link.startswith("http://localhost/class/view?token=")
    viewer = app.test_client()
    resp = viewer.get(link.removeprefix("http://localhost"))
    assert resp.status_code == 303 and resp.headers["Location"] == "/class"
    assert "HttpOnly" in session_cookie(resp) and resp.headers["Referrer-Policy"] == "no-referrer"
    assert viewer.get("/class").status_code == 200
    assert viewer.get("/class/api/students").status_code == 200
    assert viewer.get(f"/c/{a}{CM_PATH}").status_code == 200 and viewer.get(f"/c/{a}/").status_code == 200
    assert viewer.get("/class/api/me").get_json()["role"] == "viewer"
    before = state(app)
    body = status(viewer.post(f"/c/{a}{CM_PATH}", json=CM), 403)
    assert body["message"] == ('configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API '
                               'group "" in the namespace "default"')
    for method, path, payload in INSTRUCTOR_ONLY:
        assert getattr(viewer, method)(path, **({"json": payload} if payload else {})).status_code == 403, path
    assert state(app) == before
    sio = socketio.test_client(app, namespace=NS, flask_test_client=viewer, auth={"cluster": a})
    ack = action(sio, "pod.delete", namespace="default", name="web-1")
    assert ack["ok"] is False and ack["error"]["code"] == 403
    sio.disconnect(namespace=NS)
    bad = app.test_client().get("/class/view?token=nope.nope")
    assert bad.status_code == 401 and "viewer link is not valid" in bad.get_data(as_text=True)


# ---------------------------------------------------------------------- the instructor
def test_the_login_token_becomes_a_cookie_and_leaves_the_url(app):
    token = store(app).mint_instructor_login()
    client = app.test_client()
    resp = client.get(f"/class?token={token}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/class"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    cookie = session_cookie(resp)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token not in cookie
    page = client.get("/class")
    assert page.status_code == 200 and code(app) in page.get_data(as_text=True)
    assert client.get("/class/api/me").get_json()["role"] == "instructor"
    # Without the cookie, or with a wrong token: a page saying where the login URL is.
    for path in ("/class", "/class?token=wrong"):
        refused = app.test_client().get(path)
        assert refused.status_code == 401 and "printed" in refused.get_data(as_text=True)
    alice, _ = student(app, "alice")
    assert alice.get("/class").status_code == 403


def test_the_roster_and_the_tiles(app):
    teacher = instructor(app)
    _, a = student(app, "alice")
    _, b = student(app, "bob")
    roster = teacher.get("/class/api/students").get_json()
    assert [(s["name"], s["cluster"]) for s in roster] == [("alice", a), ("bob", b)]
    assert set(roster[0]) == {"name", "cluster", "joined", "last_seen", "drill", "health", "loaded"}
    assert roster[0]["drill"] is None and roster[0]["health"] == "ok"
    assert time.strptime(roster[0]["joined"], "%Y-%m-%dT%H:%M:%SZ")
    tiles = teacher.get("/class/api/tiles").get_json()
    assert [t["cluster"] for t in tiles] == ["demo", a, b]
    assert tiles[1]["owner"] == "alice" and tiles[1]["nodes_ready"] == tiles[1]["nodes"] > 0


def test_a_bulk_drill_start_reaches_the_chosen_students_only(app):
    teacher = instructor(app)
    alice, a = student(app, "alice")
    _, b = student(app, "bob")
    _, c = student(app, "carol")
    resp = teacher.post("/class/api/bulk", json={"action": "drill.start", "args": {"id": "01-pod-kill"},
                                                 "clusters": [a, b]})
    assert resp.status_code == 200
    assert resp.get_json() == {"action": "drill.start", "results": [{"cluster": a, "ok": True},
                                                                     {"cluster": b, "ok": True}]}
    assert alice.get(f"/c/{a}/ui/drills").get_json()["current"]["id"] == "01-pod-kill"
    assert hub(app).get(b).drill is not None
    assert hub(app).get(c).drill is None and hub(app).get("demo").drill is None
    # Same drill, same seed: the two students' clusters are the same story (same pod names).
    pods = [sorted(p["metadata"]["name"] for p in hub(app).get(cid).cluster.store.list("pods", "default"))
            for cid in (a, b)]
    assert pods[0] == pods[1] and pods[0]
    # A bad request touches nobody.
    body = status(teacher.post("/class/api/bulk", json={"action": "drill.start", "args": {"id": "nope"}}), 404)
    assert "supported values" in body["message"]
    assert hub(app).get(c).drill is None
    unknown = teacher.post("/class/api/bulk", json={"action": "sim.pause", "clusters": ["nobody-0000"]}).get_json()
    assert unknown["results"][0]["ok"] is False and unknown["results"][0]["error"]["code"] == 404


def test_a_bulk_fault_picks_each_students_own_pod_by_selector(app):
    teacher = instructor(app)
    _, a = student(app, "alice")
    _, b = student(app, "bob")
    for cid in (a, b, "demo"):
        hub(app).get(cid).advance(30)      # the StatefulSet's pods are up
    sql = {cid: {p["metadata"]["name"] for p in hub(app).get(cid).cluster.store.list("pods", "default")
                 if p["metadata"]["labels"].get("app") == "sql"} for cid in (a, b, "demo")}
    resp = teacher.post("/class/api/bulk", json={"action": "fault", "args": {
        "type": "pod.delete", "args": {"namespace": "default", "selector": "app=sql", "force": True}}})
    assert all(names == {"sql-0", "sql-1", "sql-2"} for names in sql.values())
    assert [r["ok"] for r in resp.get_json()["results"]] == [True, True]
    for cid in (a, b):
        left = {p["metadata"]["name"] for p in hub(app).get(cid).cluster.store.list("pods", "default")
                if p["metadata"]["labels"].get("app") == "sql"}
        assert "sql-0" not in left and left < sql[cid]
    assert "sql-0" in {p["metadata"]["name"] for p in hub(app).get("demo").cluster.store.list("pods", "default")}
    # The instructor's fault is not the student's action (it would be their "first response").
    assert hub(app).get(a).last_action is None
    for bad in ({"type": "sim.reset"}, {"type": "pod.delete", "args": {"namespace": "default", "selector": "=="}},
                {"type": "node.power_off", "args": {"selector": "a=b", "name": "node-1"}}):
        assert teacher.post("/class/api/bulk", json={"action": "fault", "args": bad}).status_code in (400, 422)


def test_a_locked_speed_refuses_the_students_change_and_reaches_new_joiners(app):
    teacher = instructor(app)
    alice, a = student(app, "alice")
    resp = teacher.post("/class/api/bulk", json={"action": "lock_speed", "args": {"speed": 2}})
    assert resp.get_json()["results"] == [{"cluster": a, "ok": True}]
    sio = socketio.test_client(app, namespace=NS, flask_test_client=alice, auth={"cluster": a})
    assert sio.is_connected(NS)
    ack = action(sio, "sim.speed", speed=10)
    assert ack["ok"] is False and ack["error"]["reason"] == "Forbidden"
    assert ack["error"]["message"] == "the instructor has locked the speed at 2x: ask them to unlock it"
    assert hub(app).get(a).speed == 2.0
    _, b = student(app, "bob")
    assert hub(app).get(b).speed == 2.0 and hub(app).get(b).speed_lock == 2.0
    assert status(teacher.post("/class/api/bulk", json={"action": "sim.speed", "args": {"speed": 3}}), 409)
    status(teacher.post("/class/api/bulk", json={"action": "lock_speed", "args": {"speed": 2}, "clusters": [a]}), 422)
    teacher.post("/class/api/bulk", json={"action": "unlock_speed"})
    assert action(sio, "sim.speed", speed=10)["ok"] is True
    sio.disconnect(namespace=NS)
    assert hub(app).get("demo").speed_lock is None


def test_bulk_pause_resume_and_reset(app):
    teacher = instructor(app)
    alice, a = student(app, "alice")
    assert alice.post(f"/c/{a}{CM_PATH}", json=CM).status_code == 201
    teacher.post("/class/api/bulk", json={"action": "sim.pause"})
    assert hub(app).get(a).paused and not hub(app).get("demo").paused
    teacher.post("/class/api/bulk", json={"action": "sim.resume"})
    assert not hub(app).get(a).paused
    teacher.post("/class/api/bulk", json={"action": "sim.reset"})
    assert "mine" not in {i["metadata"]["name"] for i in alice.get(f"/c/{a}{CM_PATH}").get_json()["items"]}


def test_the_class_template_is_checked_and_made_for_later_joiners(app):
    teacher = instructor(app)
    _, early = student(app, "alice")
    bad_drill = status(teacher.post("/class/api/template", json={"drill": "nope"}), 422)
    assert bad_drill["details"]["causes"][0]["field"] == "drill"
    bad_yaml = status(teacher.post("/class/api/template", json={"manifests": "kind: [unclosed"}), 422)
    assert bad_yaml["details"]["causes"][0]["field"] == "manifests"
    bad_object = status(teacher.post("/class/api/template", json={
        "manifests": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: -1}\n"}), 422)
    assert "spec.replicas" in bad_object["message"]
    status(teacher.post("/class/api/template", json={"nodes": 0}), 422)
    status(teacher.post("/class/api/template", json={"colour": "red"}), 422)
    assert store(app).template is None
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-template}\ndata: {a: b}\n"
    resp = teacher.post("/class/api/template", json={"manifests": manifest, "empty": True})
    assert resp.get_json() == {"template": {"manifests": manifest, "empty": True}}
    assert teacher.get("/class/api/template").get_json()["template"]["empty"] is True
    late_client, late = student(app, "bob")
    names = {i["metadata"]["name"] for i in late_client.get(f"/c/{late}{CM_PATH}").get_json()["items"]}
    assert "from-template" in names
    assert not hub(app).get(late).cluster.store.list("deployments", "default")   # empty: no demo workloads
    assert "from-template" not in {c["metadata"]["name"] for c in hub(app).get(early).cluster.store.list("configmaps")}


def _play_drill(app: Any, cid: str) -> None:
    runtime = hub(app).get(cid)
    runtime.start_drill("01-pod-kill")
    runtime.stop_drill(finish=True)


def test_reports_are_kept_and_exported_with_the_students_name(app):
    teacher = instructor(app)
    _, a = student(app, "alice")
    _, b = student(app, "=HYPERLINK(1)")
    _play_drill(app, a)
    _play_drill(app, b)
    _play_drill(app, "demo")      # the instructor's own run is not the class's
    rows = teacher.get("/class/api/reports").get_json()
    assert {(r["student"], r["cluster"]) for r in rows} == {("alice", a), ("=HYPERLINK(1)", b)}
    row = next(r for r in rows if r["student"] == "alice")
    assert row["drill"] == "01-pod-kill" and row["seed"] == 11 and row["verdict"] in ("passed", "failed")
    for key in ("date", "time_to_detect", "time_to_recover", "downtime_seconds", "availability"):
        assert key in row
    assert isinstance(row["actions"], list)      # the student's log, each action with its time
    full = teacher.get(f"/class/api/reports/{row['id']}").get_json()
    assert full["student"] == "alice" and "definitions" in full and "actions" in full
    status(teacher.get("/class/api/reports/999999"), 404)
    assert teacher.get(f"/class/api/reports?cluster={a}").get_json() == [row]
    assert teacher.get("/class/api/reports?drill=nope").get_json() == []
    status(teacher.get("/class/api/reports?colour=red"), 400)

    export = teacher.get("/class/api/reports?format=csv")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert {r["student"] for r in table} == {"alice", "'=HYPERLINK(1)"}   # no formula runs in the teacher's sheet
    assert list(table[0])[:8] == ["id", "student", "cluster", "drill", "title", "seed", "date", "verdict"]
    alice_row = next(r for r in table if r["student"] == "alice")
    assert alice_row["drill"] == "01-pod-kill" and alice_row["actions"] == str(len(row["actions"]))


# ---------------------------------------------------------------------- a restart
def test_a_restart_lets_the_student_back_in_to_the_same_cluster(db):
    first = make_app(db)
    alice, a = student(first, "alice")
    cookie = alice.get_cookie("kubedrill_session").value
    join_code = code(first)
    assert alice.post(f"/c/{a}{CM_PATH}", json=CM).status_code == 201
    teacher = instructor(first)
    teacher.post("/class/api/bulk", json={"action": "lock_speed", "args": {"speed": 3}})
    teacher_cookie = teacher.get_cookie("kubedrill_session").value
    shutdown_app(first)

    second = make_app(db)
    try:
        assert code(second) == join_code
        back = second.test_client()
        back.set_cookie("kubedrill_session", cookie)
        assert back.get("/class/api/me").get_json()["cluster"] == a
        assert back.get(f"/c/{a}{CM_PATH}/mine").get_json()["data"] == {"k": "v"}
        again = join(back, "alice", join_code)
        assert again.status_code == 200 and again.get_json()["cluster"] == a
        assert hub(second).get(a).speed_lock == 3.0 and hub(second).get(a).speed == 3.0
        assert status(join(second.test_client(), "alice", join_code), 409)
        grid = second.test_client()
        grid.set_cookie("kubedrill_session", teacher_cookie)       # the instructor's cookie survives too
        assert [s["name"] for s in grid.get("/class/api/students").get_json()] == ["alice"]
    finally:
        shutdown_app(second)


# ---------------------------------------------------------------------- logs
def test_tokens_never_reach_the_log(caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(START_THREADS=True)
    server = ThreadedServer(app).start()
    try:
        token = store(app).mint_instructor_login()
        session = requests.Session()
        resp = session.get(f"{server.url}/class?token={token}", allow_redirects=False, timeout=10)
        assert resp.status_code == 303 and resp.headers["Location"] == "/class"
        link = session.post(f"{server.url}/class/api/viewer", timeout=10).json()["url"]
        viewer_token = link.split("token=", 1)[1]
        assert requests.get(link, allow_redirects=False, timeout=10).status_code == 303
        requests.get(f"{server.url}/class?token=wrong-{token[:5]}", timeout=10)
        joined = requests.post(f"{server.url}/class/join", json={"code": code(app), "name": "alice"}, timeout=10)
        credential = joined.cookies["kubedrill_session"]
    finally:
        server.stop()
        shutdown_app(app)
    # Everything the server logged (the test's own HTTP client logs its URLs: that is not the server).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert "Socket.IO is shutting down" in logged          # the capture did see the server's records
    for secret in (token, viewer_token, credential.split(".", 1)[1]):
        assert secret not in logged
