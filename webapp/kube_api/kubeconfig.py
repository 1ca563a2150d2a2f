"""Render the kubeconfig that points kubectl at this Kubedrill server."""
from __future__ import annotations

import yaml


def render(server_url: str, namespace: str = "default") -> str:
    """A kubeconfig (YAML) with cluster, user and context ``kubedrill``; the user carries no credentials."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "kubedrill", "cluster": {"server": server_url}}],
        "users": [{"name": "kubedrill", "user": {}}],
        "contexts": [{"name": "kubedrill",
                      "context": {"cluster": "kubedrill", "user": "kubedrill", "namespace": namespace}}],
        "current-context": "kubedrill",
    }
    return yaml.safe_dump(doc, sort_keys=False)
