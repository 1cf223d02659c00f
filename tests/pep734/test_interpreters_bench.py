"""bench/bench_pep734.py still runs (a quick pass; the figures belong in BENCHMARKS.md)."""

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.bench

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_pep734.py"


def test_bench_pep734_quick_run():
    r = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--repeat", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    fig = json.loads(r.stdout)
    for key in (
        "ours_queue_rt_us",
        "ours_channel_send_nowait_rt_us",
        "ours_channel_send_rt_us",
        "warm_task_start_us",
        "interpreter_pool_s",
        "thread_pool_s",
        "process_pool_s",
    ):
        assert fig[key] > 0, key
    if sys.version_info[:2] == (3, 13):
        assert fig["stdlib_queue_rt_us"] > 0
