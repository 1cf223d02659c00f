"""Fixtures for every test layer: core/ (the C core through the Python API), pep734/
(interpcli.interpreters), cli/ (`interp`), repl/ (`interp shell`) and stress/. Tests under
stress/ carry the `stress` marker: `python -m pytest -m "not stress"` skips them."""
from pathlib import Path

import pytest

import interpcli
from helpers import run_python

STRESS = Path(__file__).parent / "stress"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if STRESS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.stress)


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
