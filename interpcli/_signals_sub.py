"""Signals inside a script's interpreter (`interp run`), as python gives them to a script
(the design, and what cannot be done: docs/signals.md). install(), run before the script
in its thread, makes that thread the one that gets signals and replaces, in this
interpreter only, signal.signal/getsignal/set_wakeup_fd/siginterrupt/pause/raise_signal,
pidfd_send_signal, time.sleep, os.kill and _thread.interrupt_main (_signals_waits: the
other waits; _signals_children: the programs it starts). Handlers run on the main thread
between bytecodes (a sys.monitoring tool turned on by _deliver) or when a wait wakes;
SIGINT's default KeyboardInterrupt is raised by such a wait, or by the core as an
asynchronous exception."""

import _signal
import _thread
import os
import sys
import time

from interpcli import _platform

from ._lowlevel import lock_interrupt, signal_ack, signal_want

SIG_DFL = _signal.SIG_DFL
SIG_IGN = _signal.SIG_IGN
_NSIG = getattr(_signal, "NSIG", 65)
_MAIN_ONLY = "{} only works in main thread of the main interpreter"

_main = None  # the script's thread (set by install)
_handlers: dict = {}  # signum -> the script's disposition
_pending: list = []  # signals whose handlers are to run on the main thread
_wake = _thread.allocate_lock()  # released by _deliver: ends sleep() and pause()
_wake.acquire()
_wakeup_fd = -1
_tool = None  # the sys.monitoring tool id, once taken
_armed = False
_delivered: dict = {}  # signum -> how many times _deliver was given it
_handled = 0  # how many pending signals the main thread took
_waiting = False  # the main thread is in _blocking
_keyboard = False  # a KeyboardInterrupt for _blocking to raise
_efd = None  # a wake-up fd _deliver posts to: ends select() and read()
_efd_w = None  # its write end (_platform.wake_open)
_orig_sleep, _orig_kill = time.sleep, os.kill
_orig_getsignal, _orig_raise_signal = _signal.getsignal, _signal.raise_signal
_orig_pause = getattr(_signal, "pause", None)
_orig_pidfd_send_signal = getattr(_signal, "pidfd_send_signal", None)


def install() -> None:
    """Make the calling thread the script's main thread for signals, and put this
    module's functions in place of the stdlib's (see the module docstring); the rest is
    interpcli._signals_setup's."""
    set_main_thread()
    _event_fd()  # before any wait: a signal that comes first still ends it
    for fn in (
        signal,
        getsignal,
        set_wakeup_fd,
        siginterrupt,
        pause,
        raise_signal,
        pidfd_send_signal,
    ):
        fn.__module__ = "signal"  # as the builtins they replace say (before staticmethod
        # copies it)
    mod = sys.modules.get("signal")
    # staticmethod: like the builtins they replace, they do not bind when a class keeps
    # one as an attribute (selectors.SelectSelector._select = select.select)
    _signal.signal = staticmethod(signal)
    _signal.getsignal = staticmethod(getsignal)
    _signal.set_wakeup_fd = staticmethod(set_wakeup_fd)
    _signal.siginterrupt = staticmethod(siginterrupt)
    _signal.pause = staticmethod(pause)
    if mod is not None:  # imported already: `from _signal import *` copied these
        for name in ("set_wakeup_fd", "siginterrupt", "pause", "raise_signal"):
            setattr(mod, name, staticmethod(globals()[name]))
    time.sleep = staticmethod(sleep)
    os.kill = staticmethod(kill)
    _thread.interrupt_main = staticmethod(interrupt_main)
    _signal.raise_signal = staticmethod(raise_signal)
    if mod is not None:
        mod.raise_signal = _signal.raise_signal  # type: ignore[attr-defined]  # patched on purpose
    if _orig_pidfd_send_signal is not None:
        _signal.pidfd_send_signal = staticmethod(pidfd_send_signal)
        if mod is not None:
            mod.pidfd_send_signal = _signal.pidfd_send_signal  # type: ignore[attr-defined]  # as above


