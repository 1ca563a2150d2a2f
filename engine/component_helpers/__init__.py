"""Rules several components share, as upstream's k8s.io/component-helpers.

Taints and tolerations (scheduler, DaemonSet and node lifecycle controllers), volume attachment
(kubelet and attach/detach controller) and the node Lease heartbeat protocol (kubelet and node
lifecycle controller).
"""
