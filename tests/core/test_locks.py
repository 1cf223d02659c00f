"""The core's Lock and RLock (what `interp run` scripts get in place of _thread's):
mutual exclusion under contention, timeouts, wake-ups across threads, RLock ownership,
Condition over them, and the main thread's wait that a signal ends (lock_setup and
lock_interrupt), through the Python API."""

import sys
import threading
import time

import pytest

import interpcli
from interpcli import _lowlevel

KINDS = [_lowlevel.Lock, _lowlevel.allocate_lock, _lowlevel.RLock]


@pytest.fixture
def fast_switching():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the GIL changes hands all the time: races show
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("make", KINDS)
def test_mutual_exclusion_under_contention(make, fast_switching):
    lock, counter, threads = make(), [0], 4

    def work():
        for _ in range(5000):
            with lock:
                value = counter[0]
                time.sleep(0) if value % 997 == 0 else None  # let others run mid-way
                counter[0] = value + 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert counter[0] == 5000 * threads
    assert not lock.locked()


@pytest.mark.parametrize("make", KINDS)
def test_a_held_lock_times_out_and_a_release_wakes_the_waiter(make):
    lock = make()
    held = threading.Event()
    release = threading.Event()

    def holder():
        lock.acquire()
        held.set()
        release.wait()
        lock.release()

    t = threading.Thread(target=holder)
    t.start()
    held.wait()
    started = time.monotonic()
    assert lock.acquire(timeout=0.1) is False
    assert time.monotonic() - started >= 0.09
    assert lock.acquire(blocking=False) is False
    threading.Timer(0.05, release.set).start()
    assert lock.acquire() is True
    assert lock.locked()
    lock.release()
    t.join()


def test_rlock_belongs_to_its_owner():
    rlock = _lowlevel.RLock()
    rlock.acquire()
    rlock.acquire()
    errors = []

    def other():
        try:
            rlock.release()
        except RuntimeError as exc:
            errors.append(str(exc))
        errors.append(rlock.acquire(timeout=0.01))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors == ["cannot release un-acquired lock", False]
    assert rlock._recursion_count() == 2
    state = rlock._release_save()
    assert not rlock.locked()
    rlock._acquire_restore(state)
    assert rlock._is_owned() and rlock._recursion_count() == 2
    rlock.release()
    rlock.release()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        rlock.release()


@pytest.mark.parametrize("make", [_lowlevel.Lock, _lowlevel.RLock])
def test_condition_over_the_core_locks(make):
    cond = threading.Condition(make())
    items = []

    def consumer():
        with cond:
            cond.wait_for(lambda: len(items) == 100, timeout=30)

    threads = [threading.Thread(target=consumer) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(100):
        with cond:
            items.append(i)
            cond.notify_all()
    for t in threads:
        t.join(30)
        assert not t.is_alive()


def test_lock_errors():
    lock = _lowlevel.Lock()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match=r"non-negative|positive"):  # (3.12: "positive")
        lock.acquire(timeout=-0.5)
    with pytest.raises(OverflowError):
        lock.acquire(timeout=1e300)
    with pytest.raises(TypeError):
        lock.acquire(1, 2, 3)
    with pytest.raises(TypeError):
        _lowlevel.Lock(1)
    with pytest.raises(TypeError):
        type("Sub", (_lowlevel.Lock,), {})  # as _thread.lock: not a base type
    assert not lock.locked()


# Run in an interpreter of its own: lock_setup makes its calling thread the main thread
# of that interpreter for good.
INTERRUPTED = """\
import threading, time
from interpcli import _lowlevel
calls = []
def hook():
    calls.append(len(calls))
    if len(calls) == 2:
        raise KeyboardInterrupt
_lowlevel.lock_setup(hook)
lock = _lowlevel.Lock()
lock.acquire()
print("parked:", _lowlevel.lock_interrupt())  # nobody waits: a pending one is kept
def interrupt():
    for _ in range(1000):  # until it lands on the main thread parked (or 10 s)
        if _lowlevel.lock_interrupt():
            break
        time.sleep(0.01)
threading.Thread(target=interrupt).start()
started = time.monotonic()
try:
    lock.acquire()
except KeyboardInterrupt as exc:
    print("raised", type(exc).__name__, exc.__traceback__.tb_next is None, calls)
print("in time:", time.monotonic() - started < 10)
other = threading.Thread(target=lambda: print("thread:", lock.acquire(timeout=0.2)))
other.start()
_lowlevel.lock_interrupt()      # only the main thread's waits end
other.join()
"""


def test_a_main_thread_wait_ends_when_interrupted():
    interp = interpcli.create()
    try:
        result = interp.run(INTERRUPTED, capture_output=True)
    finally:
        interp.close()
    assert result.completed, result.traceback
    # the pending interrupt ran the hook at once (calls [0]), the first interrupt while
    # parked [1], which raised: the acquire raised it, with no frame of the hook's below
    assert result.stdout == (
        "parked: False\nraised KeyboardInterrupt True [0, 1]\nin time: True\nthread: False\n"
    )
