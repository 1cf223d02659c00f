"""Cross-interpreter channels: the API of 3.13's test.support.interpreters.channels.

Each channel is one of the core's C channels (the same kind `interpcli.create_channel()`
makes), carrying shareable objects encoded by _crossinterp. Blocking recv and send wait
on the channel's futex: they wake when the other side acts, never on a timer. send_buffer
lends the object's memory (no copy); the receiver gets a read-only memoryview onto it.

Docstrings of the public API follow CPython's Lib/test/support/interpreters/channels.py
(3.13) and Lib/test/support/channels.py (3.14) (PSF License)."""

from __future__ import annotations

import struct
import threading
import time
import weakref

from .. import _lowlevel, _xiframe
from . import _crossinterp
from ._crossinterp import UNBOUND_ERROR, UNBOUND_REMOVE
from ._shareable import KIND_CHANNEL, kind_of

__all__ = [
    "UNBOUND",
    "UNBOUND_ERROR",
    "UNBOUND_REMOVE",
    "create",
    "list_all",
    "SendChannel",
    "RecvChannel",
    "ChannelError",
    "ChannelNotFoundError",
    "ChannelEmptyError",
    "ItemInterpreterDestroyed",
]


ChannelError = _lowlevel.ChannelError
ChannelClosedError = _lowlevel.ChannelClosedError
ChannelEmptyError = _lowlevel.ChannelEmptyError


class ChannelNotFoundError(ChannelError, LookupError):
    """The channel does not exist (any more)."""


class ChannelNotEmptyError(ChannelError):
    """The channel still holds items (kept for API compatibility; not raised)."""


class ItemInterpreterDestroyed(ChannelError, _crossinterp.ItemInterpreterDestroyed):
    """Raised from recv() and recv_nowait()."""


UNBOUND = _crossinterp.UnboundItem.singleton("queue", __name__)


def _serialize_unbound(unbound):
    if unbound is UNBOUND:
        unbound = _crossinterp.UNBOUND
    return _crossinterp.serialize_unbound(unbound)


def _resolve_unbound(flag):
    resolved = _crossinterp.resolve_unbound(flag, ItemInterpreterDestroyed)
    if resolved is _crossinterp.UNBOUND:
        resolved = UNBOUND
    return resolved


def create(*, unbounditems=UNBOUND):
    """Return (recv, send) for a new cross-interpreter channel.

    The channel may be used to pass data safely between interpreters.

    "unbounditems" sets the default for the send end of the channel.
    See SendChannel.send() for supported values.  The default value
    is UNBOUND, which replaces the unbound item when received.
    """
    unbound = _serialize_unbound(unbounditems)
    recv_end, send_end = _lowlevel.create_channel()
    _lowlevel.kind(recv_end.id, KIND_CHANNEL)
    recv = RecvChannel._wrap(recv_end)
    send = SendChannel._wrap(send_end, unbound)
    return recv, send


_known: weakref.WeakSet[_ChannelEnd] = weakref.WeakSet()
_known_lock = threading.Lock()


def list_all():
    """Return a list of (recv, send) for the open channels this interpreter knows
    (created or received here)."""
    with _known_lock:
        ids = sorted({end._id for end in _known})
    out = []
    for cid in ids:
        try:
            end = _lowlevel.end(cid, _lowlevel.RECV)
        except ChannelError:
            continue
        if not end.is_closed:
            out.append((RecvChannel(cid), SendChannel(cid)))
    return out


_NOT_SET = object()
_EMPTY = object()
_SKIP = object()
_TIMED = struct.Struct("<qq")  # token channel id, ack channel id
K_TIMED = _xiframe.K_TIMED


