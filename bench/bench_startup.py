"""Issue 12 in one run: starting work (pools, interpreters, the CLI), each figure side by
side with its anchors, printing every ratio against its target.

    python bench/bench_startup.py                       # all six points
    python bench/bench_startup.py --quick               # fewer rounds, 128 MiB pipe
    python bench/bench_startup.py --smoke               # one tiny round: it runs (tests)
    python bench/bench_startup.py --only pool,map       # some of: pool map create cli pipe core
    python bench/bench_startup.py --other-venv /tmp/venv-editable   # point 3 there too

1. warm task: submit(int).result() on a warm 1-worker pool; ours vs 3.14's own
   concurrent.futures.InterpreterPoolExecutor (3.14+) and vs ProcessPoolExecutor (the
   Python's default start method); ThreadPoolExecutor as a reference.
2. CPU-bound map on 2 workers, timed from creating the pool to its shutdown: 16 x
   work(400_000) (BENCHMARKS.md's workload) and 100 short tasks (work(10_000)); ours vs
   ProcessPoolExecutor with fork and with forkserver, and 3.14's InterpreterPoolExecutor.
3. interpcli.create() + close() vs the stdlib's _interpreters create + destroy, in this
   install (and, with --other-venv, in another: e.g. an editable one): alternating with
   the stdlib's (latency between other work) and back-to-back batches (throughput).
4. `interp run hello.py` vs `python hello.py`, and `interp --help` vs
   `python -c 'import click'`: whole processes, median, alternating.
5. `interp pipe` with three pass-through stages vs `python | python | python`, a file
   (1 GiB by default) to /dev/null.
6. the core benchmarks (bench_core.py: ping-pong, streaming, create, parallel CPU).

Rounds alternate between ours and the anchors, so machine noise hits both alike; read the
ratios (the machine is shared). Uses the `interp` script beside sys.executable."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    from concurrent.futures import InterpreterPoolExecutor as StdlibIPE  # 3.14+
except ImportError:
    StdlibIPE = None

rows: list[dict] = []


def report(point, name, ours, anchor_name, anchor, ratio, target, met, unit=""):
    row = dict(
        point=point,
        name=name,
        ours=ours,
        anchor_name=anchor_name,
        anchor=anchor,
        ratio=ratio,
        target=target,
        met=met,
        unit=unit,
    )
    rows.append(row)
    flag = "" if met is None else ("  met" if met else "  NOT met")
    print(
        f"[{point}] {name:<46} ours {ours:>10.4g} {unit:<3} {anchor_name:<26} "
        f"{anchor:>10.4g} {unit:<3} ratio {ratio:6.3f}  target {target}{flag}",
        flush=True,
    )


def med(xs):
    return statistics.median(xs)


# ------------------------------------------------------------------ 1. warm task


def _warm(ex, n):
    ex.submit(int).result()
    t0 = time.perf_counter()
    for _ in range(n):
        ex.submit(int).result()
    return (time.perf_counter() - t0) / n


def bench_pool(rounds, n):
    from interpcli.interpreters import InterpreterPoolExecutor as Ours

    makers = {
        "ours": lambda: Ours(1),
        "process": lambda: ProcessPoolExecutor(1),
        "thread": lambda: ThreadPoolExecutor(1),
    }
    if StdlibIPE is not None:
        makers["stdlib"] = lambda: StdlibIPE(1)
    # the process pool forks its worker on its first task: before any interpreter exists
    # (forking a process that runs subinterpreters crashes the child)
    pools = {}
    try:
        for k in ("process", "thread", "stdlib", "ours"):
            if k in makers:
                pools[k] = makers[k]()
                _warm(pools[k], 20)
        times = {k: [] for k in pools}
        for _ in range(rounds):
            for k, ex in pools.items():
                times[k].append(_warm(ex, n))
    finally:
        for ex in pools.values():
            ex.shutdown()
    us = {k: med(v) * 1e6 for k, v in times.items()}
    method = mp.get_start_method()
    if "stdlib" in us:
        r = us["ours"] / us["stdlib"]
        report(
            1,
            "warm task vs 3.14 InterpreterPoolExecutor",
            us["ours"],
            "stdlib IPE",
            us["stdlib"],
            r,
            "<= 0.5",
            r <= 0.5,
            "us",
        )
    r = us["ours"] / us["process"]
    report(
        1,
        "warm task vs ProcessPoolExecutor",
        us["ours"],
        f"process ({method})",
        us["process"],
        r,
        "<= 0.2",
        r <= 0.2,
        "us",
    )
    report(
        1,
        "warm task vs ThreadPoolExecutor (reference)",
        us["ours"],
        "thread",
        us["thread"],
        us["ours"] / us["thread"],
        "-",
        None,
        "us",
    )


# ------------------------------------------------------------------ 2. CPU-bound map


def work(n):
    """CPU-bound, pure Python."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def _pool_map(factory, tasks, size):
    t0 = time.perf_counter()
    with factory() as ex:
        results = list(ex.map(work, [size] * tasks))
    elapsed = time.perf_counter() - t0
    assert results == [work(size)] * tasks
    return elapsed


