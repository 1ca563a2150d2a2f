// The bulk actions bar: one action on every student's cluster, or on the selected ones
// (POST /class/api/bulk {action, args, clusters | null}), and each cluster's result.

import { h } from "../dom.js";
import { postJSON } from "./api.js";

// Faults for the demo template (engine/bootstrap.py: nodes node-1..3, Deployment web and StatefulSet
// sql, 3 replicas each). Pod names differ from cluster to cluster, so a pod fault names its pod by
// label selector: the server picks the first live pod that matches, in each cluster on its own.
export const FAULTS = [
  { id: "kill-web", label: "Delete one web pod",
    what: "Deletes one pod of Deployment web (app=web): its ReplicaSet starts a replacement; the Service loses an endpoint until it is Ready.",
    fault: { type: "pod.delete", args: { namespace: "default", selector: "app=web" } } },
  { id: "crash-web", label: "Crash one web container",
    what: "Crashes the container of one web pod (app=web): the kubelet restarts it, with back-off if it crashes again.",
    fault: { type: "pod.crash", args: { namespace: "default", selector: "app=web" } } },
  { id: "unready-web", label: "Fail one web pod's readiness",
    what: "Makes one web pod (app=web) fail its readiness probe until told otherwise: it stays Running but leaves the Service's endpoints.",
    fault: { type: "pod.readiness", args: { namespace: "default", selector: "app=web", failing: true } } },
  { id: "kill-sql", label: "Delete one sql pod",
    what: "Deletes one pod of StatefulSet sql (app=sql): it comes back with the same name and the same volume.",
    fault: { type: "pod.delete", args: { namespace: "default", selector: "app=sql" } } },
  { id: "power-off", label: "Power off node-2",
    what: "Powers node-2 off: it goes NotReady after the grace period and its pods are evicted and rescheduled elsewhere.",
    fault: { type: "node.power_off", args: { name: "node-2" } } },
  { id: "power-on", label: "Power on node-2",
    what: "Powers node-2 back on: it turns Ready again and takes new pods (the scheduler does not move running ones back).",
    fault: { type: "node.power_on", args: { name: "node-2" } } },
  { id: "drain", label: "Drain node-1",
    what: "Cordons node-1 and evicts its pods (like kubectl drain): their controllers recreate them on the other nodes.",
    fault: { type: "node.drain", args: { name: "node-1" } } },
  { id: "uncordon", label: "Uncordon node-1",
    what: "Lets the scheduler use node-1 again after a drain.",
    fault: { type: "node.uncordon", args: { name: "node-1" } } },
];

const $ = (sel) => document.querySelector(sel);

/**
 * Wire the bar. `scope()` says where an action goes: {clusters: [ids] | null, count, label};
 * `nameOf(id)` is the student's name of a cluster, for the results.
 */
export function initBulk({ scope, nameOf, readOnly }) {
  const faultSelect = $("#bulk-fault");
  faultSelect.replaceChildren(...FAULTS.map((f) => h("option", { value: f.id, text: f.label })));
  const describe = () => { $("#fault-what").textContent = FAULTS.find((f) => f.id === faultSelect.value)?.what || ""; };
  faultSelect.addEventListener("change", describe);
  describe();

  if (readOnly) {
    // The viewer sees what the instructor can do, disabled, with the reason (and the server refuses anyway).
    for (const el of document.querySelectorAll(".instructor-only button, .instructor-only input, .instructor-only select, button.instructor-only")) {
      el.disabled = true;
      el.classList.add("not-allowed");
      el.title = document.body.dataset.whyNot;
    }
    return;
  }

  const run = (action, args, label, clusters = scope().clusters) => bulk(action, args, label, clusters, nameOf);
  $("#bulk-drill-start").addEventListener("click", () => {
    const select = $("#bulk-drill");
    run("drill.start", { id: select.value }, `Start drill “${select.selectedOptions[0]?.textContent || select.value}”`);
  });
  $("#bulk-fault-go").addEventListener("click", () => {
    const f = FAULTS.find((x) => x.id === faultSelect.value);
    run("fault", f.fault, f.label);
  });
  $("#bulk-pause").addEventListener("click", () => run("sim.pause", {}, "Pause"));
  $("#bulk-resume").addEventListener("click", () => run("sim.resume", {}, "Resume"));
  // The speed lock is class-wide (students who join later get it too): it takes no cluster list.
  $("#bulk-lock").addEventListener("click", () => {
    const speed = Number($("#bulk-speed").value);
    run("lock_speed", { speed }, `Lock the speed at ${speed}×`, null);
  });
  $("#bulk-unlock").addEventListener("click", () => run("unlock_speed", {}, "Unlock the speed", null));

  const dialog = $("#reset-dialog");
  $("#bulk-reset").addEventListener("click", () => {
    const { count, clusters } = scope();
    $("#reset-what").textContent = clusters
      ? `Reset the ${count} selected student${count === 1 ? "'s" : "s'"} cluster${count === 1 ? "" : "s"}?`
      : `Reset every student's cluster (${count})?`;
    dialog.returnValue = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "reset") run("sim.reset", {}, "Reset");
  });
}

/** Send one bulk action and show every cluster's result (errors in full). */
async function bulk(action, args, label, clusters, nameOf) {
  const box = $("#bulk-result");
  const summary = box.querySelector(".bulk-summary");
  const list = box.querySelector(".bulk-list");
  box.hidden = false;
  box.dataset.state = "working";
  summary.textContent = `${label}: working…`;
  list.replaceChildren();
  for (const b of document.querySelectorAll("#bulk button")) b.disabled = true;
  try {
    const { data } = await postJSON("/class/api/bulk", { action, args, clusters });
    const results = data.results || [];
    const failed = results.filter((r) => !r.ok);
    box.dataset.state = failed.length ? "failed" : "ok";
    summary.textContent = results.length
      ? `${label}: done on ${results.length - failed.length} of ${results.length} cluster${results.length === 1 ? "" : "s"}${failed.length ? `, ${failed.length} failed` : ""}.`
      : `${label}: no student cluster to do it on.`;
    // The failures first: they are what the instructor has to read.
    const ordered = [...failed, ...results.filter((r) => r.ok)];
    list.replaceChildren(...ordered.map((r) => h("li", { class: r.ok ? "ok" : "bad", dataset: { cluster: r.cluster, ok: r.ok ? "1" : "0" } },
      h("span", { "aria-hidden": "true", text: r.ok ? "✔ " : "✖ " }),
      h("b", { text: nameOf(r.cluster) }), h("span", { class: "muted", text: ` (${r.cluster})` }),
      r.ok ? h("span", { class: "visually-hidden", text: " done" }) : h("span", { text: `: ${r.error?.message || "failed"}` }))));
  } catch (err) {
    box.dataset.state = "failed";
    const fields = err.causes.map((c) => c.field).filter(Boolean);
    summary.textContent = `${label}: nothing done. ${err.message}${fields.length && !err.message.includes(fields[0]) ? ` (${fields.join(", ")})` : ""}`;
  } finally {
    for (const b of document.querySelectorAll("#bulk button")) b.disabled = false;
  }
}
