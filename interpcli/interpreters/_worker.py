"""The side of Interpreter.exec/call/prepare_main that runs inside the target interpreter.

The caller queues a request on a private channel, then runs a one-line stub here that
takes the request, does the work in __main__ and queues the reply: None on success, or
the uncaught exception as data (excinfo fields, plus the pickled exception when it pickles,
so an executor can re-raise it as it was). The request and the reply travel on two
channels, so a stub that never ran cannot have its request read back as the reply.

A script may break its own interpreter (replace `__builtins__` or `__import__`, clear
sys.modules, drop sys.stdout): the stub then finds the worker through _InterpcliWorker,
a subclass of complex (`0j.__class__.__subclasses__()` needs neither builtins nor
sys.modules), and the worker imports nothing and looks nothing up in sys.modules while
it serves, so the request is still served as CPython's own exec() and call() would."""

from __future__ import annotations

import atexit
import marshal
import sys

from .. import _lowlevel
from . import _broker
from . import _crossinterp as _xi

ST_OK, ST_EXC, ST_NOTSHAREABLE = 0, 1, 2
R_SOURCE, R_CODE = 0, 1


def excinfo(exc: BaseException, skip: int = 1) -> tuple:
    """(name, qualname, module, msg, formatted, errdisplay) of exc, without our frames."""
    tb = exc.__traceback__
    for _ in range(skip):
        if tb is not None:
            tb = tb.tb_next
    exc = exc.with_traceback(tb)
    t = type(exc)
    try:
        msg = str(exc)
    except Exception:
        msg = f"<unprintable {t.__name__} object>"
    try:
        traceback = sys.modules.get("traceback") or __import__("traceback")
        formatted = "".join(traceback.format_exception_only(exc)).strip()
        errdisplay = "".join(traceback.format_exception(exc)).rstrip()
    except Exception:
        formatted = f"{t.__qualname__}: {msg}" if msg else t.__qualname__
        errdisplay = formatted
    return (t.__name__, t.__qualname__, t.__module__, msg, formatted, errdisplay)


def _reply(ch, obj) -> None:
    try:
        _xi.send(ch, obj, _xi.OP_UNBOUND, block=False)
    except _lowlevel.ChannelClosedError:
        return  # the process is exiting (every channel closed): nobody to answer
    except _xi.NotShareableError as exc:
        # the result does not cross: the caller raises NotShareableError (as in 3.14)
        _xi.send(ch, (ST_NOTSHAREABLE, str(exc)), _xi.OP_UNBOUND, block=False)


def _not_shareable(ch, exc) -> None:
    """What the caller sent cannot be rebuilt here: NotShareableError over there."""
    msg = (
        str(exc)
        if isinstance(exc, _xi.NotShareableError)
        else f"cannot be rebuilt in interpreter {_lowlevel.current_id()}: "
        f"{type(exc).__name__}: {exc}"
    )
    _xi.send(ch, (ST_NOTSHAREABLE, msg), _xi.OP_UNBOUND, block=False)


def _ends(chan_id, reply):
    ch = _lowlevel.end(chan_id, _lowlevel.BOTH)
    return ch, (ch if reply is None else _lowlevel.end(reply, _lowlevel.BOTH))


def _main_ns():
    """The namespace the stub ran in (__main__'s, as the core chose it): its caller's
    globals, found without sys.modules (which the script may have cleared)."""
    return sys._getframe(2).f_globals


def _take(ch):
    msg = ch.recv_nowait()
    _pid, _op, kind = _xi.header(msg)
    return _xi.payload(msg, kind)


def _know_broker(broker) -> None:
    if broker is not None and _broker.BROKER is None:
        _broker.BROKER = broker


def exec_(chan_id: int, broker=None, reply=None) -> None:
    _know_broker(broker)
    ch, out = _ends(chan_id, reply)
    kind, data = _take(ch)
    main = _main_ns()
    try:
        code = compile(data, "<string>", "exec") if kind == R_SOURCE else marshal.loads(data)
        exec(code, main)
    except BaseException as exc:  # handed back as data, like an uncaught exception
        _reply(out, (ST_EXC, (excinfo(exc), None)))
        return
    _reply(out, (ST_OK, None))


