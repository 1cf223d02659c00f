"""The executor and the exceptions as the stdlib's (3.14's concurrent.futures.interpreter
and concurrent.interpreters): classes users catch, initializer failures, pickling failures,
thread names, script initializers."""

import logging
import re
import sys
import threading

import pytest

from interpcli import interpreters
from interpcli.interpreters import InterpreterPoolExecutor, NotShareableError
from interpcli.interpreters._queues import ItemInterpreterDestroyed, QueueError
from interpcli.interpreters.executor import BrokenInterpreterPool

STDLIB = sys.version_info >= (3, 14)


def fail(exc_type, msg):
    raise exc_type(msg)


def ident(x):
    return x


class Unpicklable:
    """Pickles, but rebuilding it fails (in the worker)."""

    def __init__(self, value):
        if value == 1:
            raise RuntimeError("gotcha")

    def __reduce__(self):
        return (type(self), (1,))


OURS_AND_STDLIB = [
    ("InterpreterError", interpreters.InterpreterError, "concurrent.interpreters"),
    ("InterpreterNotFoundError", interpreters.InterpreterNotFoundError, "concurrent.interpreters"),
    ("NotShareableError", NotShareableError, "concurrent.interpreters"),
    ("ExecutionFailed", interpreters.ExecutionFailed, "concurrent.interpreters"),
    ("QueueError", QueueError, "concurrent.interpreters._queues"),
    (
        "QueueNotFoundError",
        interpreters._queues.QueueNotFoundError,
        "concurrent.interpreters._queues",
    ),
    ("QueueEmpty", interpreters.QueueEmpty, "concurrent.interpreters._queues"),
    ("QueueFull", interpreters.QueueFull, "concurrent.interpreters._queues"),
    ("ItemInterpreterDestroyed", ItemInterpreterDestroyed, "concurrent.interpreters._queues"),
    ("BrokenInterpreterPool", BrokenInterpreterPool, "concurrent.futures.interpreter"),
]


@pytest.mark.skipif(not STDLIB, reason="concurrent.interpreters is 3.14+")
def test_exceptions_are_the_stdlib_classes_on_3_14():
    import importlib

    for name, ours, module in OURS_AND_STDLIB:
        theirs = getattr(importlib.import_module(module), name)
        assert issubclass(ours, theirs), name
    import concurrent.interpreters as ci

    with pytest.raises(ci.InterpreterNotFoundError):  # raised by the C core
        interpreters.Interpreter(10**6)
    with pytest.raises(ci.NotShareableError):
        interpreters.create().prepare_main(x=threading.Lock())
    with pytest.raises(ci._queues.QueueEmpty):
        interpreters.create_queue().get_nowait()
    with pytest.raises(ci.ExecutionFailed):
        interp = interpreters.create()
        try:
            interp.exec("1 / 0")
        finally:
            interp.close()


@pytest.mark.skipif(STDLIB, reason="3.12/3.13: no concurrent.interpreters")
def test_exceptions_stand_alone_before_3_14():
    for name, ours, _module in OURS_AND_STDLIB:
        assert all(
            c.__module__.startswith(
                ("interpcli", "builtins", "concurrent.futures", "queue", "_queue")
            )
            for c in ours.__mro__
        ), name


def test_pool_failures_as_the_stdlib_gives_them():
    with InterpreterPoolExecutor(1) as ex:
        assert re.fullmatch(r"InterpreterPoolExecutor-\d+", ex._thread_name_prefix)
        assert ex.submit(ident, 0).result(timeout=60) == 0
        assert [t.name for t in ex._threads] == [ex._thread_name_prefix + "_0"]
        # a task's exception is re-raised, caused by the stdlib's own ExecutionFailed
        exc = ex.submit(fail, KeyError, "spam").exception(timeout=60)
        assert type(exc) is KeyError
        if STDLIB:
            import concurrent.interpreters as ci

            assert type(exc.__cause__) is ci.ExecutionFailed
        assert exc.__cause__.excinfo.msg == "'spam'"
        # pickling fails in the caller: accepted, the future fails
        fut = ex.submit(ident, threading.Lock())
        exc = fut.exception(timeout=60)
        assert type(exc) is NotShareableError and str(exc) == "args not shareable"
        assert "lock" in str(exc.__cause__)
        spam = []
        exc = ex.submit(lambda: spam).exception(timeout=60)  # a closure does not pickle
        assert type(exc) is NotShareableError and str(exc) == "args not shareable"
        # unpickling fails in the worker
        exc = ex.submit(Unpicklable(0)).exception(timeout=60)
        assert type(exc) is NotShareableError and str(exc) == "args not shareable"
        assert "unpickled" in str(exc.__cause__)
        # what is not callable is accepted and fails when called
        assert type(ex.submit(42).exception(timeout=60)) is TypeError
        assert ex.submit(ident, 5).result(timeout=60) == 5  # the pool still works
    with InterpreterPoolExecutor(thread_name_prefix="mine") as ex:
        ex.submit(ident, 0).result(timeout=60)
        assert [t.name for t in ex._threads] == ["mine_0"]


def test_script_initializer_with_initargs_is_a_type_error():
    with pytest.raises(TypeError):
        InterpreterPoolExecutor(initializer="pass", initargs=("spam",))


def test_failing_initializer_is_logged_and_breaks_the_pool_at_once(caplog):
    caplog.set_level(logging.CRITICAL, logger="concurrent.futures")
    ex = InterpreterPoolExecutor(1, initializer=fail, initargs=(ValueError, "init spam"))
    fut = ex.submit(ident, 1)
    with pytest.raises(BrokenInterpreterPool):
        fut.result(timeout=60)
    assert ex._broken  # before any further submit()
    with pytest.raises(BrokenInterpreterPool):
        ex.submit(ident, 1)
    ex.shutdown()
    records = [r for r in caplog.records if r.name == "concurrent.futures"]
    assert [r.getMessage() for r in records] == ["Exception in initializer:"]
    assert records[0].levelno == logging.CRITICAL
    text = caplog.text
    assert "ValueError: init spam" in text and "Uncaught in the interpreter:" in text
