"""Issue 25: scripts run at python's speed. CPU-bound pure-Python scripts run under
`python SCRIPT` and under `interp run SCRIPT` in alternating rounds, each script timing its
own work (time.perf_counter inside the script), so start-up is not counted; the median of
the rounds per side and their ratio interp/python are printed per workload (target: within
3%), for the elapsed time (perf_counter) and for the CPU time of the script's thread
(thread_time: time spent waiting for a core on a busy machine is left out). A third side
runs the same script in a subinterpreter made by the stdlib itself
(`_interpreters` / `_xxsubinterpreters`, default config: own GIL, own obmalloc): what
CPython's subinterpreters cost by themselves, with no interpcli code in the way.

    nice -n -20 python bench/bench_scripts.py            # 11 rounds
    python bench/bench_scripts.py --quick                # 3 rounds, smaller sizes
    python bench/bench_scripts.py --only fib,nbody --rounds 21 --json out.json

Workloads (in this file): fib (recursive calls), nbody and spectral_norm (after
pyperformance's bm_nbody and bm_spectral_norm: float arithmetic, loops, comprehensions),
and objects (richards-like: attribute access and method calls on small classes). Each script
repeats its work a few times and prints every time; a process's figure is its fastest
(noise only ever adds time), a side's figure the median over the rounds. The machine may
be shared: read the spread of the per-round ratios that is printed with each line. Uses
the `interp` script beside sys.executable (falls back to `python -m interpcli`)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

TARGET = 1.03

FIB = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def work():
    fib(SIZE)
"""

NBODY = """
PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24
BODIES = {
    'sun': ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS),
    'jupiter': ([4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],
                [1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
                 -6.90460016972063023e-05 * DAYS_PER_YEAR], 9.54791938424326609e-04 * SOLAR_MASS),
    'saturn': ([8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],
               [-2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
                2.30417297573763929e-05 * DAYS_PER_YEAR], 2.85885980666130812e-04 * SOLAR_MASS),
    'uranus': ([1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],
               [2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
                -2.96589568540237556e-05 * DAYS_PER_YEAR], 4.36624404335156298e-05 * SOLAR_MASS),
    'neptune': ([1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01],
                [2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
                 -9.51592254519715870e-05 * DAYS_PER_YEAR], 5.15138902046611451e-05 * SOLAR_MASS)}

def combinations(l):
    result = []
    for x in range(len(l) - 1):
        ls = l[x + 1:]
        for y in ls:
            result.append((l[x], y))
    return result

def advance(dt, n, bodies, pairs):
    for i in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m = m1 * mag
            b2m = m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz

def energy(bodies, pairs, e=0.0):
    for (((x1, y1, z1), v1, m1), ((x2, y2, z2), v2, m2)) in pairs:
        dx = x1 - x2
        dy = y1 - y2
        dz = z1 - z2
        e -= (m1 * m2) / ((dx * dx + dy * dy + dz * dz) ** 0.5)
    for (r, [vx, vy, vz], m) in bodies:
        e += m * (vx * vx + vy * vy + vz * vz) / 2.
    return e

def work():
    import copy
    system = copy.deepcopy(BODIES)
    bodies = list(system.values())
    pairs = combinations(bodies)
    energy(bodies, pairs)
    advance(0.01, SIZE, bodies, pairs)
    energy(bodies, pairs)
"""

SPECTRAL_NORM = """
def eval_A(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)

def eval_times_u(func, u):
    return [func((i, u)) for i in range(len(list(u)))]

def part_A_times_u(i_u):
    i, u = i_u
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_A(i, j) * u_j
    return partial_sum

def part_At_times_u(i_u):
    i, u = i_u
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_A(j, i) * u_j
    return partial_sum

def eval_AtA_times_u(u):
    return eval_times_u(part_At_times_u, eval_times_u(part_A_times_u, u))

def work():
    u = [1] * SIZE
    for dummy in range(10):
        v = eval_AtA_times_u(u)
        u = eval_AtA_times_u(v)
    vBv = vv = 0
    for ue, ve in zip(u, v):
        vBv += ue * ve
        vv += ve * ve
"""

OBJECTS = """
class Packet:
    __slots__ = ("ident", "datum", "data")
    def __init__(self, ident):
        self.ident = ident
        self.datum = 0
        self.data = [0] * 4

class Task:
    def __init__(self, prio):
        self.prio = prio
        self.count = 0
        self.held = []

    def run(self, pkt):
        self.count += 1
        pkt.datum = (pkt.datum + self.prio) % 26
        data = pkt.data
        for i in range(4):
            data[i] = (data[i] + pkt.datum) & 0xFF
        self.held.append(pkt)
        if len(self.held) > 3:
            return self.held.pop(0)
        return None

def work():
    tasks = [Task(p) for p in range(6)]
    pending = [Packet(i) for i in range(12)]
    for step in range(SIZE):
        pkt = pending.pop() if pending else Packet(step)
        out = tasks[step % 6].run(pkt)
        if out is not None:
            pending.append(out)
"""