class _ChannelEnd:
    """The base class for RecvChannel and SendChannel."""

    __slots__ = ("_id", "_obj", "_unbound", "__weakref__")
    _mode = 0

    def __new__(cls, cid):
        if not isinstance(cid, int):
            raise TypeError(f"id must be an int, got {cid!r}")
        self = object.__new__(cls)
        self._id = int(cid)
        self._obj = None
        with _known_lock:
            _known.add(self)
        return self

    @classmethod
    def _wrap(cls, end, unbound=None):
        self = (
            cls.__new__(cls, end.id)
            if unbound is None
            else cls.__new__(cls, end.id, _unbound=unbound)
        )
        self._obj = end if end._mode == cls._mode else None
        return self

    def _end(self):
        end = self._obj
        if end is None:
            # only this module's channels: another channel's messages (a queue's, plain
            # bytes) are no objects of ours, and must not be taken
            if kind_of(self._id) != KIND_CHANNEL:
                raise ChannelNotFoundError(f"channel {self._id} not found")
            try:
                end = self._obj = _lowlevel.end(self._id, self._mode)
            except ChannelError:
                raise ChannelNotFoundError(f"channel {self._id} not found") from None
        return end

    def __repr__(self):
        return f"{type(self).__name__}(id={self._id})"

    def __hash__(self):
        return hash(self._id)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return other._id == self._id

    # for pickling:
    def __reduce__(self):
        return (type(self), (self._id,))

    def _xi_reduce(self, keep):
        keep.append(self._end())
        return self.__reduce__()

    @property
    def id(self):
        return self._id

    @property
    def is_closed(self):
        return self._end().is_closed

    def close(self):
        self._end().close()


class RecvChannel(_ChannelEnd):
    """The receiving end of a cross-interpreter channel."""

    __slots__ = ()
    _mode = 1

    def recv(self, timeout=None):
        """Return the next object from the channel.

        This blocks until an object has been sent, if none have been
        sent already; TimeoutError after timeout seconds.
        """
        end = self._end()
        if timeout is None:
            while True:
                obj = _took(end.recv())
                if obj is not _SKIP:
                    return obj
        timeout = float(timeout)
        if timeout < 0:
            raise ValueError("timeout value must be non-negative")
        deadline = time.monotonic() + timeout
        while True:
            obj = _took(end.recv(timeout=max(deadline - time.monotonic(), 0.0)))
            if obj is not _SKIP:
                return obj

    def recv_nowait(self, default=_NOT_SET):
        """Return the next object from the channel.

        If none have been sent then return the default if one
        is provided or fail with ChannelEmptyError.  Otherwise this
        is the same as recv().
        """
        end = self._end()
        while True:
            msg = end.recv_nowait(_EMPTY)
            if msg is _EMPTY:
                if default is _NOT_SET:
                    raise ChannelEmptyError(f"channel {self._id} is empty")
                return default
            obj = _took(msg)
            if obj is not _SKIP:
                return obj


