"""Node Leases (``kube-node-lease/<node>``): how kubelet heartbeats are stored and read.

The kubelet (engine/kubelet/node_status.py) writes its Lease; the node lifecycle controller and the
HTTP API read it through ``effective_renew_time`` / ``materialized_lease``. Writer and readers share
this one description of the protocol, so it sits below both.

Heartbeats — cost follows change, not cluster size
--------------------------------------------------
A live kubelet renews its Lease ``kube-node-lease/<node>`` every ``lease_renew_interval`` (10 s),
on the grid ``heartbeat_start + k·interval``. Writing 5,000 leases every 10 s would make an idle
cluster the most expensive thing the simulator does, so renewals are *materialised lazily*:

* When heartbeats start (registration, power on, kubelet start, partition healed) the Lease is
  written with ``spec.renewTime = now`` and the annotation
  ``kubedrill.io/heartbeat-interval-seconds: "10"``: "renewed every 10 s from renewTime on".
* While the annotation is present the lease is fresh by construction: its effective renew time is
  ``renewTime + floor((now − renewTime)/interval)·interval`` (``effective_renew_time``), which is
  what a reader (the node lifecycle controller, the dashboard) uses.
* When heartbeats stop (power off, kubelet stop, network partition) the Lease is written once
  more with the *last renewal that really happened* and without the annotation (the lease then
  shows exactly what etcd would hold: the last real ``renewTime``), plus
  ``kubedrill.io/kubelet-state`` saying why (also what a restart from the database resumes from).

The node lifecycle controller therefore needs one deadline timer only for nodes whose lease stopped
being renewed (``renewTime + node_monitor_grace_period``), and healthy nodes cost nothing per tick.
Node status is likewise posted only when it changes (``nodeStatusReportFrequency`` reports of an
unchanged status are not materialised). Outcomes and timings are the real ones: a powered-off node
goes Unknown ``grace`` seconds after its last renewal.
"""
from __future__ import annotations

import math

from ..clock import parse_rfc3339, rfc3339_micro
from ..objects import annotations_of, spec_of

HEARTBEAT_ANNOTATION = "kubedrill.io/heartbeat-interval-seconds"
KUBELET_STATE_ANNOTATION = "kubedrill.io/kubelet-state"
LEASE_NAMESPACE = "kube-node-lease"


def new_lease(node: str, node_uid: str, duration: float, renew: float) -> dict:
    """Return the Lease a kubelet creates when it registers its node (owned by the Node)."""
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": LEASE_NAMESPACE,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}]},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": int(duration),
                     "renewTime": rfc3339_micro(renew)}}


def effective_renew_time(lease: dict, now: float) -> float | None:
    """Return the last renewal of ``lease`` at ``now`` (sim seconds), honouring lazy materialisation."""
    spec = spec_of(lease)
    stamp = spec.get("renewTime")
    if not stamp:
        return None
    renewed = parse_rfc3339(stamp)
    interval = annotations_of(lease).get(HEARTBEAT_ANNOTATION)
    if interval:
        step = float(interval)
        if step > 0 and now > renewed:
            renewed += math.floor((now - renewed) / step + 1e-9) * step
    return renewed


def materialized_lease(lease: dict, now: float) -> dict:
    """Return the Lease as a reader should see it at ``now``: a healthy kubelet's renewTime is its last renewal.

    Healthy kubelets do not rewrite their Lease every interval (see this module's docstring); readers
    such as the HTTP API show the renewal that has happened by now instead of the stored one.
    """
    if not lease_is_renewing(lease):
        return lease
    renewed = effective_renew_time(lease, now)
    if renewed is None:
        return lease
    shown = dict(lease)
    shown["spec"] = dict(spec_of(lease), renewTime=rfc3339_micro(renewed))
    return shown


def lease_is_renewing(lease: dict) -> bool:
    """Tell whether the kubelet was still renewing ``lease`` when it was last written (lazy heartbeats)."""
    return bool(annotations_of(lease).get(HEARTBEAT_ANNOTATION))
