"""The classroom's policy: who may read, write and control which cluster, and what a refusal says."""
from __future__ import annotations

import pytest
from flask import Flask

from engine.errors import Forbidden, Unauthorized
from webapp.classroom.store import MALFORMED, OTHER_CLASS, UNKNOWN, ClassStore
from webapp.control import ACTIONS as SOCKET_ACTIONS
from webapp.policy import (ADMIN, SESSION_COOKIE, Principal, action_verb, allowed, authorize, authorize_action,
                           current_principal, principal_from_environ, why_not)

ALICE = Principal("student", "alice", "alice-1a2b")
INSTRUCTOR = Principal("instructor", "instructor")
VIEWER = Principal("viewer", "viewer")
ANONYMOUS = Principal("anonymous", "system:anonymous")
CLUSTERS = {"own": "alice-1a2b", "demo": "demo", "other": "bob-3c4d"}
VERBS = {"read": ["get", "list", "watch"], "write": ["create", "update", "patch", "delete"], "control": ["control"]}

# role -> the (cluster, kind of verb) pairs it may do; everything else is refused.
RULES = {
    "admin": {(c, v) for c in CLUSTERS for v in VERBS},
    "instructor": {(c, v) for c in CLUSTERS for v in VERBS},
    "student": {("own", "read"), ("own", "write"), ("own", "control"), ("demo", "read")},
    "viewer": {(c, "read") for c in CLUSTERS},
    "anonymous": set(),
}
PRINCIPALS = {"admin": ADMIN, "instructor": INSTRUCTOR, "student": ALICE, "viewer": VIEWER, "anonymous": ANONYMOUS}


@pytest.mark.parametrize("role", list(RULES))
@pytest.mark.parametrize("where", list(CLUSTERS))
@pytest.mark.parametrize("kind", list(VERBS))
def test_each_role_may_do_exactly_what_the_rules_say(role, where, kind):
    p, cluster = PRINCIPALS[role], CLUSTERS[where]
    expected = (where, kind) in RULES[role]
    for verb in VERBS[kind]:
        assert allowed(p, verb, cluster) is expected, (role, where, verb)
        if expected:
            authorize(p, verb, cluster, resource="pods", namespace="default", name="web-1")
        else:
            with pytest.raises(Unauthorized if role == "anonymous" else Forbidden):
                authorize(p, verb, cluster, resource="pods", namespace="default", name="web-1")


def test_a_student_without_a_cluster_owns_no_cluster():
    lost = Principal("student", "carol", None)
    assert not allowed(lost, "get", "bob-3c4d")
    assert allowed(lost, "get", "demo") and not allowed(lost, "delete", "demo")


def _refusal(**kw) -> dict:
    verb, cluster = kw.pop("verb"), kw.pop("cluster", "demo")
    with pytest.raises(Forbidden) as info:
        authorize(kw.pop("p", ALICE), verb, cluster, **kw)
    return info.value.to_status()


@pytest.mark.parametrize("kw, message, details", [
    (dict(verb="delete", resource="pods", namespace="default", name="web-1"),
     'pods "web-1" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace '
     '"default"', {"name": "web-1", "kind": "pods"}),
    (dict(verb="create", resource="pods", namespace="default"),
     'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"',
     {"kind": "pods"}),
    (dict(verb="update", resource="nodes", name="worker-1", cluster="bob-3c4d"),
     'nodes "worker-1" is forbidden: User "alice" cannot update resource "nodes" in API group "" at the cluster '
     'scope', {"name": "worker-1", "kind": "nodes"}),
    (dict(verb="update", resource="deployments/scale", group="apps", namespace="default", name="web"),
     'deployments.apps "web" is forbidden: User "alice" cannot update resource "deployments/scale" in API group '
     '"apps" in the namespace "default"', {"name": "web", "group": "apps", "kind": "deployments"}),
    (dict(verb="control", resource="simulation", group="kubedrill.io", cluster="bob-3c4d"),
     'simulation.kubedrill.io "bob-3c4d" is forbidden: User "alice" cannot control resource "simulation" in API '
     'group "kubedrill.io" at the cluster scope', {"name": "bob-3c4d", "group": "kubedrill.io", "kind": "simulation"}),
    (dict(verb="get", path="/version", cluster="bob-3c4d"),
     'forbidden: User "alice" cannot get path "/version"', None),
])
def test_a_refusal_reads_like_kube_apiserver(kw, message, details):
    status = _refusal(**kw)
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"] == message
    assert status.get("details") == details


def test_a_read_refused_on_another_students_cluster_names_the_list():
    status = _refusal(verb="list", resource="nodes", cluster="bob-3c4d")
    assert status["message"] == ('nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" '
                                 'at the cluster scope')
    status = _refusal(verb="list", resource="pods", namespace="default", cluster="bob-3c4d")
    assert status["message"] == ('pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
                                 'in the namespace "default"')


def test_a_user_name_with_quotes_cannot_break_the_message_apart():
    status = _refusal(p=Principal("student", 'a"b\\c', "x-1234"), verb="delete", resource="pods",
                      namespace="default", name="web-1")
    assert 'User "a\\"b\\\\c" cannot delete' in status["message"]


