// Charts over simulated time (vendored uPlot, MIT): desired vs ready replicas per workload and
// success rate per Service, with a marker wherever something was killed. The history is the
// server's (GET /ui/history, engine/history.py), so a reload, a second browser or a late joiner
// sees the same curves and every marker: loaded whole when the tab opens, then polled with
// ?since= about once a second while the tab is shown, appending what is new.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { h, reconcile, setText } from "../dom.js";
import { EPOCH_SECONDS, elapsedSeconds, simClockText } from "../k8s/time.js";
import { url } from "../ui/permissions.js";
import { ui } from "../ui/uistate.js";

const POLL_MS = 1000;
const series = new Map(); // key -> {key, title, kind, live, t: [unix s], a: [], b: []}
const markers = new Map(); // n -> {t: unix s, kind, what, who}
let loaded = null; // {now (engine seconds), started} of the last answer; null: load everything
let inflight = false;
let lastPoll = 0;

/** Fetch what is new (everything on first use) while the Charts tab is shown; called every frame. */
export function sample(state) {
  if (!state.synced || ui.tab !== "charts" || inflight || performance.now() - lastPoll < POLL_MS) return;
  lastPoll = performance.now();
  inflight = true;
  poll().catch(() => { /* the next poll retries; the curves stay as they were */ }).finally(() => { inflight = false; });
}

async function poll() {
  const since = loaded ? `?since=${loaded.now}` : "";
  const resp = await fetch(url(`/ui/history${since}`), { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!resp.ok) throw new Error(`history: HTTP ${resp.status}`);
  const body = await resp.json();
  if (loaded && (body.started !== loaded.started || body.now < loaded.now)) {
    loaded = null; // a reset (a new cluster) or another cluster: start over
    series.clear(); markers.clear();
    return;
  }
  merge(body, !loaded);
  loaded = { now: body.now, started: body.started };
  renderNow();
}

/** Append an answer: points after the last poll (its closing "now" point was provisional) and markers. */
function merge(body, whole) {
  const seen = new Set();
  for (const s of body.series) {
    seen.add(s.key);
    let mine = series.get(s.key);
    if (!mine || whole) { mine = { key: s.key, title: s.title, kind: s.kind, t: [], a: [], b: [] }; series.set(s.key, mine); }
    if (mine.provisional) { mine.t.pop(); mine.a.pop(); mine.b.pop(); }
    for (let i = 0; i < s.t.length; i++) {
      mine.t.push(EPOCH_SECONDS + s.t[i]); mine.a.push(s.a[i]); mine.b.push(s.b[i]);
    }
    mine.title = s.title; mine.live = s.live;
    mine.provisional = s.live && s.t.length > 0 && s.t[s.t.length - 1] === body.now;
  }
  for (const key of [...series.keys()]) if (!seen.has(key)) series.delete(key); // aged out on the server
  for (const m of body.markers) markers.set(m.n, { ...m, t: EPOCH_SECONDS + m.t });
}

let renderNow = () => {};

// ------------------------------------------------------------------ time axis

const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** Time since the cluster started: m:ss under an hour of span, h:mm beyond (h:mm:ss when both matter). */
function tickLabel(unix, span) {
  const e = Math.max(0, Math.round(elapsedSeconds(unix)));
  const hh = Math.floor(e / 3600), mm = Math.floor((e % 3600) / 60), ss = e % 60;
  const p2 = (n) => String(n).padStart(2, "0");
  if (span >= 3600) return `${hh}:${p2(mm)}`;
  return hh ? `${hh}:${p2(mm)}:${p2(ss)}` : `${mm}:${p2(ss)}`;
}

/** Tick positions a whole step apart, the step the smallest that leaves room for its labels. */
function timeSplits(u, axisIdx, min, max) {
  const span = max - min;
  if (!(span > 0)) return [min];
  const widthPx = u.bbox.width / devicePixelRatio;
  const labelPx = tickLabel(max, span).length * 7.5 + 18; // ~7.5 px per character at 12 px, plus a gap
  const step = STEPS.find((s) => (s / span) * widthPx >= labelPx) || STEPS[STEPS.length - 1];
  const first = Math.ceil(elapsedSeconds(min) / step) * step - elapsedSeconds(min) + min;
  const out = [];
  for (let v = first; v <= max + 1e-6; v += step) out.push(v);
  return out;
}

const timeValues = (u, vals) => {
  const span = u.scales.x.max - u.scales.x.min;
  return vals.map((v) => tickLabel(v, span));
};

// ------------------------------------------------------------------ markers

const MARK = "#e5484d";

/** A drawn ✕ (no font needed) and "what — who", labels stacked on rows so they never overlap. */
function markerPlugin() {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        const px = devicePixelRatio;
        ctx.save();
        ctx.strokeStyle = MARK;
        ctx.fillStyle = MARK;
        ctx.font = `${11 * px}px "DejaVu Sans", system-ui, sans-serif`;
        ctx.textAlign = "left";
        ctx.textBaseline = "top";
        const rowEnds = [-Infinity, -Infinity, -Infinity];
        const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
        for (const m of [...markers.values()].sort((x, y) => x.t - y.t)) {
          const x = u.valToPos(m.t, "x", true);
          if (x < left || x > right) continue;
          ctx.lineWidth = 1.5 * px;
          ctx.setLineDash([4 * px, 3 * px]);
          ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
          const row = rowEnds.findIndex((end) => x > end + 6 * px);
          if (row < 0) continue; // three rows of labels are full here: the line alone says it
          const y = u.bbox.top + (2 + row * 14) * px;
          const r = 3.5 * px, cx = x + 4 * px + r, cy = y + 5.5 * px;
          ctx.setLineDash([]);
          ctx.lineWidth = 2 * px;
          ctx.beginPath();
          ctx.moveTo(cx - r, cy - r); ctx.lineTo(cx + r, cy + r);
          ctx.moveTo(cx + r, cy - r); ctx.lineTo(cx - r, cy + r);
          ctx.stroke();
          const text = `${m.what} — ${m.who}`;
          const tx = cx + r + 4 * px;
          const room = right - tx;
          const shown = fit(ctx, text, room);
          if (shown) ctx.fillText(shown, tx, y);
          rowEnds[row] = tx + ctx.measureText(shown).width;
        }
        ctx.restore();
      }],
    },
  };
}

