"""Thread primitives on _thread alone, for the modules `interp run` loads (importing
threading costs it 1.5-2.5 ms, a tenth of python's whole start-up): Flag, a one-shot
event; start(), a thread that can be awaited; is_main_thread().

Every wait here is a bare lock acquire: no polling, and Ctrl-C interrupts it."""

import _thread

TIMEOUT_MAX = _thread.TIMEOUT_MAX


class Flag:
    """A one-shot event: set() once (later calls do nothing), wait(timeout) until set.

    A waiter takes the lock and gives it back at once. A KeyboardInterrupt landing between
    the two (the main thread only) leaves the lock taken; waits that begin later return at
    once all the same (set() marks the flag before it lets the lock go, and a wait looks at
    the mark first), but a wait blocked in another thread at that moment would stay
    blocked: where the main thread waits, no other thread waits on the same flag."""

    __slots__ = ("_lock", "_set", "launched")

    def __init__(self):
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self._set = False
        self.launched = False  # start(): the thread that sets it was started

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        try:
            self._lock.release()
        except RuntimeError:  # another thread's set() released it first
            pass

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; False when timeout seconds passed first."""
        if self._set:
            return True
        if timeout is not None:
            timeout = min(max(0.0, timeout), TIMEOUT_MAX)
        if self._lock.acquire(True, -1 if timeout is None else timeout):
            self._lock.release()
            return True
        return self._set


def start(function, args=(), finished: "Flag | None" = None) -> Flag:
    """Run function(*args) in a new thread; the returned Flag (`finished`, or a new one)
    is set when it returned (or raised: the exception is printed as threading prints one,
    by sys.unraisablehook rather than excepthook, and otherwise dropped; pass functions
    that handle their own). Its `launched` is True once the thread is started: a
    KeyboardInterrupt raised in here may come before or after that, and the caller that
    passed `finished` tells which by it (no bytecode between the mark and the start looks
    at pending signals)."""
    if finished is None:
        finished = Flag()

    def body():
        try:
            function(*args)
        finally:
            finished.set()

    finished.launched = True
    _thread.start_new_thread(body, ())
    return finished


def is_main_thread() -> bool:
    """threading.current_thread() is threading.main_thread(), without importing threading:
    _thread tells on 3.13+; on 3.12 the main thread is the process's first one (Linux: its
    thread id is the process id), the thread that started Python, and after a fork the
    thread that forked. threading itself is not asked even when loaded: another thread may
    be importing it at that moment (`interp`'s status line does, while runs start), and a
    half-made module has no current_thread yet."""
    get_main = getattr(_thread, "_get_main_thread_ident", None)
    if get_main is not None:
        return _thread.get_ident() == get_main()
    from os import getpid

    return _thread.get_native_id() == getpid()
