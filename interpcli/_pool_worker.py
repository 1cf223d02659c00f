"""The loop an InterpreterPoolExecutor worker runs inside its interpreter.

It takes (task id, callable or script, args, kwargs) messages from the pool's task channel,
runs each in __main__, and sends (task id, ok, result) back on the reply channel: the
result, or the uncaught exception as data (excinfo fields, plus the pickled exception when
it pickles, so the executor re-raises it as it was). It returns once the task channel is
closed and drained.

This module is what a new worker imports, so it imports nothing but marshal and the core:
a task whose callable and data marshal (plain data; builtins and module functions by
name; functions of __main__ by value, their code marshalled) travels as a "light" message
and needs neither pickle nor interpcli.interpreters here. Anything else travels as an
pickle message (by interpcli.interpreters._crossinterp's pickler: functions by value,
channel ends and queues kept alive in flight), unpickled here with pickle."""

import marshal
import sys

from . import _lowlevel
from ._xiframe import MARSHAL as K_MARSHAL
from ._xiframe import PICKLE as K_PICKLE
from ._xiframe import TASK_HEAD as HEAD
from ._xiframe import TASK_ID as TID

# A message (framed as _xiframe says): its kind (K_MARSHAL or K_PICKLE), the task's id,
# then the payload: for a task (callable spec or callable, args, kwargs), for a reply (ok,
# result or failure)
_PLAIN_TYPES = frozenset({type(None), bool, int, float, complex, str, bytes})


def plain(obj, budget: int = 200) -> bool:
    """True if obj marshals and unmarshals as itself: plain scalars, and tuples, lists,
    dicts, sets and frozensets of them, at most `budget` items in all."""
    stack = [obj]
    while stack:
        o = stack.pop()
        t = type(o)
        if t in _PLAIN_TYPES:
            continue
        budget -= 1
        if budget < 0:
            return False
        if t is tuple or t is list or t is set or t is frozenset:
            if len(o) > budget:
                return False
            stack.extend(o)
        elif t is dict:
            if 2 * len(o) > budget:
                return False
            stack.extend(o)
            stack.extend(o.values())
        else:
            return False
    return True


def _import(module: str, qualname: str):
    obj = __import__(module, fromlist=["_"])
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


_trampoline = None


def _in_main(fn, args, kwargs):
    """Call fn from a frame whose globals are __main__'s, so that eval(), exec(),
    globals() and the like called directly act on __main__ (as Interpreter.call does)."""
    global _trampoline
    if _trampoline is None:
        import types

        _trampoline = types.FunctionType(
            (lambda f, a, k: f(*a, **k)).__code__, sys.modules["__main__"].__dict__, "call"
        )
    return _trampoline(fn, args, kwargs)


def _function(spec):
    """Rebuild a callable of a light message: ("r", module, qualname) by name, or ("v",
    module, qualname, code, name, defaults, kwdefaults, closure, doc, home, modules,
    values) by value, as interpcli.interpreters._crossinterp rebuilds one."""
    if spec[0] == "r":
        return _import(spec[1], spec[2])
    (
        _k,
        module,
        qualname,
        code,
        name,
        defaults,
        kwdefaults,
        closure,
        doc,
        home,
        modules,
        values,
    ) = spec
    if module is not None:
        try:
            obj = _import(module, qualname)
            if callable(obj):
                return obj
        except Exception:
            pass
    import types

    main = sys.modules["__main__"].__dict__
    glob = main if home is None else {"__name__": home, "__builtins__": __builtins__}
    if closure is not None:
        closure = tuple(types.CellType(v) for v in closure)
    fn = types.FunctionType(marshal.loads(code), glob, name, defaults, closure)
    fn.__qualname__ = qualname
    fn.__kwdefaults__ = kwdefaults
    fn.__doc__ = doc
    for gname, modname in modules.items():
        if glob is main and gname in glob:
            continue
        try:
            glob[gname] = __import__(modname, fromlist=["_"])
        except ImportError:
            pass
    if glob is main:
        for gname, value in values.items():
            glob.setdefault(gname, value)
    else:
        glob.update(values)
    return fn


