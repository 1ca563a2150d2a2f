"""Render the kubeconfig that points kubectl at this Kubedrill server (or at one cluster of a class).

kubectl (client-go's clientcmd) reads a kubeconfig user's credentials only for TLS servers: over
plain ``http://`` it sends no ``Authorization`` header at all, whatever ``user.token`` says
(kubernetes/kubectl#744). Kubedrill serves plain HTTP, so a kubeconfig with a token also carries it
in the server URL's userinfo (``http://<name>:<token>@HOST:PORT/...``), which Go's HTTP client turns
into ``Authorization: Basic`` on every request; the server takes the password as the bearer token
(``webapp.policy``). The token never travels in a request line (userinfo is not part of it), so no
access log could show it. ``user.token`` stays for clients that do send it (the Python client, and
kubectl should the server one day speak TLS).
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import yaml


def render(server_url: str, namespace: str = "default", *, token: str | None = None,
           name: str = "kubedrill") -> str:
    """A kubeconfig (YAML) whose cluster, user and context are all called ``name``.

    ``token``: the user's bearer token (a class session's ``<class_id>.<token>``); without one the
    user carries no credentials (a single-user server needs none). A student's kubeconfig names its
    entries ``kubedrill-<cluster id>`` so that it merges beside other kubeconfigs without clashing.
    """
    user: dict = {"token": token} if token is not None else {}
    if token is not None:
        server_url = with_userinfo(server_url, name, token)
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


def with_userinfo(url: str, user: str, password: str) -> str:
    """``url`` with ``user:password@`` before its host, when it is plain http (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))
