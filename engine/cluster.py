"""Composition root: declares and wires every part of a cluster, in the order they start.

Clock, store, persistence and API server; the controller manager's controllers (the EndpointSlice,
Endpoints and service-LB controllers included), the scheduler and the kubelets; the network
(allocation, kube-proxy's view, traffic); chaos, which sees only a ``ControlPlane`` built here; and
the etcd backups. Holds no Kubernetes rules of its own: the action methods (what the dashboard's
buttons and the drills do, ``ACTIONS``) are thin calls into the API server or the components.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .apiserver import audit
from .apiserver.admission import PLUGINS
from .apiserver.manifests import parse_manifests
from .apiserver.resources import by_kind_name
from .apiserver.server import APIServer, ensure_namespaces
from .bootstrap import bootstrap_cluster
from .chaos import ChaosController, ControlPlane, admission as chaos_admission, end_etcd_outage
from .chaos.states import component_states
from .clock import Clock, parse_rfc3339
from .controllers.daemonset import DaemonSetController
from .controllers.deployment import DeploymentController
from .controllers.endpointslice import EndpointsController, EndpointSliceController, ServiceSelectorIndex
from .controllers.garbage_collector import GarbageCollector
from .controllers.namespace import NamespaceController
from .controllers.node_lifecycle import NodeLifecycleController
from .controllers.replicaset import ReplicaSetController
from .controllers.rollback import rollback
from .controllers.service_lb import ServiceLBController
from .controllers.statefulset import StatefulSetController
from .controllers.volume_binding import AttachDetachController, PersistentVolumeController
from .controllers.volume_data import StorageDataWriter
from .errors import BadRequest, NotFound, TooManyRequests
from .etcd.persistence import CommitBatch, SqlPersistence
from .etcd.snapshot import restore_snapshot, take_snapshot
from .etcd.store import ADDED, DELETED, MODIFIED, Event, Store
from .causality import Why
from .history import History
from .kubelet.kubelet import KubeletManager
from .kubelet.logs import pod_logs
from .network import Network
from .objects import spec_of
from .profile import get_profile
from .scheduler.scheduler import Scheduler

WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")

# The service account each controller writes as (kube-controller-manager --use-service-account-credentials),
# by our controller's name; the names are upstream's.
CONTROLLER_ACCOUNTS = {
    "garbage-collector": "generic-garbage-collector", "namespace-controller": "namespace-controller",
    "replicaset-controller": "replicaset-controller", "deployment-controller": "deployment-controller",
    "daemonset-controller": "daemon-set-controller", "node-lifecycle-controller": "node-controller",
    "statefulset-controller": "statefulset-controller", "persistentvolume-controller": "persistent-volume-binder",
    "attachdetach-controller": "attachdetach-controller", "endpointslice-controller": "endpointslice-controller",
    "endpoint-controller": "endpoint-controller", "service-controller": "service-controller",
    # Not a Kubernetes controller: the simulation's stand-in for applications writing to their volumes.
    # Its own account keeps those writes apart from the controller manager's in the audit trail.
    "storage-data": "kubedrill-storage-data",
}
# The chaos controller (Chaos Mesh's chaos-controller-manager) runs under its own account, not the controller manager's.
CHAOS = audit.service_account("chaos-controller-manager", user_agent="chaos-controller-manager")


@dataclass(frozen=True)
class Param:
    """One argument of a user action: its name, its type and whether it must be given."""

    name: str
    kind: str                 # "name" | "text" | "bool" | "int" | "number" | "kind" (one of WORKLOAD_KINDS)
    required: bool = True
    allow_null: bool = False
    allow_empty: bool = False     # "" is a value (a cluster-scoped object's namespace)
    drill_name: str = ""          # what drill files call it, when that differs ("node" for a node's name)


@dataclass(frozen=True)
class Action:
    """One thing a user may do to a cluster, by its dashboard and drill names: a ``Cluster`` method call."""

    verb: str                         # the dashboard's name ("pod.delete"); "" when only drills offer it
    method: str                       # the Cluster method it calls
    params: tuple[Param, ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()     # keyword arguments the verb implies (uncordon: False)
    drill: str = ""                   # what drill files call it ("delete_pod"); "" when only the dashboard does

    def call(self, cluster: "Cluster", args: Mapping[str, Any]) -> Any:
        """Call the method: required arguments by position, optional ones by keyword when given."""
        positional = [args[p.name] for p in self.params if p.required]
        keywords = {p.name: args[p.name] for p in self.params if not p.required and p.name in args}
        return getattr(cluster, self.method)(*positional, **keywords, **dict(self.fixed))


def _name(name: str, **extra: Any) -> Param:
    return Param(name, "name", **extra)


_POD = (_name("namespace"), _name("name"))
_NODE = (_name("name", drill_name="node"),)
_WORKLOAD = (Param("kind", "kind"), _name("namespace"), _name("name"))

# The one vocabulary of user actions: the dashboard (webapp.control) and the drills (engine.drills)
# both dispatch through it. The dashboard lists them in this order when it names the choices.
ACTIONS: tuple[Action, ...] = (
    Action("pod.delete", "delete_pod", (*_POD, Param("force", "bool", False)), drill="delete_pod"),
    Action("", "delete_pod", _POD, (("force", True),), drill="force_delete_pod"),
    Action("pod.crash", "crash_container", _POD),
    Action("pod.readiness", "set_readiness_failing", (*_POD, Param("failing", "bool"))),
    Action("node.power_off", "power_off_node", _NODE),
    Action("node.power_on", "power_on_node", _NODE, drill="power_on_node"),
    Action("node.cordon", "cordon", _NODE, (("unschedulable", True),), drill="cordon"),
    Action("node.uncordon", "cordon", _NODE, (("unschedulable", False),), drill="uncordon"),
    Action("node.drain", "drain", _NODE, drill="drain"),
    Action("workload.scale", "scale", (*_WORKLOAD, Param("replicas", "int")), drill="scale"),
    Action("workload.set_image", "set_image", (*_WORKLOAD, _name("image"), _name("container", required=False)),
           drill="set_image"),
    Action("workload.rollback", "rollback", (*_WORKLOAD, Param("revision", "int", False, allow_null=True)),
           drill="rollback"),
    Action("object.delete", "delete_object", (_name("resource"), _name("namespace", allow_empty=True), _name("name")),
           drill="delete"),
    Action("apply", "apply", (Param("yaml", "text", drill_name="manifest"),), drill="apply"),
    Action("", "create", (Param("manifest", "text"),), drill="create"),
    Action("", "backup_etcd", drill="take_snapshot"),
    Action("", "restore_latest_backup", drill="restore_snapshot"),
)


def _built(cls: type, api: APIServer, *args: Any) -> Any:
    """A controller with its own service account's handle on the API server."""
    return cls(api.as_user(audit.service_account(CONTROLLER_ACCOUNTS[cls.name])), *args)


