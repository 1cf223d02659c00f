"""Cross-interpreter queues (PEP 734's Queue) on interpcli's C channels, without polling.

A queue is three core channels, so every interpreter reaches it by id:
- items: one message per item (see _crossinterp for the framing);
- state: exactly one message, the queue's shared state (item count, putters waiting for
  room, items to drop when their interpreter goes); taking it is taking the queue's lock,
  sending it back releases it, and waiting for it parks on a futex like any receive;
- wake: a token per putter to wake when a get makes room in a full queue.
Blocking get waits on the items channel, blocking put on the wake channel: both wake
when the other side acts, never on a timer.

Queue.id is the id of the state channel.

Docstrings of the public API follow CPython's Lib/concurrent/interpreters/_queues.py
(PSF License)."""

from __future__ import annotations

import operator
import queue
import threading
import time
import weakref

from .. import _lowlevel
from ..errors import InterpError
from . import _crossinterp, _stdlib
from ._crossinterp import UNBOUND_ERROR, UNBOUND_REMOVE
from ._queuestate import _COUNTS, _FOREVER, _MAGIC, _NONE, _PREFIX, _SKIP, _STATE, QueueState
from ._shareable import KIND_QUEUE, KIND_QUEUE_PART, kind_of

__all__ = [
    "UNBOUND",
    "UNBOUND_ERROR",
    "UNBOUND_REMOVE",
    "create",
    "list_all",
    "Queue",
    "QueueError",
    "QueueNotFoundError",
    "QueueEmpty",
    "QueueFull",
    "ItemInterpreterDestroyed",
]


# bases known at run time: the stdlib's class too on 3.14+ (_stdlib.std)
class QueueError(InterpError, *_stdlib.std("QueueError"), RuntimeError):  # type: ignore[misc]
    """Indicates that a queue-related error happened."""


class QueueNotFoundError(QueueError, *_stdlib.std("QueueNotFoundError"), LookupError):  # type: ignore[misc]
    """The queue does not exist (any more)."""


class QueueEmpty(QueueError, *_stdlib.std("QueueEmpty"), queue.Empty):  # type: ignore[misc]
    """Raised from get_nowait() when the queue is empty.

    It is also raised from get() if it times out.
    """


class QueueFull(QueueError, *_stdlib.std("QueueFull"), queue.Full):  # type: ignore[misc]
    """Raised from put_nowait() when the queue is full.

    It is also raised from put() if it times out.
    """


class ItemInterpreterDestroyed(
    QueueError,
    *_stdlib.std("ItemInterpreterDestroyed"),  # type: ignore[misc]
    _crossinterp.ItemInterpreterDestroyed,
):
    """Raised from get() and get_nowait()."""


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


_KINDS = (KIND_QUEUE, KIND_QUEUE_PART, KIND_QUEUE_PART)  # state, items, wake channels
_SYNCOBJ = 0x100  # in the state's op: 3.13's syncobj default (put only shareable objects)


def create(maxsize=0, *, unbounditems=UNBOUND, syncobj=False):
    """Return a new cross-interpreter queue.

    The queue may be used to pass data safely between interpreters.
    maxsize <= 0 means no limit.

    "unbounditems" sets the default for Queue.put(); see that method for
    supported values.  The default value is UNBOUND, which replaces
    the unbound item.

    "syncobj" (Python 3.13's API) sets the default for Queue.put(): when true, only
    shareable objects may be put.
    """
    maxsize = operator.index(maxsize)
    if not -(2**63) <= maxsize < 2**63:
        raise OverflowError("maxsize does not fit in a C long long")
    (op,) = _serialize_unbound(unbounditems)
    if syncobj:
        op |= _SYNCOBJ
    ends = []
    for _ in range(3):
        recv, _send = _lowlevel.create_channel()
        ends.append(_lowlevel.end(recv.id, _lowlevel.BOTH))
    state, items, wake = ends
    for end, kind in zip(ends, _KINDS):
        _lowlevel.kind(end.id, kind)
    # a maxsize <= 0 means no limit, and is kept as given (Queue.maxsize shows it)
    state.send_nowait(_STATE.pack(0, 0, _PREFIX.pack(_MAGIC, items.id, wake.id, maxsize, op)))
    self = Queue._build(state, items, wake, maxsize, op)
    self._unbounditems = unbounditems
    return self


def list_all():
    """Return the open queues this interpreter knows (created or received here)."""
    with _known_lock:
        return list(_known_queues.values())


_known_queues: weakref.WeakValueDictionary[int, Queue] = weakref.WeakValueDictionary()
_known_lock = threading.Lock()


