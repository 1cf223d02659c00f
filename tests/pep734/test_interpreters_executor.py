"""interpcli.interpreters.InterpreterPoolExecutor: 3.14's executor, reusing interpreters."""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import run_python

from interpcli import interpreters
from interpcli.interpreters import ExecutionFailed, InterpreterPoolExecutor
from interpcli.interpreters.executor import BrokenInterpreterPool

if sys.version_info >= (3, 14):  # a task's failure is the stdlib's own class there
    from concurrent.interpreters import ExecutionFailed


def square(x):
    return x * x


def fail(x):
    raise KeyError(x)


def where():
    return interpreters.get_current().id


def unpicklable_error():
    class Local(Exception):
        pass

    raise Local("local")


def test_is_a_thread_pool_executor():
    assert issubclass(InterpreterPoolExecutor, ThreadPoolExecutor)
    assert issubclass(BrokenInterpreterPool, Exception)


def test_submit_map_and_shutdown():
    before = {i.id for i in interpreters.list_all()}
    with InterpreterPoolExecutor(2) as ex:
        assert ex.submit(square, 7).result(timeout=60) == 49
        assert list(ex.map(square, range(20))) == [x * x for x in range(20)]
        assert ex.submit(pow, 2, 8).result(timeout=60) == 256
        assert ex.submit(lambda a, *, b: a - b, 5, b=2).result(timeout=60) == 3
        ids = {ex.submit(where).result(timeout=60) for _ in range(20)}
        assert 0 not in ids and 1 <= len(ids) <= 2
    # shutdown closed the pool's interpreters
    assert {i.id for i in interpreters.list_all()} == before
    with pytest.raises(RuntimeError):
        ex.submit(square, 1)


def test_exceptions_are_re_raised_in_the_caller():
    with InterpreterPoolExecutor(1) as ex:
        with pytest.raises(KeyError) as info:
            ex.submit(fail, "k").result(timeout=60)
        assert isinstance(info.value.__cause__, ExecutionFailed)
        assert "KeyError" in info.value.__cause__.excinfo.errdisplay
        with pytest.raises(ExecutionFailed) as info:
            ex.submit(unpicklable_error).result(timeout=60)
        assert info.value.excinfo.type.__name__ == "Local"
        # the worker goes on after a failed task
        assert ex.submit(square, 3).result(timeout=60) == 9


def test_interpreters_are_reused_and_warm_tasks_start_fast():
    with InterpreterPoolExecutor(1) as ex:
        first = ex.submit(where).result(timeout=60)
        t0 = time.perf_counter()
        n = 50
        for _ in range(n):
            assert ex.submit(where).result(timeout=60) == first
        per_task = (time.perf_counter() - t0) / n
    # about 0.1 ms on a quiet machine; a generous bound for a shared one
    assert per_task < 0.05


def test_initializer_and_shared():
    with InterpreterPoolExecutor(2, initializer=_init, initargs=(5,), shared={"factor": 3}) as ex:
        assert ex.submit(_read_main).result(timeout=60) == (5, 3)
    with InterpreterPoolExecutor(1, initializer="import __main__; __main__.seed = 9") as ex:
        assert ex.submit(_read_seed).result(timeout=60) == 9


def _init(v):
    import __main__

    __main__.initial = v


def _read_main():
    import __main__

    return (__main__.initial, __main__.factor)


def _read_seed():
    import __main__

    return __main__.seed


def test_failing_initializer_breaks_the_pool():
    ex = InterpreterPoolExecutor(1, initializer=fail, initargs=(1,))
    f = ex.submit(square, 2)
    with pytest.raises(BrokenInterpreterPool):
        f.result(timeout=60)
    with pytest.raises(BrokenInterpreterPool):
        ex.submit(square, 2)
    ex.shutdown()


def test_scripts_and_bad_arguments():
    with InterpreterPoolExecutor(1) as ex:
        assert ex.submit("x = 1").result(timeout=60) is None
        with pytest.raises(ValueError):
            ex.submit("x = 1", 2)
        with pytest.raises(TypeError):  # accepted, as by the stdlib: the call fails
            ex.submit(42).result(timeout=60)


