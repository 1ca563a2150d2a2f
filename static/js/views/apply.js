// "Apply YAML" editor: vendored CodeMirror 5 (MIT) with YAML mode, multi-document manifests,
// validation errors shown at the field (details.causes) and on the YAML line when found.

import { h, replaceChildren, setText } from "../dom.js";
import { loadAll } from "../../vendor/js-yaml/js-yaml.mjs";
import { runAction, describeError } from "../actions.js";
import { deniedNote, guard } from "../ui/permissions.js";

/* global CodeMirror */

const EXAMPLE = `# One or more documents separated by ---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: hello
  template:
    metadata:
      labels:
        app: hello
    spec:
      containers:
      - name: hello
        image: nginx:1.27
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
`;

let editor = null;
let marks = [];

/** Wire the dialog once. */
export function initApply(dialog, openButton) {
  const textarea = dialog.querySelector("#apply-text");
  openButton.addEventListener("click", () => {
    dialog.showModal();
    if (!editor && typeof CodeMirror === "function") {
      editor = CodeMirror.fromTextArea(textarea, {
        mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, lineWrapping: false, gutters: ["CodeMirror-linenumbers"],
        extraKeys: { Tab: (cm) => cm.replaceSelection("  "), "Ctrl-Enter": () => submit(dialog), "Cmd-Enter": () => submit(dialog) },
      });
      editor.on("change", () => clearMarks());
      if (!editor.getValue()) editor.setValue(EXAMPLE);
    } else if (!editor && !textarea.value) textarea.value = EXAMPLE;
    setTimeout(() => (editor ? (editor.refresh(), editor.focus()) : textarea.focus()), 0);
  });
  dialog.querySelector("#apply-submit").addEventListener("click", () => submit(dialog));
  // The opener is disabled for a role that may not write; the dialog says so too if it is opened anyway.
  guard(openButton, "act");
  if (!guard(dialog.querySelector("#apply-submit"), "act")) dialog.querySelector(".dialog-head").append(deniedNote("act"));
  dialog.querySelector("#apply-cancel").addEventListener("click", () => dialog.close());
  dialog.querySelector("#apply-example").addEventListener("click", () => setValue(dialog, EXAMPLE));
}

/** Current editor text. */
function getValue(dialog) { return editor ? editor.getValue() : dialog.querySelector("#apply-text").value; }

function setValue(dialog, text) {
  if (editor) editor.setValue(text); else dialog.querySelector("#apply-text").value = text;
}

/** Expose for tests and keyboard users: replace the editor content. */
export function setApplyText(text) {
  const dialog = document.getElementById("apply-dialog");
  setValue(dialog, text);
}

function clearMarks() {
  for (const m of marks) m.clear ? m.clear() : editor?.removeLineClass(m, "background", "cm-error-line");
  marks = [];
}

async function submit(dialog) {
  const text = getValue(dialog);
  const errors = dialog.querySelector(".apply-errors");
  const status = dialog.querySelector(".apply-status");
  errors.replaceChildren();
  clearMarks();
  // Parse locally first: a YAML syntax error is reported on its line without a round trip.
  try {
    const docs = loadAll(text).filter((d) => d !== null && d !== undefined);
    if (!docs.length) { showErrors(dialog, "Nothing to apply: the editor has no documents.", []); return; }
  } catch (e) {
    const line = e.mark ? e.mark.line : undefined;
    showErrors(dialog, `YAML syntax error: ${e.reason || e.message}`, [{ field: line !== undefined ? `line ${line + 1}` : "", message: e.reason || e.message, line }]);
    return;
  }
  const btn = dialog.querySelector("#apply-submit");
  if (!guard(btn, "act")) return;   // Ctrl+Enter reaches here without the (disabled) button
  btn.disabled = true;
  setText(status, "Applying…");
  const ack = await runAction("apply", { yaml: text }, "Applied the manifest");
  btn.disabled = false;
  if (ack.ok) {
    const res = Array.isArray(ack.result) ? ack.result : ack.result?.objects || [];
    setText(status, res.length ? `Applied ${res.map((o) => `${(o.kind || "").toLowerCase()}/${o.metadata?.name ?? o.name}`).join(", ")}` : "Applied.");
    status.dataset.kind = "ok";
  } else {
    const { message, causes } = describeError(ack.error);
    setText(status, "");
    showErrors(dialog, message, causes.map((c) => ({ ...c, line: findFieldLine(text, c.field, ack.error?.details) })));
  }
}

