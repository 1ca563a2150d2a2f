"""Tracing a connection in the Networking tab: the pattern, the hops in order, and the path drawn on the map.

Demo cluster, seed 1: sql-0 on node-1, sql-1 on node-2, three web pods (one per worker).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_dashboard import dash, dialogs, open_tab, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_trace_pod_to_service_shows_the_pattern_hops_and_path(dash: Page, dialogs: list[str]) -> None:
    page = dash
    open_tab(page, "Networking")
    page.select_option("#trace-from", "default/sql-0")
    page.fill("#trace-to", "web.default.svc.cluster.local")
    page.get_by_role("button", name="Trace", exact=True).click()

    result = page.locator(".trace-result")
    expect(result.locator(".trace-pattern")).to_have_text("pod-to-service")
    expect(result.locator(".trace-verdict")).to_have_text("✓ answered")
    kinds = result.locator(".trace-hop .hop-kind")
    expect(kinds.nth(0)).to_have_text("dns")
    expect(kinds.nth(1)).to_have_text("kube-proxy")
    expect(result.locator(".trace-hop").nth(1)).to_contain_text("KUBE-SVC-")
    expect(result.locator(".trace-hop").last).to_have_attribute("data-kind", "pod")

    # On the map: sql-0's node is the source, the chosen endpoint's node the destination.
    source = page.locator('.pod-chip[data-pod="sql-0"]')
    expect(source).to_have_attribute("data-trace", "source")
    node = source.locator("xpath=ancestor::article[contains(@class, 'node-card')]").get_attribute("data-node")
    path = result.locator(".trace-path").inner_text().removeprefix("Nodes crossed: ").split(" → ")
    assert path[0] == node
    expect(page.locator(f'.node-card[data-node="{node}"]')).to_have_attribute("data-trace", "source")
    expect(page.locator('.pod-chip[data-owner="web"][data-trace="destination"]')).to_have_count(1)
    expect(page.locator(".node-card[data-trace]")).to_have_count(len(path))
    shot(page, "trace-pod-to-service")

    # A headless pod name on another node: pod-to-pod after the lookup, an arrow between the two cards.
    expect(page.locator('.pod-chip[data-pod="sql-1"][data-class="ok"]')).to_have_count(1)   # ordered start
    page.fill("#trace-to", "sql-1.sql.default.svc.cluster.local:5432")
    page.get_by_role("button", name="Trace", exact=True).click()
    expect(result.locator(".trace-pattern")).to_have_text("pod-to-pod-cross-node")
    expect(result.locator(".trace-hop .hop-kind")).to_have_text(["dns", "node-to-node", "pod"])
    expect(page.locator('.pod-chip[data-pod="sql-1"]')).to_have_attribute("data-trace", "destination")
    expect(page.locator(".node-card[data-trace]")).to_have_count(2)
    expect(page.locator("svg.trace-overlay polyline")).to_have_count(1)
    shot(page, "trace-cross-node")

    # The web Service's kube-proxy rules on a node: three endpoints, probabilities 1/3, 1/2, last.
    card = page.locator('.card[data-kind="services"][data-name="web"]')
    card.locator(".proxy-rules > summary").click()
    rules = card.locator(".rule-endpoint .rule-prob")
    expect(rules).to_have_text(["--probability 0.3333333333", "--probability 0.5000000000", "always (last rule)"])
    expect(card.locator(".proxy-rules > summary")).to_have_text("kube-proxy rules on node-1")
    shot(page, "trace-proxy-rules")
    assert dialogs == []
