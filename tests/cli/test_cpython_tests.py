"""CPython's own test modules (Lib/test, run by its regrtest) pass under `interp run -m test`
as under `python -m test`, in an isolated interpreter and with --shared-gil. A few quick
modules that touch what subinterpreters change: atexit (run at the interpreter's end;
with --shared-gil, since its tests use _testcapi),
readline (a single-phase extension module: loaded with --shared-gil, refused
by an isolated interpreter, so regrtest skips its test there), thread-local data (threads
started by the script). docs/cpython-tests.md has the wider survey."""

from __future__ import annotations

import importlib.util

import pytest
from helpers import interp

pytestmark = pytest.mark.timeout(120)

# test_atexit imports _testcapi, which an isolated interpreter refuses (3.12 fails on it)
# (not test_threading_local: its _testcapi.call_in_temporary_c_thread takes the main
# interpreter's GIL through PyGILState_Ensure, and then crashes a subinterpreter's run at
# times on 3.15; docs/cpython-tests.md)
SHARED = ("test_atexit", "test_readline", "test_bisect")
ISOLATED = ("test_contextlib", "test_readline", "test_bisect")


def _have_regrtest() -> bool:
    try:
        return importlib.util.find_spec("test.libregrtest") is not None and all(
            importlib.util.find_spec(f"test.{m}") is not None for m in SHARED + ISOLATED
        )
    except ImportError:
        return False


@pytest.mark.skipif(not _have_regrtest(), reason="CPython's own tests (Lib/test) are not installed")
@pytest.mark.parametrize("mode", [[], ["--shared-gil"]], ids=["isolated", "shared-gil"])
def test_cpython_test_modules_pass(tmp_path, mode):
    modules = SHARED if mode else ISOLATED
    p = interp(
        "run", *mode, "-m", "test", "--result", "none", "--", *modules, cwd=tmp_path, timeout=110
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "Tests result: SUCCESS" in p.stdout, p.stdout[-3000:]
    if mode:
        assert f"All {len(modules)} tests OK." in p.stdout, p.stdout[-3000:]
    else:
        # readline is a single-phase extension: an isolated interpreter refuses it, as
        # CPython does for every such module, and regrtest skips its test
        assert (
            "test_readline skipped -- module readline does not support loading in "
            "subinterpreters" in p.stdout
        ), p.stdout[-3000:]
        assert f"{len(modules) - 1} tests OK." in p.stdout, p.stdout[-3000:]
