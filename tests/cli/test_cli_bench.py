"""bench/bench_cli.py keeps working (a tiny run; the figures are in BENCHMARKS.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.bench

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.timeout(180)
def test_bench_cli_smoke():
    p = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "bench_cli.py"),
            "--rounds",
            "1",
            "--pipe-rounds",
            "1",
            "--size-mib",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert p.returncode == 0, p.stderr
    assert "interp run / floor:" in p.stdout
    assert "speed-up interp pipe vs shell:" in p.stdout
