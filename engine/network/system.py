"""The Services every kubeadm cluster starts with: ``default/kubernetes`` and ``kube-system/kube-dns``.

``kubernetes`` (10.96.0.1:443) has no selector: the API server itself keeps its Endpoints and
EndpointSlice pointing at the control-plane node's IP on 6443. ``kube-dns`` (10.96.0.10) selects
the CoreDNS pods (``k8s-app=kube-dns``) on 53/UDP, 53/TCP and 9153/TCP.
"""
from __future__ import annotations

from typing import Any

from ..objects import status_of

KUBERNETES_IP = "10.96.0.1"
DNS_IP = "10.96.0.10"


def system_services(control_plane_ip: str) -> list[dict[str, Any]]:
    """The objects to create at bootstrap, in order."""
    https = {"name": "https", "port": 6443, "protocol": "TCP"}
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"component": "apiserver", "provider": "kubernetes"}},
         "spec": {"clusterIP": KUBERNETES_IP, "type": "ClusterIP", "sessionAffinity": "None",
                  "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
        {"apiVersion": "v1", "kind": "Endpoints",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
         "subsets": [{"addresses": [{"ip": control_plane_ip}], "ports": [dict(https)]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": [control_plane_ip], "conditions": {"ready": True}}],
         "ports": [dict(https)]},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": "kube-system",
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                 "kubernetes.io/name": "CoreDNS"},
                      "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
         "spec": {"clusterIP": DNS_IP, "selector": {"k8s-app": "kube-dns"},
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}},
    ]


def node_internal_ip(node: dict) -> str:
    for addr in status_of(node).get("addresses") or ():
        if addr.get("type") == "InternalIP":
            return addr.get("address", "")
    return ""
