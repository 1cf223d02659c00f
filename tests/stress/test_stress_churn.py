"""Churn: interpreters created, run (with channel traffic and lent memory) and closed over and
over leave nothing behind: no interpreter, OS thread or file descriptor, and no memory
beyond what CPython itself keeps per interpreter.

CPython 3.12.1 and 3.13.0 keep about 3 MB per isolated interpreter ever created: every
interpreter ends with a few thousand obmalloc blocks still allocated (3,100 on 3.12.1,
5,000 on 3.13.0, counted by sys.getallocatedblocks), and CPython then keeps all of that
interpreter's arenas (python/cpython#110411, #113055). The 20 MB bound of the issue therefore
cannot hold for 5,000 fresh interpreters on these versions, with or without interpcli (the
stdlib's own create/destroy grows the same). What is checked: (1) over create/run/close
cycles, interpcli adds no more than CPython's own floor, measured in the same process with
the stdlib's create/destroy; (2) 5,000 run cycles with channel traffic and lent buffers on
reused interpreters grow RSS by less than 20 MB. The C core's own allocations are checked
exactly by tools/leakcheck.sh."""

import json
import os
import sys

import pytest
from stress_util import report, run_python, scaled

CHURN = r"""
import json, os, sys, time
import interpcli
try:
    import _interpreters as std
except ImportError:
    import _xxsubinterpreters as std

CYCLES, FLOOR_CYCLES, RUNS = (int(a) for a in sys.argv[1:4])

def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024

def state():
    return (len(os.listdir('/proc/self/task')), len(os.listdir('/proc/self/fd')),
            [i.id for i in interpcli.list_all()])

SOURCE = ("import types\n"
          "channels.s.send_nowait(b'x' * 100)\n"
          "channels.s.send_buffer_nowait(bytearray(b'y' * 1000))\n"
          "channels.s.send(b'z')\n")

def cycle(interp, r, s):
    def receive():
        assert r.recv() == b'x' * 100
        view = r.recv()
        assert type(view) is memoryview and view == b'y' * 1000
        view.release()
        assert r.recv() == b'z'
    import threading
    t = threading.Thread(target=receive)
    t.start()
    res = interp.run(SOURCE, channels={'s': s})
    t.join()
    assert res.completed, res.traceback

# warm up both paths (first-use imports, caches)
for _ in range(10):
    i = interpcli.create(); r, s = interpcli.create_channel(); cycle(i, r, s); i.close()
for _ in range(5):
    std.destroy(std.create())

before = state()
out = {}
# CPython's own floor: the stdlib's bare create + destroy
r0, b0, t0 = rss(), sys.getallocatedblocks(), time.perf_counter()
for _ in range(FLOOR_CYCLES):
    std.destroy(std.create())
out['floor_rss_kb_per_cycle'] = (rss() - r0) * 1024 / FLOOR_CYCLES
out['floor_blocks_per_cycle'] = (sys.getallocatedblocks() - b0) / FLOOR_CYCLES
out['floor_ms_per_cycle'] = (time.perf_counter() - t0) * 1000 / FLOOR_CYCLES

# interpcli: create, run with channel traffic (copy, lent, blocking), close
r0, b0, t0 = rss(), sys.getallocatedblocks(), time.perf_counter()
for _ in range(CYCLES):
    i = interpcli.create()
    r, s = interpcli.create_channel()
    cycle(i, r, s)
    i.close()
seconds = time.perf_counter() - t0
# the warm spare made for the next create() is one live interpreter (3-9 MB of RSS on
# 3.14/3.15), not memory kept per cycle: end it before measuring (with few cycles it
# would outweigh them)
from interpcli import _spare
_spare.maker.finish()
out['cycles'] = CYCLES
out['rss_growth_mb'] = rss() - r0
out['rss_kb_per_cycle'] = (rss() - r0) * 1024 / CYCLES
out['blocks_per_cycle'] = (sys.getallocatedblocks() - b0) / CYCLES
out['ms_per_cycle'] = seconds * 1000 / CYCLES
out['seconds'] = seconds

# runs on reused interpreters: the memory must stay flat
pool = [interpcli.create() for _ in range(4)]
for k in range(200):
    r, s = interpcli.create_channel(); cycle(pool[k % 4], r, s)
r0, t0 = rss(), time.perf_counter()
for k in range(RUNS):
    r, s = interpcli.create_channel(); cycle(pool[k % 4], r, s)
out['runs'] = RUNS
out['runs_rss_growth_mb'] = rss() - r0
out['runs_seconds'] = time.perf_counter() - t0
for i in pool:
    i.close()
out['before'] = before
out['after'] = state()
print(json.dumps(out))
"""


