// Toasts: short, polite notifications of action results. Text only, never HTML.

import { h } from "../dom.js";

// Long enough to read twice; an error stays a little longer and has its close button for sooner.
export const TIMEOUT_MS = { ok: 3500, info: 4000, error: 6000 };

/** Show a toast; kind is "ok", "error" or "info"; details is an optional list of lines. */
export function toast(message, { kind = "info", details = [], timeout } = {}) {
  const region = document.getElementById("toasts");
  if (!region) return null;
  const close = h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", text: "×" });
  const el = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", dataset: { kind } },
    h("span", { class: "toast-icon", "aria-hidden": "true", text: kind === "ok" ? "✔" : kind === "error" ? "✖" : "ℹ" }),
    h("div", { class: "toast-body" },
      h("div", { class: "toast-message", text: message }),
      details.length ? h("ul", { class: "toast-details" }, details.map((d) => h("li", { text: d }))) : null),
    close);
  const dismiss = () => { el.classList.add("is-exiting"); setTimeout(() => el.remove(), 300); };
  close.addEventListener("click", dismiss);
  region.append(el);
  while (region.children.length > 5) region.firstElementChild.remove();
  setTimeout(dismiss, timeout ?? TIMEOUT_MS[kind] ?? TIMEOUT_MS.info);
  return el;
}
