"""Core benchmarks, each run side by side with its anchor in one process, printing ratios.

    python bench/bench_core.py            # all
    python bench/bench_core.py pingpong   # one of: pingpong stream create parallel locks

The machine is shared and noisy: compare the ratios, not the absolute times."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time

import interpcli

MiB = 1 << 20
rows: list[tuple[str, str, str, str]] = []


def report(name, ours, anchor, ratio, target):
    rows.append((name, ours, anchor, f"{ratio:,.1f}x (target {target})"))
    print(
        f"{name:<34} ours {ours:>14}  anchor {anchor:>16}  ratio {ratio:>10,.1f}x  target {target}",
        flush=True,
    )


class Worker:
    """A subinterpreter running `code` in a thread, with channels named inp (its input)
    and `out_name` (its output); the main side holds .send (to inp) and .recv."""

    def __init__(self, code: str, out_name: str = "out"):
        self.interp = interpcli.create()
        r_in, self.send = interpcli.create_channel()
        self.recv, s_out = interpcli.create_channel()
        self.thread = threading.Thread(
            target=self.interp.run,
            args=(code,),
            kwargs={"channels": {"inp": r_in, out_name: s_out}},
        )
        self.thread.start()

    def finish(self) -> None:
        """Close the input, wait for the code to end, close the interpreter."""
        self.send.close()
        self.thread.join()
        self.interp.close()


# ---------------------------------------------------------------- ping-pong
ECHO = """
for m in channels.inp:
    channels.out.send(m)
"""


def pingpong_ours(n=50_000) -> float:
    w = Worker(ECHO)
    s_in, r_out = w.send, w.recv
    msg = b"12345678"
    for _ in range(2000):  # warm-up
        s_in.send(msg)
        r_out.recv()
    t0 = time.perf_counter()
    for _ in range(n):
        s_in.send(msg)
        r_out.recv()
    dt = time.perf_counter() - t0
    w.finish()
    return dt / n


def _pipe_echo(conn):
    while True:
        m = conn.recv_bytes()
        if not m:
            break
        conn.send_bytes(m)


def pingpong_pipe(n=10_000) -> float:
    a, b = mp.Pipe()
    p = mp.Process(target=_pipe_echo, args=(b,))
    p.start()
    msg = b"12345678"
    for _ in range(500):
        a.send_bytes(msg)
        a.recv_bytes()
    t0 = time.perf_counter()
    for _ in range(n):
        a.send_bytes(msg)
        a.recv_bytes()
    dt = time.perf_counter() - t0
    a.send_bytes(b"")
    p.join()
    return dt / n


class StdlibWorker:
    """Worker's twin on 3.13's test.support.interpreters: `code` reads `inp` until b'stop'
    and writes `out`. StdlibWorker.start() returns None where that module is missing."""

    @classmethod
    def start(cls, code: str):
        try:
            from test.support import interpreters as si
            from test.support.interpreters import channels as sc
        except ImportError:
            return None
        self = cls()
        self.interp = si.create()
        r_in, self.send = sc.create()
        self.recv, s_out = sc.create()
        self.interp.prepare_main(inp=r_in, out=s_out)
        self.thread = threading.Thread(target=self.interp.exec, args=(code,))
        self.thread.start()
        return self

    def finish(self) -> None:
        self.send.send_nowait(b"stop")
        self.thread.join()
        self.interp.close()


def pingpong_stdlib(n=20) -> float | None:
    w = StdlibWorker.start("while (m := inp.recv()) != b'stop':\n    out.send(m)\n")
    if w is None:
        return None
    s_in, r_out = w.send, w.recv
    msg = b"12345678"
    s_in.send(msg)
    r_out.recv()
    t0 = time.perf_counter()
    for _ in range(n):
        s_in.send(msg)
        r_out.recv()
    dt = time.perf_counter() - t0
    w.finish()
    return dt / n


LATENCY = """
import time
for m in channels.inp:
    now = time.perf_counter_ns()
    channels.out.send_nowait(str(now - int(m)).encode())
