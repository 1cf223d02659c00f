"""PEP 734 side by side: interpcli.interpreters against CPython 3.13's own
test.support.interpreters, and InterpreterPoolExecutor against the thread and process pools.

    python bench/bench_pep734.py            # all of it (the stdlib side needs 3.13)
    python bench/bench_pep734.py --quick    # fewer rounds

1. Queue round trip, main <-> subinterpreter: main puts, the subinterpreter gets and puts
   the item on a second queue, main gets it back.
2. Channel round trip, the same with channels: with send_nowait (the receiver waits for
   each message) and with blocking send (returns once received). 3.13's blocking send
   waits on a lock and hands over directly, so that pattern mostly escapes its 10 ms poll.
3. A CPU-bound map on 2 workers: InterpreterPoolExecutor, ThreadPoolExecutor and
   ProcessPoolExecutor, each timed from creating the pool to shutting it down.
Each figure is the best of --repeat runs (the machine is shared; the best is the least
disturbed)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from interpcli import interpreters as ours
from interpcli.interpreters import InterpreterPoolExecutor
from interpcli.interpreters import channels as our_channels

try:
    from test.support import interpreters as stdlib  # 3.13 ships it privately
    from test.support.interpreters import channels as stdlib_channels
except ImportError:
    stdlib = stdlib_channels = None

QUEUE_ECHO = """if True:
    while True:
        item = q_in.get()
        if item is None:
            break
        q_out.put(item)
"""

CHANNEL_ECHO = """if True:
    while True:
        item = r_in.recv()
        if item is None:
            break
        s_out.{send}(item)
"""


def queue_round_trip(mod, rounds: int) -> float:
    """Seconds per round trip through two queues of mod (interpreters module)."""
    interp = _create(mod)
    q_in, q_out = mod.create_queue(), mod.create_queue()
    interp.prepare_main(q_in=q_in, q_out=q_out)
    t = threading.Thread(target=interp.exec, args=(QUEUE_ECHO,))
    t.start()
    q_in.put(-1)
    q_out.get()  # warm: the echo loop is running
    t0 = time.perf_counter()
    for i in range(rounds):
        q_in.put(i)
        q_out.get()
    elapsed = time.perf_counter() - t0
    q_in.put(None)
    t.join()
    interp.close()
    return elapsed / rounds


def channel_round_trip(mod, chmod, rounds: int, send: str) -> float:
    """Seconds per round trip through two channels; send is "send" (blocking: returns
    once received) or "send_nowait" (returns at once, so the receiver waits)."""
    interp = _create(mod)
    r_in, s_in = chmod.create()
    r_out, s_out = chmod.create()
    interp.prepare_main(r_in=r_in, s_out=s_out)
    t = threading.Thread(target=interp.exec, args=(CHANNEL_ECHO.format(send=send),))
    t.start()
    do_send = getattr(s_in, send)
    do_send(-1)
    r_out.recv()
    t0 = time.perf_counter()
    for i in range(rounds):
        do_send(i)
        r_out.recv()
    elapsed = time.perf_counter() - t0
    s_in.send_nowait(None)
    t.join()
    interp.close()
    return elapsed / rounds


def _create(mod):
    interp = mod.create()
    if mod is stdlib:
        # 3.13's prepare_main cannot share a queue or channel before this import
        interp.exec("from test.support.interpreters import queues, channels")
    return interp


def work(n):
    """CPU-bound, pure Python."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def pool_map(factory, tasks: int, size: int) -> float:
    """Seconds from creating the pool to its shutdown, mapping work over tasks items."""
    t0 = time.perf_counter()
    with factory(2) as ex:
        results = list(ex.map(work, [size] * tasks))
    elapsed = time.perf_counter() - t0
    assert results == [work(size)] * tasks
    return elapsed


def pool_overhead(factory) -> float:
    """Seconds to create a 2-worker pool, run one trivial task per worker, shut it down."""
    t0 = time.perf_counter()
    with factory(2) as ex:
        list(ex.map(int, range(2)))
    return time.perf_counter() - t0


