"""ExecutionFailed and the description of an exception that stayed in another interpreter
(PSF: docstrings follow CPython's Lib/concurrent/interpreters)."""

from __future__ import annotations

import types

from ..errors import InterpreterError
from . import _stdlib

_EXEC_FAILURE_STR = """
{superstr}

Uncaught in the interpreter:

{formatted}
""".strip()


# bases known at run time: the stdlib's class too on 3.14+ (_stdlib.std)
class ExecutionFailed(InterpreterError, *_stdlib.std("ExecutionFailed")):  # type: ignore[misc]
    """An unhandled exception happened during execution.

    This is raised from Interpreter.exec() and Interpreter.call(); `excinfo` describes the
    exception (type, msg, formatted, errdisplay) since the object itself stays behind."""

    def __init__(self, excinfo):
        msg = excinfo.formatted
        if not msg:
            if excinfo.type and excinfo.msg:
                msg = f"{excinfo.type.__name__}: {excinfo.msg}"
            else:
                msg = excinfo.type.__name__ or excinfo.msg
        InterpreterError.__init__(self, msg)  # not the stdlib's (which takes excinfo)
        self.excinfo = excinfo

    def __str__(self):
        try:
            formatted = self.excinfo.errdisplay
        except Exception:
            return super().__str__()
        return _EXEC_FAILURE_STR.format(superstr=super().__str__(), formatted=formatted)

    def __reduce__(self):
        return (type(self), (self.excinfo,))


def _make_excinfo(info) -> types.SimpleNamespace:
    name, qualname, module, msg, formatted, errdisplay = info
    return types.SimpleNamespace(
        type=types.SimpleNamespace(__name__=name, __qualname__=qualname, __module__=module),
        msg=msg,
        formatted=formatted,
        errdisplay=errdisplay,
    )


def _failure(info, pickled, failed_type=None):
    """The exception for a failed call: ExecutionFailed (or failed_type, which takes an
    excinfo), or with a pickled exception (the executor's case) that exception, its
    __cause__ the ExecutionFailed."""
    failed = (failed_type or ExecutionFailed)(_make_excinfo(info))
    if pickled is not None:
        try:
            import pickle

            exc = pickle.loads(pickled)
        except Exception:
            return failed
        if isinstance(exc, BaseException):
            exc.__cause__ = failed
            return exc
    return failed


ExecutionFailed.__module__ = "interpcli.interpreters"