@pytest.mark.timeout(600)
def test_churn_leaves_nothing_behind():
    # never fewer than 300 fresh interpreters: the allocator's arenas add a bounded few MB
    # of RSS however many there are, which over fewer cycles reads as growth per cycle
    cycles, floor_cycles, runs = scaled(300, 300), scaled(100, 10), scaled(5000, 100)
    proc = run_python(
        CHURN.replace("sys.argv[1:4]", f"({cycles}, {floor_cycles}, {runs})"), timeout=540
    )
    assert proc.returncode == 0, proc.stderr
    assert "Fatal Python error" not in proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    report(
        "churn",
        **{
            k: (round(v, 2) if isinstance(v, float) else v)
            for k, v in out.items()
            if k not in ("before", "after")
        },
    )
    # nothing left: the same OS threads, file descriptors and interpreters (main only)
    threads0, fds0, interps0 = out["before"]
    threads1, fds1, interps1 = out["after"]
    assert interps1 == interps0 and len(interps1) == 1
    assert threads1 == threads0
    assert fds1 == fds0
    # reused interpreters: flat
    assert out["runs_rss_growth_mb"] < 20
    # fresh interpreters: no more than CPython's own per-interpreter floor, plus a margin
    # for what the run imports (the floor runs nothing): the channels' binding module
    # (interpcli._channels_sub, with the package and _lowlevel), which 3.12 and 3.13 keep
    # with every interpreter they ever made. Measured on 3.12.1: 3,017-3,486 blocks per
    # cycle against a floor of 3,134 (the spread is the run's timing, not the code)
    assert out["blocks_per_cycle"] <= out["floor_blocks_per_cycle"] + 400
    assert out["rss_kb_per_cycle"] <= out["floor_rss_kb_per_cycle"] * 1.25 + 100


FRESH_CHURN = r"""
import json, sys
import interpcli
from concurrent import interpreters as stdlib

CYCLES = int(sys.argv[1])

def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024

for _ in range(20):     # warm up both paths
    stdlib.create().close()
    i = interpcli.create(); i.run("x = 1"); i.close()
r0 = rss()
for _ in range(CYCLES):
    stdlib.create().close()
stdlib_mb = rss() - r0
r0 = rss()
for _ in range(CYCLES):
    i = interpcli.create()
    assert i.run("x = 1").completed
    i.close()
# the warm spare made for the next create() is one live interpreter (3-9 MB of RSS on
# 3.14/3.15), not memory kept per cycle: end it before measuring
from interpcli import _spare
_spare.maker.finish()
print(json.dumps({"cycles": CYCLES, "stdlib_mb": stdlib_mb, "interpcli_mb": rss() - r0}))
"""


@pytest.mark.skipif(
    sys.version_info < (3, 14),
    reason="3.12 and 3.13 keep ~3 MB per interpreter ever created, whoever "
    "made it (see the module docstring)",
)
@pytest.mark.timeout(1800)
def test_fresh_interpreter_churn_is_level_with_the_stdlib():
    """5,000 create/run/close cycles (INTERPCLI_CHURN_CYCLES; CI runs the full count on
    3.14 and 3.15) grow RSS by no more than the stdlib's own create/close cycles + 5 MB."""
    cycles = int(os.environ.get("INTERPCLI_CHURN_CYCLES", "300"))
    # without the warm spare: its helper threads' allocator arenas add a bounded 2-6 MB of
    # RSS (flat from 1,000 to 5,000 cycles, BENCHMARKS.md), which is not memory kept per
    # interpreter, the thing measured here
    proc = run_python(
        FRESH_CHURN.replace("sys.argv[1]", str(cycles)),
        timeout=1700,
        env=dict(os.environ, INTERP_SPARE="0"),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    report("fresh churn", **{k: round(v, 2) for k, v in out.items()})
    assert out["interpcli_mb"] <= max(out["stdlib_mb"], 0) + 5, out
