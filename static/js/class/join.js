// The join page: POST /class/join {code, name} -> 201 {cluster, name, dashboard, kubeconfig} (200 for a
// re-join with this browser's own session). Errors are Status objects: a cause's field ("code" or
// "name") puts its message under that input; anything else goes under the form. Text only, never
// HTML: the name is the student's own text.

import { postJSON, getJSON } from "./api.js";
import { kubeconfigName, kubectlLines } from "../ui/classlinks.js";

const $ = (sel) => document.querySelector(sel);
const FIELDS = ["code", "name"];

function showError(field, message) {
  const el = field ? $(`#join-${field}-error`) : $("#join-error");
  el.textContent = message || "";
  el.hidden = !message;
  if (field) $(`#join-${field}-input`).setAttribute("aria-invalid", message ? "true" : "false");
}

function clearErrors() {
  for (const f of [...FIELDS, null]) showError(f, "");
}

function busy(on) {
  const btn = $("#join-submit");
  btn.disabled = on;
  btn.setAttribute("aria-busy", on ? "true" : "false");
  btn.querySelector(".spinner").hidden = !on;
  btn.querySelector(".label").textContent = on ? "Making your cluster…" : "Join";
}

/** Save text as a file, made in the page (no second request, works with the server gone). */
function download(text, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  a.download = filename;
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function showJoined(body, typedName) {
  $("#join-form").hidden = true;
  $("#already").hidden = true;
  $("#joined").hidden = false;
  $("#joined-name").textContent = body.name || typedName;
  $("#joined-cluster").textContent = body.cluster;
  for (const link of [$("#go-dashboard"), $("#dashboard-link")]) link.href = body.dashboard;
  $("#dashboard-link").textContent = body.dashboard;
  $("#kubectl-lines").textContent = kubectlLines(body.cluster);
  $("#download-kubeconfig").onclick = () => download(body.kubeconfig, kubeconfigName(body.cluster));
  $("#joined-title").focus();
}

/** Which input a refusal is about: the Status's cause, else what its message talks about. */
function fieldOf(err) {
  const cause = err.causes.find((c) => FIELDS.includes(c.field));
  if (cause) return { field: cause.field, message: cause.message || err.message };
  if (/join code/i.test(err.message)) return { field: "code", message: err.message };
  return { field: null, message: err.message };
}

async function join(event) {
  event.preventDefault();
  clearErrors();
  const code = $("#join-code-input").value.trim();
  const name = $("#join-name-input").value.trim();
  // The server checks both anyway; these two save a round trip for the obvious.
  if (!code) { showError("code", "Type the join code your instructor shows."); $("#join-code-input").focus(); return; }
  if (!name) { showError("name", "Type a name your instructor will recognise."); $("#join-name-input").focus(); return; }
  busy(true);
  try {
    const { data } = await postJSON("/class/join", { code, name });
    showJoined(data, name);
  } catch (err) {
    const { field, message } = fieldOf(err);
    const wait = err.code === 429 && err.retryAfter && !/\d+ s\b/.test(message) ? ` Try again in ${err.retryAfter} s.` : "";
    showError(field, message + wait);
    if (field) $(`#join-${field}-input`).focus();
  } finally {
    busy(false);
  }
}

/** A browser that joined before (its cookie is still good) is told where its cluster is. */
async function already() {
  try {
    const me = await getJSON("/class/api/me");
    if (me.role !== "student" || !me.cluster) return;
    const note = $("#already");
    note.replaceChildren(`You joined as ${me.name}: `);
    const link = document.createElement("a");
    link.href = me.dashboard;
    link.textContent = "go to your cluster";
    note.append(link, ". Joining again with the same name gives you the same cluster.");
    note.hidden = false;
  } catch (_err) {
    // not signed in (401), or not class mode: nothing to say
  }
}

$("#join-form").addEventListener("submit", join);
($("#join-code-input").value ? $("#join-name-input") : $("#join-code-input")).focus();
already();
