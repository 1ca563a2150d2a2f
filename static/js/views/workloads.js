// Workloads panel: Deployments -> ReplicaSets -> Pods, StatefulSets with ordinals and PVCs, DaemonSets.

import { h } from "../dom.js";
import { condition } from "../k8s/pods.js";
import { ownedBy } from "../k8s/owners.js";
import { actionBar, syncActionInputs } from "./actionbar.js";
import { renderCards, objLink, podDot, stat, progress, section, sectionList, rvs } from "./common.js";

/** Render the workloads panel. */
export function renderWorkloads(state, root) {
  const deps = state.list("deployments");
  renderCards(sectionList(section(root, "deployments", "Deployments"), deps.length), deps, {
    resource: "deployments",
    sig: (d) => { const rs = ownedBy(state, "replicasets", d.metadata.uid); return `${d.metadata.resourceVersion}|${rvs(rs)}|${rvs(rs.flatMap((r) => ownedBy(state, "pods", r.metadata.uid)))}`; },
    build: (d) => deploymentBody(state, d),
    tail: (d) => actionBar("deployments", d),
    sync: (el, o) => syncActionInputs(el, "deployments", o),
  });

  const sets = state.list("statefulsets");
  renderCards(sectionList(section(root, "statefulsets", "StatefulSets"), sets.length), sets, {
    resource: "statefulsets",
    sig: (s) => `${s.metadata.resourceVersion}|${rvs(ownedBy(state, "pods", s.metadata.uid))}|${rvs(state.list("persistentvolumeclaims"))}`,
    build: (s) => statefulSetBody(state, s),
    tail: (s) => actionBar("statefulsets", s),
    sync: (el, o) => syncActionInputs(el, "statefulsets", o),
  });

  const daemons = state.list("daemonsets");
  renderCards(sectionList(section(root, "daemonsets", "DaemonSets"), daemons.length), daemons, {
    resource: "daemonsets",
    sig: (d) => `${d.metadata.resourceVersion}|${rvs(ownedBy(state, "pods", d.metadata.uid))}`,
    build: (d) => daemonSetBody(state, d),
    tail: (d) => actionBar("daemonsets", d, { only: ["delete"] }),
  });
}

function head(resource, obj, extra) {
  const img = (obj.spec?.template?.spec?.containers || []).map((c) => c.image).join(", ");
  return h("div", { class: "card-head" },
    objLink(resource, obj),
    obj.metadata.namespace ? h("span", { class: "ns", text: obj.metadata.namespace }) : null,
    extra,
    img ? h("code", { class: "image", text: img, title: "container image" }) : null);
}

function deploymentBody(state, d) {
  const want = d.spec?.replicas ?? 1;
  const st = d.status || {};
  const prog = condition(d, "Progressing");
  const avail = condition(d, "Available");
  const rsets = ownedBy(state, "replicasets", d.metadata.uid)
    .sort((a, b) => Number(b.metadata.annotations?.["deployment.kubernetes.io/revision"] || 0) - Number(a.metadata.annotations?.["deployment.kubernetes.io/revision"] || 0));
  // A rollout is two live ReplicaSets or pods not yet on the new template, not merely a replaced pod.
  const rolling = rsets.filter((r) => (r.spec?.replicas ?? 0) > 0).length > 1 || (st.updatedReplicas ?? want) < want;
  return [
    head("deployments", d, rolling ? h("span", { class: "badge badge-warn", text: "rolling out" }) : null),
    h("div", { class: "stats" },
      stat(want, "desired"), stat(st.replicas, "current"), stat(st.readyReplicas, "ready", "ok"),
      stat(st.updatedReplicas, "up-to-date"), stat(st.availableReplicas, "available")),
    progress(st.readyReplicas || 0, want, `Deployment ${d.metadata.name}: ${st.readyReplicas || 0} of ${want} ready`),
    prog || avail ? h("p", { class: "cond", text: [prog && `Progressing: ${prog.reason || prog.status}`, avail && `Available: ${avail.status}`].filter(Boolean).join(" · "), title: prog?.message || "" }) : null,
    h("ul", { class: "rs-list", "aria-label": `ReplicaSets of ${d.metadata.name}` }, rsets.map((rs) => {
      const pods = ownedBy(state, "pods", rs.metadata.uid);
      const rev = rs.metadata.annotations?.["deployment.kubernetes.io/revision"];
      return h("li", { class: "rs-row", dataset: { rs: rs.metadata.name } },
        objLink("replicasets", rs),
        rev ? h("span", { class: "badge", text: `rev ${rev}` }) : null,
        h("span", { class: "rs-counts", text: `${rs.spec?.replicas ?? 0} desired · ${rs.status?.replicas ?? 0} current · ${rs.status?.readyReplicas ?? 0} ready` }),
        h("span", { class: "dots" }, pods.map((p) => podDot(p))));
    })),
  ];
}

function statefulSetBody(state, s) {
  const want = s.spec?.replicas ?? 1;
  const st = s.status || {};
  const pods = ownedBy(state, "pods", s.metadata.uid);
  const templates = (s.spec?.volumeClaimTemplates || []).map((t) => t.metadata?.name).filter(Boolean);
  const ordinals = Math.max(want, ...pods.map((p) => Number(/-(\d+)$/.exec(p.metadata.name)?.[1] ?? -1) + 1));
  const rows = [];
  for (let i = 0; i < ordinals; i++) {
    const name = `${s.metadata.name}-${i}`;
    const pod = pods.find((p) => p.metadata.name === name);
    const pvcs = templates.map((t) => state.find("persistentvolumeclaims", s.metadata.namespace, `${t}-${name}`) || { missing: `${t}-${name}` });
    rows.push(h("li", { class: "ordinal-row" },
      h("span", { class: "ordinal", text: `#${i}` }),
      pod ? podDot(pod, name) : h("span", { class: "muted", text: `${name} (not created)` }),
      pvcs.map((c) => (c.missing ? h("span", { class: "pvc-tag muted", text: `${c.missing}: none` })
        : h("span", { class: `pvc-tag phase-${(c.status?.phase || "Pending").toLowerCase()}`, text: `${c.metadata.name}: ${c.status?.phase || "Pending"}` })))));
  }
  return [
    head("statefulsets", s),
    h("div", { class: "stats" }, stat(want, "desired"), stat(st.replicas, "current"), stat(st.readyReplicas, "ready", "ok"), stat(st.updatedReplicas, "updated")),
    progress(st.readyReplicas || 0, want, `StatefulSet ${s.metadata.name}: ${st.readyReplicas || 0} of ${want} ready`),
    h("ol", { class: "ordinals", start: "0", "aria-label": `Pods of ${s.metadata.name} by ordinal` }, rows),
  ];
}

function daemonSetBody(state, d) {
  const st = d.status || {};
  const pods = ownedBy(state, "pods", d.metadata.uid);
  return [
    head("daemonsets", d),
    h("div", { class: "stats" },
      stat(st.desiredNumberScheduled, "desired"), stat(st.currentNumberScheduled, "current"), stat(st.numberReady, "ready", "ok"),
      stat(st.updatedNumberScheduled, "up-to-date"), stat(st.numberAvailable, "available")),
    progress(st.numberReady || 0, st.desiredNumberScheduled || 0, `DaemonSet ${d.metadata.name} ready`),
    h("span", { class: "dots" }, pods.map((p) => podDot(p, p.spec?.nodeName || p.metadata.name))),
  ];
}
