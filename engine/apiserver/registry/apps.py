"""The ``apps/v1`` kinds' strategies: ``pkg/registry/apps/<kind>/strategy.go``.

The workloads reset their status on create, bump ``metadata.generation`` on spec changes (their controllers
report ``status.observedGeneration`` against it) and keep ``spec.selector`` immutable; ControllerRevision is a
plain data object.
"""
from __future__ import annotations

from .. import defaults
from ..validation.apps import (validate_controllerrevision, validate_controllerrevision_update,
                               validate_daemonset_spec, validate_deployment_spec, validate_replicas_status,
                               validate_replicaset_spec, validate_selector_update, validate_statefulset_spec,
                               validate_statefulset_update)
from ..validation.common import name_is_dns_label
from .strategy import Strategy, on_spec

STRATEGIES = (
    Strategy("ReplicaSet", default=defaults.default_replicaset, reset_status=True,
             check=on_spec(validate_replicaset_spec), check_update=validate_selector_update,
             check_status=validate_replicas_status),
    Strategy("Deployment", default=defaults.default_deployment, reset_status=True,
             check=on_spec(validate_deployment_spec), check_update=validate_selector_update,
             check_status=validate_replicas_status),
    # A StatefulSet's name is a DNS label: it prefixes its pods' hostnames.
    Strategy("StatefulSet", default=defaults.default_statefulset, reset_status=True, name_rule=name_is_dns_label,
             check=on_spec(validate_statefulset_spec), check_update=validate_statefulset_update,
             check_status=validate_replicas_status),
    Strategy("DaemonSet", default=defaults.default_daemonset, reset_status=True,
             check=on_spec(validate_daemonset_spec), check_update=validate_selector_update),
    Strategy("ControllerRevision", generation=False, check=validate_controllerrevision,
             check_update=validate_controllerrevision_update),
)
