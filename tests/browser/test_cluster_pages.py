"""A dashboard under ``/c/<id>/`` shows that cluster, live, and nothing of another (real chromium).

Not class mode: everybody may do everything, so this is the hub's addressing alone; what roles
change is tested with the class server (test_classroom_*.py).
"""
from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import Page, expect

NORMAL = 30_000
WEB_READY = '.pod-chip[data-owner="web"][data-class="ok"]:not([data-gone])'


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def test_a_cluster_page_streams_its_own_cluster_and_acts_on_it(page: Page, make_live_server: Any) -> None:
    server = make_live_server()
    hub = server.app.extensions["kubedrill.hub"]
    hub.create("alice-0001", owner="alice")
    url = f"{server.url}/c/alice-0001/api/v1/namespaces/default/configmaps"
    assert requests.post(url, json=_configmap("only-alice"), timeout=10).status_code == 201

    page.set_default_timeout(NORMAL)
    page.goto(f"{server.url}/c/alice-0001/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    expect(page.locator("#cluster-id")).to_have_text("alice-0001")
    expect(page.locator(WEB_READY)).to_have_count(3)
    page.get_by_role("tab", name="Config", exact=True).click()
    expect(page.get_by_text("only-alice")).to_be_visible()

    # Pausing here pauses alice's cluster only.
    page.locator("#sim-pause").click()
    expect(page.locator("#sim-pause .label")).to_have_text("Resume")
    assert hub.get("alice-0001").paused and not hub.get("demo").paused

    page.goto(f"{server.url}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    page.get_by_role("tab", name="Config", exact=True).click()
    expect(page.locator("#sim-pause .label")).to_have_text("Pause")
    expect(page.get_by_text("only-alice")).to_have_count(0)


def test_a_page_for_a_cluster_that_does_not_exist_says_so(page: Page, make_live_server: Any) -> None:
    server = make_live_server()
    response = page.goto(f"{server.url}/c/nobody/")
    assert response is not None and response.status == 404
    expect(page.locator("body")).to_contain_text("nobody")
    expect(page.locator("body")).to_contain_text("not found")
