"""Fixtures of the PEP 734 layer's tests (interpcli.interpreters)."""

import pytest

from interpcli import interpreters


@pytest.fixture
def interp():
    """A fresh interpreters.Interpreter, closed after the test (if it still exists)."""
    i = interpreters.create()
    yield i
    try:
        i.close()
    except interpreters.InterpreterError:
        pass
