"""Benchmark a classroom: N students, each on their own cluster, acting; an instructor grid; a viewer.

Run: ``.venv/bin/python bench/classroom_bench.py [--students 100] [--seconds 300] [--procs 2]``
(issue #13 point 9; targets at N = 100 for 300 s: student commit-to-delta p99 <= 100 ms,
instructor tile p99 <= 1 s, server RSS <= 1.5 GB, no lost or duplicated delta).

The same family as bench/live_bench.py (its helpers are imported), in three roles of this file
(the script re-runs itself with ``--role``):

* **server** -- ``webapp.server.serve`` (gunicorn, one gthread worker) around ``create_app`` with
  ``START_THREADS`` on (the hub's one engine thread and one live thread), speed 1, and a SQLite
  database file in the run's temp directory, so every commit of every cluster really goes to disk.
  Inside the worker, before it serves, the N student clusters are made from the demo template with
  ``hub.create(f"student-{i:03d}", owner=f"student {i}")`` (the hub call behind ``POST /class/join``,
  without the class-mode tokens, which are not what is measured; no class store = no class mode,
  so every connection is admin). ``MAX_CLUSTERS`` is N; ``IDLE_SECONDS`` keeps its default (600 s),
  and a watched cluster is never evicted anyway. Commit stamps: ``Runtime.call`` is wrapped so
  that, under the cluster's lock, right after the action's function returns, the revisions it
  committed ``(before, after]`` are stamped with the wall time (``time.time()``) by cluster and
  generation. Every socket action goes ``LiveNamespace.on_action`` -> ``webapp.control.dispatch``
  -> ``runtime.call``; nothing else in this run calls ``runtime.call`` (no HTTP API traffic), so
  the stamps are exactly the students' own changes. The worker also counts engine ticks and live
  passes (how long each took), and ``--profile`` runs cProfile in the engine and live threads.
* **students** -- ``--procs`` processes, the N students split between them, each a python-socketio
  ``AsyncClient`` (WebSocket, orjson codec as the server's) on one asyncio loop, connected with
  ``auth={"cluster": "student-NNN"}`` and subscribed from a snapshot. From the snapshot and its
  deltas each keeps the live (not terminating) pods of the ``web`` Deployment (label ``app=web``,
  namespace ``default``). From the common start time t0 student i kills one of them every 5 s
  (action ``pod.delete``, first at t0 + 5 i / N) and applies a small ConfigMap every 30 s (action
  ``apply``, first at t0 + 30 i / N): the starts are spread evenly. Each delta's receipt time is
  recorded with its ``(generation, from_rv, to_rv)``, and the chain is checked: per generation,
  ``from_rv`` must equal the previous ``to_rv`` (greater: a lost delta; smaller: a duplicated or
  overlapping one). A ``resync`` is counted on its own and restarts the chain at its snapshot.
* **observers** -- one process with the instructor's grid (``auth={"grid": True}``, ``tiles``
  events; for every tile whose ``last_action.wall`` changed, receipt time - that wall time) and a
  viewer on the demo cluster (subscribed to ``demo``, chain checked like the students').

The **orchestrator** (default role) starts the server, then the observers and the students, waits
until all are subscribed, writes t0 (1 s ahead), samples the server worker's RSS (with its
children) and CPU once a second, stops the actions after ``--seconds``, waits ``--drain`` seconds
for the last deltas, and joins: a student change's latency is the receipt time of the delta whose
``(from_rv, to_rv]`` holds its rv at its own cluster's client, minus its commit stamp. A stamped rv
no delta brought is *unreceived* (reported; it would be a loss the chain check cannot see).

Prints a summary, and as the LAST line one JSON object: ``{"students", "student_p50_ms",
"student_p99_ms", "instructor_p99_ms", "rss_mib", "lost", "duplicated", "resyncs", ...}``.
Client processes share the 2 cores with the server, which inflates the latencies a little.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.live_bench import NS, pct as _pct, stop_all  # noqa: E402

KILL_EVERY = 5.0
APPLY_EVERY = 30.0
WAVE = 10   # clients connect ten at a time: the server has the same 2 cores


def pct(values: list[float], p: float) -> float | None:
    return _pct(values, p) if values else None


def student_id(i: int) -> str:
    return f"student-{i:03d}"


def configmap_yaml(i: int, k: int) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-note\n  namespace: default\n"
            f"data:\n  student: \"{i}\"\n  round: \"{k}\"\n")


# ---------------------------------------------------------------------- server role
def timed(method, durations: array, then=None):
    """``method`` wrapped to append each call's duration (s) to ``durations``, then call ``then(self)``."""
    def run(self, *a, **kw):
        t = time.perf_counter()
        try:
            return method(self, *a, **kw)
        finally:
            durations.append(time.perf_counter() - t)
            if then is not None:
                then(self)
    return run


