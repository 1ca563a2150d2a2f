"""Volume attachment, as the kubelet and the attach/detach controller both see it (component-helpers/storage).

A network volume (CSI and the cloud disks) that is ReadWriteOnce is attached to one node at a time;
the attachment is recorded on the PV as ``kubedrill.io/attached-node`` (a real cluster keeps it in
VolumeAttachment objects and ``node.status.volumesAttached``). The kubelet waits while
``attach_blocker`` names a Multi-Attach error; the controller (engine/controllers/volume_binding.py)
attaches and detaches.
"""
from __future__ import annotations

from typing import Any

from ..objects import annotations_of, spec_of

ATTACHED_NODE = "kubedrill.io/attached-node"
ATTACHABLE_SOURCES = ("csi", "gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "cinder", "rbd", "iscsi",
                      "fc", "vsphereVolume", "portworxVolume")
EXCLUSIVE_MESSAGE = "Volume is already exclusively attached to one node and can't be attached to another"


def pod_claim_names(pod: dict) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in spec_of(pod).get("volumes") or ()
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def is_attachable(pv: dict) -> bool:
    spec = spec_of(pv)
    return any(src in spec for src in ATTACHABLE_SOURCES)


def is_exclusive(pv: dict) -> bool:
    """ReadWriteOnce/ReadWriteOncePod volumes attach to a single node (no RWX/ROX multi-attach)."""
    modes = set(spec_of(pv).get("accessModes") or ())
    return not modes & {"ReadWriteMany", "ReadOnlyMany"}


def multi_attach_message(pv_name: str, detail: str = EXCLUSIVE_MESSAGE) -> str:
    return f'Multi-Attach error for volume "{pv_name}" {detail}'


def attach_blocker(store: Any, pod: dict) -> str | None:
    """The Multi-Attach message when a volume ``pod`` needs is attached to another node, else None.

    The kubelet calls this before mounting (its ``volumes_ready`` guard) and waits while it returns a message;
    the attachdetach-controller records the ``FailedAttachVolume`` event itself.
    """
    node = spec_of(pod).get("nodeName")
    if not node:
        return None
    ns = pod["metadata"].get("namespace", "")
    for claim in pod_claim_names(pod):
        pvc = store.find("persistentvolumeclaims", ns, claim)
        volume = spec_of(pvc).get("volumeName")
        pv = store.find("persistentvolumes", "", volume) if volume else None
        if pv is None or not is_attachable(pv) or not is_exclusive(pv):
            continue
        attached = annotations_of(pv).get(ATTACHED_NODE)
        if attached and attached != node:
            return multi_attach_message(pv["metadata"]["name"])
    return None
