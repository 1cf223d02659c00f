"""Code runs as fast in an interpreter's later runs as in its first one. On 3.12 the eval
breaker's "asynchronous exception" bit belongs to the interpreter and only raising one
resets it: a run that ended by clearing an asynchronous exception that was never set (or
that had fired already) left it on, and every later run of that interpreter took the slow
path at each check of the breaker, at every call and loop turn (about 30% slower
pure-Python code).

Timed so that a busy machine does not matter: inside one run, a loop that checks the
breaker at every turn alternates with straight-line code that almost never does, and the
median of their time ratio is the run's figure (CPU time, both under the same load). A
stuck bit raises that figure by about half; a worn interpreter's figure is held to within
20% of a fresh interpreter's first run, taken in the same round."""

import statistics
import warnings

import pytest

import interpcli
from interpcli.interpreter import create_fresh

WORK = """
import statistics, time
exec("def _flat(x):\\n" + "    x = x + 1\\n" * 500 + "    return x\\n")
def _checks(n):
    for _ in range(n):
        pass
def _straight(n):
    f = _flat
    for _ in range(n):
        f(0)
def _share():
    r = []
    for _ in range(15):
        t0 = time.thread_time()
        _checks(60_000)
        t1 = time.thread_time()
        _straight(120)
        t2 = time.thread_time()
        r.append((t1 - t0) / (t2 - t1))
    return statistics.median(r)
"""
ROUNDS = 5
MARGIN = 1.2


def _share(interp, source) -> float:
    r = interp.run(source, capture_output=True)
    r.check()
    return float(r.stdout)


def _worn_to_first_ratio(worn, later) -> tuple[float, list[float]]:
    ratios = []
    for _ in range(ROUNDS):
        fresh = create_fresh()  # not a spare made in the background meanwhile
        try:
            first = _share(fresh, WORK + "print(_share())")
        finally:
            fresh.close()
        ratios.append(later(worn) / first if callable(later) else _share(worn, later) / first)
    return statistics.median(ratios), [round(r, 2) for r in ratios]


def _assert_as_fast_as_a_first_run(wear, later="print(_share())"):
    """wear(interp) readies a new interpreter; its later runs are held to MARGIN of a fresh
    one's first. A stuck bit slows every interpreter worn so. Once in many CI runs (3.15)
    one worn interpreter was slow in all rounds and the cause was not found: a second
    interpreter worn the same way must then be slow too for the test to fail, and the
    first one's figures are reported as a warning."""
    figures = []
    for _ in range(2):
        worn = interpcli.create()
        try:
            wear(worn)
            ratio, rounds = _worn_to_first_ratio(worn, later)
        finally:
            worn.close()
        if ratio <= MARGIN:
            if figures:
                warnings.warn(
                    f"one worn interpreter ran the breaker-checking loop x{figures[0][0]:.2f} "
                    f"slower than a first run (rounds: {figures[0][1]}); the next was level",
                    stacklevel=2,
                )
            return
        figures.append((ratio, rounds))
    pytest.fail(
        "the breaker-checking loop is slower in later runs than in a first run, in two "
        "interpreters: "
        + "; ".join(f"x{ratio:.2f} (rounds: {rounds})" for ratio, rounds in figures)
    )


def _worked(interp):
    interp.run(WORK).check()


def test_later_runs_as_fast_as_the_first():
    def wear(interp):
        _worked(interp)
        for _ in range(3):
            interp.run("pass").check()

    _assert_as_fast_as_a_first_run(wear)


def test_runs_after_an_interrupted_one_as_fast():
    def wear(interp):
        _worked(interp)
        r = interp.run("while True: pass", timeout=0.05)
        assert r.exc_type == "TimeoutError"
        # an interrupt the code catches itself, and goes on
        interp.run("try:\n    while True: pass\nexcept TimeoutError:\n    pass", timeout=0.05)

    _assert_as_fast_as_a_first_run(wear)


def test_run_goes_on_as_fast_after_an_interrupted_channel_wait():
    """An interrupt that ends a channel wait is raised there, not as an asynchronous
    exception; the run that catches it goes on at full speed."""

    def interrupted_then_timed(worn):
        ch = interpcli.channels.create_duplex()
        r = worn.run(
            "try:\n    channels.c.recv()\nexcept TimeoutError:\n    pass\nprint(_share())",
            channels={"c": ch},
            timeout=0.05,
            capture_output=True,
        )
        assert r.stdout, r.traceback
        return float(r.stdout)

    _assert_as_fast_as_a_first_run(_worked, interrupted_then_timed)
