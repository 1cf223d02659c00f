"""bench/bench_scripts.py keeps working (a tiny run; the figures are in BENCHMARKS.md)."""

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.bench

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_scripts.py"


def test_bench_scripts_quick_run(tmp_path):
    out = tmp_path / "rows.json"
    r = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--rounds", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert "interp run / python, worst workload:" in r.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [row["workload"] for row in rows] == ["fib", "nbody", "spectral_norm", "objects"]
    for row in rows:
        for fig in (row["wall"], row["cpu"]):
            assert set(fig["median_s"]) == {"python", "interp", "stdlib"}
            assert all(t > 0 for t in fig["median_s"].values())
