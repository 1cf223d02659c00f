"""Receiving an InterpreterPoolExecutor's replies: the thread that waits for a future
receives the replies itself (leader/follower), so a warm task wakes no third thread.

One thread at a time, the leader, receives from the pool's reply channel and completes
the future each reply belongs to. A thread in PoolFuture.result() or exception() leads
when no thread does, until its own future is done; other waiting threads follow (they wait
on their future's condition, and one takes over when the leader leaves). The collector
thread leads only when no one else does and replies are needed in the background: tasks
wait to be sent, a callback or a wait()/as_completed() waiter is installed on one of the
pool's futures (from then on, for the pool's life), or the pool shuts down. Otherwise a
reply waits in the channel until its future is waited for or polled (done()).

A reply moves from the channel into the inbox inside C code (deque.extend over map), so a
KeyboardInterrupt in the waiting thread never drops one: what an interrupt cut short is
completed again (idempotently) before the interrupt goes on. Waits block in the core
(spin, then futex) or on a condition, with the GIL released; nothing polls."""

from __future__ import annotations

import collections
import functools
import marshal
import pickle
import threading
import time
from concurrent.futures import _base

from .. import _lowlevel
from .._xiframe import MARSHAL as K_MARSHAL
from .._xiframe import TASK_HEAD as HEAD
from .._xiframe import TASK_ID as TID
from . import _stdlib
from ._excinfo import ExecutionFailed, _failure

# a task's failure, as the stdlib's pool gives it: the stdlib's own ExecutionFailed on 3.14+
_FAILED = (_stdlib.std("ExecutionFailed") or (ExecutionFailed,))[0]
_DONE = (_base.CANCELLED, _base.CANCELLED_AND_NOTIFIED, _base.FINISHED)
_LEAD, _FOLLOW = 1, 2


class _Waiters(list):
    """A future's waiters (wait(), as_completed()): installing one calls in the collector."""

    def append(self, waiter):
        super().append(waiter)
        self.receiver.want_background()


class PoolFuture(_base.Future):
    """A Future whose waiting thread receives the pool's replies while no other does."""

    def __init__(self, receiver):
        super().__init__()
        self._receiver = receiver
        self._waiters = _Waiters()
        self._waiters.receiver = receiver

    def result(self, timeout=None):
        if self._state not in _DONE:
            self._receiver.wait_for(self, timeout)
        return super().result(0)

    def exception(self, timeout=None):
        if self._state not in _DONE:
            self._receiver.wait_for(self, timeout)
        return super().exception(0)

    def done(self):
        if self._state not in _DONE:
            self._receiver.poll()
        return self._state in _DONE

    def running(self):
        if self._state not in _DONE:
            self._receiver.poll()
        return super().running()

    def add_done_callback(self, fn):
        super().add_done_callback(fn)
        if self._state not in _DONE:
            self._receiver.want_background()

    def cancel(self):
        if not super().cancel():
            return False
        self._receiver.poke()  # a leader waiting for this very future looks again
        return True

    for _m in (result, exception, done, running, add_done_callback, cancel):
        _m.__doc__ = getattr(_base.Future, _m.__name__).__doc__
    del _m


