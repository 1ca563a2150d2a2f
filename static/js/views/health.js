// Health banner: which component failed (how often, its last error), and a stalled or halted engine.
// Polls /ui/health (Runtime.health): the live stream carries objects and the clock, not this.
// Every text goes in with textContent (setText / h): error messages quote user input.

import { h, setText, setAttr, replaceChildren } from "../dom.js";
import { EPOCH_SECONDS, simClockText } from "../k8s/time.js";
import { url } from "../ui/permissions.js";

export const POLL_MS = 2000;

/** Start polling; calls onHealth(health) after each answer (null when the server did not answer). */
export function pollHealth(onHealth, { interval = POLL_MS } = {}) {
  let timer = null;
  let stopped = false;
  const poll = async () => {
    let health = null;
    try {
      const resp = await fetch(url("/ui/health"), { headers: { Accept: "application/json" }, cache: "no-store" });
      if (resp.ok) health = await resp.json();
    } catch (_err) {
      health = null;    // offline: the connection badge already says so
    }
    if (stopped) return;
    onHealth(health);
    timer = setTimeout(poll, interval);
  };
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What the banner says about ``health``: {level, title, lines}, or null when all is well. */
export function describeHealth(health) {
  if (!health) return null;
  const components = Object.entries(health.components || {}).sort(([a], [b]) => a.localeCompare(b));
  // ``at`` is simulated seconds: shown as the header's sim clock reads it.
  const when = (c) => (typeof c.at === "number" ? ` at sim ${simClockText(EPOCH_SECONDS + c.at)}` : "");
  const lines = components.map(([name, c]) => ({
    name,
    text: `${plural(Number(c.errors) || 0, "error")} — last: ${c.last_error || "unknown error"}`
      + (c.last_key ? ` (key ${c.last_key})` : "") + when(c),
  }));
  if (health.error) {
    return { level: "halted", title: `Simulation paused by an engine error: ${health.error}`, lines };
  }
  if (health.stalled) {
    const age = Number(health.last_tick_age) || 0;
    return { level: "stalled", title: `Engine stalled: no simulation step finished for ${age.toFixed(0)} s`, lines };
  }
  if (lines.length) {
    const total = components.reduce((n, [, c]) => n + (Number(c.errors) || 0), 0);
    const who = lines.length === 1 ? lines[0].name : plural(lines.length, "component");
    return { level: "degraded", title: `${who} failing (${plural(total, "error")}); the rest of the cluster carries on`,
      lines };
  }
  return null;
}

/** Show, update or hide the banner in ``root`` (the header) for ``health``. */
export function renderHealth(root, health) {
  const banner = root.querySelector("#health-banner");
  if (!banner) return;
  const d = describeHealth(health);
  banner.hidden = !d;
  setAttr(banner, "data-level", d ? d.level : "");
  if (!d) return;
  setText(banner.querySelector(".health-title"), d.title);
  const list = banner.querySelector(".health-components");
  const key = JSON.stringify(d.lines);
  if (list.dataset.key !== key) {      // rebuild only on change: keeps a text selection stable
    list.dataset.key = key;
    replaceChildren(list, d.lines.map((l) => h("li", { dataset: { component: l.name } },
      h("b", { text: l.name }), ": ", h("span", { class: "health-error", text: l.text }))));
  }
}
