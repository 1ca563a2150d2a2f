"""Benchmark the dashboard in a real browser: main-thread time per delta batch and frames per second.

Run: ``.venv/bin/python bench/browser_bench.py [--nodes 500] [--pods 5000] [--rate 200] [--duration 20]``.

* **server** (``--role server``, started by this script): the production server
  (``webapp.server.serve``, gunicorn gthread) around a cluster of ``--nodes`` nodes (``empty``
  profile) plus ``--pods`` small bare pods spread over the nodes -- created already bound
  (``spec.nodeName``) through ``api.create_internal``, because scheduling 5,000 replicas through the
  ReplicaSet controller takes minutes (see the report). Once the cluster is built the churn driver
  merge-patches pod annotations at ``--rate`` changes/s through the runtime (real store changes;
  every one reaches the dashboard as a MODIFIED pod) while the engine runs at speed 1.
* **browser**: Playwright + Debian chromium (``/usr/bin/chromium``, the launch args of
  tests/conftest.py), one page at 1600x1000 on ``/``. An init script (the front end exposes no
  performance marks) wraps ``WebSocket.onmessage`` to time each message handler (socket.io decode
  + ``JSON.parse`` + ``state.applyDelta``), wraps ``requestAnimationFrame`` callbacks to time the
  dashboard's renders, counts frames with its own rAF loop, and records long tasks.

Prints: time to first synced render, main-thread ms per delta message (p50/p99), ms per render
(p50/p99), renders/s, frames/s (rAF ticks; 60 is the ceiling), long tasks, main-thread busy %.
Target: >= 30 fps.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--disable-quic", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

INIT_SCRIPT = r"""
(() => {
  const B = window.__bench = { msgs: [], renders: [], ticks: [], longtasks: [], recording: false };
  const now = () => performance.now();
  const NativeWS = window.WebSocket;
  class TimedWebSocket extends NativeWS {
    set onmessage(fn) {
      super.onmessage = (ev) => {
        const t = now();
        fn.call(this, ev);
        if (B.recording && typeof ev.data === "string" && ev.data.startsWith('42/live,["delta"'))
          B.msgs.push([t, now() - t, ev.data.length]);
      };
    }
    get onmessage() { return super.onmessage; }
  }
  window.WebSocket = TimedWebSocket;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf((ts) => {
    const t = now();
    cb(ts);
    if (B.recording) B.renders.push([t, now() - t]);
  });
  const tick = (ts) => { if (B.recording) B.ticks.push(ts); raf(tick); };
  raf(tick);
  try {
    new PerformanceObserver((list) => {
      if (!B.recording) return;
      for (const e of list.getEntries()) B.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: false });
  } catch (e) { B.noLongtask = String(e); }
})();
"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


