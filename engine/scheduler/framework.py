"""The scheduling framework: the node cache, filtering, scoring and host selection (``schedule_one.go``).

``SchedulerCache`` keeps one NodeInfo per node, updated incrementally from store events (pod bound,
changed, deleted; node added, updated, deleted): each event costs O(1) in cluster size. It doubles
as the snapshot plugins read (node list, pods per namespace, pods with affinity, listers via the
store) because the simulation is single-threaded.

``Framework.schedule_pod`` runs one scheduling cycle with the profile's plugins (``plugins/registry``):
PreFilter, Filter over an adaptive share of nodes starting at a rotating index
(``percentageOfNodesToScore``), PreScore and Score with the profile's weights, and a random pick
among the best (the cluster's seeded rng). Failure raises ``FitError`` whose message is the real
``0/N nodes are available: ...`` text.
"""
from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..objects import labels_of, spec_of
from .plugins.registry import FUSED_SCORES, Profile, default_profile
from .types import (SKIP, UNRESOLVABLE, UNSCHEDULABLE, ZONE_LABEL, AffinityTerm, CycleState, NodeInfo, Plugin, PodInfo,
                    Status)

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
PREFILTER_RESULT_REASON = "node is filtered out by the prefilter result"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
REGION_LABEL = "topology.kubernetes.io/region"
MAX_SPREAD_MEMOS = 256      # selectors whose per-node counts the cache keeps current (LRU beyond this)


# =========================================================================== cache
class SelectorCounts:
    """Matching, non-terminating pods per node for one (namespace, selector), kept current by the cache.

    ``anchor`` is one ``(key, value)`` every matching pod carries, so a pod event only visits the
    memos anchored on one of its own labels (None: checked against every pod of the namespace).
    """

    __slots__ = ("namespace", "selector", "anchor", "with_terminating", "counts", "view")

    def __init__(self, namespace: str, selector: Any, anchor: tuple[str, str] | None, with_terminating: bool):
        self.namespace = namespace
        self.selector = selector
        self.anchor = anchor
        self.with_terminating = with_terminating
        self.counts: dict[str, int] = {}
        self.view: Mapping[str, int] = MappingProxyType(self.counts)


class TermGroup:
    """Pods per node carrying one affinity term (same selector, namespaces, topologyKey and weight).

    Existing pods' terms are matched against the incoming pod once per distinct term, not per pod.
    """

    __slots__ = ("term", "counts", "view")

    def __init__(self, term: AffinityTerm):
        self.term = term
        self.counts: dict[str, int] = {}
        self.view: Mapping[str, int] = MappingProxyType(self.counts)


TERM_KINDS = ("required_affinity", "preferred_affinity", "required_anti_affinity", "preferred_anti_affinity")


def term_key(t: AffinityTerm) -> tuple:
    """What makes two affinity terms one TermGroup."""
    ns_sel = t.namespace_selector
    return (t.selector.canonical_key(), t.namespaces, None if ns_sel is None else ns_sel.canonical_key(),
            t.topology_key, t.weight)


def _adjust(counts: dict[str, int], node: str, delta: int) -> bool:
    """Add ``delta`` to ``node``'s count, dropping it at zero (so counts equal a recount); False once empty."""
    left = counts.get(node, 0) + delta
    if left > 0:
        counts[node] = left
    else:
        counts.pop(node, None)
    return bool(counts)


