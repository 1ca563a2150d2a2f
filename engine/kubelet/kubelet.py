"""The node agents: one ``Kubelet`` per node, all fed by one ``KubeletManager``.

The manager subscribes to the store once and routes pod events by ``spec.nodeName`` (and
ConfigMap/Secret/PVC events to the pods waiting for them) into one keyed work queue, so per-pod
work is event-driven and never a scan. Each kubelet interprets the stage table of
``engine/kubelet/stages.py`` for the pods bound to it: volumes, sandbox (pod IP from the node's
podCIDR), image pulls, init containers, create/start, probes, exits, restarts with back-off, and
graceful termination. Pod status is written through ``api.update_status`` only when it changed,
coalesced per simulated instant.

The ``Kubelet`` class is assembled from mixins, as upstream splits the kubelet into packages:
engine/kubelet/node_status.py (node events, Lease heartbeats, node status), engine/kubelet/faults.py
(node and pod faults), engine/kubelet/containers.py (the stage interpreter, exits and restarts),
engine/kubelet/probes.py (probes) and engine/kubelet/pod_status.py (pod status). This module keeps the
manager and the pod sync core: adopting pods, termination, volume/config guards, events and logs.
Kubelet memory lives in engine/kubelet/runtime.py, pod IPs in engine/kubelet/ipam.py, and the lazy
heartbeat scheme in engine/component_helpers/node_lease.py.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..apiserver import audit
from ..client.workqueue import WorkQueue
from ..clock import parse_rfc3339, rfc3339, rfc3339_micro
from ..component_helpers.storage import attach_blocker
from ..errors import BadRequest
from ..etcd.store import DELETED, MODIFIED, Event
from ..objects import annotations_of, spec_of, status_of
from .containers import ContainerLifecycle
from .faults import FaultInjector
from .ipam import NodeIPAM, node_internal_ip, node_pod_cidr
from ..component_helpers.node_lease import KUBELET_STATE_ANNOTATION, LEASE_NAMESPACE, lease_is_renewing, new_lease
from .node_status import NodeStatusManager, new_node
from .pod_status import PodStatusManager
from .probes import ProbeManager
from .runtime import ContainerRuntime, PodRuntime, format_number, restore_container
from .stages import FAULTS_ANNOTATION, SANDBOX_READY, Emit, normalize_image, parse_faults


class KubeletManager:
    """All kubelets of a cluster: one store subscription, one work queue, routing by node."""

    def __init__(self, api, clock, profile):
        self.api = api
        self.clock = clock
        self.profile = profile
        self.store = api.store
        self.kubelets: dict[str, Kubelet] = {}
        self.waiting: dict[tuple[str, str, str], set[tuple[str, str, str]]] = {}   # ref → {(node, ns, pod)}
        self._next_index = 0
        self.queue = WorkQueue(clock, self._sync, "kubelet")
        self.store.subscribe(self.on_event)

    # ------------------------------------------------------------------ nodes
    def add_node(self, name: str, *, cpu: str = "4", memory: str = "16Gi", pods: int = 110,
                 labels: dict | None = None, taints: list | None = None, control_plane: bool = False) -> "Kubelet":
        """Register a node (Node object, Lease, events) and start its kubelet."""
        if name in self.kubelets or self.store.find("nodes", "", name) is not None:
            raise BadRequest(f'node "{name}" already exists')
        index = self._allocate_index()
        cidr = node_pod_cidr(index)
        node_labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        if control_plane:
            node_labels["node-role.kubernetes.io/control-plane"] = ""
            node_labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        node_labels.update(labels or {})
        if taints is None and control_plane:
            taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        capacity = {"cpu": str(cpu), "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
                    "hugepages-2Mi": "0", "memory": str(memory), "pods": str(pods)}
        node = new_node(name, labels=node_labels, taints=taints, capacity=capacity, cidr=cidr,
                        internal_ip=node_internal_ip(index), rng=self.clock.rng, now=rfc3339(self.clock.now))
        kubelet = Kubelet(self, name, cidr, node_internal_ip(index))
        stored = kubelet.api.create_internal(node)   # a kubelet registers its own Node
        self.kubelets[name] = kubelet
        kubelet.api.create_internal(new_lease(name, stored["metadata"]["uid"], self.profile.node_lease_duration,
                                           self.clock.now))
        kubelet.boot_events(first=True)
        kubelet.start_heartbeat()
        return kubelet

    def resume(self) -> None:
        """Rebuild the kubelets from the Node objects after a restart from the database, and continue their pods."""
        nodes = self.store.list("nodes")
        for node in nodes:
            cidr = spec_of(node).get("podCIDR") or ""
            try:
                second, third = (int(x) for x in cidr.split(".")[1:3])
                block = second - 244 if second >= 244 else second - 128 + 12
                self._next_index = max(self._next_index, block * 256 + third + 1)
            except (ValueError, IndexError):
                pass   # not one of our podCIDRs: it reserves no index
        for node in nodes:
            if node["metadata"]["name"] not in self.kubelets:
                self._resume_kubelet(node)

    def _resume_kubelet(self, node: dict) -> None:
        """Rebuild one node's kubelet in the state its Lease recorded, and take back its pods."""
        name = node["metadata"]["name"]
        ip = next((a["address"] for a in status_of(node).get("addresses") or ()
                   if a.get("type") == "InternalIP"), "")
        kubelet = Kubelet(self, name, spec_of(node).get("podCIDR") or node_pod_cidr(self._allocate_index()), ip)
        self.kubelets[name] = kubelet
        lease = self.store.find("leases", LEASE_NAMESPACE, name)
        state = annotations_of(lease).get(KUBELET_STATE_ANNOTATION, "running")
        kubelet.powered = state != "powered-off"
        kubelet.kubelet_running = state not in ("kubelet-stopped", "powered-off")
        kubelet.partitioned = state == "partitioned"
        kubelet.restore_node_status(node)
        if lease is not None and lease_is_renewing(lease):
            kubelet.hb_start = parse_rfc3339(lease["spec"]["renewTime"])
        if not kubelet.powered:
            return
        for pod in self.store.pods_on_node(name):
            kubelet.adopt(pod)
        if kubelet.connected:
            if lease is None or not lease_is_renewing(lease):
                kubelet.start_heartbeat()
            kubelet.resync()

    def _allocate_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    # ------------------------------------------------------------------ routing
    def on_event(self, ev: Event) -> None:
        resource = ev.resource
        if resource == "pods":
            obj, old = ev.obj, ev.old
            node = spec_of(obj).get("nodeName")
            if not node:
                return
            if ev.type == MODIFIED and old is not None:
                om, nm = old["metadata"], obj["metadata"]
                # A status-only write (our own, the node controller's) needs no kubelet work.
                if (om.get("deletionTimestamp") == nm.get("deletionTimestamp")
                        and spec_of(old).get("nodeName") == node
                        and annotations_of(old).get(FAULTS_ANNOTATION) == annotations_of(obj).get(FAULTS_ANNOTATION)):
                    return
            if node in self.kubelets:
                meta = obj["metadata"]
                self.queue.add(("pod", node, meta.get("namespace", ""), meta["name"]))
        elif resource in ("configmaps", "secrets", "persistentvolumeclaims", "persistentvolumes"):
            waiters = self.waiting.get(ev.key)
            if waiters:
                for node, ns, name in sorted(waiters):
                    self.queue.add(("pod", node, ns, name))
        elif resource == "nodes":
            name = ev.obj["metadata"]["name"]
            if name in self.kubelets:
                if ev.type == DELETED:
                    self.queue.add(("node-deleted", name, "", ""))
                elif ev.old is not None and spec_of(ev.old).get("unschedulable") != \
                        spec_of(ev.obj).get("unschedulable"):
                    self.queue.add(("node-schedulable", name, "", ""))

    def _sync(self, key: tuple[str, str, str, str]) -> None:
        kind, node, ns, name = key
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            return
        if kind == "pod":
            kubelet.sync_pod(ns, name)
        elif kind == "node-deleted":
            if self.store.find("nodes", "", node) is None:
                kubelet.shutdown()
                del self.kubelets[node]
        elif kind == "node-schedulable":
            kubelet.record_schedulable()

    def watch_ref(self, ref: tuple[str, str, str], node: str, ns: str, name: str) -> None:
        self.waiting.setdefault(ref, set()).add((node, ns, name))

    def unwatch_refs(self, refs: Iterable[tuple[str, str, str]], node: str, ns: str, name: str) -> None:
        for ref in refs:
            waiters = self.waiting.get(ref)
            if waiters is not None:
                waiters.discard((node, ns, name))
                if not waiters:
                    del self.waiting[ref]


