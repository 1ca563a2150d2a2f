"""Eviction honours PodDisruptionBudgets: 429 while a budget would be violated (drain waits)."""
from __future__ import annotations

import pytest
from simulate import deployment, run_until, running_ready

from engine.errors import TooManyRequests

PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb"},
       "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}}}


@pytest.fixture
def guarded(cluster):
    cluster.api.create(deployment("web", 3))
    cluster.api.create(PDB)
    run_until(cluster, lambda: len(running_ready(cluster, "app=web")) == 3, 60)
    return cluster


def test_eviction_that_would_violate_the_budget_is_refused_with_429(guarded):
    victim = running_ready(guarded, "app=web")[0]["metadata"]["name"]
    with pytest.raises(TooManyRequests) as info:
        guarded.api.evict("default", victim)
    err = info.value
    assert err.code == 429
    assert err.message == "Cannot evict pod as it would violate the pod's disruption budget."
    assert err.to_status()["details"]["causes"][0] == {
        "reason": "DisruptionBudget", "field": "",
        "message": "The disruption budget web-pdb needs 3 healthy pods and has 3 currently"}
    pod = guarded.api.get("pods", "default", victim)
    assert not pod["metadata"].get("deletionTimestamp")


def test_eviction_is_allowed_once_there_is_room(guarded):
    guarded.scale("Deployment", "default", "web", 4)
    run_until(guarded, lambda: len(running_ready(guarded, "app=web")) == 4, 60)
    victim = running_ready(guarded, "app=web")[0]["metadata"]["name"]
    guarded.api.evict("default", victim)
    pod = guarded.api.get("pods", "default", victim)
    assert pod["metadata"]["deletionTimestamp"]
    assert any(c["type"] == "DisruptionTarget" and c["status"] == "True" for c in pod["status"]["conditions"])


def test_drain_cordons_and_reports_pods_the_budget_protects(guarded):
    node = running_ready(guarded, "app=web")[0]["spec"]["nodeName"]
    result = guarded.drain(node)
    assert guarded.api.get("nodes", None, node)["spec"]["unschedulable"] is True
    blocked = {b["pod"] for b in result["blocked"]}
    on_node = {f"default/{p['metadata']['name']}" for p in running_ready(guarded, "app=web")
               if p["spec"]["nodeName"] == node}
    assert on_node and on_node <= blocked
    assert all("disruption budget" in b["reason"] for b in result["blocked"])
    # DaemonSet pods are skipped, as with kubectl drain --ignore-daemonsets.
    assert not any("kube-proxy" in name for name in result["evicted"])
