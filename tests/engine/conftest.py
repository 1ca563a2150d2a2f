"""Engine fixtures: everything runs on simulated time; nothing here sleeps or opens a socket."""
from __future__ import annotations

import pytest

from engine.apiserver.admission import PLUGINS
from engine.apiserver.server import APIServer, ensure_namespaces
from engine.clock import Clock
from engine.cluster import Cluster
from engine.etcd.store import Store
from engine.profile import get_profile


@pytest.fixture(autouse=True)
def strict_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every engine test's clock strict: an error a component would count and survive fails the test.

    The app carries on after such errors (``Clock.failures``); a test must not pass while one is
    swallowed. tests/engine/test_fault_isolation.py turns this off to test the carrying on itself.
    """
    monkeypatch.setattr(Clock, "strict", True)


@pytest.fixture
def clock() -> Clock:
    return Clock(seed=1)


@pytest.fixture
def store() -> Store:
    return Store(window=1000)


@pytest.fixture
def api(store: Store, clock: Clock) -> APIServer:
    """A bare API server (system namespaces and admission, no controllers)."""
    server = APIServer(store, clock, get_profile("kubernetes"))
    server.admission.extend(PLUGINS)
    ensure_namespaces(server)
    return server


@pytest.fixture
def cluster() -> Cluster:
    """The demo cluster on the kubernetes profile (1 control plane + 3 workers, no demo workloads)."""
    return Cluster(seed=1, profile="kubernetes", nodes=3, empty=True)
