"""Fixtures for the Kubernetes HTTP API tests (helpers in kubetools.py)."""
from __future__ import annotations

import uuid

import pytest
import requests
from kubetools import Kubectl, need_kubectl, start_server, stop_server


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    live, server = start_server(tmp_path_factory.mktemp("kube"))
    yield live
    stop_server(live, server)


@pytest.fixture
def namespace(api_server) -> str:
    """A fresh namespace per test, so tests sharing one server do not see each other's objects."""
    name = "t-" + uuid.uuid4().hex[:8]
    r = requests.post(api_server.url + "/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                                    "metadata": {"name": name}}, timeout=10)
    assert r.status_code == 201, r.text
    return name


@pytest.fixture
def kubectl(api_server, namespace) -> Kubectl:
    need_kubectl()
    return Kubectl(api_server, namespace)
