"""Signals inside a script's interpreter (`interp run`), as python gives them to a script
(the design, and what cannot be done: docs/signals.md). install(), run before the script
in its thread, makes that thread the one that gets signals and replaces, in this
interpreter only, signal.signal/getsignal/set_wakeup_fd/siginterrupt/pause/raise_signal,
time.sleep, select.select, os.read, os.kill, signal.pidfd_send_signal and
_thread.interrupt_main. Handlers run on the main thread between bytecodes (a sys.monitoring tool turned on by _deliver) or when
one of those waits wakes; SIGINT's default KeyboardInterrupt is raised by such a wait, or
by the core as an asynchronous exception."""
import _signal
import _thread
import os
import sys
import time

import _interpcli as _core

SIG_DFL = _signal.SIG_DFL
SIG_IGN = _signal.SIG_IGN
_NSIG = getattr(_signal, "NSIG", 65)
_MAIN_ONLY = "{} only works in main thread of the main interpreter"

_main = None            # the script's thread (set by install)
_handlers: dict = {}    # signum -> the script's disposition
_pending: list = []     # signals whose handlers are to run on the main thread
_wake = _thread.allocate_lock()     # released by _deliver: ends sleep() and pause()
_wake.acquire()
_wakeup_fd = -1
_tool = None            # the sys.monitoring tool id, once taken
_armed = False
_delivered: dict = {}   # signum -> how many times _deliver was given it
_handled = 0            # how many pending signals the main thread took
_waiting = False        # the main thread is in _blocking
_keyboard = False       # a KeyboardInterrupt for _blocking to raise
_efd = None             # an eventfd _deliver writes to: ends select() and read()
_orig_sleep, _orig_read, _orig_kill, _orig_select = time.sleep, os.read, os.kill, None
_orig_waitpid, _orig_poll = os.waitpid, None
_orig_getsignal, _orig_raise_signal = _signal.getsignal, _signal.raise_signal
_orig_pause = getattr(_signal, "pause", None)
_orig_pidfd_send_signal = getattr(_signal, "pidfd_send_signal", None)


def install() -> None:
    """Make the calling thread the script's main thread for signals, and put this
    module's functions in place of the stdlib's (see the module docstring)."""
    global _main
    _main = _thread.get_ident()
    _event_fd()         # before any wait: a signal that comes first still ends it
    _children_unblocked()
    for fn in (signal, getsignal, set_wakeup_fd, siginterrupt, pause, raise_signal,
               pidfd_send_signal):
        fn.__module__ = "signal"    # as the builtins they replace say (before staticmethod
        # copies it)
    mod = sys.modules.get("signal")
    # staticmethod: like the builtins they replace, they do not bind when a class keeps
    # one as an attribute (selectors.SelectSelector._select = select.select)
    _signal.signal = staticmethod(signal)
    _signal.getsignal = staticmethod(getsignal)
    _signal.set_wakeup_fd = staticmethod(set_wakeup_fd)
    _signal.siginterrupt = staticmethod(siginterrupt)
    _signal.pause = staticmethod(pause)
    if mod is not None:         # imported already: `from _signal import *` copied these
        for name in ("set_wakeup_fd", "siginterrupt", "pause", "raise_signal"):
            setattr(mod, name, staticmethod(globals()[name]))
    time.sleep = staticmethod(sleep)
    os.kill = staticmethod(kill)
    os.read = staticmethod(read)
    _thread.interrupt_main = staticmethod(interrupt_main)
    sel = sys.modules.get("select")
    if sel is None:
        import select as sel
    global _orig_select, _orig_poll
    _orig_select = sel.select
    sel.select = staticmethod(select)
    _orig_poll = getattr(sel, "poll", None)
    if _orig_poll is not None:
        sel.poll = staticmethod(poll)
    if hasattr(sel, "epoll"):
        sel.epoll = _epoll_class(sel.epoll)
    if hasattr(os, "pidfd_open"):
        os.waitpid = staticmethod(waitpid)
    if _orig_poll is not None:
        if "socket" in sys.modules:
            _patch_socket(sys.modules["socket"])
        else:       # importing socket costs ~9 ms: patched when the script imports it
            sys.meta_path.insert(0, _SocketFinder)
    _signal.raise_signal = staticmethod(raise_signal)
    if mod is not None:
        mod.raise_signal = _signal.raise_signal
    if _orig_pidfd_send_signal is not None:
        _signal.pidfd_send_signal = staticmethod(pidfd_send_signal)
        if mod is not None:
            mod.pidfd_send_signal = _signal.pidfd_send_signal


