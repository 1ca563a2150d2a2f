"""PodTopologySpread: keep matching pods evenly spread over topology domains.

``DoNotSchedule`` constraints filter; ``ScheduleAnyway`` constraints (or, when the pod has none, the
system defaults — hostname maxSkew 3 and zone maxSkew 5 over the pods of the same Service/owner)
score. Counting excludes terminating pods, as upstream ``countPodsMatchSelector`` does.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from ...component_helpers.scheduling import untolerated_taint
from ...objects import meta_of, spec_of
from ...selectors import LabelSelector
from ..types import (HOSTNAME_LABEL, keep_pre_filter_state, MAX_NODE_SCORE, NODE_ADD, NODE_LABEL,
                     NodeInfo, Plugin, POD_ADD, POD_DELETE, POD_LABEL, PodInfo, selector_with_match_label_keys,
                     SKIP, Status, UNRESOLVABLE, UNSCHEDULABLE, ZONE_LABEL)
from . import node_affinity

NAME = "PodTopologySpread"
WEIGHT = 2
REASON = "node(s) didn't match pod topology spread constraints"
REASON_MISSING_LABEL = REASON + " (missing required label)"
SYSTEM_DEFAULT_CONSTRAINTS = ((HOSTNAME_LABEL, 3), (ZONE_LABEL, 5))
_FAIL = Status(UNSCHEDULABLE, REASON, NAME)
_FAIL_LABEL = Status(UNRESOLVABLE, REASON_MISSING_LABEL, NAME)


class Constraint:
    """One topology spread constraint with its selector resolved."""

    __slots__ = ("max_skew", "topology_key", "selector", "min_domains", "honor_affinity", "honor_taints")

    def __init__(self, max_skew: int, topology_key: str, selector: LabelSelector, min_domains: int = 1,
                 honor_affinity: bool = True, honor_taints: bool = False):
        self.max_skew = max_skew
        self.topology_key = topology_key
        self.selector = selector
        self.min_domains = min_domains
        self.honor_affinity = honor_affinity
        self.honor_taints = honor_taints

    def includes(self, pi: PodInfo, ni: NodeInfo) -> bool:
        """``matchNodeInclusionPolicies``: nodeAffinityPolicy Honor (default), nodeTaintsPolicy Ignore (default)."""
        if self.honor_affinity and not node_affinity.required_matches(pi, ni):
            return False
        if self.honor_taints and untolerated_taint(pi.tolerations, ni.hard_taints) is not None:
            return False
        return True


def spec_constraints(pi: PodInfo, action: str) -> list[Constraint]:
    """The pod's own constraints with ``whenUnsatisfiable == action``."""
    out = []
    for c in pi.spread_constraints:
        if (c.get("whenUnsatisfiable") or "DoNotSchedule") != action:
            continue
        selector = LabelSelector.from_dict(c.get("labelSelector"))
        selector = selector_with_match_label_keys(selector, c.get("matchLabelKeys"), pi.labels)
        out.append(Constraint(int(c.get("maxSkew", 1)), c.get("topologyKey", ""), selector,
                              int(c.get("minDomains") or 1),
                              (c.get("nodeAffinityPolicy") or "Honor") == "Honor",
                              (c.get("nodeTaintsPolicy") or "Ignore") == "Honor"))
    return out


def default_selector(pi: PodInfo, store: Any) -> LabelSelector:
    """``helper.DefaultSelector``: Services selecting the pod, plus its ReplicaSet/RC/StatefulSet selector."""
    if store is None:
        return LabelSelector()
    merged: dict[str, str] = {}
    for svc in store.list("services", pi.namespace):
        sel = spec_of(svc).get("selector") or {}
        if sel and all(pi.labels.get(k) == v for k, v in sel.items()):
            merged.update(sel)
    requirements = list(LabelSelector.from_labels(merged).requirements) if merged else []
    owner = next((r for r in meta_of(pi.pod).get("ownerReferences") or () if r.get("controller")), None)
    if owner is not None:
        kind = owner.get("kind")
        plural = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets",
                  "ReplicationController": "replicationcontrollers"}.get(kind)
        obj = store.find(plural, pi.namespace, owner.get("name", "")) if plural else None
        if obj is not None:
            sel = spec_of(obj).get("selector")
            if kind == "ReplicationController":
                merged.update(sel or {})
                requirements = list(LabelSelector.from_labels(merged).requirements)
            elif sel:
                requirements += list(LabelSelector.from_dict(sel).requirements)
    return LabelSelector(requirements)


