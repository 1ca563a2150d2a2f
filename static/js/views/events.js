// Events panel: the live stream of Kubernetes Events with the learner's explanation, filterable.

import { h, reconcile, replaceChildren, setText } from "../dom.js";
import { parseTime, simClockText, shortDuration } from "../k8s/time.js";
import { ui, setUi } from "../ui/uistate.js";

const MAX_ROWS = 300;

/** Normalise core/v1 and events.k8s.io/v1 Events: {time, type, reason, object, message, explanation, count}. */
export function eventView(ev) {
  const inv = ev.involvedObject || ev.regarding || {};
  const time = parseTime(ev.lastTimestamp) || parseTime(ev.eventTime) || parseTime(ev.series?.lastObservedTime)
    || parseTime(ev.firstTimestamp) || parseTime(ev.metadata?.creationTimestamp) || 0;
  return {
    time, type: ev.type || "Normal", reason: ev.reason || "", message: ev.message || ev.note || "",
    kind: inv.kind || "", name: inv.name || "", namespace: inv.namespace || "", uid: inv.uid || "",
    explanation: ev.metadata?.annotations?.["kubedrill.io/explanation"] || "",
    count: ev.count || ev.series?.count || 1,
    source: ev.source?.component || ev.reportingController || ev.reportingComponent || "",
  };
}

/** Events about one object (by uid, else kind+name). */
export function eventsFor(state, obj) {
  return state.list("events").map((e) => [e, eventView(e)])
    .filter(([, v]) => (obj.metadata.uid && v.uid === obj.metadata.uid) || (v.name === obj.metadata.name && v.kind === obj.kind && v.namespace === (obj.metadata.namespace || "")))
    .sort((a, b) => b[1].time - a[1].time);
}

/** Render the events panel. */
export function renderEvents(state, root, selectedObj) {
  const now = state.simNow();
  const filter = ui.eventFilter.trim().toLowerCase();
  let rows = state.list("events").map((e) => [e, eventView(e)]);
  if (ui.eventsOfSelection && selectedObj) {
    rows = rows.filter(([, v]) => (selectedObj.metadata.uid && v.uid === selectedObj.metadata.uid) || (v.name === selectedObj.metadata.name && v.kind === selectedObj.kind));
  }
  if (filter) {
    rows = rows.filter(([, v]) => `${v.kind}/${v.name} ${v.namespace} ${v.reason} ${v.type} ${v.message}`.toLowerCase().includes(filter));
  }
  rows.sort((a, b) => b[1].time - a[1].time || (a[0].metadata.name < b[0].metadata.name ? 1 : -1));
  rows = rows.slice(0, MAX_ROWS);
  const list = root.querySelector(".event-list");
  reconcile(list, rows, ([e]) => e.metadata.uid || e.metadata.name, ([e, v]) => eventRow(state, e, v), (el, [e, v]) => {
    // Events are updated in place when Kubernetes aggregates repeats (count, lastTimestamp).
    if (el.__rv !== e.metadata.resourceVersion) fillRow(state, el, e, v);
    setText(el.querySelector(".ev-ago"), `${shortDuration(now - v.time)} ago`);
  });
  setText(root.querySelector(".event-count"), `${rows.length} shown`);
  root.querySelector(".event-empty").hidden = rows.length > 0;
}

function eventRow(state, e, v) {
  const el = h("li", { class: "event", dataset: { type: v.type } });
  fillRow(state, el, e, v);
  return el;
}

function fillRow(state, el, e, v) {
  el.__rv = e.metadata.resourceVersion;
  el.__view = v;
  el.dataset.type = v.type;
  el.dataset.reason = v.reason;
  // dom.replaceChildren skips the null of a missing explanation (the DOM method would print "null").
  replaceChildren(el,
    h("div", { class: "ev-line" },
      h("time", { class: "ev-time", text: simClockText(v.time), title: "simulated time" }),
      h("span", { class: `ev-type ev-${v.type.toLowerCase()}`, text: v.type === "Warning" ? "⚠ Warning" : "Normal" }),
      h("b", { class: "ev-reason", text: v.reason }),
      h("button", { type: "button", class: "obj-link ev-object", text: `${v.kind.toLowerCase()}/${v.name}`, title: "Inspect this object",
        onclick: () => {
          const found = (v.uid && state.byUid(v.uid)) || findByKindName(state, v);
          if (found) setUi({ selected: { resource: found.resource, key: found.object.metadata.uid || found.object.metadata.name }, inspectorTab: "why" });
          else setUi({ eventFilter: v.name });
        } }),
      v.count > 1 ? h("span", { class: "ev-count", text: `×${v.count}` }) : null,
      h("span", { class: "ev-ago" }),
      h("span", { class: "ev-source", text: v.source || "unknown component", title: "the component that wrote this event" })),
    h("p", { class: "ev-message", text: v.message }),
    v.explanation ? h("p", { class: "ev-explain", text: v.explanation }) : null);
}

function findByKindName(state, v) {
  for (const [resource, m] of state.byResource) {
    for (const o of m.values()) if (o.kind === v.kind && o.metadata?.name === v.name) return { resource, object: o };
  }
  return undefined;
}
