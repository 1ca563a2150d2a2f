// Controller: wires the store, the live connection and the views; renders once per frame.

import { ClusterState } from "./state.js";
import { connectLive } from "./socket.js";
import { bindActions } from "./actions.js";
import { ui, setUi, onUi } from "./ui/uistate.js";
import { toast } from "./ui/toast.js";
import { initHeader, renderHeader } from "./views/header.js";
import { pollHealth, renderHealth } from "./views/health.js";
import { renderNodeMap } from "./views/nodemap.js";
import { renderWorkloads } from "./views/workloads.js";
import { renderNetworking, podsOfService } from "./views/networking.js";
import { renderStorage } from "./views/storage.js";
import { renderConfig } from "./views/config.js";
import { renderEvents } from "./views/events.js";
import { initInspector, renderInspector } from "./views/inspector.js";
import { renderCharts, sample } from "./views/charts.js";
import { renderControlPlane } from "./views/controlplane.js";
import { initApply } from "./views/apply.js";
import { initDrills, renderDrills, renderDrillTab, setDrillStatus } from "./views/drills.js";
import { ownedBy } from "./k8s/owners.js";
import { initClassLinks } from "./ui/classlinks.js";

const state = new ClusterState();
let connection = "connecting";
let refusal = "";     // the server's reason when it refused the live stream (a Status message)

const $ = (sel) => document.querySelector(sel);
const PANELS = {
  workloads: (root) => renderWorkloads(state, root),
  networking: (root) => renderNetworking(state, root),
  storage: (root) => renderStorage(state, root),
  config: (root) => renderConfig(state, root),
  events: (root) => renderEvents(state, root, selectedObject()),
  charts: (root) => renderCharts(root),
  controlplane: (root) => renderControlPlane(state, root),
  drills: (root) => renderDrills(root),
};

function selectedObject() {
  return ui.selected ? state.get(ui.selected.resource, ui.selected.key) : undefined;
}

/** Pods related to the selection (a Service's endpoints, a workload's pods), highlighted on the map. */
function selectionHighlight() {
  const obj = selectedObject();
  if (!obj) return new Set();
  const r = ui.selected.resource;
  if (r === "services") return podsOfService(state, obj);
  if (r === "deployments") return new Set(ownedBy(state, "replicasets", obj.metadata.uid).flatMap((rs) => ownedBy(state, "pods", rs.metadata.uid)).map((p) => p.metadata.uid));
  if (["replicasets", "statefulsets", "daemonsets"].includes(r)) return new Set(ownedBy(state, "pods", obj.metadata.uid).map((p) => p.metadata.uid));
  return new Set();
}

let frame = 0;
function scheduleRender() {
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  sample(state);
  renderHeader($("#topbar"), state, connection);
  const hoverHighlight = ui.highlight;
  if (!hoverHighlight.size) ui.highlight = selectionHighlight();
  renderNodeMap(state, $("#map"));
  ui.highlight = hoverHighlight;
  const panel = $(`#panel-${ui.tab}`);
  if (panel && PANELS[ui.tab]) PANELS[ui.tab](panel);
  renderInspector(state, $("#inspector"));
  renderDrillTab($('#side-tabs [data-tab="drills"]'));
  document.body.dataset.synced = state.synced ? "1" : "";
  renderLoading();
}

/** The placeholder over the map until the first snapshot, or why the server will not send one. */
function renderLoading() {
  const box = $("#loading");
  box.hidden = state.synced && connection !== "refused";
  box.dataset.state = connection === "refused" ? "refused" : "";
  const text = connection === "refused"
    ? `The server refused this page's live stream: ${refusal}`
    : "Connecting to the simulated cluster…";
  const label = box.querySelector(".loading-text");
  if (label.textContent !== text) label.textContent = text;
  box.querySelector(".spinner").hidden = connection === "refused";
}

function initTabs() {
  const tabs = [...document.querySelectorAll("#side-tabs [role=tab]")];
  const show = (name) => {
    for (const t of tabs) {
      const on = t.dataset.tab === name;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(`#panel-${t.dataset.tab}`).hidden = !on;
    }
  };
  for (const t of tabs) {
    t.addEventListener("click", () => setUi({ tab: t.dataset.tab }));
    t.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(t);
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        next.focus();
        setUi({ tab: next.dataset.tab });
      }
    });
  }
  onUi((patch) => { if ("tab" in patch) show(ui.tab); });
  show(ui.tab);
}

function initEventsControls() {
  const input = $("#event-filter");
  input.addEventListener("input", () => setUi({ eventFilter: input.value }));
  onUi((p) => { if ("eventFilter" in p && input.value !== ui.eventFilter) input.value = ui.eventFilter; });
  const only = $("#events-selected-only");
  only.addEventListener("change", () => setUi({ eventsOfSelection: only.checked }));
}

function main() {
  if (document.body.dataset.projector === "1") document.body.classList.add("projector");
  initTabs();
  initEventsControls();
  // Panels and the inspector sit below the sticky header, whose height depends on wrapping.
  const topbar = $("#topbar");
  new ResizeObserver(() => document.documentElement.style.setProperty("--topbar-h", `${topbar.offsetHeight}px`)).observe(topbar);
  // The inspector opens below the side panel's tab bar, so the tabs stay usable.
  const tabs = $("#side-tabs");
  // Rounded up (+1 px for --topbar-h's rounding) so the drawer never overlaps the tabs' last pixel row.
  new ResizeObserver(() => document.documentElement.style.setProperty("--tabs-h", `${Math.ceil(tabs.getBoundingClientRect().height) + 1}px`)).observe(tabs);
  initHeader($("#topbar"), state);
  initClassLinks($("#topbar"));
  initInspector($("#inspector"));
  const live = connectLive(state, {
    onStatus: (s, why) => {
      if (s === "refused") refusal = why || "no reason given";
      if (s !== connection && s === "connected" && connection !== "connecting") toast("Reconnected to the simulator", { kind: "ok" });
      connection = s;
      scheduleRender();
    },
    onResync: (r) => {
      // A reset starts a new cluster: old selections point at objects that are gone.
      if (r.reason === "Reset") {
        setUi({ selected: null, highlight: new Set() });
        setDrillStatus({ active: false }, { quiet: true }); // a drill still loaded is re-sent right after
      }
      const reset = r.message ? `${r.message[0].toUpperCase()}${r.message.slice(1)}` : "The cluster was reset";
      toast(r.reason === "Reset" ? reset : `Resynchronising: ${r.message || r.reason || "state expired"}`, { kind: "info" });
    },
    onDrill: (d) => setDrillStatus(d),
  });
  bindActions(live);
  initApply($("#apply-dialog"), $("#open-apply"));
  initDrills(scheduleRender);
  state.subscribe(scheduleRender);
  onUi(scheduleRender);
  // Countdowns and the sim clock move even when no object changes.
  setInterval(scheduleRender, 500);
  // Component failures and a stalled engine are not in the live stream: ask the server.
  let health = null;
  pollHealth((h) => { health = h; renderHealth($("#topbar"), h); });
  // For debugging from the console and browser tests.
  window.kubedrill = { state, ui, live, health: () => health };
  scheduleRender();
}

main();
