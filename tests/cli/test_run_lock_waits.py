"""Lock waits of an `interp run` script's main thread, as under python: Ctrl-C raises
KeyboardInterrupt in Lock.acquire, RLock, Event.wait, Condition.wait, Semaphore,
queue.Queue.get, Future.result and Thread.join; a signal's handler runs during such a wait,
which then goes on; python's exit waits for non-daemon threads after a Ctrl-C, and
another Ctrl-C ends that wait; --timeout ends a lock wait with TimeoutError. Each program
is run under python and under interp, side by side."""

import signal
import subprocess
import textwrap
import time

import pytest
from helpers import (
    INTERP,
    drive,
    interp_argv,
    python_and_interp,
    python_argv,
    read_line,
    start,
    write,
)

WAITS = """\
import sys, threading, time
kind = sys.argv[1]
try:
    print("started", flush=True)
    if kind == "lock":
        lock = threading.Lock(); lock.acquire(); lock.acquire()
    elif kind == "lock-timeout":
        lock = threading.Lock(); lock.acquire(); lock.acquire(timeout=60)
    elif kind == "with-lock":
        lock = threading.Lock(); lock.acquire()
        with lock:
            pass
    elif kind == "rlock":
        rlock = threading.RLock()
        other = threading.Thread(target=rlock.acquire); other.start(); other.join()
        rlock.acquire()
    elif kind == "event":
        threading.Event().wait()
    elif kind == "condition":
        cond = threading.Condition()
        with cond:
            cond.wait()
    elif kind == "semaphore":
        threading.Semaphore(0).acquire()
    elif kind == "barrier":
        threading.Barrier(2).wait()
    elif kind == "queue":
        import queue; queue.Queue().get()
    elif kind == "future":
        import concurrent.futures as cf
        cf.Future().result()
    elif kind == "join":
        release = threading.Event()
        worker = threading.Thread(target=release.wait); worker.start()
        try:
            worker.join()
        finally:
            release.set()
except KeyboardInterrupt:
    print("caught", kind, flush=True)
    if len(sys.argv) > 2:
        raise
finally:
    print("finally", kind, flush=True)
print("end", flush=True)
"""

KINDS = [
    "lock",
    "lock-timeout",
    "with-lock",
    "rlock",
    "event",
    "condition",
    "semaphore",
    "barrier",
    "queue",
    "future",
    "join",
]


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_ends_lock_waits_as_in_python(tmp_path, kind):
    script = write(tmp_path / "waits.py", WAITS)
    steps = [("started", signal.SIGINT), (f"caught {kind}", None)]
    # (the delay: the main thread is in its wait, not still printing)
    py = drive(python_argv(script, kind), steps, delay=0.2)
    ip = drive(interp_argv(script, kind), steps, delay=0.2)
    assert (ip[0], ip[1]) == (py[0], py[1]), (py, ip)
    assert ip[1] == f"started\ncaught {kind}\nfinally {kind}\nend\n"
    assert ip[0] == 0 and ip[2] == py[2] == ""
    assert ip[3][0] < 1.0, ip[3]  # Ctrl-C to the except clause


@pytest.mark.parametrize("kind", ["lock", "queue", "join"])
def test_a_ctrl_c_that_escapes_a_lock_wait_shows_python_s_traceback(tmp_path, kind):
    script = write(tmp_path / "waits.py", WAITS)
    steps = [("started", signal.SIGINT), (f"caught {kind}", None)]
    py = drive(python_argv(script, kind, "raise"), steps, delay=0.2)
    ip = drive(interp_argv(script, kind, "raise"), steps, delay=0.2)
    assert (py[0], ip[0]) == (-signal.SIGINT, 130), (py, ip)
    assert ip[1] == py[1], (py, ip)
    if kind == "join":  # python's shows threading's frames under join(); ours none
        py_lines, ip_lines = py[2].splitlines(), ip[2].splitlines()
        assert ip_lines[:3] == py_lines[:3] and ip_lines[-1] == "KeyboardInterrupt", (py, ip)
    else:
        assert ip[2] == py[2], (py[2], ip[2])  # none of interp's own frames


HANDLER = """\
import os, signal, threading, time
got = []
def handler(signum, frame):
    got.append(threading.current_thread() is threading.main_thread())
    if len(got) == 2:
        raise RuntimeError("from the handler")
signal.signal(signal.SIGUSR1, handler)
lock = threading.Lock()
lock.acquire()
def later(then_release):
    time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGUSR1)
    if then_release:
        time.sleep(0.3)
        lock.release()
threading.Thread(target=later, args=(True,)).start()
print(lock.acquire(), got, flush=True)   # the handler ran; the wait went on
lock.acquire(blocking=False)
threading.Thread(target=later, args=(False,)).start()
try:
    lock.acquire(timeout=30)
except RuntimeError as exc:
    print("raised:", exc, got)
"""


