"""Benchmarks of the `interp` command as a whole process, side by side with its anchors.

1. Startup: `interp run hello.py` vs `python hello.py` vs the bare floor of a click tool
   that runs a subinterpreter: `python -c "import click, _interpreters; create, run
   hello.py, destroy"`. Runs alternate, so machine noise hits all three alike.
2. Throughput: `interp pipe` with three pass-through stages vs the shell pipeline
   `python | python | python` of three pass-through stages, moving a large temp file to
   /dev/null.

    python bench/bench_cli.py                 # 256 MiB, 30 startup rounds, 5 pipe rounds
    python bench/bench_cli.py --size-mib 1024 --rounds 40 --pipe-rounds 5

Uses the `interp` script beside sys.executable (falls back to `python -m interpcli`)."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PASS_INTERP = os.path.join(ROOT, "examples", "passthrough.py")

# the shell pipeline's stage: the fastest plain pass-through we found (1 MiB reads that
# wait for a full MiB, so fewer and larger pipe writes than read1/os.read loops, which
# measured about 2x slower here)
PASS_PYTHON = """import shutil, sys
shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer, 1 << 20)
"""

FLOOR = """import click
try:
    import _interpreters as I
except ImportError:
    import _xxsubinterpreters as I
i = I.create()
I.run_string(i, open({hello!r}).read())
I.destroy(i)
"""


def interp_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "interp")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "interpcli"]


def timed(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def bench_startup(rounds: int, tmp: str) -> dict:
    hello = os.path.join(tmp, "hello.py")
    with open(hello, "w") as f:
        f.write('print("hello")\n')
    cases = {
        "python hello.py": [sys.executable, hello],
        "floor: python -c 'import click, _interpreters; create/run/destroy'": [
            sys.executable,
            "-c",
            FLOOR.format(hello=hello),
        ],
        "interp run hello.py": [*interp_command(), "run", hello],
    }
    times = {k: [] for k in cases}
    for cmd in cases.values():  # warm the caches
        timed(cmd, stdout=subprocess.DEVNULL)
    for _ in range(rounds):
        for name, cmd in cases.items():
            times[name].append(timed(cmd, stdout=subprocess.DEVNULL))
    return times


def bench_pipe(rounds: int, size_mib: int, tmp: str) -> dict:
    data = os.path.join(tmp, "data.bin")
    block = os.urandom(1 << 20)
    with open(data, "wb") as f:
        for _ in range(size_mib):
            f.write(block)
    stage = os.path.join(tmp, "pass_stdio.py")
    with open(stage, "w") as f:
        f.write(PASS_PYTHON)
    py = sys.executable
    shell = f"{py} {stage} < {data} | {py} {stage} | {py} {stage} > /dev/null"
    interp = (
        " ".join(interp_command())
        + f" pipe {PASS_INTERP} {PASS_INTERP} {PASS_INTERP} < {data} > /dev/null"
    )
    cases = {
        "python | python | python (shell pipes)": ["sh", "-c", shell],
        "interp pipe pass pass pass": ["sh", "-c", interp],
    }
    times = {k: [] for k in cases}
    for cmd in cases.values():
        timed(cmd)
    for _ in range(rounds):
        for name, cmd in cases.items():
            times[name].append(timed(cmd))
    return times


def show(title: str, times: dict, unit: str, scale: float) -> None:
    print(title)
    for name, ts in times.items():
        print(
            f"  {name:<68} min {min(ts) * scale:8.1f} {unit}   median "
            f"{statistics.median(ts) * scale:8.1f} {unit}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30, help="startup rounds (default 30)")
    ap.add_argument("--pipe-rounds", type=int, default=5, help="pipe rounds (default 5)")
    ap.add_argument("--size-mib", type=int, default=256, help="pipe data size (default 256)")
    ap.add_argument("--skip-pipe", action="store_true")
    ap.add_argument("--skip-startup", action="store_true")
    opts = ap.parse_args()
    v = sys.version_info
    print(
        f"Python {v.major}.{v.minor}.{v.micro}, {os.cpu_count()} CPUs, interp: "
        f"{' '.join(interp_command())}"
    )
    tmp = tempfile.mkdtemp(prefix="interp-bench-")
    try:
        if not opts.skip_startup:
            t = bench_startup(opts.rounds, tmp)
            show(f"startup, whole process ({opts.rounds} rounds, alternating)", t, "ms", 1e3)
            names = list(t)
            med = {k: statistics.median(v) for k, v in t.items()}
            mins = {k: min(v) for k, v in t.items()}
            print(
                f"  interp run / floor: median {med[names[2]] / med[names[1]]:.2f}x, "
                f"min {mins[names[2]] / mins[names[1]]:.2f}x (target <= 1.00x); "
                f"interp run / python hello.py: median "
                f"{med[names[2]] / med[names[0]]:.2f}x"
            )
        if not opts.skip_pipe:
            t = bench_pipe(opts.pipe_rounds, opts.size_mib, tmp)
            show(
                f"pipe: {opts.size_mib} MiB file -> 3 pass-through stages -> /dev/null "
                f"({opts.pipe_rounds} rounds)",
                t,
                "s",
                1.0,
            )
            names = list(t)
            med = {k: statistics.median(v) for k, v in t.items()}
            mins = {k: min(v) for k, v in t.items()}
            mb = opts.size_mib * (1 << 20) / 1e9
            print(
                f"  throughput: shell {mb / med[names[0]]:.2f} GB/s, interp pipe "
                f"{mb / med[names[1]]:.2f} GB/s (medians)"
            )
            print(
                f"  speed-up interp pipe vs shell: median "
                f"{med[names[0]] / med[names[1]]:.2f}x, best "
                f"{mins[names[0]] / mins[names[1]]:.2f}x (target >= 2x)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
