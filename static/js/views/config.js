// Config panel: ConfigMaps and Secrets; secret values stay masked until "reveal" is clicked.

import { h } from "../dom.js";
import { ui, setUi } from "../ui/uistate.js";
import { renderCards, objLink, section, sectionList } from "./common.js";

/** Decode base64 into UTF-8 text (or a note when the value is binary). */
export function decodeBase64(b64) {
  try {
    const bin = atob(String(b64 || ""));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    return `<${String(b64 || "").length} bytes of binary data>`;
  }
}

/** Render the config panel. */
export function renderConfig(state, root) {
  const maps = state.list("configmaps");
  renderCards(sectionList(section(root, "configmaps", "ConfigMaps"), maps.length), maps, {
    resource: "configmaps",
    sig: (c) => c.metadata.resourceVersion,
    build: (c) => [
      h("div", { class: "card-head" }, objLink("configmaps", c), h("span", { class: "ns", text: c.metadata.namespace }),
        c.immutable ? h("span", { class: "badge", text: "immutable" }) : null),
      h("dl", { class: "kv data" }, Object.entries(c.data || {}).flatMap(([k, v]) => [h("dt", { text: k }), h("dd", {}, h("code", { class: "value", text: v }))]),
        Object.keys(c.binaryData || {}).flatMap((k) => [h("dt", { text: k }), h("dd", { class: "muted", text: "binary data" })])),
    ],
  });

  const secrets = state.list("secrets");
  renderCards(sectionList(section(root, "secrets", "Secrets"), secrets.length), secrets, {
    resource: "secrets",
    sig: (s) => `${s.metadata.resourceVersion}|${[...ui.revealed].filter((k) => k.startsWith(s.metadata.uid)).join(",")}`,
    build: (s) => [
      h("div", { class: "card-head" }, objLink("secrets", s), h("span", { class: "ns", text: s.metadata.namespace }), h("span", { class: "badge", text: s.type || "Opaque" })),
      h("dl", { class: "kv data" }, Object.entries(s.data || {}).flatMap(([k, v]) => {
        const id = `${s.metadata.uid}/${k}`;
        const shown = ui.revealed.has(id);
        return [h("dt", { text: k }), h("dd", { class: "secret-row" },
          h("code", { class: `value${shown ? "" : " masked"}`, text: shown ? decodeBase64(v) : "••••••••" }),
          h("button", { type: "button", class: "btn btn-small btn-ghost", text: shown ? "hide" : "reveal", "aria-label": `${shown ? "Hide" : "Reveal"} ${k} of secret ${s.metadata.name}`,
            onclick: () => { const r = new Set(ui.revealed); shown ? r.delete(id) : r.add(id); setUi({ revealed: r }); } }))];
      })),
    ],
  });
}
