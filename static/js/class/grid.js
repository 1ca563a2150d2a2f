// The instructor's grid (/class): a live tile per student from the Socket.IO "tiles" events
// (auth {grid: true}: one full set on connect, then the tiles that changed, merged by cluster id),
// selection and bulk actions (bulk.js), the join code and the viewer link, and the class's drill
// reports (reports.js), reloaded whenever a student's drill ends. A viewer sees it all read-only.

/* global io */
import { toast } from "../ui/toast.js";
import { postJSON, getJSON } from "./api.js";
import { initBulk } from "./bulk.js";
import { initReports, loadReports } from "./reports.js";
import { refreshAges, renderTiles, who } from "./tiles.js";

const $ = (sel) => document.querySelector(sel);
const DEMO = "demo";      // the instructor's own cluster: not a student's tile
const viewer = document.body.dataset.viewer === "1";
const tiles = new Map();  // cluster id -> latest tile
const selected = new Set();
const ended = new Map();  // cluster id -> "<drill id>|<phase>" of the drill last seen over, to reload reports once
let streamed = false;     // a full set came over the socket: the HTTP fallback must not overwrite it

const students = () => [...tiles.values()].filter((t) => t.cluster !== DEMO);

function scope() {
  const ids = [...selected].filter((id) => tiles.has(id));
  return ids.length ? { clusters: ids, count: ids.length } : { clusters: null, count: students().length };
}

function render() {
  const list = students();
  for (const id of selected) if (!tiles.has(id)) selected.delete(id);
  renderTiles($("#tiles"), list, { viewer, selected, onSelect });
  $("#no-students").hidden = list.length > 0;
  $("#student-count").textContent = list.length ? `${list.length} student${list.length === 1 ? "" : "s"}` : "no student yet";
  const n = [...selected].length;
  $("#selected-count").textContent = n ? `Actions go to the ${n} selected student${n === 1 ? "" : "s"} only` : "Actions go to every student";
  const all = $("#select-all");
  all.checked = list.length > 0 && n === list.length;
  all.indeterminate = n > 0 && n < list.length;
}

function onSelect(cluster, on) {
  if (on) selected.add(cluster); else selected.delete(cluster);
  render();
}

/** Merge tiles into the map; reload the reports when a drill has just ended somewhere. */
function merge(list, { full = false } = {}) {
  if (full) tiles.clear();
  let over = false;
  for (const t of list || []) {
    if (!t || !t.cluster) continue;
    tiles.set(t.cluster, t);
    const phase = t.drill ? t.drill.phase : null;
    if (phase === "Finished" || phase === "Stopped") {
      const key = `${t.drill.id}|${phase}`;
      // Not on the first sight of a cluster (the page loads every report at start anyway).
      if (ended.has(t.cluster) && ended.get(t.cluster) !== key) over = true;
      ended.set(t.cluster, key);
    } else {
      ended.set(t.cluster, phase);
    }
  }
  render();
  if (over) loadReports();
}

function connect() {
  const badge = $("#grid-connection");
  const set = (state, text) => { badge.dataset.state = state; badge.querySelector(".conn-text").textContent = text; badge.title = text; };
  if (typeof io !== "function") { set("offline", "Live updates unavailable: Socket.IO failed to load"); return; }
  const socket = io("/live", { auth: { grid: true }, transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  socket.on("connect", () => set("connected", "Live"));
  socket.on("disconnect", (reason) => {
    set("reconnecting", "Reconnecting…");
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (err) => {
    if (err && err.data && err.data.kind === "Status") {
      socket.io.reconnection(false);
      set("refused", `Refused: ${err.data.message || err.message}`);
    } else set("reconnecting", "Reconnecting…");
  });
  socket.on("tiles", (msg) => {
    if (msg && msg.full) streamed = true;
    merge(msg && msg.tiles, { full: !!(msg && msg.full) });
  });
  window.kubedrill = { socket, tiles, selected };   // for the console and the browser tests
}

function wireSelection() {
  $("#select-all").addEventListener("change", (e) => {
    for (const t of students()) if (e.target.checked) selected.add(t.cluster); else selected.delete(t.cluster);
    render();
  });
}

function wireCode() {
  $("#new-code").addEventListener("click", async () => {
    try {
      const { data } = await postJSON("/class/api/code", {});
      $("#join-code").textContent = data.join_code;
      $("#code-expires").textContent = data.code_expires ? `valid until ${data.code_expires}` : "does not expire";
      if (data.join_url) {
        $("#join-url").href = data.join_url;
        $("#join-url").textContent = data.join_url;
      }
      toast("New join code: the old one no longer works (students already in stay in)", { kind: "ok" });
    } catch (err) { toast(err.message, { kind: "error" }); }
  });
  $("#copy-viewer").addEventListener("click", async () => {
    const note = $("#viewer-copied");
    try {
      const { data } = await postJSON("/class/api/viewer", {});
      const field = $("#viewer-link");
      field.value = data.url;
      field.hidden = false;
      field.select();
      try {
        await navigator.clipboard.writeText(data.url);
        note.textContent = "Copied: this link can watch every cluster, never act.";
      } catch (_err) {
        note.textContent = "Copy it from the box: the browser did not let the page use the clipboard.";
      }
    } catch (err) { toast(err.message, { kind: "error" }); }
  });
}

function main() {
  wireSelection();
  initBulk({ scope, nameOf: (id) => (tiles.has(id) ? who(tiles.get(id)) : id), readOnly: viewer });
  if (!viewer) wireCode();
  connect();
  // The socket sends every tile on connect; this only fills the grid if the socket is slow or blocked.
  getJSON("/class/api/tiles").then((list) => { if (!streamed) merge(list, { full: true }); }).catch(() => {});
  initReports();
  loadReports();
  $("#reports-refresh").addEventListener("click", loadReports);
  setInterval(() => refreshAges($("#tiles")), 5000);
}

main();
