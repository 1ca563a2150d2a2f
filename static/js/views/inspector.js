// Inspector: the selected object's live YAML, its events and its actions.

import { h, setText } from "../dom.js";
import { toYaml } from "../ui/yaml.js";
import { ui, setUi } from "../ui/uistate.js";
import { podStatusText } from "../k8s/pods.js";
import { nodeReadiness } from "../k8s/nodes.js";
import { actionBar, syncActionInputs } from "./actionbar.js";
import { eventsFor } from "./events.js";
import { simClockText } from "../k8s/time.js";
import { renderWhy, resetWhy } from "./why.js";

/** Render the inspector drawer for ui.selected (hidden when nothing is selected). */
export function renderInspector(state, root) {
  const sel = ui.selected;
  root.hidden = !sel;
  document.body.classList.toggle("inspecting", !!sel);
  if (!sel) { root.__obj = null; resetWhy(); return; }
  const obj = state.get(sel.resource, sel.key) || (root.__sel === sel ? root.__obj : undefined);
  const gone = !state.get(sel.resource, sel.key);
  if (!obj) { setText(root.querySelector(".insp-title"), "Object not found"); return; }

  const changed = root.__sel !== sel || root.__rv !== obj.metadata.resourceVersion || root.__gone !== gone;
  const evs = eventsFor(state, obj);
  const evSig = evs.map(([e]) => e.metadata.resourceVersion).join(",");
  if (changed) {
    root.__sel = sel; root.__obj = obj; root.__rv = obj.metadata.resourceVersion; root.__gone = gone;
    setText(root.querySelector(".insp-kind"), obj.kind || sel.resource);
    setText(root.querySelector(".insp-title"), obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name);
    setText(root.querySelector(".insp-status"), gone ? "deleted" : summary(sel.resource, obj));
    root.querySelector(".insp-status").dataset.gone = gone ? "1" : "";
    const actions = root.querySelector(".insp-actions");
    // Keep the action controls (and any typed input) while the same object stays selected.
    if (actions.__for !== sel || actions.__gone !== gone) {
      actions.__for = sel; actions.__gone = gone;
      actions.replaceChildren(gone ? h("p", { class: "muted", text: "This object no longer exists." }) : actionBar(sel.resource, obj, { note: true }));
    }
    if (!gone) syncActionInputs(actions, sel.resource, obj);
    const pre = root.querySelector(".insp-yaml");
    const y = toYaml(stripManaged(obj));
    if (pre.textContent !== y) pre.textContent = y;
  }
  if (changed || root.__evSig !== evSig) {
    root.__evSig = evSig;
    const list = root.querySelector(".insp-events");
    list.replaceChildren(...evs.slice(0, 50).map(([, v]) => h("li", { class: "event", dataset: { type: v.type } },
      h("div", { class: "ev-line" }, h("time", { class: "ev-time", text: simClockText(v.time) }),
        h("span", { class: `ev-type ev-${v.type.toLowerCase()}`, text: v.type }), h("b", { class: "ev-reason", text: v.reason }),
        v.count > 1 ? h("span", { class: "ev-count", text: `×${v.count}` }) : null),
      h("p", { class: "ev-message", text: v.message }),
      v.explanation ? h("p", { class: "ev-explain", text: v.explanation }) : null)));
    if (!evs.length) list.append(h("li", { class: "muted", text: "No events for this object." }));
    setText(root.querySelector(".insp-tab-events .count"), String(evs.length));
  }
  for (const b of root.querySelectorAll(".insp-tabs [role=tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === ui.inspectorTab));
  root.querySelector(".insp-yaml-wrap").hidden = ui.inspectorTab !== "yaml";
  root.querySelector(".insp-events").hidden = ui.inspectorTab !== "events";
  const why = root.querySelector(".insp-why");
  why.hidden = ui.inspectorTab !== "why";
  if (!why.hidden) renderWhy(why, sel.resource, obj);
}

function summary(resource, obj) {
  if (resource === "pods") return `${podStatusText(obj)}${obj.spec?.nodeName ? ` on ${obj.spec.nodeName}` : ""}`;
  if (resource === "nodes") return nodeReadiness(obj).text + (obj.spec?.unschedulable ? " · cordoned" : "");
  const st = obj.status || {};
  if (st.readyReplicas !== undefined || obj.spec?.replicas !== undefined) return `${st.readyReplicas || 0}/${obj.spec?.replicas ?? 0} ready`;
  if (st.phase) return st.phase;
  return "";
}

/** Drop managedFields: noise for learners (kubectl hides them too). */
function stripManaged(obj) {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

/** Wire the inspector's static controls once. */
export function initInspector(root) {
  root.querySelector(".insp-close").addEventListener("click", () => setUi({ selected: null }));
  for (const b of root.querySelectorAll(".insp-tabs [role=tab]")) b.addEventListener("click", () => setUi({ inspectorTab: b.dataset.tab }));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && ui.selected && !document.querySelector("dialog[open]")) setUi({ selected: null });
  });
}
