"""API server: validation errors, defaulting, metadata, graceful deletion, garbage collection."""
from __future__ import annotations

import re

import pytest

from engine.apiserver.server import APIServer
from engine.errors import AlreadyExists, BadRequest, Conflict, Invalid, NotFound, StatusError
from engine.objects import clone

DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
}


def pod(name: str = "p", **meta) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **meta},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def unchanged(api: APIServer, fn, *args, **kwargs) -> StatusError:
    """Run a call that must fail; assert the store did not move, return the error."""
    before = api.store.revision
    count = api.store.count()
    with pytest.raises(StatusError) as info:
        fn(*args, **kwargs)
    assert api.store.revision == before
    assert api.store.count() == count
    return info.value


# ---------------------------------------------------------------- bad input
def test_invalid_yaml_is_bad_request_with_position(api):
    err = unchanged(api, api.apply_manifest, "kind: Pod\nmetadata: {name: [oops\n")
    assert isinstance(err, BadRequest)
    assert err.code == 400
    assert "line" in err.message


def test_unknown_kind_and_api_version(api):
    err = unchanged(api, api.create, {"apiVersion": "v1", "kind": "Frobnicator", "metadata": {"name": "x"}})
    assert isinstance(err, BadRequest)
    assert err.message == 'no matches for kind "Frobnicator" in version "v1"'
    err = unchanged(api, api.create, dict(DEPLOY, apiVersion="apps/v2"))
    assert 'no matches for kind "Deployment" in version "apps/v2"' == err.message


def test_missing_kind_is_bad_request(api):
    err = unchanged(api, api.create, {"apiVersion": "v1", "metadata": {"name": "x"}})
    assert isinstance(err, BadRequest)
    assert "Kind" in err.message


@pytest.mark.parametrize("name", ["Web", "web_1", "-web", "a" * 254, "web..x", "we b"])
def test_bad_names_are_invalid_at_metadata_name(api, name):
    err = unchanged(api, api.create, pod(name))
    assert isinstance(err, Invalid)
    assert err.code == 422
    assert [c.field for c in err.causes] == ["metadata.name"]
    assert err.message.startswith(f'Pod "{name}" is invalid: ')


