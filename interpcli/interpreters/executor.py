"""InterpreterPoolExecutor: 3.14's concurrent.futures.InterpreterPoolExecutor on 3.12+.

Each worker is an interpreter (own GIL) running one long loop, started by a worker thread
of the main interpreter that made it: the loop takes tasks from a channel shared by all
the workers and sends each result back on a second channel, from which the thread waiting
for a future receives (see _replies: a collector thread does it only for callbacks,
wait()/as_completed() and queued tasks). So a warm task costs two channel hand-offs (the
core's waits spin briefly before parking) and the encoding of the call, not a run per task.

Tasks wait in the caller's process-side queue (pending, cancellable) until a worker is
free: at most one task per worker (plus two spare each, so a worker that finishes finds its
next task at once) is in the channel, and those count as running. Workers start on demand,
as ThreadPoolExecutor's threads do, each creating its interpreter in its own thread (so
they are created in parallel, and the first worker ready takes the first tasks); each
closes its interpreter when the pool shuts down.

Each task's callable, arguments and result are pickled across (functions of __main__ and of
modules the interpreter cannot import cross by value), plain data is marshalled. An
exception raised by a task is re-raised in the caller as it was, with __cause__ set to an
ExecutionFailed (on 3.14+ the stdlib's class itself, as its pool gives it) that carries the
remote traceback; one that does not pickle is raised as that ExecutionFailed. A task whose
callable or arguments do not pickle (or unpickle in the worker) fails its future with
NotShareableError('args not shareable'), as the stdlib's does."""

from __future__ import annotations

import collections
import itertools
import marshal
import sys
import threading
import types
import weakref
from concurrent.futures import _base
from concurrent.futures import thread as _thread

from .. import _lowlevel
from .._pool_worker import plain
from .._xiframe import MARSHAL as K_MARSHAL
from .._xiframe import PICKLE as K_PICKLE
from .._xiframe import TASK_ID as TID
from . import ExecutionFailed, NotShareableError, _pickling, _stdlib
from . import _crossinterp as _xi
from ._replies import PoolFuture, Receiver

__all__ = ["InterpreterPoolExecutor", "BrokenInterpreterPool", "ExecutionFailed"]


# tasks in the channel beyond one per worker: a worker that finishes a task finds the
# next one waiting instead of waiting for the collector to hand it one
_SPARE_PER_WORKER = 2

_LOOP = "__import__('interpcli._pool_worker', fromlist=['_']).serve({tasks}, {replies})"


def _light_spec(fn):
    """How a light message names fn (see interpcli._pool_worker), or None when fn must be
    pickled: builtins, classes and module functions by name, plain functions by value
    (stateless ones, those pickle would carry as code, with no module: __main__'s globals)."""
    if type(fn) is str:
        return ("s", fn)
    if type(fn) is types.FunctionType:
        if _pickling.is_stateless(fn):  # code run with __main__'s globals, as pickled
            try:
                code = marshal.dumps(fn.__code__)
            except ValueError:
                return None
            return (
                "v",
                None,
                fn.__qualname__,
                code,
                fn.__name__,
                None,
                None,
                None,
                fn.__doc__,
                None,
                {},
                {},
            )
        if fn.__module__.startswith("interpcli."):
            return None
        if fn.__module__ == "__main__":
            return None  # functions of __main__ cross as _crossinterp says (pickled)
        try:
            reduced = _pickling._reduce_module_function(fn)
        except Exception:
            return None
        if reduced is NotImplemented:
            return None  # a closure or a local function: pickle reports why
        _rebuild, args, (modules, values), *_ = reduced
        module, qualname, code, name, defaults, kwdefaults, doc = args
        spec = (
            "v",
            module,
            qualname,
            code,
            name,
            defaults,
            kwdefaults,
            None,
            doc,
            None,
            modules,
            values,
        )
        return spec if plain(spec[5:]) else None
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if (
        type(module) is not str
        or type(qualname) is not str
        or module == "__main__"
        or "<" in qualname
    ):
        return None
    obj = sys.modules.get(module)
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        return None
    return ("r", module, qualname) if obj is fn else None