class Kubelet(NodeStatusManager, FaultInjector, ContainerLifecycle, ProbeManager, PodStatusManager):
    """One node's agent: heartbeats, node status, and the pods bound to the node."""

    def __init__(self, manager: KubeletManager, name: str, cidr: str, internal_ip: str):
        self.manager = manager
        self.api = manager.api.as_user(audit.node(name))
        self.clock = manager.clock
        self.profile = manager.profile
        self.store = manager.store
        self.name = name
        self.cidr = cidr
        self.internal_ip = internal_ip
        self.ipam = NodeIPAM(cidr)
        self.pods: dict[tuple[str, str], PodRuntime] = {}
        self.images: set[str] = set()
        self.powered = True
        self.kubelet_running = True
        self.partitioned = False
        self.hb_start = self.clock.now
        self.pressure: dict[str, bool] = {}
        self._node_flush = False

    # ------------------------------------------------------------------ state
    @property
    def connected(self) -> bool:
        """Tell whether this kubelet can talk to the API server (powered, running, not partitioned)."""
        return self.powered and self.kubelet_running and not self.partitioned

    @property
    def state(self) -> str:
        if not self.powered:
            return "powered-off"
        if not self.kubelet_running:
            return "kubelet-stopped"
        if self.partitioned:
            return "partitioned"
        return "running"

    def resync(self) -> None:
        """Compare every pod bound here (and every runtime) with the store, as the kubelet's sync loop does."""
        keys = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in self.store.pods_on_node(self.name)}
        keys.update(self.pods)
        for ns, name in sorted(keys):
            self.manager.queue.add(("pod", self.name, ns, name))
            rt = self.pods.get((ns, name))
            if rt is not None:
                self._mark_dirty(rt)

    def shutdown(self) -> None:
        """Stop everything this kubelet runs (its Node object was deleted)."""
        for rt in list(self.pods.values()):
            self._drop(rt)
        self.powered = False

    # ------------------------------------------------------------------ pod sync (from the work queue)
    def sync_pod(self, ns: str, name: str) -> None:
        if not self.connected:
            return  # the kubelet cannot see the API server; resync() catches up later
        pod = self.store.find("pods", ns, name)
        rt = self.pods.get((ns, name))
        if rt is not None and (pod is None or pod["metadata"].get("uid") != rt.uid
                               or spec_of(pod).get("nodeName") != self.name):
            self._drop(rt)   # force-deleted (or replaced by a pod with the same name): stop its containers
            rt = None
        if pod is None or spec_of(pod).get("nodeName") != self.name:
            return
        meta = pod["metadata"]
        if rt is None:
            if meta.get("deletionTimestamp"):
                self.api.finish_pod_termination(ns, name, meta.get("uid", ""))
                return
            if status_of(pod).get("phase") in ("Succeeded", "Failed"):
                return
            self.adopt(pod)
            return
        faults = parse_faults(annotations_of(pod).get(FAULTS_ANNOTATION))
        if faults != rt.faults:
            self._set_faults(rt, faults)
        if meta.get("deletionTimestamp") and not rt.terminating:
            self._terminate(rt, pod)
            return
        if rt.terminating:
            if rt.final:
                self._finish(rt)
            elif not any(c.timer is not None for c in rt.all_containers()):
                self._terminate(rt, pod)   # the kubelet was away: send SIGTERM again
            return
        self._advance(rt)

    def adopt(self, pod: dict, reboot: bool = False) -> PodRuntime:
        """Take charge of a pod: new (start from scratch), already running (resume) or found dead after a reboot."""
        rt = PodRuntime(pod)
        self.pods[rt.key] = rt
        status = status_of(pod)
        statuses = {s.get("name"): s for s in status.get("containerStatuses") or ()}
        init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or ()}
        rt.start_time = status.get("startTime") or ""
        has_sandbox = bool(status.get("podIP")) and not reboot
        if has_sandbox:
            rt.ip = status["podIP"]
            if not rt.host_network:
                self.ipam.reserve(rt.ip)
            rt.state = SANDBOX_READY
        if statuses or init_statuses:
            for c in rt.inits:
                restore_container(c, init_statuses.get(c.name), reboot)
            for c in rt.containers:
                restore_container(c, statuses.get(c.name), reboot)
            if reboot:
                self._pod_event(rt, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.",
                                explanation=f"{self.name} rebooted: the pod's sandbox and containers are gone, "
                                            "so the kubelet creates them again")
                for c in rt.inits:
                    # A new sandbox runs the init containers again.
                    c.state, c.waiting_reason, c.ready, c.started = "Waiting", "PodInitializing", False, False
                for c in rt.containers:
                    if c.state == "Exited":
                        self._after_exit(rt, c)
            else:
                for c in rt.all_containers():
                    if c.state == "Running":
                        c.pulled = True
                        self.images.add(normalize_image(c.image))
                    elif c.state == "Exited":
                        self._after_exit(rt, c)
        if not rt.start_time:
            rt.start_time = rfc3339(self.clock.now)
        if self.connected:
            self._mark_dirty(rt)
            self._advance(rt)
        return rt

    def _set_faults(self, rt: PodRuntime, faults: set[str]) -> None:
        rt.faults = faults
        if rt.terminating:
            return
        for c in rt.all_containers():
            if c.state == "Running":
                if c.timer is not None:
                    c.timer.cancel()   # a crash/oom stage may apply now (or no longer)
                    c.timer = None
                self._arm_probes(rt, c)
        self._advance(rt)

    # ------------------------------------------------------------------ termination
    def _terminate(self, rt: PodRuntime, pod: dict) -> None:
        rt.terminating = True
        rt.cancel_timers()
        meta = pod["metadata"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec_of(pod).get("terminationGracePeriodSeconds", 30)
        grace = float(grace or 0)
        running = [c for c in rt.all_containers() if c.state == "Running"]
        for c in rt.all_containers():
            if c.state != "Running":
                c.ready = False
                if c.state not in ("Exited", "Done"):
                    c.state = "Done"
                    c.exit_code = None
        pending = len(running)
        if not running:
            rt.final = True
            self._mark_dirty(rt)
            self.clock.schedule(0, lambda: self._finish(rt))
            return
        left = [pending]
        for c in running:
            self._emit(rt, c, (Emit("Killing", f"Stopping container {c.name}",
                                    explanation=f"the pod is being deleted: {c.name} gets SIGTERM and up to "
                                                f"{format_number(grace)}s to exit"),))
            self._log(c, "received SIGTERM, shutting down gracefully")
            if rt.ignore_sigterm:
                delay, code, reason = grace, 137, "Error"
            else:
                delay = min(self._delay("sigterm_exit_seconds", c), grace)
                code, reason = (0, "Completed") if delay < grace else (137, "Error")

            def exited(c=c, code=code, reason=reason) -> None:
                c.timer = None
                if code == 137:
                    self._log(c, "killed with SIGKILL: the grace period ended")
                else:
                    self._log(c, "exited after SIGTERM")
                c.state, c.exit_code, c.exit_reason = "Done", code, reason
                c.finished_at = self.clock.now
                c.ready = False
                left[0] -= 1
                if left[0] == 0:
                    rt.final = True
                    self._finish(rt)

            c.timer = self.clock.schedule(delay, exited)
        self._mark_dirty(rt)

    def _finish(self, rt: PodRuntime) -> None:
        """Post the final status once all containers stopped, and let the API server remove the pod."""
        if rt.key not in self.pods or self.pods[rt.key] is not rt:
            return
        if not self.connected:
            return   # confirmed later, when the kubelet is back
        self._flush(rt)
        self.api.finish_pod_termination(rt.ns, rt.name, rt.uid)
        if self.store.find("pods", rt.ns, rt.name) is None or \
                self.store.find("pods", rt.ns, rt.name)["metadata"].get("uid") != rt.uid:
            self._drop(rt)

    def _drop(self, rt: PodRuntime) -> None:
        """Forget a pod: containers stopped, IP released, no more watching ConfigMaps for it."""
        rt.cancel_timers()
        if not rt.host_network:
            self.ipam.release(rt.ip)
        self._wait_for(rt, ())
        if self.pods.get(rt.key) is rt:
            del self.pods[rt.key]

    # ------------------------------------------------------------------ guards
    def _volumes_problem(self, rt: PodRuntime) -> tuple[str, str, tuple] | None:
        pod = self.store.find("pods", rt.ns, rt.name)
        if pod is None:
            return None
        refs, first = [], None
        for vol in spec_of(pod).get("volumes") or ():
            vname = vol.get("name", "")
            error = ref = None
            if isinstance(vol.get("configMap"), dict) and not vol["configMap"].get("optional"):
                cm = vol["configMap"].get("name", "")
                ref = ("configmaps", rt.ns, cm)
                if self.store.find(*ref) is None:
                    error = f'MountVolume.SetUp failed for volume "{vname}" : configmap "{cm}" not found'
            elif isinstance(vol.get("secret"), dict) and not vol["secret"].get("optional"):
                sec = vol["secret"].get("secretName", "")
                ref = ("secrets", rt.ns, sec)
                if self.store.find(*ref) is None:
                    error = f'MountVolume.SetUp failed for volume "{vname}" : secret "{sec}" not found'
            elif isinstance(vol.get("persistentVolumeClaim"), dict):
                claim = vol["persistentVolumeClaim"].get("claimName", "")
                ref = ("persistentvolumeclaims", rt.ns, claim)
                pvc = self.store.find(*ref)
                if pvc is None:
                    error = (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached volumes=[], "
                             f'failed to process volumes=[{vname}]: persistentvolumeclaim "{claim}" not found')
                elif status_of(pvc).get("phase") != "Bound":
                    error = (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached volumes=[], "
                             f"failed to process volumes=[{vname}]: error processing PVC {rt.ns}/{claim}: "
                             "PVC is not bound")
                elif attach_blocker(self.store, pod) is not None:
                    # ReadWriteOnce volume still attached to another node: the attachdetach-controller
                    # reports Multi-Attach; the kubelet just cannot mount (real wording).
                    ref = ("persistentvolumes", "", pvc["spec"].get("volumeName", ""))
                    error = (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached "
                             f"volumes=[{vname}], failed to process volumes=[]: timed out waiting for the condition")
            if error is not None:
                refs.append(ref)
                if first is None:
                    first = (error, vname)
        if first is None:
            return None
        return first[0], first[1], tuple(refs)

    def _config_problem(self, rt: PodRuntime, c: ContainerRuntime) -> tuple[str, tuple]:
        ns = rt.ns
        for env in c.spec.get("env") or ():
            source = env.get("valueFrom") or {}
            for kind, resource, label in (("configMapKeyRef", "configmaps", "ConfigMap"),
                                          ("secretKeyRef", "secrets", "Secret")):
                ref = source.get(kind)
                if not isinstance(ref, dict) or ref.get("optional"):
                    continue
                obj = self.store.find(resource, ns, ref.get("name", ""))
                key = (resource, ns, ref.get("name", ""))
                if obj is None:
                    return f'{resource[:-1]} "{ref.get("name", "")}" not found', (key,)
                data = dict(obj.get("data") or {})
                data.update(obj.get("binaryData") or {})
                data.update(obj.get("stringData") or {})
                if ref.get("key") not in data:
                    return f"couldn't find key {ref.get('key')} in {label} {ns}/{ref.get('name', '')}", (key,)
        for source in c.spec.get("envFrom") or ():
            for kind, resource in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                ref = source.get(kind)
                if not isinstance(ref, dict) or ref.get("optional"):
                    continue
                key = (resource, ns, ref.get("name", ""))
                if self.store.find(*key) is None:
                    return f'{resource[:-1]} "{ref.get("name", "")}" not found', (key,)
        return "", ()

    def _wait_for(self, rt: PodRuntime, refs: tuple) -> None:
        refs = tuple(refs)
        if refs == rt.waiting_refs:
            return
        self.manager.unwatch_refs(rt.waiting_refs, self.name, rt.ns, rt.name)
        for ref in refs:
            self.manager.watch_ref(ref, self.name, rt.ns, rt.name)
        rt.waiting_refs = refs

    # ------------------------------------------------------------------ events and logs
    def _pod_event(self, rt: PodRuntime, reason: str, message: str, type: str = "Normal",
                   explanation: str = "", field_path: str = "") -> None:
        self.api.record_event(rt.involved(), reason, message, type=type, component="kubelet",
                              explanation=explanation, host=self.name, field_path=field_path)

    def _emit(self, rt: PodRuntime, c: ContainerRuntime | None, emits: Iterable[Emit], **fields: Any) -> None:
        if not emits:
            return
        values = {"pod": rt.name, "ns": rt.ns, "uid": rt.uid, "node": self.name, "container": "", "image": "",
                  "seconds": "", "size": "", "error": "", "volume": "", "backoff": "", "error_short": ""}
        if c is not None:
            values["container"] = c.name
            values["image"] = c.image
        values.update(fields)
        path = ""
        if c is not None:
            path = f"spec.{'initContainers' if c.init else 'containers'}{{{c.name}}}"
        for emit in emits:
            self._pod_event(rt, emit.reason, emit.message.format(**values), emit.type,
                            emit.explanation.format(**values) if emit.explanation else "", path)

    def _log(self, c: ContainerRuntime, line: str) -> None:
        if c.log is None:
            c.log = []
        c.log.append(f"{rfc3339_micro(self.clock.now)} {line}")
        if len(c.log) > 500:
            del c.log[:100]
