"""interpcli.interpreters.InterpreterPoolExecutor: 3.14's executor, reusing interpreters."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import run_python
from interpcli import interpreters
from interpcli.interpreters import ExecutionFailed, InterpreterPoolExecutor
from interpcli.interpreters.executor import BrokenInterpreterPool


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
    with InterpreterPoolExecutor(2, initializer=_init, initargs=(5,),
                                 shared={"factor": 3}) as ex:
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
        with pytest.raises(TypeError):
            ex.submit(42)


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