def _rebuild(state_id, items_id, wake_id, maxsize, op):
    with _known_lock:
        self = _known_queues.get(state_id)
    if self is not None:
        return self
    if tuple(map(kind_of, (state_id, items_id, wake_id))) != _KINDS:
        raise QueueNotFoundError(f"queue {state_id} no longer exists")
    try:
        ends = [_lowlevel.end(cid, _lowlevel.BOTH) for cid in (state_id, items_id, wake_id)]
    except _lowlevel.ChannelError:
        raise QueueNotFoundError(f"queue {state_id} no longer exists") from None
    return Queue._build(*ends, maxsize, op)


class Queue(QueueState):
    """A cross-interpreter queue."""

    __slots__ = (
        "_id",
        "_s",
        "_i",
        "_w",
        "_maxsize",
        "_op",
        "_rawop",
        "_syncobj",
        "_prefix",
        "_unbounditems",
        "__weakref__",
    )

    def __new__(cls, id, /):
        if not isinstance(id, int):
            raise TypeError(f"id must be an int, got {id!r}")
        id = int(id)
        with _known_lock:
            self = _known_queues.get(id)
        if self is not None:
            return self
        if kind_of(id) != KIND_QUEUE:  # never take another channel's messages
            raise QueueNotFoundError(f"queue {id} not found")
        try:
            state = _lowlevel.end(id, _lowlevel.BOTH)
        except _lowlevel.ChannelError:
            raise QueueNotFoundError(f"queue {id} not found") from None
        holder = []  # see "the shared state" below
        try:
            holder.extend(map(state.recv, (None,)))  # waits while another holds it
            data = holder[0]
            if data[_COUNTS.size : _COUNTS.size + 8] != _MAGIC:
                raise QueueNotFoundError(f"channel {id} is not a queue")
            _m, items_id, wake_id, maxsize, op = _PREFIX.unpack_from(data, _COUNTS.size)
        finally:
            if holder:
                state.send_nowait(holder[-1])
        return _rebuild(id, items_id, wake_id, maxsize, op)

    _resolve_unbound = staticmethod(_resolve_unbound)

    @classmethod
    def _build(cls, state, items, wake, maxsize, op):
        with _known_lock:
            self = _known_queues.get(state.id)
            if self is not None:
                return self
            self = object.__new__(cls)
            self._id = state.id
            self._s, self._i, self._w = state, items, wake
            self._maxsize = maxsize
            self._rawop = op
            self._op = op & 0xFF
            self._syncobj = bool(op & _SYNCOBJ)
            self._prefix = _PREFIX.pack(_MAGIC, items.id, wake.id, maxsize, op)
            _known_queues[self._id] = self
            return self

    def __repr__(self):
        return f"{type(self).__name__}({self._id})"

    def __hash__(self):
        return hash(self._id)

    def __eq__(self, other):
        if not isinstance(other, Queue):
            return NotImplemented
        return other._id == self._id

    # for pickling:
    def __reduce__(self):
        return (_rebuild, (self._id, self._i.id, self._w.id, self._maxsize, self._rawop))

    def _xi_reduce(self, keep):
        keep.append(self)
        return self.__reduce__()

    @property
    def id(self):
        return self._id

    @property
    def maxsize(self):
        return self._maxsize

    @property
    def unbounditems(self):
        try:
            return self._unbounditems
        except AttributeError:
            items = (
                UNBOUND
                if self._op == _crossinterp.OP_UNBOUND
                else _crossinterp._FLAG_TO_CONSTANT[self._op]
            )
            self._unbounditems = items
            return items

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return self._maxsize > 0 and self.qsize() >= self._maxsize

    def qsize(self):
        holder = []
        try:
            st = self._lock(holder)
            return max(st[0] - self._dead_removable(st[2]), 0)
        finally:
            if holder:
                self._s.send_nowait(holder[-1])

    def _op_for(self, unbounditems, unbound=None):
        if unbound is not None:  # Python 3.13's name for it
            if unbounditems is not None:
                raise TypeError("unbound and unbounditems are the same setting; give one")
            unbounditems = unbound
        if unbounditems is None:
            return self._op
        (op,) = _serialize_unbound(unbounditems)
        return op

    def _encode(self, obj, op, syncobj):
        if syncobj is None:
            syncobj = self._syncobj
        return _crossinterp.encode(obj, op, shareable_only=bool(syncobj))

    def put(self, obj, block=True, timeout=None, *, unbounditems=None, syncobj=None, unbound=None):
        """Add the object to the queue.

        If "block" is true, this blocks while the queue is full (waking when a get makes
        room, not by polling); after timeout seconds it raises QueueFull.

        For most objects, the object received through Queue.get() will
        be a new one, equivalent to the original and not sharing any
        actual underlying data.  The notable exceptions include
        cross-interpreter types (like Queue) and memoryview, where the
        underlying data is actually shared (read-only on the receiving side).
        Objects that are not shareable are pickled.

        "unbounditems" controls the behavior of Queue.get() for the given
        object if the current interpreter (calling put()) is later
        destroyed.

        If "unbounditems" is None (the default) then it uses the
        queue's default, set with create_queue(),
        which is usually UNBOUND.

        If "unbounditems" is UNBOUND_ERROR then get() will raise an
        ItemInterpreterDestroyed exception if the original interpreter
        has been destroyed.  This does not otherwise affect the queue;
        the next call to put() will work like normal, returning the next
        item in the queue.

        If "unbounditems" is UNBOUND_REMOVE then the item will be removed
        from the queue as soon as the original interpreter is destroyed.
        Be aware that this will introduce an imbalance between put()
        and get() calls.

        If "unbounditems" is UNBOUND then it is returned by get() in place
        of the unbound item.

        Python 3.13's keywords are accepted too: "unbound" (for "unbounditems") and
        "syncobj" (true: only shareable objects; None: the queue's default).
        """
        op = self._op if unbounditems is unbound is None else self._op_for(unbounditems, unbound)
        deadline = None if timeout is None or not block else _deadline(timeout)
        msg, lent = self._encode(obj, op, syncobj)
        if self._try_put(msg, lent, op, wait=block):
            return
        if not block:
            raise QueueFull("queue full")
        while True:
            woken = []  # the wake-up lands here inside the C call that takes it
            try:
                if deadline is None:
                    woken.extend(map(self._w.recv, _FOREVER))
                else:
                    woken.extend(map(self._w.recv, (max(deadline - time.monotonic(), 0.0),)))
                if self._try_put(msg, lent, op, wait=True):
                    return
            except _lowlevel.ChannelTimeoutError:
                if self._try_put(msg, lent, op, wait=False, unregister=True):
                    return
                raise QueueFull("queue full") from None
            except BaseException:
                # woken: the wake-up goes on even if this put registered again or put
                # already (at worst a putter wakes for nothing and waits again)
                self._try_unregister(woken)
                raise

    def put_nowait(self, obj, *, unbounditems=None, syncobj=None, unbound=None):
        op = self._op if unbounditems is unbound is None else self._op_for(unbounditems, unbound)
        msg, lent = self._encode(obj, op, syncobj)
        if not self._try_put(msg, lent, op, wait=False):
            raise QueueFull("queue full")

    def get(self, block=True, timeout=None):
        """Return the next object from the queue.

        If "block" is true, this blocks while the queue is empty (waking when an item
        arrives, not by polling); after timeout seconds it raises QueueEmpty.

        If the next item's original interpreter has been destroyed
        then the "next object" is determined by the value of the
        "unbounditems" argument to put().
        """
        if not block:
            return self.get_nowait()
        if timeout is None:
            while True:
                obj = self._take(self._i.recv, None)
                if obj is not _SKIP:
                    return obj
        deadline = _deadline(timeout)
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            try:
                obj = self._take(self._i.recv, left)
            except _lowlevel.ChannelTimeoutError:
                raise QueueEmpty("queue empty") from None
            if obj is not _SKIP:
                return obj

    async def get_async(self):
        """Awaitable get(): the next object, waiting (no thread, no polling) while the
        queue is empty; the event loop wakes when an item arrives. Cancelling takes no
        item. Use asyncio.timeout() for a time limit."""
        from .. import aio

        def attempt():
            while True:
                obj = self._take(self._i.recv_nowait, None)
                if obj is _NONE:
                    return aio._EMPTY
                if obj is not _SKIP:
                    return obj

        return await aio._until(self._i, attempt)

    async def put_async(self, obj, *, unbounditems=None):
        """Awaitable put(): waits while a bounded queue is full (woken when a get makes
        room). Cancelling puts nothing."""
        from .. import aio

        op = self._op if unbounditems is None else self._op_for(unbounditems)
        msg, lent = _crossinterp.encode(obj, op)
        if self._try_put(msg, lent, op, wait=True):
            return
        try:
            while True:
                await aio.recv(self._w)  # a get made room and woke one putter
                if self._try_put(msg, lent, op, wait=True):
                    return
        except BaseException:
            self._try_unregister()
            raise

    def get_nowait(self):
        """Return the next object from the queue.

        If the queue is empty then raise QueueEmpty.  Otherwise this
        is the same as get().
        """
        while True:
            obj = self._take(self._i.recv_nowait, None)
            if obj is _NONE:
                raise QueueEmpty("queue empty")
            if obj is not _SKIP:
                return obj


def _deadline(timeout):
    if timeout is None:
        return None
    timeout = float(timeout)
    if not timeout >= 0:  # nan too
        raise ValueError("timeout value must be non-negative")
    return time.monotonic() + timeout


_crossinterp.register_xi_type(Queue)