_stateless: dict = {}


def _cached_function(spec):
    """_function(spec), reusing the function rebuilt for a stateless spec (code only, run
    with __main__'s globals: nothing of it can differ), so it stays specialized."""
    if (
        spec[0] != "v"
        or spec[1] is not None
        or spec[5:8] != (None, None, None)
        or spec[9] is not None
        or spec[10]
        or spec[11]
    ):
        return _function(spec)
    key = (spec[3], spec[2], spec[4], spec[8])
    fn = _stateless.get(key)
    if fn is None:
        if len(_stateless) >= 64:
            _stateless.clear()
        fn = _stateless[key] = _function(spec)
    return fn


def serve(task_chan: int, reply_chan: int) -> None:
    tasks = _lowlevel.end(task_chan, _lowlevel.RECV)
    replies = _lowlevel.end(reply_chan, _lowlevel.SEND)
    closed = _lowlevel.ChannelClosedError
    main = sys.modules["__main__"].__dict__
    loads, dumps, unpack_tid, pack_tid = marshal.loads, marshal.dumps, TID.unpack_from, TID.pack
    while True:
        try:
            msg = tasks.recv()
        except closed:
            return
        fn = None
        (tid,) = unpack_tid(msg, 1)
        try:
            if msg[:1] == K_MARSHAL:
                spec, args, kwargs = loads(msg[HEAD:])
                fn = spec[1] if spec[0] == "s" else _cached_function(spec)
            else:
                import pickle

                try:
                    fn, args, kwargs = pickle.loads(msg[HEAD:])
                except BaseException as exc:
                    reply = (False, _not_unpickled(exc))
                    replies.send_nowait(K_MARSHAL + pack_tid(tid) + dumps(reply))
                    continue
                finally:
                    if type(msg) is memoryview:
                        msg.release()  # lent: the sender's memory is let go at once
            del msg
            if type(fn) is str:
                exec(compile(fn, "<string>", "exec"), main)
                result = None
            else:
                result = _in_main(fn, args, kwargs)
        except BaseException as exc:
            reply = (False, _exception(exc, type(fn) is not str))
            result = None
        else:
            reply = (True, result)
        if plain(result):
            replies.send_nowait(K_MARSHAL + pack_tid(tid) + dumps(reply))
            continue
        from .interpreters import _crossinterp as xi

        keep: list = []
        try:
            data = xi.pickle_dumps(reply, keep)
        except BaseException as exc:  # a result that does not pickle
            from .interpreters._worker import excinfo

            data = dumps((False, (excinfo(exc, skip=99), None)))
            replies.send_nowait(K_MARSHAL + pack_tid(tid) + data)
            continue
        finally:
            del reply, result
        out = K_PICKLE + pack_tid(tid) + data
        if keep:
            replies.send_buffer_nowait(xi.carrier(out, keep))
        else:
            replies.send_nowait(out)
        del out, data, keep


def _not_unpickled(exc):
    """The failure of a task whose callable or arguments do not unpickle here: the caller
    raises NotShareableError('args not shareable'), as the stdlib's pool does, caused by
    an ExecutionFailed that shows exc."""
    import pickle

    from .interpreters import _crossinterp as xi
    from .interpreters._worker import excinfo

    try:
        raise pickle.UnpicklingError(
            "the task could not be unpickled in the worker interpreter"
        ) from exc
    except pickle.UnpicklingError as wrapped:
        info = excinfo(wrapped, skip=99)
    return (info, xi.pickle_dumps(xi.NotShareableError("args not shareable"), []))


def _exception(exc, preserve):
    from .interpreters import _crossinterp as xi
    from .interpreters._worker import excinfo

    info = excinfo(exc, skip=3)  # serve, _in_main, the trampoline
    pickled = None
    if preserve:
        try:
            pickled = xi.pickle_dumps(exc.with_traceback(None), [])
        except Exception:
            pickled = None
    return (info, pickled)
