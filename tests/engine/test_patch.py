"""The PATCH family: the exact bodies kubectl 1.32 sends (KUBERNETES.md 11.11-11.13) and the apiserver's answers."""
from __future__ import annotations

import copy
import json

import pytest

from engine.apiserver.fieldmanager import record_update_manager, server_side_apply
from engine.apiserver.patch import json_patch, merge_patch, strategic_merge_patch, supports_strategic
from engine.errors import BadRequest, Conflict, Invalid

T0 = "2025-03-01T10:00:00Z"
T1 = "2025-03-01T10:05:00Z"
T2 = "2025-03-01T10:10:00Z"


def deployment(image: str = "nginx:1.27", replicas: int = 3) -> dict:
    """A Deployment as the API server stores it after `kubectl apply` (defaults filled in)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "d-1", "resourceVersion": "7", "generation": 1,
                     "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": image, "imagePullPolicy": "IfNotPresent",
                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "env": [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "0"}]},
                        {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "infinity"]},
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                    "restartPolicy": "Always",
                },
            },
        },
    }


def node() -> dict:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "uid": "n-1", "labels": {"kubernetes.io/hostname": "node-1"},
                     "finalizers": ["a.example/x", "b.example/y"]},
        "spec": {"podCIDR": "10.244.1.0/24", "taints": [{"key": "old", "value": "1", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}]},
    }


def container(obj: dict, name: str) -> dict:
    return next(c for c in obj["spec"]["template"]["spec"]["containers"] if c["name"] == name)


# ---------------------------------------------------------------------------------------------------------------
# Strategic merge patch: the kubectl flows
# ---------------------------------------------------------------------------------------------------------------

def test_client_side_apply_update_changes_image_and_replicas_keeping_everything_else():
    live = deployment()
    last_applied = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment"})
    body = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
            "spec": {"replicas": 4, "template": {"spec": {
                "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                "containers": [{"image": "nginx:1.28", "name": "nginx"}]}}}}

    out = strategic_merge_patch(live, body, "apps/v1", "Deployment")

    assert out["spec"]["replicas"] == 4
    assert container(out, "nginx")["image"] == "nginx:1.28"
    # the merge by name keeps the fields the patch does not mention (ports, env, pull policy)
    assert container(out, "nginx")["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container(out, "nginx")["imagePullPolicy"] == "IfNotPresent"
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["nginx", "sidecar"]
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                              "kubectl.kubernetes.io/last-applied-configuration": last_applied}
    assert not any(k.startswith("$") for k in json.dumps(out).split('"'))


def test_set_element_order_reorders_containers():
    body = {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}]}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["sidecar", "nginx"]
    assert container(out, "sidecar")["command"] == ["sleep", "infinity"]


@pytest.mark.parametrize("body, expected", [
    ({"spec": {"unschedulable": True}}, True),    # kubectl cordon node-1 (and the first step of drain)
    ({"spec": {"unschedulable": None}}, None),    # kubectl uncordon node-1
])
def test_cordon_and_uncordon(body, expected):
    live = node()
    live["spec"]["unschedulable"] = True if expected is None else False
    out = strategic_merge_patch(live, body, "v1", "Node")
    assert out["spec"].get("unschedulable") is expected
    if expected is None:
        assert "unschedulable" not in out["spec"]
    assert out["spec"]["taints"] == live["spec"]["taints"]
    assert out["spec"]["podCIDR"] == "10.244.1.0/24"


def test_uncordon_of_a_schedulable_node_is_a_no_op():
    live = node()
    assert strategic_merge_patch(live, {"spec": {"unschedulable": None}}, "v1", "Node") == live


def test_set_image_touches_only_the_named_container():
    body = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
        "containers": [{"image": "nginx:1.28", "name": "nginx"}]}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert container(out, "nginx")["image"] == "nginx:1.28"
    assert container(out, "sidecar")["image"] == "busybox:1.36"


def test_rollout_restart_adds_template_annotation():
    body = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": T1}}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": T1}}


@pytest.mark.parametrize("taints", [
    [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, {"key": "old", "value": "1", "effect": "NoSchedule"}],
    [{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}],
    [],
])
def test_taint_sends_the_full_list_which_replaces(taints):
    out = strategic_merge_patch(node(), {"spec": {"taints": taints}}, "v1", "Node")
    assert out["spec"]["taints"] == taints


def test_tolerations_have_no_merge_key_and_replace_atomically():
    live = deployment()
    live["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    body = {"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}}
    out = strategic_merge_patch(live, body, "apps/v1", "Deployment")
    assert out["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_kubectl_patch_adding_a_container_puts_it_first():
    """As in the Kubernetes docs' "patch-demo": the new container is listed before the existing ones."""
    body = {"spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis"}]}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["redis", "nginx", "sidecar"]


