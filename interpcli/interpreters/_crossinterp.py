"""How objects cross between interpreters: shareable checks, encoding, unbound items.

Only bytes cross a C channel, so every object is encoded in the sending interpreter and
rebuilt in the receiving one. Shareable values (None, bool, int, float, str, bytes and
tuples of them) go through marshal; anything else through pickle. Channel ends, queues and
interpreters cross by id. A message whose payload names channel ends or queues is *lent*
(send_buffer) instead of copied: the core then keeps the sending interpreter's object,
and through it those ends, alive until the receiver has rebuilt them, so a queue or channel
put in flight by an interpreter that dropped its own reference does not vanish on the way.

A message is a header (who put it, what to do if that interpreter is gone, payload kind)
followed by the payload. Used by queues, the channels submodule and Interpreter.call."""
from __future__ import annotations

import io
import marshal
import pickle
import struct
import sys
import types
import weakref

from .._lowlevel import core_module
from ..errors import InterpError

_core = core_module()
_END_TYPES = (_core.RecvChannel, _core.SendChannel, _core.Channel)
_CURRENT_ID = _core.current_id()
_MAIN_ID = _core.main_id()


class NotShareableError(InterpError, ValueError):
    """The object cannot be passed to another interpreter (not shareable, not picklable)."""


class ItemInterpreterDestroyed(Exception):
    """Raised when trying to get an item whose interpreter was destroyed."""


# ---- unbound items (the names and flags of CPython's _crossinterp) ----

class classonly:
    """A value visible on the class only (like classmethod, hidden from instances)."""

    def __init__(self, value):
        self.value = value
        self.getter = classmethod(value).__get__
        self.name = None

    def __set_name__(self, cls, name):
        if self.name is not None:
            raise TypeError("already used")
        self.name = name

    def __get__(self, obj, cls):
        if obj is not None:
            raise AttributeError(self.name)
        return self.getter(None, cls)


class UnboundItem:
    """Represents a cross-interpreter item no longer bound to an interpreter.

    An item is unbound when the interpreter that added it to the
    cross-interpreter container is destroyed."""

    __slots__ = ()

    @classonly
    def singleton(cls, kind, module, name="UNBOUND"):
        doc = cls.__doc__.replace("cross-interpreter container", kind)
        doc = doc.replace("cross-interpreter", kind)
        subclass = type(f"Unbound{kind.capitalize()}Item", (cls,),
                        dict(_MODULE=module, _NAME=name, __doc__=doc))
        return object.__new__(subclass)

    _MODULE = __name__
    _NAME = "UNBOUND"

    def __new__(cls):
        raise Exception(f"use {cls._MODULE}.{cls._NAME}")

    def __repr__(self):
        return f"{self._MODULE}.{self._NAME}"

    def __reduce__(self):
        return (_unbound_singleton, (self._MODULE,))


UNBOUND = object.__new__(UnboundItem)
UNBOUND_ERROR = object()
UNBOUND_REMOVE = object()

OP_REMOVE, OP_ERROR, OP_UNBOUND = 1, 2, 3
_CONSTANT_TO_FLAG = {UNBOUND_REMOVE: OP_REMOVE, UNBOUND_ERROR: OP_ERROR, UNBOUND: OP_UNBOUND}
_FLAG_TO_CONSTANT = {v: k for k, v in _CONSTANT_TO_FLAG.items()}
# CPython's names for them (the flags are CPython's too)
_UNBOUND_CONSTANT_TO_FLAG = _CONSTANT_TO_FLAG
_UNBOUND_FLAG_TO_CONSTANT = _FLAG_TO_CONSTANT


def serialize_unbound(unbound):
    try:
        return (_CONSTANT_TO_FLAG[unbound],)
    except (KeyError, TypeError):
        raise NotImplementedError(f"unsupported unbound replacement op {unbound!r}") from None


def resolve_unbound(flag, exctype_destroyed):
    op = _FLAG_TO_CONSTANT.get(flag)
    if op is UNBOUND_ERROR:
        raise exctype_destroyed("item's original interpreter destroyed")
    if op is UNBOUND:
        return UNBOUND
    raise NotImplementedError(f"unsupported unbound replacement op {flag!r}")


def _unbound_singleton(module):
    mod = sys.modules.get(module) or __import__(module, fromlist=["UNBOUND"])
    return mod.UNBOUND


def alive(interp_id: int) -> bool:
    """Whether the interpreter with that id still exists."""
    if interp_id == _CURRENT_ID or interp_id == _MAIN_ID:
        return True
    for iid, *_ in _core.list_interpreters():
        if iid == interp_id:
            return True
    return False


# ---- shareable ----

_PLAIN = frozenset({type(None), bool, int, float, str, bytes})
_xi_types: set = set()      # Python classes that cross by id (queues, channel wrappers)


