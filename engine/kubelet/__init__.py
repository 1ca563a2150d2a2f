"""The node agent (pkg/kubelet): pod sync, containers, probes, pod and node status, lease, IPAM, logs.

The pod lifecycle is data (``stages``: the stage table the kubelet interprets), memory of what runs
is ``runtime``, and faults are ``faults``.
"""
from __future__ import annotations

from .kubelet import Kubelet, KubeletManager

__all__ = ["Kubelet", "KubeletManager"]