"""


def wake_latency_ours(n=200, gap=0.002) -> float:
    """One-way latency to a receiver that was already waiting (parked), in seconds."""
    w = Worker(LATENCY)
    s_in, r_out = w.send, w.recv
    lat = []
    for _ in range(n):
        time.sleep(gap)
        s_in.send_nowait(str(time.perf_counter_ns()).encode())
        lat.append(int(r_out.recv()))
    w.finish()
    return sorted(lat)[n // 2] * 1e-9


def wake_latency_stdlib(n=100, gap=0.002) -> float | None:
    w = StdlibWorker.start(
        "import time\n"
        "while (m := inp.recv()) != b'stop':\n"
        "    out.send_nowait(str(time.perf_counter_ns() - int(m)).encode())\n"
    )
    if w is None:
        return None
    s_in, r_out = w.send, w.recv
    lat = []
    for _ in range(n):
        time.sleep(gap)
        s_in.send_nowait(str(time.perf_counter_ns()).encode())
        lat.append(int(r_out.recv()))
    w.finish()
    return sorted(lat)[n // 2] * 1e-9


def bench_pingpong():
    ours = pingpong_ours()
    pipe = pingpong_pipe()
    report(
        "ping-pong 8 B vs mp.Pipe",
        f"{ours * 1e6:.2f} us",
        f"{pipe * 1e6:.2f} us",
        pipe / ours,
        ">= 10x",
    )
    std = pingpong_stdlib()
    if std is not None:
        report(
            "ping-pong 8 B vs stdlib channel",
            f"{ours * 1e6:.2f} us",
            f"{std * 1e6:,.0f} us",
            std / ours,
            ">= 1000x",
        )
    ours = wake_latency_ours()
    std = wake_latency_stdlib()
    if std is not None:
        report(
            "wake a waiting receiver vs stdlib",
            f"{ours * 1e6:.1f} us",
            f"{std * 1e6:,.0f} us",
            std / ours,
            "(median, one way)",
        )


# ---------------------------------------------------------------- streaming 1 MiB
SINK = """
n = 0
for m in channels.inp:
    n += len(m)
    if type(m) is memoryview:
        m.release()
