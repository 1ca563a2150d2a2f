// Drills panel: the picker and briefing, the live drill (timer, probes, hints, actions) and the
// final report with its timeline chart (uPlot) and exports. Text only, never innerHTML.
// The server pushes the drill's status as the socket event "drill" (see webapp/live.py).

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { h, reconcile, setAttr, setText } from "../dom.js";
import { runAction } from "../actions.js";
import { toast } from "../ui/toast.js";
import { deniedNote, guard, url } from "../ui/permissions.js";
import { icon } from "../ui/icons.js";

const model = {
  catalogue: null,      // [{id, title, teaches, briefing, time_limit, probes, hints, timeline}]
  loadError: "",
  loading: false,
  chosen: null,         // drill id whose briefing is open
  status: { active: false },
  busy: false,
};
let changed = () => {};

/** Wire the panel: `onChange` asks the controller for a render. */
export function initDrills(onChange) { changed = onChange; }

/** Take the server's "drill" event (status of the loaded drill, or {active: false}). */
let runningId = null;    // the drill seen running, so its end is announced once (even across a resync)

export function setDrillStatus(status, { quiet = false } = {}) {
  model.status = status && typeof status === "object" ? status : { active: false };
  const now = model.status;
  if (now.active && now.phase === "Running") runningId = now.id;
  else if (!quiet && now.active && now.report && runningId === now.id) {
    runningId = null;
    toast(`Drill over: ${now.report.verdict}. ${now.report.reason}`, { kind: now.report.verdict === "passed" ? "ok" : "error" });
  } else if (!quiet) runningId = null;
  changed();
}

export const drillStatus = () => model.status;