_spec_cache: dict = {}


def _cached_spec(fn):
    """_light_spec(fn), remembered for callables whose spec cannot change: those named by
    reference, and plain functions without closure or global values (checked unchanged)."""
    try:
        hit = _spec_cache.get(fn)
    except TypeError:  # unhashable
        return _light_spec(fn)
    if hit is not None:
        spec, code, defaults, kwdefaults = hit
        if code is None or (
            fn.__code__ is code and fn.__defaults__ is defaults and fn.__kwdefaults__ is kwdefaults
        ):
            return spec
    spec = _light_spec(fn)
    if spec is None or spec[0] == "s":
        return spec
    if spec[0] == "r":
        hit = (spec, None, None, None)
    elif spec[7] is None and not spec[11]:
        hit = (spec, fn.__code__, fn.__defaults__, fn.__kwdefaults__)
    else:
        return spec
    if len(_spec_cache) >= 256:
        _spec_cache.clear()
    _spec_cache[fn] = hit
    return spec


def _encode(tid, fn, args, kwargs):
    """A task message and whether it is lent: marshalled when it can be, else pickled."""
    if (not args or plain(args)) and (not kwargs or plain(kwargs)):
        spec = _cached_spec(fn)
        if spec is not None:
            return K_MARSHAL + TID.pack(tid) + marshal.dumps((spec, args, kwargs)), False
    keep = []
    msg = K_PICKLE + TID.pack(tid) + _xi.pickle_dumps((fn, args, kwargs), keep)
    if keep:  # channel ends or queues in it: kept alive until the worker has them
        return _xi.carrier(msg, keep), True
    return msg, False


# bases known at run time: the stdlib's class too on 3.14+ (_stdlib.std)
class BrokenInterpreterPool(*(_stdlib.std("BrokenInterpreterPool") or (_thread.BrokenThreadPool,))):  # type: ignore[misc]
    """Raised when a worker interpreter's initializer failed: the pool is unusable (on
    3.14+ a subclass of the stdlib's, itself a BrokenThreadPool)."""


_INIT_FAILED = "A thread initializer failed, the thread pool is not usable anymore"


_live_pools: weakref.WeakSet[_Pool] = weakref.WeakSet()
_exiting = False


def _python_exit():
    # before threading joins the worker threads at exit: let each pool's queued tasks
    # run, then its workers leave their loops (as ThreadPoolExecutor's do)
    global _exiting
    _exiting = True
    for pool in list(_live_pools):
        pool.finish(cancel=False)


threading._register_atexit(_python_exit)  # type: ignore[attr-defined]  # as concurrent.futures does