class _CallLocals:
    """The locals of the frame a call runs from: __main__'s namespace, plus the call
    itself under a hidden name. So builtins that act on their caller's frame (eval(),
    exec(), dir(), vars(), locals(), globals()) act on __main__, as in 3.14, and dir()
    shows __main__'s names only. It does not cross interpreters (locals() and vars()
    called this way return it)."""

    __slots__ = ("_ns", "_call")

    def __init__(self, ns, call):
        self._ns, self._call = ns, call

    def __getitem__(self, key):
        if key == "__interpcli_call__":
            return self._call
        return self._ns[key]

    def __setitem__(self, key, value):
        self._ns[key] = value

    def __delitem__(self, key):
        del self._ns[key]

    def __contains__(self, key):
        return key in self._ns

    def __iter__(self):
        return iter(self._ns)

    def __len__(self):
        return len(self._ns)

    def keys(self):
        return self._ns.keys()

    def get(self, key, default=None):
        return self._ns.get(key, default)

    def __reduce__(self):
        raise TypeError("the namespace of a call does not cross interpreters")


_CALL = compile(
    "__interpcli_call__[0](*__interpcli_call__[1], **__interpcli_call__[2])",
    "<interpreters call>",
    "eval",
)


def call(chan_id: int, preserve: bool = False, broker=None, reply=None) -> None:
    _know_broker(broker)
    ch, out = _ends(chan_id, reply)
    try:
        call = _take(ch)
    except BaseException as exc:
        _not_shareable(out, exc)
        return
    main = _main_ns()
    try:
        # a mapping by its methods, as eval() takes for locals
        res = eval(_CALL, main, _CallLocals(main, call))  # type: ignore[arg-type]
    except BaseException as exc:
        info = excinfo(exc, skip=2)  # call, and the <interpreters call> frame
        pickled = None
        if preserve:
            try:
                pickled = _xi.pickle_dumps(exc.with_traceback(None), [])
            except Exception:
                pickled = None
        _reply(out, (ST_EXC, (info, pickled)))
        return
    _reply(out, (ST_OK, res))


def prepare(chan_id: int, broker=None, reply=None) -> None:
    _know_broker(broker)
    ch, out = _ends(chan_id, reply)
    try:
        names = _take(ch)
        values = [_take(ch) for _ in names]
    except BaseException as exc:
        _not_shareable(out, exc)
        return
    _main_ns().update(zip(names, values))
    _reply(out, (ST_OK, None))


class _InterpcliWorker(complex):
    """The entry points as the stub finds them when builtins or sys.modules are broken
    (see the module's docstring)."""

    __slots__ = ()
    exec_ = staticmethod(exec_)
    call = staticmethod(call)
    prepare = staticmethod(prepare)


def _keep(*_objects):
    """An exit callback that does nothing: it keeps _InterpcliWorker alive for as long
    as the interpreter lives, even once sys.modules has been cleared."""


atexit.register(_keep, _InterpcliWorker)


def stub(op: str, chan_id: int, extra: str, broker, reply_id: int, robust=False) -> str:
    """The one line run in the target interpreter to serve a request. The robust form
    (see the module's docstring) compiles slower: it is the retry of a stub that failed
    before it reached the worker (worth_retry)."""
    args = f"{op}({chan_id}{extra}, broker={broker}, reply={reply_id})"
    if not robust:
        return f"__import__('interpcli.interpreters._worker', fromlist=['_']).{args}"
    return (
        f"([_c for _c in 0j.__class__.__subclasses__() if _c.__name__ == "
        f"'_InterpcliWorker'] or [__import__('interpcli.interpreters._worker', "
        f"fromlist=['_'])._InterpcliWorker])[0].{args}"
    )


def worth_retry(res) -> bool:
    """Whether a stub run that gave no reply failed before it reached the worker (its
    request still queued), so the robust stub may serve it: any error but an interrupt.
    A retry that finds the request taken already fails, and the first error is shown."""
    return res.exc_type not in (None, "KeyboardInterrupt", "SystemExit", "TimeoutError")