def bench_map(rounds):
    from interpcli.interpreters import InterpreterPoolExecutor as Ours

    makers = {
        "ours": lambda: Ours(2),
        "fork": lambda: ProcessPoolExecutor(2, mp_context=mp.get_context("fork")),
        "forkserver": lambda: ProcessPoolExecutor(2, mp_context=mp.get_context("forkserver")),
    }
    if StdlibIPE is not None:
        makers["stdlib IPE"] = lambda: StdlibIPE(2)
    for tasks, size, label in (
        (16, 400_000, "16 x work(400_000)"),
        (100, 10_000, "100 x work(10_000)"),
    ):
        serial_t = []
        times = {k: [] for k in makers}
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(tasks):
                work(size)
            serial_t.append(time.perf_counter() - t0)
            for k, m in makers.items():
                times[k].append(_pool_map(m, tasks, size))
        ms = {k: med(v) * 1e3 for k, v in times.items()}
        serial = med(serial_t) * 1e3
        print(
            f"[2] map {label}, 2 workers, pool start to shutdown (median of {rounds}): "
            f"serial {serial:.1f} ms; "
            + ", ".join(f"{k} {v:.1f} ms ({serial / v:.2f}x serial)" for k, v in ms.items()),
            flush=True,
        )
        for k in makers:
            if k == "ours":
                continue
            r = ms["ours"] / ms[k]
            report(2, f"map {label} vs {k}", ms["ours"], k, ms[k], r, "< 1", r < 1, "ms")


# ------------------------------------------------------------------ 3. create + close