function showErrors(dialog, message, causes) {
  const errors = dialog.querySelector(".apply-errors");
  const status = dialog.querySelector(".apply-status");
  status.dataset.kind = "error";
  replaceChildren(errors,
    h("p", { class: "apply-error-message", role: "alert", text: message }),
    causes.length ? h("ul", { class: "field-errors" }, causes.map((c) => h("li", { class: "field-error", dataset: { field: c.field || "" } },
      c.field ? h("code", { class: "field-path", text: c.field }) : null,
      h("span", { class: "field-message", text: c.message }),
      c.line !== undefined && c.line !== null ? h("button", { type: "button", class: "btn btn-small btn-ghost", text: `line ${c.line + 1}`,
        onclick: () => { if (editor) { editor.setCursor({ line: c.line, ch: 0 }); editor.focus(); } } }) : null))) : null);
  if (!editor) return;
  for (const c of causes) {
    if (c.line === undefined || c.line === null || c.line < 0) continue;
    const handle = editor.addLineClass(c.line, "background", "cm-error-line");
    marks.push(handle);
    const widget = h("div", { class: "cm-error-widget", text: `${c.field ? `${c.field}: ` : ""}${c.message}` });
    marks.push(editor.addLineWidget(c.line, widget, { coverGutter: false, noHScroll: true }));
    editor.scrollIntoView({ line: c.line, ch: 0 }, 60);
  }
}

/** Parse a field path "spec.template.spec.containers[0].image" into ["spec", ..., 0, "image"]. */
export function parseFieldPath(field) {
  const out = [];
  for (const part of String(field || "").split(/\.(?![^[]*\])/)) {
    const m = /^([^[]*)((?:\[[^\]]*\])*)$/.exec(part);
    if (!m) { out.push(part); continue; }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2].match(/\[[^\]]*\]/g) || []) {
      const v = idx.slice(1, -1);
      out.push(/^\d+$/.test(v) ? Number(v) : v);
    }
  }
  return out;
}

/**
 * Find the 0-based editor line of a field path in a (multi-document) YAML text, choosing the
 * document named in details (kind/name). Returns undefined if it cannot be found.
 */
export function findFieldLine(text, field, details = {}) {
  const path = parseFieldPath(field);
  if (!path.length) return undefined;
  const lines = text.split("\n");
  // Split into documents by '---' lines, keeping absolute line numbers.
  const docs = [];
  let start = 0;
  lines.forEach((l, i) => { if (/^---\s*$/.test(l)) { docs.push([start, i]); start = i + 1; } });
  docs.push([start, lines.length]);
  const name = details?.name;
  const kind = details?.kind;
  let doc = docs.find(([a, b]) => {
    const body = lines.slice(a, b).join("\n");
    return (!name || new RegExp(`^\\s+name:\\s*["']?${escapeRe(name)}["']?\\s*$`, "m").test(body))
      && (!kind || new RegExp(`^kind:\\s*["']?${escapeRe(kind)}["']?\\s*$`, "m").test(body));
  }) || docs.find(([a, b]) => lines.slice(a, b).some((l) => l.trim() && !l.trim().startsWith("#")));
  if (!doc) return undefined;
  const work = lines.slice();
  let [lo, hi] = doc;
  let parentIndent = -1;
  let found;
  for (const seg of path) {
    found = undefined;
    if (typeof seg === "number") {
      let count = -1, itemIndent;
      for (let i = lo; i < hi; i++) {
        const m = /^(\s*)- ?/.exec(work[i]);
        if (!m || isBlank(work[i])) continue;
        const ind = m[1].length;
        if (ind < parentIndent) break;
        if (itemIndent === undefined) itemIndent = ind;
        if (ind !== itemIndent) continue;
        count++;
        if (count === seg) { found = i; break; }
      }
      if (found === undefined) return undefined;
      // Treat the dash as indentation so the item's first key is found on the same line.
      work[found] = work[found].replace(/^(\s*)- ?/, (all, sp) => `${sp}  `);
      let end = found + 1;
      while (end < hi && (isBlank(work[end]) || indentOf(work[end]) > itemIndent)) end++;
      lo = found; hi = end; parentIndent = itemIndent;
      continue;
    }
    let childIndent;
    for (let i = lo; i < hi; i++) {
      if (isBlank(work[i])) continue;
      const ind = indentOf(work[i]);
      if (ind <= parentIndent) { if (i > lo) break; else continue; }
      if (childIndent === undefined) childIndent = ind;
      if (ind !== childIndent) continue;
      const key = work[i].trim().replace(/^- /, "");
      if (new RegExp(`^["']?${escapeRe(seg)}["']?\\s*:`).test(key)) { found = i; break; }
    }
    if (found === undefined) return undefined;
    const ind = indentOf(work[found]);
    let end = found + 1;
    while (end < hi && (isBlank(work[end]) || indentOf(work[end]) > ind)) end++;
    lo = found + 1; hi = end; parentIndent = ind;
    // A list directly under the key may sit at the same indentation ("key:\n- a").
    if (lo < lines.length && /^\s*- /.test(work[lo] || "") && indentOf(work[lo]) === ind) {
      let e2 = lo;
      while (e2 < doc[1] && (isBlank(work[e2]) || indentOf(work[e2]) > ind || (indentOf(work[e2]) === ind && /^\s*- /.test(work[e2])))) e2++;
      hi = e2; parentIndent = ind - 1;
    }
  }
  return found;
}

const isBlank = (l) => !l || !l.trim() || l.trim().startsWith("#");
const indentOf = (l) => /^\s*/.exec(l)[0].length;
const escapeRe = (s) => String(s).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
