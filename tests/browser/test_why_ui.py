"""The inspector's Why tab in a real browser: a replacement pod's chain, from the user's delete to kube-proxy."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import WEB_READY, dash, dialogs, open_tab, server, shot  # noqa: F401 (fixtures)


def test_the_why_tab_shows_a_replacement_pods_chain_and_an_event_opens_it(dash: Page) -> None:
    page = dash
    before = set(page.locator(WEB_READY).evaluate_all("chips => chips.map(c => c.dataset.pod)"))
    victim = sorted(before)[0]
    ack = page.evaluate("([t, a]) => window.kubedrill.live.action(t, a)",
                        ["pod.delete", {"namespace": "default", "name": victim}])
    assert ack["ok"], ack
    page.wait_for_function("([sel, old]) => [...document.querySelectorAll(sel)].some(c => !old.includes(c.dataset.pod))",
                           arg=[WEB_READY, sorted(before)])
    fresh = [p for p in page.locator(WEB_READY).evaluate_all("chips => chips.map(c => c.dataset.pod)") if p not in before]
    page.locator(f'{WEB_READY}[data-pod="{fresh[0]}"]').click()
    page.locator('#inspector .insp-tabs [data-tab="why"]').click()
    steps = page.locator("#inspector .insp-why .why-step")
    # Who acted, in order: the page's own user, then each component.
    expect(steps.first.locator(".why-text")).to_have_text(f"kubernetes-admin deleted pod {victim}")
    expect(steps.nth(1).locator(".why-who")).to_have_text("the ReplicaSet controller")
    expect(steps.nth(2).locator(".why-text")).to_contain_text("the scheduler bound it to node-")
    expect(page.locator("#inspector .why-step.why-watch .why-text")).to_contain_text("reprogrammed Service web")
    shot(page, "why-replacement-pod")

    # An event row's object link opens the same chain.
    page.locator("#inspector .insp-close").click()
    open_tab(page, "Events")
    page.locator(".ev-object", has_text=f"pod/{fresh[0]}").first.click()
    expect(page.locator('#inspector .insp-tabs [data-tab="why"]')).to_have_attribute("aria-selected", "true")
    expect(page.locator("#inspector .insp-why .why-step").first.locator(".why-text")).to_have_text(
        f"kubernetes-admin deleted pod {victim}")