# name: (source, size, quick size, repetitions inside a script)
WORKLOADS = {
    "fib": (FIB, 30, 22, 5),
    "nbody": (NBODY, 20_000, 500, 5),
    "spectral_norm": (SPECTRAL_NORM, 100, 20, 5),
    "objects": (OBJECTS, 100_000, 10_000, 5),
}

DRIVER = """
import time as _time

def _main():
    times = []
    for _ in range(REPS):
        t, c = _time.perf_counter(), _time.thread_time()
        work()
        times.append((_time.perf_counter() - t, _time.thread_time() - c))
    print(" ".join(f"{t:.6f},{c:.6f}" for t, c in times), flush=True)

_main()
"""

# the same file run in a subinterpreter of the stdlib's making, in one process
STDLIB = """import sys
try:
    import _interpreters as I
except ImportError:
    import _xxsubinterpreters as I
src = open(sys.argv[1]).read()
i = I.create()
run = getattr(I, "exec", None) or I.run_string
err = run(i, src)
I.destroy(i)
if err is not None:
    sys.exit(f"the script failed in the stdlib's subinterpreter: {err}")
"""


def interp_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "interp")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "interpcli"]


def script_text(name: str, quick: bool) -> str:
    source, size, quick_size, reps = WORKLOADS[name]
    return f"SIZE = {quick_size if quick else size}\nREPS = {reps}\n" + source + DRIVER


def best_times(cmd) -> tuple[float, float]:
    """The fastest of the script's own repetitions: elapsed (perf_counter) and CPU time of
    its thread (thread_time, which time spent waiting for a core does not count)."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    pairs = [tuple(map(float, t.split(","))) for t in p.stdout.split()]
    return min(w for w, _ in pairs), min(c for _, c in pairs)


def measure(name: str, path: str, rounds: int, stdlib: bool) -> dict:
    sides = {"python": [sys.executable, path], "interp": [*interp_command(), "run", path]}
    if stdlib:
        sides["stdlib"] = [sys.executable, "-c", STDLIB, path]
    for cmd in sides.values():  # warm the file caches and the .pyc files
        best_times(cmd)
    wall = {k: [] for k in sides}
    cpu = {k: [] for k in sides}
    for r in range(rounds):
        # alternate which side goes first, so a drift of the load hits both alike
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for k in order:
            w, c = best_times(sides[k])
            wall[k].append(w)
            cpu[k].append(c)
    row = {"workload": name, "rounds": rounds}
    for label, times in (("wall", wall), ("cpu", cpu)):
        med = {k: statistics.median(v) for k, v in times.items()}
        per_round = {k: [t / p for t, p in zip(times[k], times["python"])] for k in sides}
        row[label] = {
            "median_s": med,
            "times_s": times,
            "ratio": {k: med[k] / med["python"] for k in sides if k != "python"},
            "round_ratio_range": {
                k: [min(v), max(v)] for k, v in per_round.items() if k != "python"
            },
        }
    return row


def show(row: dict) -> None:
    for label in ("wall", "cpu"):
        fig = row[label]
        m = fig["median_s"]
        line = f"{row['workload']:<14} {label:<4} python {m['python'] * 1e3:8.2f} ms"
        for k, name in (("interp", "interp run"), ("stdlib", "stdlib subinterpreter")):
            if k in m:
                lo, hi = fig["round_ratio_range"][k]
                line += (
                    f" | {name} {m[k] * 1e3:8.2f} ms x{fig['ratio'][k]:.3f} "
                    f"(rounds {lo:.2f}-{hi:.2f})"
                )
        if label == "wall":
            line += "  within 3%" if fig["ratio"]["interp"] <= TARGET else "  NOT within 3%"
        print(line, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds, smaller sizes")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per workload (11)")
    ap.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)}",
    )
    ap.add_argument(
        "--no-stdlib", action="store_true", help="leave out the stdlib's subinterpreter side"
    )
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    args = ap.parse_args(argv)
    only = [w for w in args.only.split(",") if w]
    unknown = set(only) - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown --only {','.join(sorted(unknown))}")
    rounds = args.rounds or (3 if args.quick else 11)
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, nice {os.nice(0)}, load "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; time inside each script, "
        f"median of {rounds} alternating rounds",
        flush=True,
    )
    tmp = tempfile.mkdtemp(prefix="interp-bench-scripts-")
    rows = []
    try:
        for name in only:
            path = os.path.join(tmp, f"{name}.py")
            with open(path, "w") as f:
                f.write(script_text(name, args.quick))
            row = measure(name, path, rounds, not args.no_stdlib)
            rows.append(row)
            show(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    worst = max(r["wall"]["ratio"]["interp"] for r in rows)
    worst_cpu = max(r["cpu"]["ratio"]["interp"] for r in rows)
    print(
        f"interp run / python, worst workload: x{worst:.3f} elapsed, x{worst_cpu:.3f} CPU "
        f"(target <= x{TARGET}); "
        f"load at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version.split()[0], "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
