"""Pickling inside subinterpreters must not corrupt memory: on 3.12.1, CPython's C pickler
pickling a tuple in a subinterpreter makes the process abort at exit ("free(): invalid
pointer"; the stdlib's _xxsubinterpreters too), so interpcli pickles with the pure-Python
pickler there. Each case runs in a fresh process, which must end cleanly."""

from __future__ import annotations

import pytest
from helpers import run_python


@pytest.mark.parametrize(
    "task,expect",
    [
        ("ex.submit(int, 'x').exception()", "ValueError"),  # pickled exception
        ("ex.submit(exec, 'raise KeyError(1)', {}).exception()", "KeyError"),
        ("ex.submit(frozenset, [(1, 2)]).result()", "frozenset({(1, 2)})"),  # pickled result
    ],
)
def test_a_pool_that_pickles_in_its_worker_exits_cleanly(task, expect):
    r = run_python(f"""
        from interpcli.interpreters import InterpreterPoolExecutor
        with InterpreterPoolExecutor(1) as ex:
            print(repr({task}))
        print("end")
    """)
    assert r.returncode == 0, r.stderr
    assert expect in r.stdout and r.stdout.rstrip().endswith("end"), r.stdout
    assert "invalid pointer" not in r.stderr and "Fatal" not in r.stderr, r.stderr


def test_a_call_whose_result_is_pickled_exits_cleanly():
    r = run_python("""
        from interpcli import interpreters
        interp = interpreters.create()
        print(interp.call(frozenset, [(1, 2)]))
        interp.close()
        print("end")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["frozenset({(1,", "2)})", "end"], r.stdout
