// Storage panel: StorageClasses, PersistentVolumes, PersistentVolumeClaims and the data they hold.

import { h } from "../dom.js";
import { renderCards, objLink, section, sectionList, kv } from "./common.js";

/** Data annotations (kubedrill.io/data*) of a volume or claim as [label, value] pairs. */
function dataOf(obj) {
  return Object.entries(obj.metadata?.annotations || {})
    .filter(([k]) => /^kubedrill\.io\/data/.test(k))
    .map(([k, v]) => [k.replace("kubedrill.io/", ""), String(v)]);
}

/** A claim's data and its volume's: one row per key (both carry the same rows when bound). */
function mergeData(...lists) {
  return [...new Map(lists.flat()).entries()];
}

function phaseBadge(phase) {
  return h("span", { class: `badge phase-${String(phase || "Pending").toLowerCase()}`, text: phase || "Pending" });
}

/** Render the storage panel. */
export function renderStorage(state, root) {
  const classes = state.list("storageclasses");
  renderCards(sectionList(section(root, "storageclasses", "StorageClasses"), classes.length), classes, {
    resource: "storageclasses",
    sig: (c) => c.metadata.resourceVersion,
    build: (c) => [
      h("div", { class: "card-head" }, objLink("storageclasses", c),
        c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true" ? h("span", { class: "badge", text: "default" }) : null),
      kv([["Provisioner", c.provisioner], ["Reclaim", c.reclaimPolicy || "Delete"], ["Binding", c.volumeBindingMode || "Immediate"]]),
    ],
  });

  const claims = state.list("persistentvolumeclaims");
  renderCards(sectionList(section(root, "pvcs", "PersistentVolumeClaims"), claims.length), claims, {
    resource: "persistentvolumeclaims",
    sig: (c) => `${c.metadata.resourceVersion}|${state.list("pods").length}`,
    build: (c) => {
      const users = state.list("pods").filter((p) => p.metadata.namespace === c.metadata.namespace
        && (p.spec?.volumes || []).some((v) => v.persistentVolumeClaim?.claimName === c.metadata.name)).map((p) => p.metadata.name);
      const pv = c.spec?.volumeName ? state.find("persistentvolumes", "", c.spec.volumeName) : undefined;
      return [
        h("div", { class: "card-head" }, objLink("persistentvolumeclaims", c), phaseBadge(c.status?.phase), h("span", { class: "ns", text: c.metadata.namespace })),
        kv([["Volume", c.spec?.volumeName || "—"], ["Capacity", c.status?.capacity?.storage || c.spec?.resources?.requests?.storage],
          ["Class", c.spec?.storageClassName || ""], ["Access", (c.spec?.accessModes || []).join(", ")], ["Used by", users.join(", ") || "no pod"],
          ...mergeData(dataOf(c), pv ? dataOf(pv) : [])]),
      ];
    },
  });

  const vols = state.list("persistentvolumes");
  renderCards(sectionList(section(root, "pvs", "PersistentVolumes"), vols.length), vols, {
    resource: "persistentvolumes",
    sig: (v) => v.metadata.resourceVersion,
    build: (v) => [
      h("div", { class: "card-head" }, objLink("persistentvolumes", v), phaseBadge(v.status?.phase)),
      kv([["Capacity", v.spec?.capacity?.storage], ["Claim", v.spec?.claimRef ? `${v.spec.claimRef.namespace}/${v.spec.claimRef.name}` : "—"],
        ["Reclaim", v.spec?.persistentVolumeReclaimPolicy], ["Class", v.spec?.storageClassName], ...dataOf(v)]),
    ],
  });
}