def warm_task_start(rounds: int) -> float:
    """Seconds from submit to result of a trivial task on a warm one-worker pool."""
    with InterpreterPoolExecutor(1) as ex:
        ex.submit(int).result()
        t0 = time.perf_counter()
        for _ in range(rounds):
            ex.submit(int).result()
        return (time.perf_counter() - t0) / rounds


def best(fn, repeat, *args):
    return min(fn(*args) for _ in range(repeat))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    ours_rounds = 2_000 if args.quick else 20_000
    stdlib_rounds = 20 if args.quick else 100
    tasks, size = (8, 200_000) if args.quick else (16, 400_000)

    fig = {"python": sys.version.split()[0]}
    fig["ours_queue_rt_us"] = best(queue_round_trip, args.repeat, ours, ours_rounds) * 1e6
    for send in ("send_nowait", "send"):
        fig[f"ours_channel_{send}_rt_us"] = (
            best(channel_round_trip, args.repeat, ours, our_channels, ours_rounds, send) * 1e6
        )
    if stdlib is not None:
        fig["stdlib_queue_rt_us"] = best(queue_round_trip, args.repeat, stdlib, stdlib_rounds) * 1e6
        for send in ("send_nowait", "send"):
            fig[f"stdlib_channel_{send}_rt_us"] = (
                best(channel_round_trip, args.repeat, stdlib, stdlib_channels, stdlib_rounds, send)
                * 1e6
            )
    fig["warm_task_start_us"] = best(warm_task_start, args.repeat, 200) * 1e6
    fig["interpreter_pool_overhead_ms"] = (
        best(pool_overhead, args.repeat, InterpreterPoolExecutor) * 1e3
    )
    fig["process_pool_overhead_ms"] = best(pool_overhead, args.repeat, ProcessPoolExecutor) * 1e3
    fig["map_tasks"], fig["map_size"] = tasks, size
    fig["serial_s"] = best(lambda: _timed(lambda: [work(size) for _ in range(tasks)]), args.repeat)
    fig["interpreter_pool_s"] = best(pool_map, args.repeat, InterpreterPoolExecutor, tasks, size)
    fig["thread_pool_s"] = best(pool_map, args.repeat, ThreadPoolExecutor, tasks, size)
    fig["process_pool_s"] = best(pool_map, args.repeat, ProcessPoolExecutor, tasks, size)

    if args.json:
        print(json.dumps(fig, indent=2))
        return 0
    print(f"Python {fig['python']}, best of {args.repeat}")
    print(
        f"{'round trip main <-> subinterpreter':40} {'interpcli':>12} {'3.13 stdlib':>14} "
        f"{'speed-up':>10}"
    )
    for kind in ("queue", "channel_send_nowait", "channel_send"):
        o = fig[f"ours_{kind}_rt_us"]
        s = fig.get(f"stdlib_{kind}_rt_us")
        sx = f"{s:12.1f} us" if s else f"{'n/a':>14}"
        ratio = f"{s / o:9.0f}x" if s else f"{'':>10}"
        label = {
            "queue": "Queue put/get",
            "channel_send_nowait": "channel send_nowait/recv",
            "channel_send": "channel send (blocking)/recv",
        }[kind]
        print(f"{label:40} {o:9.2f} us {sx} {ratio}")
    print(f"{'warm InterpreterPoolExecutor task start':40} {fig['warm_task_start_us']:9.1f} us")
    print(
        f"{'2-worker pool start + shutdown':40} interpreters "
        f"{fig['interpreter_pool_overhead_ms']:.1f} ms, processes "
        f"{fig['process_pool_overhead_ms']:.1f} ms"
    )
    print(f"CPU-bound map, {tasks} tasks x work({size}), 2 workers, pool start-up included:")
    for name in ("serial", "interpreter_pool", "thread_pool", "process_pool"):
        v = fig[f"{name}_s"]
        print(f"  {name:22} {v * 1e3:9.1f} ms   {fig['serial_s'] / v:5.2f}x serial")
    return 0


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