def test_executor_in_a_script_exits_cleanly():
    r = run_python("""
        from interpcli.interpreters import InterpreterPoolExecutor
        def work(n):
            return sum(i * i for i in range(n))
        if __name__ == "__main__":
            ex = InterpreterPoolExecutor(2)
            print(sum(ex.map(work, [1000] * 8)))
            ex.shutdown(wait=False)
    """)
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(8 * sum(i * i for i in range(1000)))


# ---- the worker loop (issue 12): one run per worker, tasks through channels ----


def _runs_of(iid):
    from interpcli import _lowlevel

    for i, _name, _iso, _running, runs in _lowlevel.interpreters():
        if i == iid:
            return runs
    raise LookupError(iid)


def test_warm_tasks_do_not_start_a_run_each():
    with InterpreterPoolExecutor(1) as ex:
        iid = ex.submit(where).result(timeout=60)
        before = _runs_of(iid)
        for i in range(20):
            assert ex.submit(square, i).result(timeout=60) == i * i
        assert _runs_of(iid) == before


def _plain(x, *, y=2):  # a stateless function: it crosses by value (marshal)
    return [x, {y}]


def test_plain_tasks_need_neither_pickle_nor_the_package_in_the_worker():
    probe = "[m for m in ('pickle', 'interpcli.interpreters') if m in __import__('sys').modules]"
    with InterpreterPoolExecutor(1) as ex:
        assert ex.submit(eval, probe).result(timeout=60) == []
        assert ex.submit(pow, 3, 4).result(timeout=60) == 81
        assert ex.submit(_plain, 1).result(timeout=60) == [1, {2}]
        assert ex.submit("z = 1").result(timeout=60) is None
        assert ex.submit(eval, probe).result(timeout=60) == []
        # what does not marshal is pickled, and still arrives as itself
        assert ex.submit(len, bytearray(b"abc")).result(timeout=60) == 3
        assert ex.submit(type, frozenset()).result(timeout=60) is frozenset
        assert "pickle" in ex.submit(eval, probe).result(timeout=60)


def test_lent_arguments_and_results():
    q = interpreters.create_queue()
    with InterpreterPoolExecutor(1) as ex:
        ex.submit(_put, q, 5).result(timeout=60)
        assert q.get(timeout=60) == 5
        assert ex.submit(bytes, memoryview(b"xy")).result(timeout=60) == b"xy"


def _put(q, v):
    q.put(v)
    return q


def test_a_task_that_does_not_rebuild_there_fails_its_future():
    class Local:
        def m(self):
            return 1

    with InterpreterPoolExecutor(1) as ex:
        with pytest.raises(Exception):  # noqa: B017 (whichever error rebuilding it raises)
            ex.submit(Local().m).result(timeout=60)
        assert ex.submit(square, 2).result(timeout=60) == 4


def test_pending_tasks_are_cancellable():
    gate = interpreters.create_queue()
    ex = InterpreterPoolExecutor(1)
    first = ex.submit(gate.get)
    rest = [ex.submit(square, i) for i in range(20)]
    # a worker has at most a few tasks: the others wait in the caller's queue
    assert sum(f.cancel() for f in rest) >= 15
    gate.put(1)
    ex.shutdown(cancel_futures=True)
    assert first.result(timeout=60) == 1
    assert all(f.done() for f in rest)


def test_thread_names_and_default_max_workers():
    with InterpreterPoolExecutor(thread_name_prefix="pfx") as ex:
        ex.submit(square, 1).result(timeout=60)
        assert ex._max_workers == ThreadPoolExecutor()._max_workers
        assert all(t.name.startswith("pfx_") for t in ex._threads)


def test_executor_dropped_without_shutdown_and_exit_with_queued_tasks():
    r = run_python("""
        import gc
        from interpcli.interpreters import InterpreterPoolExecutor
        def work(n):
            return sum(range(n))
        if __name__ == "__main__":
            ex = InterpreterPoolExecutor(2)
            assert ex.submit(work, 10).result() == 45
            del ex
            gc.collect()
            ex = InterpreterPoolExecutor(1)
            fs = [ex.submit(work, 100_000) for _ in range(10)]
            print("queued")
    """)
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "queued"
