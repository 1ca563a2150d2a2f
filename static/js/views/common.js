// Shared bits of the side panels: keyed cards whose body re-renders only when its data changed.

import { h, reconcile, setText } from "../dom.js";
import { podStatusText, statusClass, STATUS_ICON } from "../k8s/pods.js";
import { ui, setUi } from "../ui/uistate.js";

/**
 * Render keyed cards into a list: build(obj) returns the card body nodes; sig(obj) a string that
 * changes when the body must be rebuilt; tail(obj) optional nodes built once (actions keep focus),
 * and sync(tailEl, obj) brings them up to date on every render.
 */
export function renderCards(list, items, { resource, sig, build, tail, sync, label }) {
  reconcile(list, items, (o) => o.metadata.uid || `${o.metadata.namespace}/${o.metadata.name}`,
    (o) => {
      const el = h("article", { class: "card", dataset: { kind: resource, name: o.metadata.name, namespace: o.metadata.namespace || "" }, "aria-label": label ? label(o) : `${o.kind || resource} ${o.metadata.name}` },
        h("div", { class: "card-body" }), h("div", { class: "card-tail" }));
      if (tail) el.querySelector(".card-tail").append(tail(o));
      return el;
    },
    (el, o) => {
      const s = sig(o);
      if (el.__sig !== s) {
        el.__sig = s;
        el.querySelector(".card-body").replaceChildren(...[build(o)].flat().filter(Boolean));
      }
      if (sync) sync(el.querySelector(".card-tail"), o);
      el.classList.toggle("is-selected", ui.selected?.key === (o.metadata.uid || o.metadata.name));
    });
}

/** A clickable object name that opens the inspector. */
export function objLink(resource, obj, text) {
  return h("button", { type: "button", class: "obj-link", text: text || obj.metadata.name, title: `Inspect ${obj.kind || resource} ${obj.metadata.name}`,
    onclick: () => setUi({ selected: { resource, key: obj.metadata.uid || obj.metadata.name } }) });
}

/** A tiny pod dot with the status text, for lists in panels. */
export function podDot(pod, label) {
  const text = podStatusText(pod);
  const cls = statusClass(text, pod);
  return h("button", { type: "button", class: "pod-dot", dataset: { class: cls, pod: pod.metadata.name, status: text },
    "aria-label": `Pod ${pod.metadata.name}: ${text}`, title: `${pod.metadata.name}: ${text}`,
    onclick: () => setUi({ selected: { resource: "pods", key: pod.metadata.uid } }) },
  h("span", { "aria-hidden": "true", text: STATUS_ICON[cls] }), label ? h("span", { class: "dot-label", text: label }) : null);
}

/** A labelled number: "3 ready". */
export function stat(value, label, cls = "") {
  return h("span", { class: `stat ${cls}` }, h("b", { text: value ?? 0 }), h("span", { text: label }));
}

/** A progress bar with an accessible label. */
export function progress(value, max, label) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : value > 0 ? 100 : 0;
  const fill = h("span", { class: "progress-fill" });
  fill.style.width = `${pct}%`;
  return h("span", { class: `progress${pct >= 100 ? " done" : ""}`, role: "progressbar", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": String(max), "aria-valuenow": String(value) }, fill);
}

/** A section heading with a count, reused for every list in a panel. */
export function section(root, id, title) {
  let sec = root.querySelector(`section[data-section="${id}"]`);
  if (!sec) {
    sec = h("section", { class: "panel-section", dataset: { section: id } },
      h("h3", { class: "section-title" }, h("span", { text: title }), h("span", { class: "count" })),
      h("div", { class: "cards" }),
      h("p", { class: "empty", text: `No ${title.toLowerCase()}`, hidden: true }));
    root.append(sec);
  }
  return sec;
}

/** Fill a section's count and empty hint; returns its card list element. */
export function sectionList(sec, n) {
  setText(sec.querySelector(".count"), String(n));
  sec.querySelector(".empty").hidden = n > 0;
  return sec.querySelector(".cards");
}

/** Key/value rows (definition list) from pairs, all text. */
export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter((p) => p && p[1] !== undefined && p[1] !== "").flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
}

/** Signature of a set of objects by resourceVersion, for renderCards. */
export function rvs(objs) { return objs.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).join(","); }
