// A row of action buttons (with an inline input for scale / set image) for one object.

import { h } from "../dom.js";
import { actionsFor } from "../actions.js";
import { deniedNote, guard } from "../ui/permissions.js";

/**
 * Build the action controls for an object; `only` limits to these action ids. Controls the viewer
 * may not use are disabled with the reason as their title; `note` adds it as visible text too (the
 * inspector does; a row of the map or of a table would repeat the same sentence on every line).
 */
export function actionBar(resource, obj, { only = null, compact = false, note = false } = {}) {
  const bar = h("div", { class: `actionbar${compact ? " compact" : ""}`, role: "group", "aria-label": `Actions for ${obj.metadata?.name}` });
  for (const a of actionsFor(resource, obj)) {
    if (only && !only.includes(a.id)) continue;
    if (a.input) {
      const input = h("input", { type: a.input.type, value: a.input.value, "aria-label": a.input.label, class: `action-input input-${a.id}`, dataset: { action: a.id } });
      input.__synced = String(a.input.value);
      if (a.input.min !== undefined) input.min = a.input.min;
      const btn = h("button", { type: "button", class: "btn btn-small", text: a.label, dataset: { action: a.id } });
      const go = async () => {
        btn.disabled = true;
        try {
          const value = input.value;
          // Applied: the typed value is no longer an edit, so the field follows the object again.
          if ((await a.run(value))?.ok) input.__synced = value;
        } finally { btn.disabled = false; }
      };
      btn.addEventListener("click", go);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
      guard(btn, "act");
      guard(input, "act");
      bar.append(h("span", { class: "action-field" }, input, btn));
    } else {
      const btn = h("button", { type: "button", class: `btn btn-small${a.danger ? " btn-danger" : ""}`, text: a.label, dataset: { action: a.id } });
      let armed = null;
      btn.addEventListener("click", async (e) => {
        e.stopPropagation();
        if (a.confirm && !armed) {
          btn.classList.add("armed");
          btn.textContent = `Confirm ${a.label.toLowerCase()}?`;
          armed = setTimeout(() => { armed = null; btn.classList.remove("armed"); btn.textContent = a.label; }, 4000);
          return;
        }
        if (armed) { clearTimeout(armed); armed = null; btn.classList.remove("armed"); btn.textContent = a.label; }
        btn.disabled = true;
        try { await a.run(); } finally { btn.disabled = false; }
      });
      guard(btn, "act");
      bar.append(btn);
    }
  }
  if (note && bar.childElementCount) {
    const why = deniedNote("act");
    if (why) bar.append(why);
  }
  return bar;
}

/**
 * Make the inline inputs of a bar show the live object (replicas after a kubectl scale, the image
 * after a rollback) unless the user is editing one: focused, or changed since it last followed.
 */
export function syncActionInputs(bar, resource, obj) {
  if (!bar) return;
  for (const a of actionsFor(resource, obj)) {
    if (!a.input) continue;
    const input = bar.querySelector(`input[data-action="${a.id}"]`);
    if (!input || document.activeElement === input || input.value !== input.__synced) continue;
    const live = String(a.input.value);
    if (input.value !== live) input.value = live;
    input.__synced = live;
  }
}
