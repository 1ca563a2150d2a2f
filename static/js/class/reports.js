// The class's drill reports: one table row per stored report (GET /class/api/reports, the rows of
// webapp/classroom/grading.py) and the time-to-recover distribution as a histogram (uPlot bars),
// with the reports that never recovered as a bar of their own: leaving them out would flatter the class.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { h } from "../dom.js";
import { getJSON } from "./api.js";

const $ = (sel) => document.querySelector(sel);
const secs = (v) => (v === null || v === undefined ? "—" : `${v} s`);
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(2)} %`);
const STEPS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600];
const MAX_BINS = 12;
// Readable from the back of the room: the axes in the page's own colour and size.
const AXIS = { stroke: "#e8ecf3", font: "15px system-ui, sans-serif", labelFont: "bold 15px system-ui, sans-serif",
  ticks: { stroke: "#3a4558" } };

let chart = null;
let loading = null;
let again = false;
let refused = false;      // the server will not show this page the reports (a viewer)
let all = [];             // every report, newest first, as the server sent them

/** "2026-12-03 17:17" in the browser's time zone (the server sends ISO dates in UTC). */
function shortDate(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return iso || "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * Bins for a histogram of `values` (seconds, >= 0): the smallest "round" width giving at most
 * MAX_BINS bins. Returns {width, counts} with counts[i] = how many fall in [i*width, (i+1)*width).
 */
export function histogram(values) {
  const top = Math.max(0, ...values);
  const width = STEPS.find((w) => Math.floor(top / w) + 1 <= MAX_BINS) || Math.ceil((top + 1) / MAX_BINS);
  const counts = new Array(Math.floor(top / width) + 1).fill(0);
  for (const v of values) counts[Math.floor(v / width)] += 1;
  return { width, counts };
}

const median = (sorted) => (sorted.length % 2 ? sorted[(sorted.length - 1) / 2]
  : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2);

function drawChart(reports) {
  const root = $("#ttr-chart");
  const summary = $("#ttr-summary");
  if (chart) { chart.destroy(); chart = null; }
  root.replaceChildren();
  // No time to recover means one of two things (engine/drills.py): no probe ever failed (a passed
  // drill: nothing to recover from), or one was still failing at the end (it did not recover).
  const recovered = reports.map((r) => r.time_to_recover).filter((v) => typeof v === "number").sort((a, b) => a - b);
  const held = reports.filter((r) => typeof r.time_to_recover !== "number" && r.verdict === "passed").length;
  const never = reports.length - recovered.length - held;
  root.closest("figure").hidden = !reports.length;
  if (!reports.length) { summary.textContent = ""; return; }
  const parts = [];
  if (recovered.length) {
    parts.push(`Time to recover: median ${median(recovered)} s, fastest ${recovered[0]} s, slowest ${recovered[recovered.length - 1]} s`
      + ` (${recovered.length} report${recovered.length === 1 ? "" : "s"})`);
  }
  if (never) parts.push(`${never} did not recover`);
  if (held) parts.push(`${held} never failed (nothing to recover from)`);
  summary.textContent = `${parts.join("; ")}.`;
  if (!recovered.length && !never) { chart = null; return; }

  const { width, counts } = recovered.length ? histogram(recovered) : { width: 0, counts: [] };
  const labels = counts.map((_, i) => `${i * width}–${(i + 1) * width} s`);
  if (never) labels.push("did not recover");
  const xs = labels.map((_, i) => i);
  const inTime = [...counts, ...(never ? [null] : [])];
  const late = [...counts.map(() => null), ...(never ? [never] : [])];
  const bars = uPlot.paths.bars({ size: [0.8, 80] });
  chart = new uPlot({
    width: Math.max(320, Math.min(900, root.clientWidth || 760)), height: 260,
    scales: { x: { time: false, range: [-0.5, xs.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    legend: { show: false },
    cursor: { show: false },
    axes: [
      { label: "time to recover", splits: () => xs, values: (_u, ticks) => ticks.map((i) => labels[i] ?? ""), grid: { show: false }, ...AXIS },
      { label: "reports", splits: (_u, _i, _min, max) => Array.from({ length: Math.floor(max) + 1 }, (_, i) => i),
        values: (_u, ticks) => ticks.map((v) => String(v)), size: 50, ...AXIS },
    ],
    series: [{},
      { label: "recovered", fill: "rgba(76, 141, 255, .55)", stroke: "#4c8dff", paths: bars, points: { show: false } },
      { label: "did not recover", fill: "rgba(255, 93, 106, .55)", stroke: "#ff5d6a", paths: bars, points: { show: false } }],
  }, [xs, inTime, late], root);
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", `Histogram: ${labels.map((l, i) => `${l}: ${inTime[i] ?? late[i]}`).join(", ")}`);
}

function row(r) {
  const actions = typeof r.actions === "number" ? r.actions : (r.actions || []).length;
  return h("tr", { dataset: { id: String(r.id), cluster: r.cluster || "" } },
    h("td", { class: "report-student", text: r.student || r.cluster }),
    h("td", { text: r.title || r.drill }),
    h("td", {}, h("time", { datetime: r.date || "", text: shortDate(r.date) })),
    h("td", {}, h("span", { class: "report-verdict", dataset: { verdict: r.verdict || "" }, text: r.verdict || "" })),
    h("td", { class: "num", text: secs(r.time_to_detect) }),
    h("td", { class: "num", text: secs(r.time_to_recover) }),
    h("td", { class: "num", text: secs(r.downtime_seconds) }),
    h("td", { class: "num", text: pct(r.availability) }),
    h("td", { class: "num", text: String(actions) }),
    h("td", {}, h("a", { href: `/class/api/reports/${encodeURIComponent(r.id)}`,
      download: `kubedrill-${r.cluster || "report"}-${r.drill}-${r.id}.json`, text: "JSON" })));
}

async function load() {
  const error = $("#reports-error");
  let reports;
  try {
    const body = await getJSON("/class/api/reports");
    reports = Array.isArray(body) ? body : [];
  } catch (err) {
    // A viewer's link may watch, not read the grades: say so once and stop asking.
    refused = err.code === 403 || err.code === 401;
    error.textContent = refused ? "The drill reports are the instructor's: this view cannot read them." : `Could not load the reports: ${err.message}`;
    error.hidden = false;
    for (const el of document.querySelectorAll(".report-tools a, .report-tools button, .report-tools label")) el.hidden = refused;
    if (refused) $("#no-reports").hidden = true;
    if (refused) $("#reports-table").hidden = true;
    return;
  }
  error.hidden = true;
  all = reports;
  fillDrillFilter(reports);
  show();
}

/** The drill filter offers the drills that have reports (times of different drills do not compare). */
function fillDrillFilter(reports) {
  const select = $("#reports-drill");
  const chosen = select.value;
  const titles = new Map();
  for (const r of reports) if (!titles.has(r.drill)) titles.set(r.drill, r.title || r.drill);
  select.replaceChildren(h("option", { value: "", text: "every drill" }),
    ...[...titles].sort((x, y) => x[0].localeCompare(y[0])).map(([id, title]) => h("option", { value: id, text: title })));
  select.value = titles.has(chosen) ? chosen : "";
}

function show() {
  const drill = $("#reports-drill").value;
  const reports = drill ? all.filter((r) => r.drill === drill) : all;
  $("#no-reports").hidden = reports.length > 0;
  $("#reports-table").hidden = !reports.length;
  $("#reports-table tbody").replaceChildren(...reports.map(row));
  drawChart(reports);
}

/** Wire the drill filter (once). */
export function initReports() {
  $("#reports-drill").addEventListener("change", show);
}

/** (Re)load the reports; calls during a load make one more load after it, not one each. */
export async function loadReports() {
  if (refused) return undefined;
  if (loading) { again = true; return loading; }
  loading = load();
  try { await loading; } finally { loading = null; }
  if (again) { again = false; await loadReports(); }
  return undefined;
}