def set_main_thread() -> None:
    """The calling thread is the script's main thread from now on."""
    global _main
    _main = _thread.get_ident()


def _check_signum(signum) -> int:
    signum = int(signum)  # an enum member, as signal.py passes them
    if not 1 <= signum < _NSIG:
        raise ValueError("signal number out of range")
    return signum


def _initial(signum: int):
    """The disposition a script starts with: python's own at start-up."""
    try:
        value = _orig_getsignal(signum)
    except (ValueError, OSError):
        value = SIG_DFL
    if signum == _signal.SIGINT:
        # python keeps SIGINT ignored when it started so (a background job), as interp does
        return SIG_IGN if value == SIG_IGN and type(value) is int else _signal.default_int_handler
    # only a plain int is this interpreter's own object (a callable would be another's)
    return value if type(value) is int else SIG_DFL


def getsignal(signalnum, /):
    """Return the current action for the given signal."""
    signum = _check_signum(signalnum)
    if signum in _handlers:
        return _handlers[signum]
    return _initial(signum)


def signal(signalnum, handler, /):
    """Set the action for the given signal; return the previous one. Only the script's
    main thread may call it, as only python's main thread may."""
    if _thread.get_ident() != _main:
        raise ValueError(_MAIN_ONLY.format("signal"))
    signum = _check_signum(signalnum)
    if not callable(handler) and handler not in (SIG_IGN, SIG_DFL):
        raise TypeError(
            "signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object"
        )
    if signum in (_signal.SIGKILL, _signal.SIGSTOP):
        raise OSError(22, "Invalid argument")
    old = getsignal(signum)
    if handler in (SIG_IGN, SIG_DFL) and not callable(handler):
        handler = int(handler)
    signal_want(signum, handler != SIG_DFL or signum == _signal.SIGINT)
    _handlers[signum] = handler
    return old


def set_wakeup_fd(fd, /, *, warn_on_full_buffer=True):
    """Bytes of the signal numbers caught go to fd (asyncio's loop watches it)."""
    global _wakeup_fd
    if _thread.get_ident() != _main:
        raise ValueError(_MAIN_ONLY.format("set_wakeup_fd"))
    fd = int(fd)
    if fd != -1:
        if os.get_blocking(fd):
            raise ValueError(f"the fd {fd} must be in non-blocking mode")
    old, _wakeup_fd = _wakeup_fd, fd
    return old


def siginterrupt(signalnum, flag, /):
    """Accepted for compatibility: system calls are retried after a signal (PEP 475)."""
    _check_signum(signalnum)


def pause():
    """Wait until a signal's handler has run."""
    if _thread.get_ident() != _main:
        return _orig_pause()
    before = _handled
    while True:
        _blocking(_wake.acquire)
        signal_ack()
        if _pending:
            _run_pending(sys._getframe(1))
        if _handled != before:  # (the monitoring callback may have run them)
            return None


def sleep(secs, /):
    """time.sleep(secs), which a signal's handler interrupts on the main thread."""
    if _thread.get_ident() != _main or type(secs) not in (int, float) or not 0 < secs < 1e9:
        return _orig_sleep(secs)
    deadline = time.monotonic() + secs
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if _blocking(_wake.acquire, True, left):
            signal_ack()
            if _pending:
                _run_pending(sys._getframe(1))


def kill(pid, signal, /):
    """os.kill(pid, signal); sent to this process, the signal's handler has run (or its
    KeyboardInterrupt is raised) when it returns, as under python."""
    waits = _is_self(pid) and _waits_for(signal)
    before = _delivered.get(_int_or_none(signal), 0)
    _orig_kill(pid, signal)
    if waits:
        _await_delivery(signal, before)


def raise_signal(signalnum, /):
    """Send a signal to the process; its handler has run when this returns. A signal the
    script handles goes to the process (os.kill), not to this thread as raise() sends it:
    the main interpreter's main thread, which forwards it, would not see it before its
    own wait ended."""
    waits = _waits_for(signalnum)
    before = _delivered.get(_int_or_none(signalnum), 0)
    if waits:
        _orig_kill(os.getpid(), int(signalnum))
        _await_delivery(signalnum, before)
    else:
        _orig_raise_signal(signalnum)


