"""The shared state of a queue (see _queues): one message on a core channel, taken to
lock the queue and sent back to unlock it, and the put and take steps done under it."""

from __future__ import annotations

import marshal
import struct
from operator import call as _call

from .. import _lowlevel
from . import _crossinterp

_MAIN_ID = _lowlevel.main_id()
_CURRENT_ID = _lowlevel.current_id()
_HEAD = _crossinterp._HEAD
_K_MARSHAL = _crossinterp.K_MARSHAL

# the state message: count, waiting putters, then what never changes (magic, items id,
# wake id, maxsize, default op), then (optional) a marshal of {interpreter id: number of
# items it put with UNBOUND_REMOVE}
_COUNTS = struct.Struct("<qq")
_PREFIX = struct.Struct("<8sqqqq")
_STATE = struct.Struct("<qq40s")  # counts + the packed prefix
_MAGIC = b"icqueue1"

_NONE = object()
_FOREVER = (None,)
_SKIP = object()


class QueueState:
    """The steps under a queue's lock; Queue builds on them. Subclasses have the ends
    (_s state, _i items, _w wake), _maxsize, _prefix and _resolve_unbound."""

    __slots__ = ()

    _s: _lowlevel.Channel  # these: set by the subclass
    _i: _lowlevel.Channel
    _w: _lowlevel.Channel
    _maxsize: int
    _prefix: bytes

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
    #
    # Where more than the state goes out on the way (the wake of a waiting putter with
    # the updated state), the sends are staged as callables and their arguments in two
    # lists, and done by one C call that nothing can split:
    #     fns, args = [self._s.send_nowait, done.append], []
    #     flush = map(_call, fns, args)       # made before anything is taken
    #     try:
    #         args.extend(map(self._s.recv, _FOREVER))    # the state, to go back as is
    #         ...
    #         args[:] = (new, None)           # a store, no call: the new state goes back
    #     finally:
    #         any(flush)                      # the finally's first call does every send
    # (map stops at the shorter list; two stores in a row are not split either, as no
    # call comes between them, and the arguments go first so that even then the state
    # would go back.) A call made in the finally before the sends (building the
    # map that did them) is where an interrupt struck and lost the state for good.

    def _lock(self, holder):
        holder.extend(map(self._s.recv, _FOREVER))
        data = holder[0]
        count, waiting = _COUNTS.unpack_from(data)
        removable = marshal.loads(data[_STATE.size :]) if len(data) > _STATE.size else {}
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
        alive = {iid for iid, *_ in _lowlevel.list_interpreters()}
        return sum(n for iid, n in removable.items() if iid not in alive)

    def _try_put(self, msg, lent, op, wait: bool, unregister: bool = False) -> bool:
        """Put if there is room (True); else register as a waiting putter if asked."""
        holder: list[bytes | memoryview] = []
        try:
            holder.extend(map(self._s.recv, _FOREVER))
            data = holder[0]
            if (
                len(data) == _STATE.size
                and not unregister
                and (op != _crossinterp.OP_REMOVE or _crossinterp._CURRENT_ID == _MAIN_ID)
            ):
                # the common case, inline: no removable items to account for
                count, waiting = _COUNTS.unpack_from(data)
                if self._maxsize <= 0 or count < self._maxsize:
                    (self._i.send_buffer_nowait if lent else self._i.send_nowait)(msg)
                    holder.append(_STATE.pack(count + 1, waiting, self._prefix))
                    return True
            count, waiting = _COUNTS.unpack_from(data)
            st = [
                count,
                waiting,
                marshal.loads(data[_STATE.size :]) if len(data) > _STATE.size else {},
            ]
            if unregister:
                if st[1] > 0:
                    st[1] -= 1
                else:  # a get already woke us: take that token, it was ours
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

    def _try_unregister(self, woken=()):
        """Leave the waiting putters. woken (true): a get's wake-up was taken meanwhile;
        that get counted us out already, so the wake-up goes on to the next waiting
        putter, if any (else it would never come)."""
        fns, args = [self._s.send_nowait], []
        flush = map(_call, fns, args)  # see "the shared state" above
        try:
            args.extend(map(self._s.recv, _FOREVER))
            data = args[0]
            count, waiting = _COUNTS.unpack_from(data)
            if waiting > 0:
                new = _STATE.pack(count, waiting - 1, self._prefix) + data[_STATE.size :]
                if woken:
                    args[:] = (new, b"")
                    fns[1:] = (self._w.send_nowait,)
                else:
                    args[:] = (new,)
        except BaseException:
            pass
        finally:
            any(flush)

    def _account(self, putter, op, done):
        """Update the state for a message taken off the items channel (count, items to
        remove, a waiting putter to wake). `done` gets an entry in the same C call that
        sends the updated state back, so the caller knows whether this happened."""
        fns, args = [self._s.send_nowait, done.append], []
        flush = map(_call, fns, args)  # see "the shared state" above
        try:
            args.extend(map(self._s.recv, _FOREVER))
            data = args[0]
            count, waiting = _COUNTS.unpack_from(data)
            removable = marshal.loads(data[_STATE.size :]) if len(data) > _STATE.size else {}
            if op == _crossinterp.OP_REMOVE and putter in removable:
                n = removable[putter] - 1
                if n > 0:
                    removable[putter] = n
                else:
                    del removable[putter]
            new = _STATE.pack(
                count - 1 if count > 0 else 0, waiting - 1 if waiting > 0 else 0, self._prefix
            )
            if removable:
                new += marshal.dumps(removable)
            if waiting > 0:
                args[:] = (new, None, b"")  # the state first, then the wake-up
                fns[2:] = (self._w.send_nowait,)
            else:
                args[:] = (new, None)
        finally:
            any(flush)

    def _take(self, recv, arg):
        """One item off the items channel through recv(arg), accounted for even when an
        exception (an interrupt) strikes meanwhile: a lost item must not stay counted,
        or a bounded queue would look full for good. Returns the object, _SKIP for a
        removed unbound item, or _NONE when recv_nowait found nothing."""
        taken, done, args = [], [], []
        fns = [self._s.send_nowait, done.append]
        flush = map(_call, fns, args)  # see "the shared state" above
        try:
            taken.extend(map(recv, (arg,)))  # the message lands in `taken` in C
            msg = taken[0]
            if msg is None:
                return _NONE
            putter, op, kind = _HEAD.unpack_from(msg)
            # _account(), inline for the common case (no removable items)
            args.extend(map(self._s.recv, _FOREVER))
            data = args[0]
            if len(data) == _STATE.size:
                count, waiting = _COUNTS.unpack_from(data)
                new = _STATE.pack(
                    count - 1 if count > 0 else 0, waiting - 1 if waiting > 0 else 0, self._prefix
                )
                if waiting > 0:
                    args[:] = (new, None, b"")  # the state first, then the wake-up
                    fns[2:] = (self._w.send_nowait,)
                else:
                    args[:] = (new, None)
        finally:
            any(flush)
            if taken and not done and taken[0] is not None:
                self._account(*_HEAD.unpack_from(taken[0])[:2], done)
        if putter != _MAIN_ID and putter != _CURRENT_ID and not _crossinterp.alive(putter):
            if type(msg) is memoryview:
                msg.release()
            if op == _crossinterp.OP_REMOVE:
                return _SKIP
            return self._resolve_unbound(op)
        if kind == _K_MARSHAL:
            return marshal.loads(msg[_HEAD.size :])
        return _crossinterp.payload(msg, kind)