class _Pool:
    """The workers, channels and bookkeeping of one executor (held apart from it, so its
    threads do not keep the executor alive)."""

    def __init__(self, max_workers, name_prefix, initializer, initargs, shared):
        if isinstance(initializer, str):
            if initargs:  # the stdlib refuses a script initializer with TypeError
                raise TypeError(f"an initializer script does not take args, got {initargs!r}")
            compile(initializer, "<string>", "exec")
        elif initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable or a script (str)")
        self.max_workers = max_workers
        self.name_prefix = name_prefix
        self.initializer = initializer
        self.initargs = tuple(initargs)
        self.shared = dict(shared) if shared else None
        self.lock = threading.Lock()
        self.ids = itertools.count()
        self.pending = collections.deque()  # (tid, future, message, lent), not sent yet
        self.inflight = {}  # tid -> future, sent to the workers
        self.threads = []  # the worker threads
        self.live = 0  # worker threads not yet ended
        self.collector = None  # the thread of receiver.collect
        self.closing = False  # no more tasks: close the task channel
        self.broken = None
        self.task_recv, self.task_send = _lowlevel.create_channel()
        self.reply_recv, self.reply_send = _lowlevel.create_channel()
        self.receiver = Receiver(self, self.reply_recv, self.reply_send, BrokenInterpreterPool)
        _live_pools.add(self)

    # -- the caller's side --

    def submit(self, fn, args, kwargs):
        future = PoolFuture(self.receiver)
        tid = next(self.ids)
        try:
            msg, lent = _encode(tid, fn, args, kwargs)
        except KeyboardInterrupt:
            raise  # the caller's Ctrl-C, not the task's failure
        except BaseException as exc:  # not shareable: the task fails, as in 3.14
            failed = NotShareableError("args not shareable")
            failed.__cause__ = exc
            future.set_exception(failed)
            return future
        with self.lock:
            self.pending.append((tid, future, msg, lent))
            if len(self.threads) < self.max_workers and len(self.inflight) + len(
                self.pending
            ) > len(self.threads):
                self._start_worker()
            self._dispatch()
        if self.pending:
            self.receiver.nudge()  # replies are needed to send the rest
        return future

    def _dispatch(self):
        """Send pending tasks while workers have room (lock held)."""
        limit = len(self.threads) * (1 + _SPARE_PER_WORKER)
        while self.pending and len(self.inflight) < limit:
            tid, future, msg, lent = self.pending.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            self.inflight[tid] = future
            try:
                (self.task_send.send_buffer_nowait if lent else self.task_send.send_nowait)(msg)
            except _lowlevel.ChannelClosedError:
                del self.inflight[tid]
                future.set_exception(BrokenInterpreterPool(self.broken or "the pool is shut down"))
        if self.closing and not self.pending:
            self.task_send.close()  # the workers drain the channel, then leave

    def _start_worker(self):
        n = len(self.threads)
        if self.collector is None:
            self.collector = threading.Thread(
                target=self.receiver.collect, name=f"{self.name_prefix}_results"
            )
            self.collector.start()
        t = threading.Thread(target=_work, args=(self,), name=f"{self.name_prefix}_{n}")
        self.threads.append(t)
        self.live += 1
        t.start()

    def cancel_pending(self):
        with self.lock:
            pending, self.pending = self.pending, collections.deque()
        for _tid, future, _msg, _lent in pending:
            future.cancel()

    def finish(self, cancel):
        """No more tasks: when those queued are sent, the workers leave their loops."""
        if cancel:
            self.cancel_pending()
        with self.lock:
            self.closing = True
            self._dispatch()
            if self.live == 0:
                self.reply_send.close()  # no worker left to reply
        self.receiver.nudge()
        _live_pools.discard(self)

    def join(self):
        for t in list(self.threads):
            t.join()
        if self.collector is not None:
            self.collector.join()

    def break_pool(self, reason):
        """A worker could not start: fail every task not done, refuse new ones."""
        with self.lock:
            if self.broken is None:
                self.broken = reason
            self.closing = True
            failed = [f for _t, f, _m, _l in self.pending]
            failed += self.inflight.values()
            self.pending.clear()
            self.inflight.clear()
            self.task_send.close()
        try:
            while self.task_recv.recv_nowait(None) is not None:
                pass
        except _lowlevel.ChannelClosedError:  # drained
            pass
        for future in failed:
            if not future.done():
                try:
                    future.set_exception(BrokenInterpreterPool(self.broken))
                except _base.InvalidStateError:
                    pass
        self.receiver.poke()
        self.receiver.nudge()
        _live_pools.discard(self)

    # -- the worker threads' side --

    def init_interpreter(self, interp):
        from . import Interpreter

        if self.shared is None and self.initializer is None:
            return
        handle = Interpreter(interp.id)
        if self.shared:
            handle._prepare_main(self.shared, {}, restrict=False)  # pickled, as before
        if isinstance(self.initializer, str):
            handle.exec(self.initializer)
        elif self.initializer is not None:
            handle._call(self.initializer, self.initargs, {}, preserve=True)

    def worker_ended(self):
        with self.lock:
            self.live -= 1
            last = self.live == 0 and self.closing
        if last:
            self.reply_send.close()  # the receivers drain the replies, then it closes
        self.receiver.nudge()