def default_constraints(pi: PodInfo, store: Any) -> list[Constraint]:
    """System default constraints (ScheduleAnyway) — only when the pod belongs to a Service or owner."""
    selector = default_selector(pi, store)
    if not selector.requirements:
        return []
    return [Constraint(skew, key, selector) for key, skew in SYSTEM_DEFAULT_CONSTRAINTS]


def count_by_node(snapshot: Any, selector: LabelSelector, namespace: str) -> Mapping[str, int]:
    """Matching, non-terminating pods per node in ``namespace`` (read-only).

    The scheduler cache keeps these counts incrementally (``spread_counts``), so a cycle costs the
    nodes it looks at, not the size of the workload.
    """
    return snapshot.spread_counts(namespace, selector)


def _has_all_keys(labels: Mapping[str, str], constraints: Iterable[Constraint]) -> bool:
    return all(c.topology_key in labels for c in constraints)


# --------------------------------------------------------------------------- filter
class FilterState:
    __slots__ = ("constraints", "pair_counts", "min_counts", "domains")

    def __init__(self, constraints: list[Constraint]):
        self.constraints = constraints
        self.pair_counts: dict[tuple[str, str], int] = {}
        self.min_counts: dict[str, int] = {}
        self.domains: dict[str, int] = {}


def pre_filter(pi: PodInfo, snapshot: Any) -> FilterState | None:
    """Count matching pods per topology pair over every eligible node (None: no hard constraints)."""
    constraints = spec_constraints(pi, "DoNotSchedule")
    if not constraints:
        return None
    state = FilterState(constraints)
    per_constraint = [count_by_node(snapshot, c.selector, pi.namespace) for c in constraints]
    for ni in snapshot.nodes:
        if not _has_all_keys(ni.labels, constraints):
            continue
        for c, counts in zip(constraints, per_constraint):
            if not c.includes(pi, ni):
                continue
            pair = (c.topology_key, ni.labels[c.topology_key])
            state.pair_counts[pair] = state.pair_counts.get(pair, 0) + counts.get(ni.name, 0)
    for (key, _), num in state.pair_counts.items():
        state.domains[key] = state.domains.get(key, 0) + 1
        if num < state.min_counts.get(key, 1 << 62):
            state.min_counts[key] = num
    return state


def filter(pi: PodInfo, ni: NodeInfo, state: FilterState | None) -> Status | None:
    """Reject a node where placing the pod would exceed a constraint's maxSkew."""
    if state is None:
        return None
    for c in state.constraints:
        value = ni.labels.get(c.topology_key)
        if value is None:
            return _FAIL_LABEL
        min_match = state.min_counts.get(c.topology_key, 1 << 31)
        if state.domains.get(c.topology_key, 0) < c.min_domains:
            min_match = 0
        self_match = 1 if c.selector.matches(pi.labels) else 0
        skew = state.pair_counts.get((c.topology_key, value), 0) + self_match - min_match
        if skew > c.max_skew:
            return _FAIL
    return None


# --------------------------------------------------------------------------- score
class ScoreState:
    __slots__ = ("constraints", "ignored", "pair_counts", "weights", "host_counts")

    def __init__(self, constraints: list[Constraint]):
        self.constraints = constraints
        self.ignored: set[str] = set()
        self.pair_counts: dict[tuple[str, str], int] = {}
        self.weights: list[float] = []
        self.host_counts: list[Mapping[str, int]] = []


