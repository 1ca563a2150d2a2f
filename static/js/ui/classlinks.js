// The class links in the dashboard's header (class mode only): a student's kubeconfig download and
// the two lines to type, and a way back to their own cluster when they watch the demo cluster.
// Who the student is and which cluster is theirs come from GET /class/api/me: the page's own
// cluster is not theirs when they are watching the instructor's.

import { perms } from "./permissions.js";

export const kubeconfigName = (cluster) => `kubedrill-${cluster}.kubeconfig`;

/** The two lines a student types after downloading their kubeconfig. */
export const kubectlLines = (cluster) => `export KUBECONFIG=~/Downloads/${kubeconfigName(cluster)}\nkubectl get pods`;

/** Fill the student's links from /class/api/me (nothing to do for other roles or outside class mode). */
export async function initClassLinks(root = document) {
  if (!perms.classroom || perms.role !== "student") return;
  let me;
  try {
    const resp = await fetch("/class/api/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!resp.ok) return;   // the download link still works: it is the student's cookie that counts
    me = await resp.json();
  } catch (_err) {
    return;
  }
  if (!me || !me.cluster) return;
  const download = root.querySelector("#download-kubeconfig");
  if (download) {
    download.href = me.kubeconfig || "/class/kubeconfig";
    download.setAttribute("download", kubeconfigName(me.cluster));
  }
  const lines = root.querySelector("#kubectl-lines");
  if (lines) {
    lines.textContent = kubectlLines(me.cluster);
    lines.closest(".kubectl-hint").hidden = false;
  }
  const own = root.querySelector("#own-cluster");
  if (own && me.cluster !== perms.cluster) {
    own.href = `/c/${encodeURIComponent(me.cluster)}/`;
    own.hidden = false;
  }
}
