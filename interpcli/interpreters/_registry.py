"""Which interpreters exist besides those interpcli's core made (CPython's own registry,
3.13+), the Interpreter objects of this interpreter, and the warning at exit about those
create() made and left open."""

from __future__ import annotations

import sys
import threading
import weakref

from .. import _lowlevel

WHENCE_RUNTIME = "runtime init"
WHENCE_STDLIB = "_interpreters module"
# CPython's names for where an interpreter came from, by its _interpreters.WHENCE_* value
_WHENCE_NAMES = {
    0: "unknown",
    1: WHENCE_RUNTIME,
    2: "legacy C-API",
    3: "C-API",
    4: "cross-interpreter C-API",
    5: WHENCE_STDLIB,
}

try:  # CPython's own registry (3.13+): the interpreters interpcli's core did not make
    import _interpreters as _cpython
except ImportError:
    _cpython = None


def _cpython_interpreters() -> dict:
    """{id: whence} of every interpreter CPython knows (empty before 3.13)."""
    if _cpython is None:
        return {}
    try:
        return {iid: whence for iid, whence, *_ in _cpython.list_all()}
    except Exception:
        return {}


# the one Interpreter object per id in this interpreter
_known: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
_known_lock = threading.Lock()


_exit_check_registered = False


def _warn_at_exit():
    """At exit, warn about interpreters create() made that are still open, as CPython
    does from 3.14 on (interpcli's core then ends them). Registered after the core's own
    exit handler, so it runs before it."""
    global _exit_check_registered
    if _exit_check_registered or sys.version_info < (3, 14):
        return
    _exit_check_registered = True
    import atexit

    atexit.register(_check_remaining)


def _check_remaining():
    try:
        alive = {iid for iid, *_ in _lowlevel.list_interpreters()}
        with _known_lock:
            owned = [i for i in _known.values() if i._ownsref and i._id in alive]
    except Exception:
        return
    if owned:
        import warnings

        warnings.warn_explicit(
            "remaining subinterpreters; close them with Interpreter.close()",
            RuntimeWarning,
            "<sys>",
            0,
        )