def pre_score(pi: PodInfo, snapshot: Any, feasible: list[NodeInfo]) -> ScoreState | None:
    """Prepare soft-constraint counts (None: nothing to score, the plugin is skipped)."""
    if pi.spread_constraints:
        constraints = spec_constraints(pi, "ScheduleAnyway")
        require_all = True
    else:
        constraints = default_constraints(pi, getattr(snapshot, "store", None))
        require_all = False          # system-defaulted: nodes lacking a key are not ignored
    if not constraints:
        return None
    state = ScoreState(constraints)
    topo_size = [0] * len(constraints)
    for ni in feasible:
        if require_all and not _has_all_keys(ni.labels, constraints):
            state.ignored.add(ni.name)
            continue
        for i, c in enumerate(constraints):
            if c.topology_key == HOSTNAME_LABEL:
                continue
            pair = (c.topology_key, ni.labels.get(c.topology_key, ""))
            if pair not in state.pair_counts:
                state.pair_counts[pair] = 0
                topo_size[i] += 1
    for i, c in enumerate(constraints):
        size = topo_size[i]
        if c.topology_key == HOSTNAME_LABEL:
            size = len(feasible) - len(state.ignored)
        state.weights.append(math.log(size + 2))
    state.host_counts = [count_by_node(snapshot, c.selector, pi.namespace) for c in constraints]
    if state.pair_counts:
        # Only nodes holding matching pods add anything, so walk those rather than every node.
        node_infos = snapshot.node_infos
        for c, counts in zip(constraints, state.host_counts):
            if c.topology_key == HOSTNAME_LABEL:
                continue
            for name, num in counts.items():
                ni = node_infos.get(name)
                if ni is None or ni.node is None:       # not in the snapshot's node list
                    continue
                if require_all and not _has_all_keys(ni.labels, constraints):
                    continue
                if not c.includes(pi, ni):
                    continue
                pair = (c.topology_key, ni.labels.get(c.topology_key, ""))
                if pair in state.pair_counts:
                    state.pair_counts[pair] += num
    return state


def score(pi: PodInfo, ni: NodeInfo, state: ScoreState) -> int:
    """Sum ``count * log(domains + 2) + (maxSkew - 1)`` over the constraints (lower is better)."""
    if ni.name in state.ignored:
        return 0
    total = 0.0
    for i, c in enumerate(state.constraints):
        value = ni.labels.get(c.topology_key)
        if value is None:
            continue
        if c.topology_key == HOSTNAME_LABEL:
            cnt = state.host_counts[i].get(ni.name, 0)
        else:
            cnt = state.pair_counts.get((c.topology_key, value), 0)
        total += cnt * state.weights[i] + (c.max_skew - 1)
    return int(math.floor(total + 0.5))


def normalize(scores: list[int], nodes: list[NodeInfo], state: ScoreState) -> list[int]:
    """Invert so the least crowded domain scores 100; ignored nodes score 0."""
    valid = [s for s, ni in zip(scores, nodes) if ni.name not in state.ignored]
    if not valid:
        return [0] * len(scores)
    lo, hi = min(valid), max(valid)
    out = []
    for s, ni in zip(scores, nodes):
        if ni.name in state.ignored:
            out.append(0)
        elif hi == 0:
            out.append(MAX_NODE_SCORE)
        else:
            out.append(MAX_NODE_SCORE * (hi + lo - s) // hi)
    return out


# --------------------------------------------------------------------------- framework hooks
_pre_filter = keep_pre_filter_state(NAME, pre_filter)


def _pre_score(pi: PodInfo, snapshot: Any, feasible: list[NodeInfo]) -> ScoreState | Status:
    state = pre_score(pi, snapshot, feasible)
    return SKIP if state is None else state


PLUGIN = Plugin(NAME, weight=WEIGHT, pre_filter=_pre_filter, filter=filter, pre_score=_pre_score, score=score,
                normalize=normalize, events=(NODE_ADD, NODE_LABEL, POD_ADD, POD_DELETE, POD_LABEL))
