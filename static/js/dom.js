// DOM helpers: build elements from data with textContent only (never innerHTML), and a keyed
// enter/update/exit join in the spirit of d3-selection's join.

/** Create an element; attrs: class, text, dataset, aria-*, on<Event> handlers, plain attributes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "hidden") el.hidden = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Set textContent only when it changed (keeps selections and avoids layout work). */
export function setText(el, text) {
  const t = text === undefined || text === null ? "" : String(text);
  if (el.textContent !== t) el.textContent = t;
}

/** Text nodes with a <wbr> after each separator: a long key wraps at "/" or ":", not mid-word. */
export function wrapAt(text, separators = "/=:") {
  const out = [];
  let run = "";
  for (const c of String(text)) {
    run += c;
    if (separators.includes(c)) { out.push(document.createTextNode(run), document.createElement("wbr")); run = ""; }
  }
  if (run) out.push(document.createTextNode(run));
  return out;
}

/** Set or remove an attribute only when it changed. */
export function setAttr(el, name, value) {
  if (value === undefined || value === null || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else {
    const v = value === true ? "" : String(value);
    if (el.getAttribute(name) !== v) el.setAttribute(name, v);
  }
}

/** Replace all children of el with the given nodes. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const EXIT_MS = 450;

/**
 * Join items to the children of parent by key: create new ones (with an enter animation),
 * update every kept one in place, keep document order, and fade out the ones that left.
 */
export function reconcile(parent, items, key, create, update, { animate = true } = {}) {
  const map = parent.__keyed || (parent.__keyed = new Map());
  const seen = new Set();
  let prev = null;
  for (const item of items) {
    const k = key(item);
    seen.add(k);
    let el = map.get(k);
    if (!el) {
      el = create(item);
      el.__key = k;
      map.set(k, el);
      if (animate && parent.__rendered) enter(el);
    }
    update(el, item);
    const want = prev ? prev.nextSibling : parent.firstChild;
    if (want !== el) parent.insertBefore(el, want);
    prev = el;
  }
  for (const [k, el] of map) {
    if (seen.has(k)) continue;
    map.delete(k);
    exit(el, animate);
  }
  parent.__rendered = true;
}

/** Play the enter animation on an element that just arrived in its list. */
export function enter(el) {
  el.classList.add("is-entering");
  el.addEventListener("animationend", () => el.classList.remove("is-entering"), { once: true });
}

/** Take an element out of its list: at once, or marked gone and faded out. */
export function exit(el, animate) {
  if (!animate) { el.remove(); return; }
  // Mark the element as gone at once so tests and screen readers stop counting it.
  el.dataset.gone = "1";
  el.setAttribute("aria-hidden", "true");
  el.classList.add("is-exiting");
  setTimeout(() => el.remove(), EXIT_MS);
}
