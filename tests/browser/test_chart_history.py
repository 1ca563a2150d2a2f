"""The Charts tab draws the server's history: a kill made with kubectl survives a reload and shows in
a second browser, with the curve (screenshot in test-artifacts/)."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
expect.set_options(timeout=30_000)

WEB_CHART = 'figure.chart[data-series="deployments/default/web"]'


def kubectl_delete_a_web_pod(base: str) -> str:
    """Delete a web pod the way kubectl does (DELETE on the pod, kubectl's User-Agent); its name."""
    agent = {"User-Agent": "kubectl/v1.32.0 (linux/amd64) kubernetes/abc"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/namespaces/default/pods", headers=agent)) as r:
        pods = json.load(r)["items"]
    name = next(p["metadata"]["name"] for p in pods if p["metadata"]["name"].startswith("web-")
                and not p["metadata"].get("deletionTimestamp"))
    req = urllib.request.Request(f"{base}/api/v1/namespaces/default/pods/{name}", method="DELETE", headers=agent)
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    return name


def open_charts(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    page.get_by_role("tab", name="Charts", exact=True).click()
    expect(page.locator(WEB_CHART)).to_be_visible()


def curve_points(page: Page) -> int:
    return page.evaluate(f"() => document.querySelector('{WEB_CHART}').__plot.data[0].length")


@pytest.fixture
def server(make_live_server: Any) -> Any:
    return make_live_server(SPEED=10.0)


def test_a_kubectl_kill_outlives_the_page_and_reaches_a_second_browser(page: Page, browser: Browser,
                                                                       server: Any) -> None:
    open_charts(page, f"{server.url}/")
    victim = kubectl_delete_a_web_pod(server.url)
    marker = page.locator(".chart-markers li", has_text=f"pod default/{victim} deleted — kubernetes-admin (kubectl)")
    expect(marker).to_have_count(1)           # polled in: no reload needed

    page.reload()
    page.get_by_role("tab", name="Charts", exact=True).click()
    expect(marker).to_have_count(1)
    expect(page.locator(WEB_CHART + " canvas").first).to_be_visible()
    assert curve_points(page) >= 3            # 0 ready -> 3 ready -> ... -> now: the past came back

    other = browser.new_context()
    try:
        second = other.new_page()
        open_charts(second, f"{server.url}/")
        expect(second.locator(".chart-markers li", has_text=f"pod default/{victim} deleted")).to_have_count(1)
    finally:
        other.close()

    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#panel-charts").screenshot(path=str(ARTIFACTS / "chart-history.png"))
