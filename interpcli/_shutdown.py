"""The exit-time shutdown of every interpreter interpcli made, and the registry of runs
going on that it stops: the process must never finalize with a live subinterpreter or a
thread still inside one (fatal errors in CPython), nor hang on a run that will not end."""

import _signal
import _thread
import os
import sys
import time

from . import _lowlevel, _sync
from .errors import InterpreterBusyError, InterpreterError


class ActiveRuns:
    """The runs going on in this process, each a done flag (set when it ended) and the
    canceller that stops it; the exit shutdown stops them all."""

    def __init__(self):
        self._lock = _thread.allocate_lock()
        self._runs: dict[_sync.Flag, _lowlevel.Canceller] = {}
        self.exiting = False  # the shutdown began: runs asked for now stop before they begin

    def add(self, done: "_sync.Flag", canceller: "_lowlevel.Canceller") -> None:
        """Record a run about to begin; one asked for once the exit began is cancelled
        now (it stops before it begins)."""
        with self._lock:
            self._runs[done] = canceller
            exiting = self.exiting
        if exiting:
            canceller.cancel()

    def remove(self, done: "_sync.Flag") -> None:
        with self._lock:
            self._runs.pop(done, None)

    def pending(self) -> "list[_sync.Flag]":
        with self._lock:
            return list(self._runs)

    def stop_all(self) -> None:
        """From now on runs stop before they begin; cancel every run going on."""
        with self._lock:
            self.exiting = True
            cancellers = list(self._runs.values())
        for canceller in cancellers:
            try:
                canceller.cancel()
            except InterpreterError:
                pass


active_runs = ActiveRuns()
_registered = False


def ensure_registered() -> None:
    """Register shutdown() to run at exit, once: before any interpreter exists (a Ctrl-C
    landing just after a creation must not leave an interpreter that nothing ends at
    exit, fatal on 3.12)."""
    global _registered
    if not _registered:
        _registered = True
        import atexit

        atexit.register(shutdown)


def create(isolated: bool, name: str, strict: "bool | None" = None) -> int:
    """_lowlevel.create(), with the exit shutdown registered first."""
    ensure_registered()
    return _lowlevel.create(isolated, name, strict)


def create_spare(strict: bool = True) -> int:
    """_lowlevel.create_spare(), with the exit shutdown registered first."""
    ensure_registered()
    return _lowlevel.create_spare(strict)


# INTERP_GRACE's one default (README, interp(1)): the seconds a run gets to take a Ctrl-C,
# to stop after its --timeout, or to stop at exit
GRACE = 1.0


def grace(default: float = GRACE) -> float:
    """Seconds an interrupted run gets to stop before the process leaves without cleanup:
    INTERP_GRACE when it holds a non-negative number of seconds, else default (read at
    each use, so a malformed value never breaks an import or a create())."""
    try:
        value = float(os.environ.get("INTERP_GRACE", ""))
    except ValueError:
        return default
    return value if value >= 0 and value != float("inf") else default


def shutdown():
    """At exit: interrupt runs still going (in daemon threads), wait for them to stop, then
    end every interpreter: the process must never exit with live subinterpreters or a
    thread still inside one (both are fatal errors in CPython's finalization).

    The waits give runs grace() seconds to stop. A Ctrl-C during them cuts them short:
    what can end at once ends, and if anything is left the process leaves without cleanup
    (by SIGINT, as after an uncaught KeyboardInterrupt). Elsewhere SIGINT is ignored, so
    that no Ctrl-C lets the process finalize with interpreters alive."""
    _ignore_sigint()
    last = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    interrupted = isinstance(last, KeyboardInterrupt) or _thread_wait_cut_short()
    hurry = False
    while True:
        try:
            stuck = _end_all(hurry)
            break
        except KeyboardInterrupt:  # in a wait of the grace, or one that was pending
            interrupted = hurry = True
            _ignore_sigint()
    if stuck:
        # A run that ignores interrupts (blocked in a C call), or a thread inside an
        # interpreter that does not end, keeps it from ending; finalizing would abort the
        # process (or free what the thread uses), so leave without finalization instead.
        sys.stderr.write(
            f"interpcli: interpreter(s) {', '.join(stuck)} did not stop at "
            "exit; exiting without cleanup\n"
        )
        _leave(interrupted)
    if isinstance(last, KeyboardInterrupt):
        _mark_keyboard_interrupt_exit()


