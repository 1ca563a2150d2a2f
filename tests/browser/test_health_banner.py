"""The dashboard's health banner: a failing component and a stalled engine are shown, never hidden.

The server runs in this process (tests/conftest.py), so a test breaks a component through
``CLUSTER_FACTORY`` or schedules a blocking callback on the live cluster's clock.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from engine.cluster import Cluster

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
BANNER = "#health-banner"


def broken_service_controller(**kwargs: Any) -> Cluster:
    """The demo cluster whose service-controller raises on every sync (an error text with markup in it)."""
    cluster = Cluster(**kwargs)

    def sync(key: Any) -> None:
        raise RuntimeError(f"cannot reconcile {XSS}")

    cluster.controllers["service-controller"].queue.sync = sync
    return cluster


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


def test_a_failing_controller_shows_in_the_header_banner(page: Page, make_live_server: Any,
                                                         dialogs: list[str]) -> None:
    server = make_live_server(CLUSTER_FACTORY=broken_service_controller)
    page.goto(f"{server.url}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    banner = page.locator(BANNER)
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-level", "degraded")
    expect(banner.locator(".health-title")).to_contain_text("service-controller failing")
    item = banner.locator('li[data-component="service-controller"]')
    expect(item).to_contain_text(f"RuntimeError: cannot reconcile {XSS}")   # as text, not markup
    expect(item).to_contain_text("error")
    assert banner.locator("img").count() == 0 and dialogs == []
    # The rest of the cluster carries on: simulated time keeps moving.
    before = page.locator("#sim-clock").text_content()
    expect(page.locator("#sim-clock")).not_to_have_text(before or "", timeout=10_000)


def test_a_stalled_engine_thread_is_reported_then_clears(page: Page, make_live_server: Any) -> None:
    server = make_live_server()
    page.goto(f"{server.url}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    banner = page.locator(BANNER)
    expect(banner).to_be_hidden()
    runtime = server.app.extensions["kubedrill"]
    # A callback that blocks the engine thread (wall time: this is the web layer's test, not the engine's).
    runtime.call(lambda: runtime.cluster.clock.schedule(0, lambda: time.sleep(8)))
    expect(banner).to_have_attribute("data-level", "stalled", timeout=15_000)
    expect(banner.locator(".health-title")).to_contain_text("Engine stalled")
    expect(banner).to_be_hidden(timeout=15_000)
