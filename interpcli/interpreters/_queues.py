"""Cross-interpreter queues (PEP 734's Queue) on interpcli's C channels, without polling.

A queue is three core channels, so every interpreter reaches it by id:
- items: one message per item (see _crossinterp for the framing);
- state: exactly one message, the queue's shared state (item count, putters waiting for
  room, items to drop when their interpreter goes); taking it is taking the queue's lock,
  sending it back releases it, and waiting for it parks on a futex like any receive;
- wake: a token per putter to wake when a get makes room in a full queue.
Blocking get waits on the items channel, blocking put on the wake channel: both wake
when the other side acts, never on a timer.

Queue.id is the id of the state channel."""
from __future__ import annotations

import marshal
import queue
import struct
import threading
import time
import weakref

from .._lowlevel import core_module
from ..errors import InterpError
from . import _crossinterp
from ._crossinterp import UNBOUND_ERROR, UNBOUND_REMOVE

__all__ = [
    "UNBOUND", "UNBOUND_ERROR", "UNBOUND_REMOVE",
    "create", "list_all",
    "Queue",
    "QueueError", "QueueNotFoundError", "QueueEmpty", "QueueFull",
    "ItemInterpreterDestroyed",
]

_core = core_module()
_MAIN_ID = _core.main_id()
_CURRENT_ID = _core.current_id()
_HEAD = _crossinterp._HEAD
_K_MARSHAL = _crossinterp.K_MARSHAL


class QueueError(InterpError, RuntimeError):
    """Indicates that a queue-related error happened."""


class QueueNotFoundError(QueueError, LookupError):
    """The queue does not exist (any more)."""


class QueueEmpty(QueueError, queue.Empty):
    """Raised from get_nowait() when the queue is empty.

    It is also raised from get() if it times out.
    """


class QueueFull(QueueError, queue.Full):
    """Raised from put_nowait() when the queue is full.

    It is also raised from put() if it times out.
    """


class ItemInterpreterDestroyed(QueueError, _crossinterp.ItemInterpreterDestroyed):
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


# the state message: count, waiting putters, then what never changes (magic, items id,
# wake id, maxsize, default op), then (optional) a marshal of {interpreter id: number of
# items it put with UNBOUND_REMOVE}
_COUNTS = struct.Struct("<qq")
_PREFIX = struct.Struct("<8sqqqq")
_STATE = struct.Struct("<qq40s")        # counts + the packed prefix
_MAGIC = b"icqueue1"


def create(maxsize=0, *, unbounditems=UNBOUND):
    """Return a new cross-interpreter queue.

    The queue may be used to pass data safely between interpreters.
    maxsize <= 0 means no limit.

    "unbounditems" sets the default for Queue.put(); see that method for
    supported values.  The default value is UNBOUND, which replaces
    the unbound item.
    """
    maxsize = int(maxsize)
    op, = _serialize_unbound(unbounditems)
    ends = []
    for _ in range(3):
        recv, _send = _core.create_channel()
        ends.append(_core._end(recv.id, 3))
    state, items, wake = ends
    state.send_nowait(_STATE.pack(0, 0, _PREFIX.pack(_MAGIC, items.id, wake.id,
                                                     max(maxsize, 0), op)))
    self = Queue._build(state, items, wake, max(maxsize, 0), op)
    self._unbounditems = unbounditems
    return self


def list_all():
    """Return the open queues this interpreter knows (created or received here)."""
    with _known_lock:
        return list(_known_queues.values())


_known_queues: "weakref.WeakValueDictionary[int, Queue]" = weakref.WeakValueDictionary()
_known_lock = threading.Lock()


def _rebuild(state_id, items_id, wake_id, maxsize, op):
    with _known_lock:
        self = _known_queues.get(state_id)
    if self is not None:
        return self
    try:
        ends = [_core._end(cid, 3) for cid in (state_id, items_id, wake_id)]
    except _core.ChannelError:
        raise QueueNotFoundError(f"queue {state_id} no longer exists") from None
    return Queue._build(*ends, maxsize, op)


