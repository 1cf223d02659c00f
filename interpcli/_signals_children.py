"""The programs a script starts get SIGINT as under python (`interp run`).

interp runs the script's thread with SIGINT blocked (so that Ctrl-C, and os.kill to the
process, reach interp's main thread), and a new program inherits the signal mask: the
calls that start one (subprocess, multiprocessing's spawn, os.posix_spawn(p), os.system,
os.execv(e)) unblock SIGINT for the time of the call."""

import _signal
import os


def install() -> None:
    """Wrap the calls that start a program, in this interpreter."""
    if not hasattr(_signal, "pthread_sigmask"):
        return
    try:
        import _posixsubprocess
    except ImportError:
        _posixsubprocess = None  # type: ignore[assignment]  # not on this platform
    targets = [
        (os, name)
        for name in ("posix_spawn", "posix_spawnp", "system", "execv", "execve")
        if hasattr(os, name)
    ]
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