def test_missing_name_is_required(api):
    err = unchanged(api, api.create, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert isinstance(err, Invalid)
    assert err.causes[0].field == "metadata.name"
    assert err.causes[0].reason == "FieldValueRequired"


def test_wrong_type_is_invalid_at_the_field(api):
    bad = {**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": "three"}}
    err = unchanged(api, api.create, bad)
    assert isinstance(err, Invalid)
    assert err.causes[0].field == "spec.replicas"
    assert "integer" in err.causes[0].message


def test_negative_replicas_real_message(api):
    bad = {**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": -1}}
    err = unchanged(api, api.create, bad)
    assert err.to_status()["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0",
         "field": "spec.replicas"}]
    assert err.message == 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'


def test_create_existing_is_already_exists(api):
    api.create(DEPLOY)
    err = unchanged(api, api.create, DEPLOY)
    assert isinstance(err, AlreadyExists)
    assert err.message == 'deployments.apps "web" already exists'
    assert err.to_status()["code"] == 409


def test_stale_resource_version_is_conflict(api):
    created = api.create(DEPLOY)
    stale = dict(created, metadata=dict(created["metadata"]))
    fresh = dict(created, metadata=dict(created["metadata"]), spec=dict(created["spec"], replicas=4))
    api.update(fresh)
    stale["spec"] = dict(created["spec"], replicas=5)
    err = unchanged(api, api.update, stale)
    assert isinstance(err, Conflict)
    assert err.message.startswith('Operation cannot be fulfilled on deployments.apps "web": the object has been modified')
    assert api.get("deployments", "default", "web")["spec"]["replicas"] == 4


def test_immutable_selector_change_is_invalid(api):
    created = api.create(DEPLOY)
    changed = dict(created, spec=dict(created["spec"], selector={"matchLabels": {"app": "other"}},
                                      template={"metadata": {"labels": {"app": "other"}},
                                                "spec": created["spec"]["template"]["spec"]}))
    err = unchanged(api, api.update, changed)
    assert isinstance(err, Invalid)
    assert "spec.selector" in [c.field for c in err.causes]
    assert any("immutable" in c.message for c in err.causes)


def test_get_missing_is_not_found_with_real_message(api):
    with pytest.raises(NotFound) as info:
        api.get("deployments", "default", "nope")
    assert info.value.message == 'deployments.apps "nope" not found'
    with pytest.raises(NotFound) as info:
        api.get("pods", "default", "web-0")
    assert info.value.message == 'pods "web-0" not found'


def test_multi_document_manifest_is_all_or_nothing(api):
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: good}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: -2
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: c, image: nginx}]}
"""
    err = unchanged(api, api.apply_manifest, text)
    assert isinstance(err, Invalid)
    assert "document 2" in err.message
    assert api.store.find("configmaps", "default", "good") is None


def test_namespace_must_exist(api):
    err = unchanged(api, api.create, pod("p", namespace="nowhere"))
    assert isinstance(err, NotFound)
    assert err.message == 'namespaces "nowhere" not found'


# ---------------------------------------------------------------- defaulting and metadata
def test_system_namespaces_exist(api):
    names = {ns["metadata"]["name"] for ns in api.store.list("namespaces")}
    assert {"default", "kube-system", "kube-node-lease", "kube-public"} <= names


def test_deployment_defaults_are_the_real_ones(api):
    d = api.create({**DEPLOY, "spec": {k: v for k, v in DEPLOY["spec"].items() if k != "replicas"}})
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always"
    assert pod_spec["terminationGracePeriodSeconds"] == 30
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    assert pod_spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_metadata_managed_by_the_server(api):
    d = api.create(DEPLOY)
    meta = d["metadata"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", meta["uid"])
    assert meta["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) == api.store.revision
    bumped = api.update(dict(d, spec=dict(d["spec"], replicas=5)))
    assert bumped["metadata"]["generation"] == 2
    relabeled = api.patch("deployments", "default", "web", {"metadata": {"labels": {"x": "y"}}}, "merge")
    assert relabeled["metadata"]["generation"] == 2  # metadata-only change keeps the generation


def test_generate_name_uses_kubernetes_suffix(api):
    made = api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "web-"}})
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", made["metadata"]["name"])
    long = api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x" * 70}})
    assert len(long["metadata"]["name"]) == 63


def test_unknown_but_valid_fields_are_kept(api):
    obj = {**DEPLOY, "metadata": {"name": "keep", "annotations": {"a": "b"}},
           "spec": {**DEPLOY["spec"], "template": {
               "metadata": {"labels": {"app": "web"}},
               "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                        "securityContext": {"allowPrivilegeEscalation": False},
                                        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}}}]}}}}
    made = api.create(obj)
    c = made["spec"]["template"]["spec"]["containers"][0]
    assert c["securityContext"] == {"allowPrivilegeEscalation": False}
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]


def test_pods_get_default_tolerations(api):
    made = api.create(pod("tol"))
    tols = {(t["key"], t["tolerationSeconds"]) for t in made["spec"]["tolerations"]}
    assert tols == {("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 300)}


def test_noop_update_keeps_resource_version(api):
    d = api.create(DEPLOY)
    again = api.update(d)
    assert again["metadata"]["resourceVersion"] == d["metadata"]["resourceVersion"]


# ---------------------------------------------------------------- deletion
def test_pod_on_a_node_is_deleted_gracefully(api, clock):
    p = api.create(pod("g"))
    api.bind("default", "g", "node-1")
    clock.run_until(5)
    gone = api.delete("pods", "default", "g")
    assert gone["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:35Z"
    assert gone["metadata"]["deletionGracePeriodSeconds"] == 30
    assert api.store.find("pods", "default", "g") is not None
    api.delete("pods", "default", "g", grace_period=0)
    assert api.store.find("pods", "default", "g") is None
    assert p["metadata"]["uid"]


def test_unscheduled_pod_is_deleted_at_once(api):
    api.create(pod("u"))
    api.delete("pods", "default", "u")
    assert api.store.find("pods", "default", "u") is None


def test_finalizers_hold_the_object_until_removed(api):
    api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f", "finalizers": ["example.com/x"]}})
    held = api.delete("configmaps", "default", "f")
    assert held["metadata"]["deletionTimestamp"]
    api.patch("configmaps", "default", "f", {"metadata": {"finalizers": None}}, "merge")
    assert api.store.find("configmaps", "default", "f") is None


def test_system_namespace_cannot_be_deleted(api):
    err = unchanged(api, api.delete, "namespaces", None, "default")
    assert err.code == 403


# ---------------------------------------------------------------- garbage collection
def _owned(cluster, owner: dict, name: str) -> dict:
    m = owner["metadata"]
    return cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                           "name": m["name"], "uid": m["uid"], "controller": True,
                                           "blockOwnerDeletion": True}]}})


def test_background_deletion_removes_dependents(cluster):
    owner = cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
    _owned(cluster, owner, "dep")
    cluster.api.delete("configmaps", "default", "owner", propagation="Background")
    assert cluster.store.find("configmaps", "default", "owner") is None
    cluster.run_for(1)
    assert cluster.store.find("configmaps", "default", "dep") is None


def test_orphan_deletion_keeps_dependents_without_owner(cluster):
    owner = cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
    _owned(cluster, owner, "dep")
    cluster.api.delete("configmaps", "default", "owner", propagation="Orphan")
    cluster.run_for(1)
    assert cluster.store.find("configmaps", "default", "owner") is None
    dep = cluster.store.find("configmaps", "default", "dep")
    assert dep is not None and not dep["metadata"].get("ownerReferences")


def test_foreground_deletion_waits_for_dependents(cluster):
    owner = cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
    _owned(cluster, owner, "dep")
    held = cluster.api.delete("configmaps", "default", "owner", propagation="Foreground")
    assert "foregroundDeletion" in held["metadata"]["finalizers"]
    cluster.run_for(1)
    assert cluster.store.find("configmaps", "default", "dep") is None
    assert cluster.store.find("configmaps", "default", "owner") is None


def test_dependent_of_a_missing_owner_is_collected(cluster):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost", "uid": "0000"}}
    cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "dangling", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost",
                                                 "uid": ghost["metadata"]["uid"]}]}})
    cluster.run_for(1)
    assert cluster.store.find("configmaps", "default", "dangling") is None


def test_an_owner_recreated_under_the_same_name_does_not_adopt_the_old_dependents(cluster):
    """The collector compares uids, as upstream's isDangling does: a new ``owner`` is another object."""
    owner = cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
    _owned(cluster, owner, "dep")
    cluster.api.delete("configmaps", "default", "owner", propagation="Orphan")
    cluster.run_for(1)
    cluster.api.delete("configmaps", "default", "dep")
    old = _owned(cluster, owner, "dep")  # still names the first owner's uid
    cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
    cluster.run_for(1)
    assert cluster.store.find("configmaps", "default", "dep") is None, old["metadata"]["ownerReferences"]
    assert cluster.store.find("configmaps", "default", "owner") is not None