class SchedulerCache:
    """NodeInfos and the pods counted on them, kept current one event at a time."""

    def __init__(self, store: Any = None):
        self.store = store
        self.node_infos: dict[str, NodeInfo] = {}
        self._pods: dict[tuple[str, str], PodInfo] = {}
        self._by_ns: dict[str, dict[tuple[str, str], PodInfo]] = {}
        self._by_label: dict[tuple[str, str, str], set[tuple[str, str]]] = {}   # (ns, key, value) -> pods
        self._affinity: dict[tuple[str, str], PodInfo] = {}
        self._anti: dict[tuple[str, str], PodInfo] = {}
        self.assumed: set[tuple[str, str]] = set()
        self._list: list[NodeInfo] = []
        self._list_dirty = False
        # PodTopologySpread counts, updated per pod event instead of recounted per scheduled pod.
        self._memos: OrderedDict[tuple[str, tuple], SelectorCounts] = OrderedDict()
        self._memo_anchored: dict[tuple[str, str, str], list[SelectorCounts]] = {}   # (ns, key, value)
        self._memo_scan: dict[str, list[SelectorCounts]] = {}                       # ns -> unanchored
        self._term_groups: dict[str, dict[tuple, TermGroup]] = {kind: {} for kind in TERM_KINDS}

    # ---------------------------------------------------------------- nodes
    @property
    def nodes(self) -> list[NodeInfo]:
        """Schedulable-view node list, interleaved across zones like upstream's nodeTree."""
        if self._list_dirty:
            self._rebuild_list()
        return self._list

    def _rebuild_list(self) -> None:
        zones: dict[str, list[NodeInfo]] = {}
        for ni in self.node_infos.values():
            if ni.node is None:
                continue
            zone = ni.labels.get(REGION_LABEL, "") + ":\x00:" + ni.labels.get(ZONE_LABEL, "")
            zones.setdefault(zone, []).append(ni)
        out: list[NodeInfo] = []
        groups = list(zones.values())
        depth = max((len(g) for g in groups), default=0)
        if len(groups) == 1:
            out = list(groups[0])
        else:
            for i in range(depth):
                for g in groups:
                    if i < len(g):
                        out.append(g[i])
        for i, ni in enumerate(out):
            ni.index = i
        self._list = out
        self._list_dirty = False

    def add_node(self, node: dict) -> NodeInfo:
        name = node["metadata"]["name"]
        ni = self.node_infos.get(name)
        if ni is None:
            ni = self.node_infos[name] = NodeInfo(name)
        old_zone = (ni.labels.get(ZONE_LABEL), ni.labels.get(REGION_LABEL)) if ni.node is not None else None
        was_absent = ni.node is None
        ni.set_node(node)
        if was_absent or old_zone != (ni.labels.get(ZONE_LABEL), ni.labels.get(REGION_LABEL)):
            self._list_dirty = True
        return ni

    update_node = add_node

    def remove_node(self, name: str) -> None:
        """Drop the node from the list; its pods stay counted until they are deleted (a ghost NodeInfo)."""
        ni = self.node_infos.get(name)
        if ni is None:
            return
        ni.set_node(None)
        ni.node = None
        if not ni.pods:
            del self.node_infos[name]
        self._list_dirty = True

    # ---------------------------------------------------------------- pods
    def add_pod(self, pi: PodInfo) -> None:
        """Count ``pi`` on its node (replacing an older version of the same pod)."""
        self.remove_pod(pi.key)
        ni = self.node_infos.get(pi.node_name)
        if ni is None:
            ni = self.node_infos[pi.node_name] = NodeInfo(pi.node_name)   # pod seen before its node
        ni.add_pod(pi)
        self._pods[pi.key] = pi
        if self._memos:
            self._count_in_memos(pi, 1)
        if pi.has_affinity:
            self._group_terms(pi, 1)
        self._by_ns.setdefault(pi.namespace, {})[pi.key] = pi
        for label in pi.labels.items():
            self._by_label.setdefault((pi.namespace, *label), set()).add(pi.key)
        if pi.has_affinity:
            self._affinity[pi.key] = pi
        if pi.required_anti_affinity:
            self._anti[pi.key] = pi

    def remove_pod(self, key: tuple[str, str]) -> PodInfo | None:
        pi = self._pods.pop(key, None)
        if pi is None:
            return None
        self.assumed.discard(key)
        if self._memos:
            self._count_in_memos(pi, -1)
        if pi.has_affinity:
            self._group_terms(pi, -1)
        ni = self.node_infos.get(pi.node_name)
        if ni is not None:
            ni.remove_pod(key)
            if ni.node is None and not ni.pods:
                del self.node_infos[pi.node_name]
        bucket = self._by_ns.get(pi.namespace)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del self._by_ns[pi.namespace]
        for label in pi.labels.items():
            keys = self._by_label.get((pi.namespace, *label))
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_label[(pi.namespace, *label)]
        self._affinity.pop(key, None)
        self._anti.pop(key, None)
        return pi

    def assume(self, pi: PodInfo) -> None:
        """Count a pod on its chosen node before the binding lands, so the next cycle sees it."""
        self.add_pod(pi)
        self.assumed.add(pi.key)

    def forget(self, key: tuple[str, str]) -> None:
        """Undo ``assume`` after a failed binding (unless the store already confirmed the pod)."""
        if key in self.assumed:
            self.remove_pod(key)

    def pod(self, key: tuple[str, str]) -> PodInfo | None:
        return self._pods.get(key)

    # ---------------------------------------------------------------- snapshot reads for plugins
    def pods_in_namespace(self, namespace: str) -> Iterable[PodInfo]:
        return (self._by_ns.get(namespace) or {}).values()

    def pods_matching(self, namespace: str, selector: Any) -> Iterable[PodInfo]:
        """Assigned pods in ``namespace`` whose labels match ``selector``.

        A selector that pins a ``key=value`` is answered from the cache's label index, so counting a
        workload's pods costs the size of the workload, not of the cluster.
        """
        equalities = selector.equalities() if not selector.empty else []
        if equalities:
            buckets = [self._by_label.get((namespace, k, v), ()) for k, v in equalities]
            smallest = min(buckets, key=len)
            pods = self._pods
            for key in smallest:  # callers count per node, so order does not matter
                pi = pods.get(key)
                if pi is not None and selector.matches(pi.labels):
                    yield pi
            return
        for pi in self.pods_in_namespace(namespace):
            if selector.matches(pi.labels):
                yield pi

    def spread_counts(self, namespace: str, selector: Any, with_terminating: bool = False) -> Mapping[str, int]:
        """Matching, assigned (bound or assumed) pods per node name; terminating ones only if asked.

        The first request for a selector walks its pods once; afterwards every pod add, update and
        removal adjusts the counts, so a scheduling cycle pays nothing per pod of the workload. The
        result is a live read-only view: read it within the cycle, do not keep it.
        """
        mkey = (namespace, selector.canonical_key(), with_terminating)
        memo = self._memos.get(mkey)
        if memo is not None:
            self._memos.move_to_end(mkey)
            return memo.view
        memo = SelectorCounts(namespace, selector, self._anchor_for(namespace, selector), with_terminating)
        counts = memo.counts
        for p in self.pods_matching(namespace, selector):
            if with_terminating or not p.terminating:
                counts[p.node_name] = counts.get(p.node_name, 0) + 1
        self._memos[mkey] = memo
        if memo.anchor is None:
            self._memo_scan.setdefault(namespace, []).append(memo)
        else:
            self._memo_anchored.setdefault((namespace, *memo.anchor), []).append(memo)
        while len(self._memos) > MAX_SPREAD_MEMOS:
            self._drop_memo(self._memos.popitem(last=False)[1])
        return memo.view

    def _anchor_for(self, namespace: str, selector: Any) -> tuple[str, str] | None:
        """The selector's rarest ``key=value`` term (fewest pods to check on each event)."""
        if selector.nothing:
            return None
        equalities = selector.equalities()
        if not equalities:
            return None
        return min(equalities, key=lambda kv: len(self._by_label.get((namespace, *kv), ())))

    def _drop_memo(self, memo: SelectorCounts) -> None:
        if memo.anchor is None:
            bucket_key: Any = memo.namespace
            bucket = self._memo_scan.get(bucket_key)
            index: dict = self._memo_scan
        else:
            bucket_key = (memo.namespace, *memo.anchor)
            bucket = self._memo_anchored.get(bucket_key)
            index = self._memo_anchored
        if bucket is not None:
            bucket.remove(memo)
            if not bucket:
                del index[bucket_key]

    def _count_in_memos(self, pi: PodInfo, delta: int) -> None:
        """Add ``delta`` for the pod to every memoized selector that matches it (and counts its state)."""
        ns, labels, node, terminating = pi.namespace, pi.labels, pi.node_name, pi.terminating
        anchored = self._memo_anchored
        memos: list[SelectorCounts] = []
        if anchored:
            for k, v in labels.items():
                found = anchored.get((ns, k, v))
                if found:
                    memos.extend(found)
        scan = self._memo_scan.get(ns)
        if scan:
            memos.extend(scan)
        for memo in memos:
            if (not terminating or memo.with_terminating) and memo.selector.matches(labels):
                _adjust(memo.counts, node, delta)

    def _group_terms(self, pi: PodInfo, delta: int) -> None:
        """Count (``delta`` 1) or uncount (-1) each affinity term the pod carries, on its node."""
        node = pi.node_name
        for kind, groups in self._term_groups.items():
            for t in getattr(pi, kind):
                key = term_key(t)
                group = groups.get(key)
                if group is None:
                    if delta < 0:
                        continue
                    group = groups[key] = TermGroup(t)
                if not _adjust(group.counts, node, delta):
                    del groups[key]

    def affinity_term_counts(self, kind: str) -> list[tuple[AffinityTerm, Mapping[str, int]]]:
        """Every distinct ``kind`` term (a PodInfo attribute, see TERM_KINDS) of assigned pods, with pods per node."""
        return [(g.term, g.view) for g in self._term_groups[kind].values()]

    def has_affinity_pods(self) -> bool:
        return bool(self._affinity)

    def has_anti_affinity_pods(self) -> bool:
        return bool(self._anti)

    def all_pods(self) -> Iterable[PodInfo]:
        return self._pods.values()

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        if self.store is None:
            return None
        ns = self.store.find("namespaces", "", namespace)
        return labels_of(ns)