def register_xi_type(cls) -> None:
    """Make instances of cls shareable; cls must define _xi_reduce(keep) -> reduce tuple."""
    _xi_types.add(cls)


def _plain(obj) -> bool:
    t = type(obj)
    if t in _PLAIN:
        return True
    if t is tuple:
        return all(_plain(o) for o in obj)
    return False


def is_shareable(obj) -> bool:
    """True if the object's data passes to another interpreter as it is: None, bool, int,
    float, str, bytes, memoryview, tuples of shareable objects, queues and channel ends."""
    t = type(obj)
    if t in _PLAIN or t is memoryview or t in _END_TYPES or t in _xi_types:
        return True
    if t is tuple:
        return all(is_shareable(o) for o in obj)
    return False


# ---- pickling with keep-alive of ends and by-value functions ----

def _rebuild_end(chan_id, mode):
    try:
        return _core._end(chan_id, mode)
    except _core.ChannelError as exc:
        raise NotShareableError(f"channel {chan_id} no longer exists") from exc


def _rebuild_memoryview(data, fmt, shape):
    mv = memoryview(data)
    try:
        return mv.cast(fmt, shape) if shape is not None else mv
    except (TypeError, ValueError):
        return mv


def _make_cell(value):
    return types.CellType(value)


_unimportable: set = set()


def _rebuild_function(module, qualname, code, name, defaults, kwdefaults, closure, doc,
                      home=None):
    """Rebuild a function in this interpreter: by reference when its module imports here,
    else from its code object. A function of __main__ gets this interpreter's __main__ as
    globals; one of a module that does not import here gets a namespace of its own."""
    if module is not None and module not in _unimportable:
        try:
            obj = __import__(module, fromlist=["_"])
            for part in qualname.split("."):
                obj = getattr(obj, part)
            if callable(obj):
                return obj
        except Exception as exc:
            if code is None:
                raise
            if isinstance(exc, ImportError):
                _unimportable.add(module)   # do not search sys.path again for each call
    if code is None:
        raise NotShareableError(f"function {qualname!r} cannot be rebuilt here")
    if home is None:
        glob = sys.modules["__main__"].__dict__
    else:
        glob = {"__name__": home, "__builtins__": __builtins__}
    fn = types.FunctionType(marshal.loads(code), glob, name, defaults, closure)
    fn.__qualname__ = qualname
    fn.__kwdefaults__ = kwdefaults
    fn.__doc__ = doc
    return fn


def _set_function_globals(fn, state):
    """Give a function rebuilt by value the globals it uses: modules are imported (added
    to __main__ only where the name is free), other values set in its own namespace."""
    modules, values = state
    glob = fn.__globals__
    in_main = glob is sys.modules["__main__"].__dict__
    for name, modname in modules.items():
        if in_main and name in glob:
            continue
        try:
            glob[name] = __import__(modname, fromlist=["_"])
        except ImportError:
            pass
    if values:
        if in_main:
            for name, value in values.items():
                glob.setdefault(name, value)
        else:
            glob.update(values)


_names_cache: dict = {}


def _global_names(code) -> frozenset:
    names = _names_cache.get(code)
    if names is None:
        found = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                found |= _global_names(const)
        names = _names_cache[code] = frozenset(found)
    return names


def _reduce_function(fn):
    module = getattr(fn, "__module__", None)
    qualname = fn.__qualname__
    by_ref = (module is not None and module != "__main__" and "<" not in qualname)
    closure = None
    if fn.__closure__:
        try:
            closure = tuple(_make_cell(c.cell_contents) for c in fn.__closure__)
        except ValueError:      # an empty cell
            closure = None
            if not by_ref:
                raise NotShareableError(f"function {qualname!r} has an unset closure cell")
    try:
        code = marshal.dumps(fn.__code__)
    except ValueError:
        code = None
    # the globals it names: modules cross by name; plain values and functions by value
    glob = fn.__globals__
    modules, values = {}, {}
    for name in _global_names(fn.__code__):
        if name not in glob:
            continue
        value = glob[name]
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
        elif type(value) is types.FunctionType or _plain(value):
            values[name] = value
        elif (isinstance(value, (type, types.BuiltinFunctionType))
              and getattr(value, "__module__", None) not in (None, module, "__main__")):
            values[name] = value        # by reference, from a module that imports there
    home = None if module == "__main__" else (module or "__interpcli_function__")
    args = (module if by_ref else None, qualname, code, fn.__name__, fn.__defaults__,
            fn.__kwdefaults__, closure, fn.__doc__, home)
    return (_rebuild_function, args, (modules, values), None, None, _set_function_globals)