def test_client_writes_record_their_field_manager_and_a_no_op_patch_changes_nothing(api):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"a": "1"}}
    created = api.create(cm, "default", field_manager="kubectl-create")
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("kubectl-create", "Update")
    assert entry["fieldsV1"]["f:data"] == {".": {}, "f:a": {}}
    same = api.patch("configmaps", "default", "owned", {"data": {"a": "1"}}, "merge", field_manager="kubectl-patch")
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    changed = api.patch("configmaps", "default", "owned", {"data": {"b": "2"}}, "merge", field_manager="kubectl-patch")
    owners = {m["manager"]: m["fieldsV1"]["f:data"] for m in changed["metadata"]["managedFields"]}
    assert owners == {"kubectl-create": {".": {}, "f:a": {}}, "kubectl-patch": {"f:b": {}}}
    # A PUT cannot rewrite who owns what: the server keeps its record.
    body = clone(changed)
    body["metadata"]["managedFields"] = []
    body["data"]["a"] = "3"
    put = api.update(body)
    assert {m["manager"] for m in put["metadata"]["managedFields"]} == {"kubectl-create", "kubectl-patch"}


def test_a_client_status_write_with_a_negative_counter_is_invalid_and_changes_nothing(api):
    created = api.create(dict(DEPLOY), "default")
    bad = clone(created)
    bad["status"] = {"replicas": -1}
    err = unchanged(api, api.update, bad, subresource="status")
    assert err.code == 422 and err.reason == "Invalid"
    assert [c["field"] for c in err.to_status()["details"]["causes"]] == ["status.replicas"]
