"""Registry strategies: every served kind has one, and its rules hold without a cluster."""
from __future__ import annotations

import pytest

from engine.apiserver import registry, resources
from engine.apiserver.registry import apps, core, groups
from engine.apiserver.registry.strategy import Strategy
from engine.apiserver.server import APIServer

BUILT_IN = core.STRATEGIES + apps.STRATEGIES + groups.STRATEGIES
CHAOS_GROUP = "chaos.kubedrill.io"  # registered later by engine.chaos, with the default strategy


def test_each_built_in_strategy_is_for_a_served_kind_and_appears_once():
    kinds = [s.kind for s in BUILT_IN]
    assert len(kinds) == len(set(kinds))
    assert all(resources.by_kind_name(kind) is not None for kind in kinds)


@pytest.mark.parametrize("rt", [rt for rt in resources.RESOURCES if rt.group != CHAOS_GROUP], ids=lambda rt: rt.kind)
def test_every_served_kind_has_its_own_strategy(rt):
    assert rt.kind in {s.kind for s in BUILT_IN}
    assert registry.strategy_for(rt).kind == rt.kind


def test_a_kind_registered_without_a_strategy_gets_the_default_one():
    rt = resources.ResourceType("Widget", "widgets", "example.kubedrill.io", "v1", True, subresources=("status",))
    strategy = registry.strategy_for(rt)
    assert strategy == Strategy("Widget")
    new, old = {"status": {"phase": "Changed"}, "spec": {"a": 2}}, {"status": {"phase": "Old"}, "spec": {"a": 1}}
    strategy.prepare_for_update(rt, new, old)
    assert new == {"status": {"phase": "Old"}, "spec": {"a": 2}}  # status goes through /status
    assert strategy.generation


def test_deployment_create_resets_status_and_starts_at_generation_1(api: APIServer):
    strategy = registry.for_kind("Deployment")
    obj = {"status": {"replicas": 7, "readyReplicas": 7}}
    strategy.prepare_for_create(obj, trusted=False)
    assert obj["status"] == {}
    created = api.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                          "spec": {"selector": {"matchLabels": {"app": "web"}},
                                   "template": {"metadata": {"labels": {"app": "web"}},
                                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
                          "status": {"replicas": 7}})
    assert created["status"] == {}
    assert created["metadata"]["generation"] == 1


def test_a_trusted_create_keeps_the_status_it_brings():
    obj = {"status": {"phase": "Active"}}
    registry.for_kind("Namespace").prepare_for_create(obj, trusted=True)
    assert obj["status"] == {"phase": "Active"}


def test_configmap_changes_do_not_bump_generation(api: APIServer):
    assert not registry.for_kind("ConfigMap").generation
    cm = api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}})
    assert "generation" not in cm["metadata"]
    cm = dict(cm, data={"a": "2"})
    updated = api.update(cm)
    assert updated["data"] == {"a": "2"} and "generation" not in updated["metadata"]


@pytest.mark.parametrize("resources_, qos", [
    ({}, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
    ({"limits": {"cpu": "1"}}, "Burstable"),
])
def test_pod_initial_status_is_pending_with_its_qos_class(resources_, qos):
    pod = {"spec": {"containers": [{"name": "c", "image": "nginx", "resources": resources_}]},
           "status": {"phase": "Running"}}
    registry.for_kind("Pod").prepare_for_create(pod, trusted=False)
    assert pod["status"] == {"phase": "Pending", "qosClass": qos}


def test_pod_grace_period_rules():
    grace = registry.for_kind("Pod").grace_period
    assert grace({"spec": {}}, 30) == 0  # never scheduled: goes at once
    assert grace({"spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}}, None) == 0
    assert grace({"spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 5}}, None) == 5
    assert grace({"spec": {"nodeName": "n1"}}, 2) == 2
    assert registry.for_kind("ConfigMap").grace_period({}, 30) is None


def test_only_node_takes_status_from_the_main_resource():
    node_rt = resources.by_kind("v1", "Node")
    new, old = {"status": {"capacity": {"cpu": "4"}}}, {"status": {"capacity": {"cpu": "2"}}}
    registry.strategy_for(node_rt).prepare_for_update(node_rt, new, old)
    assert new["status"] == {"capacity": {"cpu": "4"}}
    pod_rt = resources.by_kind("v1", "Pod")
    new, old = {"status": {"phase": "Failed"}}, {}
    registry.strategy_for(pod_rt).prepare_for_update(pod_rt, new, old)
    assert "status" not in new