class _Pickler(pickle.Pickler):
    def __init__(self, file, keep):
        super().__init__(file, protocol=5)
        self._keep = keep

    def reducer_override(self, obj):
        t = type(obj)
        if t in _END_TYPES:
            self._keep.append(obj)
            return (_rebuild_end, (obj.id, obj._mode))
        if t in _xi_types:
            return obj._xi_reduce(self._keep)
        if t is types.FunctionType and not obj.__module__.startswith("interpcli."):
            return _reduce_function(obj)
        if t is types.CellType:
            try:
                return (_make_cell, (obj.cell_contents,))
            except ValueError:
                return (types.CellType, ())
        if t is memoryview:
            shape = obj.shape if obj.ndim else None
            return (_rebuild_memoryview, (obj.tobytes(), obj.format, shape))
        return NotImplemented


def pickle_dumps(obj, keep: list) -> bytes:
    """Pickle obj, collecting into keep the objects that must stay alive in transit."""
    buf = io.BytesIO()
    try:
        _Pickler(buf, keep).dump(obj)
    except NotShareableError:
        raise
    except RecursionError:
        raise
    except Exception as exc:
        raise NotShareableError(
            f"{type(obj).__name__!r} object is neither shareable nor picklable: {exc}") from exc
    return buf.getvalue()


# ---- messages ----

_HEAD = struct.Struct("<qBB")       # putter interpreter id, unbound op, payload kind
HEAD_SIZE = _HEAD.size
K_MARSHAL, K_PICKLE, K_BUFFER = ord("M"), ord("P"), ord("V")
_CHAN_ID = struct.Struct("<q")


class _Carrier(bytearray):
    """A message lent through send_buffer, so the core keeps it (and, through _inflight,
    what it names) alive until the receiver is done with it."""
    __slots__ = ("__weakref__",)


# What a carrier keeps alive is held here, not by the carrier: when the carrier is let go
# (the receiver released it, or its interpreter is being closed) only a weakref callback
# runs, moving the objects to _graveyard, which the next encode() empties. So dropping the
# last end of a channel never happens inside the core's release of a lent buffer, which
# may hold the core's channel locks (closing the interpreter would deadlock).
_inflight: dict = {}
_graveyard: list = []


def _released(ref):
    entry = _inflight.pop(id(ref), None)
    if entry is not None:
        _graveyard.append(entry)


def carrier(data, keep) -> _Carrier:
    """A lendable message holding data, keeping the objects in keep alive meanwhile."""
    msg = _Carrier(data)
    ref = weakref.ref(msg, _released)
    _inflight[id(ref)] = (ref, keep)
    return msg


def encode(obj, op: int, *, shareable_only: bool = False, lend_buffers: bool = True):
    """Return (message, lent): a bytes-like message for a channel, and whether it must be
    sent with send_buffer* (it carries objects to keep alive while in flight)."""
    if _graveyard:
        _graveyard.clear()
    t = type(obj)
    if t in _PLAIN or (t is tuple and _plain(obj)):
        return _HEAD.pack(_CURRENT_ID, op, K_MARSHAL) + marshal.dumps(obj), False
    if shareable_only and not is_shareable(obj):
        raise NotShareableError(f"{type(obj).__name__!r} object is not shareable")
    if t is memoryview and lend_buffers:
        # zero copy: the memory itself travels lent on a private channel
        brecv, bsend = _core.create_channel()
        bsend.send_buffer_nowait(obj)
        msg = carrier(_HEAD.pack(_CURRENT_ID, op, K_BUFFER) + _CHAN_ID.pack(brecv.id),
                      (brecv, bsend))
        return msg, True
    keep: list = []
    data = pickle_dumps(obj, keep)
    head = _HEAD.pack(_CURRENT_ID, op, K_PICKLE)
    if not keep:
        return head + data, False
    return carrier(head + data, keep), True


def send(end, obj, op: int, *, block: bool, shareable_only: bool = False) -> None:
    """Encode obj and send it on a core channel end."""
    msg, lent = encode(obj, op, shareable_only=shareable_only)
    if lent:
        (end.send_buffer if block else end.send_buffer_nowait)(msg)
    else:
        (end.send if block else end.send_nowait)(msg)


def header(msg):
    """(putter id, unbound op, kind) of a received message."""
    return _HEAD.unpack_from(msg)


def payload(msg, kind: int):
    """Rebuild the object of a received message (bytes, or a memoryview when lent).
    A lent view is released here, so the sender's memory is let go at once."""
    try:
        if kind == K_MARSHAL:
            return marshal.loads(msg[HEAD_SIZE:])
        if kind == K_PICKLE:
            return pickle.loads(msg[HEAD_SIZE:])
        if kind == K_BUFFER:
            (bid,) = _CHAN_ID.unpack_from(msg, HEAD_SIZE)
            return _rebuild_end(bid, 1).recv_nowait()
        raise ValueError(f"not an interpcli.interpreters message (kind {kind!r})")
    finally:
        if type(msg) is memoryview:
            msg.release()
