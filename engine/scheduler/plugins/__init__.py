"""The default kube-scheduler plugins, one small module each (upstream ``framework/plugins``).

Each filter is a pure function ``filter(pod_info, node_info, state) -> Status | None`` (None = fits)
with the real failure reason; each score returns 0-100 before normalisation and weighting. Each
module exports ``PLUGIN`` (its extension points, see ``types.Plugin``), listed in ``registry``.
"""
