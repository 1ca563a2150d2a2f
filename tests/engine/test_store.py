"""The store: versioned CRUD, optimistic concurrency, indexes, paging and watch-from-revision.

The property-based tests drive random create/update/delete sequences and compare every answer
with a brute-force model, so an index or watch cursor that drifts is caught with a minimal example.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import AlreadyExists, BadRequest, Conflict, Expired, NotFound
from engine.etcd.store import ADDED, DELETED, MODIFIED, Event, Store, Watch
from engine.selectors import FieldSelector, LabelSelector


def pod(name: str, ns: str = "default", *, labels: dict[str, str] | None = None, node: str | None = None,
        owner: str | None = None, uid: str | None = None) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": uid or f"uid-{ns}-{name}"}
    if labels:
        meta["labels"] = dict(labels)
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": owner, "controller": True}]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def changed(obj: dict, *, labels: dict[str, str] | None = None, node: str | None = None,
            owner: str | None = None, phase: str | None = None) -> dict:
    """A new version of ``obj`` (never mutating the stored one)."""
    new = copy.deepcopy(obj)
    if labels is not None:
        new["metadata"]["labels"] = dict(labels)
    if node is not None:
        new["spec"]["nodeName"] = node
    if owner is not None:
        new["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                               "uid": owner, "controller": True}]
    if phase is not None:
        new["status"] = {"phase": phase}
    return new


def watch_from(store: Store, since: int, resource: str | None = None, namespace: str | None = None,
               labels: LabelSelector | None = None, fields: FieldSelector | None = None) -> Watch:
    """A watch from ``since``, where 0 means the very beginning (``store.watch(0)`` means "from now")."""
    if since == 0:
        return Watch(store, 0, resource, namespace, labels, fields)
    return store.watch(since, resource, namespace, labels, fields)


def names(objs: list[dict]) -> list[str]:
    return [f'{o["metadata"]["namespace"]}/{o["metadata"]["name"]}' for o in objs]


# ---------------------------------------------------------------------------- CRUD

def test_create_then_get_returns_the_object_stamped_with_a_revision(store: Store) -> None:
    created = store.create("pods", pod("web-0"))
    assert created["metadata"]["resourceVersion"] == "1"
    assert store.get("pods", "default", "web-0") is created
    assert store.find("pods", "default", "nope") is None
    assert store.count("pods") == 1 and store.count() == 1


def test_every_write_gets_a_strictly_greater_revision(store: Store) -> None:
    a = store.create("pods", pod("a"))
    b = store.create("pods", pod("b"))
    a2 = store.update("pods", changed(a, phase="Running"))
    gone = store.delete("pods", "default", "b")
    rvs = [int(x["metadata"]["resourceVersion"]) for x in (a, b, a2, gone)]
    assert rvs == [1, 2, 3, 4]
    assert store.revision == 4
    assert isinstance(a2["metadata"]["resourceVersion"], str)
    assert b["metadata"]["resourceVersion"] == "2"  # the stored old version is left untouched


def test_create_existing_is_already_exists(store: Store) -> None:
    store.create("pods", pod("web-0"))
    with pytest.raises(AlreadyExists) as err:
        store.create("pods", pod("web-0"))
    assert err.value.message == 'pods "web-0" already exists'
    assert store.revision == 1
    store.create("pods", pod("web-0", ns="other"))  # same name, other namespace: a different key


def test_get_update_delete_missing_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as err:
        store.get("pods", "default", "ghost")
    assert err.value.message == 'pods "ghost" not found'
    with pytest.raises(NotFound):
        store.update("pods", pod("ghost"))
    with pytest.raises(NotFound):
        store.delete("pods", "default", "ghost")


def test_stale_resource_version_is_a_conflict(store: Store) -> None:
    v1 = store.create("pods", pod("web-0"))
    v2 = store.update("pods", changed(v1, phase="Pending"), expect_rv=v1["metadata"]["resourceVersion"])
    with pytest.raises(Conflict) as err:
        store.update("pods", changed(v1, phase="Running"), expect_rv=v1["metadata"]["resourceVersion"])
    assert err.value.message == ('Operation cannot be fulfilled on pods "web-0": the object has been modified; '
                                 "please apply your changes to the latest version and try again")
    assert store.get("pods", "default", "web-0")["status"]["phase"] == "Pending"
    with pytest.raises(Conflict):
        store.delete("pods", "default", "web-0", expect_rv="1")
    store.update("pods", changed(v2, phase="Running"), expect_rv=int(v2["metadata"]["resourceVersion"]))
    assert store.get("pods", "default", "web-0")["status"]["phase"] == "Running"


def test_delete_returns_the_last_state_at_the_deletion_revision(store: Store) -> None:
    store.create("pods", pod("web-0", labels={"app": "web"}, node="n1"))
    gone = store.delete("pods", "default", "web-0")
    assert gone["metadata"]["resourceVersion"] == "2"
    assert store.find("pods", "default", "web-0") is None and store.count("pods") == 0
    assert store.pods_on_node("n1") == []
    assert store.list("pods", labels=LabelSelector.parse("app=web")) == []


def test_list_filters_by_namespace_labels_and_fields_in_key_order(store: Store) -> None:
    store.create("pods", pod("b", labels={"app": "web"}, node="n1"))
    store.create("pods", pod("a", labels={"app": "web"}, node="n2"))
    store.create("pods", pod("a", ns="kube-system", labels={"app": "dns"}, node="n1"))
    store.create("services", {"metadata": {"name": "a", "namespace": "default"}})
    assert names(store.list("pods")) == ["default/a", "default/b", "kube-system/a"]
    assert names(store.list("pods", "default")) == ["default/a", "default/b"]
    assert names(store.list("pods", "")) == ["default/a", "default/b", "kube-system/a"]
    assert names(store.list("pods", labels=LabelSelector.parse("app=web"))) == ["default/a", "default/b"]
    assert names(store.list("pods", labels=LabelSelector.parse("app!=web"))) == ["kube-system/a"]
    node1 = FieldSelector.parse("spec.nodeName=n1", "pods")
    assert names(store.list("pods", fields=node1)) == ["default/b", "kube-system/a"]
    by_name = FieldSelector.parse("metadata.name=a", "pods")
    assert names(store.list("pods", fields=by_name)) == ["default/a", "kube-system/a"]
    assert names(store.list("pods", "kube-system", fields=by_name)) == ["kube-system/a"]
    by_ns = FieldSelector.parse("metadata.namespace=kube-system", "pods")
    assert names(store.list("pods", fields=by_ns)) == ["kube-system/a"]
    assert store.list("pods", labels=LabelSelector.from_dict(None)) == []
    assert [r for r, _ in store.items()] == ["pods", "pods", "pods", "services"]


def test_list_reflects_writes_made_after_an_earlier_list(store: Store) -> None:
    for name in ("a", "b", "c"):
        store.create("pods", pod(name))
    assert names(store.list("pods")) == ["default/a", "default/b", "default/c"]
    store.delete("pods", "default", "b")
    store.create("pods", pod("aa"))
    store.create("pods", pod("b", ns="zz"))
    store.delete("pods", "default", "aa")
    store.create("pods", pod("aa"))
    assert names(store.list("pods")) == ["default/a", "default/aa", "default/c", "zz/b"]
    assert names(store.list("pods", "default")) == ["default/a", "default/aa", "default/c"]
    assert [o["metadata"]["name"] for _, o in store.items()] == ["a", "aa", "c", "b"]


# ---------------------------------------------------------------------------- indexes

def brute_on_node(store: Store, node: str) -> list[dict]:
    return [o for r, o in store.items() if r == "pods" and (o.get("spec") or {}).get("nodeName") == node]


def brute_owned(store: Store, uid: str) -> list[dict]:
    return [o for _, o in store.items()
            if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or ())]


def brute_list(store: Store, resource: str, ns: str | None, sel: LabelSelector) -> list[dict]:
    return [o for r, o in store.items() if r == resource and (not ns or o["metadata"]["namespace"] == ns)
            and sel.matches(o["metadata"].get("labels"))]


def test_indexes_follow_label_node_and_owner_changes(store: Store) -> None:
    p = store.create("pods", pod("web-0", labels={"app": "web"}, node="n1", owner="rs-1"))
    store.create("pods", pod("web-1", labels={"app": "web"}, node="n1", owner="rs-1"))
    p = store.update("pods", changed(p, labels={"app": "api"}, node="n2", owner="rs-2"))
    assert names(store.pods_on_node("n1")) == ["default/web-1"]
    assert names(store.pods_on_node("n2")) == ["default/web-0"]
    assert names(store.owned_by("rs-1")) == ["default/web-1"]
    assert names(store.owned_by("rs-2")) == ["default/web-0"]
    assert store.owned_keys("rs-2") == [("pods", "default", "web-0")]
    assert names(store.list("pods", labels=LabelSelector.parse("app=web"))) == ["default/web-1"]
    assert names(store.list("pods", labels=LabelSelector.parse("app=api"))) == ["default/web-0"]
    for node in ("n1", "n2", "n3"):
        assert store.pods_on_node(node) == brute_on_node(store, node)
    for uid in ("rs-1", "rs-2"):
        assert store.owned_by(uid) == brute_owned(store, uid)


def test_owned_by_can_filter_by_resource(store: Store) -> None:
    store.create("pods", pod("web-0", owner="rs-1"))
    store.create("events", {"metadata": {"name": "e", "namespace": "default", "ownerReferences": [{"uid": "rs-1"}]}})
    assert len(store.owned_by("rs-1")) == 2
    assert names(store.owned_by("rs-1", "pods")) == ["default/web-0"]


# ---------------------------------------------------------------------------- paging

def test_list_page_walks_every_object_once_in_order(store: Store) -> None:
    for i in range(25):
        store.create("pods", pod(f"p{i:02d}", ns=("a", "b")[i % 2]))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        items, rv, token = store.list_page("pods", limit=4, continue_token=token)
        assert rv == 25  # every page reports the revision of the first
        seen += names(items)
        pages += 1
        if token is None:
            break
    assert pages == 7
    assert seen == names(store.list("pods"))


def test_list_page_exact_multiple_has_no_trailing_token(store: Store) -> None:
    for i in range(4):
        store.create("pods", pod(f"p{i}"))
    first, _, token = store.list_page("pods", limit=2)
    second, _, token2 = store.list_page("pods", limit=2, continue_token=token)
    assert names(first + second) == names(store.list("pods"))
    assert token2 is None


def test_list_page_continues_after_the_last_key_despite_writes(store: Store) -> None:
    for name in ("a", "c", "e", "g"):
        store.create("pods", pod(name))
    page, _, token = store.list_page("pods", "default", limit=2)
    assert names(page) == ["default/a", "default/c"]
    store.delete("pods", "default", "c")        # already served
    store.create("pods", pod("b"))                # before the cursor: not served again
    store.create("pods", pod("f"))                # after the cursor: served
    page, _, token = store.list_page("pods", "default", limit=10, continue_token=token)
    assert names(page) == ["default/e", "default/f", "default/g"]
    assert token is None


def test_list_page_with_selector_and_namespace(store: Store) -> None:
    for i in range(10):
        store.create("pods", pod(f"p{i}", ns="x" if i < 6 else "y", labels={"even": str(i % 2 == 0).lower()}))
    sel = LabelSelector.parse("even=true")
    got: list[str] = []
    token = None
    while True:
        items, _, token = store.list_page("pods", "x", labels=sel, limit=2, continue_token=token)
        got += names(items)
        if token is None:
            break
    assert got == ["x/p0", "x/p2", "x/p4"]


def test_bad_and_expired_continue_tokens(store: Store) -> None:
    small = Store(window=3)
    for i in range(3):
        small.create("pods", pod(f"p{i}"))
    _, _, token = small.list_page("pods", limit=1)
    with pytest.raises(BadRequest):
        small.list_page("pods", limit=1, continue_token="not-a-token")
    for i in range(3, 8):
        small.create("pods", pod(f"p{i}"))
    with pytest.raises(Expired) as err:
        small.list_page("pods", limit=1, continue_token=token)
    assert err.value.code == 410
    assert err.value.message.startswith("The provided continue parameter is too old")


# ---------------------------------------------------------------------------- watch

def test_watch_from_a_revision_delivers_later_changes_in_order_exactly_once(store: Store) -> None:
    a = store.create("pods", pod("a"))
    since = store.revision
    w = store.watch(since)
    a = store.update("pods", changed(a, phase="Running"))
    store.create("pods", pod("b"))
    store.delete("pods", "default", "a")
    events = w.poll()
    assert [(e.type, e.key, e.rv) for e in events] == [
        (MODIFIED, ("pods", "default", "a"), 2),
        (ADDED, ("pods", "default", "b"), 3),
        (DELETED, ("pods", "default", "a"), 4),
    ]
    assert events[0].old is not None and events[0].old["metadata"]["resourceVersion"] == "1"
    assert events[2].obj["metadata"]["resourceVersion"] == "4"
    assert w.poll() == []
    store.create("pods", pod("c"))
    assert [e.key[2] for e in w.poll()] == ["c"]


def test_watch_without_revision_starts_now(store: Store) -> None:
    store.create("pods", pod("old"))
    w = store.watch()
    store.create("pods", pod("new"))
    assert [e.key[2] for e in w.poll()] == ["new"]
    assert [e.key[2] for e in store.watch("0").poll()] == []


def test_filtered_watch_sees_only_matching_changes(store: Store) -> None:
    w_ns = store.watch(None, "pods", namespace="prod")
    w_sel = store.watch(None, "pods", labels=LabelSelector.parse("app=web"))
    w_node = store.watch(None, "pods", fields=FieldSelector.parse("spec.nodeName=n1", "pods"))
    store.create("pods", pod("a", ns="prod", labels={"app": "web"}, node="n1"))
    store.create("pods", pod("b", labels={"app": "api"}, node="n1"))
    store.create("services", {"metadata": {"name": "a", "namespace": "prod", "labels": {"app": "web"}}})
    assert [e.key for e in w_ns.poll()] == [("pods", "prod", "a")]
    assert [e.key for e in w_sel.poll()] == [("pods", "prod", "a")]
    assert [e.key for e in w_node.poll()] == [("pods", "prod", "a"), ("pods", "default", "b")]


def test_poll_limit_scans_at_most_that_many_revisions(store: Store) -> None:
    w = store.watch()
    for i in range(5):
        store.create("pods", pod(f"p{i}"))
    assert [e.rv for e in w.poll(limit=2)] == [1, 2]
    assert [e.rv for e in w.poll()] == [3, 4, 5]


def test_watch_older_than_the_window_is_expired() -> None:
    store = Store(window=5)
    for i in range(12):
        store.create("pods", pod(f"p{i}"))
    assert store.oldest_revision() == 8
    assert [e.rv for e in store.watch(7).poll()] == [8, 9, 10, 11, 12]
    with pytest.raises(Expired) as err:
        store.watch(6)
    assert err.value.code == 410
    assert err.value.message == "too old resource version: 6 (7)"
    assert err.value.to_status()["reason"] == "Expired"


def test_watch_that_falls_behind_the_window_expires_on_poll() -> None:
    store = Store(window=3)
    w = store.watch()
    for i in range(5):
        store.create("pods", pod(f"p{i}"))
    with pytest.raises(Expired) as err:
        w.poll()
    assert err.value.message.startswith("too old resource version: 0")


def test_watch_rejects_bad_and_future_revisions(store: Store) -> None:
    with pytest.raises(BadRequest):
        store.watch("abc")
    with pytest.raises(BadRequest):
        store.watch(-1)
    with pytest.raises(Expired):
        store.watch(99)


def test_subscribers_see_every_event_synchronously(store: Store) -> None:
    seen: list[Event] = []
    unsubscribe = store.subscribe(seen.append)
    store.create("pods", pod("a"))
    store.delete("pods", "default", "a")
    unsubscribe()
    store.create("pods", pod("b"))
    assert [(e.type, e.rv) for e in seen] == [(ADDED, 1), (DELETED, 2)]


# ---------------------------------------------------------------------------- persistence port

def test_take_dirty_returns_latest_state_per_key_then_resets(store: Store) -> None:
    a = store.create("pods", pod("a"))
    store.update("pods", changed(a, phase="Running"))
    store.create("pods", pod("b"))
    store.delete("pods", "default", "b")
    dirty = store.take_dirty()
    assert dirty[("pods", "default", "a")]["status"]["phase"] == "Running"
    assert dirty[("pods", "default", "b")] is None
    assert store.take_dirty() == {}


def test_restore_sets_revision_indexes_and_starts_the_window_there() -> None:
    store = Store()
    p = pod("web-0", labels={"app": "web"}, node="n1", owner="rs-1")
    p["metadata"]["resourceVersion"] = "40"
    store.restore([("pods", p)], 57)
    assert store.revision == 57
    assert store.pods_on_node("n1") == [p]
    assert store.owned_by("rs-1") == [p]
    assert store.list("pods", labels=LabelSelector.parse("app=web")) == [p]
    assert store.take_dirty() == {}
    with pytest.raises(Expired):
        store.watch(40)
    w = store.watch(57)
    store.create("pods", pod("web-1"))
    assert [e.rv for e in w.poll()] == [58]


# ---------------------------------------------------------------------------- property-based

NAMESPACES = ("default", "prod")
POD_NAMES = ("a", "b", "c", "d")
NODES = ("n1", "n2")
OWNERS = ("rs-1", "rs-2")
LABELS = st.dictionaries(st.sampled_from(("app", "tier")), st.sampled_from(("x", "y")), max_size=2)

create_op = st.tuples(st.just("create"), st.sampled_from(NAMESPACES), st.sampled_from(POD_NAMES), LABELS,
                      st.none() | st.sampled_from(NODES), st.none() | st.sampled_from(OWNERS))
update_op = st.tuples(st.just("update"), st.sampled_from(NAMESPACES), st.sampled_from(POD_NAMES), LABELS,
                      st.none() | st.sampled_from(NODES), st.none() | st.sampled_from(OWNERS))
delete_op = st.tuples(st.just("delete"), st.sampled_from(NAMESPACES), st.sampled_from(POD_NAMES))
watch_op = st.tuples(st.just("watch"))   # open a watch at the current revision
poll_op = st.tuples(st.just("poll"))     # poll every open watch
check_op = st.tuples(st.just("check"))   # compare every index answer with a brute-force scan, mid-run
OPS = st.lists(st.one_of(create_op, create_op, update_op, update_op, delete_op, watch_op, poll_op, check_op),
               max_size=60)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_ops(store: Store, ops: list[tuple]) -> tuple[list[tuple[int, str, tuple]], list[tuple[int, Any, list]]]:
    """Apply ``ops``; return the log of committed changes and the (start, watch, received) triples."""
    log: list[tuple[int, str, tuple]] = []
    watches: list[tuple[int, Any, list]] = []
    for op in ops:
        kind = op[0]
        before = store.revision
        if kind == "create":
            _, ns, name, labels, node, owner = op
            try:
                store.create("pods", pod(name, ns, labels=labels, node=node, owner=owner))
            except AlreadyExists:
                assert store.find("pods", ns, name) is not None
                continue
            log.append((store.revision, ADDED, ("pods", ns, name)))
        elif kind == "update":
            _, ns, name, labels, node, owner = op
            cur = store.find("pods", ns, name)
            if cur is None:
                continue
            new = copy.deepcopy(cur)
            new["metadata"]["labels"] = dict(labels)
            new["metadata"].pop("ownerReferences", None)
            if owner:
                new["metadata"]["ownerReferences"] = [{"uid": owner, "name": owner, "kind": "ReplicaSet"}]
            new["spec"].pop("nodeName", None)
            if node:
                new["spec"]["nodeName"] = node
            store.update("pods", new, expect_rv=cur["metadata"]["resourceVersion"])
            log.append((store.revision, MODIFIED, ("pods", ns, name)))
        elif kind == "delete":
            _, ns, name = op
            try:
                store.delete("pods", ns, name)
            except NotFound:
                continue
            log.append((store.revision, DELETED, ("pods", ns, name)))
        elif kind == "watch":
            watches.append((store.revision, store.watch(store.revision), []))
            continue
        elif kind == "check":
            check_indexes(store)
            continue
        else:
            for _, w, received in watches:
                if received is not None and received[-1:] != ["expired"]:
                    try:
                        received.extend(w.poll())
                    except Expired:
                        received.append("expired")
            continue
        assert store.revision == before + 1  # exactly one revision per successful write
    return log, watches


def check_indexes(store: Store) -> None:
    for node in NODES:
        assert store.pods_on_node(node) == brute_on_node(store, node)
        by_field = store.list("pods", fields=FieldSelector.parse(f"spec.nodeName={node}", "pods"))
        assert by_field == brute_on_node(store, node)
    for uid in OWNERS:
        assert store.owned_by(uid) == brute_owned(store, uid)
    for text in ("app=x", "app=x,tier=y", "tier in (y)", "app!=x", "!tier", ""):
        sel = LabelSelector.parse(text)
        for ns in (None, *NAMESPACES):
            assert store.list("pods", ns, labels=sel) == brute_list(store, "pods", ns, sel)
    for name in POD_NAMES:
        fields = FieldSelector.parse(f"metadata.name={name}", "pods")
        assert store.list("pods", fields=fields) == [o for _, o in store.items() if o["metadata"]["name"] == name]
    assert_no_stale_index_entries(store)


def assert_no_stale_index_entries(store: Store) -> None:
    """Rebuild every secondary index from the objects and compare: a leftover entry is a leak."""
    fresh = Store()
    fresh._label_keys = {r: set(keys) for r, keys in store._label_keys.items()}  # the same labels selected
    fresh.restore(((r, o) for r, o in store.items()), store.revision)
    assert store._by_label == fresh._by_label
    assert store._by_node == fresh._by_node
    assert store._by_owner == fresh._by_owner
    assert {r: by_ns for r, by_ns in store._data.items() if by_ns} == fresh._data


@PROPERTY
@given(OPS)
def test_property_revisions_watches_and_indexes_agree_with_a_model(ops: list[tuple]) -> None:
    store = Store(window=1000)  # larger than any run: nothing expires
    log, watches = run_ops(store, ops)
    rvs = [rv for rv, _, _ in log]
    assert rvs == sorted(set(rvs)) and rvs == list(range(1, len(rvs) + 1))
    # A watch opened at ANY past revision sees exactly the later changes, in order.
    for since in range(0, store.revision + 1):
        got = [(e.rv, e.type, e.key) for e in watch_from(store, since).poll()]
        assert got == [entry for entry in log if entry[0] > since]
    # Watches polled at random moments saw each later change exactly once.
    for start, w, received in watches:
        received.extend(w.poll())
        assert [(e.rv, e.type, e.key) for e in received] == [entry for entry in log if entry[0] > start]
    # A selective watch sees exactly the matching subset.
    sel = LabelSelector.parse("app=x")
    got = [e.rv for e in watch_from(store, 0, "pods", namespace="prod", labels=sel).poll()]
    expected = [e.rv for e in store.events_since(0)
                if e.key[1] == "prod" and sel.matches(e.obj["metadata"].get("labels"))]
    assert got == expected
    check_indexes(store)
    # Paging with any limit reassembles the full list.
    for limit in (1, 2, 3):
        pages: list[dict] = []
        token = None
        while True:
            items, _, token = store.list_page("pods", limit=limit, continue_token=token)
            pages += items
            if token is None:
                break
        assert pages == store.list("pods")


@PROPERTY
@given(OPS, st.integers(min_value=1, max_value=6))
def test_property_small_window_expires_exactly_when_changes_were_lost(ops: list[tuple], window: int) -> None:
    store = Store(window=window)
    log, watches = run_ops(store, ops)
    oldest = store.oldest_revision()
    for since in range(0, store.revision + 1):
        if since >= oldest - 1 or since == store.revision:
            got = [(e.rv, e.type, e.key) for e in watch_from(store, since).poll()]
            assert got == [entry for entry in log if entry[0] > since]
        else:
            with pytest.raises(Expired):
                watch_from(store, since).poll()
    for start, w, received in watches:
        if received and received[-1] == "expired":
            delivered = received[:-1]
            # Expiry only ever hides changes the window no longer holds; nothing seen twice.
            rvs = [e.rv for e in delivered]
            assert rvs == sorted(set(rvs))
            continue
        try:
            received.extend(w.poll())
        except Expired:
            assert w.cursor < store.oldest_revision() - 1
            continue
        assert [(e.rv, e.type, e.key) for e in received] == [entry for entry in log if entry[0] > start]
    check_indexes(store)
