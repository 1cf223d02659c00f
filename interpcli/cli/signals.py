"""Ctrl-C bookkeeping and helper threads for the command line (a leaf: imports nothing of
interpcli, so every module of the CLI can import it)."""

# Ctrl-C bookkeeping. Python raises KeyboardInterrupt wherever the main thread is, and
# swallows it ("Exception ignored") when that is a weakref callback or a __del__; so the
# handler also counts the signals and wakes whoever waits (the session's event queue).
_sigints = 0
_sigint_waker = None
_sigint_quiet = False
_raised_at = 0  # the count when the handler last raised KeyboardInterrupt


def _on_sigint(signum, frame):
    global _sigints, _raised_at
    _sigints += 1
    if _sigint_waker is not None:
        _sigint_waker(_sigints)
        if _sigint_quiet:
            return
    _raised_at = _sigints
    raise KeyboardInterrupt


def raised_at() -> int:
    """How many SIGINTs had arrived when the handler last raised KeyboardInterrupt."""
    return _raised_at


def sigints() -> int:
    """How many SIGINTs arrived so far."""
    return _sigints


def set_sigint_waker(waker, quiet: bool = False) -> None:
    """waker(count) is called (in the main thread, from the signal handler) on SIGINT;
    it must be reentrant, like SimpleQueue.put. quiet: the waker alone tells of it, no
    KeyboardInterrupt is raised wherever the main thread happens to be."""
    global _sigint_waker, _sigint_quiet
    _sigint_waker = waker
    _sigint_quiet = quiet and waker is not None


def install_sigint_handler() -> None:
    import _signal

    # a background job of a non-interactive shell has SIGINT ignored: keep it that way
    try:
        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, _on_sigint)
    except ValueError:
        pass  # not the main thread (main() called from a thread): leave it


def start_thread(thread) -> None:
    """Start a helper thread with SIGINT blocked in it, so Ctrl-C is always delivered to
    the main thread (the one that waits, and wakes with EINTR). Blocking it while the
    thread starts also keeps a Ctrl-C from landing between "started" and "recorded"."""
    _with_sigint_blocked(thread.start)


def start_raw_thread(function, args) -> None:
    """start_thread for a bare _thread thread (no threading import: `interp run` starts
    its first interpreter's creation before loading threading)."""
    import _thread

    _with_sigint_blocked(_thread.start_new_thread, function, args)


def _with_sigint_blocked(call, *args) -> None:
    from .._platform import sigint_blocked

    with sigint_blocked():
        call(*args)
