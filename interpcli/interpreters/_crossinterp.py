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

import builtins
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


# ---- pickling with keep-alive of ends, and functions ----

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


# Functions cross as in Python 3.14's concurrent.interpreters:
# - a "stateless" function (no closure, no defaults, only builtins among the global names
#   its code uses) crosses as its code and runs with the receiving interpreter's __main__
#   as globals;
# - any other function (and class) is pickled by reference: the receiver imports its
#   module. One of __main__ is looked up in the receiver's __main__ and, failing that, in
#   a hidden module made by running the sender's main script there as "<fake __main__>"
#   (once per interpreter), so that it runs with the globals its script gives it.
# Closures and local functions do not pickle: NotShareableError.
# One extension: a module's function also carries its code, so that it still runs where its
# module does not import (a test module found through the caller's sys.path, say): then
# it runs in a namespace of its own, given the modules and plain values it names.

_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL",
                         "LOAD_NAME", "STORE_NAME", "DELETE_NAME"})
_global_names_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _global_names(code) -> frozenset:
    """The global (and builtin) names the code itself uses (not its nested functions)."""
    names = _global_names_cache.get(code)
    if names is None:
        import dis
        names = frozenset(ins.argval for ins in dis.get_instructions(code)
                          if ins.opname in _GLOBAL_OPS)
        _global_names_cache[code] = names
    return names


def is_stateless(fn) -> bool:
    """Whether the function crosses as its code (CPython 3.14's "stateless" function)."""
    if type(fn) is not types.FunctionType:
        return False
    if fn.__defaults__ or fn.__kwdefaults__ or fn.__closure__:
        return False
    code = fn.__code__
    if code.co_freevars:
        return False
    names = _global_names(code)
    if names:
        glob = fn.__globals__
        b = glob.get("__builtins__", builtins)
        b = b.__dict__ if isinstance(b, types.ModuleType) else b
        if not all(name not in glob and name in b for name in names):
            return False
    return True


def _rebuild_stateless(code, name, qualname, doc):
    fn = types.FunctionType(marshal.loads(code), sys.modules["__main__"].__dict__, name)
    fn.__qualname__ = qualname
    fn.__doc__ = doc
    return fn


_MISSING = object()


def _lookup(obj, qualname):
    for part in qualname.split("."):
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            break
    return obj


_fake_mains: dict = {}


def _fake_main(filename):
    """The sender's main script run here as a hidden module (not this __main__)."""
    mod = _fake_mains.get(filename)
    if mod is None:
        with open(filename, "rb") as f:
            source = f.read()
        mod = types.ModuleType("<fake __main__>")
        mod.__file__ = filename
        mod.__builtins__ = builtins
        _fake_mains[filename] = mod
        try:
            exec(compile(source, filename, "exec"), mod.__dict__)
        except BaseException:
            del _fake_mains[filename]
            raise
    return mod


def _main_attr(filename, qualname):
    obj = _lookup(sys.modules["__main__"], qualname)
    if obj is _MISSING and filename:
        try:
            obj = _lookup(_fake_main(filename), qualname)
        except Exception as exc:
            raise NotShareableError(
                f"{qualname!r} of __main__ cannot be rebuilt here: running {filename!r} "
                f"failed: {type(exc).__name__}: {exc}") from None
    if obj is _MISSING:
        raise NotShareableError(f"{qualname!r} is not defined in __main__ here "
                                f"(nor by the main script of the sending interpreter)")
    return obj


_unimportable: set = set()
_rebuilt: "weakref.WeakSet" = weakref.WeakSet()     # functions rebuilt from their code


def _rebuild_function(module, qualname, code, name, defaults, kwdefaults, doc):
    """A module's function: by reference when its module imports here, else from its
    code, in a namespace of its own named after the module."""
    if module not in _unimportable:
        try:
            obj = _lookup(__import__(module, fromlist=["_"]), qualname)
            if obj is not _MISSING:
                return obj
        except ImportError:
            _unimportable.add(module)   # do not search sys.path again for each call
    glob = {"__name__": module, "__builtins__": builtins}
    fn = types.FunctionType(marshal.loads(code), glob, name, defaults)
    fn.__qualname__ = qualname
    fn.__kwdefaults__ = kwdefaults
    fn.__doc__ = doc
    _rebuilt.add(fn)
    return fn