def _work(pool):
    """A worker thread: create the interpreter, initialize it, run its loop, close it."""
    from ..interpreter import create_fresh as create

    interp = None
    try:
        try:
            interp = create()
            pool.init_interpreter(interp)
        except BaseException:
            # as ThreadPoolExecutor's workers: logged, and the pool broken at once
            _base.LOGGER.critical("Exception in initializer:", exc_info=True)
            pool.break_pool(_INIT_FAILED)
            return
        res = interp._run(_LOOP.format(tasks=pool.task_recv.id, replies=pool.reply_send.id))
        if not res.completed and not _exiting:
            pool.break_pool(f"a worker interpreter stopped: {res.exc_type}: {res.exc_message}")
    finally:
        if interp is not None:
            try:
                interp.close()
            except Exception:  # busy (left threads): exit ends it
                pass
        pool.worker_ended()


class InterpreterPoolExecutor(_thread.ThreadPoolExecutor):
    """An Executor running calls in a pool of interpreters, one per worker thread."""

    BROKEN = BrokenInterpreterPool

    def __init__(
        self, max_workers=None, thread_name_prefix="", initializer=None, initargs=(), shared=None
    ):
        """Initializes a new InterpreterPoolExecutor instance.

        Args:
            max_workers: The maximum number of interpreters that can be used to
                execute the given calls.
            thread_name_prefix: An optional name prefix to give our threads.
            initializer: A callable or script used to initialize
                each worker interpreter.
            initargs: A tuple of arguments to pass to the initializer.
            shared: A mapping of shareable objects to be inserted into
                each worker interpreter.
        """
        # named as the stdlib's: "InterpreterPoolExecutor-N" (ThreadPoolExecutor's counter),
        # its threads "InterpreterPoolExecutor-N_M"
        super().__init__(
            max_workers, thread_name_prefix or f"InterpreterPoolExecutor-{self._counter()}"
        )
        self._pool = _Pool(
            self._max_workers, self._thread_name_prefix, initializer, initargs, shared
        )
        self._initializer, self._initargs = initializer, tuple(initargs)
        # the workers leave their loops once the executor is collected
        pool = self._pool
        self._finalizer = weakref.finalize(self, pool.finish, False)
        self._finalizer.atexit = False
        self._threads = pool.threads

    def submit(self, fn, /, *args, **kwargs):
        if isinstance(fn, str) and (args or kwargs):
            raise ValueError(f"a script does not take args or kwargs, got {args!r} and {kwargs!r}")
        # what is not callable fails its future (the worker calls it), as in the stdlib
        with self._shutdown_lock:
            if self._pool.broken:
                raise BrokenInterpreterPool(self._pool.broken)
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _exiting:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            return self._pool.submit(fn, args, kwargs)

    submit.__doc__ = _thread.ThreadPoolExecutor.submit.__doc__

    @property
    def _broken(self):
        """False, or why the pool is broken (a worker's initializer failed): set by the
        worker at once, as ThreadPoolExecutor's _initializer_failed() does."""
        pool = self.__dict__.get("_pool")
        return (pool.broken or False) if pool is not None else False

    @_broken.setter
    def _broken(self, value):
        pass  # ThreadPoolExecutor.__init__ sets False; the pool's state decides

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._shutdown_lock:
            self._shutdown = True
            self._pool.finish(cancel_futures)
        if wait:
            self._pool.join()

    shutdown.__doc__ = _thread.ThreadPoolExecutor.shutdown.__doc__