const clock = (s) => {
  const v = Math.max(0, Math.round(Number(s) || 0));
  return `${Math.floor(v / 60)}:${String(v % 60).padStart(2, "0")}`;
};
const secs = (v) => (v === null || v === undefined ? "—" : `${v} s`);
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(2)} %`);

// A busy server (a classroom on two cores) can be slow to answer: give each try 15 s, then retry on
// its own after 1, 2, 4 … 30 s, saying so, instead of leaving the picker empty until a reload.
const CATALOGUE_TIMEOUT_MS = 15000;
let catalogueRetry = 0;

async function loadCatalogue() {
  if (model.loading) return;
  model.loading = true;
  try {
    const resp = await fetch(url("/ui/drills"), {
      headers: { Accept: "application/json" }, signal: AbortSignal.timeout(CATALOGUE_TIMEOUT_MS),
    });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const body = await resp.json();
    model.catalogue = body.drills || [];
    model.loadError = "";
    catalogueRetry = 0;
  } catch (e) {
    const wait = Math.min(30, 2 ** catalogueRetry++);
    const why = e.name === "TimeoutError" ? "the server did not answer in time" : e.message;
    model.loadError = `Could not load the drills (${why}); trying again in ${wait} s.`;
    setTimeout(() => { if (!model.catalogue) loadCatalogue(); }, wait * 1000);
  } finally {
    model.loading = false;
    changed();
  }
}

async function act(type, args, text) {
  if (model.busy) return undefined;
  model.busy = true;
  changed();
  try {
    return await runAction(type, args, text);
  } finally {
    model.busy = false;
    changed();
  }
}

/** Label the Drills tab with the timer while a drill runs, so it is visible from any tab. */
export function renderDrillTab(tab) {
  if (!tab) return;
  const s = model.status;
  const running = s.active && s.phase === "Running";
  setText(tab, running ? `Drill ${clock(s.remaining)}` : "Drills");
  setAttr(tab, "data-running", running ? "1" : null);
}

/** Render the drills panel (picker, live drill or report, by the drill's phase). */
export function renderDrills(root) {
  const s = model.status;
  const view = !s.active ? "picker" : s.phase === "Running" ? "live" : "report";
  if (root.dataset.view !== view) {
    root.dataset.view = view;
    root.replaceChildren();
    root.__sig = null;
  }
  if (view === "picker") renderPicker(root);
  else if (view === "live") renderLive(root, s);
  else renderReport(root, s);
  for (const b of root.querySelectorAll("button[data-busy-aware]")) b.disabled = model.busy || !guard(b, "control");
  // Start, hint, stop, try again: the drill is the cluster owner's; say so above the disabled buttons.
  if (!root.querySelector(":scope > .denied-note")) {
    const note = deniedNote("control");
    if (note) root.prepend(note);
  }
}

// ---------------------------------------------------------------- picker and briefing

function renderPicker(root) {
  if (!model.catalogue && !model.loading && !model.loadError) loadCatalogue();
  if (!root.firstChild) {
    root.append(
      h("p", { class: "hint muted", text: "Break a cluster on purpose and see how well your service survives. Pick a drill, read the briefing, start it: the timer runs in simulated time." }),
      h("p", { class: "drill-error", role: "alert", hidden: true }),
      h("ol", { class: "drill-list cards", "aria-label": "Drills" }));
  }
  const err = root.querySelector(".drill-error");
  setText(err, model.loadError);
  err.hidden = !model.loadError;
  reconcile(root.querySelector(".drill-list"), model.catalogue || [], (d) => d.id, drillCard, (el, d) => {
    const open = model.chosen === d.id;
    if (el.__open !== open) {
      el.__open = open;
      el.querySelector(".drill-briefing").hidden = !open;
      setAttr(el.querySelector(".drill-toggle"), "aria-expanded", open ? "true" : "false");
      setText(el.querySelector(".drill-toggle"), open ? "Hide briefing" : "Briefing");
    }
  }, { animate: false });
}

function drillCard(d) {
  const probes = (d.probes || []).map((p) => h("li", {}, h("code", { text: p.name }), ` ${probeGoal(p)}`));
  const timeline = (d.timeline || []).map((e) => h("li", { text: `at ${e.at} s: ${timelineText(e)}` }));
  return h("li", { class: "card drill-card", dataset: { drill: d.id } },
    h("div", { class: "card-head" },
      h("b", { class: "drill-title", text: d.title }),
      h("span", { class: "badge drill-limit", title: "time limit (simulated)" }, icon("stopwatch"), ` ${clock(d.time_limit)}`)),
    h("p", { class: "drill-teaches muted", text: d.teaches }),
    h("div", { class: "drill-actions" },
      h("button", { type: "button", class: "btn btn-small drill-toggle", "aria-expanded": "false", text: "Briefing",
        onclick: () => { model.chosen = model.chosen === d.id ? null : d.id; changed(); } })),
    h("div", { class: "drill-briefing", hidden: true },
      d.briefing ? h("p", { class: "drill-brief-text", text: d.briefing }) : null,
      h("h4", { text: "Steady state (checked every simulated second)" }),
      h("ul", { class: "drill-probes-goal" }, probes),
      timeline.length ? h("h4", { text: "Announced events" }) : null,
      timeline.length ? h("ul", {}, timeline) : null,
      h("p", { class: "muted", text: `${d.hints} hint${d.hints === 1 ? "" : "s"} available. A probe fails after 3 failing samples in a row; you pass if every probe passes at the end.` }),
      h("button", { type: "button", class: "btn btn-primary drill-start", "data-busy-aware": "1", text: `Start “${d.title}”`,
        onclick: () => act("drill.start", { id: d.id }, `Drill started: ${d.title}`) })));
}

function probeGoal(p) {
  switch (p.type) {
    case "service-success-rate": return `Service ${p.service} answers ≥ ${Math.round((p.min ?? 0.99) * 1000) / 10} % of requests`;
    case "deployment-ready": return `Deployment ${p.deployment} has ≥ ${p.min ?? 1} ready pods`;
    case "statefulset-ready": return `StatefulSet ${p.statefulset} has ≥ ${p.min ?? 1} ready pods`;
    case "statefulset-data-intact": return `StatefulSet ${p.statefulset} keeps its data`;
    case "nodes-ready": return `≥ ${p.min ?? 1} nodes Ready`;
    case "api-available": return "the API server answers";
    case "rollout-complete": return `Deployment ${p.deployment} is fully rolled out`;
    case "service-capacity": return `Service ${p.service} has capacity for its load`;
    case "pod-count": return `between ${p.min ?? 0} and ${p.max ?? "∞"} matching pods`;
    default: return p.type;
  }
}

function timelineText(e) {
  if (e.inject) return `${e.inject.kind} ${e.inject.name}${e.inject.action ? ` (${e.inject.action})` : ""}`;
  if (e.load) return `load on ${e.load.service}: ${e.load.rps} requests/s`;
  return String(e.action || "");
}

// ---------------------------------------------------------------- the live drill

function renderLive(root, s) {
  if (!root.firstChild) {
    root.append(...[
      h("div", { class: "drill-head" },
        h("h3", { class: "drill-title", text: s.title }),
        h("div", { class: "drill-timer", role: "timer", "aria-label": "Time left" },
          h("span", { class: "muted", text: "time left " }), h("b", { id: "drill-timer" })),
        h("progress", { id: "drill-progress", max: String(s.time_limit), value: "0" })),
      s.briefing ? h("p", { class: "drill-brief-text muted", text: s.briefing }) : null,
      h("h4", { text: "Probes" }),
      h("ul", { class: "drill-probes", "aria-label": "Probes" }),
      h("h4", { text: "Hints" }),
      h("ol", { class: "drill-hints" }),
      h("button", { type: "button", class: "btn btn-small drill-hint", "data-busy-aware": "1",
        onclick: async () => {
          const ack = await act("drill.hint", {}, "Hint revealed");
          if (ack?.ok && !ack.result?.hint) toast("No more hints", { kind: "info" });
        } }),
      h("h4", { text: "Events so far" }),
      h("ul", { class: "drill-faults" }),
      h("h4", { text: "Your actions" }),
      h("ol", { class: "drill-actions-log" }),
      h("div", { class: "drill-buttons" },
        h("button", { type: "button", class: "btn drill-finish", "data-busy-aware": "1", text: "Finish now",
          title: "Play the remaining time at once and score it",
          onclick: () => act("drill.stop", { finish: true }, "Drill fast-forwarded to its end") }),
        h("button", { type: "button", class: "btn btn-danger drill-stop", "data-busy-aware": "1", text: "Stop drill",
          onclick: () => act("drill.stop", {}, "Drill stopped") })),
    ].filter(Boolean));
  }
  setText(root.querySelector("#drill-timer"), clock(s.remaining));
  setAttr(root.querySelector("#drill-progress"), "value", String(s.t));
  reconcile(root.querySelector(".drill-probes"), s.probes || [], (p) => p.name,
    (p) => h("li", { class: "drill-probe", dataset: { probe: p.name } },
      h("span", { class: "probe-state" }), h("code", { text: p.name }), h("span", { class: "probe-value muted" })),
    (el, p) => {
      setAttr(el, "data-passing", p.passing ? "true" : "false");
      const state = !p.passing ? "✖ failing" : p.streak > 0 ? `⚠ ${p.streak} failed in a row` : "✔ passing";
      setText(el.querySelector(".probe-state"), state);
      setText(el.querySelector(".probe-value"), `${p.type}: ${formatValue(p.value)}`);
    }, { animate: false });
  const sig = `${(s.hints || []).length}|${s.hints_total}|${(s.faults || []).length}|${(s.actions || []).length}`;
  if (root.__sig !== sig) {
    root.__sig = sig;
    root.querySelector(".drill-hints").replaceChildren(...(s.hints || []).map((x) => h("li", { class: "drill-hint-text", text: x.text })));
    const left = s.hints_total - (s.hints || []).length;
    const btn = root.querySelector(".drill-hint");
    setText(btn, left > 0 ? `Reveal a hint (${left} left)` : "No hints left");
    btn.dataset.left = String(left);
    root.querySelector(".drill-faults").replaceChildren(...(s.faults || []).map(faultItem));
    if (!(s.faults || []).length) root.querySelector(".drill-faults").append(h("li", { class: "muted", text: "Nothing announced yet." }));
    root.querySelector(".drill-actions-log").replaceChildren(...(s.actions || []).map(actionItem));
  }
}

function formatValue(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : `${Math.round(v * 1000) / 10} %`;
  if (typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}=${x}`).join(", ");
  return String(v);
}

