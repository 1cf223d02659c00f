"""Fuzz of close against scripts that act while their interpreter closes: random mixes of
threads started by atexit callbacks, threading's exit callbacks, finalizers and weakref
callbacks of lent buffers' owners, raw _thread and daemon threads, threads that start
threads or register more callbacks, short and long work, closes with short and long
timeouts. Each close ends the interpreter or refuses (InterpreterBusyError) and a later
close ends it; never an abort or a hang. Seeded (INTERPCLI_CLOSE_SEED), in a child
process, bounded in time."""

import os
import random
import time

import pytest
from stress_util import report, run_python, scaled

# Pieces of a script. `work(d)` sleeps d seconds and counts itself on channels.done.
PRELUDE = """
import atexit, threading, _thread, time, weakref
def work(d=0.0):
    time.sleep(d)
    channels.done.send_nowait(b"w")
def spawn(kind, d):
    if kind == "thread":
        threading.Thread(target=work, args=(d,)).start()
    elif kind == "daemon":
        threading.Thread(target=work, args=(d,), daemon=True).start()
    else:
        _thread.start_new_thread(work, (d,))
class Lent:
    def __init__(self, kind, d):
        self.mem, self.kind, self.d = bytearray(32), kind, d
    def __buffer__(self, flags):
        return memoryview(self.mem)
    def __release_buffer__(self, view):
        pass
    def __del__(self):
        spawn(self.kind, self.d)
class Quiet(Lent):
    def __del__(self):
        pass
_keep = []
"""

PIECES = {
    "atexit": "atexit.register(spawn, {kind!r}, {d})",
    "threading_atexit": "threading._register_atexit(spawn, {kind!r}, {d})",
    "lent_del": "channels.data.send_buffer_nowait(Lent({kind!r}, {d}))",
    "lent_weakref": (
        "_o = Quiet('none', 0)\n"
        "_keep.append(weakref.ref(_o, lambda r: spawn({kind!r}, {d})))\n"
        "channels.data.send_buffer_nowait(_o)\ndel _o"
    ),
    "chain": (
        "atexit.register(lambda: threading.Thread(target=lambda: (time.sleep({d}), "
        "atexit.register(spawn, {kind!r}, {d}))).start())"
    ),
    "thread_starts_thread": (
        "atexit.register(lambda: threading.Thread(target=lambda: spawn({kind!r}, {d})).start())"
    ),
    "running_thread": "spawn({kind!r}, {d})",
}

CHILD = """
import random, sys, time, interpcli
rng = random.Random({seed})
pieces, prelude, n = {pieces!r}, {prelude!r}, {n}
outcomes = {{"closed": 0, "refused then closed": 0}}
slowest = 0.0
for case in range(n):
    isolated = rng.random() < 0.5
    kinds = ["thread", "raw"] + ([] if isolated else ["daemon"])
    chosen = [rng.choice(sorted(pieces)) for _ in range(rng.randint(1, 4))]
    source = prelude + "\\n".join(
        pieces[p].format(kind=rng.choice(kinds),
                         d=rng.choice([0.0, 0.001, 0.01, 0.05, 0.3]))
        for p in chosen)
    interp = interpcli.create(isolated=isolated)
    data, done = interpcli.channels.create_duplex(), interpcli.channels.create_duplex()
    r = interp.run(source, channels={{"data": data, "done": done}})
    assert r.completed, (source, r.traceback)
    t0 = time.monotonic()
    try:
        interp.close(timeout=rng.choice([0.02, 0.2, 10.0]))
        outcomes["closed"] += 1
    except interpcli.InterpreterBusyError:
        assert interp.is_alive()
        interp.close()
        outcomes["refused then closed"] += 1
    slowest = max(slowest, time.monotonic() - t0)
    assert not interp.is_alive()
print("OUTCOMES", outcomes, round(slowest, 3), flush=True)
"""


@pytest.mark.timeout(180)
def test_close_fuzz_against_scripts_that_act_while_closing():
    seed = int(os.environ.get("INTERPCLI_CLOSE_SEED", random.randrange(2**32)))
    n = scaled(20, minimum=8)
    t0 = time.monotonic()
    p = run_python(CHILD.format(seed=seed, pieces=PIECES, prelude=PRELUDE, n=n), timeout=120)
    took = time.monotonic() - t0
    assert "Fatal Python error" not in p.stderr, f"seed {seed}: {p.stderr[-3000:]}"
    assert p.returncode == 0, f"seed {seed}: {p.stderr[-3000:]}"
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("OUTCOMES"))
    report(
        "close fuzz", seed=seed, cases=n, outcomes=line[len("OUTCOMES ") :], seconds=round(took, 2)
    )
