"""Fixtures for every test layer: core/ (the C core through the Python API), pep734/
(interpcli.interpreters), cli/ (`interp`), repl/ (`interp shell`) and stress/. Tests under
stress/ carry the `stress` marker: `python -m pytest -m "not stress"` skips them."""

import signal
import sys
import time
from pathlib import Path

import pytest
from helpers import run_python

import interpcli

STRESS = Path(__file__).parent / "stress"


def pytest_configure(config):
    # A suite started as a background job of a non-interactive shell (`.ci/run &`) inherits
    # SIGINT ignored, and so would every Python it starts: Python keeps an ignored SIGINT
    # ignored, and the Ctrl-C tests' processes would never see theirs. Take it again.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if STRESS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.stress)


@pytest.fixture(autouse=True)
def _no_run_left_going():
    """A test that failed midway can leave a run going in a thread of this process (a busy
    loop): interrupt it after the test, so that it does not load the machine and fail the
    tests after it. Passing tests leave none; one that must is reported on stderr."""
    yield
    from interpcli import _lowlevel

    main = _lowlevel.main_id()
    deadline = time.monotonic() + 5
    while True:
        going = [
            (iid, name)
            for iid, name, _iso, running, _runs in _lowlevel.interpreters()
            if running and iid != main
        ]
        if not going or time.monotonic() > deadline:
            break
        for iid, name in going:
            sys.stderr.write(f"\nconftest: interrupting a run left going in {name}\n")
            try:
                _lowlevel.interrupt(iid)
            except Exception:
                pass
        time.sleep(0.05)


@pytest.fixture
def interp():
    """A fresh isolated interpreter, closed after the test."""
    i = interpcli.create()
    yield i
    if i.is_alive():
        i.close()


@pytest.fixture
def python():
    """run_python, for tests that need a fresh process (a crash must not end the suite)."""
    return run_python
