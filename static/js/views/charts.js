// Charts over simulated time (vendored uPlot, MIT): desired vs ready replicas per workload and
// success rate per Service, with markers where something was killed. Sampled once per sim second.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { h, reconcile, setText } from "../dom.js";
import { simClockText } from "../k8s/time.js";
import { successRate } from "./networking.js";
import { ui } from "../ui/uistate.js";

const KEEP = 900; // samples (sim seconds) kept per series
const series = new Map(); // key -> {title, kind, t: [], a: [], b: []}
let lastSecond = -1;

/** Record one sample per simulated second from the current state. */
export function sample(state) {
  if (!state.synced) return;
  const sec = Math.floor(state.simNow());
  if (sec === lastSecond) return;
  if (sec < lastSecond) series.clear(); // the cluster was reset: time went backwards
  lastSecond = sec;
  const push = (key, title, kind, a, b) => {
    let s = series.get(key);
    if (!s) { s = { key, title, kind, t: [], a: [], b: [] }; series.set(key, s); }
    s.t.push(sec); s.a.push(a); s.b.push(b);
    if (s.t.length > KEEP) { s.t.shift(); s.a.shift(); s.b.shift(); }
  };
  for (const res of ["deployments", "statefulsets"]) {
    for (const o of state.list(res)) {
      push(`${res}/${o.metadata.namespace}/${o.metadata.name}`, `${o.kind || res} ${o.metadata.name}`, "replicas",
        o.spec?.replicas ?? 0, o.status?.readyReplicas ?? 0);
    }
  }
  for (const svc of state.list("services")) {
    const r = successRate(svc);
    if (r !== undefined) push(`svc/${svc.metadata.namespace}/${svc.metadata.name}`, `Service ${svc.metadata.name}`, "rate", r * 100, null);
  }
}

/** Draw vertical marker lines (kills) inside the plot area. */
function markerPlugin() {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = "#e5484d";
        ctx.fillStyle = "#e5484d";
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.textAlign = "left";
        ctx.textBaseline = "top";
        for (const m of ui.markers) {
          const x = u.valToPos(m.t, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
          ctx.fillText(`✖ ${m.label}`, x + 4 * devicePixelRatio, u.bbox.top + 2 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
}

const mmss = (s) => simClockText(s);

function makePlot(s, el, width) {
  const opts = {
    width, height: 150,
    plugins: [markerPlugin()],
    scales: { x: { time: false }, y: s.kind === "rate" ? { range: [0, 100] } : { range: (u, min, max) => [0, Math.max(1, max + 1)] } },
    axes: [{ values: (u, vals) => vals.map(mmss), stroke: "#8b93a7", grid: { stroke: "rgba(140,150,170,.15)" } },
      { stroke: "#8b93a7", grid: { stroke: "rgba(140,150,170,.15)" }, size: 36 }],
    legend: { show: true, live: false },
    cursor: { show: true, points: { show: false } },
    series: s.kind === "rate"
      ? [{ label: "sim time", value: (u, v) => (v == null ? "" : mmss(v)) }, { label: "success %", stroke: "#30a46c", width: 2, fill: "rgba(48,164,108,.12)", points: { show: false } }]
      : [{ label: "sim time", value: (u, v) => (v == null ? "" : mmss(v)) },
        { label: "desired", stroke: "#b48cff", width: 2, dash: [6, 4], points: { show: false } },
        { label: "ready", stroke: "#3ecf8e", width: 2.5, fill: "rgba(62,207,142,.12)", points: { show: false } }],
  };
  return new uPlot(opts, data(s), el);
}

const data = (s) => (s.kind === "rate" ? [s.t, s.a] : [s.t, s.a, s.b]);

/** Render the charts panel (only while visible: uPlot needs a measured width). */
export function renderCharts(root) {
  const list = root.querySelector(".chart-list");
  const items = [...series.values()].sort((a, b) => (a.kind === b.kind ? (a.title < b.title ? -1 : 1) : a.kind === "replicas" ? -1 : 1));
  reconcile(list, items, (s) => s.key,
    (s) => h("figure", { class: "chart", dataset: { series: s.key } },
      h("figcaption", {}, h("span", { class: "chart-title" }), h("span", { class: "chart-now" })), h("div", { class: "chart-canvas" })),
    (el, s) => {
      setText(el.querySelector(".chart-title"), s.title);
      const last = s.t.length - 1;
      setText(el.querySelector(".chart-now"), s.kind === "rate" ? `${(s.a[last] ?? 0).toFixed(1)} %` : `${s.b[last] ?? 0} / ${s.a[last] ?? 0} ready`);
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
}
