"""Helpers for the Kubernetes HTTP API tests: a live app on a loopback port and a real kubectl.

``api_server`` runs one app per test module (Werkzeug threaded server, engine thread on, fast
simulated time); ``kubectl`` runs the real kubectl with an isolated KUBECONFIG/KUBECACHEDIR.
When ``CI`` is set and kubectl is missing the kubectl tests FAIL instead of skipping.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from webapp import create_app
from webapp.kube_api import kubeconfig

KUBECTL = shutil.which("kubectl")


@dataclass
class LiveServer:
    url: str
    app: Any
    kubeconfig: Path
    cache_dir: Path

    @property
    def runtime(self):
        return self.app.extensions["kubedrill"]

    def call(self, fn, *args):
        """Run ``fn(cluster, *args)`` under the runtime lock."""
        rt = self.runtime
        return rt.call(lambda: fn(rt.cluster, *args))

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kw)

    def wait_until(self, predicate, timeout: float = 30.0, what: str = "condition"):
        """Poll ``predicate(cluster)`` under the lock until truthy (wall time; the engine thread runs)."""
        end = time.monotonic() + timeout
        while True:
            value = self.call(predicate)
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


def start_server(tmp: Path, **config: Any) -> tuple[LiveServer, Any]:
    cfg = {"TESTING": True, "DB_URL": None, "SEED": 7, "SPEED": 20.0, "NODES": 3, "START_THREADS": True}
    cfg.update(config)
    app = create_app(cfg)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    kc = tmp / "kubeconfig"
    kc.write_text(kubeconfig.render(url))
    return LiveServer(url, app, kc, tmp / "kubecache"), server


def stop_server(live: LiveServer, server) -> None:
    server.shutdown()
    try:
        from webapp import shutdown_app
        shutdown_app(live.app)
    except Exception:  # noqa: BLE001 - best effort teardown
        live.runtime.stop()


@dataclass
class KubectlResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Kubectl:
    """Run the real kubectl against the live server with an isolated config and cache."""

    def __init__(self, live: LiveServer, namespace: str = "default"):
        self.live = live
        self.namespace = namespace

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60, ns: bool = True,
                 check: bool = False) -> KubectlResult:
        env = dict(os.environ, KUBECONFIG=str(self.live.kubeconfig), KUBECACHEDIR=str(self.live.cache_dir),
                   HOME=str(self.live.cache_dir.parent))
        cmd = [KUBECTL, *args]
        if ns and self.namespace and "-A" not in args and "--all-namespaces" not in args:
            # Flags after "--" belong to the container command (exec), so the namespace goes before it.
            cut = cmd.index("--") if "--" in cmd else len(cmd)
            cmd[cut:cut] = ["-n", self.namespace]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, env=env)
        res = KubectlResult(proc.returncode, proc.stdout, proc.stderr)
        if check and res.code != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({res.code}):\n{res.out}\n{res.err}")
        return res

    def ok(self, *args: str, **kw) -> str:
        return self(*args, check=True, **kw).out


def need_kubectl() -> None:
    if KUBECTL is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not on PATH (required when CI is set)")
        pytest.skip("kubectl is not installed")