def pidfd_send_signal(pidfd, sig, siginfo=None, flags=0, /):
    """signal.pidfd_send_signal; sent to this process (a pidfd of it, or its /proc
    directory), the signal's handler has run (or its KeyboardInterrupt is raised) when it
    returns, as os.kill's."""
    waits = _waits_for(sig) and _pidfd_is_self(pidfd)
    before = _delivered.get(_int_or_none(sig), 0)
    _orig_pidfd_send_signal(pidfd, sig, siginfo, flags)
    if waits:
        _await_delivery(sig, before)


def _pidfd_is_self(pidfd) -> bool:
    """pidfd names this process: a pidfd (its fdinfo's Pid) or the /proc/PID directory."""
    try:
        fd = int(pidfd)
        pid = str(os.getpid())
        if os.readlink(f"/proc/self/fd/{fd}") == f"/proc/{pid}":
            return True
        with open(f"/proc/self/fdinfo/{fd}") as info:
            return any(line.split() == ["Pid:", pid] for line in info)
    except (TypeError, ValueError, OverflowError, OSError):
        return False


def interrupt_main(signum=_signal.SIGINT, /):
    """Simulate the arrival of signum on the script's main thread: its handler runs there
    at the next line (nothing happens for SIG_DFL and SIG_IGN), as python does it; called
    on the main thread, the handler has run (or raised) when it returns."""
    signum = _check_signum(signum)
    if callable(getsignal(signum)):
        _pending.append(signum)
        if _thread.get_ident() == _main:
            _run_pending(sys._getframe(1))
        else:
            _arm()


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _is_self(pid) -> bool:
    try:
        return int(pid) == os.getpid()
    except (TypeError, ValueError):
        return False


def _waits_for(signum) -> bool:
    """True when the calling (main) thread is to wait for signum's handler to run."""
    if _thread.get_ident() != _main:
        return False
    try:
        handler = getsignal(signum)
    except (TypeError, ValueError, OverflowError):
        return False
    return callable(handler)


def _await_delivery(signum, before: int) -> None:
    """Wait (10 seconds at most: interp's main thread forwards the signal, which a loaded
    machine may hold up) until _deliver was given signum since `before`, then run what it
    left pending here."""
    deadline = time.monotonic() + 10.0
    while _delivered.get(int(signum), 0) == before:
        left = deadline - time.monotonic()
        if left <= 0 or not _blocking(_wake.acquire, True, left):
            return
    signal_ack()
    if _pending:
        _run_pending(sys._getframe(2))


def _event_fd() -> int:
    global _efd
    if _efd is None:
        global _efd_w
        _efd, _efd_w = _platform.wake_open()
    return _efd


def _after_wake() -> None:
    """On the main thread, after _deliver woke it: run what is pending."""
    assert _efd is not None  # a wait on it woke
    try:
        _platform.wake_drain(_efd)
    except OSError:
        pass
    signal_ack()
    if _pending:
        _run_pending(sys._getframe(2))


def _blocking(call, *args):
    """call(*args), a wait of the main thread that _deliver ends: a KeyboardInterrupt
    that came meanwhile is raised here when it returns."""
    global _waiting, _keyboard
    _waiting = True
    try:
        result = call(*args)
    finally:
        _waiting = False
    if _keyboard:
        _keyboard = False
        signal_ack()
        raise KeyboardInterrupt
    return result


# the modules whose frames a script's traceback does not show (_trim_traceback)
_OWN = (
    "interpcli._signals_sub",
    "interpcli._signals_waits",
    "interpcli._signals_locks",
    "interpcli._signals_children",
)


