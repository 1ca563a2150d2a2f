"""Schema checks: real manifests pass, wrong types and unknown fields are reported Kubernetes-style."""
from __future__ import annotations

import pathlib

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.apiserver import schema

MANIFESTS = pathlib.Path(__file__).parent / "manifests"


def manifest_docs() -> list[dict]:
    docs = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


@pytest.mark.parametrize("doc", manifest_docs(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_real_manifests_have_no_schema_errors_even_strict(doc):
    assert schema.schema_causes(doc["apiVersion"], doc["kind"], doc, strict=True) == []
    # The slow reference validator agrees.
    validator = Draft202012Validator(schema.schema_document(doc["apiVersion"], doc["kind"]))
    assert list(validator.iter_errors(doc)) == []


def deployment(**spec_overrides) -> dict:
    spec = {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                  "ports": [{"containerPort": 80}]}]}}}
    spec.update(spec_overrides)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


def test_wrong_type_gives_apiserver_wording():
    causes = schema.schema_causes("apps/v1", "Deployment", deployment(replicas="three"))
    assert [(c.field, c.reason, c.message) for c in causes] == [(
        "spec.replicas", "FieldValueInvalid",
        'Invalid value: "string": spec.replicas in body must be of type integer: "string"')]


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("image", 5),
     "spec.template.spec.containers[0].image"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].__setitem__("containerPort", "80"),
     "spec.template.spec.containers[0].ports[0].containerPort"),
    (lambda d: d["spec"]["template"]["spec"].__setitem__("containers", {"name": "x"}),
     "spec.template.spec.containers"),
    (lambda d: d["metadata"].__setitem__("labels", {"app": 3}), "metadata.labels[app]"),
    (lambda d: d["spec"].__setitem__("paused", "yes"), "spec.paused"),
])
def test_type_errors_name_the_kubernetes_field_path(mutate, field):
    doc = deployment()
    mutate(doc)
    assert [c.field for c in schema.schema_causes("apps/v1", "Deployment", doc)] == [field]


@pytest.mark.parametrize("value", ["25%", 1, 0])
def test_int_or_string_accepts_both(value):
    doc = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": value}})
    assert schema.schema_causes("apps/v1", "Deployment", doc, strict=True) == []


@pytest.mark.parametrize("value", ["100m", "1Gi", 1, 0.5])
def test_quantities_accept_strings_and_numbers(value):
    doc = deployment()
    doc["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": value}}
    assert schema.schema_causes("apps/v1", "Deployment", doc, strict=True) == []


def test_int_or_string_rejects_other_types():
    doc = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": True}})
    (cause,) = schema.schema_causes("apps/v1", "Deployment", doc)
    assert cause.field == "spec.strategy.rollingUpdate.maxSurge"
    assert "must be of type integer,string" in cause.message


def test_unknown_fields_only_reported_in_strict_mode():
    doc = deployment(replicass=2)
    doc["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    assert schema.schema_causes("apps/v1", "Deployment", doc) == []
    paths = schema.unknown_fields("apps/v1", "Deployment", doc)
    # Document order: "replicass" was added after "template".
    assert paths == ["spec.template.spec.containers[0].imagee", "spec.replicass"]
    assert schema.strict_decoding_message(paths[1:]) == 'strict decoding error: unknown field "spec.replicass"'
    assert [c.message for c in schema.schema_causes("apps/v1", "Deployment", doc, strict=True)] == [
        'unknown field "spec.template.spec.containers[0].imagee"', 'unknown field "spec.replicass"']


def test_free_form_fields_have_no_unknown_keys():
    doc = deployment()
    doc["metadata"]["annotations"] = {"anything/goes": "x"}
    doc["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert schema.unknown_fields("apps/v1", "Deployment", doc) == []


def test_required_fields_reported_on_request_outside_status():
    doc = deployment()
    del doc["spec"]["template"]["spec"]["containers"][0]["name"]
    doc["status"] = {"conditions": [{"type": "Available"}]}
    causes = schema.schema_causes("apps/v1", "Deployment", doc, required=True)
    assert [(c.field, c.message) for c in causes] == [
        ("spec.template.spec.containers[0].name", "Required value")]


def test_unknown_kind_has_no_schema():
    assert schema.schema_causes("example.com/v1", "Widget", {"spec": 1}) == []
    assert schema.definition_for("example.com/v1", "Widget") is None


def test_definitions_and_lookup_by_gvk():
    assert "io.k8s.api.core.v1.Pod" in schema.definitions()
    assert schema.definition_name("apps/v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert schema.definition_name("v1", "Event") == "io.k8s.api.core.v1.Event"
    assert schema.definition_for("policy/v1", "PodDisruptionBudget")["x-kubernetes-group-version-kind"][0][
        "kind"] == "PodDisruptionBudget"


@pytest.mark.parametrize("path, expected", [
    (("spec", "template", "spec", "containers"), ("merge", "name")),
    (("spec", "template", "spec", "containers", 0, "ports"), ("merge", "containerPort")),
    (("spec", "template", "spec", "containers", 0, "env"), ("merge", "name")),
    (("spec", "template", "spec", "volumes"), ("merge,retainKeys", "name")),
    (("spec", "strategy"), ("retainKeys", None)),
    (("metadata", "ownerReferences"), ("merge", "uid")),
    (("metadata", "finalizers"), ("merge", None)),
    (("spec", "template", "spec", "tolerations"), (None, None)),
    (("spec", "nosuchfield", "x"), (None, None)),
])
def test_list_merge_key_resolves_patch_metadata(path, expected):
    assert schema.list_merge_key("apps/v1", "Deployment", path) == expected


def test_patch_strategy_by_definition_and_descend():
    assert schema.patch_strategy("io.k8s.api.core.v1.PodSpec", "containers") == ("merge", "name")
    container = schema.child_schema("io.k8s.api.core.v1.PodSpec", "containers")
    assert schema.patch_strategy(container, "volumeMounts") == ("merge", "mountPath")
    assert schema.patch_strategy({"$ref": "#/$defs/io.k8s.api.core.v1.NodeSpec"}, "taints") == (None, None)


def test_pod_schema_check_is_repeatable():
    # Speed is measured by bench/validation_bench.py, not asserted here (no wall-clock thresholds in tests).
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default",
                                                           "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}],
                    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                     "effect": "NoExecute", "tolerationSeconds": 300}]},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    first = schema.schema_causes("v1", "Pod", pod, strict=True)
    assert schema.schema_causes("v1", "Pod", pod, strict=True) == first == []