def _children_unblocked() -> None:
    """interp runs the script's thread with SIGINT blocked (so that Ctrl-C, and os.kill to
    the process, reach interp's main thread), and a new program inherits the mask: the
    calls that start one (subprocess, multiprocessing's spawn, os.posix_spawn, os.system,
    os.exec*) unblock SIGINT for the time of the call, so the program gets Ctrl-C as
    under python."""
    if not hasattr(_signal, "pthread_sigmask"):
        return
    try:
        import _posixsubprocess
    except ImportError:
        _posixsubprocess = None
    targets = [(os, name) for name in ("posix_spawn", "posix_spawnp", "system", "execv",
                                       "execve") if hasattr(os, name)]
    if _posixsubprocess is not None:
        targets.append((_posixsubprocess, "fork_exec"))
    for module, name in targets:
        setattr(module, name, staticmethod(_sigint_unblocked(getattr(module, name))))


def _sigint_unblocked(call):
    def unblocked(*args, **kwargs):
        old = _signal.pthread_sigmask(_signal.SIG_UNBLOCK, (_signal.SIGINT,))
        try:
            return call(*args, **kwargs)
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
    unblocked.__name__ = unblocked.__qualname__ = call.__name__
    unblocked.__module__ = getattr(call, "__module__", None)
    unblocked.__doc__ = call.__doc__
    return unblocked


def _check_signum(signum) -> int:
    signum = int(signum)    # an enum member, as signal.py passes them
    if not 1 <= signum < _NSIG:
        raise ValueError("signal number out of range")
    return signum


def _initial(signum: int):
    """The disposition a script starts with: python's own at start-up."""
    if signum == _signal.SIGINT:
        return _signal.default_int_handler
    try:
        value = _orig_getsignal(signum)
    except (ValueError, OSError):
        return SIG_DFL
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
        raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, "
                        "or a callable object")
    if signum in (_signal.SIGKILL, _signal.SIGSTOP):
        raise OSError(22, "Invalid argument")
    old = getsignal(signum)
    if handler in (SIG_IGN, SIG_DFL) and not callable(handler):
        handler = int(handler)
    _core._signal_want(signum, handler != SIG_DFL or signum == _signal.SIGINT)
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
        _core._signal_ack()
        if _pending:
            _run_pending(sys._getframe(1))
        if _handled != before:      # (the monitoring callback may have run them)
            return None


def sleep(secs, /):
    """time.sleep(secs), which a signal's handler interrupts on the main thread."""
    if (_thread.get_ident() != _main or type(secs) not in (int, float)
            or not 0 < secs < 1e9):
        return _orig_sleep(secs)
    deadline = time.monotonic() + secs
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if _blocking(_wake.acquire, True, left):
            _core._signal_ack()
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
    """Wait (a second at most) until _deliver was given signum since `before`, then run
    what it left pending here."""
    deadline = time.monotonic() + 1.0
    while _delivered.get(int(signum), 0) == before:
        left = deadline - time.monotonic()
        if left <= 0 or not _blocking(_wake.acquire, True, left):
            return
    _core._signal_ack()
    if _pending:
        _run_pending(sys._getframe(2))


def _event_fd() -> int:
    global _efd
    if _efd is None:
        _efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    return _efd


def _after_wake() -> None:
    """On the main thread, after _deliver woke it: run what is pending."""
    try:
        os.eventfd_read(_efd)
    except OSError:
        pass
    _core._signal_ack()
    if _pending:
        _run_pending(sys._getframe(2))


def select(rlist, wlist, xlist, timeout=None, /):
    """select.select, which a signal's handler interrupts on the main thread (the wait
    goes on afterwards unless the handler raised, as under python)."""
    if _thread.get_ident() != _main:
        return _orig_select(rlist, wlist, xlist, timeout)
    efd = _event_fd()
    rlist = list(rlist)
    deadline = None if timeout is None else time.monotonic() + timeout
    left = timeout
    while True:
        r, w, x = _blocking(_orig_select, rlist + [efd], wlist, xlist, left)
        woke = any(type(f) is int and f == efd for f in r)
        if not woke:
            return r, w, x
        r = [f for f in r if not (type(f) is int and f == efd)]
        _after_wake()
        if r or w or x:
            return r, w, x
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            if left == 0:
                return [], [], []