def test_anonymous_is_unauthorized_and_told_why_when_the_reason_is_known():
    with pytest.raises(Unauthorized) as info:
        authorize(ANONYMOUS, "get", "demo", resource="pods", namespace="default")
    assert info.value.to_status()["message"] == "Unauthorized"
    assert info.value.to_status()["code"] == 401
    with pytest.raises(Unauthorized) as info:
        authorize(Principal("anonymous", "system:anonymous", refused=OTHER_CLASS), "get", "demo")
    assert info.value.message == OTHER_CLASS


# ---------------------------------------------------------------------- credentials
@pytest.fixture
def store():
    s = ClassStore(None)
    s.open_or_create_class()
    yield s
    s.close()


def test_without_a_class_everybody_is_the_admin():
    assert principal_from_environ({}, None) == ADMIN
    assert principal_from_environ({"HTTP_COOKIE": f"{SESSION_COOKIE}=forged.value"}, None) == ADMIN


def test_a_session_cookie_and_a_bearer_token_both_identify_the_student(store):
    cred = store.add_session("student", "alice", "alice-1a2b")
    by_cookie = principal_from_environ({"HTTP_COOKIE": f"theme=dark; {SESSION_COOKIE}={cred}"}, store)
    by_bearer = principal_from_environ({"HTTP_AUTHORIZATION": f"Bearer {cred}"}, store)
    assert by_cookie == by_bearer == Principal("student", "alice", "alice-1a2b")


def test_a_bad_bearer_token_does_not_hide_a_good_cookie(store):
    cred = store.add_session("viewer", "viewer", None)
    p = principal_from_environ({"HTTP_AUTHORIZATION": "Bearer stale.token",
                                "HTTP_COOKIE": f"{SESSION_COOKIE}={cred}"}, store)
    assert p.role == "viewer"


@pytest.mark.parametrize("environ, refused", [
    ({}, ""),
    ({"HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0"}, ""),
    ({"HTTP_AUTHORIZATION": "Bearer no-dot-here"}, MALFORMED),
    ({"HTTP_COOKIE": f"{SESSION_COOKIE}=0123456789ab.sometoken"}, OTHER_CLASS),
])
def test_no_or_bad_credentials_make_an_anonymous_request(store, environ, refused):
    p = principal_from_environ(environ, store)
    assert p.role == "anonymous" and p.refused == refused
    with pytest.raises(Unauthorized) as info:
        authorize(p, "get", "demo", resource="pods", namespace="default")
    assert info.value.message == (refused or "Unauthorized")


def test_a_forged_token_of_this_class_is_refused_as_unknown(store):
    p = principal_from_environ({"HTTP_AUTHORIZATION": f"Bearer {store.info.id}.forged"}, store)
    assert p.role == "anonymous" and p.refused == UNKNOWN


def test_current_principal_reads_the_request_once(store):
    app = Flask("policy-test")
    app.extensions["kubedrill.class"] = store
    cred = store.add_session("student", "alice", "alice-1a2b")
    calls = []
    lookup = store.lookup
    store.lookup = lambda value: calls.append(value) or lookup(value)
    with app.test_request_context("/", headers={"Authorization": f"Bearer {cred}"}):
        assert current_principal() == Principal("student", "alice", "alice-1a2b")
        assert current_principal().name == "alice"
    assert calls == [cred]
    with app.test_request_context("/"):
        assert current_principal().role == "anonymous"


def test_current_principal_is_the_admin_outside_class_mode():
    app = Flask("policy-test")
    with app.test_request_context("/", headers={"Authorization": "Bearer whatever"}):
        assert current_principal() == ADMIN


# ---------------------------------------------------------------------- dashboard actions
POD = {"namespace": "default", "name": "web-1"}
DEPLOY = {"kind": "Deployment", "namespace": "default", "name": "web"}