class Receiver:
    """The reply channel of one pool and who receives from it (see the module's doc)."""

    def __init__(self, pool, recv, send, broken):
        self.pool = pool  # its lock, inflight, pending, closing and _dispatch
        self.recv, self.send, self.broken = recv, send, broken
        self.leader = None  # ident of the thread receiving, or None
        self.followers = []  # futures waited for by threads that do not lead
        self.inbox = collections.deque()  # replies received, not yet completed
        self.background = False  # a callback or waiter is installed: collector leads
        self.closed = False  # the reply channel is closed and drained
        self.cv = threading.Condition()  # the collector sleeps on it

    # -- asking for a receiver --

    def _wanted(self):
        """Whether the collector should lead now."""
        p = self.pool
        return (
            self.leader is None
            and not self.closed
            and (p.closing or (bool(p.inflight) and (self.background or bool(p.pending))))
        )

    def nudge(self):
        """Wake the collector if it should lead (or leave) now; call after a change."""
        if self.closed or self._wanted():
            with self.cv:
                self.cv.notify()

    def want_background(self):
        self.background = True
        self.nudge()

    def poke(self):
        """Wake the leader's receive, so it looks at its future again."""
        if self.leader is not None and self.leader != threading.get_ident():
            try:
                self.send.send_nowait(b"")
            except _lowlevel.ChannelClosedError:
                pass

    # -- leading and following --

    def _take(self, me, fut):
        """Lead (_LEAD, or 0 when this thread leads already) or follow (_FOLLOW; fut is
        then registered as followed, unless it is None)."""
        with self.pool.lock:
            if self.leader == me:
                return 0
            if self.leader is None:
                self.leader = me
                return _LEAD
            if fut is not None:
                self.followers.append((me, fut))
            return _FOLLOW

    def _left(self, me, fut, led):
        """Stop following fut; after leading (led), wake the followers: one takes over.
        Called from finally clauses that let go of the lead first, before any call, so
        that an interrupt cannot leave it held (and call this again if one cut it short)."""
        with self.pool.lock:
            if (me, fut) in self.followers:
                self.followers.remove((me, fut))
            followers = [f for _t, f in self.followers] if led else ()
        for f in followers:
            with f._condition:
                f._condition.notify_all()
        if led:
            self.nudge()

    def wait_for(self, fut, timeout):
        """Return once fut is done; TimeoutError after timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        me = threading.get_ident()
        nested = self.leader == me  # a callback run by the leader waits for a future
        while fut._state not in _DONE:
            try:
                if self._take(me, fut) == _FOLLOW:
                    self._follow(fut, deadline)
                else:
                    self._lead(fut, deadline)
            finally:
                led = not nested and self.leader == me
                if led:
                    self.leader = None
                try:
                    self._left(me, fut, led)
                except BaseException:
                    self._left(me, fut, led)
                    raise

    def _follow(self, fut, deadline):
        with fut._condition:
            while fut._state not in _DONE and self.leader is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError()
                fut._condition.wait(left)

    def _lead(self, fut, deadline):
        recv, inbox = self.recv.recv, self.inbox
        while True:
            self.drain()
            if fut._state in _DONE:
                return
            if self.closed:
                self._fail_all()
                return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self._take_arrived()
                self.drain()
                if fut._state in _DONE:
                    return
                raise TimeoutError()
            try:
                inbox.extend(map(recv, (left,)))
            except _lowlevel.ChannelTimeoutError:
                left = 0
            except _lowlevel.ChannelClosedError:
                self.closed = True

    def _take_arrived(self):
        """Move the replies that have arrived into the inbox, without waiting."""
        try:
            self.inbox.extend(iter(functools.partial(self.recv.recv_nowait, None), None))
        except _lowlevel.ChannelClosedError:
            self.closed = True

    def poll(self):
        """Complete the replies that have arrived, without waiting (for done())."""
        me = threading.get_ident()
        nested = self.leader == me
        try:
            if self._take(me, None) == _FOLLOW:
                return
            self.drain()
            self._take_arrived()
            self.drain()
        finally:
            led = not nested and self.leader == me
            if led:
                self.leader = None
            try:
                self._left(me, None, led)
            except BaseException:
                self._left(me, None, led)
                raise

    def collect(self):
        """The collector thread: lead while replies are needed in the background."""
        me = threading.get_ident()
        pool = self.pool
        while True:
            with self.cv:
                while not self._wanted():
                    if self.closed:
                        return
                    self.cv.wait()
            if self._take(me, None) != _LEAD:
                continue  # a waiting thread took the lead first
            try:
                while not self.closed and (
                    pool.closing or (pool.inflight and (self.background or pool.pending))
                ):
                    self.drain()
                    try:
                        self.inbox.extend(map(self.recv.recv, (None,)))
                    except _lowlevel.ChannelClosedError:
                        self.closed = True
                    self.drain()
                if self.closed:
                    self._fail_all()
            finally:
                self.leader = None
                self._left(me, None, True)

    # -- completing futures --

    def drain(self):
        """Complete the futures of the replies in the inbox."""
        inbox = self.inbox
        while inbox:
            msg = inbox[0]
            del inbox[0]
            try:
                self._complete(msg, False)
            except BaseException:  # an interrupt: finish this reply, then raise
                self._complete(msg, True)
                raise

    def _complete(self, msg, again):
        if len(msg) < HEAD:
            return  # a poke
        (tid,) = TID.unpack_from(msg, 1)
        pool = self.pool
        fut = pool.inflight.get(tid)
        if fut is not None and fut._state not in _DONE:
            try:
                if msg[:1] == K_MARSHAL:
                    ok, value = marshal.loads(msg[HEAD:])
                else:
                    ok, value = pickle.loads(msg[HEAD:])
            except BaseException as exc:  # a result that does not rebuild here
                ok, value = False, exc
            del msg
            try:
                if ok:
                    fut.set_result(value)
                elif isinstance(value, BaseException):
                    fut.set_exception(value)
                else:
                    fut.set_exception(_failure(*value, failed_type=_FAILED))
            except _base.InvalidStateError:  # failed meanwhile by a broken pool
                pass
        elif fut is not None and again:  # an interrupt may have cut set_result short
            with fut._condition:
                fut._condition.notify_all()
        with pool.lock:
            if pool.inflight.pop(tid, None) is not None:
                pool._dispatch()

    def _fail_all(self):
        """The reply channel is closed: no task still out can reply any more."""
        pool = self.pool
        with pool.lock:
            failed = list(pool.inflight.values()) + [f for _t, f, _m, _l in pool.pending]
            pool.inflight.clear()
            pool.pending.clear()
        for fut in failed:
            try:
                fut.set_exception(self.broken(pool.broken or "the pool is shut down"))
            except _base.InvalidStateError:
                pass
        self.nudge()
