"""Discovery documents built from ``engine/apiserver/resources.py``: /version, /api, /apis and resource lists.

kubectl resolves ``po``/``deploy``/``all`` only through what discovery advertises (short names,
categories), and needs the right ``responseKind`` for subresources (``scale`` → autoscaling/v1 Scale,
``eviction`` → policy/v1 Eviction) — see KUBERNETES.md §11.3.
"""
from __future__ import annotations

from typing import Any

from engine.apiserver import resources
import engine.chaos  # noqa: F401,E402 - registers the chaos.kubedrill.io kinds before discovery is served

VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "kubedrill", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64",
}

# Subresources we actually serve: (verbs, responseKind group, version, kind or None = the parent kind).
SUBRESOURCES: dict[str, tuple[tuple[str, ...], str | None, str | None, str | None]] = {
    "status": (("get", "patch", "update"), None, None, None),
    "scale": (("get", "patch", "update"), "autoscaling", "v1", "Scale"),
    "log": (("get",), "", "v1", "Pod"),
    "eviction": (("create",), "policy", "v1", "Eviction"),
    "binding": (("create",), "", "v1", "Binding"),
    "exec": (("create", "get"), "", "v1", "PodExecOptions"),
}


def served_subresources(rt: resources.ResourceType) -> list[str]:
    return [s for s in rt.subresources if s in SUBRESOURCES]


def _sub_kind(rt: resources.ResourceType, sub: str) -> tuple[str, str, str]:
    _, g, v, k = SUBRESOURCES[sub]
    if k is None:
        return rt.group, rt.version, rt.kind
    return g or "", v or "v1", k


def api_versions(server_address: str) -> dict[str, Any]:
    """Legacy ``GET /api``: ``APIVersions``."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list() -> dict[str, Any]:
    """Legacy ``GET /apis``: ``APIGroupList`` of every non-core group."""
    groups = []
    seen: dict[str, list[str]] = {}
    for rt in resources.RESOURCES:
        if rt.group:
            versions = seen.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
    for group, versions in seen.items():
        vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": vs, "preferredVersion": vs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group_version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``/apis/<g>/<v>``: an ``APIResourceList``, or None for an unknown group-version."""
    rts = resources.groups().get(group_version)
    if not rts:
        return None
    out = []
    for rt in rts:
        entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                                 "kind": rt.kind, "verbs": list(rt.verbs)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        out.append(entry)
        for sub in served_subresources(rt):
            g, v, k = _sub_kind(rt, sub)
            sub_entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                                         "kind": k, "verbs": list(SUBRESOURCES[sub][0])}
            if (g, v) != (rt.group, rt.version):
                sub_entry["group"], sub_entry["version"] = g, v
            out.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}


def _aggregated_resource(rt: resources.ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in served_subresources(rt):
        g, v, k = _sub_kind(rt, sub)
        subs.append({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k},
                     "verbs": list(SUBRESOURCES[sub][0])})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool, api_version: str = "apidiscovery.k8s.io/v2") -> dict[str, Any]:
    """Aggregated discovery (``APIGroupDiscoveryList``) for ``/api`` (core) or ``/apis`` (groups)."""
    by_group: dict[str, dict[str, list[resources.ResourceType]]] = {}
    for rt in resources.RESOURCES:
        if bool(rt.group) == core:
            continue
        by_group.setdefault(rt.group, {}).setdefault(rt.version, []).append(rt)
    items = []
    for group, versions in by_group.items():
        items.append({
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [{"version": v, "freshness": "Current",
                          "resources": [_aggregated_resource(rt) for rt in rts]} for v, rts in versions.items()],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}