def _trim_traceback(exc) -> None:
    """Take the frames of the functions that stand in for the stdlib's (this module's and
    its siblings') out of exc's traceback and its context's, so that a KeyboardInterrupt
    or a handler's exception shows the frames python's would. The core calls it on a
    run's uncaught exception."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb, prev = exc.__traceback__, None
        while tb is not None:
            nxt = tb.tb_next
            if tb.tb_frame.f_globals.get("__name__") in _OWN:
                if prev is None:
                    exc.__traceback__ = nxt
                else:
                    prev.tb_next = nxt
            else:
                prev = tb
            tb = nxt
        exc = exc.__cause__ if exc.__cause__ is not None else exc.__context__


def _lock_woken() -> None:
    """Called by the core's lock wait on the main thread when a signal ended it: raise the
    KeyboardInterrupt that is due, or run the handlers (the wait goes on unless one
    raised)."""
    global _keyboard
    signal_ack()
    if _keyboard:
        _keyboard = False
        raise KeyboardInterrupt
    if _pending:
        _run_pending(sys._getframe(1))


def _deliver(signum: int) -> bool:
    """Called by the core's forwarder (on a thread state of its own) for each signal
    caught for this interpreter. True: raise KeyboardInterrupt in the script (the core
    does it, as for Ctrl-C); otherwise the handler, if any, runs on the main thread."""
    _delivered[signum] = _delivered.get(signum, 0) + 1
    if _wakeup_fd >= 0:
        try:
            os.write(_wakeup_fd, bytes([signum]))
        except OSError:
            pass
    handler = _handlers.get(
        signum, _signal.default_int_handler if signum == _signal.SIGINT else SIG_DFL
    )
    keyboard = handler is _signal.default_int_handler or (
        signum == _signal.SIGINT and handler == SIG_DFL
    )
    # the main thread's lock wait ends (or, about to park, finds this and does not)
    parked = lock_interrupt()
    if keyboard and (_waiting or parked):  # in _blocking or a lock wait: raised there
        global _keyboard
        _keyboard = True
        keyboard = False
        _pending_wake()
        return False
    if not keyboard and callable(handler):
        _pending.append(signum)
    if keyboard or _pending:
        _arm()
        _pending_wake()
    return keyboard


def _interrupted() -> None:
    """Called by the core when it set an asynchronous exception in the run (an interrupt,
    --timeout): the main thread's wait ends, so that it is raised."""
    lock_interrupt()
    _pending_wake()


def _pending_wake() -> None:
    """End the main thread's wait in sleep(), pause(), select() or read()."""
    if _efd_w is not None:  # set with _efd
        try:
            _platform.wake_post(_efd_w)
        except OSError:
            pass
    if _wake.locked():
        try:
            _wake.release()
        except RuntimeError:
            pass


def _run_pending(frame) -> None:
    """On the main thread: run the handlers of the signals caught, oldest first."""
    global _handled
    while _pending:
        signum = _pending.pop(0)
        handler = getsignal(signum)
        _handled += 1
        if callable(handler):
            try:
                handler(signum, frame)
            except BaseException:
                if _pending:
                    _arm()  # the others run at the next line
                raise


def _on_event(*args):
    """sys.monitoring callback: the first event on the main thread runs the handlers."""
    if _thread.get_ident() != _main:
        return None
    _disarm()
    signal_ack()
    if _pending:
        _run_pending(sys._getframe(1))
    return None


def _arm() -> None:
    global _armed, _tool
    if _armed:
        return
    mon = sys.monitoring
    if _tool is None:
        for tool in (4, 3, 5, 2, 1, 0):
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, "interpcli signals")
                _tool = tool
                break
        else:
            return  # every tool id is taken: the handlers run at the next sleep
        for event in (mon.events.LINE, mon.events.PY_START):
            mon.register_callback(_tool, event, _on_event)
    _armed = True
    mon.set_events(_tool, mon.events.LINE | mon.events.PY_START)


def _disarm() -> None:
    global _armed
    if _armed:
        assert _tool is not None  # armed: the tool id was taken
        _armed = False
        sys.monitoring.set_events(_tool, 0)
