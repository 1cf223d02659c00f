"""Ctrl-C and signals for the scripts of `interp run` and `interp pipe`, as python gives
them to a script: SIGINT goes to each script (its handler runs; the default raises
KeyboardInterrupt, which cuts its main thread's sleep, select and reads short), and the
process's status is the scripts' own (130 only when KeyboardInterrupt escapes one).

`interp` still ends within the grace when a script cannot take the signal: a run whose
main thread has not run Python since the Ctrl-C (blocked in a C call, such as
os.wait()), or a thread left in an interpreter after its run, ends the process with
status 130 and one line naming it; so does another Ctrl-C meanwhile. A script that took
the signal goes on as long as it likes, its exit joining its non-daemon threads, as under
python."""

import time
from _queue import Empty, SimpleQueue

# GRACE: seconds an interrupted (Ctrl-C) or timed-out run gets to stop before the process
# leaves, unless INTERP_GRACE says otherwise (interpreter.grace): the one default
from .._shutdown import GRACE
from ..interpreter import grace
from .signals import set_sigint_waker, sigints, start_raw_thread
from .status import ExitStatus

# Seconds after a SIGINT was passed on within which another is passed on too, even when
# a script has not taken the last yet (ctrlc's "interrupted again" ends the process after)
AGAIN = 0.25

# Run before the script, in its thread: signals and interruptible waits there.
SIGNALS = "import interpcli._signals_setup as _s\n_s.install()\ndel _s\n"
# Run before the script in the thread that runs it, when that is not the setup's
# (a run with --timeout): that thread becomes the script's main thread for signals.
MAIN_THREAD = "import interpcli._signals_setup as _s\n_s.main_thread()\ndel _s\n"

_SIGINT = 2


def _lowlevel():
    from .. import _lowlevel

    return _lowlevel


def post_sigint(job) -> None:
    """Deliver SIGINT to the job's script now (its handler, or KeyboardInterrupt)."""
    _lowlevel().signal_post(job.interp.id, _SIGINT)


def forget_signals(job) -> None:
    """The job's signal wishes end with its run: the process's dispositions come back."""
    try:
        _lowlevel().signal_forget(job.interp.id)
    except Exception:
        pass


def not_taken(session) -> str:
    """The runs going on whose script has not taken the last Ctrl-C, as one text."""
    names = []
    for job in session.jobs:
        if not job.launched or job.finished:
            continue
        if job.signals and job.interp is not None:  # its script, or its exit's joins
            try:
                if _lowlevel().signal_taken(job.interp.id):
                    continue
            except Exception:
                pass
        label = job.program.label
        names.append(f"a thread of {label}" if job.result is not None else label)
    return ", ".join(names)


def wait_for_runs(session) -> None:
    """After Ctrl-C, wait for the runs whose threads began (the others will not start),
    ending the process when one does not take the signal within the grace."""
    deadline: float | None = time.monotonic() + grace(GRACE)
    # the count the session acted on, not sigints(): a SIGINT that came since (a script
    # sending itself one as soon as the last reached it) is another, to be passed on
    seen = session.sigints_handled or sigints()
    # meanwhile SIGINT is only an event read below: a KeyboardInterrupt raised wherever
    # this loop happens to be would end interp (a script sending itself SIGINT in a loop)
    set_sigint_waker(session._sigint_event, quiet=True)
    try:
        _wait_for_runs(session, deadline, seen)
    finally:
        set_sigint_waker(session._sigint_event)


def _wait_for_runs(session, deadline, seen) -> None:
    while any(job.launched and not job.finished for job in session.jobs):
        try:
            try:
                if deadline is None:
                    event = session._events.get()
                else:
                    event = session._events.get(
                        timeout=min(max(0.0, deadline - time.monotonic()), 3600.0)
                    )
            except Empty:
                assert deadline is not None  # only a get with a timeout raises Empty
                if time.monotonic() < deadline:
                    continue
                stuck = not_taken(session)
                if stuck:
                    session._force_exit(
                        f"{stuck} did not stop when interrupted (blocked in a C call?)",
                        ExitStatus.INTERRUPTED,
                    )
                deadline = None  # every run took it: wait for them to end
                continue
            if event[0] != "sigint":
                session._handle(event)
                continue
        except KeyboardInterrupt:
            event = ("sigint", sigints())
        if event[1] > seen:  # another Ctrl-C
            seen = event[1]
            # one that follows the last at once may come from the script itself (os.kill
            # in a loop), whose taking the last is not counted yet: passed on, as a
            # person's second Ctrl-C does not come that fast
            stuck = not_taken(session) if time.monotonic() - session.posted_at > AGAIN else ""
            if stuck:
                session._force_exit(
                    f"interrupted again while {stuck} did not stop", ExitStatus.INTERRUPTED
                )
            session._interrupt()
            deadline = time.monotonic() + grace(GRACE)


def close_within_grace(session) -> None:
    """Close the interpreters after Ctrl-C in a helper thread, within the grace: threads
    still running in one then (blocked in a C call), or another Ctrl-C, end the process."""
    done: SimpleQueue = SimpleQueue()
    deadline = time.monotonic() + grace(GRACE)
    again = object()  # what another Ctrl-C puts in done
    set_sigint_waker(lambda n: done.put(again), quiet=True)
    try:
        start_raw_thread(lambda: done.put(session._close_all(deadline)), ())
        try:
            try:
                stuck = done.get(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
            except Empty:
                stuck = "the interpreters"
        except KeyboardInterrupt:
            stuck = again
    finally:
        set_sigint_waker(None)
    if stuck is again:
        session._force_exit("interrupted again while closing", ExitStatus.INTERRUPTED)
    if stuck:
        session._force_exit(f"{stuck} still running after Ctrl-C", ExitStatus.INTERRUPTED)