# ---------------------------------------------------------------------- server role
def build_cluster(runtime, nodes: int, pods: int) -> None:
    """Add ``pods`` small bare pods, bound round-robin to the worker nodes, and let the kubelets start them."""
    def create(cluster):
        names = sorted(n["metadata"]["name"] for n in cluster.store.list("nodes")
                       if "node-role.kubernetes.io/control-plane" not in (n["metadata"].get("labels") or {}))
        for i in range(pods):
            cluster.api.create_internal({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"fleet-{i:05d}", "namespace": "default", "labels": {"app": "fleet"}},
                "spec": {"nodeName": names[i % len(names)],
                         "containers": [{"name": "c", "image": "nginx:1.27",
                                         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}})
    runtime.call(lambda: create(runtime.cluster))
    runtime.advance(10.0)   # kubelets pull and start the containers


def churn_driver(runtime, pods: int, rate: float, go: Path, stop: Path) -> None:
    while not go.exists():
        time.sleep(0.05)
    done = 0
    t0 = time.time()

    def patch_some(n: int, start: int):
        api = runtime.cluster.api
        for k in range(n):
            i = start + k
            api.patch("pods", "default", f"fleet-{(i * 7919) % pods:05d}",
                      {"metadata": {"annotations": {"bench/n": str(i)}}}, "merge")

    while not stop.exists():
        due = int((time.time() - t0) * rate) - done
        if due > 0:
            runtime.call(patch_some, due, done)
            done += due
        time.sleep(0.005)


def run_server(args) -> None:
    from webapp import create_app
    from webapp.server import serve

    work = Path(args.work)

    def build():
        t = time.time()
        app = create_app({"DB_URL": None, "SEED": 1, "NODES": args.nodes, "EMPTY": True, "PAUSED": True})
        runtime = app.extensions["kubedrill"]
        build_cluster(runtime, args.nodes, args.pods)
        runtime.resume()
        (work / "build.json").write_text(json.dumps({"seconds": time.time() - t,
                                                     "objects": sum(1 for _ in runtime.cluster.store.items())}))
        threading.Thread(target=churn_driver, args=(runtime, args.pods, args.rate, work / "go", work / "stop"),
                         daemon=True).start()
        return app

    serve(build, "127.0.0.1", args.port, on_ready=lambda: (work / "server.pid").write_text(str(os.getpid())))


# ---------------------------------------------------------------------- orchestrator
def orchestrate(args) -> None:
    import psutil
    from playwright.sync_api import sync_playwright
    from webapp.server import free_port

    work = Path(tempfile.mkdtemp(prefix="browser-bench-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--role", "server", "--work", str(work),
                               "--port", str(port), "--nodes", str(args.nodes), "--pods", str(args.pods),
                               "--rate", str(args.rate)], cwd=ROOT)
    try:
        deadline = time.time() + args.build_timeout
        while not (work / "server.pid").exists():
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("server did not start (cluster build too slow?)")
            time.sleep(0.2)
        build = json.loads((work / "build.json").read_text())
        print(f"cluster built in {build['seconds']:.1f} s: {build['objects']} objects", flush=True)
        worker = psutil.Process(int((work / "server.pid").read_text()))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(INIT_SCRIPT)
            t0 = time.time()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.body.dataset.synced === '1'", timeout=120_000)
            first_sync = time.time() - t0
            (work / "go").touch()
            time.sleep(args.warmup)
            cdp = None
            if args.profile:
                cdp = page.context.new_cdp_session(page)
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 500})
                cdp.send("Profiler.start")
            page.evaluate("window.__bench.recording = true")
            cpu0 = worker.cpu_times()
            w0 = time.time()
            time.sleep(args.duration)
            data = page.evaluate("(() => { const B = window.__bench; B.recording = false; return B; })()")
            w1 = time.time()
            cpu1 = worker.cpu_times()
            profile = cdp.send("Profiler.stop")["profile"] if cdp is not None else None
            pods_seen = page.evaluate("window.kubedrill.state.list ? window.kubedrill.state.list('pods').length : null")
            browser.close()
    finally:
        (work / "stop").touch()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()

    span = w1 - w0
    msgs, renders, ticks, longtasks = data["msgs"], data["renders"], data["ticks"], data["longtasks"]
    msg_ms = [m[1] for m in msgs]
    render_ms = [r[1] for r in renders]
    busy = sum(msg_ms) + sum(render_ms)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    fps = (len(ticks) - 1) / ((ticks[-1] - ticks[0]) / 1000) if len(ticks) > 1 else 0.0
    print()
    print(f"server: gunicorn gthread (webapp.server.serve); cluster: {args.nodes} nodes, {args.pods} pods; "
          f"churn {args.rate:.0f} pod patches/s; browser: chromium headless 1600x1000")
    print(f"{'metric':44} {'value':>12}")
    rows = [
        ("page load -> first synced render (s)", f"{first_sync:.1f}"),
        ("pods in the page's store", f"{pods_seen}"),
        ("delta messages/s", f"{len(msgs) / span:.1f}"),
        ("bytes per delta message (median)", f"{statistics.median([m[2] for m in msgs]):.0f}" if msgs else "n/a"),
        ("main-thread ms per delta message p50", f"{statistics.median(msg_ms):.2f}" if msg_ms else "n/a"),
        ("main-thread ms per delta message p99", f"{pct(msg_ms, 99):.2f}"),
        ("ms per rAF callback (render) p50", f"{statistics.median(render_ms):.2f}" if render_ms else "n/a"),
        ("ms per rAF callback (render) p99", f"{pct(render_ms, 99):.2f}"),
        ("rAF callbacks/s (renders)", f"{len(renders) / span:.1f}"),
        ("frames/s (rAF ticks)", f"{fps:.1f}"),
        ("frame gap p99 (ms)", f"{pct(gaps, 99):.1f}"),
        ("long tasks (>50 ms) / total ms", f"{len(longtasks)} / {sum(d for _, d in longtasks):.0f}"),
        ("main thread busy in messages+renders (%)", f"{busy / (span * 1000) * 100:.0f}"),
        ("server CPU (% of one core)", f"{(cpu1.user + cpu1.system - cpu0.user - cpu0.system) / span * 100:.0f}"),
    ]
    for name, value in rows:
        print(f"{name:44} {value:>12}")
    if profile is not None:
        print_profile(profile, span)


def print_profile(profile: dict, span: float, top: int = 20) -> None:
    """Self time per JS function (CDP sampling profile), heaviest first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile.get("timeDeltas") or []
    self_us: dict[tuple, float] = {}
    for sample, dt in zip(profile.get("samples") or [], deltas):
        frame = nodes[sample]["callFrame"]
        key = (frame["functionName"] or "(anonymous)", frame["url"].rsplit("/", 1)[-1], frame["lineNumber"] + 1)
        self_us[key] = self_us.get(key, 0.0) + dt
    print()
    print(f"main-thread CPU profile, self time over {span:.0f} s (top {top}):")
    print(f"{'function':36} {'file:line':30} {'ms':>8} {'%':>6}")
    for (fn, url, line), us in sorted(self_us.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{fn[:36]:36} {(url + ':' + str(line))[:30]:30} {us / 1000:>8.0f} {us / 10 / span / 1000:>6.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("orchestrator", "server"), default="orchestrator")
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=200, help="pod patches per second")
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--build-timeout", type=float, default=600)
    ap.add_argument("--profile", action="store_true", help="also print a CDP CPU profile of the page")
    ap.add_argument("--work")
    ap.add_argument("--port", type=int)
    args = ap.parse_args()
    if args.role == "server":
        run_server(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
