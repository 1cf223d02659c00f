"""The side of Interpreter.exec/call/prepare_main that runs inside the target interpreter.

The caller queues a request on a private channel, then runs a one-line stub here that
takes the request, does the work in __main__ and queues the reply: None on success, or
the uncaught exception as data (excinfo fields, plus the pickled exception when it pickles,
so an executor can re-raise it as it was)."""
from __future__ import annotations

import marshal
import sys

from .._lowlevel import core_module
from . import _crossinterp as _xi

_core = core_module()

ST_OK, ST_EXC = 0, 1
R_SOURCE, R_CODE = 0, 1


def excinfo(exc: BaseException, skip: int = 1) -> tuple:
    """(name, qualname, module, msg, formatted, errdisplay) of exc, without our frames."""
    tb = exc.__traceback__
    for _ in range(skip):
        if tb is not None:
            tb = tb.tb_next
    exc = exc.with_traceback(tb)
    t = type(exc)
    import traceback
    try:
        msg = str(exc)
    except Exception:
        msg = f"<unprintable {t.__name__} object>"
    try:
        formatted = "".join(traceback.format_exception_only(exc)).strip()
        errdisplay = "".join(traceback.format_exception(exc)).rstrip()
    except Exception:
        formatted = f"{t.__qualname__}: {msg}" if msg else t.__qualname__
        errdisplay = formatted
    return (t.__name__, t.__qualname__, t.__module__, msg, formatted, errdisplay)


def _reply(ch, obj) -> None:
    try:
        _xi.send(ch, obj, _xi.OP_UNBOUND, block=False)
    except _xi.NotShareableError as exc:
        info = excinfo(exc, skip=99)
        _xi.send(ch, (ST_EXC, (info, None)), _xi.OP_UNBOUND, block=False)


def _take(ch):
    msg = ch.recv_nowait()
    _pid, _op, kind = _xi.header(msg)
    return _xi.payload(msg, kind)


def exec_(chan_id: int) -> None:
    ch = _core._end(chan_id, 3)
    kind, data = _take(ch)
    main = sys.modules["__main__"].__dict__
    try:
        code = compile(data, "<string>", "exec") if kind == R_SOURCE else marshal.loads(data)
        exec(code, main)
    except BaseException as exc:        # handed back as data, like an uncaught exception
        _reply(ch, (ST_EXC, (excinfo(exc), None)))
        return
    _reply(ch, (ST_OK, None))


_trampoline = None


def _in_main(fn, args, kwargs):
    """Call fn from a frame whose globals are __main__'s, so that eval(), exec(),
    globals() and the like called directly act on __main__ (not on this module)."""
    global _trampoline
    if _trampoline is None:
        import types
        _trampoline = types.FunctionType((lambda f, a, k: f(*a, **k)).__code__,
                                         sys.modules["__main__"].__dict__, "call")
    return _trampoline(fn, args, kwargs)


def call(chan_id: int, preserve: bool = False) -> None:
    ch = _core._end(chan_id, 3)
    try:
        fn, args, kwargs = _take(ch)
    except BaseException as exc:
        _reply(ch, (ST_EXC, (excinfo(exc, skip=99), None)))
        return
    try:
        res = _in_main(fn, args, kwargs)
    except BaseException as exc:
        info = excinfo(exc, skip=3)     # call, _in_main, the trampoline
        pickled = None
        if preserve:
            try:
                pickled = _xi.pickle_dumps(exc.with_traceback(None), [])
            except Exception:
                pickled = None
        _reply(ch, (ST_EXC, (info, pickled)))
        return
    _reply(ch, (ST_OK, res))


def prepare(chan_id: int) -> None:
    ch = _core._end(chan_id, 3)
    try:
        names = _take(ch)
        values = [_take(ch) for _ in names]
    except BaseException as exc:
        _reply(ch, (ST_EXC, (excinfo(exc, skip=99), None)))
        return
    sys.modules["__main__"].__dict__.update(zip(names, values))
    _reply(ch, (ST_OK, None))
