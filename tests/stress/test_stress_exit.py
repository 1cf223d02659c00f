"""Process exit at any moment: a normal end, sys.exit, SIGINT, SIGTERM or the reader of
stdout going away, while interpreters run, block on channels, hold threads or lend memory.
The status is the one python gives, and never "Fatal Python error", a core dump or a hang."""

import random
import signal
import subprocess
import sys
import time

import pytest
from stress_util import report

PRELUDE = r"""
import os, signal, sys, threading, time
print("start", flush=True)
import interpcli
state, ending = sys.argv[1], sys.argv[2]
i = interpcli.create()
r, s = interpcli.create_channel()

def background(code, **kw):
    threading.Thread(target=i.run, args=(code,), kwargs=kw, daemon=True).start()
    while not i.is_running():
        time.sleep(0.001)

if state == "busy":
    background("while True:\n    pass\n")
elif state == "recv":
    background("channels.r.recv()", channels={"r": r})
elif state == "send":
    background("channels.s.send(b'x' * 100)", channels={"s": s})
elif state == "threads":
    # threads inside the interpreter: some finishing soon, one blocked on a channel
    i.run("import threading, time\n"
          "for _ in range(3):\n"
          "    threading.Thread(target=time.sleep, args=(0.2,)).start()\n"
          "threading.Thread(target=lambda: list(channels.r)).start()\n",
          channels={"r": r}).check()
elif state == "lent":
    i.run("channels.s.send_buffer_nowait(bytearray(1 << 20))\n"
          "channels.s.send_buffer_nowait(bytearray(1 << 20))\n", channels={"s": s}).check()
    view = r.recv()
elif state == "many":
    others = [interpcli.create() for _ in range(8)]
    for k, o in enumerate(others):
        threading.Thread(target=o.run, args=("channels.r.recv()" if k % 2 else
                                              "while True:\n    pass\n",),
                         kwargs={"channels": {"r": r}}, daemon=True).start()
print("ready", flush=True)

if ending == "normal":
    pass
elif ending == "exit":
    sys.exit(3)
elif ending == "pipe":
    while True:
        print("x" * 1000)
elif state == "main-run":
    i.run("while True:\n    pass\n")        # the main thread itself inside a run
else:
    threading.Event().wait()
"""

STATES = ["idle", "busy", "recv", "send", "threads", "lent", "many", "main-run"]

# python's own statuses: an uncaught KeyboardInterrupt ends the process by SIGINT, SIGTERM
# kills it, a closed stdout ends it with BrokenPipeError (1, or 120 when the final flush
# fails too)
EXPECTED = {
    "normal": {0},
    "exit": {3},
    "sigint": {-signal.SIGINT},
    "sigterm": {-signal.SIGTERM},
    "pipe": {1, 120},
}


def spawn(state, ending):
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE, state, ending],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc, timeout=60):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the process hung; stderr: {err.decode(errors='replace')}") from None
    return out, err.decode(errors="replace")


def check(status, err, ending):
    assert "Fatal Python error" not in err, err
    assert "core dumped" not in err
    assert status not in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS), err
    assert status in EXPECTED[ending], (status, err)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("state", STATES)
def test_exit_in_every_state(state):
    timings = {}
    for ending in ["normal", "exit", "sigint", "sigterm", "pipe"]:
        if state == "main-run" and ending in ("normal", "exit"):
            continue
        t0 = time.perf_counter()
        proc = spawn(state, ending)
        assert proc.stdout.readline() == b"start\n"
        assert proc.stdout.readline() == b"ready\n"
        if ending in ("sigint", "sigterm"):
            time.sleep(0.05)
            proc.send_signal(signal.SIGINT if ending == "sigint" else signal.SIGTERM)
        elif ending == "pipe":
            proc.stdout.close()  # the reader goes away
        out, err = finish(proc)
        check(proc.returncode, err, ending)
        timings[ending] = round(time.perf_counter() - t0, 2)
    report(f"exit_{state}", **{f"{k}_s": v for k, v in timings.items()})


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", ["sigint", "sigterm"])
def test_signal_at_a_random_moment(sig):
    """The signal lands anywhere from the import of interpcli on: creation, the runs
    starting, or the process's own exit (the atexit shutdown of interpreters). Earlier,
    during CPython's own start-up, a SIGINT is CPython's business (3.13 may then report
    "Fatal Python error: init_import_site")."""
    rng = random.Random(10)
    rounds = 24
    statuses = {}
    for k in range(rounds):
        state = STATES[k % len(STATES)]
        ending = "normal" if state != "main-run" else "signal"
        proc = spawn(state, ending)
        assert proc.stdout.readline() == b"start\n"
        time.sleep(rng.random() * 0.4)
        proc.send_signal(signal.SIGINT if sig == "sigint" else signal.SIGTERM)
        out, err = finish(proc)
        # the signal may also come after a normal end
        allowed = EXPECTED[sig] | ({0} if ending == "normal" else set())
        assert "Fatal Python error" not in err, err
        assert proc.returncode not in (-signal.SIGABRT, -signal.SIGSEGV), err
        assert proc.returncode in allowed, (state, proc.returncode, err)
        statuses[proc.returncode] = statuses.get(proc.returncode, 0) + 1
    report(f"random_{sig}", rounds=rounds, statuses={str(k): v for k, v in statuses.items()})
