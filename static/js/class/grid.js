// The instructor's grid: a live tile per student (Socket.IO "tiles" events, auth {grid: true}),
// bulk actions (POST /class/api/bulk), the join code and viewer link, and every drill report with
// the class's time-to-recover chart. Names are the students' own text: textContent only (h()).

/* global io */
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { h } from "../dom.js";
import { toast } from "../ui/toast.js";

const $ = (sel) => document.querySelector(sel);
const viewer = document.body.dataset.viewer === "1";
const tiles = new Map();          // cluster id -> tile (webapp.hub._tile)
const selected = new Set();
let reportsPhase = new Map();     // cluster -> drill phase last seen, to refresh reports when a drill ends

const FAULTS = {
  "kill-web": { type: "pod.delete", args: { namespace: "default", selector: "app=web" } },
  "crash-web": { type: "pod.crash", args: { namespace: "default", selector: "app=web" } },
  "power-off": { type: "node.power_off", args: { name: "node-2" } },
  "power-on": { type: "node.power_on", args: { name: "node-2" } },
  drain: { type: "node.drain", args: { name: "node-1" } },
  uncordon: { type: "node.uncordon", args: { name: "node-1" } },
};

function ago(wall) {
  if (!wall) return "";
  const s = Math.max(0, Math.round(Date.now() / 1000 - wall));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3600)} h ago`;
}

function clock(t) {
  const v = Math.max(0, Math.round(Number(t) || 0));
  return `${Math.floor(v / 60)}:${String(v % 60).padStart(2, "0")}`;
}

// ---------------------------------------------------------------- tiles
function tileView(t) {
  const ok = t.nodes_ready === t.nodes && t.workloads_available >= t.workloads_desired;
  const box = h("input", { type: "checkbox", class: "tile-select", "aria-label": `Select ${t.owner || t.cluster}` });
  box.checked = selected.has(t.cluster);
  box.disabled = viewer;
  box.addEventListener("change", () => { box.checked ? selected.add(t.cluster) : selected.delete(t.cluster); renderSelection(); });
  const drill = t.drill
    ? h("div", { class: "tile-drill", dataset: { phase: t.drill.phase } },
      h("span", { class: "drill-title", text: t.drill.title }),
      h("span", { class: "drill-time", text: ` ${t.drill.phase === "Running" ? "" : `${t.drill.phase} · `}${clock(t.drill.t)} / ${clock(t.drill.time_limit)}` }),
      h("span", { class: "probes", "aria-label": "probes" },
        t.drill.probes.map((p) => h("span", { class: `probe-dot ${p.passing ? "pass" : "fail"}`, title: `${p.name}: ${p.passing ? "passing" : "failing"}`, text: p.passing ? "●" : "✖" }))))
    : h("div", { class: "tile-drill muted", text: "no drill" });
  const last = t.last_action
    ? h("div", { class: "tile-last" }, h("span", { class: "muted", text: "last: " }),
      h("span", { text: `${t.last_action.action} (${t.last_action.via})${t.last_action.ok ? "" : " ✖"} ` }),
      h("time", { class: "muted", dataset: { wall: String(t.last_action.wall) }, text: ago(t.last_action.wall) }))
    : h("div", { class: "tile-last muted", text: "no action yet" });
  const pace = `${t.paused ? "paused" : `${t.speed}×`}${t.speed_lock ? " 🔒" : ""}`;
  return h("article", { class: "tile", role: "listitem", dataset: { cluster: t.cluster, health: t.health, ok: ok ? "1" : "0", loaded: t.loaded ? "1" : "0" } },
    h("header", {}, box, h("h3", { class: "tile-name", text: t.owner || t.cluster }), h("span", { class: "tile-pace muted", text: pace })),
    h("div", { class: "tile-stats" },
      h("span", { class: "nodes", text: `nodes ${t.nodes_ready}/${t.nodes} Ready` }),
      h("span", { class: "workloads", text: `workloads ${t.workloads_available}/${t.workloads_desired} available` })),
    drill, last,
    h("footer", {},
      h("span", { class: "muted", text: t.cluster + (t.loaded ? "" : " · asleep") + (t.health !== "ok" ? ` · ${t.health}` : "") }),
      h("a", { class: "btn btn-small", href: `/c/${encodeURIComponent(t.cluster)}/`, text: viewer ? "Watch" : "Watch / take over" })));
}

function renderTiles() {
  const root = $("#tiles");
  const students = [...tiles.values()].filter((t) => t.cluster !== "demo").sort((a, b) => (a.owner || a.cluster).localeCompare(b.owner || b.cluster));
  root.replaceChildren(...students.map(tileView));
  $("#no-students").hidden = students.length > 0;
  renderSelection();
}

function renderSelection() {
  for (const id of selected) if (!tiles.has(id)) selected.delete(id);
  const n = selected.size;
  $("#selected-count").textContent = n ? `${n} selected — actions go to them only` : "0 selected — actions go to every student";
  const all = [...tiles.keys()].filter((c) => c !== "demo");
  $("#select-all").checked = all.length > 0 && all.every((c) => selected.has(c));
}

function onTiles(msg) {
  if (msg.full) tiles.clear();
  let ended = false;
  for (const t of msg.tiles || []) {
    tiles.set(t.cluster, t);
    const phase = t.drill ? t.drill.phase : null;
    if (reportsPhase.has(t.cluster) && reportsPhase.get(t.cluster) === "Running" && phase !== "Running") ended = true;
    reportsPhase.set(t.cluster, phase);
  }
  renderTiles();
  if (ended) loadReports();
}

// ---------------------------------------------------------------- actions
async function post(path, body) {
  const resp = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body || {}), credentials: "same-origin" });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.message || `HTTP ${resp.status}`);
  return data;
}

async function bulk(action, args = {}, label = action) {
  const clusters = selected.size ? [...selected] : null;
  const out = $("#bulk-result");
  out.hidden = false;
  out.textContent = `${label}: working…`;
  try {
    const { results } = await post("/class/api/bulk", { action, args, clusters });
    const failed = results.filter((r) => !r.ok);
    out.replaceChildren(h("span", { text: `${label}: ${results.length - failed.length} of ${results.length} clusters done.` }),
      ...failed.map((r) => h("span", { class: "bulk-error", text: ` ${tiles.get(r.cluster)?.owner || r.cluster}: ${r.error?.message || "failed"}.` })));
  } catch (err) {
    out.textContent = `${label}: ${err.message}`;
  }
}

function wireBulk() {
  $("#select-all").addEventListener("change", (e) => {
    for (const c of tiles.keys()) if (c !== "demo") (e.target.checked ? selected.add(c) : selected.delete(c));
    renderTiles();
  });
  $("#bulk-drill-start").addEventListener("click", () => bulk("drill.start", { id: $("#bulk-drill").value }, `Start drill ${$("#bulk-drill").selectedOptions[0]?.textContent || ""}`));
  $("#bulk-fault-go").addEventListener("click", () => bulk("fault", FAULTS[$("#bulk-fault").value], $("#bulk-fault").selectedOptions[0].textContent));
  $("#bulk-pause").addEventListener("click", () => bulk("sim.pause", {}, "Pause"));
  $("#bulk-resume").addEventListener("click", () => bulk("sim.resume", {}, "Resume"));
  $("#bulk-lock").addEventListener("click", () => bulk("lock_speed", { speed: Number($("#bulk-speed").value) }, `Lock speed at ${$("#bulk-speed").value}×`));
  $("#bulk-unlock").addEventListener("click", () => bulk("unlock_speed", {}, "Unlock speed"));
  $("#bulk-reset").addEventListener("click", () => {
    const who = selected.size ? `${selected.size} selected students'` : "every student's";
    if (window.confirm(`Reset ${who} cluster to the class template? Their work is lost.`)) bulk("sim.reset", {}, "Reset");
  });
  $("#new-code").addEventListener("click", async () => {
    try {
      const body = await post("/class/api/code", {});
      $("#join-code").textContent = body.code || body.join_code || "";
      $("#code-expires").textContent = body.code_expires ? `valid until ${body.code_expires}` : "";
      toast("New join code: the old one no longer works", { kind: "ok" });
    } catch (err) { toast(err.message, { kind: "error" }); }
  });
  $("#copy-viewer").addEventListener("click", async () => {
    try {
      const { url } = await post("/class/api/viewer", {});
      const field = $("#viewer-link");
      field.value = url;
      field.hidden = false;
      field.select();
      try { await navigator.clipboard.writeText(url); toast("Viewer link copied: it can watch, never act", { kind: "ok" }); } catch (_e) { toast("Viewer link below: copy it by hand", { kind: "info" }); }
    } catch (err) { toast(err.message, { kind: "error" }); }
  });
  if (viewer) {
    for (const el of document.querySelectorAll(".instructor-only button, .instructor-only input, .instructor-only select, button.instructor-only")) {
      el.disabled = true;
      el.title = "This is a read-only view.";
    }
  }
}