def _wait_ready(fd, events: int, timeout=None) -> bool:
    """On the main thread: wait until fd has one of the poll events (or an error), at most
    timeout seconds (None: no limit), running the handlers of the signals that come
    meanwhile (one that raises ends the wait); True when fd is ready."""
    import select as sel
    efd = _event_fd()
    p = _orig_poll()
    p.register(fd, events)
    p.register(efd, sel.POLLIN)
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        ms = None if deadline is None else max(0, (deadline - time.monotonic()) * 1000)
        ready = _blocking(p.poll, ms)
        if any(f == efd for f, _ev in ready):
            _after_wake()
        if any(f != efd for f, _ev in ready):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


def _ms_to_s(timeout):
    """poll()'s timeout (ms; None or negative: none) in seconds."""
    if timeout is None:
        return None
    timeout = float(timeout)
    return None if timeout < 0 else timeout / 1000


class _Poll:
    """select.poll()'s object, whose poll() a signal's handler interrupts on the script's
    main thread (the wait goes on afterwards unless the handler raised)."""
    __slots__ = ("_p",)

    def __init__(self):
        self._p = _orig_poll()

    def register(self, fd, eventmask=None, /):
        if eventmask is None:
            return self._p.register(fd)
        return self._p.register(fd, eventmask)

    def modify(self, fd, eventmask, /):
        return self._p.modify(fd, eventmask)

    def unregister(self, fd, /):
        return self._p.unregister(fd)

    def poll(self, timeout=None, /):
        if _thread.get_ident() != _main:
            return self._p.poll(timeout)
        import select as sel
        efd = _event_fd()
        left = _ms_to_s(timeout)
        deadline = None if left is None else time.monotonic() + left
        self._p.register(efd, sel.POLLIN)
        try:
            while True:
                ms = None if deadline is None else max(
                    0, (deadline - time.monotonic()) * 1000)
                ready = _blocking(self._p.poll, ms)
                woke = any(f == efd for f, _ev in ready)
                ready = [(f, ev) for f, ev in ready if f != efd]
                if woke:
                    _after_wake()
                if ready or not woke:
                    return ready
        finally:
            self._p.unregister(efd)


def poll():
    """select.poll(), interruptible on the main thread (see _Poll)."""
    return _Poll()


def _epoll_class(base):
    class epoll:
        """select.epoll, whose poll() a signal's handler interrupts on the script's main
        thread (the wait goes on afterwards unless the handler raised)."""
        __slots__ = ("_e",)
        __module__ = "select"

        def __init__(self, sizehint=-1, flags=0):
            self._e = base(sizehint, flags)

        @classmethod
        def fromfd(cls, fd, /):
            self = cls.__new__(cls)
            self._e = base.fromfd(fd)
            return self

        def __getattr__(self, name):        # register, modify, unregister, close, ...
            return getattr(self._e, name)

        def __enter__(self):
            self._e.__enter__()
            return self

        def __exit__(self, *exc):
            return self._e.__exit__(*exc)

        def poll(self, timeout=None, maxevents=-1):
            if _thread.get_ident() != _main or (timeout is not None and timeout == 0):
                return self._e.poll(timeout, maxevents)
            import select as sel
            left = None if timeout is None or timeout < 0 else float(timeout)
            deadline = None if left is None else time.monotonic() + left
            while True:
                if deadline is not None:
                    left = max(0.0, deadline - time.monotonic())
                if not _wait_ready(self._e.fileno(), sel.POLLIN, left):
                    return []
                ready = self._e.poll(0, maxevents)
                if ready or (deadline is not None and time.monotonic() >= deadline):
                    return ready
    return epoll


_SOCKET_WAITS = (("_accept", "POLLIN"), ("recv", "POLLIN"), ("recv_into", "POLLIN"),
                 ("recvfrom", "POLLIN"), ("recvfrom_into", "POLLIN"),
                 ("send", "POLLOUT"), ("sendto", "POLLOUT"))


