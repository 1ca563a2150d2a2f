"""The API server: the only way into etcd (kube-apiserver).

Request handling (``server``), decoding (``manifests``), admission, defaulting, schema and semantic
validation, the patch family and field management, and the registry of served kinds.
"""
from __future__ import annotations

from .server import APIServer, ensure_namespaces

__all__ = ["APIServer", "ensure_namespaces"]
