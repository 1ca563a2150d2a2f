"""Measure validation on the API server's write path for a few typical objects; print one compact table.

Run: ``.venv/bin/python bench/validation_bench.py [--repeat 500]``

For each object (a pod, the DaemonSet, Deployment and Service from ``tests/engine/manifests``): µs per
``schema_causes`` (the OpenAPI type check a client write gets, strict unknown-field check included), per
``registry.default_object`` + ``registry.validate_create`` (the kind's strategy) and per
``registry.validate_update`` of the object over itself. The tests used to assert 200 µs per call; this is
where that number is watched now, without a wall-clock threshold in the test suite.

Timed in CPU time with the cyclic GC paused (as ``timeit`` does): the machine is shared.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from engine.apiserver import registry, resources, schema  # noqa: E402
from engine.objects import clone  # noqa: E402

MANIFESTS = Path(__file__).resolve().parent.parent / "tests" / "engine" / "manifests"

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                                "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}],
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                 "effect": "NoExecute", "tolerationSeconds": 300}]},
       "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def objects() -> list[dict]:
    """Return the pod and the first manifest of each kind in tests/engine/manifests."""
    out, seen = [POD], {"Pod"}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") not in seen and resources.by_kind(
                    doc.get("apiVersion", ""), doc.get("kind", "")) is not None:
                seen.add(doc["kind"])
                out.append(doc)
    return out


def per_call_us(fn, repeat: int) -> float:
    """Return the CPU µs one call of ``fn`` takes (best of 3 runs of ``repeat`` calls)."""
    fn()
    best = float("inf")
    gc.disable()
    try:
        for _ in range(3):
            start = time.process_time()
            for _ in range(repeat):
                fn()
            best = min(best, (time.process_time() - start) / repeat)
    finally:
        gc.enable()
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    print(f"{'object':<34} {'schema µs':>10} {'create µs':>10} {'update µs':>10} {'causes':>7}")
    for doc in objects():
        rt = resources.by_kind(doc["apiVersion"], doc["kind"])
        obj = clone(doc)
        if rt.namespaced:
            obj.setdefault("metadata", {}).setdefault("namespace", "default")
        registry.default_object(rt, obj)
        causes = registry.validate_create(rt, obj)

        def create() -> None:
            fresh = clone(obj)
            registry.default_object(rt, fresh)
            registry.validate_create(rt, fresh)

        schema_us = per_call_us(lambda: schema.schema_causes(rt.api_version, rt.kind, doc, strict=True), args.repeat)
        create_us = per_call_us(create, args.repeat)
        update_us = per_call_us(lambda: registry.validate_update(rt, obj, obj), args.repeat)
        name = f"{rt.kind}/{doc['metadata'].get('name', '')}"
        print(f"{name:<34} {schema_us:>10.1f} {create_us:>10.1f} {update_us:>10.1f} {len(causes):>7}")


if __name__ == "__main__":
    main()