class Queue:
    """A cross-interpreter queue."""

    __slots__ = ("_id", "_s", "_i", "_w", "_maxsize", "_op", "_prefix", "_unbounditems",
                 "__weakref__")

    def __new__(cls, id, /):
        if not isinstance(id, int):
            raise TypeError(f"id must be an int, got {id!r}")
        id = int(id)
        with _known_lock:
            self = _known_queues.get(id)
        if self is not None:
            return self
        try:
            state = _core._end(id, 3)
        except _core.ChannelError:
            raise QueueNotFoundError(f"queue {id} not found") from None
        holder = []         # see "the shared state" below
        try:
            holder.extend(map(state.recv, (None,)))     # waits while another holds it
            data = holder[0]
            if data[_COUNTS.size:_COUNTS.size + 8] != _MAGIC:
                raise QueueNotFoundError(f"channel {id} is not a queue")
            _m, items_id, wake_id, maxsize, op = _PREFIX.unpack_from(data, _COUNTS.size)
        finally:
            if holder:
                state.send_nowait(holder[-1])
        return _rebuild(id, items_id, wake_id, maxsize, op)

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
            self._op = op
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
        return (_rebuild, (self._id, self._i.id, self._w.id, self._maxsize, self._op))

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
            items = UNBOUND if self._op == _crossinterp.OP_UNBOUND else \
                _crossinterp._FLAG_TO_CONSTANT[self._op]
            self._unbounditems = items
            return items

    # -- the shared state, under the queue's lock --
    #
    # Every user follows one pattern, so that an exception arriving at any point (Ctrl-C,
    # an interrupt of the run) never loses the state message, which would block the queue
    # for good:
    #     holder = []
    #     try:
    #         st = self._lock(holder)     # the message lands in holder inside one C call
    #         ...                         # change st, then self._stage(holder, st)
    #     finally:
    #         if holder:
    #             self._s.send_nowait(holder[-1])     # the last staged state goes back
    # Between bytecodes an exception can only strike after a call returns; by then the
    # taken message is in holder, and the finally block makes no call before sending.

    def _lock(self, holder):
        holder.extend(map(self._s.recv, _FOREVER))
        data = holder[0]
        count, waiting = _COUNTS.unpack_from(data)
        removable = marshal.loads(data[_STATE.size:]) if len(data) > _STATE.size else {}
        return [count, waiting, removable]

    def _stage(self, holder, st):
        count, waiting, removable = st
        data = _STATE.pack(count if count > 0 else 0, waiting, self._prefix)
        if removable:
            data += marshal.dumps(removable)
        holder.append(data)

    @staticmethod
    def _dead_removable(removable):
        if not removable:
            return 0
        alive = {iid for iid, *_ in _core.list_interpreters()}
        return sum(n for iid, n in removable.items() if iid not in alive)

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

    def _op_for(self, unbounditems):
        if unbounditems is None:
            return self._op
        op, = _serialize_unbound(unbounditems)
        return op

    def _try_put(self, msg, lent, op, wait: bool, unregister: bool = False) -> bool:
        """Put if there is room (True); else register as a waiting putter if asked."""
        holder = []
        try:
            holder.extend(map(self._s.recv, _FOREVER))
            data = holder[0]
            if len(data) == _STATE.size and not unregister and (
                    op != _crossinterp.OP_REMOVE or _crossinterp._CURRENT_ID == _MAIN_ID):
                # the common case, inline: no removable items to account for
                count, waiting = _COUNTS.unpack_from(data)
                if self._maxsize <= 0 or count < self._maxsize:
                    (self._i.send_buffer_nowait if lent else self._i.send_nowait)(msg)
                    holder.append(_STATE.pack(count + 1, waiting, self._prefix))
                    return True
            count, waiting = _COUNTS.unpack_from(data)
            st = [count, waiting,
                  marshal.loads(data[_STATE.size:]) if len(data) > _STATE.size else {}]
            if unregister:
                if st[1] > 0:
                    st[1] -= 1
                else:       # a get already woke us: take that token, it was ours
                    self._w.recv_nowait(None)
            room = self._maxsize <= 0 or st[0] < self._maxsize
            if not room:
                room = st[0] - self._dead_removable(st[2]) < self._maxsize
            if room:
                (self._i.send_buffer_nowait if lent else self._i.send_nowait)(msg)
                st[0] += 1
                if op == _crossinterp.OP_REMOVE and _crossinterp._CURRENT_ID != _MAIN_ID:
                    me = _crossinterp._CURRENT_ID
                    st[2][me] = st[2].get(me, 0) + 1
                self._stage(holder, st)
                return True
            if wait:
                st[1] += 1
            self._stage(holder, st)
            return False
        finally:
            if holder:
                self._s.send_nowait(holder[-1])

    def put(self, obj, block=True, timeout=None, *, unbounditems=None):
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
        """
        op = self._op if unbounditems is None else self._op_for(unbounditems)
        deadline = None if timeout is None or not block else _deadline(timeout)
        msg, lent = _crossinterp.encode(obj, op)
        if self._try_put(msg, lent, op, wait=block):
            return
        if not block:
            raise QueueFull("queue full")
        while True:
            try:
                if deadline is None:
                    self._w.recv()
                else:
                    self._w.recv(timeout=max(deadline - time.monotonic(), 0.0))
            except _core.ChannelTimeoutError:
                if self._try_put(msg, lent, op, wait=False, unregister=True):
                    return
                raise QueueFull("queue full") from None
            except BaseException:
                self._try_unregister()
                raise
            if self._try_put(msg, lent, op, wait=True):
                return

    def _try_unregister(self):
        holder = []
        try:
            st = self._lock(holder)
            if st[1] > 0:
                st[1] -= 1
                self._stage(holder, st)
        except BaseException:
            pass
        finally:
            if holder:
                self._s.send_nowait(holder[-1])

    def put_nowait(self, obj, *, unbounditems=None):
        op = self._op if unbounditems is None else self._op_for(unbounditems)
        msg, lent = _crossinterp.encode(obj, op)
        if not self._try_put(msg, lent, op, wait=False):
            raise QueueFull("queue full")

    def _account(self, putter, op, done):
        """Update the state for a message taken off the items channel (count, items to
        remove, a waiting putter to wake). `done` gets an entry in the same C call that
        sends the updated state back, so the caller knows whether this happened."""
        holder = []
        try:
            holder.extend(map(self._s.recv, _FOREVER))
            data = holder[0]
            if len(data) == _STATE.size:
                # the common case, inline: no removable items to account for
                count, waiting = _COUNTS.unpack_from(data)
                if waiting > 0:
                    waiting -= 1
                    self._w.send_nowait(b"")
                holder.append(_STATE.pack(count - 1 if count > 0 else 0, waiting,
                                          self._prefix))
                return
            count, waiting = _COUNTS.unpack_from(data)
            st = [count, waiting, marshal.loads(data[_STATE.size:])]
            st[0] -= 1
            if op == _crossinterp.OP_REMOVE and putter in st[2]:
                n = st[2][putter] - 1
                if n > 0:
                    st[2][putter] = n
                else:
                    del st[2][putter]
            if st[1] > 0:
                st[1] -= 1
                self._w.send_nowait(b"")
            self._stage(holder, st)
        finally:
            if holder[1:]:
                done.extend(map(self._s.send_nowait, holder[-1:]))
            elif holder:
                self._s.send_nowait(holder[0])

    def _take(self, recv, arg):
        """One item off the items channel through recv(arg), accounted for even when an
        exception (an interrupt) strikes meanwhile: a lost item must not stay counted,
        or a bounded queue would look full for good. Returns the object, _SKIP for a
        removed unbound item, or _NONE when recv_nowait found nothing."""
        taken, done, holder = [], [], []
        try:
            taken.extend(map(recv, (arg,)))     # the message lands in `taken` in C
            msg = taken[0]
            if msg is None:
                return _NONE
            putter, op, kind = _HEAD.unpack_from(msg)
            # _account(), inline for the common case (no removable items)
            holder.extend(map(self._s.recv, _FOREVER))
            data = holder[0]
            if len(data) == _STATE.size:
                count, waiting = _COUNTS.unpack_from(data)
                if waiting > 0:
                    waiting -= 1
                    self._w.send_nowait(b"")
                holder.append(_STATE.pack(count - 1 if count > 0 else 0, waiting,
                                          self._prefix))
        finally:
            if holder[1:]:
                done.extend(map(self._s.send_nowait, holder[-1:]))
            elif holder:
                self._s.send_nowait(holder[0])
            if taken and not done and taken[0] is not None:
                self._account(*_HEAD.unpack_from(taken[0])[:2], done)
        if putter != _MAIN_ID and putter != _CURRENT_ID and not _crossinterp.alive(putter):
            if type(msg) is memoryview:
                msg.release()
            if op == _crossinterp.OP_REMOVE:
                return _SKIP
            return _resolve_unbound(op)
        if kind == _K_MARSHAL:
            return marshal.loads(msg[_HEAD.size:])
        return _crossinterp.payload(msg, kind)

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
            except _core.ChannelTimeoutError:
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
                await aio.recv(self._w)     # a get made room and woke one putter
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


_NONE = object()
_FOREVER = (None,)
_SKIP = object()


def _deadline(timeout):
    if timeout is None:
        return None
    timeout = float(timeout)
    if timeout < 0:
        raise ValueError("timeout value must be non-negative")
    return time.monotonic() + timeout


_crossinterp.register_xi_type(Queue)

