// One tile per student cluster (the tile is webapp.hub._tile: nodes, workloads, drill, pace, last
// action, health). Tiles are kept by cluster id and updated in place, so a checkbox, its focus and
// the "Watch" link survive the two updates a second a busy cluster sends. Text only: names are the
// students' own.

import { h, reconcile, setAttr, setText } from "../dom.js";

/** "m:ss" of simulated seconds. */
export const clock = (t) => {
  const v = Math.max(0, Math.round(Number(t) || 0));
  return `${Math.floor(v / 60)}:${String(v % 60).padStart(2, "0")}`;
};

/** How long ago a wall time (epoch seconds) was, in words. */
export function ago(wall, now = Date.now() / 1000) {
  if (!wall) return "";
  const s = Math.max(0, Math.round(now - wall));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export const who = (t) => t.owner || t.cluster;

/** Is the cluster at its steady state (every node Ready, every workload available, no failing probe)? */
function condition(t) {
  if (t.health && t.health !== "ok") return "bad";
  const failing = t.drill && t.drill.probes.some((p) => !p.passing);
  const short = t.nodes_ready < t.nodes || t.workloads_available < t.workloads_desired;
  return failing || short ? "warn" : "ok";
}

function pace(t) {
  const speed = `${Number(t.speed)}×`;
  const lock = t.speed_lock !== undefined && t.speed_lock !== null ? " locked" : "";
  return t.paused ? `❚❚ paused (${speed})${lock}` : `${speed}${lock}`;
}

function tileSkeleton(t, { viewer, onSelect }) {
  const box = h("input", { type: "checkbox", class: "tile-select" });
  box.disabled = viewer;
  box.addEventListener("change", () => onSelect(box.closest(".tile").dataset.cluster, box.checked));
  return h("article", { class: "tile", role: "listitem", dataset: { cluster: t.cluster } },
    h("header", { class: "tile-head" },
      h("label", { class: "tile-pick" }, box, h("span", { class: "visually-hidden tile-pick-label" })),
      h("h3", { class: "tile-name" }),
      h("span", { class: "tile-pace" })),
    h("div", { class: "tile-stats" },
      h("span", { class: "tile-nodes" }),
      h("span", { class: "tile-workloads" })),
    h("div", { class: "tile-drill" },
      h("span", { class: "drill-title" }), h("span", { class: "drill-time" }),
      h("span", { class: "probes", role: "list", "aria-label": "Probes" })),
    h("div", { class: "tile-last" }, h("span", { class: "last-what" }), " ", h("time", { class: "last-when" })),
    h("footer", { class: "tile-foot" },
      h("span", { class: "tile-id muted" }),
      h("span", { class: "tile-health" }),
      h("a", { class: "btn btn-small tile-watch", text: viewer ? "Watch" : "Watch / take over" })));
}

function updateTile(el, t, { viewer, selected }) {
  const name = who(t);
  el.dataset.condition = condition(t);
  el.dataset.health = t.health || "ok";
  el.dataset.loaded = t.loaded === false ? "0" : "1";
  el.dataset.phase = t.drill ? t.drill.phase : "";
  el.dataset.paused = t.paused ? "1" : "0";
  const box = el.querySelector(".tile-select");
  box.checked = selected.has(t.cluster);
  setText(el.querySelector(".tile-pick-label"), `Select ${name}`);
  setText(el.querySelector(".tile-name"), name);
  setAttr(el.querySelector(".tile-name"), "title", name);
  setText(el.querySelector(".tile-pace"), pace(t));
  setText(el.querySelector(".tile-nodes"), `nodes ${t.nodes_ready}/${t.nodes} Ready`);
  setText(el.querySelector(".tile-workloads"), `workloads ${t.workloads_available}/${t.workloads_desired} available`);

  const drill = el.querySelector(".tile-drill");
  drill.classList.toggle("muted", !t.drill);
  setText(drill.querySelector(".drill-title"), t.drill ? t.drill.title : "no drill");
  setText(drill.querySelector(".drill-time"), t.drill
    ? ` ${t.drill.phase === "Running" ? "" : `${t.drill.phase} · `}${clock(t.drill.t)} / ${clock(t.drill.time_limit)}` : "");
  reconcile(drill.querySelector(".probes"), t.drill ? t.drill.probes : [], (p) => p.name,
    () => h("span", { class: "probe-dot", role: "listitem" }),
    (dot, p) => {
      dot.className = `probe-dot ${p.passing ? "pass" : "fail"}`;
      setText(dot, p.passing ? "●" : "✖");
      setAttr(dot, "title", `${p.name}: ${p.passing ? "passing" : "failing"}`);
      setAttr(dot, "aria-label", `${p.name} ${p.passing ? "passing" : "failing"}`);
    }, { animate: false });

  const last = t.last_action;
  const what = el.querySelector(".last-what");
  setText(what, last ? `last: ${last.action} via ${last.via}${last.ok === false ? " (failed)" : ""}` : "no action yet");
  what.classList.toggle("bad", !!last && last.ok === false);
  const when = el.querySelector(".last-when");
  setAttr(when, "datetime", last ? last.at : null);
  when.dataset.wall = last ? String(last.wall) : "";
  setText(when, last ? ago(last.wall) : "");

  setText(el.querySelector(".tile-id"), t.cluster);
  const health = t.loaded === false ? "asleep: saved, wakes when visited" : t.health && t.health !== "ok" ? t.health : "";
  setText(el.querySelector(".tile-health"), health);
  const watch = el.querySelector(".tile-watch");
  setAttr(watch, "href", `/c/${encodeURIComponent(t.cluster)}/`);
  setAttr(watch, "aria-label", `${viewer ? "Watch" : "Watch or take over"} ${name}'s cluster`);
}

/** Draw `tiles` (sorted by name) into `root`, reusing each cluster's element. */
export function renderTiles(root, tiles, { viewer, selected, onSelect }) {
  const sorted = [...tiles].sort((a, b) => who(a).localeCompare(who(b)) || a.cluster.localeCompare(b.cluster));
  reconcile(root, sorted, (t) => t.cluster, (t) => tileSkeleton(t, { viewer, onSelect }),
    (el, t) => updateTile(el, t, { viewer, selected }), { animate: false });
}

/** Refresh every "… ago" without waiting for a tile to change. */
export function refreshAges(root) {
  for (const el of root.querySelectorAll("time.last-when")) {
    if (el.dataset.wall) setText(el, ago(Number(el.dataset.wall)));
  }
}
