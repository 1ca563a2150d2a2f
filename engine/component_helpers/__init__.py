"""Rules several components share, as upstream's k8s.io/component-helpers: taints and tolerations, volume attachment."""