# =========================================================================== errors
class Diagnosis:
    """Why a pod fits nowhere: per-node statuses, or one PreFilter message for all nodes."""

    def __init__(self) -> None:
        self.node_to_status: dict[str, Status] = {}
        self.pre_filter_msg = ""
        self.pre_filter_status: Status | None = None
        self.unschedulable_plugins: set[str] = set()

    def reasons_histogram(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for st in self.node_to_status.values():
            for reason in st.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        return counts


def _histogram_text(counts: Mapping[str, int]) -> str:
    """Comma-joined, lexicographically sorted ``"<count> <reason>"`` (Go's sort.Strings)."""
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


class FitError(Exception):
    """No node fits the pod; ``str()`` is the FailedScheduling / PodScheduled message."""

    def __init__(self, pi: PodInfo, num_all_nodes: int, diagnosis: Diagnosis):
        self.pod_info = pi
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis
        super().__init__(self.message())

    def filter_message(self) -> str:
        """``FitError.Error()`` without the preemption clause."""
        n = self.num_all_nodes
        msg = f"0/{n} nodes are available:"
        if self.diagnosis.pre_filter_msg:
            return msg + f" {self.diagnosis.pre_filter_msg}."
        text = _histogram_text(self.diagnosis.reasons_histogram())
        return msg + (f" {text}." if text else "")

    def preemption_message(self) -> str:
        """What DefaultPreemption's PostFilter adds (we never find victims: preemption is not simulated).

        Nodes rejected as UnschedulableAndUnresolvable (taints, affinity, PreFilter failures) get
        "Preemption is not helpful for scheduling"; the others "No preemption victims found for
        incoming pod", which is what a real cluster reports when no lower-priority pod can be evicted.
        """
        pod = self.pod_info.pod
        if (spec_of(pod).get("preemptionPolicy") or "PreemptLowerPriority") == "Never":
            return "preemption: not eligible due to preemptionPolicy=Never"
        n = self.num_all_nodes
        counts: dict[str, int] = {}
        helpful = 0
        if self.diagnosis.pre_filter_status is None:
            helpful = sum(1 for st in self.diagnosis.node_to_status.values() if st.code == UNSCHEDULABLE)
        if helpful:
            counts[NO_VICTIMS] = helpful
        if n - helpful:
            counts[NOT_HELPFUL] = n - helpful
        return f"preemption: 0/{n} nodes are available: {_histogram_text(counts)}"

    def message(self) -> str:
        return f"{self.filter_message()} {self.preemption_message()}."


class NoNodesAvailable(FitError):
    """The snapshot has no nodes at all (``ErrNoNodesAvailable``)."""

    def message(self) -> str:
        return "no nodes available to schedule pods"


# =========================================================================== framework
def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes to look for before stopping (``numFeasibleNodesToFind``)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = 50 - num_all_nodes // 125
        if percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND:
            percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
    if percentage >= 100:
        return num_all_nodes
    num = num_all_nodes * percentage // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


class ScheduleResult:
    __slots__ = ("node", "evaluated", "feasible", "score")

    def __init__(self, node: str, evaluated: int, feasible: int, score: int | None):
        self.node = node
        self.evaluated = evaluated
        self.feasible = feasible
        self.score = score


class Framework:
    """One scheduling profile's plugins, run at their extension points (``frameworkImpl``)."""

    def __init__(self, cache: SchedulerCache, rng: Any, percentage_of_nodes_to_score: int = 0,
                 profile: Profile | None = None):
        self.cache = cache
        self.rng = rng
        self.percentage = percentage_of_nodes_to_score
        self.next_start_node_index = 0
        self.profile = profile = profile or default_profile()
        plugins = profile.plugins
        self.filter_plugins = [p for p in plugins if p.pre_filter is not None or p.filter is not None]
        self.pre_bind_plugins = [p for p in plugins if p.pre_bind is not None]
        # Score plugins with a weight, as (plugin, weight, fused); fused ones are summed by FUSED_SCORES.
        weighted = {p.name: profile.weights.get(p.name, 0) for p in plugins if p.score is not None}
        weighted = {name: w for name, w in weighted.items() if w}
        self.fused = [(names, fn) for names, fn in FUSED_SCORES.items() if all(n in weighted for n in names)]
        fused_names = {n for names, _ in self.fused for n in names}
        self.score_plugins = [(p, weighted[p.name], p.name in fused_names) for p in plugins if p.name in weighted]
        self._registered: dict[tuple[str, ...], frozenset[str]] = {}

    def plugins_registered_for(self, *events: str) -> frozenset[str]:
        """The enabled plugins that one of ``events`` may help (queueing hints)."""
        found = self._registered.get(events)
        if found is None:
            found = self._registered[events] = frozenset(
                p.name for p in self.profile.plugins if p.events.intersection(events))
        return found

    # ---------------------------------------------------------------- prefilter
    def pre_filter(self, pi: PodInfo) -> tuple[CycleState, Status | None]:
        """Run PreFilter plugins and line up the Filters that have work; a Status rejects the pod everywhere.

        A Filter whose PreFilter returned SKIP passes every node, so it is left out of the chains;
        ``restricted_nodes_only`` Filters go only into the chain for cordoned or hard-tainted nodes.
        """
        state = CycleState()
        cache = self.cache
        chain, restricted = state.chain, state.restricted_chain
        for plugin in self.filter_plugins:
            if plugin.pre_filter is not None:
                names = state.node_names
                st = plugin.pre_filter(pi, cache, state)
                if state.node_names is not names:
                    state.narrowed_by.append(plugin.name)
                if st is SKIP:
                    continue
                if st is not None:
                    return state, st
            if plugin.filter is not None:
                entry = (plugin.filter, state.data.get(plugin.name))
                restricted.append(entry)
                if not plugin.restricted_nodes_only:
                    chain.append(entry)
        return state, None

    @staticmethod
    def run_filters(pi: PodInfo, ni: NodeInfo, state: CycleState) -> Status | None:
        """Run the Filter plugins on one node, stopping at the first rejection."""
        for fn, data in state.restricted_chain if ni.unschedulable or ni.hard_taints else state.chain:
            st = fn(pi, ni, data)
            if st is not None:
                return st
        return None

    # ---------------------------------------------------------------- filter
    def find_nodes_that_fit(self, pi: PodInfo) -> tuple[list[NodeInfo], Diagnosis, CycleState, int]:
        """Feasible nodes (stopping once enough are found), the diagnosis, and nodes in the snapshot."""
        nodes = self.cache.nodes
        num_all = len(nodes)
        diagnosis = Diagnosis()
        state, st = self.pre_filter(pi)
        if st is not None:
            diagnosis.pre_filter_msg = "; ".join(st.reasons)
            diagnosis.pre_filter_status = st
            diagnosis.unschedulable_plugins.add(st.plugin)
            return [], diagnosis, state, num_all
        candidates = nodes if state.node_names is None else self._pre_filter_result(nodes, state, diagnosis)
        n = len(candidates)
        if n == 0:
            return [], diagnosis, state, num_all
        want = num_feasible_nodes_to_find(n, self.percentage)
        start = self.next_start_node_index % n if state.node_names is None else 0
        feasible: list[NodeInfo] = []
        statuses = diagnosis.node_to_status
        run = self.run_filters
        plugins = diagnosis.unschedulable_plugins
        order = candidates[start:] + candidates[:start] if start else candidates
        # When NodeResourcesFit's room check is the only Filter left, it runs inline here; any node
        # that is cordoned, tainted or short of room goes through the plugin chain for its reasons.
        room = state.room if len(state.chain) == 1 else None
        cpu, mem = room or (0, 0)
        processed = 0
        for ni in order:
            processed += 1
            if (room and not ni.unschedulable and not ni.hard_taints and len(ni.pods) < ni.alloc_pods
                    and cpu <= ni.alloc_cpu - ni.req_cpu and mem <= ni.alloc_mem - ni.req_mem):
                feasible.append(ni)
                if len(feasible) >= want:
                    break
                continue
            st = run(pi, ni, state)
            if st is None:
                feasible.append(ni)
                if len(feasible) >= want:
                    break
            else:
                statuses[ni.name] = st
                plugins.add(st.plugin)
        if state.node_names is None:
            self.next_start_node_index = (start + processed) % n
        return feasible, diagnosis, state, num_all

    def _pre_filter_result(self, nodes: list[NodeInfo], state: CycleState, diagnosis: Diagnosis) -> list[NodeInfo]:
        """The nodes PreFilter narrowed the pod to; the others are recorded as filtered out."""
        names = state.node_names
        narrowing = state.narrowed_by[0]
        candidates = []
        for ni in nodes:
            if ni.name in names:
                candidates.append(ni)
            else:
                diagnosis.node_to_status[ni.name] = Status(UNRESOLVABLE, PREFILTER_RESULT_REASON, narrowing)
        diagnosis.unschedulable_plugins.update(state.narrowed_by)
        return candidates

    # ---------------------------------------------------------------- score
    def prioritize(self, pi: PodInfo, feasible: list[NodeInfo]) -> dict[str, list[int]]:
        """Weighted, normalised score per plugin for each feasible node (same order as ``feasible``).

        A plugin whose PreScore skips is left out, unless skipping means a uniform score (then every
        node gets it); ``score_totals`` gives the same sums faster.
        """
        out: dict[str, list[int]] = {}
        for plugin, weight, _ in self.score_plugins:
            st = plugin.pre_score(pi, self.cache, feasible) if plugin.pre_score is not None else None
            if st is SKIP:
                if plugin.skipped_score:
                    out[plugin.name] = [plugin.skipped_score * weight] * len(feasible)
                continue
            out[plugin.name] = self._weighted_scores(plugin, weight, pi, feasible, st)
        return out

    @staticmethod
    def _weighted_scores(plugin: Plugin, weight: int, pi: PodInfo, feasible: list[NodeInfo], st: Any) -> list[int]:
        score = plugin.score
        raw = [score(pi, ni, st) for ni in feasible]
        if plugin.normalize is not None:
            raw = plugin.normalize(raw, feasible, st)
        return [s * weight for s in raw]

    def score_totals(self, pi: PodInfo, feasible: list[NodeInfo]) -> list[int]:
        """The weighted sum of every score plugin per node (``prioritize`` summed, computed faster).

        Uniform scores of skipped plugins and the fused plugins are summed in one pass over the nodes.
        """
        base = 0
        fused_weights: dict[str, int] = {}
        parts: list[list[int]] = []
        for plugin, weight, fused in self.score_plugins:
            st = plugin.pre_score(pi, self.cache, feasible) if plugin.pre_score is not None else None
            if st is SKIP:
                base += plugin.skipped_score * weight
                weight = 0
            if fused:
                fused_weights[plugin.name] = weight
            elif weight:
                parts.append(self._weighted_scores(plugin, weight, pi, feasible, st))
        totals: list[int] | None = None
        for names, fn in self.fused:
            part = fn(pi, feasible, *(fused_weights[n] for n in names), base=base if totals is None else 0)
            totals = part if totals is None else [a + b for a, b in zip(totals, part)]
        if totals is None:
            totals = [base] * len(feasible)
        for scores in parts:
            totals = [a + b for a, b in zip(totals, scores)]
        return totals

    def select_host(self, feasible: list[NodeInfo], totals: list[int]) -> tuple[NodeInfo, int]:
        """Highest total wins; ties broken uniformly at random with the cluster's seeded rng."""
        best_score = max(totals)
        ties = [i for i, score in enumerate(totals) if score == best_score]
        pick = ties[0] if len(ties) == 1 else ties[self.rng.randrange(len(ties))]
        return feasible[pick], best_score

    def schedule_pod(self, pi: PodInfo) -> ScheduleResult:
        """One scheduling cycle's decision: the chosen node, or FitError."""
        if not self.cache.nodes:
            raise NoNodesAvailable(pi, 0, Diagnosis())
        feasible, diagnosis, _state, num_all = self.find_nodes_that_fit(pi)
        if not feasible:
            raise FitError(pi, num_all, diagnosis)
        evaluated = len(feasible) + len(diagnosis.node_to_status)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, evaluated, 1, None)
        totals = self.score_totals(pi, feasible)
        best, score = self.select_host(feasible, totals)
        return ScheduleResult(best.name, evaluated, len(feasible), score)

    # ---------------------------------------------------------------- binding cycle
    def run_pre_bind(self, pi: PodInfo, node: str, api: Any) -> None:
        """Run PreBind plugins (VolumeBinding marks delayed claims) before the pod is bound to ``node``."""
        for plugin in self.pre_bind_plugins:
            plugin.pre_bind(pi, node, api)
