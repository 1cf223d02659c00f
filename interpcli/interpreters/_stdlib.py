"""Python 3.14+'s own exception classes, which interpcli.interpreters' subclass.

Where `concurrent.interpreters` exists (3.14+), every exception this package raises for a
case the stdlib names is an instance of the stdlib's class too (InterpreterError,
InterpreterNotFoundError, NotShareableError, ExecutionFailed, QueueError, QueueEmpty, ...),
so an `except concurrent.interpreters.X` clause written for the stdlib catches ours. On
3.12 and 3.13 ours stand alone.

The classes of the C modules `_interpreters` and `_interpqueues` are taken in every
interpreter (importing them is cheap); those defined in Python by `concurrent.interpreters`
(ExecutionFailed, QueueEmpty, QueueFull, ItemInterpreterDestroyed) in the main interpreter,
and in a subinterpreter only once that module is imported there (importing it would add
some milliseconds to the start of every worker interpreter)."""

from __future__ import annotations

import sys

from .. import _lowlevel as _core

_C_MODULES = {
    "InterpreterError": "_interpreters",
    "InterpreterNotFoundError": "_interpreters",
    "NotShareableError": "_interpreters",
    "QueueError": "_interpqueues",
    "QueueNotFoundError": "_interpqueues",
}
_PY_MODULES = {
    "ExecutionFailed": "concurrent.interpreters",
    "QueueEmpty": "concurrent.interpreters._queues",
    "QueueFull": "concurrent.interpreters._queues",
    "ItemInterpreterDestroyed": "concurrent.interpreters._queues",
    "BrokenInterpreterPool": "concurrent.futures.interpreter",
}


def std(name: str) -> tuple:
    """(the stdlib's class of that name,) on 3.14+, else (): the bases to add."""
    if sys.version_info < (3, 14):
        return ()
    module = _C_MODULES.get(name)
    if module is None:
        module = _PY_MODULES[name]
        if module not in sys.modules and _core.current_id() != _core.main_id():
            return ()
    try:
        cls = getattr(__import__(module, fromlist=[name]), name, None)
    except Exception:  # absent, or an import hook maps that name to this package
        return ()
    if not isinstance(cls, type) or cls.__module__.startswith("interpcli"):
        return ()
    return (cls,)


def adopt(cls, name: str) -> None:
    """Put the stdlib's class of that name among cls's bases, after the first (once)."""
    extra = tuple(b for b in std(name) if not issubclass(cls, b))
    if extra:
        cls.__bases__ = cls.__bases__[:1] + extra + cls.__bases__[1:]


def adopt_core() -> None:
    """The core's InterpreterError and InterpreterNotFoundError (made by the C module in
    each interpreter) become subclasses of the stdlib's."""
    adopt(_core.InterpreterError, "InterpreterError")
    adopt(_core.InterpreterNotFoundError, "InterpreterNotFoundError")
