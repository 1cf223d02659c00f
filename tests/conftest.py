import os
import subprocess
import sys
import textwrap

import pytest

import interpcli


@pytest.fixture
def interp():
    """A fresh isolated interpreter, closed after the test."""
    i = interpcli.create()
    yield i
    if i.is_alive():
        i.close()


def run_python(code: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run code in a fresh Python process (the same interpreter as the tests)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, **kw)


@pytest.fixture
def python():
    """run_python, for tests that need a fresh process (a crash must not end the suite)."""
    return run_python
