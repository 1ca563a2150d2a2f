"""Validation of the apps API group, after upstream ``pkg/apis/apps/validation``.

Deployment, ReplicaSet, StatefulSet and DaemonSet specs (selectors, templates, rollout strategies) and the
StatefulSet update rule (only some spec fields may change).
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import Cause
from ...objects import labels_of, meta_of, spec_of
from .common import (as_int, compact, forbidden, int_or_percent_value, invalid, not_supported, required,
                     selector_empty, selector_matches, validate_annotations, validate_immutable_field,
                     validate_int_or_percent, validate_label_selector, validate_labels, validate_nonnegative,
                     validate_not_over_100)
from .core import validate_pod_template


def _workload_selector(out: list[Cause], spec: Mapping[str, Any], kind_word: str) -> None:
    selector = spec.get("selector")
    if selector is None:
        out.append(required("spec.selector"))
        return
    validate_label_selector(out, selector, "spec.selector")
    if selector_empty(selector):
        out.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind_word}"))


def _template_for_replicaset(out: list[Cause], spec: Mapping[str, Any], kind_word: str) -> None:
    template = spec.get("template")
    if not isinstance(template, Mapping):
        out.append(required("spec.template"))
        return
    labels = labels_of(template)
    selector = spec.get("selector")
    if not selector_empty(selector) and not selector_matches(selector, labels):
        out.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    validate_pod_template(out, template, "spec.template")
    _workload_pod_policy(out, template, kind_word)


def _workload_pod_policy(out: list[Cause], template: Mapping[str, Any], kind_word: str) -> None:
    pod_spec = spec_of(template)
    restart = pod_spec.get("restartPolicy")
    if restart != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", restart or "", ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                             f"activeDeadlineSeconds in {kind_word} is not Supported"))


def validate_deployment_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    validate_nonnegative(out, spec.get("replicas"), "spec.replicas")
    _workload_selector(out, spec, "deployment")
    _template_for_replicaset(out, spec, "ReplicaSet")
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            out.append(forbidden("spec.strategy.rollingUpdate",
                                 "may not be specified when strategy `type` is 'Recreate'"))
    elif stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, Mapping):
            out.append(required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"))
        else:
            p = "spec.strategy.rollingUpdate"
            validate_int_or_percent(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
            validate_int_or_percent(out, ru.get("maxSurge"), f"{p}.maxSurge")
            if int_or_percent_value(ru.get("maxUnavailable")) == 0 and int_or_percent_value(ru.get("maxSurge")) == 0:
                out.append(invalid(f"{p}.maxUnavailable", ru.get("maxUnavailable"),
                                   "may not be 0 when `maxSurge` is 0"))
            validate_not_over_100(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
    else:
        out.append(not_supported("spec.strategy", strategy, ("Recreate", "RollingUpdate")))
    validate_nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    validate_nonnegative(out, spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    pds = as_int(spec.get("progressDeadlineSeconds"))
    if pds is not None:
        validate_nonnegative(out, pds, "spec.progressDeadlineSeconds")
        if pds <= (as_int(spec.get("minReadySeconds")) or 0):
            out.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))


def validate_replicaset_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    validate_nonnegative(out, spec.get("replicas"), "spec.replicas")
    validate_nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    _workload_selector(out, spec, "deployment")  # sic: the apiserver says "deployment" for ReplicaSets too
    _template_for_replicaset(out, spec, "ReplicaSet")


def validate_statefulset_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    pmp = spec.get("podManagementPolicy")
    if not pmp:
        out.append(required("spec.podManagementPolicy"))
    elif pmp not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if not stype:
        out.append(required("spec.updateStrategy"))
    elif stype == "OnDelete":
        if strategy.get("rollingUpdate") is not None:
            out.append(invalid("spec.updateStrategy.rollingUpdate", strategy["rollingUpdate"],
                               "only allowed for updateStrategy 'RollingUpdate'"))
    elif stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if isinstance(ru, Mapping):
            validate_nonnegative(out, ru.get("partition"), "spec.updateStrategy.rollingUpdate.partition")
            if ru.get("maxUnavailable") is not None:
                p = "spec.updateStrategy.rollingUpdate.maxUnavailable"
                validate_int_or_percent(out, ru["maxUnavailable"], p)
                if int_or_percent_value(ru["maxUnavailable"]) == 0:
                    out.append(invalid(p, ru["maxUnavailable"], "cannot be 0"))
                validate_not_over_100(out, ru["maxUnavailable"], p)
    else:
        out.append(invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"))
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(policy, Mapping):
        for key in ("whenDeleted", "whenScaled"):
            if policy.get(key) not in ("Retain", "Delete"):
                out.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", policy.get(key) or "",
                                         ("Retain", "Delete")))
    validate_nonnegative(out, spec.get("replicas"), "spec.replicas")
    validate_nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    ordinals = spec.get("ordinals")
    if isinstance(ordinals, Mapping):
        validate_nonnegative(out, ordinals.get("start"), "spec.ordinals.start")
    _workload_selector(out, spec, "statefulset")
    template = spec.get("template")
    if not isinstance(template, Mapping):
        out.append(required("spec.template"))
        return
    # Like the apiserver, the StatefulSet template's pod spec itself is not validated here.
    meta = meta_of(template)
    selector = spec.get("selector")
    if not selector_empty(selector) and not selector_matches(selector, meta.get("labels")):
        out.append(invalid("spec.template.metadata.labels", meta.get("labels") or {},
                           "`selector` does not match template `labels`"))
    validate_labels(out, meta.get("labels"), "spec.template.labels")
    validate_annotations(out, meta.get("annotations"), "spec.template.annotations")
    _workload_pod_policy(out, template, "StatefulSet")


def validate_daemonset_spec(out: list[Cause], spec: Mapping[str, Any]) -> None:
    selector = spec.get("selector")
    validate_label_selector(out, selector, "spec.selector")
    template = spec.get("template") if isinstance(spec.get("template"), Mapping) else {}
    labels = labels_of(template)
    if selector is None or not selector_matches(selector, labels):
        out.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    if isinstance(selector, Mapping) and selector_empty(selector):
        out.append(invalid("spec.selector", selector, "empty selector is invalid for daemonset"))
    validate_pod_template(out, template, "spec.template")
    _workload_pod_policy(out, template, "DaemonSet")
    validate_nonnegative(out, spec.get("minReadySeconds"), "spec.minReadySeconds")
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        p = "spec.updateStrategy.rollingUpdate"
        if not isinstance(ru, Mapping):
            out.append(required(p))
        else:
            validate_int_or_percent(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
            validate_int_or_percent(out, ru.get("maxSurge"), f"{p}.maxSurge")
            validate_not_over_100(out, ru.get("maxUnavailable"), f"{p}.maxUnavailable")
            validate_not_over_100(out, ru.get("maxSurge"), f"{p}.maxSurge")
            has_unavailable = int_or_percent_value(ru.get("maxUnavailable")) != 0
            has_surge = int_or_percent_value(ru.get("maxSurge")) != 0
            if has_unavailable and has_surge:
                out.append(invalid(f"{p}.maxSurge", ru.get("maxSurge"), "may not be set when maxUnavailable is "
                                                                         "non-zero"))
            elif not has_unavailable and not has_surge:
                out.append(required(f"{p}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    elif stype != "OnDelete":
        out.append(not_supported("spec.updateStrategy", strategy, ("RollingUpdate", "OnDelete")))
    validate_nonnegative(out, spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")


# ---------------------------------------------------------------------------------------------------
# Updates

STATEFULSET_UPDATE_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                                "'minReadySeconds' are forbidden")


def validate_statefulset_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    allowed = ("replicas", "template", "updateStrategy", "minReadySeconds", "ordinals",
               "persistentVolumeClaimRetentionPolicy")
    def strip(spec: Mapping[str, Any]) -> dict[str, Any]:
        return compact({k: v for k, v in spec.items() if k not in allowed})
    if strip(spec_of(new)) != strip(spec_of(old)):
        out.append(forbidden("spec", STATEFULSET_UPDATE_FORBIDDEN))


def validate_selector_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Forbid changing ``spec.selector`` of a Deployment, ReplicaSet or DaemonSet (apps/v1 made it immutable)."""
    validate_immutable_field(out, spec_of(new).get("selector"), spec_of(old).get("selector"), "spec.selector")


def validate_replicas_status(out: list[Cause], status: Any) -> None:
    """Check a workload's ``/status`` counters are ≥ 0 (``ValidateDeploymentStatus`` and friends)."""
    if not isinstance(status, Mapping):
        return
    for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas",
                "observedGeneration"):
        validate_nonnegative(out, status.get(key), f"status.{key}")


# ---------------------------------------------------------------------------------------------------
# ControllerRevision


def validate_controllerrevision(out: list[Cause], obj: Mapping[str, Any]) -> None:
    """Check ``ValidateControllerRevision``: ``data`` is mandatory, ``revision`` ≥ 0."""
    if obj.get("data") is None:
        out.append(required("data", "data is mandatory"))
    validate_nonnegative(out, obj.get("revision"), "revision")


def validate_controllerrevision_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Forbid changing a revision's ``data``."""
    validate_immutable_field(out, new.get("data"), old.get("data"), "data")
