// The inspector's "Why" tab: the chain of requests that led to the selected object, from /ui/why
// (engine/causality.py reads it back from the audit trail). Fetched when the tab is shown, again
// when the object changes, and every few seconds while it is shown; every string goes in as text.

import { h } from "../dom.js";
import { url } from "../ui/permissions.js";
import { simClockText } from "../k8s/time.js";

// Later steps (endpoints, kube-proxy) come without the object changing: while the tab is shown the
// chain is fetched again at most every REFRESH_MS.
const REFRESH_MS = 2000;
let current = "";   // what the list shows
let inflight = "";  // what is being fetched (the newest wins)
let fetchedAt = 0;

/** Refresh the chain in ``list`` for object ``obj`` of ``resource`` (no-op when nothing changed). */
export async function renderWhy(list, resource, obj) {
  const meta = obj.metadata || {};
  const sig = `${resource}/${meta.namespace || ""}/${meta.name}@${meta.resourceVersion}`;
  if (sig === inflight || (sig === current && performance.now() - fetchedAt < REFRESH_MS)) return;
  inflight = sig;
  fetchedAt = performance.now();
  const q = new URLSearchParams({ resource, namespace: meta.namespace || "", name: meta.name });
  let body;
  try {
    const resp = await fetch(url(`/ui/why?${q}`), { headers: { Accept: "application/json" }, cache: "no-store" });
    body = await resp.json();
    if (!resp.ok) throw new Error(body.message || `HTTP ${resp.status}`);
  } catch (e) {
    if (inflight !== sig) return;
    inflight = ""; current = sig;            // tried again when the object next changes
    list.replaceChildren(h("li", { class: "muted", text: `Could not load the chain: ${e.message}` }));
    return;
  }
  if (inflight !== sig) return;              // another object was selected meanwhile
  inflight = "";
  const same = current === sig && list.__chain === JSON.stringify(body);
  current = sig;
  if (same) return;                          // unchanged: keep the list (and its scroll position)
  list.__chain = JSON.stringify(body);
  const steps = body.chain.map((s, i) => h("li", { class: `why-step why-${s.kind}`, dataset: { who: s.user } },
    h("div", { class: "why-line" }, h("span", { class: "why-n", text: String(i + 1) }),
      h("time", { class: "ev-time", text: simClockText(s.t) }), h("b", { class: "why-who", text: s.who })),
    h("p", { class: "why-text", text: s.text }),
    h("p", { class: "why-request muted", text: requestText(s) })));
  if (!body.complete) {
    steps.unshift(h("li", { class: "muted why-cut", text: "Earlier causes are older than the audit trail the server keeps." }));
  }
  if (!steps.length) steps.push(h("li", { class: "muted", text: "No request about this object is in the audit trail." }));
  list.replaceChildren(...steps);
}

/** The request behind a step, as an audit log line reads: verb, resource/subresource, by whom. */
function requestText(s) {
  if (s.kind === "watch") return `watch ${s.objectRef.resource} (kube-proxy writes nothing: it reprograms iptables)`;
  const ref = s.objectRef;
  const res = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
  const agent = s.userAgent ? ` · ${s.userAgent}` : "";
  return `${s.verb} ${res} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name} as ${s.user}${agent}`;
}

/** Forget what is shown (another object selected, or the inspector closed). */
export function resetWhy() { current = ""; inflight = ""; }