def build_app(args):
    from webapp import create_app
    from webapp.hub import Hub
    from webapp.live import Broadcaster
    from webapp.runtime import Runtime

    work = Path(args.work)
    # [cluster, generation, before, after, commit wall, durable wall (ack sent), wall the delta went to Socket.IO]
    stamps: list[list] = []
    unsent: dict[str, list[list]] = defaultdict(list)   # cluster -> its stamps no delta has carried yet
    gc_pauses: list[tuple[float, int, float]] = []       # (wall at start, generation, seconds)
    ticks = array("d")     # engine: duration of each cluster's tick_wall (s)
    tick_counts: Counter = Counter()
    passes = array("d")    # live thread: duration of each hub.pump pass (s)
    max_lag = [0.0]

    plain_install = Hub._install

    def install(self, cid, runtime):
        runtime.bench_cid = cid
        return plain_install(self, cid, runtime)

    Hub._install = install

    plain_call = Runtime.call

    def call(self, fn, *a, **kw):
        cid = getattr(self, "bench_cid", None)
        if cid is None or cid == "demo":
            return plain_call(self, fn, *a, **kw)

        mine: list = []

        def stamped(*a, **kw):
            before = self.cluster.store.revision   # under self.lock (Runtime.call holds it)
            try:
                return fn(*a, **kw)
            finally:
                after = self.cluster.store.revision
                if after > before:
                    mine.append([cid, self.generation, before, after, time.time(), None, None])
                    unsent[cid].append(mine[0])
        try:
            return plain_call(self, stamped, *a, **kw)
        finally:
            if mine:
                mine[0][5] = time.time()
                stamps.append(mine[0])

    Runtime.call = call

    def note_tick(runtime):
        tick_counts[getattr(runtime, "bench_cid", "?")] += 1
        max_lag[0] = max(max_lag[0], runtime.lag)

    Runtime.tick_wall = timed(Runtime.tick_wall, ticks, note_tick)

    plain_emit = Broadcaster._emit_pending

    def emit_pending(self, pending, clock, skip=None):
        cid = getattr(self.runtime, "bench_cid", None)
        if pending is not None and pending[0] == "delta" and unsent.get(cid):
            t, head = time.time(), pending[1]["to_rv"]
            waiting = unsent[cid]
            for st in [st for st in waiting if st[3] <= head]:
                st[6] = t
                waiting.remove(st)
        return plain_emit(self, pending, clock, skip)

    Broadcaster._emit_pending = emit_pending

    gc_started = [0.0, 0.0]

    def on_gc(phase, info):
        if phase == "start":
            gc_started[:] = [time.time(), time.perf_counter()]
        else:
            gc_pauses.append((gc_started[0], info["generation"], time.perf_counter() - gc_started[1]))

    import gc
    gc.callbacks.append(on_gc)
    Hub.pump = timed(Hub.pump, passes)

    if args.profile:
        import cProfile

        def profiled(loop, name):
            def run(self):
                prof = cProfile.Profile()
                prof.enable()
                try:
                    loop(self)
                finally:
                    prof.disable()
                    prof.dump_stats(str(work / f"profile-{name}.pstats"))
            return run

        Hub._engine_loop = profiled(Hub._engine_loop, "engine")
        Hub._live_loop = profiled(Hub._live_loop, "live")

    config = {"DB_URL": f"sqlite:///{work / 'kubedrill.db'}", "SEED": 1, "NODES": 3, "SPEED": 1.0,
              "START_THREADS": True, "MAX_CLUSTERS": max(args.students, 1)}
    app = create_app(config)
    hub = app.extensions["kubedrill.hub"]
    t = time.time()
    for i in range(args.students):
        hub.create(student_id(i), owner=f"student {i}")
    created = time.time() - t

    def dump():
        while not (work / "stop").exists():
            time.sleep(0.1)
        tick_list = ticks.tolist()
        pauses = list(gc_pauses)
        out = {"stamps": stamps, "created_s": created,
               "gc": {str(g): {"n": sum(1 for p in pauses if p[1] == g), "sum": sum(p[2] for p in pauses if p[1] == g),
                               "max": max((p[2] for p in pauses if p[1] == g), default=0.0)} for g in (0, 1, 2)},
               "gc2": [p for p in pauses if p[1] == 2],
               "ticks": {"n": len(tick_list), "sum": sum(tick_list),
                         "p50": pct(tick_list, 50), "p99": pct(tick_list, 99), "max": max(tick_list, default=0)},
               "ticks_per_cluster": dict(tick_counts), "max_lag": max_lag[0],
               "passes": {"n": len(passes), "sum": sum(passes), "p50": pct(passes.tolist(), 50),
                          "p99": pct(passes.tolist(), 99), "max": max(passes, default=0)},
               "lag_resyncs": sum(b.resyncs_for_lag for b in list(hub._broadcasters.values())),
               "evictions": hub.evictions}
        tmp = work / "server.json.tmp"
        tmp.write_text(json.dumps(out))
        tmp.rename(work / "server.json")

    threading.Thread(target=dump, daemon=True, name="bench-dump").start()
    return app


