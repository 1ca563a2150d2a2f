"""Label and field selectors: the ``?labelSelector`` / ``?fieldSelector`` grammar and matching."""
from __future__ import annotations

import pytest

from engine.errors import BadRequest
from engine.selectors import FieldSelector, LabelSelector

WEB = {"app": "web", "tier": "frontend", "env": "prod"}
API = {"app": "api", "tier": "backend", "env": "staging", "canary": "true"}
BARE: dict[str, str] = {}


@pytest.mark.parametrize(("text", "web", "api", "bare"), [
    ("app=web", True, False, False),
    ("app==web", True, False, False),
    ("app!=web", False, True, True),           # != also matches objects without the key
    ("env in (prod, staging)", True, True, False),
    ("env in (prod)", True, False, False),
    ("env notin (prod)", False, True, True),   # notin matches a missing key too
    ("canary", False, True, False),
    ("!canary", True, False, True),
    ("app=web,tier in (frontend,backend),!canary", True, False, False),
    ("app in (web,api),env!=staging", True, False, False),
    ("app=", False, False, False),            # empty value is legal and matches only ""
    ("", True, True, True),                    # the empty selector selects everything
])
def test_label_selector_string_matches(text: str, web: bool, api: bool, bare: bool) -> None:
    sel = LabelSelector.parse(text)
    assert [sel.matches(WEB), sel.matches(API), sel.matches(BARE)] == [web, api, bare]


def test_label_selector_accepts_prefixed_keys_and_integer_comparisons() -> None:
    sel = LabelSelector.parse("app.kubernetes.io/name=web")
    assert sel.matches({"app.kubernetes.io/name": "web"})
    assert not sel.matches({"name": "web"})
    assert LabelSelector.parse("rank>3").matches({"rank": "4"})
    assert not LabelSelector.parse("rank>3").matches({"rank": "3"})
    assert LabelSelector.parse("rank<3").matches({"rank": "2"})
    assert not LabelSelector.parse("rank<3").matches({})


def test_label_selector_renders_canonically() -> None:
    assert str(LabelSelector.parse(" app = web , env in (b, a) ,!canary")) == "app=web,env in (a,b),!canary"


@pytest.mark.parametrize("text", [
    "app=(web",
    "app in (web",
    "in (web)",
    "app in ()",
    "app notin ()",
    "=web",
    "app web",
    "app=we b",
    "app=web,",
    "-app=web",
    "Example.com/app=web",
    "a/b/c=d",
    "app=-web",
    "app=" + "v" * 64,
    "rank>three",
    "!app=web",
])
def test_invalid_label_selector_is_a_bad_request(text: str) -> None:
    with pytest.raises(BadRequest) as err:
        LabelSelector.parse(text)
    assert err.value.code == 400
    assert err.value.message.startswith("unable to parse requirement")


def test_from_dict_combines_match_labels_and_match_expressions() -> None:
    sel = LabelSelector.from_dict({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "staging"]},
            {"key": "tier", "operator": "NotIn", "values": ["backend"]},
            {"key": "track", "operator": "Exists"},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    })
    assert sel.matches({"app": "web", "env": "prod", "track": "stable"})
    assert not sel.matches({"app": "web", "env": "dev", "track": "stable"})       # In
    assert not sel.matches({"app": "web", "env": "prod", "tier": "backend", "track": "x"})  # NotIn
    assert not sel.matches({"app": "web", "env": "prod"})                          # Exists
    assert not sel.matches({"app": "web", "env": "prod", "track": "x", "canary": "y"})  # DoesNotExist
    assert not sel.matches({"env": "prod", "track": "stable"})                     # matchLabels


def test_from_dict_none_selects_nothing_and_empty_selects_everything() -> None:
    assert not LabelSelector.from_dict(None).matches({"app": "web"})
    assert LabelSelector.from_dict({}).matches({"app": "web"})
    assert LabelSelector.from_dict({}).matches(None)


