"""A simulated cloud provider's service controller (``k8s.io/cloud-provider/controllers/service``).

For every ``type: LoadBalancer`` Service it "provisions" a load balancer after a short seeded
delay and writes ``status.loadBalancer.ingress: [{ip: 172.18.255.<n>, ipMode: VIP}]`` (until then
kubectl shows ``<pending>``), with the real events ``EnsuringLoadBalancer`` / ``EnsuredLoadBalancer``
from ``service-controller``. When the Service stops being a LoadBalancer (or is deleted) the
address goes back to the pool (``DeletingLoadBalancer`` / ``DeletedLoadBalancer``).
"""
from __future__ import annotations

from ..client.workqueue import Controller
from ..etcd.store import DELETED, Event
from ..objects import clone, spec_of, status_of

POOL_PREFIX = "172.18.255."
POOL = range(1, 255)
PROVISION_SECONDS = (1.0, 3.0)
COMPONENT = "service-controller"


def wants_load_balancer(svc: dict) -> bool:
    spec = spec_of(svc)
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def ingress_ips(svc: dict) -> list[str]:
    return [i.get("ip", "") for i in (status_of(svc).get("loadBalancer") or {}).get("ingress") or ()
            if i.get("ip")]


class ServiceLBController(Controller):
    name = "service-controller"

    def __init__(self, api, clock, rng=None):
        super().__init__(api, clock)
        self.rng = rng or clock.rng
        self.assigned: dict[tuple[str, str], str] = {}     # service -> ingress IP
        self._provisioning: dict[tuple[str, str], object] = {}
        self.store.subscribe(self.on_event)

    def resync(self) -> None:
        self.assigned.clear()
        for svc in self.store.list("services"):
            key = (svc["metadata"].get("namespace", ""), svc["metadata"]["name"])
            for ip in ingress_ips(svc):
                if ip.startswith(POOL_PREFIX):
                    self.assigned[key] = ip
            self.queue.add(key)

    def on_event(self, ev: Event) -> None:
        if ev.resource != "services":
            return
        meta = ev.obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if ev.type == DELETED:
            self._release(key)
            return
        old = ev.old
        if old is None or old.get("spec") != ev.obj.get("spec") or old.get("status") != ev.obj.get("status"):
            self.queue.add(key)

    def _release(self, key: tuple[str, str]) -> None:
        self.assigned.pop(key, None)
        handle = self._provisioning.pop(key, None)
        if handle is not None:
            handle.cancel()

    def sync(self, key: tuple[str, str]) -> None:
        svc = self.store.find("services", *key)
        if svc is None:
            self._release(key)
            return
        if wants_load_balancer(svc) and not svc["metadata"].get("deletionTimestamp"):
            if ingress_ips(svc):
                self.assigned.setdefault(key, ingress_ips(svc)[0])
                return
            if key in self._provisioning:
                return
            self.api.record_event(svc, "EnsuringLoadBalancer", "Ensuring load balancer", component=COMPONENT,
                                  explanation=f"the cloud provider is creating a load balancer for Service "
                                              f"{key[1]}; EXTERNAL-IP shows <pending> until it is ready")
            delay = self.rng.uniform(*PROVISION_SECONDS)
            self._provisioning[key] = self.clock.schedule(delay, lambda: self._provisioned(key))
            return
        handle = self._provisioning.pop(key, None)
        if handle is not None:
            handle.cancel()
        if ingress_ips(svc):
            self.api.record_event(svc, "DeletingLoadBalancer", "Deleting load balancer", component=COMPONENT)
            new = clone(svc)
            new["status"] = dict(status_of(new), loadBalancer={})
            self.api.update_status(new)
            self.api.record_event(svc, "DeletedLoadBalancer", "Deleted load balancer", component=COMPONENT)
        self.assigned.pop(key, None)

    def _provisioned(self, key: tuple[str, str]) -> None:
        self._provisioning.pop(key, None)
        if self.stopped:
            self.queue.add(key)   # picked up again when the controller manager is back
            return
        svc = self.store.find("services", *key)
        if svc is None or not wants_load_balancer(svc) or ingress_ips(svc):
            return
        ip = self.assigned.get(key) or self._free_ip()
        if ip is None:
            self.api.record_event(svc, "SyncLoadBalancerFailed",
                                  "Error syncing load balancer: failed to ensure load balancer: no addresses "
                                  "left in the pool", type="Warning", component=COMPONENT)
            return
        self.assigned[key] = ip
        new = clone(svc)
        status = dict(status_of(new))
        status["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"}]}
        new["status"] = status
        self.api.update_status(new)
        self.api.record_event(svc, "EnsuredLoadBalancer", "Ensured load balancer", component=COMPONENT,
                              explanation=f"Service {key[1]} is reachable from outside the cluster at {ip}")

    def _free_ip(self) -> str | None:
        used = set(self.assigned.values())
        for n in POOL:
            ip = f"{POOL_PREFIX}{n}"
            if ip not in used:
                return ip
        return None