/** ``text`` cut with an ellipsis to fit ``room`` pixels ("" when not even a few characters fit). */
function fit(ctx, text, room) {
  if (ctx.measureText(text).width <= room) return text;
  for (let n = text.length - 1; n > 8; n--) {
    const cut = `${text.slice(0, n)}…`;
    if (ctx.measureText(cut).width <= room) return cut;
  }
  return "";
}

// ------------------------------------------------------------------ plots

const clockValue = (u, v) => (v == null ? "" : simClockText(v));
const stepped = uPlot.paths.stepped({ align: 1 });

function makePlot(s, el, width) {
  const opts = {
    width, height: 150,
    plugins: [markerPlugin()],
    scales: { x: { time: false }, y: s.kind === "rate" ? { range: [0, 100] } : { range: (u, min, max) => [0, Math.max(1, max + 1)] } },
    axes: [{ splits: timeSplits, values: timeValues, stroke: "#8b93a7", grid: { stroke: "rgba(140,150,170,.15)" } },
      { stroke: "#8b93a7", grid: { stroke: "rgba(140,150,170,.15)" }, size: 36 }],
    legend: { show: true, live: false },
    cursor: { show: true, points: { show: false } },
    series: s.kind === "rate"
      ? [{ label: "sim time", value: clockValue }, { label: "success %", stroke: "#30a46c", width: 2, fill: "rgba(48,164,108,.12)", points: { show: false }, paths: stepped }]
      : [{ label: "sim time", value: clockValue },
        { label: "desired", stroke: "#b48cff", width: 2, dash: [6, 4], points: { show: false }, paths: stepped },
        { label: "ready", stroke: "#3ecf8e", width: 2.5, fill: "rgba(62,207,142,.12)", points: { show: false }, paths: stepped }],
  };
  return new uPlot(opts, data(s), el);
}

const data = (s) => (s.kind === "rate" ? [s.t, s.a] : [s.t, s.a, s.b]);

function lastValue(arr) {
  for (let i = arr.length - 1; i >= 0; i--) if (arr[i] != null) return arr[i];
  return null;
}

/** Render the charts panel (only while visible: uPlot needs a measured width). */
export function renderCharts(root) {
  renderNow = () => { if (ui.tab === "charts") renderCharts(root); };
  const list = root.querySelector(".chart-list");
  const items = [...series.values()].sort((a, b) => (a.kind === b.kind ? (a.title < b.title ? -1 : 1) : a.kind === "replicas" ? -1 : 1));
  reconcile(list, items, (s) => s.key,
    (s) => h("figure", { class: "chart", dataset: { series: s.key } },
      h("figcaption", {}, h("span", { class: "chart-title" }), h("span", { class: "chart-now" })), h("div", { class: "chart-canvas" })),
    (el, s) => {
      setText(el.querySelector(".chart-title"), s.title);
      const a = lastValue(s.a), b = lastValue(s.b);
      setText(el.querySelector(".chart-now"), !s.live ? "deleted" : s.kind === "rate" ? `${(a ?? 0).toFixed(1)} %` : `${b ?? 0} / ${a ?? 0} ready`);
      el.__series = s;
    }, { animate: false });
  // Plots are built after the figures are in the document, so they can measure their width.
  const width = Math.max(260, list.clientWidth - 18);
  for (const el of list.children) {
    const s = el.__series;
    if (!s || el.dataset.gone) continue;
    if (!el.__plot) el.__plot = makePlot(s, el.querySelector(".chart-canvas"), width);
    else {
      if (Math.abs(el.__plot.width - width) > 4) el.__plot.setSize({ width, height: 150 });
      el.__plot.setData(data(s));
    }
  }
  root.querySelector(".chart-empty").hidden = items.length > 0;
  renderMarkerList(root);
}

const LISTED = 20;

/** The newest markers as text too: canvas labels are invisible to screen readers and get cut. */
function renderMarkerList(root) {
  let box = root.querySelector(".chart-markers");
  if (!box) {
    box = h("section", { class: "chart-markers", "aria-label": "Markers" }, h("h3", { text: "Markers" }), h("ol", {}));
    root.append(box);
  }
  const newest = [...markers.values()].sort((x, y) => y.t - x.t || y.n - x.n).slice(0, LISTED);
  box.hidden = newest.length === 0;
  reconcile(box.querySelector("ol"), newest, (m) => String(m.n),
    (m) => h("li", { dataset: { kind: m.kind } }, h("time", { class: "chart-marker-time" }), h("span", { class: "chart-marker-text" })),
    (el, m) => {
      setText(el.querySelector(".chart-marker-time"), simClockText(m.t));
      setText(el.querySelector(".chart-marker-text"), `${m.what} — ${m.who}`);
    }, { animate: false });
}
