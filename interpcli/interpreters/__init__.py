"""PEP 734's `concurrent.interpreters` on Python 3.12 and 3.13, on interpcli's native core.

    from interpcli import interpreters

    interp = interpreters.create()
    interp.prepare_main(n=10)
    interp.exec("print(n * 2)")
    interp.call(pow, 2, 10)             # -> 1024
    queue = interpreters.create_queue()

Code written against Python 3.14's `concurrent.interpreters` runs unchanged; blocking
waits (Queue.get/put, channel recv/send) wake on the core's futex-backed channels instead
of polling every 10 ms. The differences that remain are listed in the README.

Docstrings of the public API follow CPython's Lib/concurrent/interpreters (PSF License)."""

from __future__ import annotations

import threading
import types

from .. import _lowlevel
from . import _stdlib

_stdlib.adopt_core()
from ..errors import InterpreterError, InterpreterNotFoundError
from . import _broker, _worker
from . import _crossinterp as _xi
from ._crossinterp import NotShareableError, is_shareable
from ._excinfo import ExecutionFailed, _failure, _make_excinfo
from ._registry import (
    _WHENCE_NAMES,
    WHENCE_RUNTIME,
    WHENCE_STDLIB,
    _cpython,
    _cpython_interpreters,
    _known,
    _known_lock,
    _warn_at_exit,
)

__all__ = [
    "get_current",
    "get_main",
    "create",
    "list_all",
    "is_shareable",
    "Interpreter",
    "InterpreterError",
    "InterpreterNotFoundError",
    "ExecutionFailed",
    "NotShareableError",
    "create_queue",
    "Queue",
    "QueueEmpty",
    "QueueFull",
]


_LAZY = {
    "Queue": ("_queues", "Queue"),
    "QueueEmpty": ("_queues", "QueueEmpty"),
    "QueueFull": ("_queues", "QueueFull"),
    "create_queue": ("_queues", "create"),
    "InterpreterPoolExecutor": ("executor", "InterpreterPoolExecutor"),
    "BrokenInterpreterPool": ("executor", "BrokenInterpreterPool"),
}


def __getattr__(name):
    # queues, channels and the executor (concurrent.futures) load on first use, which
    # keeps the start of a worker interpreter short
    import importlib

    if name == "channels":
        return importlib.import_module(f"{__name__}.channels")
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"channels"})


def create() -> Interpreter:
    """Return a new (idle) Python interpreter with its own GIL."""
    if _lowlevel.current_id() != _lowlevel.main_id():
        # the main interpreter creates it (see _broker); it lives until closed or exit
        return Interpreter(_broker.request("create"))
    from ..interpreter import create as _create

    iid = _create(isolated=True).id
    _warn_at_exit()
    _broker.start()  # now, from this thread: threads may not start later (at exit)
    return Interpreter(iid, _ownsref=True)


def list_all() -> list:
    """Return all existing interpreters (those interpcli's core knows), main first."""
    found = []
    for iid, _n, _iso, _running, _r, kind in _lowlevel.list_interpreters():
        if kind == "foreign":
            continue  # not ours to close: listing it would invite close() calls
        try:
            found.append(Interpreter(iid))
        except InterpreterNotFoundError:  # closed meanwhile (by the garbage collector)
            pass
    return found


def get_current() -> Interpreter:
    """Return the currently running interpreter."""
    return Interpreter(_lowlevel.current_id())


def get_main() -> Interpreter:
    """Return the main interpreter."""
    return Interpreter(_lowlevel.main_id())


