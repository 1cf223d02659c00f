"""asyncio server benchmark: CPU work in interpreters (interpcli) vs loop.run_in_executor.

    python bench/bench_aio_server.py [--concurrency 32] [--duration 5] [--workers 2]

Starts examples/aio_server.py once per backend, side by side in one run:
- interp:         interpcli's pool, persistent worker loops fed over channels, the replies
                  awaited through interpcli.aio (woken by the core);
- process:        loop.run_in_executor with a ProcessPoolExecutor;
- stdlib-interp:  loop.run_in_executor with concurrent.futures.InterpreterPoolExecutor
                  (Python 3.14+ only).
Each gets the same number of workers and the same load: `--concurrency` connections from
this process, each sending one request (about 1 ms of pure-Python work, calibrated here)
and waiting for its answer before the next, for `--duration` seconds after a warm-up.
The servers stay up side by side and `--rounds` turns of load take turns between them
(rotating order): medians per backend are printed, with every round's figures. Prints
requests per second and latency percentiles; `--json` for machines. The machine is shared
and noisy: run it several times and compare within one run."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "aio_server.py"
sys.path.insert(0, str(EXAMPLE.parent))
from aio_server import handle  # noqa: E402


def calibrate(target_s: float = 0.001) -> int:
    """n such that handle(n) takes about target_s here (best of several)."""
    n = 20000
    for _ in range(3):
        best = min(_time(handle, str(n).encode()) for _ in range(20))
        n = max(100, int(n * target_s / best))
    return n


def _time(fn, arg) -> float:
    t0 = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t0


def start_server(backend: str, workers: int, uvloop: bool):
    cmd = [
        sys.executable,
        str(EXAMPLE),
        "--port",
        "0",
        "--backend",
        backend,
        "--workers",
        str(workers),
    ]
    if uvloop:
        cmd.append("--uvloop")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(EXAMPLE.parent)]
            + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    )
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_sigint_default,
    )
    line = proc.stdout.readline()
    if not line.startswith("serving on"):
        proc.kill()
        raise RuntimeError(f"{backend} server did not start: {line}{proc.stderr.read()}")
    return proc, int(line.split()[2].rsplit(":", 1)[1])


def _sigint_default():
    # started from a background job, the server would inherit SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_server(proc) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def load(port: int, payload: bytes, concurrency: int, warmup: float, duration: float) -> dict:
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + duration
    lat: list[float] = []
    errors = 0

    async def one_connection():
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                t0 = loop.time()
                if t0 >= stop_at:
                    break
                writer.write(payload)
                answer = await reader.readline()
                t1 = loop.time()
                if not answer or answer.startswith(b"error"):
                    errors += 1
                elif t0 >= measure_from:
                    lat.append(t1 - t0)
        finally:
            writer.close()

    await asyncio.gather(*[one_connection() for _ in range(concurrency)])
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1e3 if lat else float("nan")

    return {
        "requests": len(lat),
        "rps": len(lat) / duration,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "max_ms": lat[-1] * 1e3 if lat else float("nan"),
        "errors": errors,
    }


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="turns per backend, interleaved (medians are reported)",
    )
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n", type=int, default=0, help="work size (default: calibrated to 1 ms)")
    ap.add_argument(
        "--backends",
        default="",
        help="comma-separated (default: interp,process[,stdlib-interp on 3.14+])",
    )
    ap.add_argument("--uvloop", action="store_true", help="servers run on uvloop")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    backends = [b for b in args.backends.split(",") if b] or (
        ["interp", "process"] + (["stdlib-interp"] if sys.version_info >= (3, 14) else [])
    )
    n = args.n or calibrate()
    work_ms = min(_time(handle, str(n).encode()) for _ in range(20)) * 1e3
    payload = f"{n}\n".encode()
    out = {
        "python": sys.version.split()[0],
        "n": n,
        "work_ms": work_ms,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "duration": args.duration,
        "results": {},
    }
    if not args.json:
        print(
            f"Python {out['python']}: work n={n} ({work_ms:.2f} ms here), "
            f"{args.workers} workers, concurrency {args.concurrency}, {args.rounds} rounds "
            f"of {args.duration:g} s each",
            flush=True,
        )
    # every server stays up; the rounds take turns (the order rotates), so a burst of
    # load from elsewhere on the machine hits each backend alike; medians are reported
    servers = {}
    try:
        for backend in backends:
            servers[backend] = start_server(backend, args.workers, args.uvloop)
        rounds: dict = {b: [] for b in backends}
        for r in range(args.rounds):
            order = backends[r % len(backends) :] + backends[: r % len(backends)]
            for backend in order:
                rounds[backend].append(
                    asyncio.run(
                        load(
                            servers[backend][1],
                            payload,
                            args.concurrency,
                            args.warmup,
                            args.duration,
                        )
                    )
                )
    finally:
        for proc, _port in servers.values():
            stop_server(proc)
    for backend in backends:
        runs = rounds[backend]
        res = {k: _median([x[k] for x in runs]) for k in runs[0]}
        res["errors"] = sum(x["errors"] for x in runs)
        res["rps_rounds"] = [round(x["rps"]) for x in runs]
        res["p99_ms_rounds"] = [round(x["p99_ms"], 1) for x in runs]
        out["results"][backend] = res
        if not args.json:
            print(
                f"  {backend:<14} {res['rps']:8.0f} req/s   p50 {res['p50_ms']:7.2f} ms   "
                f"p99 {res['p99_ms']:7.2f} ms   (rounds: req/s {res['rps_rounds']}, "
                f"p99 {res['p99_ms_rounds']})  errors {res['errors']}",
                flush=True,
            )
    anchors = [r for b, r in out["results"].items() if b != "interp"]
    if "interp" in out["results"] and anchors:
        best = max(anchors, key=lambda r: r["rps"])
        ours = out["results"]["interp"]
        out["rps_ratio_vs_best_anchor"] = ours["rps"] / best["rps"]
        out["p99_ratio_vs_best_anchor"] = ours["p99_ms"] / best["p99_ms"]
        if not args.json:
            print(
                f"  interp vs best anchor: {out['rps_ratio_vs_best_anchor']:.2f}x req/s, "
                f"p99 {out['p99_ratio_vs_best_anchor']:.2f}x (lower is better)"
            )
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
