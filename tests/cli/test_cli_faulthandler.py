"""`import faulthandler` in the isolated interpreters of `interp run`: the stand-in that
forwards to the process's faulthandler behaves as python's module does, and pytest (its
faulthandler plugin) and CPython's own test runner work without flags."""

from __future__ import annotations

import importlib.util

import pytest
from helpers import assert_same_as_python, interp, python_and_interp, write

pytestmark = pytest.mark.timeout(120)

FAULTS = r'''
import faulthandler, os, re, signal, sys, tempfile, threading, time

def show(*args, end="\n"):
    print(*args, end=end, flush=True)

def normalized(write):
    """What write(fd) dumps, with thread ids made comparable."""
    fd, path = tempfile.mkstemp()
    try:
        write(fd)
        with open(path) as f:
            text = f.read()
    finally:
        os.close(fd)
        os.unlink(path)
    return re.sub(r"0x[0-9a-f]{16}", "0xID", text)

show("at start", faulthandler.is_enabled())
faulthandler.enable()
show("enabled", faulthandler.is_enabled())
show("disable", faulthandler.disable(), faulthandler.is_enabled())
faulthandler.enable(file=sys.stdout, all_threads=False)
show("enabled on stdout", faulthandler.is_enabled())
faulthandler.disable()

faulthandler.register(signal.SIGUSR1, chain=True)
show("unregister", faulthandler.unregister(signal.SIGUSR1),
     faulthandler.unregister(signal.SIGUSR1))
try:
    faulthandler.register(signal.SIGSEGV)
except RuntimeError as exc:
    show("register SIGSEGV:", repr(exc))
try:
    faulthandler.dump_traceback_later(-1)
except ValueError as exc:
    show("later -1:", repr(exc))

def inner(fd):
    faulthandler.dump_traceback(fd, all_threads=False)

show(normalized(inner), end="")

show(normalized(lambda fd: faulthandler.dump_traceback(fd)), end="")

faulthandler.dump_traceback_later(1000)
faulthandler.cancel_dump_traceback_later()
faulthandler.dump_traceback_later(1000)     # pending at exit: cancelled, no wait
show("done")
'''


def test_faulthandler_behaves_as_in_python(tmp_path):
    script = write(tmp_path / "faults.py", FAULTS)
    py, ip = python_and_interp([script])
    assert "Current thread 0xID" in py.stdout, py.stdout
    assert_same_as_python(py, ip)


def test_threads_and_watchdog(tmp_path):
    """Other threads are listed (their frames cannot be read in a subinterpreter); the
    watchdog's exit=True ends the process with status 1, as in python."""
    script = write(
        tmp_path / "later_exit.py",
        """
        import faulthandler, sys, threading, time
        lock = threading.Lock()
        lock.acquire()
        t = threading.Thread(target=lock.acquire)
        t.start()
        faulthandler.dump_traceback(sys.stdout)
        print("before", flush=True)
        def sleeper():
            time.sleep(10)
        faulthandler.dump_traceback_later(0.1, exit=True)
        sleeper()
        print("not reached")
    """,
    )
    py, ip = python_and_interp([script])
    assert (py.returncode, ip.returncode) == (1, 1), (py.stderr, ip.stderr)
    for p in (py, ip):
        threads, rest = p.stdout.split("\n\n", 1)
        assert threads.startswith("Thread 0x"), p.stdout
        assert rest.startswith("Current thread 0x"), p.stdout
        assert rest.endswith(f'"{script}", line 7 in <module>\nbefore\n'), p.stdout
        assert p.stderr.startswith("Timeout (0:00:00.100000)!\nThread 0x"), p.stderr
    assert "line 10 in sleeper" in py.stderr


def test_enable_dumps_a_crash_in_the_interpreter(tmp_path):
    """enable() acts on the process: a segfault in the script's interpreter prints its
    traceback, as python does."""
    code = (
        "import faulthandler, signal, threading\nfaulthandler.enable()\n"
        "signal.pthread_kill(threading.get_ident(), signal.SIGSEGV)\n"
    )
    py, ip = python_and_interp(["-c", code])
    for p in (py, ip):
        assert p.returncode == -11, (p.returncode, p.stderr)
        assert p.stderr.startswith("Fatal Python error: Segmentation fault\n\n"), p.stderr
        assert 'File "<string>", line 3 in <module>' in p.stderr, p.stderr


def test_pytest_and_regrtest_run_isolated(tmp_path):
    write(
        tmp_path / "test_tiny.py",
        """
        import faulthandler
        def test_plugin_enabled_faulthandler():
            assert faulthandler.is_enabled()
    """,
    )
    # entry-point plugins stay out: the test extra's hypothesis has an extension module
    # that refuses isolated interpreters (interp check shows it); pytest's own plugins,
    # faulthandler's among them, load
    p = interp(
        "run",
        "-m",
        "pytest",
        "--result",
        "none",
        "--",
        "-q",
        "-p",
        "no:cacheprovider",
        "test_tiny.py",
        cwd=tmp_path,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed" in p.stdout
    if (
        importlib.util.find_spec("test.libregrtest") is None
        or importlib.util.find_spec("test.test_bisect") is None
    ):
        pytest.skip("CPython's own tests (Lib/test) are not installed")
    p = interp(
        "run", "-m", "test", "--result", "none", "--", "test_bisect", cwd=tmp_path, timeout=120
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Tests result: SUCCESS" in p.stdout, p.stdout