function faultItem(f) {
  const what = `${f.kind || ""} ${f.name || ""}${f.action && f.action !== f.name ? ` (${f.action})` : ""}`.trim();
  return h("li", { class: "drill-fault", dataset: { ok: f.ok ? "1" : "0" } },
    h("b", { text: `${f.at} s ` }), what, f.hidden ? h("span", { class: "muted", text: " — was hidden" }) : null,
    f.ok ? null : h("span", { class: "bad", text: ` failed: ${f.error || ""}` }));
}

function actionItem(a) {
  const args = Object.entries(a.args || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  return h("li", { class: "drill-action", dataset: { ok: a.ok ? "1" : "0" } },
    h("b", { text: `${a.at} s ` }), h("code", { text: a.action }), ` ${args}`,
    h("span", { class: "muted", text: ` via ${a.via || "drill"}` }),
    a.ok ? null : h("span", { class: "bad", text: ` — ${a.error || "failed"}` }));
}

// ---------------------------------------------------------------- the report

function renderReport(root, s) {
  const r = s.report || {};
  const sig = `${s.id}|${s.seq}`;
  if (root.__sig !== sig) {
    root.__sig = sig;
    if (root.__plot) { root.__plot.destroy(); root.__plot = null; }
    root.replaceChildren(...reportNodes(s, r).filter(Boolean));
  }
  const holder = root.querySelector(".drill-chart");
  if (holder && !root.__plot && holder.clientWidth > 0) root.__plot = timelineChart(r, s, holder);
  else if (root.__plot && Math.abs(root.__plot.width - holder.clientWidth) > 4) root.__plot.setSize({ width: holder.clientWidth, height: 200 });
}

function reportNodes(s, r) {
  const defs = r.definitions || {};
  // The figure alone in its element (tests and exports read it), its meaning on lines below it.
  const fact = (label, value, id, ...notes) => h("div", {},
    h("dt", { text: label }),
    h("dd", {}, h("span", { id, text: value }),
      ...notes.filter(Boolean).map((n) => h("div", { class: "muted drill-def", text: n }))));
  const services = Object.entries(r.services || {}).map(([name, v]) =>
    fact(`Service ${name}`, `${pct(v.availability)} available, ${v.downtime_seconds ?? 0} s down`, undefined,
      `seconds below ${Math.round((v.min ?? 0.99) * 1000) / 10} % of requests answered (probe ${v.probe}); `
        + `${pct(v.mean_success_rate)} answered on average`));
  return [
    h("div", { class: "drill-head" },
      h("h3", { class: "drill-title", text: r.title || s.title }),
      h("span", { id: "drill-verdict", class: "drill-verdict", dataset: { verdict: r.verdict || "" },
        text: r.verdict || "" }),
      r.finished_early ? h("span", { id: "drill-finished-early", class: "badge", text: "finished early" }) : null),
    h("p", { id: "drill-reason", class: "drill-reason", text: r.reason || "" }),
    h("p", { class: "muted drill-meta",
      text: `drill ${r.drill || s.id} · seed ${r.seed ?? "—"}${r.date ? ` · ended ${r.date}` : ""}` }),
    h("dl", { class: "drill-facts" },
      fact("Time played", `${r.played_seconds ?? s.t} / ${r.time_limit ?? s.time_limit} s`, "drill-played",
        r.played_note),
      fact("First fault at", secs(r.first_fault_at)),
      fact("Time to detect", secs(r.time_to_detect), "drill-ttd", r.detection, defs.time_to_detect),
      fact("Time to recover", secs(r.time_to_recover), "drill-ttr", defs.time_to_recover),
      fact("Downtime (steady state)", `${r.downtime_seconds ?? 0} s`, "drill-downtime",
        `of ${r.samples ?? 0} s sampled; ${defs.downtime || ""}`),
      fact("Availability (steady state)", pct(r.availability), "drill-availability", defs.availability),
      services),
    h("figure", { class: "chart drill-chart-box" },
      h("figcaption", { text: "Timeline: availability and replicas, faults (✖) and your actions (●)" }),
      h("div", { class: "drill-chart" })),
    h("h4", { text: "Faults" }),
    h("ul", { class: "drill-faults" }, (r.faults || []).map(faultItem)),
    h("h4", { text: "Your actions" }),
    (r.actions || []).length ? h("ol", { class: "drill-actions-log" }, r.actions.map(actionItem)) : h("p", { class: "muted", text: "You took no action." }),
    (r.hints || []).length ? h("h4", { text: "Hints used" }) : null,
    (r.hints || []).length ? h("ol", {}, r.hints.map((x) => h("li", { text: `at ${x.at} s: ${x.text}` }))) : null,
    r.explanation ? h("h4", { text: "What happened" }) : null,
    r.explanation ? h("p", { class: "drill-explanation", text: r.explanation }) : null,
    h("div", { class: "drill-buttons" },
      h("a", { class: "btn", id: "drill-export-json", href: url("/ui/drills/report.json"), download: `kubedrill-${r.drill || s.id}-report.json`, text: "Download JSON" }),
      h("a", { class: "btn", id: "drill-printable", href: url("/ui/drills/report"), target: "_blank", rel: "noopener", text: "Printable report" }),
      h("button", { type: "button", class: "btn", "data-busy-aware": "1", text: "Try again",
        onclick: () => act("drill.start", { id: s.id }, `Drill restarted: ${s.title}`) }),
      h("button", { type: "button", class: "btn btn-ghost drill-exit", "data-busy-aware": "1", text: "Back to my cluster",
        onclick: () => act("drill.exit", {}, "Back to your own cluster") })),
  ];
}

const COLOURS = ["#3ecf8e", "#4c8dff", "#f5b748", "#b48cff", "#ff8fa3"];

/** The report's timeline: % series (Service success, steady state) and count series (ready pods). */
function timelineChart(r, s, el) {
  const rows = r.series || [];
  const t = rows.map((row) => row.t);
  const probes = r.probes || [];
  const series = [{ label: "t", value: (u, v) => (v == null ? "" : `${v} s`) }];
  const data = [t];
  series.push({ label: "steady state %", scale: "%", stroke: "#8b93a7", width: 1.5, dash: [5, 4], points: { show: false } });
  data.push(rows.map((row) => (Object.values(row.probes || {}).every(Boolean) ? 100 : 0)));
  probes.forEach((p, i) => {
    const values = rows.map((row) => (row.values || {})[p.name]);
    if (p.type === "service-success-rate") {
      series.push({ label: `${p.name} %`, scale: "%", stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: false } });
      data.push(values.map((v) => (typeof v === "number" ? v * 100 : null)));
    } else if (values.some((v) => typeof v === "number")) {
      series.push({ label: p.name, scale: "n", stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: false } });
      data.push(values.map((v) => (typeof v === "number" ? v : null)));
    }
  });
  const marks = [
    ...(r.faults || []).filter((f) => f.ok && f.fault !== false).map((f) => ({ t: f.at, label: `✖ ${f.name || f.kind}`, colour: "#ff5d6a" })),
    ...(r.actions || []).map((a) => ({ t: a.at, label: `● ${a.action}`, colour: "#4c8dff" })),
  ];
  const axis = { stroke: "#8b93a7", grid: { stroke: "rgba(140,150,170,.15)" } };
  return new uPlot({
    width: el.clientWidth, height: 200,
    scales: { x: { time: false, range: [0, Math.max(r.time_limit || 1, ...t)] }, "%": { range: [0, 105] }, n: { range: (u, min, max) => [0, Math.max(1, (max || 0) + 1)] } },
    axes: [{ ...axis, values: (u, vals) => vals.map((v) => `${v}s`) }, { ...axis, scale: "%", size: 40 }, { ...axis, scale: "n", side: 1, size: 30, grid: { show: false } }],
    legend: { show: true, live: false },
    cursor: { points: { show: false } },
    series,
    plugins: [{ hooks: { draw: [(u) => drawMarks(u, marks)] } }],
  }, data, el);
}

function drawMarks(u, marks) {
  const ctx = u.ctx;
  const px = devicePixelRatio;
  ctx.save();
  ctx.lineWidth = 1.5 * px;
  ctx.setLineDash([4 * px, 3 * px]);
  ctx.font = `${11 * px}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  marks.forEach((m, i) => {
    const x = u.valToPos(m.t, "x", true);
    ctx.strokeStyle = m.colour;
    ctx.fillStyle = m.colour;
    ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
    ctx.fillText(m.label, x + 3 * px, u.bbox.top + (2 + 13 * (i % 4)) * px);
  });
  ctx.restore();
}
