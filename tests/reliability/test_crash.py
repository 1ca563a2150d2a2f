"""``kill -9`` a real server while it writes, restart it on the same database: nothing acknowledged is lost.

A handful of trials here; bench/crash_bench.py runs hundreds with the same harness.
"""
from __future__ import annotations

import random
import sqlite3
import subprocess
import sys

import pytest

from tests.reliability.crash_harness import ROOT, Server, free_port, run_trial

pytestmark = pytest.mark.crash


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_acknowledged_writes_survive_kill_9_and_the_revision_never_goes_back(tmp_path, paused):
    rng = random.Random(7 if paused else 3)
    db = tmp_path / "kd.db"
    for i in range(2):   # the second trial restarts a database the first one already crashed
        trial = run_trial(tmp_path, db, rng, tag=f"t{i}", paused=paused)
        assert trial.boot_ok, trial.boot_error
        assert trial.acknowledged > 0
        assert trial.lost == []
        assert trial.revision_after >= trial.max_rv_seen


def test_a_damaged_database_is_one_line_naming_the_last_good_copy(tmp_path):
    db = tmp_path / "kd.db"
    server = Server(db, tmp_path)          # a clean start keeps kd.db.last-good
    try:
        assert server.wait_ready(), server.stderr
    finally:
        server.stop()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE objects SET body = '{broken' WHERE rowid = (SELECT min(rowid) FROM objects)")
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "--db", f"sqlite:///{db}", "--port", str(free_port()),
                          "--kubeconfig", str(tmp_path / "kc")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert "is damaged" in lines[0] and f"{db}.last-good" in lines[0]