# ---------------------------------------------------------------------------------------------------------------
# Strategic merge patch: directives and list semantics
# ---------------------------------------------------------------------------------------------------------------

def env_patch(env: list) -> dict:
    return {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": env}]}}}}


@pytest.mark.parametrize("env, expected", [
    ([{"name": "DEBUG", "$patch": "delete"}], [{"name": "MODE", "value": "prod"}]),
    ([{"name": "DEBUG", "value": "1"}], [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "1"}]),
    ([{"name": "NEW", "value": "x"}],
     [{"name": "NEW", "value": "x"}, {"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "0"}]),
    ([{"name": "ONLY", "value": "y"}, {"$patch": "replace"}], [{"name": "ONLY", "value": "y"}]),
    ([{"name": "MODE", "value": None}], [{"name": "MODE"}, {"name": "DEBUG", "value": "0"}]),
])
def test_env_merges_by_name(env, expected):
    out = strategic_merge_patch(deployment(), env_patch(env), "apps/v1", "Deployment")
    assert container(out, "nginx")["env"] == expected


@pytest.mark.parametrize("ports, expected", [
    ([{"containerPort": 80, "name": "http"}], [{"containerPort": 80, "protocol": "TCP", "name": "http"}]),
    ([{"containerPort": 443, "protocol": "TCP"}],
     [{"containerPort": 443, "protocol": "TCP"}, {"containerPort": 80, "protocol": "TCP"}]),
    ([{"containerPort": 80, "$patch": "delete"}], []),
])
def test_ports_merge_by_container_port(ports, expected):
    body = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "ports": ports}]}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert container(out, "nginx")["ports"] == expected


def test_volume_mounts_merge_by_mount_path():
    live = deployment()
    container(live, "nginx")["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
    body = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "volumeMounts": [
        {"mountPath": "/cache", "readOnly": True}, {"name": "cfg", "mountPath": "/etc/cfg"}]}]}}}}
    out = strategic_merge_patch(live, body, "apps/v1", "Deployment")
    assert container(out, "nginx")["volumeMounts"] == [
        {"name": "cache", "mountPath": "/cache", "readOnly": True}, {"name": "cfg", "mountPath": "/etc/cfg"}]


def test_retain_keys_switches_strategy_to_recreate():
    """`kubectl apply` of `strategy: {type: Recreate}` sends $retainKeys so rollingUpdate goes away."""
    body = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_list_every_patched_field():
    body = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1}}}}
    with pytest.raises(BadRequest, match="invalid patch format of retainKeys"):
        strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")


