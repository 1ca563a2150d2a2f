// Browser-only UI state: selection, highlight, filters, revealed secrets, active tab.

const listeners = new Set();

export const ui = {
  selected: null,          // {resource, key}
  highlight: new Set(),    // pod keys (uid) highlighted on the map
  highlightLabel: "",
  eventFilter: "",
  eventsOfSelection: false,
  revealed: new Set(),     // "secretUid/key"
  tab: "workloads",
  inspectorTab: "yaml",
};

/** Update UI state and notify renderers. */
export function setUi(patch) {
  Object.assign(ui, patch);
  for (const fn of listeners) fn(patch);
}

export function onUi(fn) { listeners.add(fn); return () => listeners.delete(fn); }
