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

import marshal
import pickle
import struct
import sys
import weakref

from .. import _lowlevel, _xiframe
from ._pickling import _rebuild_end, pickle_dumps
from ._shareable import _PLAIN, NotShareableError, _plain, is_shareable, register_xi_type  # noqa: F401 (register_xi_type: this module's API)

_CURRENT_ID = _lowlevel.current_id()
_MAIN_ID = _lowlevel.main_id()


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
        subclass = type(
            f"Unbound{kind.capitalize()}Item", (cls,), dict(_MODULE=module, _NAME=name, __doc__=doc)
        )
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
    for iid, *_ in _lowlevel.list_interpreters():
        if iid == interp_id:
            return True
    return False


# ---- messages ----

_HEAD = _xiframe.XI_HEAD  # putter interpreter id, unbound op, payload kind
HEAD_SIZE = _HEAD.size
K_MARSHAL, K_PICKLE, K_BUFFER = _xiframe.K_MARSHAL, _xiframe.K_PICKLE, _xiframe.K_BUFFER
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
        brecv, bsend = _lowlevel.create_channel()
        bsend.send_buffer_nowait(obj)
        _local_views[brecv.id] = obj
        msg = carrier(
            _HEAD.pack(_CURRENT_ID, op, K_BUFFER) + _CHAN_ID.pack(brecv.id),
            (brecv, bsend),
            brecv.id,
        )
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
                    return memoryview(mine)  # a view of its own, onto the same memory
            return view
        raise ValueError(f"not an interpcli.interpreters message (kind {kind!r})")
    finally:
        if type(msg) is memoryview:
            msg.release()
