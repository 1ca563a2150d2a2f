"""Status rules of the workload controllers, checked on plain dicts without a cluster.

``calculate_status`` (and the Deployment's ``sync_rollout_status``) are pure: no store, no clock.
"""
from __future__ import annotations

from engine.clock import rfc3339
from engine.controllers import daemonset, deployment, replicaset, statefulset
from engine.controllers.controller_utils import (available_after, compute_hash, fnv32, fnv32a, pod_available,
                                                 pod_from_template, ready_since)
from engine.objects import controller_ref


def pod(name: str, *, ready_at: float | None = None, phase: str = "Running", labels: dict | None = None,
        node: str = "", terminating: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": dict(labels or {})}
    if terminating:
        meta["deletionTimestamp"] = rfc3339(0)
    status: dict = {"phase": phase}
    if ready_at is not None:
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(ready_at)}]
    spec = {"nodeName": node} if node else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def replica_set(replicas: int = 3, min_ready: int = 0, status: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-abc", "namespace": "default", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "front"}}, "spec": {}}},
            "status": status or {}}


# ---------------------------------------------------------------------------------------------- ReplicaSet
def test_replicaset_ready_pods_count_as_available_only_after_min_ready_seconds():
    pods = [pod("a", ready_at=0), pod("b", ready_at=95), pod("c")]
    status = replicaset.calculate_status(replica_set(min_ready=10), pods, now=100)
    assert status["replicas"] == 3
    assert status["readyReplicas"] == 2
    assert status["availableReplicas"] == 1
    assert status["observedGeneration"] == 2
    # b turns available 10 s after it turned Ready: 5 s from now.
    assert available_after([p for p in pods if ready_since(p) is not None], 10, 100) == 5


def test_replicaset_fully_labeled_replicas_carry_every_template_label():
    pods = [pod("a", labels={"app": "web", "tier": "front"}), pod("b", labels={"app": "web"})]
    status = replicaset.calculate_status(replica_set(), pods, now=0)
    assert status["fullyLabeledReplicas"] == 1


def test_replicaset_zero_counters_are_omitted():
    status = replicaset.calculate_status(replica_set(), [], now=0)
    assert status == {"replicas": 0, "observedGeneration": 2}


def test_replicaset_failure_condition_is_set_by_a_failed_create_and_cleared_after():
    failed = replicaset.calculate_status(replica_set(), [], now=30, manage_error="pods is forbidden: quota")
    cond = failed["conditions"][0]
    assert cond == {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                    "message": "pods is forbidden: quota", "lastTransitionTime": rfc3339(30)}
    cleared = replicaset.calculate_status(replica_set(status=failed), [], now=40)
    assert "conditions" not in cleared


# ---------------------------------------------------------------------------------------------- Deployment
def deploy(replicas: int = 3, status: dict | None = None, strategy: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 4},
            "spec": {"replicas": replicas, "strategy": strategy or {"type": "RollingUpdate"}},
            "status": status or {}}


def rs(name: str, uid: str, replicas: int, *, ready: int = 0, available: int = 0) -> dict:
    status = {"replicas": replicas, "readyReplicas": ready, "availableReplicas": available}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "uid": uid},
            "spec": {"replicas": replicas}, "status": status}


def conditions(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status["conditions"]}


def test_deployment_counters_and_available_condition():
    new, old = rs("web-new", "n", 2, ready=2, available=1), rs("web-old", "o", 2, ready=2, available=2)
    status = deployment.calculate_status(deploy(replicas=4), [new, old], new, now=10)
    assert {k: status[k] for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                   "unavailableReplicas", "observedGeneration")} == {
        "replicas": 4, "updatedReplicas": 2, "readyReplicas": 4, "availableReplicas": 3, "unavailableReplicas": 1,
        "observedGeneration": 4}
    # maxUnavailable 25% of 4 = 1: three available pods are enough.
    assert conditions(status)["Available"]["status"] == "True"
    short = deployment.calculate_status(deploy(replicas=4), [rs("web-new", "n", 4, available=2)], None, now=10)
    assert conditions(short)["Available"]["reason"] == "MinimumReplicasUnavailable"


def test_deployment_progressing_from_created_to_complete():
    new = rs("web-new", "n", 3)
    started = deployment.sync_rollout_status(deploy(), [new], new, now=5, deadline=600)
    prog = conditions(started.status)["Progressing"]
    assert (prog["status"], prog["reason"]) == ("True", "NewReplicaSetCreated")
    assert not started.timed_out and started.recheck_after is None
    done = rs("web-new", "n", 3, ready=3, available=3)
    complete = deployment.sync_rollout_status(deploy(status=started.status), [done], done, now=20, deadline=600)
    prog = conditions(complete.status)["Progressing"]
    assert (prog["status"], prog["reason"]) == ("True", "NewReplicaSetAvailable")
    assert prog["lastTransitionTime"] == rfc3339(5)  # still True: the transition time stays