def create_figures(n, batches=5, batch=30):
    """Point 3 in this process. Alternating: per round ours, then the stdlib's (latency for
    a caller that works between creations; the stdlib's turn is that work, and it runs
    while interpcli's warm spare is being made on the other core, which slows it).
    Back-to-back: `batches` batches of max(n, batch) creates+closes in a row through each
    (throughput: the spares, two side by side once the caller outruns one, are made on both
    cores).
    Each of our batches starts with no spare made (the previous batch's are ended before
    the stdlib's batch, which is then undisturbed): the batch pays for its own spares."""
    import interpcli
    from interpcli import _spare

    try:
        import _interpreters as std
    except ImportError:
        import _xxsubinterpreters as std
    interpcli.create().close()
    std.destroy(std.create())
    ours, stdlib = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        interpcli.create().close()
        t1 = time.perf_counter()
        std.destroy(std.create())
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        stdlib.append(t2 - t1)
    b2b_ours, b2b_std, b2b_std2 = [], [], []
    m = max(n, batch)
    m -= m % 2

    def std_loop(k):
        for _ in range(k):
            std.destroy(std.create())

    for _ in range(batches):
        _spare.maker.finish()  # no spare made, none in the making
        t0 = time.perf_counter()
        for _ in range(m):
            interpcli.create().close()
        b2b_ours.append((time.perf_counter() - t0) / m)
        _spare.maker.finish()  # the spares made ahead are not the stdlib's batch's
        t0 = time.perf_counter()
        std_loop(m)
        b2b_std.append((time.perf_counter() - t0) / m)
        # the bound: the stdlib's own loop split over two threads, each creating and
        # destroying in turn (what two cores can do with the stdlib's work, perfectly split)
        pair = [threading.Thread(target=std_loop, args=(m // 2,)) for _ in range(2)]
        t0 = time.perf_counter()
        for t in pair:
            t.start()
        for t in pair:
            t.join()
        b2b_std2.append((time.perf_counter() - t0) / m)
    return {
        "ours_ms": med(ours) * 1e3,
        "stdlib_ms": med(stdlib) * 1e3,
        "b2b_ours_ms": med(b2b_ours) * 1e3,
        "b2b_stdlib_ms": med(b2b_std) * 1e3,
        "b2b_stdlib_2threads_ms": med(b2b_std2) * 1e3,
        "spare": _spare.enabled(),
        "install": _install_kind(),
        "python": sys.version.split()[0],
    }


def _install_kind():
    try:
        from importlib.metadata import distribution

        text = distribution("interpcli").read_text("direct_url.json") or "{}"
        return "editable" if json.loads(text).get("dir_info", {}).get("editable") else "regular"
    except Exception:
        return "unknown"


def bench_create(n, other_venvs, batches=5, batch=30):
    figs = [create_figures(n, batches, batch)]
    for venv in other_venvs:
        py = os.path.join(venv, "bin", "python")
        out = subprocess.run(
            [py, os.path.abspath(__file__), "--create-json", str(n)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figs.append(json.loads(out))
    for f in figs:
        where = f"{f['install']} install ({f['python']}){'' if f['spare'] else ', no spare'}"
        r = f["ours_ms"] / f["stdlib_ms"]
        report(
            3,
            f"create+close alternating, {where}",
            f["ours_ms"],
            "_interpreters create+destroy",
            f["stdlib_ms"],
            r,
            "<= 0.5",
            r <= 0.5,
            "ms",
        )
        r = f["ours_ms"] / f["b2b_stdlib_ms"]
        report(
            3,
            "  same vs the stdlib's undisturbed (back-to-back)",
            f["ours_ms"],
            "_interpreters back-to-back",
            f["b2b_stdlib_ms"],
            r,
            "<= 0.5",
            r <= 0.5,
            "ms",
        )
        r = f["b2b_ours_ms"] / f["b2b_stdlib_ms"]
        report(
            3,
            f"create+close back-to-back, {where}",
            f["b2b_ours_ms"],
            "_interpreters back-to-back",
            f["b2b_stdlib_ms"],
            r,
            "<= 0.5",
            r <= 0.5,
            "ms",
        )
        r = f["b2b_stdlib_2threads_ms"] / f["b2b_stdlib_ms"]
        report(
            3,
            "  bound: the stdlib's loop split over two threads",
            f["b2b_stdlib_2threads_ms"],
            "_interpreters back-to-back",
            f["b2b_stdlib_ms"],
            r,
            "(reference)",
            None,
            "ms",
        )
    print(
        "[3] back-to-back is bounded by the CPU that creating and closing take "
        f"({os.cpu_count()} cores: at most two spares are made side by side); the bound "
        "line is the stdlib's own work perfectly split over two cores",
        flush=True,
    )


# ------------------------------------------------------------------ 4. CLI start-up


def interp_command():
    script = os.path.join(os.path.dirname(sys.executable), "interp")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "interpcli"]


def _timed(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def _alternate(cases, rounds, **kw):
    times = {k: [] for k in cases}
    for cmd in cases.values():  # warm the caches
        _timed(cmd, **kw)
    for _ in range(rounds):
        for k, cmd in cases.items():
            times[k].append(_timed(cmd, **kw))
    return {k: med(v) for k, v in times.items()}


def bench_cli(rounds, tmp):
    hello = os.path.join(tmp, "hello.py")
    with open(hello, "w") as f:
        f.write('print("hello")\n')
    interp = interp_command()
    # the floor of any tool that runs a script in a fresh subinterpreter: python's start-up,
    # one stdlib create, the script, one destroy, and an exit that skips finalization
    floor = (
        "import os, sys\n"
        "try:\n    import _interpreters as std\n"
        "except ImportError:\n    import _xxsubinterpreters as std\n"
        "i = std.create()\n"
        "run = getattr(std, 'exec', None) or std.run_string\n"
        "run(i, open(sys.argv[1]).read() + '\\nimport sys; sys.stdout.flush()\\n')\n"
        "std.destroy(i)\n"
        "os._exit(0)\n"
    )
    t = _alternate(
        {
            "python": [sys.executable, hello],
            "interp": [*interp, "run", hello],
            "floor": [sys.executable, "-c", floor, hello],
            "click": [sys.executable, "-c", "import click"],
            "help": [*interp, "--help"],
        },
        rounds,
        stdout=subprocess.DEVNULL,
    )
    r = t["interp"] / t["python"]
    report(
        4,
        "interp run hello.py vs python hello.py",
        t["interp"] * 1e3,
        "python hello.py",
        t["python"] * 1e3,
        r,
        "<= 2",
        r <= 2,
        "ms",
    )
    r = t["floor"] / t["python"]
    report(
        4,
        "  floor: stdlib create, exec hello.py, destroy",
        t["floor"] * 1e3,
        "python hello.py",
        t["python"] * 1e3,
        r,
        "(reference)",
        None,
        "ms",
    )
    r = t["help"] / t["click"]
    report(
        4,
        "interp --help vs python -c 'import click'",
        t["help"] * 1e3,
        "python -c 'import click'",
        t["click"] * 1e3,
        r,
        "~ 1 (level)",
        r <= 1.1,
        "ms",
    )


# ------------------------------------------------------------------ 5. interp pipe


def bench_pipe(rounds, size_mib, tmp):
    import bench_cli

    data = os.path.join(tmp, "data.bin")
    block = os.urandom(1 << 20)
    with open(data, "wb") as f:
        for _ in range(size_mib):
            f.write(block)
    stage = os.path.join(tmp, "pass_stdio.py")
    with open(stage, "w") as f:
        f.write(bench_cli.PASS_PYTHON)
    py = sys.executable
    p = bench_cli.PASS_INTERP
    shell = f"{py} {stage} < {data} | {py} {stage} | {py} {stage} > /dev/null"
    ours = " ".join(interp_command()) + f" pipe {p} {p} {p} < {data} > /dev/null"
    t = _alternate({"shell": ["sh", "-c", shell], "ours": ["sh", "-c", ours]}, rounds)
    r = t["shell"] / t["ours"]
    report(
        5,
        f"interp pipe x3, {size_mib} MiB (speed-up)",
        t["ours"],
        "python|python|python",
        t["shell"],
        r,
        ">= 4 (speed-up)",
        r >= 4,
        "s",
    )


# ------------------------------------------------------------------ 6. core


def bench_core_all():
    import bench_core

    for fn in bench_core.BENCHES.values():
        fn()


POINTS = ("pool", "map", "create", "cli", "pipe", "core")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, 128 MiB pipe")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny round of each point, 16 MiB pipe: checks the script runs; its "
        "figures mean nothing",
    )
    ap.add_argument(
        "--only", default=",".join(POINTS), help=f"comma-separated subset of {','.join(POINTS)}"
    )
    ap.add_argument("--size-mib", type=int, default=None, help="pipe data (default 1024)")
    ap.add_argument(
        "--other-venv",
        action="append",
        default=[],
        help="also measure create+close with this venv's python",
    )
    ap.add_argument("--json", metavar="FILE", help="write the rows as JSON to FILE")
    ap.add_argument("--create-json", type=int, metavar="N", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.create_json:
        print(json.dumps(create_figures(args.create_json)))
        return 0
    only = set(args.only.split(","))
    unknown = only - set(POINTS)
    if unknown:
        ap.error(f"unknown --only {','.join(sorted(unknown))}")
    q = args.quick or args.smoke
    smoke = args.smoke
    import interpcli

    print(
        f"Python {sys.version.split()[0]}, interpcli {interpcli.__version__} "
        f"({_install_kind()} install), {os.cpu_count()} CPUs, load "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    tmp = tempfile.mkdtemp(prefix="interp-bench-")
    try:
        if "pool" in only:
            bench_pool(rounds=1 if smoke else 5 if q else 15, n=20 if smoke else 100 if q else 300)
        if "map" in only:
            bench_map(rounds=1 if smoke else 3 if q else 7)
        if "create" in only:
            if smoke:
                bench_create(2, args.other_venv, batches=1, batch=4)
            else:
                bench_create(10 if q else 40, args.other_venv)
        if "cli" in only:
            bench_cli(3 if smoke else 20 if q else 40, tmp)
        if "pipe" in only:
            bench_pipe(
                1 if smoke else 3 if q else 5,
                args.size_mib or (16 if smoke else 128 if q else 1024),
                tmp,
            )
        if "core" in only:
            bench_core_all()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version.split()[0], "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
