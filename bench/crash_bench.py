"""The reliability campaign, long version: malformed HTTP, garbage Socket.IO, kill -9, load.

Run: ``.venv/bin/python bench/crash_bench.py [--http 20000] [--threaded-http 10000] [--socket 5000]
[--kills 200] [--paused-kills 10] [--load-seconds 60] [--seed 1]``

Every part runs against ``app.py`` in its own process (gunicorn, SQLite file, demo cluster), as a
user runs it:

* **malformed HTTP** — with the simulation paused (so only requests move the revision), requests built from valid ConfigMaps, Deployments and lists, then broken
  (lone surrogates, integers beyond int64, nesting 1,000 deep, YAML tags and aliases, control
  characters in keys, truncated bodies, wrong content types, random query parameters, random
  bytes), one at a time and then from 4 threads; after each rejected (4xx) request the store
  revision must not have moved. Counts 5xx answers and rejected requests that changed state.
* **Socket.IO garbage** — events with random payloads (wrong types, unknown actions, deep nesting,
  huge strings) and raw Engine.IO frames that do not decode, over real WebSockets; counts
  exceptions (the server log's tracebacks) and unanswered acks.
* **kill -9** — tests/reliability/crash_harness.py: writers create ConfigMaps, SIGKILL at a random
  moment, restart on the same database; counts acknowledged writes lost, failed boots and restarts
  whose revision is below a resourceVersion handed out before the kill. Also while paused.
* **load** — bench/load_bench.py's ``run_load``: 50 HTTP clients and 20 Socket.IO clients for
  ``--load-seconds``; counts errors, disconnects and delta gaps.

Prints the campaign's table and, last, one JSON line with every figure. Targets: 0 5xx, 0 state
changes on rejection, 0 acknowledged writes lost, 0 failed boots, 0 revisions going backwards,
0 disconnects, 0 gaps.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability.crash_harness import Server, pause, run_trial  # noqa: E402

CM_PATH = "/api/v1/namespaces/default/configmaps"


# ---------------------------------------------------------------------------------------------- inputs
def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _valid(rng: random.Random, i: int) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"fuzz-{i}", "namespace": "default", "labels": {"app": "fuzz"}},
            "data": {"k": "v" * rng.randint(0, 20)}}


def _breakages(rng: random.Random, i: int) -> list[tuple[str, str, dict, bytes | str]]:
    """(method, path, headers, body) variants of one ConfigMap create/patch, each malformed some way."""
    json_h = {"Content-Type": "application/json"}
    yaml_h = {"Content-Type": "application/yaml"}
    merge_h = {"Content-Type": "application/merge-patch+json"}
    good = json.dumps(_valid(rng, i))
    name = f"fuzz-{i}"
    key = rng.choice(["x\\u0001y", "a\\nb", "\\u00e9\\u4e2d", "\\ud800", "k\\u0000"])
    return [
        ("POST", CM_PATH, json_h, good.replace('"k": "', '"k": "\\ud800')),
        ("POST", CM_PATH, json_h, good.replace('"labels"', '"n": 18446744073709551616, "labels"')),
        ("POST", CM_PATH, json_h, good.replace('"data": {', f'"data": {{"{key}": "v", ')),
        ("POST", CM_PATH, json_h, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"data":'
                                  + _deep(rng.randint(200, 2000)) + "}"),
        ("POST", CM_PATH, yaml_h, "a: &x [*x]\n"),
        ("POST", CM_PATH, yaml_h, f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n"
                                  f"data: {{k: {rng.choice(['!!int abc', '!!timestamp 2020-99-99', '!!binary zz', '!!python/object:os.system x'])}}}\n"),
        ("POST", CM_PATH, yaml_h, "- " * rng.randint(100, 1500) + "x\n"),
        ("POST", CM_PATH, json_h, good[: rng.randint(1, len(good) - 1)]),
        ("POST", CM_PATH, rng.choice([{"Content-Type": "text/plain"}, {"Content-Type": "application/xml"}, {}]),
         good),
        ("POST", CM_PATH, json_h, bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))),
        ("PATCH", f"{CM_PATH}/web-config", merge_h, '{"data":{"k":"\\ud800"}}'),
        ("PATCH", f"{CM_PATH}/web-config", {"Content-Type": "application/json-patch+json"},
         rng.choice(['[{"op":"explode"}]', '{"op":"add"}', '[{"op":"add","path":"/data/x","value":' + _deep(1500) + "}]"])),
        ("DELETE", f"{CM_PATH}/web-config", json_h, rng.choice(['{"preconditions":"x"}', '{"gracePeriodSeconds":"soon"}',
                                                              '{"propagationPolicy":7}'])),
        ("GET", f"{CM_PATH}?limit={rng.choice(['-1', 'x', '1e99'])}&labelSelector={rng.choice(['a in (', '!!', '=x'])}",
         {}, ""),
        ("GET", f"{CM_PATH}?watch=1&resourceVersion={rng.choice(['-5', 'abc', '99999999999999999999'])}"
                "&timeoutSeconds=1", {}, ""),
        ("GET", f"/ui/traffic/default/web?since={rng.choice(['NaN', 'inf', '-1e309', 'x', '-1'])}", {}, ""),
        ("PUT", f"{CM_PATH}/web-config", json_h, good.replace(f'"{name}"', '"web-config"').replace(
            '"namespace": "default"', '"namespace": "default", "resourceVersion": "1"')),
        ("POST", "/api/v1/namespaces/default/pods", json_h,
         json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name!"},
                     "spec": {"containers": [{"name": "c", "image": ""}]}})),
        ("POST", "/apis/apps/v1/namespaces/default/deployments", json_h,
         json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                     "spec": {"replicas": -3, "selector": {}, "template": {}}})),
        ("POST", "/api/v1/namespaces/default/unknownthings", json_h, "{}"),
    ]


def _revision(session: requests.Session, url: str) -> int:
    """The store revision the server serves now (-1 if it cannot say: counted as a failure elsewhere)."""
    r = session.get(url + CM_PATH + "?limit=1", timeout=30)
    return int(r.json()["metadata"]["resourceVersion"]) if r.status_code == 200 else -1


def malformed_http(url: str, count: int, rng: random.Random, *, threads: int = 1) -> dict:
    """Send ``count`` malformed requests; count 5xx answers and rejected requests that changed state."""
    out = {"requests": 0, "5xx": 0, "changed_on_reject": 0, "errors": []}
    lock = threading.Lock()
    variants_per_round = len(_breakages(random.Random(0), 0))

    def worker(seed: int, n: int) -> None:
        local = random.Random(seed)
        session = requests.Session()
        done = 0
        i = seed * 1_000_000
        while done < n:
            for method, path, headers, body in _breakages(local, i):
                if done >= n:
                    break
                i += 1
                before = _revision(session, url) if threads == 1 else None
                try:
                    r = session.request(method, url + path, headers=headers,
                                        data=body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body,
                                        timeout=30)
                    code = r.status_code
                except requests.RequestException as err:
                    code = 599
                    with lock:
                        out["errors"].append(f"{method} {path}: {err}")
                done += 1
                changed = before is not None and 400 <= code < 500 and _revision(session, url) != before
                with lock:
                    out["requests"] += 1
                    out["5xx"] += code >= 500
                    out["changed_on_reject"] += changed
                    if code >= 500 and len(out["errors"]) < 10:
                        out["errors"].append(f"{code} {method} {path[:80]}")

    per = [count // threads + (1 if k < count % threads else 0) for k in range(threads)]
    pool = [threading.Thread(target=worker, args=(rng.randrange(1, 1 << 30), n)) for n in per]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out["variants"] = variants_per_round
    return out


# ---------------------------------------------------------------------------------------------- socket
def socket_garbage(url: str, count: int, rng: random.Random) -> dict:
    """Emit ``count`` garbage events/frames; count unanswered acks and server-side tracebacks (from stderr)."""
    import socketio
    import websocket

    out = {"messages": 0, "unanswered": 0, "bad_acks": 0}
    sio = socketio.Client(reconnection=False)
    sio.connect(url, namespaces=["/live"], transports=["websocket"], wait_timeout=10)
    payloads = [None, 1, "x", [], {"type": 7}, {"type": "nope"}, {"type": "pod.delete", "args": "x"},
                {"type": "apply", "args": {"yaml": "a: !!int 'abc'"}}, {"type": "apply", "args": {"yaml": _deep(3000)}},
                {"type": "sim.speed", "args": {"speed": "NaN"}}, {"type": "workload.scale", "args": {"replicas": 1e99}},
                {"since": "abc"}, {"since": -1, "generation": "x"}, "\ud800" * 3, {"type": "x" * 100_000}]
    raw = ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    try:
        sent = 0
        while sent < count:
            if rng.random() < 0.2:
                ws = websocket.create_connection(ws_url, timeout=10)
                try:
                    for _ in range(10):
                        frame = rng.choice(["4" + "{" * 50, "9", "42/live,[", "40/nope,", "4\x00\x01",
                                            "42" + json.dumps(["action", {"type": "x"}])[: rng.randint(1, 20)],
                                            "4" + "x" * rng.randint(0, 5000)])
                        ws.send(frame)
                        sent += 1
                finally:
                    ws.close()
                continue
            event = rng.choice(["action", "subscribe", "nonsense", "action"])
            data = rng.choice(payloads)
            try:
                ack = sio.call(event, data, namespace="/live", timeout=5) if event != "nonsense" else \
                    sio.emit(event, data, namespace="/live")
                if event != "nonsense" and not (isinstance(ack, dict) and "ok" in ack):
                    out["bad_acks"] += 1
            except socketio.exceptions.TimeoutError:
                out["unanswered"] += 1
            except Exception:   # noqa: BLE001 - a client-side encoding refusal is not the server's fault
                pass
            sent += 1
        out["messages"] = sent
    finally:
        sio.disconnect()
    del raw
    return out


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", type=int, default=20_000)
    parser.add_argument("--threaded-http", type=int, default=10_000)
    parser.add_argument("--socket", type=int, default=5_000)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--paused-kills", type=int, default=10)
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kubedrill-crash-"))
    results: dict = {}
    rows: list[tuple[str, str, str]] = []

    server = Server(work / "fuzz.db", work)
    try:
        assert server.wait_ready(), server.stderr
        pause(server.url)   # the simulation stands still: a revision that moves was moved by a request
        t0 = time.monotonic()
        h = malformed_http(server.url, args.http, rng)
        rows.append(("HTTP requests with malformed input (one at a time, revision checked after each)",
                     f"{h['requests']:,}", f"{h['5xx']} answered 5xx; {h['changed_on_reject']} rejected requests "
                                          f"changed state ({time.monotonic() - t0:.0f} s)"))
        h4 = malformed_http(server.url, args.threaded_http, rng, threads=4)
        rows.append(("the same from 4 threads", f"{h4['requests']:,}", f"{h4['5xx']} answered 5xx"))
        s = socket_garbage(server.url, args.socket, rng)
        tracebacks = sum(1 for line in server.stderr if line.startswith("Traceback"))
        rows.append(("Socket.IO events and raw frames with garbage", f"{s['messages']:,}",
                     f"{tracebacks} tracebacks in the server log, {s['unanswered']} never answered, "
                     f"{s['bad_acks']} malformed acks"))
        alive = requests.get(server.url + "/readyz", timeout=10).status_code
        results.update(http=h, http_threaded=h4, socket=s, tracebacks=tracebacks, readyz_after=alive)
        if args.load_seconds > 0:
            from bench.load_bench import run_load
            load = run_load(server.url, 50, 20, args.load_seconds)
            results["load"] = load
            rows.append((f"50 HTTP clients + 20 Socket.IO clients for {args.load_seconds:g} s",
                         f"{load.get('http_requests', 0):,} requests",
                         f"{load.get('http_errors', 0)} errors, p99 {load.get('http_p99_ms', 0):.0f} ms; "
                         f"{load.get('disconnects', 0)} of {load.get('sockets', 0)} sockets disconnected, "
                         f"{load.get('gaps', 0)} gaps, {load.get('resyncs', 0)} resyncs"))
    finally:
        server.stop()

    for paused, n in ((False, args.kills), (True, args.paused_kills)):
        db = work / ("kill-paused.db" if paused else "kill.db")
        acked = lost = failed = back = 0
        latest: list[str] = []
        for i in range(n):
            trial = run_trial(work, db, rng, tag=f"{'p' if paused else 'r'}{i}", paused=paused)
            acked += trial.acknowledged
            lost += len(trial.lost)
            failed += not trial.boot_ok
            back += trial.went_back
            if not trial.boot_ok:
                latest.append(trial.boot_error[:200])
                db.unlink(missing_ok=True)   # the next trial starts afresh rather than failing on the same file
        label = "`kill -9` while the simulation is paused" if paused else \
            "`kill -9` while writes are in flight, restart on the same database"
        rows.append((label, f"{n}", f"{lost} of {acked:,} acknowledged writes lost; {back} restarts came back with "
                                    f"a lower revision; {failed} restarts failed"))
        results["paused_kills" if paused else "kills"] = {"trials": n, "acknowledged": acked, "lost": lost,
                                                          "failed_boots": failed, "went_back": back,
                                                          "boot_errors": latest[:3]}

    print("| what | tried | result |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
