// The join page: POST /class/join {code, name} -> 201 {cluster, dashboard, kubeconfig}.
// Errors are Kubernetes Status objects; a cause's field ("code" or "name") puts the message by its input.
// Text only (textContent), never HTML: a name is the user's own text.

const $ = (sel) => document.querySelector(sel);

function showError(field, message) {
  const el = field ? $(`#join-${field}-error`) : $("#join-error");
  el.textContent = message;
  el.hidden = !message;
  if (field) $(`#join-${field}`).setAttribute("aria-invalid", message ? "true" : "false");
}

function clearErrors() {
  for (const f of ["code", "name", null]) showError(f, "");
}

function busy(on) {
  const btn = $("#join-submit");
  btn.disabled = on;
  btn.querySelector(".spinner").hidden = !on;
  btn.querySelector(".label").textContent = on ? "Making your cluster…" : "Join";
}

function fileName(cluster) {
  return `kubedrill-${cluster}.kubeconfig`;
}

function showJoined(name, body) {
  $("#join-form").hidden = true;
  $("#joined").hidden = false;
  $("#joined-name").textContent = name;
  $("#joined-cluster").textContent = body.cluster;
  $("#go-dashboard").href = body.dashboard;
  $("#kubectl-lines").textContent = `export KUBECONFIG=~/Downloads/${fileName(body.cluster)}\nkubectl get pods`;
  $("#download-kubeconfig").onclick = () => {
    const blob = new Blob([body.kubeconfig], { type: "application/yaml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = fileName(body.cluster);
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  };
  $("#go-dashboard").focus();
}

async function join(event) {
  event.preventDefault();
  clearErrors();
  const code = $("#join-code").value.trim();
  const name = $("#join-name").value;
  if (!code) return showError("code", "Type the join code your instructor shows.");
  if (!name.trim()) return showError("name", "Type a name your instructor will recognise.");
  busy(true);
  try {
    const resp = await fetch("/class/join", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ code, name }),
      credentials: "same-origin",
    });
    const body = await resp.json().catch(() => ({}));
    if (resp.ok) return showJoined(name.trim(), body);
    const causes = (body.details && body.details.causes) || [];
    const field = causes.length && ["code", "name"].includes(causes[0].field) ? causes[0].field : null;
    let message = body.message || `The server answered ${resp.status}.`;
    if (resp.status === 429) {
      const retry = resp.headers.get("Retry-After");
      if (retry) message += ` Try again in ${retry} s.`;
    }
    const guess = field || (/join code/i.test(message) ? "code" : /name/i.test(message) && resp.status === 409 ? "name" : null);
    showError(guess, message);
  } catch (err) {
    showError(null, `Could not reach the server: ${err.message}`);
  } finally {
    busy(false);
  }
}

$("#join-form").addEventListener("submit", join);
($("#join-code").value ? $("#join-name") : $("#join-code")).focus();
