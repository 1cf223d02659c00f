"""Pickling for objects that are not shareable: channel ends and queues by id (kept alive
in transit), memoryviews by value, and functions as Python 3.14 sends them."""

from __future__ import annotations

import builtins
import io
import marshal
import pickle
import sys
import types
import weakref

from .. import _lowlevel
from ._shareable import _END_TYPES, NotShareableError, _plain, _xi_types

# ---- pickling with keep-alive of ends, and functions ----


def _rebuild_end(chan_id, mode):
    try:
        return _lowlevel.end(chan_id, mode)
    except _lowlevel.ChannelError as exc:
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

_GLOBAL_OPS = frozenset(
    {"LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME", "STORE_NAME", "DELETE_NAME"}
)
_global_names_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _global_names(code) -> frozenset:
    """The global (and builtin) names the code itself uses (not its nested functions)."""
    names = _global_names_cache.get(code)
    if names is None:
        import dis

        names = frozenset(
            ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS
        )
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
                f"failed: {type(exc).__name__}: {exc}"
            ) from None
    if obj is _MISSING:
        raise NotShareableError(
            f"{qualname!r} is not defined in __main__ here "
            f"(nor by the main script of the sending interpreter)"
        )
    return obj


_unimportable: set = set()
_rebuilt: weakref.WeakSet = weakref.WeakSet()  # functions rebuilt from their code


def _rebuild_function(module, qualname, code, name, defaults, kwdefaults, doc):
    """A module's function: by reference when its module imports here, else from its
    code, in a namespace of its own named after the module."""
    if module not in _unimportable:
        try:
            obj = _lookup(__import__(module, fromlist=["_"]), qualname)
            if obj is not _MISSING:
                return obj
        except ImportError:
            _unimportable.add(module)  # do not search sys.path again for each call
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
        return  # found by reference: it has its own module's globals
    glob = fn.__globals__
    modules, values = state
    for name, modname in modules.items():
        try:
            glob[name] = __import__(modname, fromlist=["_"])
        except ImportError:
            pass
    glob.update(values)


_all_names_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
        return NotImplemented  # pickle's own error (local object, not found)
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
        elif isinstance(value, (type, types.BuiltinFunctionType)) and getattr(
            value, "__module__", None
        ) not in (None, module, "__main__"):
            values[name] = value  # by reference, from a module that imports there
    args = (module, qualname, code, fn.__name__, fn.__defaults__, fn.__kwdefaults__, fn.__doc__)
    return (_rebuild_function, args, (modules, values), None, None, _set_function_globals)


def _reduce_main(obj):
    """Pickle a function or class of __main__ by reference (see above)."""
    main = sys.modules["__main__"]
    qualname = obj.__qualname__
    if "<" in qualname or _lookup(main, qualname) is not obj:
        raise NotShareableError(
            f"{qualname!r} of __main__ cannot be pickled: it is not __main__.{qualname}"
        )
    return (_main_attr, (getattr(main, "__file__", None), qualname))


def _base_pickler():
    """pickle.Pickler, except in a subinterpreter of 3.12: there 3.12.1's C pickler
    corrupts memory when it pickles a tuple (the process aborts at exit with "free():
    invalid pointer"; the stdlib's _xxsubinterpreters too), so the pure-Python one is used
    (tests/pep734/test_pickling_312.py)."""
    if sys.version_info[:2] == (3, 12):
        from .._lowlevel import current_id, main_id

        if current_id() != main_id():
            return pickle._Pickler
    return pickle.Pickler


class _Pickler(_base_pickler()):  # type: ignore[misc]  # the base depends on the version
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
                    return (_rebuild_stateless, (code, obj.__name__, obj.__qualname__, obj.__doc__))
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
            f"{type(obj).__name__!r} object is neither shareable nor picklable: {exc}"
        ) from exc
    return buf.getvalue()
