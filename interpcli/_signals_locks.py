"""Lock waits that a signal's handler interrupts on a script's main thread (`interp run`;
docs/signals.md), as python's main thread has them: the core's Lock and RLock (lock.c:
CPython's methods, errors and reprs, as fast uncontended) take the place of _thread's in
the script's interpreter, so threading's locks, Event, Condition, Semaphore, Barrier,
queue.Queue and concurrent.futures' waits are made of them; Thread.join waits on one of
them, then joins. A signal ends such a wait on the main thread: the handlers run there
(_signals_sub._lock_woken) and the wait goes on unless one raised. Other threads wait
as before, as python interrupts only its main thread."""

import _thread

from . import _signals_sub as _s
from ._importpatch import patch_on_import
from ._lowlevel import Lock, RLock, allocate_lock, lock_setup

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any


def install() -> None:
    """The calling thread is the main thread; _thread's locks become the core's in this
    interpreter, and threading's (imported now, or when the script imports it)."""
    set_main_thread()
    thread: Any = _thread  # patched on purpose: typeshed's types are CPython's
    thread.allocate_lock = allocate_lock
    if hasattr(thread, "allocate"):  # the obsolete synonym
        thread.allocate = allocate_lock
    thread.LockType = Lock
    if hasattr(thread, "lock"):  # 3.13+: the lock type under its own name
        thread.lock = Lock
    thread.RLock = RLock
    patch_on_import("threading", _patch_threading)


def set_main_thread() -> None:
    """The calling thread is the main thread from now on."""
    lock_setup(_s._lock_woken)


def _patch_threading(threading) -> None:
    """threading's lock factories (when it was imported before install) and Thread.join."""
    if threading._allocate_lock is not allocate_lock:
        threading._allocate_lock = allocate_lock
        threading.Lock = Lock if isinstance(threading.Lock, type) else allocate_lock
        threading._LockType = Lock
        if threading._CRLock is not None:
            threading._CRLock = RLock
    thread = threading.Thread
    thread._bootstrap_inner = _bootstrap_inner(thread._bootstrap_inner)
    thread.join = _join(thread.join)


def _bootstrap_inner(orig):
    def _bootstrap_inner(self):
        # a lock held while the thread runs: join() on the main thread waits on it
        ended = self._interpcli_ended = allocate_lock()
        ended.acquire()
        try:
            orig(self)
        finally:
            ended.release()

    _bootstrap_inner.__qualname__ = orig.__qualname__
    return _bootstrap_inner


def _join(orig):
    def join(self, timeout=None):
        """Wait until the thread terminates (at most timeout seconds)."""
        ended = self.__dict__.get("_interpcli_ended")
        if ended is None or _thread.get_ident() != _s._main:
            return orig(self, timeout)
        orig(self, 0)  # its errors: not started, the current thread
        wait = -1 if timeout is None else max(timeout, 0)
        if not ended.acquire(True, wait):
            return None  # still running after timeout seconds
        ended.release()
        return orig(self, timeout)  # its end: a moment at most

    join.__qualname__ = orig.__qualname__
    join.__doc__ = orig.__doc__
    return join