// ---------------------------------------------------------------- reports
const secs = (v) => (v === null || v === undefined ? "—" : `${v} s`);
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(2)} %`);
let chart = null;

async function loadReports() {
  let reports = [];
  try {
    const resp = await fetch("/class/api/reports", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const body = await resp.json();
    reports = Array.isArray(body) ? body : body.reports || body.items || [];
  } catch (err) {
    $("#ttr-summary").textContent = `Could not load the reports: ${err.message}`;
    return;
  }
  $("#no-reports").hidden = reports.length > 0;
  $("#reports-table tbody").replaceChildren(...reports.map((r) => h("tr", { dataset: { id: String(r.id) } },
    h("td", { text: r.student || r.cluster }), h("td", { text: r.title || r.drill }), h("td", { text: r.date || "" }),
    h("td", { text: r.verdict || "" }), h("td", { text: secs(r.time_to_detect) }), h("td", { text: secs(r.time_to_recover) }),
    h("td", { text: secs(r.downtime_seconds) }), h("td", { text: pct(r.availability) }),
    h("td", { text: String((r.actions || []).length) }),
    h("td", {}, h("a", { href: `/class/api/reports/${encodeURIComponent(r.id)}`, download: `kubedrill-${r.student || r.cluster}-${r.drill}.json`, text: "JSON" })))));
  drawChart(reports);
}

function drawChart(reports) {
  const done = reports.filter((r) => typeof r.time_to_recover === "number").sort((a, b) => a.time_to_recover - b.time_to_recover);
  const root = $("#ttr-chart");
  if (chart) { chart.destroy(); chart = null; }
  root.replaceChildren();
  const notRecovered = reports.length - done.length;
  if (!done.length) {
    $("#ttr-summary").textContent = reports.length ? `No report recovered yet (${notRecovered} did not).` : "";
    return;
  }
  const values = done.map((r) => r.time_to_recover);
  const median = values[Math.floor((values.length - 1) / 2)];
  $("#ttr-summary").textContent = `Time to recover: median ${median} s, fastest ${values[0]} s, slowest ${values[values.length - 1]} s` +
    (notRecovered ? `; ${notRecovered} did not recover` : "") + ".";
  const xs = done.map((_, i) => i + 1);
  chart = new uPlot({
    width: Math.min(760, root.clientWidth || 760), height: 220,
    scales: { x: { time: false } },
    axes: [{ label: "reports, fastest first", values: (_u, ticks) => ticks.map((i) => done[i - 1]?.student || "") }, { label: "time to recover (s)" }],
    series: [{}, { label: "time to recover (s)", fill: "rgba(11,107,203,.35)", stroke: "#0b6bcb", paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
  }, [xs, values], root);
}

// ---------------------------------------------------------------- live
function connect() {
  const state = $("#grid-connection");
  const set = (s, text) => { state.dataset.state = s; state.querySelector(".conn-text").textContent = text; };
  if (typeof io !== "function") return set("offline", "Socket.IO failed to load");
  const socket = io("/live", { auth: { grid: true }, transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  socket.on("connect", () => set("connected", "Live"));
  socket.on("disconnect", () => set("reconnecting", "Reconnecting…"));
  socket.on("connect_error", (err) => {
    if (err && err.data && err.data.kind === "Status") { socket.io.opts.reconnection = false; set("refused", err.data.message); } else set("reconnecting", "Reconnecting…");
  });
  socket.on("tiles", onTiles);
}

wireBulk();
connect();
loadReports();
$("#reports-refresh").addEventListener("click", loadReports);
setInterval(() => { for (const el of document.querySelectorAll("time[data-wall]")) el.textContent = ago(Number(el.dataset.wall)); }, 5000);