channels.ack.send_nowait(str(n).encode())
"""


def stream_ours(method: str, count=2000, size=MiB) -> float:
    w = Worker(SINK, out_name="ack")
    s_in, r_ack = w.send, w.recv
    payload = os.urandom(size)  # real pages: an all-zero bytes would copy from the zero page
    send = getattr(s_in, method)
    for _ in range(50):
        send(payload)
    t0 = time.perf_counter()
    for _ in range(count):
        send(payload)
    s_in.close()
    total = int(r_ack.recv())
    dt = time.perf_counter() - t0
    assert total == (count + 50) * size, total
    w.finish()
    return count * size / dt


def _pipe_sink(conn):
    n = 0
    while True:
        m = conn.recv_bytes()
        if not m:
            break
        n += len(m)
    conn.send_bytes(str(n).encode())


def stream_pipe(count=1000, size=MiB) -> float:
    a, b = mp.Pipe()
    p = mp.Process(target=_pipe_sink, args=(b,))
    p.start()
    payload = os.urandom(size)  # real pages: an all-zero bytes would copy from the zero page
    for _ in range(20):
        a.send_bytes(payload)
    t0 = time.perf_counter()
    for _ in range(count):
        a.send_bytes(payload)
    a.send_bytes(b"")
    total = int(a.recv_bytes())
    dt = time.perf_counter() - t0
    assert total == (count + 20) * size
    p.join()
    return count * size / dt


def bench_stream():
    pipe = stream_pipe()
    for method, target in (("send", ">= 2x"), ("send_buffer", ">= 5x")):
        ours = stream_ours(method)
        report(
            f"stream 1 MiB {method} vs mp.Pipe",
            f"{ours / 1e9:.2f} GB/s",
            f"{pipe / 1e9:.2f} GB/s",
            ours / pipe,
            target,
        )


# ---------------------------------------------------------------- create + close
def create_ours(n=50) -> float:
    interpcli.create().close()
    t0 = time.perf_counter()
    for _ in range(n):
        interpcli.create().close()
    return (time.perf_counter() - t0) / n


def create_stdlib(n=50) -> float:
    try:
        import _interpreters as mod
    except ImportError:
        import _xxsubinterpreters as mod
    mod.destroy(mod.create())
    t0 = time.perf_counter()
    for _ in range(n):
        mod.destroy(mod.create())
    return (time.perf_counter() - t0) / n


def bench_create():
    ours, std = create_ours(), create_stdlib()
    report(
        "create+close vs _interpreters",
        f"{ours * 1e3:.2f} ms",
        f"{std * 1e3:.2f} ms",
        std / ours,
        ">= 1x",
    )
    # a pooled interpreter: ready to run again right away
    i = interpcli.create()
    i.run("pass")
    t0 = time.perf_counter()
    for _ in range(200):
        i.run("pass")
    reuse = (time.perf_counter() - t0) / 200
    i.close()
    report(
        "reused interpreter: run('pass')",
        f"{reuse * 1e6:.0f} us",
        "1 ms budget",
        1e-3 / reuse,
        ">= 1x",
    )


# ---------------------------------------------------------------- parallel CPU
CPU = "n = 0\nfor k in range(6_000_000):\n    n += k\n"


def bench_parallel():
    a, b = interpcli.create(), interpcli.create()
    a.run("pass"), b.run("pass")

    def one():
        t0 = time.perf_counter()
        a.run(CPU).check()
        return time.perf_counter() - t0

    def two():
        ts = [threading.Thread(target=x.run, args=(CPU,)) for x in (a, b)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.perf_counter() - t0

    speedups = []
    for _ in range(3):
        t1, t2 = one(), two()
        speedups.append(2 * t1 / t2)
    best = max(speedups)
    report(
        "2 CPU-bound interpreters vs 1", f"{best:.2f}x work/s", "1 interpreter", best, ">= 1.85x"
    )
    a.close()
    b.close()


# ---------------------------------------------------------------- locks
def _best_ns(stmt: str, names: dict, number: int, repeat: int = 7) -> float:
    import timeit

    return min(timeit.repeat(stmt, globals=names, number=number, repeat=repeat)) / number * 1e9


def _handoff(make, n=20_000) -> float:
    """Two threads passing the turn through two locks (each wait parks): us per pass."""
    ping, pong = make(), make()
    ping.acquire()
    pong.acquire()

    def other():
        for _ in range(n):
            ping.acquire()
            pong.release()

    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    for _ in range(n):
        ping.release()
        pong.acquire()
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed / n * 1e6


def bench_locks():
    """The locks `interp run` scripts get (the core's, interruptible on the main thread)
    against CPython's _thread locks, which they replace."""
    import _thread

    from interpcli import _lowlevel

    pairs = [
        ("Lock", _lowlevel.allocate_lock, _thread.allocate_lock),
        ("RLock", _lowlevel.RLock, _thread.RLock),
    ]
    for label, ours_make, cpy_make in pairs:
        for what, stmt in (("acquire + release", "a(); r()"), ("with", "with lock: pass")):
            o, c = ours_make(), cpy_make()
            ours = _best_ns(stmt, {"a": o.acquire, "r": o.release, "lock": o}, 500_000)
            cpy = _best_ns(stmt, {"a": c.acquire, "r": c.release, "lock": c}, 500_000)
            report(
                f"{label} {what}, uncontended",
                f"{ours:.0f} ns",
                f"{cpy:.0f} ns",
                cpy / ours,
                ">= 1x",
            )
        ours = _best_ns("m()", {"m": ours_make}, 500_000)
        cpy = _best_ns("m()", {"m": cpy_make}, 500_000)
        report(f"{label} create", f"{ours:.0f} ns", f"{cpy:.0f} ns", cpy / ours, ">= 1x")
    ours = min(_handoff(_lowlevel.allocate_lock) for _ in range(3))
    cpy = min(_handoff(_thread.allocate_lock) for _ in range(3))
    report("Lock hand-off between 2 threads", f"{ours:.1f} us", f"{cpy:.1f} us", cpy / ours, "~ 1x")


BENCHES = {
    "pingpong": bench_pingpong,
    "stream": bench_stream,
    "create": bench_create,
    "parallel": bench_parallel,
    "locks": bench_locks,
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(BENCHES)
    print(f"Python {sys.version.split()[0]}, interpcli {interpcli.__version__}")
    for name in names:
        BENCHES[name]()
