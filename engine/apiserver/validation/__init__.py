"""Semantic validation of built-in kinds, with Kubernetes' field paths and messages.

Mirrors ``pkg/apis/core/validation``, ``pkg/apis/apps/validation`` and apimachinery's
``ValidateObjectMeta``. Each check yields ``Cause(field, message, reason)`` where ``message`` is
``field.Error.ErrorBody()`` (the part after ``"<field>: "``), exactly what the real apiserver puts in
``details.causes``, e.g. ``Cause("spec.replicas", "Invalid value: -1: must be greater than or equal to 0")``.

Run after defaulting (like the apiserver), on an object that passed ``schema.schema_causes`` type checks;
the code still tolerates wrong shapes rather than raising.

Modules, split along upstream's packages:

- ``common``: ``field.Error`` constructors, name/label/annotation checks (apimachinery ``util/validation``),
  ``ObjectMeta``, label selectors, shared number and immutability helpers.
- ``core``: ``pkg/apis/core/validation``: pods and their containers, services, configmaps, secrets,
  persistent volumes and claims, nodes, and the core update rules.
- ``apps``: ``pkg/apis/apps/validation``: Deployment, ReplicaSet, StatefulSet, DaemonSet.
- ``groups``: the small groups: storage (StorageClass), policy (PodDisruptionBudget), coordination (Lease),
  discovery (EndpointSlice).

Which checks a kind runs is its strategy's business (``engine.apiserver.registry``): ``registry.validate_create``,
``validate_update`` and ``validate_status_update`` run the metadata checks and the kind's functions from here.
"""
from __future__ import annotations
