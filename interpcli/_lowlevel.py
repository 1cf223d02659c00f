"""The one module that calls the C core. Each call's return code is checked here and
turned into interpcli's own exceptions carrying the core's error text.

Inside a subinterpreter the cffi module cannot load (cffi refuses own-GIL interpreters),
but the core has installed its `_interpcli` module there; `core_module()` works in every
interpreter, the `lib` calls only in the main one."""
from __future__ import annotations

import sys

_lib = None
_ffi = None


def core_module():
    """The `_interpcli` module of the calling interpreter (installing it in main)."""
    mod = sys.modules.get("_interpcli")
    if mod is None:
        _load()
        mod = sys.modules["_interpcli"]
    return mod


def in_main() -> bool:
    mod = core_module()
    return mod.current_id() == mod.main_id()


def _load():
    global _lib, _ffi
    if _lib is not None:
        return
    mod = sys.modules.get("_interpcli")
    if mod is not None and mod.current_id() != mod.main_id():
        raise _errors().InterpreterError(
            "creating, running and closing interpreters is only possible from the main "
            "interpreter; inside a subinterpreter use channels, list_all() and get_current()")
    try:
        from ._native import ffi, lib
    except ImportError as exc:
        raise ImportError(
            f"interpcli's C core is not built ({exc}); install the package with "
            "`pip install .` (or `pip install -e .`) to compile it") from exc
    rc = lib.ic_init()
    if rc != lib.IC_OK:
        raise RuntimeError("interpcli core failed to start: " + ffi.string(lib.ic_errmsg()).decode())
    _ffi, _lib = ffi, lib


def _errors():
    from . import errors
    return errors


def _check(rc: int) -> None:
    if rc == 0:
        return
    msg = _ffi.string(_lib.ic_errmsg()).decode("utf-8", "replace")
    e = _errors()
    if rc == _lib.IC_ERR_NOTFOUND:
        raise e.InterpreterNotFoundError(msg)
    if rc == _lib.IC_ERR_BUSY:
        raise e.InterpreterBusyError(msg)
    if rc == _lib.IC_ERR_NOMEM:
        raise MemoryError(msg)
    raise e.InterpreterError(msg)


def create(isolated: bool, name: str) -> int:
    _load()
    idp = _ffi.new("int64_t *")
    _check(_lib.ic_create(1 if isolated else 0, name.encode(), idp))
    return idp[0]


def destroy(interp_id: int, force: bool = False) -> None:
    _load()
    _check(_lib.ic_destroy(interp_id, 1 if force else 0))


def interrupt(interp_id: int, timeout: bool = False) -> None:
    _load()
    kind = _lib.IC_INTR_TIMEOUT if timeout else _lib.IC_INTR_KEYBOARD
    _check(_lib.ic_interrupt(interp_id, kind))


def close_all_channels() -> None:
    """Close every channel's send side (at exit): no thread stays blocked on a channel."""
    _load()
    _lib.ic_close_all_channels()


def _text(p, n=None):
    if p == _ffi.NULL:
        return None
    data = _ffi.string(p) if n is None else _ffi.unpack(p, n)
    return data.decode("utf-8", "replace")


class Canceller:
    """Stops one run whether or not it has begun: cancel() marks it for a run that has not
    started yet, and interrupts it in the interpreter if it has."""

    __slots__ = ("_flag", "_interp_id")

    def __init__(self, interp_id: int):
        _load()
        self._interp_id = interp_id
        self._flag = _ffi.new("int *")

    def cancel(self, timeout: bool = False) -> None:
        self._flag[0] = _lib.IC_INTR_TIMEOUT if timeout else _lib.IC_INTR_KEYBOARD
        try:
            interrupt(self._interp_id, timeout=timeout)
        except _errors().InterpreterNotFoundError:
            pass


def run(interp_id: int, source: bytes, filename: bytes, prelude: bytes | None,
        capture: bool, canceller: Canceller | None = None) -> dict:
    """Run in the calling OS thread (the GIL is released meanwhile); a dict of outcomes."""
    _load()
    res = _ffi.new("ic_result *")
    flag = canceller._flag if canceller is not None else _ffi.NULL
    rc = _lib.ic_run(interp_id, source, filename,
                     prelude if prelude is not None else _ffi.NULL, 1 if capture else 0, flag,
                     res)
    try:
        _check(rc)
        return {
            "status": res.status,
            "exit_code": res.exit_code,
            "exc_type": _text(res.exc_type),
            "exc_message": _text(res.exc_message),
            "traceback": _text(res.traceback),
            "stdout": _text(res.out, res.out_len) if capture else None,
            "stderr": _text(res.err, res.err_len) if capture else None,
            "duration": res.duration,
        }
    finally:
        _lib.ic_result_clear(res)


def interpreters() -> list[tuple[int, str, bool, bool, int]]:
    """(id, name, isolated, running, runs) of every interpreter, from any interpreter."""
    return [(i, n, bool(iso), bool(r), runs)
            for i, n, iso, r, runs in core_module().list_interpreters()]


def current_id() -> int:
    return core_module().current_id()


def main_id() -> int:
    return core_module().main_id()
