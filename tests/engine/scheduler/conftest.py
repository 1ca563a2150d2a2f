"""Fixtures for the scheduler tests: a seeded clock, a real store, and the recording fake API."""
from __future__ import annotations

import pytest
from scheduler_testkit import FakeAPI

from engine.clock import Clock
from engine.etcd.store import Store


@pytest.fixture
def clock() -> Clock:
    return Clock(seed=7)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def api(store: Store, clock: Clock) -> FakeAPI:
    return FakeAPI(store, clock)
