"""Blocking calls of a script's main thread that a signal's handler interrupts, as
python's main thread has them (`interp run`; docs/signals.md): select.select, os.read,
select.poll and epoll objects (so selectors), os.waitpid (Linux: a pidfd), and socket
calls (accept, recv*, send, sendto, sendmsg, sendall). Each also waits on the wake-up fd that
_signals_sub._deliver writes: the handlers run, and the call goes on unless one raised
(PEP 475). Other threads use the originals, as python interrupts only its main thread."""

import _thread
import os
import sys
import time

from . import _signals_sub as _s
from ._importpatch import patch_on_import

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

_orig_select: "Any" = None
_orig_poll: "Any" = None
_orig_read, _orig_waitpid = os.read, os.waitpid


def install() -> None:
    """Put this module's waits in place of the stdlib's, in this interpreter."""
    global _orig_select, _orig_poll
    sel: Any = sys.modules.get("select")
    if sel is None:
        import select as sel
    os.read = staticmethod(read)
    _orig_select = sel.select
    sel.select = staticmethod(select)
    _orig_poll = getattr(sel, "poll", None)
    if _orig_poll is None:
        return
    sel.poll = staticmethod(poll)
    if hasattr(sel, "epoll"):
        sel.epoll = _epoll_class(sel.epoll)
    if hasattr(os, "pidfd_open"):
        os.waitpid = staticmethod(waitpid)
    # importing socket costs ~9 ms: patched when the script imports it
    patch_on_import("socket", _patch_socket)


def select(rlist, wlist, xlist, timeout=None, /):
    """select.select, which a signal's handler interrupts on the main thread (the wait
    goes on afterwards unless the handler raised, as under python)."""
    if _thread.get_ident() != _s._main:
        return _orig_select(rlist, wlist, xlist, timeout)
    efd = _s._event_fd()
    rlist = list(rlist)
    deadline = None if timeout is None else time.monotonic() + timeout
    left = timeout
    while True:
        r, w, x = _s._blocking(_orig_select, rlist + [efd], wlist, xlist, left)
        woke = any(type(f) is int and f == efd for f in r)
        if not woke:
            return r, w, x
        r = [f for f in r if not (type(f) is int and f == efd)]
        _s._after_wake()
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
    return _wait_polled(_poller(fd, events), timeout)


def _poller(fd, events: int):
    """A poll object for fd's events and the wake-up fd (_wait_polled waits on it)."""
    import select as sel

    p = _orig_poll()
    p.register(fd, events)
    p.register(_s._event_fd(), sel.POLLIN)
    return p


def _wait_polled(p, timeout=None) -> bool:
    """_wait_ready on a _poller's poll object (kept by a caller that waits often)."""
    efd = _s._event_fd()
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        ms = None if deadline is None else max(0, (deadline - time.monotonic()) * 1000)
        ready = _s._blocking(p.poll, ms)
        if any(f == efd for f, _ev in ready):
            _s._after_wake()
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
        if _thread.get_ident() != _s._main:
            return self._p.poll(timeout)
        import select as sel

        efd = _s._event_fd()
        left = _ms_to_s(timeout)
        deadline = None if left is None else time.monotonic() + left
        self._p.register(efd, sel.POLLIN)
        try:
            while True:
                ms = None if deadline is None else max(0, (deadline - time.monotonic()) * 1000)
                ready = _s._blocking(self._p.poll, ms)
                woke = any(f == efd for f, _ev in ready)
                ready = [(f, ev) for f, ev in ready if f != efd]
                if woke:
                    _s._after_wake()
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

        def __getattr__(self, name):  # register, modify, unregister, close, ...
            return getattr(self._e, name)

        def __enter__(self):
            self._e.__enter__()
            return self

        def __exit__(self, *exc):
            return self._e.__exit__(*exc)

        def poll(self, timeout=None, maxevents=-1):
            if _thread.get_ident() != _s._main or (timeout is not None and timeout == 0):
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


_SOCKET_WAITS = (
    ("_accept", "POLLIN"),
    ("recv", "POLLIN"),
    ("recv_into", "POLLIN"),
    ("recvfrom", "POLLIN"),
    ("recvfrom_into", "POLLIN"),
    ("recvmsg", "POLLIN"),
    ("recvmsg_into", "POLLIN"),
    ("send", "POLLOUT"),
    ("sendto", "POLLOUT"),
    ("sendmsg", "POLLOUT"),
)