def test_from_dict_rejects_unknown_operator() -> None:
    with pytest.raises(BadRequest):
        LabelSelector.from_dict({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})


def test_from_labels_is_a_service_selector() -> None:
    sel = LabelSelector.from_labels({"app": "web"})
    assert sel.matches({"app": "web", "pod-template-hash": "6c9f"})
    assert not sel.matches({"app": "api"})
    assert not LabelSelector.from_labels({}).matches({"app": "web"})  # no selector: no endpoints


def test_equalities_are_what_a_label_index_can_answer() -> None:
    sel = LabelSelector.parse("app=web,env in (prod),tier in (a,b),!canary")
    assert sorted(sel.equalities()) == [("app", "web"), ("env", "prod")]


POD = {
    "metadata": {"name": "web-0", "namespace": "default"},
    "spec": {"nodeName": "node-1", "restartPolicy": "Always", "hostNetwork": False},
    "status": {"phase": "Running", "podIP": "10.0.0.5"},
}
EVENT = {
    "metadata": {"name": "web-0.17a", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u-1"},
    "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"},
}


@pytest.mark.parametrize(("text", "expected"), [
    ("metadata.name=web-0", True),
    ("metadata.name==web-0", True),
    ("metadata.name!=web-0", False),
    ("metadata.namespace=default", True),
    ("spec.nodeName=node-1", True),
    ("spec.nodeName=node-2", False),
    ("spec.nodeName!=node-2,status.phase=Running", True),
    ("spec.nodeName=", False),          # kubectl's "unscheduled pods" query
    ("spec.hostNetwork=false", True),   # booleans compare as their JSON text
    ("status.podIP=10.0.0.5", True),
])
def test_pod_field_selectors(text: str, expected: bool) -> None:
    assert FieldSelector.parse(text, "pods").matches(POD) is expected


def test_unscheduled_pod_matches_empty_node_name() -> None:
    pending = {"metadata": {"name": "p", "namespace": "default"}, "spec": {}}
    assert FieldSelector.parse("spec.nodeName=", "pods").matches(pending)
    assert not FieldSelector.parse("spec.nodeName!=", "pods").matches(pending)


def test_event_field_selectors_as_kubectl_describe_sends_them() -> None:
    sel = FieldSelector.parse(
        "involvedObject.name=web-0,involvedObject.namespace=default,involvedObject.uid=u-1", "events")
    assert sel.matches(EVENT)
    assert not FieldSelector.parse("involvedObject.uid=other", "events").matches(EVENT)
    assert FieldSelector.parse("involvedObject.kind=Pod,reason=Scheduled,type=Normal", "events").matches(EVENT)
    assert FieldSelector.parse("source=default-scheduler", "events").matches(EVENT)


def test_field_selector_exact_pins_values_for_index_lookups() -> None:
    sel = FieldSelector.parse("spec.nodeName=node-1,status.phase!=Failed", "pods")
    assert sel.exact("spec.nodeName") == "node-1"
    assert sel.exact("status.phase") is None
    assert FieldSelector.parse("", "pods").empty
    assert FieldSelector.parse(None).empty


def test_unsupported_field_uses_the_apiserver_wording() -> None:
    with pytest.raises(BadRequest) as err:
        FieldSelector.parse("spec.foo=bar", "pods")
    assert err.value.message == "field label not supported: spec.foo"
    with pytest.raises(BadRequest) as err:
        FieldSelector.parse("spec.replicas=3", "deployments")
    assert err.value.message == ('"spec.replicas" is not a known field selector: only "metadata.name", '
                                 '"metadata.namespace"')
    assert FieldSelector.parse("metadata.name=web", "deployments").matches({"metadata": {"name": "web"}})


def test_malformed_field_selector_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as err:
        FieldSelector.parse("spec.nodeName", "pods")
    assert err.value.code == 400
    assert "can't understand 'spec.nodeName'" in err.value.message