def run_server(args) -> None:
    from webapp.server import serve

    work = Path(args.work)

    def ready():
        (work / "server.pid").write_text(str(os.getpid()))

    serve(lambda: build_app(args), "127.0.0.1", args.port, on_ready=ready)


# ---------------------------------------------------------------------- client side
class Chain:
    """One live client's view of its stream: the from_rv/to_rv chain per generation, and its receipts."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self.last: int | None = None
        self.lost = self.duplicated = self.resyncs = self.foreign = 0
        self.deltas: list[tuple[int, int, int, float]] = []   # (generation, from_rv, to_rv, receipt wall)

    def snapshot(self, data: dict) -> None:
        self.generation, self.last = data["generation"], data["revision"]

    def delta(self, data: dict, now: float) -> None:
        gen, lo, hi = data["generation"], data["from_rv"], data["to_rv"]
        self.deltas.append((gen, lo, hi, now))
        if self.last is None or gen != self.generation:
            self.foreign += 1      # a delta before a snapshot, or of another generation: never expected
            return
        if lo > self.last:
            self.lost += 1
        elif lo < self.last:
            self.duplicated += 1
        self.last = max(self.last, hi)

    def resync(self) -> None:
        self.resyncs += 1
        self.last = None           # the snapshot that follows restarts the chain

    def summary(self) -> dict[str, Any]:
        return {"lost": self.lost, "duplicated": self.duplicated, "resyncs": self.resyncs,
                "foreign": self.foreign, "deltas": self.deltas}


def _is_web_pod(obj: dict) -> bool:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") == "default" and (meta.get("labels") or {}).get("app") == "web"
            and not meta.get("deletionTimestamp"))


async def _connect(url: str, auth: dict, chain: Chain | None, handlers: dict, disconnects: list):
    import socketio

    from webapp.live import SocketJSON

    sio = socketio.AsyncClient(reconnection=False, json=SocketJSON)
    if chain is not None:
        sio.on("snapshot", handlers.get("snapshot", chain.snapshot), namespace=NS)
        sio.on("delta", handlers.get("delta", lambda d: chain.delta(d, time.time())), namespace=NS)
        sio.on("resync", lambda d: chain.resync(), namespace=NS)
    for event, fn in handlers.items():
        if event not in ("snapshot", "delta"):
            sio.on(event, fn, namespace=NS)
    sio.on("disconnect", lambda *reason: disconnects.append([auth, [str(r) for r in reason]]), namespace=NS)
    await sio.connect(url, transports=["websocket"], namespaces=[NS], auth=auth, wait_timeout=60)
    if chain is not None:
        ack = await sio.call("subscribe", {"since": None}, namespace=NS, timeout=60)
        assert ack.get("ok"), ack
    return sio


async def _wait_for(path: Path) -> None:
    while not path.exists():
        await asyncio.sleep(0.05)


async def run_students_async(args) -> None:
    work = Path(args.work)
    url = f"http://127.0.0.1:{args.port}"
    disconnects: list = []
    results: dict[str, Any] = {}
    acks: list[tuple[str, float, float, bool]] = []   # (type, sent wall, ack latency s, ok)
    errors: Counter = Counter()
    skipped = [0]

    async def one(i: int):
        cid = student_id(i)
        chain = Chain()
        pods: dict[str, dict] = {}

        def on_snapshot(data):
            chain.snapshot(data)
            pods.clear()
            for item in data["objects"]:
                if item["resource"] == "pods" and _is_web_pod(item["object"]):
                    pods[item["object"]["metadata"]["name"]] = item["object"]

        def on_delta(data):
            chain.delta(data, time.time())
            for ch in data["changes"]:
                if ch["resource"] != "pods":
                    continue
                name = (ch["object"].get("metadata") or {}).get("name")
                if ch["type"] != "DELETED" and _is_web_pod(ch["object"]):
                    pods[name] = ch["object"]
                else:
                    pods.pop(name, None)

        sio = await _connect(url, {"cluster": cid}, chain, {"snapshot": on_snapshot, "delta": on_delta},
                             disconnects)
        results[cid] = chain
        return i, sio, pods

    async def act(sio, kind: str, args_: dict) -> None:
        sent = time.time()
        try:
            ack = await sio.call("action", {"type": kind, "args": args_}, namespace=NS, timeout=30)
        except Exception as exc:   # a timeout or a dropped connection
            errors[f"{kind}: {type(exc).__name__}"] += 1
            acks.append((kind, sent, time.time() - sent, False))
            return
        ok = bool(ack.get("ok"))
        if not ok:
            errors[f"{kind}: {(ack.get('error') or {}).get('reason', '?')}"] += 1
        acks.append((kind, sent, time.time() - sent, ok))

    async def killer(i: int, sio, pods: dict, t0: float, end: float) -> None:
        rng = random.Random(i)
        k = 0
        while (at := t0 + KILL_EVERY * i / args.students + KILL_EVERY * k) < end:
            await asyncio.sleep(max(0.0, at - time.time()))
            k += 1
            if not pods:
                skipped[0] += 1
                continue
            name = rng.choice(sorted(pods))
            pods.pop(name, None)   # not twice, whatever the delta says meanwhile
            await act(sio, "pod.delete", {"namespace": "default", "name": name})

    async def applier(i: int, sio, t0: float, end: float) -> None:
        k = 0
        while (at := t0 + APPLY_EVERY * i / args.students + APPLY_EVERY * k) < end:
            await asyncio.sleep(max(0.0, at - time.time()))
            await act(sio, "apply", {"yaml": configmap_yaml(i, k)})
            k += 1

    clients = []
    ids = list(range(args.first, args.first + args.count))
    for start in range(0, len(ids), WAVE):
        clients += await asyncio.gather(*(one(i) for i in ids[start:start + WAVE]))
    print("ready", flush=True)
    await _wait_for(work / "go")
    t0 = float((work / "go").read_text())
    end = t0 + args.seconds
    await asyncio.gather(*(killer(i, sio, pods, t0, end) for i, sio, pods in clients),
                         *(applier(i, sio, t0, end) for i, sio, _ in clients))
    await _wait_for(work / "stop")
    out = {"clusters": {cid: c.summary() for cid, c in results.items()}, "acks": acks, "errors": dict(errors),
           "skipped": skipped[0], "disconnects": disconnects}
    (work / f"students-{args.first}.json").write_text(json.dumps(out))
    os._exit(0)   # no polite disconnects: each may wait for a close frame


async def run_observers_async(args) -> None:
    work = Path(args.work)
    url = f"http://127.0.0.1:{args.port}"
    disconnects: list = []
    seen: dict[str, float | None] = {}
    samples: list[tuple[str, float, float]] = []   # (cluster, last_action.wall, receipt wall)
    tile_events = [0, 0]   # events, tiles

    def on_tiles(data):
        now = time.time()
        tile_events[0] += 1
        tile_events[1] += len(data["tiles"])
        for tile in data["tiles"]:
            wall = (tile.get("last_action") or {}).get("wall")
            cid = tile["cluster"]
            if wall is not None and cid in seen and wall != seen[cid] and not data.get("full"):
                samples.append((cid, wall, now))
            seen[cid] = wall

    await _connect(url, {"grid": True}, None, {"tiles": on_tiles}, disconnects)
    viewer = Chain()
    await _connect(url, {"cluster": "demo"}, viewer, {}, disconnects)
    print("ready", flush=True)
    await _wait_for(work / "stop")
    out = {"tiles": samples, "tile_events": tile_events, "viewer": viewer.summary(), "disconnects": disconnects}
    (work / "observers.json").write_text(json.dumps(out))
    os._exit(0)


# ---------------------------------------------------------------------- orchestrator
def _tree(proc):
    import psutil
    try:
        return [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return [proc]


def _rss(proc) -> int:
    total = 0
    for p in _tree(proc):
        try:
            total += p.memory_info().rss
        except Exception:
            pass
    return total


def _cpu(proc) -> float:
    total = 0.0
    for p in _tree(proc):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except Exception:
            pass
    return total


def orchestrate(args) -> dict[str, Any]:
    import psutil
    from webapp.server import free_port

    work = Path(tempfile.mkdtemp(prefix="classroom-bench-"))
    port = free_port()
    me = [sys.executable, os.path.abspath(__file__), "--work", str(work), "--port", str(port),
          "--students", str(args.students), "--seconds", str(args.seconds)]
    server = subprocess.Popen(me + ["--role", "server"] + (["--profile"] if args.profile else []), cwd=ROOT)
    procs: list[subprocess.Popen] = []
    samples: list[tuple[float, int, float]] = []   # (wall, rss bytes, cpu seconds)
    t_boot = time.time()
    try:
        deadline = time.time() + 300
        while not (work / "server.pid").exists():
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        worker = psutil.Process(int((work / "server.pid").read_text()))
        boot_s = time.time() - t_boot
        rss_idle = _rss(worker)
        procs.append(subprocess.Popen(me + ["--role", "observers"], cwd=ROOT, stdout=subprocess.PIPE, text=True))
        per = [args.students // args.procs + (1 if i < args.students % args.procs else 0) for i in range(args.procs)]
        first = 0
        for n in per:
            if n:
                procs.append(subprocess.Popen(me + ["--role", "students", "--first", str(first), "--count", str(n)],
                                              cwd=ROOT, stdout=subprocess.PIPE, text=True))
            first += n
        for p in procs:
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"a client process failed to connect (exit {p.poll()})")
        rss_connected = _rss(worker)
        t0 = time.time() + 1.0
        (work / "go").write_text(repr(t0))
        print(f"{args.students} students, the grid and a viewer connected (server up in {boot_s:.1f} s, "
              f"RSS {rss_connected / 2**20:.0f} MiB); acting for {args.seconds:.0f} s", flush=True)
        cpu_go = None
        end = t0 + args.seconds
        next_report = t0 + 60
        while time.time() < end + args.drain:
            now = time.time()
            sample = (now, _rss(worker), _cpu(worker))
            samples.append(sample)
            if cpu_go is None and now >= t0:
                cpu_go = sample
            if now >= next_report and now < end:
                recent = [s for s in samples if s[0] >= now - 60]
                cpu_pct = (recent[-1][2] - recent[0][2]) / max(1e-9, recent[-1][0] - recent[0][0]) * 100
                print(f"  t={now - t0:4.0f} s  RSS {sample[1] / 2**20:.0f} MiB  CPU {cpu_pct:.0f} % (last minute)",
                      flush=True)
                next_report += 60
            if server.poll() is not None:
                raise SystemExit("the server died during the run")
            time.sleep(1.0)
        cpu_end = next(s for s in reversed(samples) if s[0] <= end + 0.5) if samples else None
        cpu_clients = [_cpu(psutil.Process(p.pid)) for p in procs]
        (work / "stop").touch()
        for p in procs:
            p.wait(120)
        deadline = time.time() + 60
        while not (work / "server.json").exists() and time.time() < deadline:
            time.sleep(0.1)
    finally:
        stop_all(work, server, procs, timeout=30)   # saving 100 clusters takes a while

    srv = json.loads((work / "server.json").read_text())
    obs = json.loads((work / "observers.json").read_text())
    students: dict[str, dict] = {}
    acks: list = []
    errors: Counter = Counter()
    skipped = 0
    disconnects = list(obs["disconnects"])
    for path in sorted(work.glob("students-*.json")):
        data = json.loads(path.read_text())
        students.update(data["clusters"])
        acks += data["acks"]
        errors.update(data["errors"])
        skipped += data["skipped"]
        disconnects += data["disconnects"]

    # Join: every stamped rv with the first delta of its own cluster's client that covers it.
    lat: list[float] = []
    unreceived = 0
    per_cluster_p99: dict[str, float] = {}
    received: dict[tuple[str, int], list] = defaultdict(list)
    for cid, chain in students.items():
        for gen, lo, hi, t in chain["deltas"]:
            received[(cid, gen)].append((hi, lo, t))
    for key in received:
        received[key].sort()
    his = {key: [d[0] for d in deltas] for key, deltas in received.items()}
    mine: dict[str, list[float]] = defaultdict(list)
    to_durable: list[float] = []   # commit -> the action's commit to SQLite done (its ack goes out)
    to_emit: list[float] = []      # commit -> the live thread hands the delta to Socket.IO
    to_receipt: list[float] = []   # that hand-over -> receipt at the client
    slow: list[tuple[float, float]] = []   # (commit, receipt) of the changes over 100 ms
    for cid, gen, before, after, wall, durable, emitted in srv["stamps"]:
        deltas = received.get((cid, gen), [])
        keys = his.get((cid, gen), [])
        to_durable.append((durable - wall) * 1000)
        for rv in range(before + 1, after + 1):
            j = bisect.bisect_left(keys, rv)
            if j < len(deltas) and deltas[j][1] < rv:
                ms = (deltas[j][2] - wall) * 1000
                lat.append(ms)
                mine[cid].append(ms)
                if ms > 100:
                    slow.append((wall, deltas[j][2]))
                if rv == after and emitted is not None:
                    to_emit.append((emitted - wall) * 1000)
                    to_receipt.append((deltas[j][2] - emitted) * 1000)
            else:
                unreceived += 1
    gc2 = srv["gc2"]
    slow_in_gc = sum(1 for a, b in slow if any(start <= b and start + d >= a for start, _, d in gc2))
    for cid, values in mine.items():
        per_cluster_p99[cid] = pct(values, 99)
    tile_lat = [(t - wall) * 1000 for _, wall, t in obs["tiles"]]
    chains = list(students.values()) + [obs["viewer"]]
    lost = sum(c["lost"] for c in chains)
    duplicated = sum(c["duplicated"] for c in chains)
    resyncs = sum(c["resyncs"] for c in chains)
    foreign = sum(c["foreign"] for c in chains)
    window = [s for s in samples if t0 <= s[0] <= end + 0.5]
    rss_max = max((s[1] for s in samples), default=0) / 2**20
    cpu_pct = ((cpu_end[2] - cpu_go[2]) / max(1e-9, cpu_end[0] - cpu_go[0]) * 100) if cpu_go and cpu_end else None
    ack_ms = [a[2] * 1000 for a in acks]
    kinds = Counter(a[0] for a in acks)
    ok = sum(1 for a in acks if a[3])
    ticks, passes = srv["ticks"], srv["passes"]
    clusters = args.students + 1
    worst = sorted(per_cluster_p99.items(), key=lambda kv: -kv[1])[:3]

    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1f}"

    print()
    print(f"server: gunicorn (webapp.server.serve), hub with {clusters} clusters ({args.students} students + demo), "
          f"SQLite file, speed 1; students made in {srv['created_s']:.1f} s")
    print(f"clients: {args.students} students in {args.procs} processes + grid and viewer in one; "
          f"actions: pod.delete every {KILL_EVERY:g} s, apply every {APPLY_EVERY:g} s, for {args.seconds:.0f} s")
    print()
    rows = [
        ("student commit->delta p50 (ms)", ms(pct(lat, 50))),
        ("student commit->delta p99 (ms)", ms(pct(lat, 99))),
        ("student commit->delta max (ms)", ms(max(lat) if lat else None)),
        ("student changes measured", f"{len(lat)}"),
        ("  commit->ack ready p50 / p99 (ms)", f"{ms(pct(to_durable, 50))} / {ms(pct(to_durable, 99))}"),
        ("  commit->room emit p50 / p99 (ms)", f"{ms(pct(to_emit, 50))} / {ms(pct(to_emit, 99))}"),
        ("  room emit->receipt p50 / p99 (ms)", f"{ms(pct(to_receipt, 50))} / {ms(pct(to_receipt, 99))}"),
        ("  changes over 100 ms / during a full GC", f"{len(slow)} / {slow_in_gc}"),
        ("  worst clusters' p99 (ms)", ", ".join(f"{c} {v:.0f}" for c, v in worst) or "n/a"),
        ("instructor tile p50 / p99 / max (ms)", f"{ms(pct(tile_lat, 50))} / {ms(pct(tile_lat, 99))} / "
                                                  f"{ms(max(tile_lat) if tile_lat else None)}"),
        ("instructor tile updates measured", f"{len(tile_lat)} (of {obs['tile_events'][1]} tiles in "
                                              f"{obs['tile_events'][0]} events)"),
        ("actions sent / ok", f"{len(acks)} / {ok} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})"),
        ("action errors", ", ".join(f"{k} x{v}" for k, v in errors.most_common()) or "none"),
        ("kills skipped (no live web pod)", f"{skipped}"),
        ("action ack p50 / p99 (ms)", f"{ms(pct(ack_ms, 50))} / {ms(pct(ack_ms, 99))}"),
        ("lost deltas (chain gaps)", f"{lost}"),
        ("duplicated deltas (chain overlaps)", f"{duplicated}"),
        ("resyncs", f"{resyncs} (of which the server made {srv['lag_resyncs']} for slow clients)"),
        ("stamped changes no delta brought", f"{unreceived}"),
        ("deltas outside a chain", f"{foreign}"),
        ("disconnects", f"{len(disconnects)}"),
        ("server RSS idle / connected / max (MiB)", f"{rss_idle / 2**20:.0f} / {rss_connected / 2**20:.0f} / "
                                                     f"{rss_max:.0f}"),
        ("server CPU (% of one core)", ms(cpu_pct)),
        ("client processes CPU (% of one core)", f"{sum(cpu_clients) / max(1e-9, time.time() - t_boot) * 100:.0f}"
                                                 " (whole run, approx.)"),
        ("engine ticks per cluster per s", f"{ticks['n'] / clusters / max(1e-9, srv_elapsed(samples)):.1f} "
                                           "(paced at 20)"),
        ("engine tick p50 / p99 / max (ms)", f"{ticks['p50'] * 1000:.2f} / {ticks['p99'] * 1000:.2f} / "
                                             f"{ticks['max'] * 1000:.1f}" if ticks["n"] else "n/a"),
        ("engine thread busy (% of wall)", f"{ticks['sum'] / max(1e-9, srv_elapsed(samples)) * 100:.0f}"),
        ("engine max lag (s)", f"{srv['max_lag']:.2f}"),
        ("live pass p50 / p99 / max (ms)", f"{passes['p50'] * 1000:.2f} / {passes['p99'] * 1000:.2f} / "
                                           f"{passes['max'] * 1000:.1f}" if passes["n"] else "n/a"),
        ("live thread busy (% of wall)", f"{passes['sum'] / max(1e-9, srv_elapsed(samples)) * 100:.0f}"),
        ("evictions", f"{srv['evictions']}"),
        ("GC pauses gen0 / gen1 / gen2 (n, max ms)", " / ".join(
            f"{srv['gc'][g]['n']}, {srv['gc'][g]['max'] * 1000:.0f}" for g in ("0", "1", "2"))),
        ("GC time (% of wall)", f"{sum(v['sum'] for v in srv['gc'].values()) / max(1e-9, srv_elapsed(samples)) * 100:.1f}"),
    ]
    for name, value in rows:
        print(f"{name:42} {value}")
    if args.profile:
        print(f"profiles: {work}/profile-engine.pstats, {work}/profile-live.pstats")
    result = {"students": args.students, "student_p50_ms": _round(pct(lat, 50)), "student_p99_ms": _round(pct(lat, 99)),
              "instructor_p99_ms": _round(pct(tile_lat, 99)), "rss_mib": round(rss_max, 1), "lost": lost,
              "duplicated": duplicated, "resyncs": resyncs, "unreceived": unreceived,
              "student_max_ms": _round(max(lat) if lat else None), "instructor_p50_ms": _round(pct(tile_lat, 50)),
              "server_cpu": _round(cpu_pct), "seconds": args.seconds, "samples": len(lat),
              "tile_samples": len(tile_lat), "actions": len(acks), "action_errors": sum(errors.values()),
              "disconnects": len(disconnects), "window_s": round(window[-1][0] - window[0][0], 1) if window else 0}
    print(json.dumps(result))
    return result


def srv_elapsed(samples: list) -> float:
    """Wall seconds the server was sampled (the engine's and live thread's counters cover about as long)."""
    return samples[-1][0] - samples[0][0] if len(samples) > 1 else 1.0


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=("orchestrator", "server", "students", "observers"), default="orchestrator")
    ap.add_argument("--students", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=300)
    # As bench/live_bench.py: one client process per core; more only add scheduling on the server's cores.
    ap.add_argument("--procs", type=int, default=2, help="processes for the student clients (default 2)")
    ap.add_argument("--drain", type=float, default=3.0,
                    help="seconds after the last action before the clients stop listening (default 3)")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the server's engine and live threads (pstats files in the run's temp dir)")
    ap.add_argument("--work")
    ap.add_argument("--port", type=int)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, default=0)
    args = ap.parse_args()
    if args.role == "server":
        run_server(args)
    elif args.role == "students":
        asyncio.run(run_students_async(args))
    elif args.role == "observers":
        asyncio.run(run_observers_async(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