@pytest.mark.parametrize("action, args, expected", [
    ("pod.delete", POD, ("delete", "pods", "", "default", "web-1")),
    ("pod.crash", POD, ("update", "pods", "", "default", "web-1")),
    ("pod.readiness", {**POD, "failing": True}, ("update", "pods", "", "default", "web-1")),
    ("node.power_off", {"name": "worker-1"}, ("update", "nodes", "", None, "worker-1")),
    ("node.power_on", {"name": "worker-1"}, ("update", "nodes", "", None, "worker-1")),
    ("node.cordon", {"name": "worker-1"}, ("patch", "nodes", "", None, "worker-1")),
    ("node.uncordon", {"name": "worker-1"}, ("patch", "nodes", "", None, "worker-1")),
    ("node.drain", {"name": "worker-1"}, ("patch", "nodes", "", None, "worker-1")),
    ("workload.scale", {**DEPLOY, "replicas": 3}, ("update", "deployments/scale", "apps", "default", "web")),
    ("workload.scale", {**DEPLOY, "kind": "StatefulSet", "replicas": 3},
     ("update", "statefulsets/scale", "apps", "default", "web")),
    ("workload.set_image", {**DEPLOY, "image": "nginx:2"}, ("patch", "deployments", "apps", "default", "web")),
    ("workload.rollback", DEPLOY, ("patch", "deployments", "apps", "default", "web")),
    ("object.delete", {"resource": "services", "namespace": "default", "name": "web"},
     ("delete", "services", "", "default", "web")),
    ("object.delete", {"resource": "storageclasses", "namespace": "", "name": "fast"},
     ("delete", "storageclasses", "storage.k8s.io", None, "fast")),
    ("apply", {"yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"},
     ("create", "deployments", "apps", "default", "api")),
    ("apply", {"yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: note, namespace: shop}\n---\n"
                       "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"},
     ("create", "configmaps", "", "shop", "note")),
    ("apply", {"yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
     ("create", "namespaces", "", None, "shop")),
    ("apply", {"yaml": ": not yaml ["}, ("create", "", "", None, None)),
    ("sim.speed", {"speed": 4}, ("control", "simulation", "kubedrill.io", None, None)),
    ("drill.start", {"id": "node-failure"}, ("control", "simulation", "kubedrill.io", None, None)),
    ("drill.list", {}, ("list", "drills", "kubedrill.io", None, None)),
    ("drill.status", {}, ("get", "simulation", "kubedrill.io", None, None)),
])
def test_each_dashboard_action_is_the_kubernetes_verb_it_amounts_to(action, args, expected):
    assert action_verb(action, args) == expected


def test_every_socket_action_has_been_given_its_verb():
    """A new cluster action must be mapped on purpose: unmapped ones fall back to "control"."""
    for action in SOCKET_ACTIONS:
        verb = action_verb(action, {})[0]
        if action in ("drill.list", "drill.status"):
            assert verb in ("get", "list"), action
        elif action.startswith(("sim.", "drill.")):
            assert verb == "control", action
        else:
            assert verb not in ("control", "get", "list", "watch"), action


def test_an_unknown_action_is_refused_to_all_but_owner_and_instructor():
    assert action_verb("cluster.explode", {})[0] == "control"
    authorize_action(ALICE, "alice-1a2b", "cluster.explode", {})
    with pytest.raises(Forbidden):
        authorize_action(VIEWER, "alice-1a2b", "cluster.explode", {})


def test_a_student_may_watch_the_demo_cluster_but_not_change_it():
    authorize_action(ALICE, "demo", "drill.status", {})
    authorize_action(ALICE, "demo", "drill.list", {})
    with pytest.raises(Forbidden) as info:
        authorize_action(ALICE, "demo", "workload.scale", {**DEPLOY, "replicas": 0})
    assert info.value.message == ('deployments.apps "web" is forbidden: User "alice" cannot update resource '
                                  '"deployments/scale" in API group "apps" in the namespace "default"')
    with pytest.raises(Forbidden) as info:
        authorize_action(ALICE, "demo", "sim.reset", {})
    assert info.value.message.startswith('simulation.kubedrill.io "demo" is forbidden: User "alice" cannot control')


def test_a_refused_apply_names_the_manifests_first_object():
    with pytest.raises(Forbidden) as info:
        authorize_action(VIEWER, "demo", "apply", {"yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\n"})
    assert info.value.message == ('configmaps "n" is forbidden: User "viewer" cannot create resource "configmaps" '
                                  'in API group "" in the namespace "default"')
    with pytest.raises(Forbidden) as info:
        authorize_action(VIEWER, "demo", "apply", {"yaml": "{{{"})
    assert info.value.message == 'forbidden: User "viewer" cannot create resources'


def test_the_owner_may_do_every_action_on_their_own_cluster_even_before_its_arguments_are_checked():
    for action in SOCKET_ACTIONS:
        authorize_action(ALICE, "alice-1a2b", action, {})


@pytest.mark.parametrize("p, verb, cluster, sentence", [
    (VIEWER, "delete", "demo", "This is a read-only view."),
    (ALICE, "control", "demo", "The demo cluster is the instructor's: you can watch it, not change it."),
    (ALICE, "get", "bob-3c4d", "This cluster belongs to another student: you can only use your own."),
    (ALICE, "control", "alice-1a2b", ""),
    (INSTRUCTOR, "control", "bob-3c4d", ""),
])
def test_a_disabled_control_says_why(p, verb, cluster, sentence):
    assert why_not(p, verb, cluster) == sentence


def test_kubectl_over_plain_http_sends_the_token_as_basic_auth(store):
    """kubectl sends a kubeconfig's server-URL userinfo, never its token, to an http:// server."""
    import base64

    cred = store.add_session("student", "alice", "alice-1a2b")
    basic = base64.b64encode(f"kubedrill-alice-1a2b:{cred}".encode()).decode()
    assert principal_from_environ({"HTTP_AUTHORIZATION": f"Basic {basic}"}, store) == Principal(
        "student", "alice", "alice-1a2b")
    forged = base64.b64encode(f"x:{store.info.id}.forged".encode()).decode()
    assert principal_from_environ({"HTTP_AUTHORIZATION": f"Basic {forged}"}, store).refused == UNKNOWN
