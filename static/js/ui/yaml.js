// Objects to YAML text with the vendored js-yaml (MIT), for the inspector.

import { dump } from "../../vendor/js-yaml/js-yaml.mjs";

/** Dump an object as block YAML, keeping Kubernetes field order. */
export function toYaml(obj) {
  try {
    return dump(obj, { lineWidth: -1, noRefs: true, sortKeys: false });
  } catch (e) {
    return JSON.stringify(obj, null, 2);
  }
}
