"""Thread states of one interpreter made and deleted at the same moment: runs ending while
interrupts (interrupt() or a Canceller) attach to deliver theirs, and threads of the
interpreter ending at the same time. On 3.13 an interpreter with no thread state left
hands its built-in first thread state to the next PyThreadState_New, and that slot is
only reset after the deleting thread has unlinked it: a thread state made in between
found it still in use and the process aborted ("Fatal Python error: init_threadstate:
thread state already initialized"), the crash that also hit Ctrl-C in the CLI. Each
round runs in a fresh process, so an abort is a failure, not the end of the suite."""

import subprocess
import sys

import pytest
from stress_util import report, scaled

HAMMER = r"""
import sys, threading, time
import interpcli
mode, seconds = sys.argv[1], float(sys.argv[2])
i = interpcli.create()
code = "pass"
if mode == "threads":
    # a thread of the interpreter ends while the run that started it ends
    code = "import threading\nthreading.Thread(target=int).start()\n"
stop = time.monotonic() + seconds
counts = {"runs": 0, "busy": 0, "interrupts": 0}

def runner():
    while time.monotonic() < stop:
        c = interpcli.Canceller(i) if mode == "canceller" else None
        if c is not None:
            cancellers.append(c)
        try:
            i.run(code, canceller=c)
            counts["runs"] += 1
        except interpcli.InterpreterBusyError:
            counts["busy"] += 1

cancellers = []

def interrupter():
    while time.monotonic() < stop:
        if mode == "canceller":
            if cancellers:
                cancellers[-1].cancel()
        else:
            i.interrupt()
        counts["interrupts"] += 1

threads = ([threading.Thread(target=runner) for _ in range(3)]
           + [threading.Thread(target=interrupter) for _ in range(2)])
for t in threads:
    t.start()
for t in threads:
    t.join()
i.close()      # joins the threads the runs started
print(counts["runs"], counts["busy"], counts["interrupts"])
"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["interrupt", "canceller", "threads"])
def test_thread_states_made_and_deleted_at_once_never_abort(mode):
    rounds = scaled(8, 2)
    seconds = 1.0
    aborts, runs, interrupts = [], 0, 0
    for _ in range(rounds):
        p = _hammer(mode, seconds)
        if p.returncode != 0 or "Fatal Python error" in p.stderr:
            aborts.append((p.returncode, p.stderr[-2000:]))
            continue
        r, _busy, n = map(int, p.stdout.split())
        runs += r
        interrupts += n
    report(
        f"tstate_race_{mode}", rounds=rounds, aborts=len(aborts), runs=runs, interrupts=interrupts
    )
    assert not aborts, aborts[0]
    assert runs > 0 and interrupts > 0


def _hammer(mode, seconds):
    """One process hammering for `seconds`; prints runs, busy refusals, interrupts."""
    return subprocess.run(
        [sys.executable, "-c", HAMMER, mode, str(seconds)],
        capture_output=True,
        text=True,
        timeout=120,
    )