class SendChannel(_ChannelEnd):
    """The sending end of a cross-interpreter channel."""

    __slots__ = ()
    _mode = 2

    def __new__(cls, cid, *, _unbound=None):
        self = super().__new__(cls, cid)
        self._unbound = _unbound if _unbound is not None else _serialize_unbound(UNBOUND)
        return self

    def __reduce__(self):
        return (_rebuild_send, (self._id, self._unbound))

    @property
    def is_closed(self):
        return self._end().is_closed

    def _op(self, unbound, unbounditems=None):
        if unbounditems is not None:  # 3.14's name for it
            if unbound is not None:
                raise TypeError("unbound and unbounditems are the same setting; give one")
            unbound = unbounditems
        if unbound is None:
            return self._unbound[0]
        return _serialize_unbound(unbound)[0]

    def _send(self, obj, timeout, unbound, *, block, buffer, unbounditems=None):
        op = self._op(unbound, unbounditems)
        end = self._end()
        if buffer:
            if not isinstance(obj, memoryview):
                memoryview(obj).release()  # TypeError now for objects without a buffer
                obj = memoryview(obj)
        msg, lent = _crossinterp.encode(obj, op, shareable_only=True)
        if block and timeout is not None:
            return _send_timed(end, msg, lent, op, timeout)
        if lent:
            (end.send_buffer if block else end.send_buffer_nowait)(msg)
        else:
            (end.send if block else end.send_nowait)(msg)

    def send(self, obj, timeout=None, *, unbound=None, unbounditems=None):
        """Send the object (i.e. its data) to the channel's receiving end.

        This blocks until the object is received (or raises TimeoutError after timeout
        seconds; the object is then withdrawn, never received). The object must be
        shareable (NotShareableError otherwise).
        """
        self._send(obj, timeout, unbound, block=True, buffer=False, unbounditems=unbounditems)

    def send_nowait(self, obj, *, unbound=None, unbounditems=None):
        """Send the object to the channel's receiving end and return at once."""
        self._send(obj, None, unbound, block=False, buffer=False, unbounditems=unbounditems)

    def send_buffer(self, obj, timeout=None, *, unbound=None, unbounditems=None):
        """Send the object's buffer to the channel's receiving end, without a copy: the
        receiver gets a memoryview onto it (read-only in another interpreter). This blocks
        until it is received."""
        self._send(obj, timeout, unbound, block=True, buffer=True, unbounditems=unbounditems)

    def send_buffer_nowait(self, obj, *, unbound=None, unbounditems=None):
        """Like send_buffer(), but return at once."""
        self._send(obj, None, unbound, block=False, buffer=True, unbounditems=unbounditems)


def _rebuild_send(cid, unbound):
    return SendChannel(cid, _unbound=tuple(unbound))


def _send_timed(end, msg, lent, op, timeout):
    """A blocking send with a timeout, on channels whose blocking send has none: the
    message carries a one-token channel; the receiver takes the token and acks, the sender
    waits for the ack and, on timeout, takes the token itself, which withdraws the message
    (the receiver then skips it)."""
    timeout = float(timeout)
    if timeout < 0:
        raise ValueError("timeout value must be non-negative")
    token_r, token_s = _lowlevel.create_channel()
    ack_r, ack_s = _lowlevel.create_channel()
    token_s.send_nowait(b"")
    head = _crossinterp._HEAD.pack(_crossinterp._CURRENT_ID, op, K_TIMED)
    outer = _crossinterp.carrier(
        head + _TIMED.pack(token_r.id, ack_s.id) + msg, (token_r, token_s, ack_r, ack_s, msg)
    )
    end.send_buffer_nowait(outer)
    try:
        ack_r.recv(timeout=timeout)
        return
    except _lowlevel.ChannelTimeoutError:
        pass
    if token_r.recv_nowait(None) is not None:
        raise TimeoutError("nothing received the object in time")
    ack_r.recv()  # a receiver took it just now; it acks at once


def _took(msg):
    """The object of a received message, _SKIP for one to pass over."""
    putter, op, kind = _crossinterp.header(msg)
    if kind == K_TIMED:
        token_id, ack_id = _TIMED.unpack_from(msg, _crossinterp.HEAD_SIZE)
        inner = msg[_crossinterp.HEAD_SIZE + _TIMED.size :]
        try:
            taken = _lowlevel.end(token_id, _lowlevel.RECV).recv_nowait(None) is not None
            if taken:
                _lowlevel.end(ack_id, _lowlevel.SEND).send_nowait(b"")
        except ChannelError:
            taken = False
        if type(msg) is memoryview:
            if not taken:
                inner.release()
            msg.release()
        if not taken:
            return _SKIP  # the sender timed out and withdrew it
        msg = inner
        putter, op, kind = _crossinterp.header(msg)
    if not _crossinterp.alive(putter):
        if type(msg) is memoryview:
            msg.release()
        if op == _crossinterp.OP_REMOVE:
            return _SKIP
        return _resolve_unbound(op)
    return _crossinterp.payload(msg, kind)


_crossinterp.register_xi_type(RecvChannel)
_crossinterp.register_xi_type(SendChannel)