def _set_function_globals(fn, state):
    """Give a function rebuilt from its code the globals it names (when it was not found
    by reference): modules are imported, other values set."""
    if fn not in _rebuilt:
        return      # found by reference: it has its own module's globals
    glob = fn.__globals__
    modules, values = state
    for name, modname in modules.items():
        try:
            glob[name] = __import__(modname, fromlist=["_"])
        except ImportError:
            pass
    glob.update(values)


_all_names_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _all_names(code) -> frozenset:
    names = _all_names_cache.get(code)
    if names is None:
        found = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                found |= _all_names(const)
        names = _all_names_cache[code] = frozenset(found)
    return names


def _reduce_module_function(fn):
    module, qualname = fn.__module__, fn.__qualname__
    mod = sys.modules.get(module)
    if fn.__closure__ or "<" in qualname or mod is None or _lookup(mod, qualname) is not fn:
        return NotImplemented       # pickle's own error (local object, not found)
    try:
        code = marshal.dumps(fn.__code__)
    except ValueError:
        return NotImplemented
    glob = fn.__globals__
    modules, values = {}, {}
    for name in _all_names(fn.__code__):
        value = glob.get(name, _MISSING)
        if value is _MISSING:
            continue
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
        elif type(value) is types.FunctionType or _plain(value):
            values[name] = value
        elif (isinstance(value, (type, types.BuiltinFunctionType))
              and getattr(value, "__module__", None) not in (None, module, "__main__")):
            values[name] = value        # by reference, from a module that imports there
    args = (module, qualname, code, fn.__name__, fn.__defaults__, fn.__kwdefaults__,
            fn.__doc__)
    return (_rebuild_function, args, (modules, values), None, None, _set_function_globals)


def _reduce_main(obj):
    """Pickle a function or class of __main__ by reference (see above)."""
    main = sys.modules["__main__"]
    qualname = obj.__qualname__
    if "<" in qualname or _lookup(main, qualname) is not obj:
        raise NotShareableError(f"{qualname!r} of __main__ cannot be pickled: it is not "
                                f"__main__.{qualname}")
    return (_main_attr, (getattr(main, "__file__", None), qualname))


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
        if t is types.FunctionType:
            if is_stateless(obj):
                try:
                    code = marshal.dumps(obj.__code__)
                except ValueError:
                    pass
                else:
                    return (_rebuild_stateless, (code, obj.__name__, obj.__qualname__,
                                                 obj.__doc__))
            module = obj.__module__
            if module == "__main__":
                return _reduce_main(obj)
            if module is None or module.startswith("interpcli."):
                return NotImplemented
            return _reduce_module_function(obj)
        if isinstance(obj, type) and obj.__module__ == "__main__":
            return _reduce_main(obj)
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
# memoryviews sent lent, by the id of the channel that carries them: a receiver in the
# same interpreter gets the sender's view itself (writable if it is), as in CPython; one
# elsewhere gets the core's read-only view
_local_views: dict = {}


def _released(ref):
    entry = _inflight.pop(id(ref), None)
    if entry is not None:
        _graveyard.append(entry)
        if entry[2] is not None:
            _graveyard.append(_local_views.pop(entry[2], None))


def carrier(data, keep, local_view=None) -> _Carrier:
    """A lendable message holding data, keeping the objects in keep alive meanwhile."""
    msg = _Carrier(data)
    ref = weakref.ref(msg, _released)
    _inflight[id(ref)] = (ref, keep, local_view)
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
        _local_views[brecv.id] = obj
        msg = carrier(_HEAD.pack(_CURRENT_ID, op, K_BUFFER) + _CHAN_ID.pack(brecv.id),
                      (brecv, bsend), brecv.id)
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
            view = _rebuild_end(bid, 1).recv_nowait()
            if _HEAD.unpack_from(msg)[0] == _CURRENT_ID:
                mine = _local_views.pop(bid, None)
                if mine is not None:
                    view.release()
                    return memoryview(mine)     # a view of its own, onto the same memory
            return view
        raise ValueError(f"not an interpcli.interpreters message (kind {kind!r})")
    finally:
        if type(msg) is memoryview:
            msg.release()
