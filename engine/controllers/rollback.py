"""Roll a workload back to an earlier pod template (what ``kubectl rollout undo`` does client-side)."""
from __future__ import annotations

from typing import Any, Protocol

from ..errors import BadRequest, NotFound
from ..objects import annotations_of, owner_controller
from .deployment import REVISION, revision_of, strip_template_hash


class _HasAPI(Protocol):
    """What rollback needs of a cluster: its API server (engine.cluster is above the controllers' layer)."""

    api: Any


def rollback(cluster: _HasAPI, kind: str, namespace: str, name: str, revision: int | None = None) -> dict:
    """Copy the template of ``revision`` (default: the previous one) back into the Deployment."""
    if kind != "Deployment":
        raise BadRequest(f"rollback is supported for Deployments (got {kind}); for a StatefulSet, set the image back")
    api = cluster.api
    d = api.get("deployments", namespace, name)
    uid = d["metadata"]["uid"]
    owned = [rs for rs in api.store.owned_by(uid, "replicasets") if (owner_controller(rs) or {}).get("uid") == uid]
    current = int(annotations_of(d).get(REVISION, 0) or 0)
    history = sorted(owned, key=revision_of)
    if revision in (None, 0):
        previous = [rs for rs in history if revision_of(rs) < current]
        if not previous:
            raise BadRequest(f'no rollout history found for deployment "{name}"')
        target = previous[-1]
    else:
        target = next((rs for rs in history if revision_of(rs) == revision), None)
        if target is None:
            raise NotFound(f"unable to find specified revision {revision} in history", name=name, kind="deployments")
    template = strip_template_hash(target["spec"]["template"])
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    return api.patch("deployments", namespace, name, patch, "json")
