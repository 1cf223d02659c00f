"""bench/bench_startup.py still runs (a tiny pass of its pool and create points)."""

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.bench

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_startup.py"


def test_bench_startup_quick_run(tmp_path):
    out = tmp_path / "rows.json"
    r = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--only", "pool,create", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["rows"]
    points = {row["point"] for row in rows}
    assert points == {1, 3}
    assert all(row["ours"] > 0 and row["anchor"] > 0 for row in rows)
