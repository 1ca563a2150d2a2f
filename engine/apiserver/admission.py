"""Mutating admission plugins, run by the API server on create (and update where noted).

Each mirrors a real kube-apiserver plugin of the same name.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..objects import annotations_of
from ..selectors import LabelSelector
from .resources import ResourceType

if TYPE_CHECKING:
    from .server import APIServer

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def default_toleration_seconds(api: "APIServer", rt: ResourceType, obj: dict, old: dict | None) -> None:
    """DefaultTolerationSeconds: pods tolerate not-ready/unreachable NoExecute for 300 s (profile value)."""
    if rt.kind != "Pod" or old is not None:
        return
    spec = obj.setdefault("spec", {})
    tolerations = spec.get("tolerations") or []
    for key in (NOT_READY, UNREACHABLE):
        if any(_tolerates_key(t, key) for t in tolerations):
            continue
        tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": api.profile.default_toleration_seconds})
    spec["tolerations"] = tolerations


def _tolerates_key(t: dict, key: str) -> bool:
    effect_ok = t.get("effect") in (None, "", "NoExecute")
    if not t.get("key"):
        return t.get("operator") == "Exists" and effect_ok
    return t.get("key") == key and effect_ok


def service_account(api: "APIServer", rt: ResourceType, obj: dict, old: dict | None) -> None:
    """ServiceAccount: pods run as the namespace's ``default`` service account unless told otherwise."""
    if rt.kind != "Pod" or old is not None:
        return
    spec = obj.setdefault("spec", {})
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name


def priority(api: "APIServer", rt: ResourceType, obj: dict, old: dict | None) -> None:
    """Priority: pods without a priority class get priority 0."""
    if rt.kind == "Pod" and old is None:
        obj.setdefault("spec", {}).setdefault("priority", 0)


def default_storage_class(api: "APIServer", rt: ResourceType, obj: dict, old: dict | None) -> None:
    """DefaultStorageClass: a claim without ``storageClassName`` gets the default class, if any."""
    if rt.kind != "PersistentVolumeClaim" or old is not None:
        return
    spec = obj.setdefault("spec", {})
    if "storageClassName" in spec and spec["storageClassName"] is not None:
        return
    for sc in api.store.list("storageclasses", None, LabelSelector()):
        if annotations_of(sc).get(DEFAULT_CLASS) == "true":
            spec["storageClassName"] = sc["metadata"]["name"]
            return


PLUGINS = (service_account, default_toleration_seconds, priority, default_storage_class)