def _patch_socket(module) -> None:
    """socket.socket's blocking calls wait (on the main thread) for the socket to be ready
    in a wait a signal's handler interrupts, then make the call."""
    import _socket
    import select as sel
    cls = module.socket
    for name, event in _SOCKET_WAITS:
        orig = getattr(_socket.socket, name, None)
        if orig is not None and getattr(cls, name, None) is getattr(_socket.socket, name):
            setattr(cls, name, _socket_wait(orig, getattr(sel, event)))
    if (hasattr(module, "MSG_DONTWAIT")
            and getattr(cls, "sendall", None) is getattr(_socket.socket, "sendall")):
        cls.sendall = _sendall(_socket.socket.sendall, _socket.socket.send,
                               module.MSG_DONTWAIT, sel.POLLOUT)


def _sendall(orig, send, dontwait: int, pollout: int):
    def sendall(self, data, flags=0, /):
        """socket.sendall; on the main thread, in pieces that never block in C (a
        signal's handler interrupts the waits between them)."""
        timeout = self.gettimeout()
        fd = self.fileno()
        if _thread.get_ident() != _main or fd < 0 or timeout == 0:
            return orig(self, data, flags)
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError):
            return orig(self, data, flags)
        deadline = None if timeout is None else time.monotonic() + timeout
        with view:
            done = 0
            while done < len(view):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0 or not _wait_ready(fd, pollout, left):
                    raise TimeoutError("timed out")
                try:
                    done += send(self, view[done:], flags | dontwait)
                except BlockingIOError:
                    pass
        return None
    sendall.__name__ = sendall.__qualname__ = "sendall"
    return sendall


def _socket_wait(orig, event: int):
    def call(self, /, *args, **kwargs):
        if _thread.get_ident() == _main:
            timeout = self.gettimeout()
            fd = self.fileno()
            if fd >= 0 and (timeout is None or timeout > 0):
                if not _wait_ready(fd, event, timeout):
                    raise TimeoutError("timed out")
        return orig(self, *args, **kwargs)
    call.__name__ = call.__qualname__ = orig.__name__
    call.__doc__ = orig.__doc__
    return call


class _SocketFinder:
    """On the import of socket (once): the module, then _patch_socket."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "socket":
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        finder = sys.modules["_frozen_importlib_external"].PathFinder
        spec = finder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader:
    """The real loader, and _patch_socket once the module ran."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch_socket(module)


def waitpid(pid, options, /):
    """os.waitpid, which a signal's handler interrupts on the main thread while it waits
    for a given child (Linux: its pidfd)."""
    if (_thread.get_ident() == _main and type(pid) is int and pid > 0
            and type(options) is int and not options & os.WNOHANG):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = -1
        if pidfd >= 0:
            try:
                import select as sel
                _wait_ready(pidfd, sel.POLLIN)
            finally:
                os.close(pidfd)
    return _orig_waitpid(pid, options)


def read(fd, length, /):
    """os.read, which a signal's handler interrupts on the main thread while it waits."""
    if _thread.get_ident() == _main and type(fd) is int:
        efd = _event_fd()
        while True:
            try:
                ready, _w, _x = _blocking(_orig_select, [fd, efd], [], [])
            except (OSError, ValueError):
                break       # not selectable (or bad): os.read says so itself
            if efd not in ready:
                break
            _after_wake()
            if fd in ready:
                break
    return _orig_read(fd, length)


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
        _core._signal_ack()
        raise KeyboardInterrupt
    return result


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
    handler = _handlers.get(signum, _signal.default_int_handler
                            if signum == _signal.SIGINT else SIG_DFL)
    keyboard = (handler is _signal.default_int_handler
                or (signum == _signal.SIGINT and handler == SIG_DFL))
    if keyboard and _waiting:   # in _blocking: raised there as the wait ends
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


def _pending_wake() -> None:
    """End the main thread's wait in sleep(), pause(), select() or read()."""
    if _efd is not None:
        try:
            os.eventfd_write(_efd, 1)
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
                    _arm()      # the others run at the next line
                raise


def _on_event(*args):
    """sys.monitoring callback: the first event on the main thread runs the handlers."""
    if _thread.get_ident() != _main:
        return None
    _disarm()
    _core._signal_ack()
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
            return      # every tool id is taken: the handlers run at the next sleep
        for event in (mon.events.LINE, mon.events.PY_START):
            mon.register_callback(_tool, event, _on_event)
    _armed = True
    mon.set_events(_tool, mon.events.LINE | mon.events.PY_START)


def _disarm() -> None:
    global _armed
    if _armed:
        _armed = False
        sys.monitoring.set_events(_tool, 0)