class Cluster:
    """One simulated Kubernetes cluster."""

    def __init__(self, seed: int = 0, profile: str = "demo", store_url: str | None = None, nodes: int = 3,
                 empty: bool = False, window: int = 100_000, bootstrap: bool = True, start: float = 0.0,
                 fresh: bool = False, store_cluster: str = "demo"):
        """Build the cluster: resume what ``store_url`` holds, else bootstrap ``nodes`` workers.

        ``start`` is the simulated time a new cluster begins at (seconds after engine.clock's epoch):
        the web layer passes "now" so timestamps read as today's date for kubectl; tests keep 0.
        ``fresh`` empties the database first instead of resuming what it holds. ``store_cluster`` is
        this cluster's id in that database, which can hold many (only its rows are read, written, emptied)."""
        self.seed = seed
        self.profile = get_profile(profile)
        self.clock = Clock(seed, start=start)
        self.store = Store(window=window)
        self.persistence: SqlPersistence | None = None
        self.committer: Callable[[CommitBatch], None] | None = None   # set by the web layer (group commit)
        self._unsaved: CommitBatch | None = None   # a batch whose commit failed, retried by the next flush
        restored = self._open_persistence(store_url, fresh, store_cluster) if store_url else False
        self.api = APIServer(self.store, self.clock, self.profile)
        self.api.audit.salt = f"{seed}/{self.store.revision}"   # a resumed cluster's auditIDs are new ones
        api, clock = self.api, self.clock
        api.admission.extend(PLUGINS)
        # The controller manager. The order is the start order (store subscriptions, rng draws).
        self.controllers: dict[str, Any] = {}
        for controller in (_built(GarbageCollector, api, clock), _built(NamespaceController, api, clock),
                           _built(ReplicaSetController, api, clock), _built(DeploymentController, api, clock),
                           _built(DaemonSetController, api, clock),
                           _built(NodeLifecycleController, api, clock, self.profile),
                           _built(StatefulSetController, api, clock), _built(PersistentVolumeController, api, clock),
                           _built(AttachDetachController, api, clock), _built(StorageDataWriter, api, clock)):
            self.controllers[controller.name] = controller
        self.scheduler = Scheduler(api.as_user(audit.SCHEDULER), clock, self.profile.values())
        self.kubelet_manager = KubeletManager(api, clock, self.profile)
        self.kubelets = self.kubelet_manager.kubelets
        # Services: ClusterIP/NodePort admission, kube-proxy's view and live traffic, then the
        # EndpointSlice, Endpoints and service-LB controllers that feed them.
        self.network = Network(api, clock, self.kubelets, seed)
        api.admission.append(self.network.allocator.admit)
        self.service_index = ServiceSelectorIndex(api.store)
        for controller in (_built(EndpointSliceController, api, clock, self.service_index),
                           _built(EndpointsController, api, clock, self.service_index),
                           _built(ServiceLBController, api, clock)):
            self.controllers[controller.name] = controller
        self.service_index.resync()
        self.network.resync()
        # Faults as API objects (chaos.kubedrill.io); the chaos controller stays outside
        # self.controllers so that stopping the controller manager does not stop what must restart it.
        self.control_plane = ControlPlane(api.as_user(CHAOS), clock, self.store, self.scheduler,
                                          self.kubelet_manager.queue, self.controllers, self.kubelets,
                                          traffic=self.network.traffic)
        api.admission.append(chaos_admission(self.control_plane))
        self.chaos = ChaosController(self.control_plane)
        self.control_plane.chaos = self.chaos
        self.etcd_backups: list[dict] = []     # ``etcdctl snapshot save`` results, newest last
        # What the Charts tab draws, since the cluster started (resumed with it).
        rows = self.persistence.load_history() if self.persistence is not None and restored else {}
        self.why = Why(api, self.network.proxy)     # the causal chain of any object, from the audit trail
        self.history = History(api, clock, traffic=self.network.traffic, kubelets=self.kubelet_manager, rows=rows)
        self.restored = restored
        if not restored:
            ensure_namespaces(self.api.as_user(audit.APISERVER))
            if bootstrap:
                bootstrap_cluster(self.api, self.kubelet_manager, workers=nodes, demo=not empty)
        else:
            self._resume()
        self.flush()

    def _open_persistence(self, store_url: str, fresh: bool, store_cluster: str) -> bool:
        """Attach the database; load what it holds for ``store_cluster``. True when objects were restored."""
        self.persistence = SqlPersistence(store_url, cluster=store_cluster)
        if fresh:
            self.persistence.clear()
        revision, objects = self.persistence.load()
        restored = bool(objects)
        if restored or revision:
            # Even an emptied database keeps its revision: a revision once handed out never comes back.
            self.store.restore(objects, revision)
        if restored:
            self.clock.now = self.persistence.sim_now
            # A fresh random stream per resume point: replaying the seed's stream from its start would
            # hand out the same Event names, uids and generated names the cluster already used.
            self.clock.rng.seed(f"{self.seed}/resumed-at/{revision}")
        self.persistence.attach(self.store)  # the change log (event timeline and replay)
        return restored

    def _resume(self) -> None:
        """After a restart, let every component catch up with what the store holds."""
        self._resync_controllers()
        self.kubelet_manager.resume()

    def _resync_controllers(self) -> None:
        for component in list(self.controllers.values()):
            resync = getattr(component, "resync", None)
            if resync is not None:
                resync()

    # ------------------------------------------------------------------ time
    def step(self) -> bool:
        ran = self.clock.step()
        self.flush()
        return ran

    def run_until(self, t: float) -> int:
        ran = self.clock.run_until(t)
        self.flush()
        return ran

    def run_for(self, dt: float) -> int:
        return self.run_until(self.clock.now + dt)

    @property
    def now(self) -> float:
        return self.clock.now

    @property
    def started(self) -> float:
        """Simulated time the cluster was created (the default namespace's birth)."""
        ns = self.store.find("namespaces", "", "default")
        return parse_rfc3339(ns["metadata"]["creationTimestamp"]) if ns else 0.0

    def catch_up(self, since: int) -> list[Event] | None:
        """Every change after ``since`` as events, also across a restart; None if that cannot be told.

        After a restart the history window starts at the restored revision, so a client that saw
        revision ``since`` before it would have to resync. The persisted change log still says which
        objects changed up to the restart: each becomes one event carrying its current state (or a
        DELETED stub naming it), followed by the window's own events -- the same folded picture a
        live delta gives. None without a database, or if the log has a gap (retention).
        """
        boundary = self.store.compacted          # revisions up to here are only in the change log
        if self.persistence is None or not 0 <= since < boundary or since > self.store.revision:
            return None
        rows = self.persistence.changes_since(since, limit=boundary - since)
        if len(rows) != boundary - since or rows[0][0] != since + 1 or rows[-1][0] != boundary:
            return None
        first: dict[tuple[str, str, str], str] = {}
        for _rv, kind, resource, namespace, name in rows:
            first.setdefault((resource, namespace, name), kind)
        events = []
        for (resource, namespace, name), kind in first.items():
            obj = self.store.find(resource, namespace, name)
            if obj is not None:
                events.append(Event(ADDED if kind == ADDED else MODIFIED, resource, obj,
                                    int(obj["metadata"]["resourceVersion"])))
            elif kind != ADDED:                  # existed before ``since``: the client must drop it
                meta = {"name": name, **({"namespace": namespace} if namespace else {})}
                events.append(Event(DELETED, resource, {"metadata": meta}, boundary))
        return events + list(self.store.events_since(boundary))

    def take_batch(self, *, closing: bool = False) -> CommitBatch | None:
        """Everything written since the last batch (objects, change log, revision, clock, chart history), or None."""
        batch = self._unsaved
        self._unsaved = None
        dirty = self.store.take_dirty()
        log = self.persistence.take_log() if self.persistence is not None else []
        history = self.history.take_rows(self.clock.now, force=closing)
        if dirty or log or history:
            fresh = CommitBatch(self.store.revision, dirty, log, self.clock.now, history)
            batch = fresh if batch is None else batch.then(fresh)
        return batch

    def flush(self, *, closing: bool = False) -> None:
        """Group commit: hand everything written since the last flush over as one batch (one transaction).

        Without a ``committer`` the batch is committed here; the web layer installs one that queues
        batches in revision order and commits them outside its lock, several at once.
        """
        if self.persistence is None:
            self.store.take_dirty()
            return
        batch = self.take_batch(closing=closing)
        if batch is None:
            return
        if self.committer is not None:
            self.committer(batch)
            return
        try:
            self.persistence.commit_batch(batch)
        except Exception:
            self._unsaved = batch  # nothing is lost: the next flush retries it, merged with what came since
            raise

    def close(self) -> None:
        self.committer = None
        self.flush(closing=True)
        if self.persistence is not None:
            self.persistence.close()

    # ------------------------------------------------------------------ manifests
    def apply(self, source: Any, *, namespace: str | None = None) -> list[dict]:
        """Create or update every object in a manifest (YAML/JSON text, a dict, or dicts)."""
        out = self.api.apply_manifest(source, namespace=namespace)
        self.flush()
        return out

    # ------------------------------------------------------------------ actions (dashboard buttons)
    def delete_pod(self, namespace: str, name: str, force: bool = False) -> dict:
        return self.api.delete("pods", namespace, name, grace_period=0 if force else None)

    def crash_container(self, namespace: str, name: str) -> dict:
        return self._kubelet_for(namespace, name).crash_container(namespace, name)

    def set_readiness_failing(self, namespace: str, name: str, failing: bool) -> dict:
        return self._kubelet_for(namespace, name).set_readiness_failing(namespace, name, failing)

    def power_off_node(self, name: str) -> dict:
        return self._kubelet(name).power_off()

    def power_on_node(self, name: str) -> dict:
        return self._kubelet(name).power_on()

    def cordon(self, name: str, unschedulable: bool = True) -> dict:
        body = {"spec": {"unschedulable": True if unschedulable else None}}
        return self.api.patch("nodes", None, name, body, "strategic")

    def drain(self, name: str) -> dict:
        """Cordon, then evict every pod but DaemonSet pods (``kubectl drain --ignore-daemonsets``)."""
        self.cordon(name, True)
        evicted, blocked = [], []
        for pod in self.store.pods_on_node(name):
            meta = pod["metadata"]
            owner = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
            if owner and owner.get("kind") == "DaemonSet":
                continue
            if meta.get("annotations", {}).get("kubernetes.io/config.mirror"):
                continue
            try:
                self.api.evict(meta.get("namespace", ""), meta["name"])
                evicted.append(f"{meta.get('namespace', '')}/{meta['name']}")
            except TooManyRequests as err:
                blocked.append({"pod": f"{meta.get('namespace', '')}/{meta['name']}", "reason": err.message})
        return {"node": name, "evicted": evicted, "blocked": blocked}

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> dict:
        rt = self._workload(kind)
        return self.api.update_scale(rt.plural, namespace, name, {"spec": {"replicas": replicas}})

    def set_image(self, kind: str, namespace: str, name: str, image: str, container: str | None = None) -> dict:
        rt = self._workload(kind)
        obj = self.api.get(rt.plural, namespace, name)
        containers = obj["spec"]["template"]["spec"]["containers"]
        target = container or containers[0]["name"]
        if not any(c["name"] == target for c in containers):
            raise NotFound(f'container "{target}" not found in {rt.kind} "{name}"', name=name, kind=rt.plural)
        patch = {"spec": {"template": {"spec": {"containers": [{"name": target, "image": image}]}}}}
        return self.api.patch(rt.plural, namespace, name, patch, "strategic")

    def create(self, manifest: Any) -> list[dict]:
        """Create every object in a manifest (``kubectl create``: an existing object is an error)."""
        return [self.api.create(obj) for obj in parse_manifests(manifest)]

    def rollback(self, kind: str, namespace: str, name: str, revision: int | None = None) -> dict:
        return rollback(self, self._workload(kind).kind, namespace, name, revision)

    def delete_object(self, resource: str, namespace: str | None, name: str) -> dict:
        return self.api.delete(resource, namespace, name, propagation="Background")

    # ------------------------------------------------------------------ etcd backups
    def backup_etcd(self) -> dict:
        """Take a snapshot (``etcdctl snapshot save``) and keep it, newest last; works while the API is down."""
        snap = take_snapshot(self.store, self.clock.now)
        self.etcd_backups.append(snap)
        return snap

    def latest_backup(self) -> dict | None:
        return self.etcd_backups[-1] if self.etcd_backups else None

    def restore_latest_backup(self) -> dict:
        """Restore the newest backup (``restore_etcd``); NotFound when none was taken."""
        snap = self.latest_backup()
        if snap is None:
            raise NotFound("no etcd snapshot to restore: take a backup first (etcdctl snapshot save)")
        return self.restore_etcd(snap)

    def restore_etcd(self, snap: dict) -> dict:
        """Write ``snap`` back into the store (``etcdctl snapshot restore``) and restart the control plane.

        What an etcd loss stopped runs again, live kubelets reconnect and every controller resyncs
        from the restored state. Returns counts of objects created, updated and deleted.
        """
        counts = restore_snapshot(self.store, snap)
        end_etcd_outage(self.control_plane)
        self._reconnect_kubelets()
        self._resync_controllers()
        self.flush()
        return counts

    def _reconnect_kubelets(self) -> None:
        # Restored leases and node statuses are as old as the snapshot: live kubelets renew and report
        # at once, and resync their pods against what the store now says.
        for name in sorted(self.kubelets):
            kubelet = self.kubelets[name]
            if getattr(kubelet, "connected", False):
                kubelet.start_heartbeat()
                kubelet.post_node_status()
            resync = getattr(kubelet, "resync", None)
            if resync is not None:
                resync()

    def profile_values(self) -> dict:
        return self.profile.values()

    def health(self) -> dict[str, dict]:
        """Failures per component: name -> {"errors", "last_error", "last_key", "at"} (empty when all is well).

        What the work queues, the scheduler, the chaos controller and, as a last resort, the clock
        caught and carried on after (``Clock.failures``)."""
        return self.clock.failures.health()

    def component_states(self) -> dict:
        """Every control-plane component's state and the faults in force (the dashboard's control-plane view).

        kube-proxy has no fault of its own: it programs rules on every node whose kubelet runs."""
        states = component_states(self.control_plane)
        states["kubeProxy"] = {"running": True, "nodes": sorted(n for n, k in self.kubelets.items() if k.powered)}
        # Who each writes as, so the view can tell the audit trail's requests apart, and where that trail is now.
        states["scheduler"]["user"] = audit.SCHEDULER[0]
        for controller in states["controllers"]:
            controller["user"] = audit.service_account(CONTROLLER_ACCOUNTS[controller["name"]])[0]
        states["auditSeq"] = self.api.audit.seq
        return states

    def pod_logs(self, namespace: str, name: str, container: str | None = None, previous: bool = False,
                 tail_lines: int | None = None) -> str:
        return pod_logs(self, namespace, name, container, previous, tail_lines)

    # ------------------------------------------------------------------ helpers
    def _workload(self, kind: str):
        rt = by_kind_name(kind) if isinstance(kind, str) else None
        if rt is None or rt.kind not in WORKLOAD_KINDS:
            raise BadRequest(f'unsupported workload kind "{kind}": supported values: "Deployment", "StatefulSet", '
                             '"ReplicaSet"')
        return rt

    def _kubelet(self, node: str):
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            raise NotFound.of("nodes", "", node)
        return kubelet

    def _kubelet_for(self, namespace: str, name: str):
        pod = self.api.get("pods", namespace, name)
        node = spec_of(pod).get("nodeName")
        if not node:
            raise BadRequest(f'pod "{name}" is not running on a node yet')
        return self._kubelet(node)
