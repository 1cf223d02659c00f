"""interpcli._sync: the thread primitives that replace threading on `interp run`'s path."""

import os
import subprocess
import sys
import threading
import time

import pytest

import interpcli
from interpcli import _sync


def test_flag_wait_set_and_timeout():
    flag = _sync.Flag()
    assert not flag.is_set()
    t0 = time.monotonic()
    assert flag.wait(0.05) is False
    assert time.monotonic() - t0 >= 0.04
    flag.set()
    flag.set()  # a second set does nothing
    assert flag.is_set() and flag.wait() and flag.wait(0)


def test_flag_wakes_every_waiter():
    flag = _sync.Flag()
    woken = []
    threads = [threading.Thread(target=lambda: woken.append(flag.wait(30))) for _ in range(5)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    flag.set()
    for t in threads:
        t.join(30)
    assert woken == [True] * 5


def test_flag_set_from_many_threads_at_once():
    for _ in range(50):
        flag = _sync.Flag()
        barrier = threading.Barrier(4)
        errors = []

        def setter():
            barrier.wait()
            try:
                flag.set()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=setter) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and flag.wait(0)


def test_start_sets_its_flag_when_done_even_after_an_exception(monkeypatch):
    out = []
    done = _sync.start(out.append, ("ran",))
    assert done.wait(30) and out == ["ran"]

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_type))
    flag = _sync.Flag()

    def boom():
        flag.wait()
        raise ValueError("x")

    finished = _sync.start(boom)
    flag.set()
    assert finished.wait(30)
    deadline = time.monotonic() + 30
    while not reported and time.monotonic() < deadline:  # printed as the thread ends
        time.sleep(0.01)
    assert reported == [ValueError]


def test_is_main_thread():
    assert _sync.is_main_thread()
    seen = []
    t = threading.Thread(target=lambda: seen.append(_sync.is_main_thread()))
    t.start()
    t.join()
    assert seen == [False]
    assert _sync.start(lambda: seen.append(_sync.is_main_thread())).wait(30)
    assert seen == [False, False]


def test_is_main_thread_without_threading_loaded():
    """The path `interp run` takes: threading not imported (3.12's answer comes from the
    thread ids), in the main thread and in a bare _thread thread."""
    out = _main_thread_answers(
        "assert 'threading' not in sys.modules\n",
        "assert 'threading' not in sys.modules, 'threading was imported'\n",
    )
    assert out == "[True, False]\n"


def test_a_wait_cut_short_after_taking_the_lock_blocks_no_later_wait():
    """A Ctrl-C landing in the main thread just after a wait took the flag's lock (before
    it gave it back) leaves the lock taken: the waits after it must still return. The
    spare's helpers are awaited this way, and the exit once hung there forever (3.12,
    SIGINT during a create() loop on a loaded machine)."""
    flag = _sync.Flag()
    flag.set()
    flag._lock.acquire()  # the state such an interrupted wait leaves
    t0 = time.monotonic()
    assert flag.wait() and flag.wait(5)
    assert time.monotonic() - t0 < 1
    finished = _sync.start(lambda: None)
    assert finished.wait(30)
    finished._lock.acquire()
    assert finished.wait()


def test_is_main_thread_while_threading_is_being_imported():
    """`interp`'s status line imports threading in the main thread while the runs start
    in bare threads, which ask is_main_thread(): a half-imported threading module must
    not be consulted (3.12 did: AttributeError, and a run reported as failed)."""
    out = _main_thread_answers(
        "import types\nsys.modules['threading'] = types.ModuleType('threading')\n"
    )
    assert out == "[True, False]\n"


def _main_thread_answers(before: str, after: str = "") -> str:
    """What is_main_thread() says in the main thread and in a bare _thread thread, printed
    by a fresh `python -S` that runs `before` first and `after` last."""
    code = (
        "import sys, _thread\n"
        "from interpcli import _sync\n" + before + "out = [_sync.is_main_thread()]\n"
        "_sync.start(lambda: out.append(_sync.is_main_thread())).wait()\n" + after + "print(out)\n"
    )
    p = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def _start_interrupted(launch: bool):
    """_sync.start as a Ctrl-C cuts it short: before it started the thread (launch False),
    or just after (True)."""
    real = _sync.start

    def interrupted(function, args=(), finished=None):
        if launch:
            real(function, args, finished)
        raise KeyboardInterrupt

    return interrupted


def test_a_ctrl_c_before_a_runs_thread_starts_raises_at_once(monkeypatch):
    interp = interpcli.create()
    try:
        monkeypatch.setattr(_sync, "start", _start_interrupted(False))
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            interp.run("x = 1")  # hung forever, waiting for a thread never started
        monkeypatch.undo()
        assert time.monotonic() - t0 < 5
        interp.run("assert 'x' not in globals()").check()  # the run never began
    finally:
        monkeypatch.undo()
        interp.close()


def test_a_ctrl_c_just_after_a_runs_thread_started_stops_that_run(monkeypatch):
    interp = interpcli.create()
    try:
        monkeypatch.setattr(_sync, "start", _start_interrupted(True))
        with pytest.raises(KeyboardInterrupt):
            interp.run("import time\nwhile True:\n    time.sleep(0.001)\n")
        monkeypatch.undo()
        assert not interp.is_running()  # the run was stopped, and waited for
    finally:
        monkeypatch.undo()
        interp.close()
