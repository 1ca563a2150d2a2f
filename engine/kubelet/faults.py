"""Faults injected into a kubelet: power a node off/on, stop/start its kubelet, partition it; crash or fail pods.

These are what the cluster's chaos actions (engine/cluster.py) call. A node fault changes what the
control plane sees as a real outage does (heartbeats stop, status goes stale, pods are lost on
power-off); a pod fault is stored as the ``kubedrill.io/faults`` annotation that the stage table and
the probes read. ``FaultInjector`` is a mixin of ``Kubelet`` (engine/kubelet/kubelet.py).
"""
from __future__ import annotations

from ..errors import BadRequest, NotFound
from ..objects import annotations_of, clone, status_of
from .runtime import PodRuntime, random_uuid
from .stages import FAULT_KINDS, FAULTS_ANNOTATION, WARNING, format_faults, parse_faults


class FaultInjector:
    """Mixin of ``Kubelet``: the node and pod faults a learner can inject."""

    # ------------------------------------------------------------------ faults on the node
    def power_off(self) -> dict:
        """Cut the power: kubelet and containers gone, heartbeats stop; pods stay in the API as they were."""
        if not self.powered:
            return {"node": self.name, "state": self.state, "changed": False}
        was_connected = self.connected
        count = len(self.pods)
        for rt in list(self.pods.values()):
            self._drop(rt)
        self.powered = False
        self.kubelet_running = False
        self.partitioned = False
        if was_connected:
            self.stop_heartbeat()
        else:
            self._write_lease_state()
        return {"node": self.name, "state": self.state, "changed": True, "podsLost": count}

    def power_on(self) -> dict:
        """Boot: re-register status, renew the lease; pods found dead are restarted or finished."""
        if self.powered and self.kubelet_running and not self.partitioned:
            return {"node": self.name, "state": self.state, "changed": False}
        if self.powered:
            # Only the kubelet or the network was down: same as starting it / healing the partition.
            self.partitioned = False
            return self.start_kubelet()
        self.powered = True
        self.kubelet_running = True
        self.partitioned = False
        node = self.store.find("nodes", "", self.name)
        if node is not None:
            new = dict(node)
            status = dict(status_of(node))
            info = dict(status.get("nodeInfo") or {})
            info["bootID"] = random_uuid(self.clock.rng)
            status["nodeInfo"] = info
            new["status"] = status
            self.api.update_status(new)
            self._node_event("Rebooted", f"Node {self.name} has been rebooted, boot id: {info['bootID']}",
                             type=WARNING, explanation=f"{self.name} booted again: its containers were lost")
        self.boot_events()
        self.start_heartbeat()
        self.post_node_status()
        restarted, finished = 0, 0
        for pod in self.store.pods_on_node(self.name):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                self.api.finish_pod_termination(meta.get("namespace", ""), meta["name"], meta.get("uid", ""))
                finished += 1
                continue
            if status_of(pod).get("phase") in ("Succeeded", "Failed"):
                continue
            self.adopt(pod, reboot=True)
            restarted += 1
        return {"node": self.name, "state": self.state, "changed": True, "podsRestarted": restarted,
                "podsFinished": finished}

    def stop_kubelet(self) -> dict:
        """Stop the kubelet only: containers keep running, but no heartbeats and no status."""
        if not self.powered or not self.kubelet_running:
            return {"node": self.name, "state": self.state, "changed": False}
        was_connected = self.connected
        self.kubelet_running = False
        self._freeze()
        if was_connected:
            self.stop_heartbeat()
        else:
            self._write_lease_state()
        return {"node": self.name, "state": self.state, "changed": True}

    def start_kubelet(self) -> dict:
        if not self.powered:
            return self.power_on()
        if self.connected:
            return {"node": self.name, "state": self.state, "changed": False}
        self.kubelet_running = True
        if self.partitioned:
            self._write_lease_state()
            return {"node": self.name, "state": self.state, "changed": True}
        self.boot_events()
        self._reconnect()
        return {"node": self.name, "state": self.state, "changed": True}

    def partition(self, on: bool) -> dict:
        """Cut (or heal) the node's network: to the control plane it looks like a stopped kubelet."""
        if not self.powered or self.partitioned == on:
            return {"node": self.name, "state": self.state, "changed": False}
        was_connected = self.connected
        self.partitioned = on
        if on:
            self._freeze()
            if was_connected:
                self.stop_heartbeat()
        elif self.kubelet_running:
            self._reconnect()
        return {"node": self.name, "state": self.state, "changed": True}

    def _reconnect(self) -> None:
        self.start_heartbeat()
        self.post_node_status()
        self.resync()

    def _freeze(self) -> None:
        # Without the kubelet nobody drives the lifecycle: pending stages and probes stop where they are.
        for rt in self.pods.values():
            rt.cancel_timers()

    # ------------------------------------------------------------------ faults on pods
    def _runtime(self, ns: str, name: str) -> PodRuntime:
        rt = self.pods.get((ns, name))
        if rt is None:
            if self.store.find("pods", ns, name) is None:
                raise NotFound.of("pods", "", name)
            raise BadRequest(f'pod "{name}" has no running containers on node {self.name}')
        return rt

    def crash_container(self, ns: str, name: str, container: str | None = None) -> dict:
        """Make a running container exit with code 1 once (restarted per restartPolicy, with back-off)."""
        rt = self._runtime(ns, name)
        target = next((c for c in rt.containers if c.state == "Running" and (container is None or c.name == container)),
                      None)
        if target is None:
            raise BadRequest(f'pod "{name}" has no running container to crash')
        self._log(target, "panic: simulated crash (injected by kubedrill)")
        self._container_exit(rt, target, 1, "Error")
        return {"pod": f"{ns}/{name}", "container": target.name, "exitCode": 1}

    def set_failure(self, ns: str, name: str, kind: str, on: bool) -> dict:
        """Switch a fault on or off for a pod (stored as the ``kubedrill.io/faults`` annotation)."""
        if kind not in FAULT_KINDS:
            raise BadRequest(f'unsupported fault "{kind}": supported values: '
                             + ", ".join(f'"{k}"' for k in FAULT_KINDS))
        pod = self.store.find("pods", ns, name)
        if pod is None:
            raise NotFound.of("pods", "", name)
        annotations = annotations_of(pod)
        faults = parse_faults(annotations.get(FAULTS_ANNOTATION))
        if (kind in faults) != on:
            faults = faults | {kind} if on else faults - {kind}
            new = clone(pod)
            ann = dict(annotations)
            if faults:
                ann[FAULTS_ANNOTATION] = format_faults(faults)
            else:
                ann.pop(FAULTS_ANNOTATION, None)
            new["metadata"]["annotations"] = ann
            if not ann:
                del new["metadata"]["annotations"]
            self.api.update_internal(new)
        return {"pod": f"{ns}/{name}", "fault": kind, "on": on, "faults": sorted(faults)}

    def set_readiness_failing(self, ns: str, name: str, failing: bool) -> dict:
        return self.set_failure(ns, name, "readiness", failing)
