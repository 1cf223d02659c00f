"""What interpcli's Python side needs from the operating system, in one place.

The C core's counterpart is its platform layer (interpcli/_native/src/platform.h); its
`WAIT_LAYER` (interpcli._lowlevel.WAIT_LAYER) names the waits it was built with. Here:

- fd waits (wait_readable, wait_writable): POSIX poll(); elsewhere select(), which on
  Windows takes sockets only.
- wake-up fds (wake_open, wake_post, wake_drain, wake_close): an eventfd on Linux, a
  non-blocking pipe on other POSIX systems; a Windows port would use a socket pair.
- signals (sigint_blocked): pthread_sigmask where the system has it (POSIX); a no-op
  elsewhere, where no per-thread signal mask exists.
- fork (at_fork): os.register_at_fork on POSIX; nothing to do where fork does not exist.

Only built-in modules are imported: this module is used inside every interpreter."""

import os
import sys

POSIX = os.name == "posix"
LINUX = sys.platform.startswith("linux")
HAS_EVENTFD = LINUX and hasattr(os, "eventfd")


# ---- fd waits ----


def wait_readable(fds, timeout: float | None = None) -> dict[int, int]:
    """Block until one of fds is readable (or hung up, or invalid), at most timeout
    seconds (None: no limit). {fd: events} of the ready ones, events as select.POLL*
    bits; {} on timeout."""
    import select

    if hasattr(select, "poll"):
        p = select.poll()
        for fd in fds:
            p.register(fd, select.POLLIN | select.POLLHUP)
        return dict(p.poll(None if timeout is None else int(timeout * 1000) + 1))
    r, _w, _x = select.select(list(fds), [], [], timeout)
    return dict.fromkeys(r, 1)  # select.POLLIN's value


def wait_writable(fd: int) -> None:
    """Block until fd can be written (or is broken)."""
    import select

    if hasattr(select, "poll"):
        p = select.poll()
        p.register(fd, select.POLLOUT)
        p.poll()
    else:
        select.select([], [fd], [])


def is_invalid(events: int) -> bool:
    """True when wait_readable's events say the fd is not open."""
    import select

    return bool(events & getattr(select, "POLLNVAL", 0))


# ---- wake-up fds ----


def wake_open() -> tuple[int, int]:
    """A wake-up fd pair (read end, write end; the same fd for an eventfd), non-blocking
    and close-on-exec: readable from the first wake_post until wake_drain."""
    if HAS_EVENTFD:
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        return fd, fd
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    return r, w


def wake_post(wfd: int) -> None:
    """Make the pair readable (a full pipe is readable already)."""
    try:
        if HAS_EVENTFD:
            os.eventfd_write(wfd, 1)
        else:
            os.write(wfd, b"\0")
    except (BlockingIOError, InterruptedError):
        pass


def wake_drain(rfd: int) -> None:
    """Take every post so far."""
    try:
        if HAS_EVENTFD:
            os.eventfd_read(rfd)
        else:
            while os.read(rfd, 4096):
                pass
    except (BlockingIOError, InterruptedError):
        pass


def wake_close(rfd: int, wfd: int) -> None:
    os.close(rfd)
    if wfd != rfd:
        os.close(wfd)


# ---- signals ----


class sigint_blocked:
    """Context manager: SIGINT blocked in the calling thread (so that threads started
    inside inherit the mask and Ctrl-C reaches the main thread). No-op where threads have
    no signal masks."""

    def __enter__(self):
        import _signal

        self._old = None
        if hasattr(_signal, "pthread_sigmask"):
            self._old = _signal.pthread_sigmask(_signal.SIG_BLOCK, [_signal.SIGINT])
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            import _signal

            _signal.pthread_sigmask(_signal.SIG_SETMASK, self._old)
        return False


# ---- fork ----


def at_fork(*, before=None, after_in_parent=None, after_in_child=None) -> None:
    """os.register_at_fork where fork exists; nothing elsewhere."""
    if hasattr(os, "register_at_fork"):
        kw = {
            k: v
            for k, v in (
                ("before", before),
                ("after_in_parent", after_in_parent),
                ("after_in_child", after_in_child),
            )
            if v is not None
        }
        os.register_at_fork(**kw)
