"""The cluster a user starts with: a control plane, workers, system pods and the demo workloads.

Like a kubeadm cluster: the control-plane node is tainted ``node-role.kubernetes.io/control-plane``
and runs kube-apiserver, etcd, kube-scheduler and kube-controller-manager as static (mirror) pods in
``kube-system``; kube-proxy is a DaemonSet on every node and CoreDNS a Deployment. The demo adds a
Deployment ``web`` behind a Service and, once StatefulSets exist, a StatefulSet ``sql``.
"""
from __future__ import annotations

from .apiserver import audit
from .apiserver.manifests import parse_manifests
from .apiserver.server import APIServer
from .kubelet.kubelet import KubeletManager
from .network.system import node_internal_ip, system_services

CONTROL_PLANE = "control-plane"
KUBEADM = audit.Identity("kubernetes-admin", audit.SYSTEM_MASTERS, "kubeadm")   # kubeadm init uses admin.conf
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
K8S_VERSION = "v1.32.0"

STATIC_PODS = (
    # (component, image, cpu request, memory request)
    ("etcd", "registry.k8s.io/etcd:3.5.16-0", "100m", "100Mi"),
    ("kube-apiserver", f"registry.k8s.io/kube-apiserver:{K8S_VERSION}", "250m", None),
    ("kube-controller-manager", f"registry.k8s.io/kube-controller-manager:{K8S_VERSION}", "200m", None),
    ("kube-scheduler", f"registry.k8s.io/kube-scheduler:{K8S_VERSION}", "100m", None),
)

SYSTEM_MANIFESTS = f"""
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-proxy
  namespace: kube-system
  labels: {{k8s-app: kube-proxy}}
spec:
  selector: {{matchLabels: {{k8s-app: kube-proxy}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-proxy}}}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      tolerations: [{{operator: Exists}}]
      containers:
      - name: kube-proxy
        image: registry.k8s.io/kube-proxy:{K8S_VERSION}
        command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {{k8s-app: kube-dns}}
spec:
  replicas: 2
  selector: {{matchLabels: {{k8s-app: kube-dns}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxUnavailable: 1}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns}}}}
    spec:
      priorityClassName: system-cluster-critical
      tolerations:
      - {{key: CriticalAddonsOnly, operator: Exists}}
      - {{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}}
      containers:
      - name: coredns
        image: registry.k8s.io/coredns/coredns:v1.11.3
        args: [-conf, /etc/coredns/Corefile]
        resources:
          limits: {{memory: 170Mi}}
          requests: {{cpu: 100m, memory: 70Mi}}
        ports:
        - {{containerPort: 53, name: dns, protocol: UDP}}
        - {{containerPort: 53, name: dns-tcp, protocol: TCP}}
        - {{containerPort: 9153, name: metrics, protocol: TCP}}
        livenessProbe:
          httpGet: {{path: /health, port: 8080}}
          initialDelaySeconds: 60
          timeoutSeconds: 5
          failureThreshold: 5
        readinessProbe:
          httpGet: {{path: /ready, port: 8181}}
"""

# Like kind's: a default class, dynamic provisioning, bound when the first pod is scheduled. The
# simulated provisioner makes network-attached disks (no node affinity), so a StatefulSet pod can move
# to another node after a failure and the Multi-Attach lesson can happen.
STORAGE_MANIFESTS = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubedrill.io/simulated
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
"""

DEMO_MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {app: web}
data:
  GREETING: Hello from Kubedrill
  index.html: <h1>Served by a Kubedrill pod</h1>
---
apiVersion: v1
kind: Secret
metadata:
  name: sql-credentials
  labels: {app: sql}
type: Opaque
stringData:
  POSTGRES_USER: app
  POSTGRES_PASSWORD: s3cr3t-demo-password
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env:
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: web-config, key: GREETING}}
        volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}]
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {memory: 128Mi}
        readinessProbe:
          httpGet: {path: /, port: 80}
          periodSeconds: 2
      volumes:
      - name: html
        configMap: {name: web-config, items: [{key: index.html, path: index.html}]}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
  annotations: {kubedrill.io/traffic-rps: "20"}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: sql, labels: {app: sql}}
spec:
  clusterIP: None
  selector: {app: sql}
  ports: [{name: postgres, port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: sql, labels: {app: sql}}
spec:
  serviceName: sql
  replicas: 3
  selector: {matchLabels: {app: sql}}
  template:
    metadata:
      labels: {app: sql}
      annotations: {kubedrill.io/writes-rows-per-second: "5"}
    spec:
      containers:
      - name: postgres
        image: postgres:16
        ports: [{containerPort: 5432, name: postgres}]
        envFrom: [{secretRef: {name: sql-credentials}}]
        resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 512Mi}}
        readinessProbe: {tcpSocket: {port: 5432}, periodSeconds: 2}
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


def bootstrap_cluster(api: APIServer, manager: KubeletManager, workers: int = 3, demo: bool = True) -> None:
    """Register the nodes, start the system components and (unless ``demo`` is False) the demo apps."""
    mirror_pods = api.as_user(audit.node(CONTROL_PLANE))   # the control plane's kubelet mirrors its static pods
    admin, api = api, api.as_user(KUBEADM)
    manager.add_node(CONTROL_PLANE, cpu="2", memory="4Gi", control_plane=True,
                     labels={"node-role.kubernetes.io/control-plane": "",
                             "node.kubernetes.io/exclude-from-external-load-balancers": ""},
                     taints=[dict(CONTROL_PLANE_TAINT)])
    for i in range(1, workers + 1):
        manager.add_node(f"node-{i}", cpu="4", memory="8Gi")
    for component, image, cpu, memory in STATIC_PODS:
        mirror_pods.create_internal(static_pod(api, component, image, cpu, memory))
    for obj in parse_manifests(SYSTEM_MANIFESTS) + parse_manifests(STORAGE_MANIFESTS):
        api.create_internal(obj)
    control_plane_ip = node_internal_ip(api.get("nodes", None, CONTROL_PLANE))
    for obj in system_services(control_plane_ip):   # default/kubernetes and kube-system/kube-dns
        api.create_internal(obj)
    if demo:
        for obj in parse_manifests(DEMO_MANIFESTS):
            admin.create(obj)


def static_pod(api: APIServer, component: str, image: str, cpu: str, memory: str | None) -> dict:
    """A control-plane static pod as its mirror pod in the API (owned by the Node, like kubeadm's)."""
    node = api.get("nodes", None, CONTROL_PLANE)
    requests = {"cpu": cpu}
    if memory:
        requests["memory"] = memory
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": f"{component}-{CONTROL_PLANE}", "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.mirror": node["metadata"]["uid"],
                            "kubernetes.io/config.source": "file"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": CONTROL_PLANE,
                                 "uid": node["metadata"]["uid"], "controller": True}],
        },
        "spec": {
            "nodeName": CONTROL_PLANE, "hostNetwork": True, "priorityClassName": "system-node-critical",
            "priority": 2000001000,
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "containers": [{"name": component, "image": image, "command": [component],
                            "resources": {"requests": requests}}],
        },
    }

