// What the viewer of this page may do, as the server decided it (webapp.policy, rendered into <body data-*>).
// The server refuses a forbidden action anyway (a 403 Status); disabling the control says so up front.

const data = document.body ? document.body.dataset : {};

export const perms = {
  base: data.base || "",                     // "" or "/c/<id>": every /ui URL of this cluster goes below it
  cluster: data.cluster || "demo",
  role: data.role || "admin",
  canAct: data.canAct !== "0",               // change the cluster's objects (delete, scale, apply, faults)
  canControl: data.canControl !== "0",       // pause, speed, step, reset, drills
  whyNotAct: data.whyNotAct || "",
  whyNotControl: data.whyNotControl || "",
};

/** The URL of a /ui (or other app) path on this page's cluster. */
export const url = (path) => `${perms.base}${path}`;

/** Disable `el` with the sentence saying why, when `kind` ("act" | "control") is not allowed; returns allowed. */
export function guard(el, kind) {
  const ok = kind === "control" ? perms.canControl : perms.canAct;
  if (!el || ok) return ok;
  el.disabled = true;
  el.setAttribute("aria-disabled", "true");
  el.title = (kind === "control" ? perms.whyNotControl : perms.whyNotAct) || "Not allowed for your role.";
  el.classList.add("denied");
  return false;
}