def test_a_handler_runs_during_a_lock_wait_which_then_goes_on(tmp_path):
    t = time.monotonic()
    py, ip = python_and_interp([write(tmp_path / "handler.py", HANDLER)])
    assert (ip.returncode, ip.stdout, ip.stderr) == (py.returncode, py.stdout, py.stderr)
    assert ip.stdout == "True [True]\nraised: from the handler [True, True]\n"
    assert time.monotonic() - t < 20


EXIT_JOIN = """\
import threading, time
stuck = threading.Lock()
stuck.acquire()
threading.Thread(target=stuck.acquire).start()  # non-daemon, never ends by itself
try:
    print("started", flush=True)
    time.sleep(60)
finally:
    print("finally", flush=True)
"""


@pytest.mark.parametrize("argv", [python_argv, interp_argv], ids=["python", "interp"])
def test_after_ctrl_c_exit_waits_for_threads_and_another_ctrl_c_ends_it(tmp_path, argv):
    """python's exit joins the non-daemon threads, even after a Ctrl-C; another Ctrl-C
    ends the wait at once, and the process with it."""
    p = start(argv(write(tmp_path / "exit_join.py", EXIT_JOIN)))
    try:
        assert read_line(p) == b"started\n"
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        assert read_line(p) == b"finally\n"
        time.sleep(1.5)  # interp's grace (INTERP_GRACE) is 1 s: the wait outlives it
        assert p.poll() is None, p.communicate()
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        elapsed = time.monotonic() - t
    finally:
        p.kill()
        p.wait()
    assert p.returncode in (130, -signal.SIGINT), err
    assert elapsed < 1.0, elapsed
    text = err.decode()
    assert text.count("KeyboardInterrupt") == 2, text  # the script's, then the exit's
    assert "time.sleep(60)" in text.split("KeyboardInterrupt")[0], text
    assert "interp:" not in text and "Fatal Python error" not in text, text


def test_lock_api_as_in_python(tmp_path):
    """The locks a script gets are CPython's in all it can see: types, reprs, results,
    errors, weak references."""
    code = """\
        import _thread, gc, pickle, re, threading, weakref
        def show(x):
            print(re.sub(r"0x[0-9a-f]+|owner=[0-9]+", "N", repr(x)))
        lock, rlock = threading.Lock(), threading.RLock()
        print(type(lock) is _thread.LockType, type(_thread.allocate_lock()) is type(lock))
        show(lock)
        print(lock.acquire(), lock.locked(), lock.acquire(False), lock.acquire(timeout=0.01))
        show(lock)
        lock.release()
        for bad in ({"blocking": False, "timeout": 1}, {"timeout": -2}, {"timeout": "x"},
                    {"timeout": float("nan")}, {"bogus": 1}):
            try:
                lock.acquire(**bad)
            except Exception as exc:
                print(type(exc).__name__, exc)
        for act in (lock.release, rlock.release, lambda: pickle.dumps(lock)):
            try:
                act()
            except Exception as exc:
                print(type(exc).__name__, exc)
        with rlock, rlock:
            show(rlock)
            print(rlock._is_owned(), rlock._recursion_count())
        show(rlock)
        ref = weakref.ref(lock)
        del lock
        gc.collect()
        print(ref())
        class Sub(type(rlock)):
            pass
        sub = Sub()
        print(sub.acquire(), sub.acquire(), sub._recursion_count())
        cond = threading.Condition(threading.RLock())
        with cond:
            print(cond.wait(0.01), cond.wait_for(lambda: True))
        print(threading.Semaphore(2).acquire(timeout=0.01), threading.Event().wait(0.01))
        """
    py, ip = python_and_interp(["-c", textwrap.dedent(code)])
    assert (ip.returncode, ip.stdout, ip.stderr) == (py.returncode, py.stdout, py.stderr)
    assert "<unlocked _thread.lock object at N>" in ip.stdout, ip.stdout
    assert "RuntimeError release unlocked lock" in ip.stdout


def test_timeout_ends_a_lock_wait():
    t = time.monotonic()
    p = subprocess.run(
        [*INTERP, "run", "--timeout", "0.5", "-c", "import threading; threading.Event().wait()"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1, p.stderr
    assert p.stderr.splitlines()[-2:-1] == ["TimeoutError"], p.stderr
    assert "timed out after 0.5 s" in p.stderr
    assert time.monotonic() - t < 10


def test_other_threads_lock_waits_are_not_interrupted(tmp_path):
    """As in python, only the main thread's waits end; a thread's wait goes on."""
    code = """\
        import os, signal, threading, time
        signal.signal(signal.SIGUSR1, lambda *a: print("handler", flush=True))
        lock = threading.Lock(); lock.acquire()
        result = []
        t = threading.Thread(target=lambda: result.append(lock.acquire(timeout=30)))
        t.start()
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.2)
        print("waiting", t.is_alive())
        lock.release()
        t.join()
        print(result)
        """
    py, ip = python_and_interp(["-c", textwrap.dedent(code)])
    assert (ip.returncode, ip.stdout, ip.stderr) == (py.returncode, py.stdout, py.stderr)
    assert ip.stdout == "handler\nwaiting True\n[True]\n"