def test_volumes_merge_by_name_and_replace_with_retain_keys():
    body = {"spec": {"template": {"spec": {"volumes": [
        {"name": "cache", "$retainKeys": ["name", "configMap"], "configMap": {"name": "cfg"}}]}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert out["spec"]["template"]["spec"]["volumes"] == [{"name": "cache", "configMap": {"name": "cfg"}}]


@pytest.mark.parametrize("body, expected", [
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example/x"]}}, ["b.example/y"]),
    ({"metadata": {"finalizers": ["b.example/y", "c.example/z"]}}, ["a.example/x", "b.example/y", "c.example/z"]),
    ({"metadata": {"finalizers": ["c.example/z"]}}, ["c.example/z", "a.example/x", "b.example/y"]),
    ({"metadata": {"$setElementOrder/finalizers": ["b.example/y", "a.example/x"]}}, ["b.example/y", "a.example/x"]),
    ({"metadata": {"finalizers": None}}, None),
])
def test_finalizers_are_a_merging_primitive_list(body, expected):
    out = strategic_merge_patch(node(), body, "v1", "Node")
    assert out["metadata"].get("finalizers") == expected


def test_owner_references_merge_by_uid_and_conditions_by_type():
    live = node()
    live["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "X", "name": "a", "uid": "u-1"}]
    body = {"metadata": {"ownerReferences": [{"uid": "u-1", "controller": True},
                                             {"apiVersion": "v1", "kind": "Y", "name": "b", "uid": "u-2"}]},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}}
    out = strategic_merge_patch(live, body, "v1", "Node")
    assert out["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "X", "name": "a", "uid": "u-1", "controller": True},
        {"apiVersion": "v1", "kind": "Y", "name": "b", "uid": "u-2"}]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
                                           {"type": "MemoryPressure", "status": "False"}]


@pytest.mark.parametrize("body, expected", [
    ({"spec": {"template": {"spec": {"nodeSelector": {"$patch": "replace", "disk": "ssd"}}}}}, {"disk": "ssd"}),
    ({"spec": {"template": {"spec": {"nodeSelector": {"zone": None, "disk": "ssd"}}}}}, {"arch": "amd64", "disk": "ssd"}),
    ({"spec": {"template": {"spec": {"nodeSelector": {"$patch": "delete"}}}}}, {}),
    ({"spec": {"template": {"spec": {"nodeSelector": None}}}}, None),
])
def test_map_directives(body, expected):
    live = deployment()
    live["spec"]["template"]["spec"]["nodeSelector"] = {"arch": "amd64", "zone": "a"}
    out = strategic_merge_patch(live, body, "apps/v1", "Deployment")
    assert out["spec"]["template"]["spec"].get("nodeSelector") == expected


def test_null_deletes_and_new_subtrees_are_cleaned_of_directives():
    body = {"metadata": {"labels": {"app": None, "tier": "frontend"}},
            "spec": {"template": {"spec": {"affinity": {"nodeAffinity": {"x": None, "preferred": "y"}},
                                           "initContainers": [{"name": "init", "image": "busybox"}]}}}}
    out = strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")
    assert out["metadata"]["labels"] == {"tier": "frontend"}
    assert out["spec"]["template"]["spec"]["affinity"] == {"nodeAffinity": {"preferred": "y"}}
    assert out["spec"]["template"]["spec"]["initContainers"] == [{"name": "init", "image": "busybox"}]


def test_selector_has_replace_strategy_for_pdb():
    live = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web", "tier": "x"}}}}
    body = {"spec": {"selector": {"matchLabels": {"app": "api"}}}}
    out = strategic_merge_patch(live, body, "policy/v1", "PodDisruptionBudget")
    assert out["spec"]["selector"] == {"matchLabels": {"app": "api"}}


def test_unknown_kinds_fall_back_to_merge_patch_semantics():
    live = {"apiVersion": "chaos.kubedrill.io/v1", "kind": "PodChaos", "metadata": {"name": "c"},
            "spec": {"targets": [{"name": "a"}, {"name": "b"}], "mode": "one"}}
    out = strategic_merge_patch(live, {"spec": {"targets": [{"name": "c"}], "mode": None}},
                                "chaos.kubedrill.io/v1", "PodChaos")
    assert out["spec"] == {"targets": [{"name": "c"}]}
    assert not supports_strategic("chaos.kubedrill.io/v1", "PodChaos")
    assert supports_strategic("apps/v1", "Deployment") and supports_strategic("v1", "Node")
    assert not supports_strategic("v1", "Deployment")


@pytest.mark.parametrize("body, error, message", [
    (env_patch([{"value": "no-name"}]), Invalid, "does not contain declared merge key: name"),
    (env_patch([{"name": "X", "$patch": "explode"}]), BadRequest, "unknown patch type: explode"),
    ({"spec": {"template": {"spec": {"$setElementOrder/containers": "nginx"}}}}, BadRequest,
     "invalid patch format of setElementOrder list"),
    ({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}],
                                     "containers": [{"name": "nginx", "image": "x"}]}}}}, BadRequest,
     "doesn't match \\$setElementOrder list"),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}, BadRequest, "invalid patch format of primitive list"),
    (["not", "a", "map"], BadRequest, "cannot unmarshal array"),
])
def test_strategic_merge_patch_errors(body, error, message):
    with pytest.raises(error, match=message):
        strategic_merge_patch(deployment(), body, "apps/v1", "Deployment")


