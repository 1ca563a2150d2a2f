"""Roll a workload back to an earlier pod template (what ``kubectl rollout undo`` does client-side)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BadRequest, NotFound
from ..objects import annotations_of, clone, owner_controller
from .deployment import HASH_LABEL, REVISION, _revision

if TYPE_CHECKING:
    from ..cluster import Cluster


def rollback(cluster: "Cluster", kind: str, namespace: str, name: str, revision: int | None = None) -> dict:
    """Copy the template of ``revision`` (default: the previous one) back into the Deployment."""
    if kind != "Deployment":
        raise BadRequest(f"rollback is supported for Deployments (got {kind}); for a StatefulSet, set the image back")
    api = cluster.api
    d = api.get("deployments", namespace, name)
    uid = d["metadata"]["uid"]
    owned = [rs for rs in api.store.owned_by(uid, "replicasets") if (owner_controller(rs) or {}).get("uid") == uid]
    current = int(annotations_of(d).get(REVISION, 0) or 0)
    history = sorted(owned, key=_revision)
    if revision in (None, 0):
        previous = [rs for rs in history if _revision(rs) < current]
        if not previous:
            raise BadRequest(f'no rollout history found for deployment "{name}"')
        target = previous[-1]
    else:
        target = next((rs for rs in history if _revision(rs) == revision), None)
        if target is None:
            raise NotFound(f"unable to find specified revision {revision} in history", name=name, kind="deployments")
    template = clone(target["spec"]["template"])
    template.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    return api.patch("deployments", namespace, name, patch, "json")
