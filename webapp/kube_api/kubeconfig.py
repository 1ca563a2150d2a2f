"""Render the kubeconfig that points kubectl at this Kubedrill server (or at one cluster of a class)."""
from __future__ import annotations

import yaml


def render(server_url: str, namespace: str = "default", *, token: str | None = None,
           name: str = "kubedrill") -> str:
    """A kubeconfig (YAML) whose cluster, user and context are all called ``name``.

    ``token``: the user's bearer token (a class session's ``<class_id>.<token>``); without one the
    user carries no credentials (a single-user server needs none). A student's kubeconfig names its
    entries ``kubedrill-<cluster id>`` so that it merges beside other kubeconfigs without clashing.
    """
    user: dict = {"token": token} if token is not None else {}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": server_url}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name,
                      "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
    }
    return yaml.safe_dump(doc, sort_keys=False)
