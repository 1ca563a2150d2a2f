// What the viewer of this page may do, as the server decided it (webapp.policy, rendered into <body data-*>).
// The server refuses a forbidden action anyway (a 403 Status); disabling the control says so up front.

import { h } from "../dom.js";

const data = document.body ? document.body.dataset : {};

export const perms = {
  base: data.base || "",                     // "" or "/c/<id>": every /ui URL of this cluster goes below it
  cluster: data.cluster || "demo",
  role: data.role || "admin",
  classroom: data.classroom === "1",
  canAct: data.canAct !== "0",               // change the cluster's objects (delete, scale, apply, faults)
  canControl: data.canControl !== "0",       // pause, speed, step, reset, drills
  whyNotAct: data.whyNotAct || "",
  whyNotControl: data.whyNotControl || "",
};

const FALLBACK = "Not allowed for your role.";

/** The URL of a /ui (or other app) path on this page's cluster. */
export const url = (path) => `${perms.base}${path}`;

/** May this page's viewer do `kind` ("act" | "control")? */
export const may = (kind) => (kind === "control" ? perms.canControl : perms.canAct);

/** The sentence saying why `kind` is not allowed ("" when it is). */
export const whyNot = (kind) => (may(kind) ? "" : (kind === "control" ? perms.whyNotControl : perms.whyNotAct) || FALLBACK);

/** Disable `el` with the sentence saying why, when `kind` ("act" | "control") is not allowed; returns allowed. */
export function guard(el, kind) {
  const ok = may(kind);
  if (!el || ok) return ok;
  el.disabled = true;
  el.setAttribute("aria-disabled", "true");
  el.title = whyNot(kind);
  el.classList.add("not-allowed");
  return false;
}

/**
 * A visible note with the why-not sentence (a title alone shows only on hover, never on a
 * projector or a touch screen); null when `kind` is allowed.
 */
export function deniedNote(kind, { id } = {}) {
  if (may(kind)) return null;
  return h("p", { class: "denied-note", role: "note", id, dataset: { kind }, text: whyNot(kind) });
}