def test_strategic_merge_patch_never_mutates_its_inputs():
    live, body = deployment(), env_patch([{"name": "DEBUG", "$patch": "delete"}, {"name": "N", "value": "1"}])
    body["spec"]["template"]["spec"]["$setElementOrder/containers"] = [{"name": "nginx"}, {"name": "sidecar"}]
    live_copy, body_copy = copy.deepcopy(live), copy.deepcopy(body)
    out = strategic_merge_patch(live, body, "apps/v1", "Deployment")
    assert live == live_copy and body == body_copy
    out["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    assert live == live_copy


# ---------------------------------------------------------------------------------------------------------------
# JSON patch (rollout undo) and merge patch (label, annotate, scale)
# ---------------------------------------------------------------------------------------------------------------

def test_rollout_undo_json_patch_replaces_template_and_annotations():
    live = deployment(image="nginx:1.28")
    old_template = deployment(image="nginx:1.27")["spec"]["template"]
    ops = [{"op": "replace", "path": "/spec/template", "value": old_template},
           {"op": "replace", "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "1"}}]
    out = json_patch(live, ops)
    assert container(out, "nginx")["image"] == "nginx:1.27"
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert container(live, "nginx")["image"] == "nginx:1.28"


@pytest.mark.parametrize("ops, check", [
    ([{"op": "add", "path": "/metadata/labels/tier", "value": "web"}], lambda o: o["metadata"]["labels"]["tier"] == "web"),
    ([{"op": "remove", "path": "/spec/strategy/rollingUpdate"}], lambda o: "rollingUpdate" not in o["spec"]["strategy"]),
    ([{"op": "test", "path": "/spec/replicas", "value": 3}, {"op": "replace", "path": "/spec/replicas", "value": 5}],
     lambda o: o["spec"]["replicas"] == 5),
    ([{"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "x", "image": "x"}}],
     lambda o: o["spec"]["template"]["spec"]["containers"][-1]["name"] == "x"),
    ([{"op": "copy", "from": "/metadata/labels", "path": "/spec/template/metadata/labels"}],
     lambda o: o["spec"]["template"]["metadata"]["labels"] == {"app": "web"}),
    ([{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/name"}],
     lambda o: o["metadata"]["labels"] == {"name": "web"}),
])
def test_json_patch_operations(ops, check):
    assert check(json_patch(deployment(), ops))


@pytest.mark.parametrize("ops, error, message", [
    ([{"op": "replace", "path": "/spec/foo", "value": 1}], Invalid,
     "replace operation does not apply: doc is missing key: /spec/foo"),
    ([{"op": "test", "path": "/spec/replicas", "value": 9}], Invalid, "testing value /spec/replicas failed"),
    ([{"op": "remove", "path": "/spec/nope/deeper"}], Invalid,
     'remove operation does not apply: doc is missing path: "/spec/nope/deeper"'),
    ([{"op": "add", "path": "/spec/nope/deeper", "value": 1}], Invalid,
     'add operation does not apply: doc is missing path: "/spec/nope/deeper"'),
    ([{"op": "explode", "path": "/spec"}], BadRequest, "Unexpected kind: explode"),
    ([{"op": "add", "value": 1}], BadRequest, "add operation failed to decode path"),
    ({"op": "add"}, BadRequest, "cannot unmarshal object"),
])
def test_json_patch_errors(ops, error, message):
    live = deployment()
    with pytest.raises(error, match=message) as info:
        json_patch(live, ops)
    assert info.value.code == (422 if error is Invalid else 400)
    assert live == deployment()


def test_failed_json_patch_leaves_no_partial_result():
    live = deployment()
    with pytest.raises(Invalid):
        json_patch(live, [{"op": "replace", "path": "/spec/replicas", "value": 1},
                          {"op": "test", "path": "/spec/replicas", "value": 3}])
    assert live["spec"]["replicas"] == 3


@pytest.mark.parametrize("target, patch, expected", [  # RFC 7386 appendix A
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_rfc7386(target, patch, expected):
    before = copy.deepcopy(target)
    assert merge_patch(target, patch) == expected
    assert target == before


def test_kubectl_label_and_scale_merge_patches():
    live = deployment()
    labelled = merge_patch(live, {"metadata": {"labels": {"tier": "frontend", "app": None}}})
    assert labelled["metadata"]["labels"] == {"tier": "frontend"}
    scaled = merge_patch(live, {"spec": {"replicas": 3}})
    assert scaled == live
    # merge patch replaces lists wholesale, unlike strategic merge patch
    replaced = merge_patch(live, {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}})
    assert replaced["spec"]["template"]["spec"]["containers"] == [{"name": "only", "image": "x"}]


def test_merge_patch_rejects_a_non_object_body():
    with pytest.raises(BadRequest):
        merge_patch(deployment(), ["x"])


# ---------------------------------------------------------------------------------------------------------------
# Server-side apply and managedFields
# ---------------------------------------------------------------------------------------------------------------

def manifest(image: str = "nginx:1.27", replicas: int = 3, labels: dict | None = None) -> dict:
    """What `kubectl apply --server-side` sends: the user's manifest, as JSON."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": image,
                                                       "ports": [{"containerPort": 80}]}]}}},
    }


def entry(obj: dict, manager: str) -> dict:
    return next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_apply_creates_the_object_and_records_the_applier():
    out = server_side_apply(None, manifest(), "kubectl", "apps/v1", "Deployment", False, T0)
    assert out["spec"] == manifest()["spec"]
    assert out["metadata"]["labels"] == {"app": "web"}
    assert out["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {}, "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
                    }}},
                },
            },
        },
    }]


def test_apply_update_changes_image_and_keeps_server_fields():
    live = server_side_apply(None, manifest(), "kubectl", "apps/v1", "Deployment", False, T0)
    live["metadata"].update(uid="d-1", resourceVersion="9")
    container(live, "nginx")["imagePullPolicy"] = "IfNotPresent"   # defaulted by the server, owned by nobody
    container(live, "nginx")["ports"][0]["protocol"] = "TCP"
    live["status"] = {"replicas": 3}

    out = server_side_apply(live, manifest(image="nginx:1.28", replicas=4), "kubectl", "apps/v1", "Deployment",
                            False, T1)

    assert container(out, "nginx")["image"] == "nginx:1.28"
    assert container(out, "nginx")["imagePullPolicy"] == "IfNotPresent"
    assert container(out, "nginx")["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert out["spec"]["replicas"] == 4
    assert out["status"] == {"replicas": 3}
    assert out["metadata"]["uid"] == "d-1"
    assert len(out["metadata"]["managedFields"]) == 1 and entry(out, "kubectl")["time"] == T1


def test_apply_removes_fields_the_applier_dropped():
    first = manifest(labels={"app": "web", "tier": "frontend"})
    first["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    live = server_side_apply(None, first, "kubectl", "apps/v1", "Deployment", False, T0)

    out = server_side_apply(live, manifest(), "kubectl", "apps/v1", "Deployment", False, T1)

    assert out["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    assert "k:{\"name\":\"sidecar\"}" not in json.dumps(entry(out, "kubectl")["fieldsV1"])


def test_apply_keeps_dropped_fields_another_manager_also_owns():
    first = manifest(labels={"app": "web", "tier": "frontend"})
    live = server_side_apply(None, first, "kubectl", "apps/v1", "Deployment", False, T0)
    relabelled = copy.deepcopy(live)
    relabelled["metadata"]["labels"]["tier"] = "backend"
    live = record_update_manager(live, relabelled, "kubectl-label", now_iso=T1)

    out = server_side_apply(live, manifest(), "kubectl", "apps/v1", "Deployment", False, T2)
    assert out["metadata"]["labels"] == {"app": "web", "tier": "backend"}


def test_apply_conflicts_with_client_side_apply_owner():
    created = record_update_manager(None, manifest(), "kubectl-client-side-apply", now_iso=T0)
    with pytest.raises(Conflict) as info:
        server_side_apply(created, manifest(replicas=5), "kubectl", "apps/v1", "Deployment", False, T1)
    err = info.value
    assert str(err) == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                        "using apps/v1: .spec.replicas")
    status = err.to_status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]


def test_apply_with_equal_values_shares_ownership_without_conflict():
    created = record_update_manager(None, manifest(), "kubectl-client-side-apply", now_iso=T0)
    out = server_side_apply(created, manifest(), "kubectl", "apps/v1", "Deployment", False, T1)
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl", "kubectl-client-side-apply"]
    assert "f:replicas" in entry(out, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]


def test_apply_reports_every_conflict_grouped_by_manager():
    created = record_update_manager(None, manifest(), "kubectl-client-side-apply", now_iso=T0)
    with pytest.raises(Conflict) as info:
        server_side_apply(created, manifest(image="nginx:1.28", replicas=5), "kubectl", "apps/v1", "Deployment",
                          False, T1)
    assert str(info.value) == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image')


def test_force_conflicts_takes_ownership():
    created = record_update_manager(None, manifest(), "kubectl-client-side-apply", now_iso=T0)
    out = server_side_apply(created, manifest(replicas=5), "kubectl", "apps/v1", "Deployment", True, T1)
    assert out["spec"]["replicas"] == 5
    assert "f:replicas" not in entry(out, "kubectl-client-side-apply")["fieldsV1"]["f:spec"]
    assert "f:replicas" in entry(out, "kubectl")["fieldsV1"]["f:spec"]
    # now the applier owns replicas: a later scale by another writer and a re-apply conflict with that writer
    scaled = copy.deepcopy(out)
    scaled["spec"]["replicas"] = 2
    scaled = record_update_manager(out, scaled, "kubectl-edit", now_iso=T2)
    with pytest.raises(Conflict, match='conflict with "kubectl-edit" using apps/v1: .spec.replicas'):
        server_side_apply(scaled, manifest(replicas=5), "kubectl", "apps/v1", "Deployment", False, T2)


def test_apply_ignores_status_on_the_main_resource():
    body = manifest()
    body["status"] = {"replicas": 99}
    out = server_side_apply(None, body, "kubectl", "apps/v1", "Deployment", False, T0)
    assert "status" not in out
    assert "f:status" not in entry(out, "kubectl")["fieldsV1"]


def test_second_apply_by_kubectl_last_applied_only_owns_the_annotation():
    live = server_side_apply(None, manifest(), "kubectl", "apps/v1", "Deployment", False, T0)
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}}
    out = server_side_apply(live, body, "kubectl-last-applied", "apps/v1", "Deployment", False, T1)
    assert out["spec"] == live["spec"]
    assert entry(out, "kubectl-last-applied")["fieldsV1"] == {
        "f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}}}}


def test_record_update_manager_on_create_and_update():
    created = record_update_manager(None, manifest(), "kubectl-create", now_iso=T0)
    fields = entry(created, "kubectl-create")["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert fields["f:spec"]["f:replicas"] == {}
    assert entry(created, "kubectl-create")["operation"] == "Update"

    edited = copy.deepcopy(created)
    edited["spec"]["replicas"] = 6
    out = record_update_manager(created, edited, "kubectl-edit", now_iso=T1)
    assert entry(out, "kubectl-edit")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entry(out, "kubectl-create")["fieldsV1"]["f:spec"]
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-edit"]


def test_record_update_manager_drops_ownership_of_removed_fields_and_empty_entries():
    created = record_update_manager(None, manifest(labels={"app": "web", "tier": "x"}), "kubectl-create",
                                    now_iso=T0)
    labelled = copy.deepcopy(created)
    labelled["metadata"]["labels"]["tier"] = "y"
    labelled = record_update_manager(created, labelled, "kubectl-label", now_iso=T1)
    unlabelled = copy.deepcopy(labelled)
    del unlabelled["metadata"]["labels"]["tier"]
    out = record_update_manager(labelled, unlabelled, "kubectl-label", now_iso=T2)
    assert [e["manager"] for e in out["metadata"]["managedFields"]] == ["kubectl-create"]
    assert "f:tier" not in json.dumps(out["metadata"]["managedFields"])


def test_apply_and_record_never_mutate_inputs():
    live = record_update_manager(None, manifest(), "kubectl-client-side-apply", now_iso=T0)
    body = manifest(replicas=8)
    live_copy, body_copy = copy.deepcopy(live), copy.deepcopy(body)
    server_side_apply(live, body, "kubectl", "apps/v1", "Deployment", True, T1)
    record_update_manager(live, body, "x", now_iso=T1)
    assert live == live_copy and body == body_copy


def test_apply_to_custom_kinds_merges_maps_and_replaces_lists():
    chaos = {"apiVersion": "chaos.kubedrill.io/v1", "kind": "PodChaos",
             "metadata": {"name": "c", "namespace": "default"},
             "spec": {"action": "pod-kill", "selector": {"app": "web"}, "targets": ["a", "b"]}}
    live = server_side_apply(None, chaos, "kubectl", "chaos.kubedrill.io/v1", "PodChaos", False, T0)
    update = copy.deepcopy(chaos)
    update["spec"]["targets"] = ["c"]
    del update["spec"]["selector"]
    out = server_side_apply(live, update, "kubectl", "chaos.kubedrill.io/v1", "PodChaos", False, T1)
    assert out["spec"] == {"action": "pod-kill", "targets": ["c"]}