class Interpreter:
    """A single Python interpreter.

    Attributes:

    "id" - the unique process-global ID number for the interpreter
    "whence" - indicates where the interpreter was created

    There is one object per id. An interpreter made by create() is closed when its object
    is garbage collected (as in 3.14); close() ends it at once."""

    _id: int  # these: set in __new__
    _whence: str
    _foreign: bool
    _ownsref: bool

    def __new__(cls, id, /, _whence=None, _ownsref=None):
        if not isinstance(id, int):
            raise TypeError(f"id must be an int, got {id!r}")
        id = int(id)
        if id < 0:
            raise ValueError(f"id must be a non-negative int, got {id!r}")
        with _known_lock:
            self = _known.get(id)
            kind = next((k for iid, *_r, k in _lowlevel.list_interpreters() if iid == id), None)
            if self is not None:
                # one object per id, but never for an interpreter that is gone (an object
                # kept from before its close must not make its id look alive)
                if kind is None and (not self._foreign or id not in _cpython_interpreters()):
                    raise InterpreterNotFoundError(f"no interpreter with id {id}")
                return self
            if kind is None or kind == "foreign":
                # not made by interpcli's core (by the C API, or the _interpreters module):
                # known to CPython, never run or closed here
                whence = _cpython_interpreters().get(id)
                if whence is None and kind is None:
                    raise InterpreterNotFoundError(f"no interpreter with id {id}")
                if isinstance(_whence, int):
                    whence = _whence
                whence = _WHENCE_NAMES.get(whence, "unknown")
                foreign = True
            else:
                whence = WHENCE_RUNTIME if id == _lowlevel.main_id() else WHENCE_STDLIB
                foreign = False
            self = super().__new__(cls)
            self._id = id
            self._whence = whence
            self._foreign = foreign
            self._ownsref = (
                bool(_ownsref) and not foreign and _lowlevel.current_id() == _lowlevel.main_id()
            )
            _known[id] = self
            return self

    def _refuse_foreign(self):
        if self._foreign:
            raise InterpreterError(
                f"interpreter {self._id} unrecognized: it was not made by interpcli, which "
                f"never runs code in it or closes it (whence: {self._whence})"
            )

    def __repr__(self):
        return f"{type(self).__name__}({self._id})"

    def __hash__(self):
        return hash(self._id)

    def __eq__(self, other):
        if not isinstance(other, Interpreter):
            return NotImplemented
        return other._id == self._id

    def __reduce__(self):
        return (type(self), (self._id,))

    def __del__(self):
        if not getattr(self, "_ownsref", False):
            return
        self._ownsref = False
        if threading.current_thread() is not threading.main_thread():
            return  # closing from another thread can hang on 3.13 (see README); exit ends it
        try:
            for iid, _n, _iso, running, _r, _kind in _lowlevel.list_interpreters():
                if iid == self._id and not running:
                    _lowlevel.destroy(self._id)
                    break
        except Exception:  # busy, lent memory still viewed, or shutting down: exit ends it
            pass

    @property
    def id(self):
        return self._id

    @property
    def whence(self):
        return self._whence

    def is_running(self):
        """Return whether or not the identified interpreter is running."""
        if self._id == _lowlevel.main_id():
            return True  # the main thread runs the program there
        if self._foreign and _cpython is not None:
            try:  # whether its __main__ runs, as CPython keeps it
                return bool(_cpython.is_running(self._id))
            except Exception:
                pass
        for iid, _n, _iso, running, _r, _kind in _lowlevel.list_interpreters():
            if iid == self._id:
                return bool(running)
        raise InterpreterNotFoundError(f"interpreter {self._id} does not exist")

    def close(self):
        """Finalize and destroy the interpreter.

        Attempting to destroy the current interpreter (or the main one) results in an
        InterpreterError, as does closing a running interpreter, or one interpcli did not
        make."""
        self._refuse_foreign()
        if self._id == _lowlevel.current_id():
            raise InterpreterError("cannot destroy the current interpreter")
        if self._id == _lowlevel.main_id():
            raise InterpreterError("cannot destroy the main interpreter")
        self._ownsref = False
        try:
            if _lowlevel.current_id() != _lowlevel.main_id():
                _broker.request("close", self._id)  # the main interpreter closes it
            else:
                _lowlevel.destroy(self._id)
        except InterpreterNotFoundError:
            raise InterpreterNotFoundError(f"interpreter {self._id} does not exist") from None

    # -- running code there --

    def _request(self, op: str, messages, extra: str = "", canceller=None):
        """Queue the request messages on a private channel, run the worker stub in the
        interpreter, and return its reply (status, value)."""
        self._refuse_foreign()
        if self._id == _lowlevel.current_id():
            raise InterpreterError(
                "cannot run code in the current interpreter this way; call it directly"
            )
        in_main = _lowlevel.current_id() == _lowlevel.main_id()
        if in_main:
            from ..interpreter import Interpreter as _Base

            try:
                base = _Base(self._id)
            except InterpreterNotFoundError:
                raise InterpreterNotFoundError(f"interpreter {self._id} does not exist") from None
        recv, _send = _lowlevel.create_channel()
        ch = _lowlevel.end(recv.id, _lowlevel.BOTH)
        for msg, lent in messages:
            (ch.send_buffer_nowait if lent else ch.send_nowait)(msg)
        rrecv, _rsend = _lowlevel.create_channel()  # the reply: never the request
        rep = _lowlevel.end(rrecv.id, _lowlevel.BOTH)
        # the stub also tells the interpreter the broker's channel (see _broker)
        broker = _broker.start() if in_main else _broker.BROKER
        first = None
        for robust in (False, True):
            stub = _worker.stub(op, ch.id, extra, broker, rep.id, robust)
            if in_main:
                res = base._run(stub, canceller=canceller)
            else:  # the main interpreter runs it (see _broker); RunResult's fields
                res = _broker.RunOutcome(*_broker.request("run", self._id, stub))  # type: ignore[assignment]
            try:
                reply = rep.recv_nowait(None)
            except _lowlevel.ChannelClosedError:  # closed at exit, the run cut short
                if res.exc_type is None:
                    raise InterpreterError(
                        f"interpreter {self._id}: the process is "
                        f"exiting; the {op.rstrip('_')} was cut "
                        f"short"
                    ) from None
                reply = None
                break
            if reply is not None or robust or not _worker.worth_retry(res):
                break
            first = res  # the script broke builtins or sys.modules there: see _worker
        if reply is None:
            return _worker.ST_EXC, (_stub_failure(self._id, op, first or res), None)
        _pid, _op, kind = _xi.header(reply)
        status, value = _xi.payload(reply, kind)
        if status == _worker.ST_NOTSHAREABLE:
            raise NotShareableError(value)
        return status, value

    def prepare_main(self, ns=None, /, **kwargs):
        """Bind the given values into the interpreter's __main__.

        The values must be shareable (see is_shareable()); otherwise NotShareableError
        is raised and none is bound. Memoryviews pass without a copy, read-only."""
        self._prepare_main(ns, kwargs, restrict=True)

    def _prepare_main(self, ns, kwargs, restrict):
        ns = dict(ns, **kwargs) if ns is not None else kwargs
        if not ns:
            raise ValueError("arg 2 must be a non-empty dict")
        for name, value in ns.items():
            if not isinstance(name, str):
                raise TypeError(f"names must be str, not {type(name).__name__!r}")
            if restrict and not _xi.is_shareable(value):
                raise NotShareableError(f"{name}: {type(value).__name__!r} object is not shareable")
        messages = [_xi.encode(tuple(ns), _xi.OP_UNBOUND)]
        messages += [_xi.encode(v, _xi.OP_UNBOUND) for v in ns.values()]
        status, value = self._request("prepare", messages)
        if status != _worker.ST_OK:
            raise ExecutionFailed(_make_excinfo(value[0]))

    def exec(self, code, /):
        """Run the given source code in the interpreter.

        This is essentially the same as calling the builtin "exec"
        with this interpreter, using the __dict__ of its __main__
        module as both globals and locals. code may be a str, a code object, or a
        function taking no arguments (its body runs).

        There is no return value.

        If the code raises an unhandled exception then an ExecutionFailed
        exception is raised, which summarizes the unhandled exception.

        This blocks the current Python thread until done."""
        return self._exec(code)

    def _exec(self, code, canceller=None):
        if isinstance(code, str):
            req = (_worker.R_SOURCE, code)
        else:
            if isinstance(code, types.FunctionType):
                fn = code
                if fn.__code__.co_argcount or fn.__code__.co_kwonlyargcount or fn.__closure__:
                    raise ValueError(
                        "a function passed to exec() must take no arguments and have no closure"
                    )
                code = fn.__code__
            if not isinstance(code, types.CodeType):
                raise TypeError(
                    f"expected str, code object or function, got {type(code).__name__!r}"
                )
            import marshal

            req = (_worker.R_CODE, marshal.dumps(code))
        status, value = self._request(
            "exec_", [_xi.encode(req, _xi.OP_UNBOUND)], canceller=canceller
        )
        if status != _worker.ST_OK:
            raise ExecutionFailed(_make_excinfo(value[0]))

    def _call(self, callable, args, kwargs, preserve=False, canceller=None):
        if not callable_(callable):
            raise TypeError(f"{type(callable).__name__!r} object is not callable")
        msg = _xi.encode((callable, args, kwargs), _xi.OP_UNBOUND)
        status, value = self._request(
            "call", [msg], ", True" if preserve else "", canceller=canceller
        )
        if status != _worker.ST_OK:
            info, pickled = value
            raise _failure(info, pickled)
        return value

    def call(self, callable, /, *args, **kwargs):
        """Call the object in the interpreter with given args/kwargs and return its result.

        Shareable objects pass as they are. A "stateless" function (no closure, no
        defaults, no globals but builtins) passes as its code and runs with the
        interpreter's __main__ as globals; other callables, args, kwargs and return
        values are pickled: functions by reference (one of __main__ from a hidden copy
        of the main script when the interpreter's __main__ lacks it), and NotShareableError
        is raised for what does not pickle (closures, local functions) or does not
        rebuild there. Builtins that act on their caller (eval, exec, dir) act on __main__.

        If the callable raises an exception then the error display
        (including full traceback) is sent back between the interpreters
        and an ExecutionFailed exception is raised."""
        return self._call(callable, args, kwargs)

    async def call_async(self, callable, /, *args, **kwargs):
        """Awaitable call(): the event loop stays free while the call runs (on a driver
        thread; its end wakes the loop). Cancelling (asyncio.timeout, Ctrl-C in
        asyncio.run) interrupts the call and waits until it has stopped."""
        if not callable_(callable):
            raise TypeError(f"{type(callable).__name__!r} object is not callable")
        from .. import aio

        return await aio._drive(
            self._id, lambda canceller: self._call(callable, args, kwargs, canceller=canceller)
        )

    async def exec_async(self, code, /):
        """Awaitable exec(); cancelling interrupts the code."""
        from .. import aio

        return await aio._drive(self._id, lambda canceller: self._exec(code, canceller))

    def call_in_thread(self, callable, /, *args, **kwargs):
        """Return a new, started thread that calls the object in the interpreter.

        The return value and any raised exception are discarded."""
        t = threading.Thread(target=self._call, args=(callable, args, kwargs))
        t.start()
        return t


callable_ = callable


def _stub_failure(iid: int, op: str, res) -> tuple:
    """The excinfo fields for a request that got no reply: the stub itself failed (the
    package does not import there, the interpreter was broken before interpcli's worker
    was loaded in it, or the run was interrupted before the worker answered)."""
    name = res.exc_type or "InterpreterError"
    what = {"exec_": "exec", "call": "call", "prepare": "prepare_main"}.get(op, op)
    if res.exc_type is None:
        msg = f"interpreter {iid} gave no answer to {what}()"
    else:
        msg = res.exc_message or ""
    formatted = f"{name}: {msg}" if msg else name
    display = (res.traceback or "").rstrip() or formatted
    if res.exc_type not in (None, "KeyboardInterrupt", "SystemExit", "TimeoutError"):
        display += (
            f"\n(interpcli could not serve {what}() in interpreter {iid}: "
            f"its __builtins__, __import__ or sys.modules were changed before "
            f"interpcli's worker first ran there?)"
        )
    return (name.rsplit(".", 1)[-1], name, "builtins", msg, formatted, display)
