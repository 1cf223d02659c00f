"""InterpreterPoolExecutor: 3.14's concurrent.futures.InterpreterPoolExecutor on 3.12+.

A ThreadPoolExecutor whose every worker thread owns one interpreter (own GIL), made when
the thread starts and kept for all the tasks that thread runs: once the pool is warm a
task starts without creating anything. Each task's callable, arguments and result are
pickled across (functions of __main__ and of modules the interpreter cannot import cross
by value). An exception raised by a task is re-raised in the caller as it was, with
__cause__ set to an ExecutionFailed that carries the remote traceback; one that does not
pickle is raised as that ExecutionFailed."""
from __future__ import annotations

import threading
from concurrent.futures import thread as _thread

from . import ExecutionFailed, create

__all__ = ["InterpreterPoolExecutor", "BrokenInterpreterPool", "ExecutionFailed"]


class BrokenInterpreterPool(_thread.BrokenThreadPool):
    """Raised when a worker interpreter's initializer failed: the pool is unusable."""


_create_lock = threading.Lock()


class _Pool:
    """The interpreters of one executor (held apart from it, so its threads do not keep
    the executor alive)."""

    def __init__(self, initializer, initargs, shared):
        if isinstance(initializer, str):
            if initargs:
                raise ValueError(f"an initializer script does not take args, got {initargs!r}")
            compile(initializer, "<string>", "exec")
        elif initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable or a script (str)")
        self.initializer = initializer
        self.initargs = tuple(initargs)
        self.shared = dict(shared) if shared else None
        self.local = threading.local()
        self.lock = threading.Lock()
        self.interps = []
        self.closed = False

    def interp_for_thread(self):
        interp = getattr(self.local, "interp", None)
        if interp is None:
            # one creation at a time: two interpreters created at once took longer here
            # than two in a row, so the first worker starts sooner this way
            with _create_lock:
                with self.lock:
                    if self.closed:
                        raise RuntimeError("the interpreter pool is shut down")
                interp = create()
                with self.lock:
                    self.interps.append(interp)
            self.local.interp = interp
            if self.shared:
                interp._prepare_main(self.shared, {}, restrict=False)   # pickled
            if isinstance(self.initializer, str):
                interp.exec(self.initializer)
            elif self.initializer is not None:
                interp._call(self.initializer, self.initargs, {}, preserve=True)
        return interp

    def close(self):
        with self.lock:
            self.closed = True
            if threading.current_thread() is not threading.main_thread():
                return      # closing from another thread can hang on 3.13: leave it to exit
            interps, self.interps = self.interps, []
        for interp in interps:
            try:
                interp.close()
            except Exception:       # still running (shutdown without wait): exit ends it
                pass


def _init_worker(pool):
    pool.interp_for_thread()


def _run_task(pool, fn, args, kwargs):
    interp = pool.interp_for_thread()
    if isinstance(fn, str):
        interp.exec(fn)
        return None
    return interp._call(fn, args, kwargs, preserve=True)


class InterpreterPoolExecutor(_thread.ThreadPoolExecutor):
    """An Executor running calls in a pool of interpreters, one per worker thread."""

    def __init__(self, max_workers=None, thread_name_prefix="", initializer=None,
                 initargs=(), shared=None):
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
        self._pool = _Pool(initializer, initargs, shared)
        super().__init__(max_workers, thread_name_prefix or "InterpreterPoolExecutor",
                         _init_worker, (self._pool,))

    def submit(self, fn, /, *args, **kwargs):
        if self._broken:
            raise BrokenInterpreterPool(self._broken)
        if isinstance(fn, str) and (args or kwargs):
            raise ValueError(f"a script does not take args or kwargs, got {args!r} and "
                             f"{kwargs!r}")
        if not isinstance(fn, str) and not callable(fn):
            raise TypeError(f"{type(fn).__name__!r} object is not callable")
        return super().submit(_run_task, self._pool, fn, args, kwargs)
    submit.__doc__ = _thread.ThreadPoolExecutor.submit.__doc__

    def _initializer_failed(self):
        with self._shutdown_lock:
            self._broken = ("A thread initializer failed, the thread pool "
                            "is not usable anymore")
            while True:
                try:
                    work_item = self._work_queue.get_nowait()
                except Exception:
                    break
                if work_item is not None:
                    work_item.future.set_exception(BrokenInterpreterPool(self._broken))

    def shutdown(self, wait=True, *, cancel_futures=False):
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            self._pool.close()
        # without wait, tasks may still run: the pool's interpreters are closed when the
        # pool is collected in the main thread, or at exit
    shutdown.__doc__ = _thread.ThreadPoolExecutor.shutdown.__doc__