def test_deployment_without_progress_times_out_at_its_deadline():
    new = rs("web-new", "n", 3)
    started = deployment.sync_rollout_status(deploy(), [new], new, now=0, deadline=600).status
    waiting = deployment.sync_rollout_status(deploy(status=started), [new], new, now=100, deadline=600)
    assert waiting.recheck_after == 500 and not waiting.timed_out
    stuck = deployment.sync_rollout_status(deploy(status=started), [new], new, now=600, deadline=600)
    assert stuck.timed_out
    prog = conditions(stuck.status)["Progressing"]
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")


def test_deployment_paused_reports_progressing_unknown():
    result = deployment.sync_rollout_status(deploy(), [], None, now=0, paused=True)
    assert conditions(result.status)["Progressing"]["reason"] == "DeploymentPaused"
    assert [c["type"] for c in result.status["conditions"]] == ["Available", "Progressing"]


# ---------------------------------------------------------------------------------------------- StatefulSet
def sset(replicas: int = 3, min_ready: int = 0) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default", "uid": "s-uid", "generation": 3},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "template": {"spec": {}}}}


def test_statefulset_current_and_updated_replicas_by_revision():
    rev = statefulset.REVISION_LABEL
    pods = [pod("db-0", ready_at=0, labels={rev: "db-old"}), pod("db-1", ready_at=0, labels={rev: "db-old"}),
            pod("db-2", ready_at=0, labels={rev: "db-new"}),
            pod("db-3", ready_at=0, labels={rev: "db-old"}, terminating=True)]
    status = statefulset.calculate_status(sset(), pods, now=50, current_revision="db-old", update_revision="db-new",
                                          collision_count=0)
    assert status == {"replicas": 4, "readyReplicas": 4, "availableReplicas": 4, "currentReplicas": 2,
                      "updatedReplicas": 1, "observedGeneration": 3, "currentRevision": "db-old",
                      "updateRevision": "db-new", "collisionCount": 0}
    # Not every pod is updated yet: the current revision stays.
    assert statefulset.complete_rolling_update(sset(), status) is status


def test_statefulset_rolling_update_completes_when_every_pod_is_updated_and_ready():
    rev = statefulset.REVISION_LABEL
    pods = [pod(f"db-{i}", ready_at=0, labels={rev: "db-new"}) for i in range(3)]
    status = statefulset.calculate_status(sset(), pods, now=50, current_revision="db-old", update_revision="db-new",
                                          collision_count=1)
    assert status["currentReplicas"] == 0 and status["updatedReplicas"] == 3
    done = statefulset.complete_rolling_update(sset(), status)
    assert (done["currentReplicas"], done["currentRevision"]) == (3, "db-new")


def test_statefulset_available_replicas_wait_for_min_ready_seconds():
    pods = [pod("db-0", ready_at=0), pod("db-1", ready_at=45), pod("db-2", phase="Pending")]
    status = statefulset.calculate_status(sset(min_ready=10), pods, now=50, current_revision="r", update_revision="r",
                                          collision_count=0)
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 2, 1)


# ---------------------------------------------------------------------------------------------- DaemonSet
def test_daemonset_status_counts_nodes_and_pods():
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-uid", "generation": 1},
          "spec": {"template": {"spec": {"nodeSelector": {"role": "worker"}}}}}
    nodes = [{"metadata": {"name": n, "labels": {"role": role}}, "spec": {}}
             for n, role in (("w1", "worker"), ("w2", "worker"), ("cp", "control-plane"))]
    gen = {"pod-template-generation": "1"}
    pods = [pod("a1", ready_at=0, node="w1", labels=gen), pod("a2", node="cp")]
    status = daemonset.calculate_status(ds, pods, nodes, now=10)
    assert status == {"currentNumberScheduled": 1, "numberMisscheduled": 1, "desiredNumberScheduled": 2,
                      "numberReady": 1, "observedGeneration": 1, "updatedNumberScheduled": 1,
                      "numberAvailable": 1, "numberUnavailable": 1}


# ---------------------------------------------------------------------------------------------- helpers
def test_fnv_hashes_match_go_hash_fnv():
    assert fnv32(b"") == fnv32a(b"") == 0x811C9DC5
    assert fnv32(b"a") == 0x050C5D7E    # fnv.New32
    assert fnv32a(b"a") == 0xE40C292C   # fnv.New32a


def test_compute_hash_changes_with_the_collision_count():
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    assert compute_hash(template) == compute_hash({"spec": template["spec"], "metadata": template["metadata"]})
    assert compute_hash(template, 1) != compute_hash(template)
    assert set(compute_hash(template)) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_pod_from_template_is_controlled_by_its_owner():
    owner = replica_set()
    made = pod_from_template(owner, owner["spec"]["template"])
    assert made["metadata"]["generateName"] == "web-abc-"
    assert made["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert made["metadata"]["ownerReferences"] == [controller_ref(owner)]
    assert list(controller_ref(owner)) == ["apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"]


def test_pod_available_without_min_ready_seconds_is_ready():
    assert pod_available(pod("a", ready_at=100), 0, now=100)
    assert not pod_available(pod("a", ready_at=100), 5, now=104)
    assert not pod_available(pod("b"), 0, now=100)