def _patch_socket(module) -> None:
    """socket.socket's blocking calls wait (on the main thread) for the socket to be ready
    in a wait a signal's handler interrupts, then make the call."""
    import _socket
    import select as sel

    global _SOL_SOCKET, _SO_ERROR
    _SOL_SOCKET, _SO_ERROR = module.SOL_SOCKET, module.SO_ERROR
    cls = module.socket
    for name, event in _SOCKET_WAITS:
        orig = getattr(_socket.socket, name, None)
        if orig is not None and getattr(cls, name, None) is getattr(_socket.socket, name):
            setattr(cls, name, _socket_wait(orig, getattr(sel, event)))
    for name in ("connect", "connect_ex"):
        if getattr(cls, name, None) is getattr(_socket.socket, name):
            setattr(cls, name, _connect(_socket.socket.connect_ex, name == "connect_ex"))
    if hasattr(module, "MSG_DONTWAIT") and getattr(cls, "sendall", None) is _socket.socket.sendall:
        cls.sendall = _sendall(
            _socket.socket.sendall, _socket.socket.send, module.MSG_DONTWAIT, sel.POLLOUT
        )


def _sendall(orig, send, dontwait: int, pollout: int):
    def sendall(self, data, flags=0, /):
        """socket.sendall; on the main thread, in pieces that never block in C (a
        signal's handler interrupts the waits between them)."""
        timeout = self.gettimeout()
        fd = self.fileno()
        if _thread.get_ident() != _s._main or fd < 0 or timeout == 0:
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
                if (left is not None and left <= 0) or not _wait_ready(fd, pollout, left):
                    raise TimeoutError("timed out")
                try:
                    done += send(self, view[done:], flags | dontwait)
                except BlockingIOError:
                    pass
        return None

    sendall.__name__ = sendall.__qualname__ = "sendall"
    return sendall


def _connect(connect_ex, ex: bool):
    import errno
    import select as sel

    def connect(self, address, /):
        """socket.connect (or connect_ex); on the main thread, started without blocking,
        then awaited in a wait a signal's handler interrupts (as python's goes on after
        one, PEP 475); the socket's timeout holds."""
        timeout = self.gettimeout()
        fd = self.fileno()
        if _thread.get_ident() != _s._main or fd < 0 or timeout == 0:
            return connect_ex(self, address) if ex else _raise(connect_ex(self, address))
        self.setblocking(False)
        try:
            err = first = connect_ex(self, address)
            if err == errno.EINPROGRESS:
                if _wait_ready(fd, sel.POLLOUT, timeout):
                    err = self.getsockopt(_SOL_SOCKET, _SO_ERROR)
                    if not err:
                        _settle(self, connect_ex)
                elif ex:
                    err = errno.EWOULDBLOCK  # python's connect_ex after its timeout
                else:
                    raise TimeoutError("timed out")
        finally:
            self.settimeout(timeout)
        if first == errno.EAGAIN:  # a Unix socket's full backlog: python's blocking wait
            err = connect_ex(self, address)
        return err if ex else _raise(err)

    connect.__name__ = connect.__qualname__ = "connect_ex" if ex else "connect"
    return connect


_SOL_SOCKET, _SO_ERROR = 1, 4  # socket.SOL_SOCKET, SO_ERROR on Linux (set by _patch_socket)


def _settle(sock, connect_ex) -> None:
    """After a connect completed without blocking, connect again once, so the kernel marks
    the socket connected as a blocking connect leaves it (a later connect: EISCONN)."""
    try:
        connect_ex(sock, sock.getpeername())
    except OSError:
        pass


def _raise(err: int) -> None:
    if err:
        raise OSError(err, os.strerror(err))


def _socket_wait(orig, event: int):
    def call(self, /, *args, **kwargs):
        if _thread.get_ident() == _s._main:
            timeout = self.gettimeout()
            fd = self.fileno()
            if fd >= 0 and (timeout is None or timeout > 0):
                if not _wait_ready(fd, event, timeout):
                    raise TimeoutError("timed out")
        return orig(self, *args, **kwargs)

    call.__name__ = call.__qualname__ = orig.__name__
    call.__doc__ = orig.__doc__
    return call


def waitpid(pid, options, /):
    """os.waitpid, which a signal's handler interrupts on the main thread while it waits
    for a given child (Linux: its pidfd)."""
    if (
        _thread.get_ident() == _s._main
        and type(pid) is int
        and pid > 0
        and type(options) is int
        and not options & os.WNOHANG
    ):
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
    if _thread.get_ident() == _s._main and type(fd) is int:
        efd = _s._event_fd()
        while True:
            try:
                ready, _w, _x = _s._blocking(_orig_select, [fd, efd], [], [])
            except (OSError, ValueError):
                break  # not selectable (or bad): os.read says so itself
            if efd not in ready:
                break
            _s._after_wake()
            if fd in ready:
                break
    return _orig_read(fd, length)