def _ignore_sigint():
    try:
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    except (ValueError, OSError):
        pass  # not the main thread


def _wait(done: "_sync.Flag", timeout: float) -> None:
    """done.wait(timeout), which a Ctrl-C cuts short (KeyboardInterrupt) in the main thread."""
    try:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    except (ValueError, OSError):
        pass
    try:
        done.wait(timeout)
    finally:
        _ignore_sigint()


def _thread_wait_cut_short() -> bool:
    """Non-daemon threads still alive at exit: CPython's wait for them before the exit
    callbacks was cut short, by a Ctrl-C (or an error in a threading exit callback)."""
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    try:
        main = threading.main_thread()
        return any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())
    except Exception:
        return False


def _leave(interrupted: bool):
    """Exit now, without finalization: by SIGINT after a Ctrl-C, else with status 1."""
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except Exception:
            pass
    if interrupted:
        try:
            _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
            os.kill(os.getpid(), _signal.SIGINT)
        except (ValueError, OSError):
            pass
    os._exit(130 if interrupted else 1)


def _end_at_exit(iid: int, deadline: float) -> bool:
    """End one interpreter at exit; False when it cannot be ended before the deadline (a
    run that ignores interrupts, or a thread of its own that does not end)."""
    while True:
        try:
            _lowlevel.destroy(iid, force=True, join_timeout=max(0.0, deadline - time.monotonic()))
            return True
        except InterpreterBusyError:
            if not any(i == iid and running for i, _n, _s, running, _r in _lowlevel.interpreters()):
                return False  # a thread of its own is left
            # a run that began as we looked: it was cancelled on registering, so it ends
            # at once unless a blocking C call holds it; wait for it, then try again
            for done in active_runs.pending():
                _wait(done, deadline - time.monotonic())
            if time.monotonic() >= deadline:
                return False
        except InterpreterError:
            return True  # gone already


def _mark_keyboard_interrupt_exit():
    """After an uncaught KeyboardInterrupt CPython exits by SIGINT, as shells expect, using
    a process-wide flag that every exec() of a string clears, in any interpreter (formatting
    an interrupted run's traceback at exit does one). Set the flag again as CPython does:
    through exec() of code that raises KeyboardInterrupt."""
    try:
        exec("raise KeyboardInterrupt", {})
    except KeyboardInterrupt:
        pass


def _end_all(hurry: bool = False) -> "list[str]":
    """Stop every run, end every interpreter; the names of those that could not be ended.
    hurry: no grace (a Ctrl-C came during it)."""
    main = _lowlevel.main_id()
    spare = sys.modules.get("interpcli._spare")  # its helpers run only if imported
    if spare is not None:
        spare.shutdown()  # a creation in flight completes, then the spares end
    _lowlevel.end_spares()  # also those made elsewhere (cli.early) and never taken
    # stop every run, begun or about to begin (a daemon thread may be just starting one);
    # runs asked for from now on stop before they begin
    active_runs.stop_all()
    # wake every wait on a channel (threads inside interpreters too, which ending the
    # interpreter joins): nobody will feed those channels any more
    _lowlevel.close_all_channels()
    deadline = time.monotonic() + (0.0 if hurry else grace())
    waited: set = set()
    while True:  # runs that registered meanwhile were cancelled on registering
        pending = [done for done in active_runs.pending() if done not in waited]
        if not pending or time.monotonic() >= deadline:
            break
        for done in pending:
            _wait(done, deadline - time.monotonic())
            waited.add(done)
    return [
        name
        for iid, name, _iso, _running, _runs in _lowlevel.interpreters()
        if iid != main and not _end_at_exit(iid, deadline)
    ]
