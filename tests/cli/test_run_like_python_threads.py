"""`interp run` is `python` for threads: the script runs on threading's main thread, its
threads are not daemon unless asked, daemon threads are allowed and left running at exit
as python leaves them, a ThreadPoolExecutor that was never shut down stops at exit,
subprocess and os.exec*() work; os.fork() is refused with a clear error (a child forked
from a subinterpreter dies in CPython). Each program runs under `python` and under
`interp run` (own GIL and --shared-gil), compared by exit status, stdout and stderr."""

from __future__ import annotations

import pytest
from helpers import assert_same_as_python, interp, python_and_interp, write

pytestmark = pytest.mark.timeout(120)

MODES = [pytest.param((), id="own-gil"), pytest.param(("--shared-gil",), id="shared-gil")]

THREADS = """
import asyncio, atexit, logging, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

me = threading.current_thread()
print(me.name, me is threading.main_thread(), me.daemon, me.is_alive(),
      me.ident == threading.get_ident(), me.native_id == threading.get_native_id())
logging.basicConfig(format="%(threadName)s %(levelname)s %(message)s", stream=sys.stdout)
logging.warning("logged")
try:
    loop = asyncio.get_event_loop()     # 3.12-3.13: a DeprecationWarning, then a loop
    print("loop", type(loop).__name__)
    loop.close()
except RuntimeError as exc:             # 3.14+: no current event loop
    print("RuntimeError:", exc)
print(asyncio.run(asyncio.sleep(0, "asyncio.run")))

def child():
    t = threading.current_thread()
    print("child", t.daemon, threading.main_thread().name, threading.main_thread().is_alive())
worker = threading.Thread(target=child, name="worker")
worker.start()
worker.join()
print(sorted(t.name for t in threading.enumerate()))

class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"served " + self.path.encode())
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)       # daemon request threads
threading.Thread(target=server.serve_forever, daemon=True).start()
with urlopen(f"http://127.0.0.1:{server.server_address[1]}/x", timeout=30) as r:
    print(r.status, r.read().decode())

pool = ThreadPoolExecutor(2)            # never shut down: its workers stop at exit
print(pool.submit(pow, 2, 10).result())
print(subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True,
                     text=True, check=True).stdout.strip())

def forever():
    while True:
        time.sleep(0.05)
threading.Thread(target=forever, daemon=True).start()   # left running at exit
__import__("_thread").start_new_thread(forever, ())      # so is a bare _thread one
def waiter():
    threading.main_thread().join()      # until the main thread's exit sequence
    print("main ended", threading.main_thread().is_alive())
threading.Thread(target=waiter).start()
atexit.register(print, "atexit ran")
print("end")
"""


@pytest.mark.parametrize("mode", MODES)
def test_threads_like_python(tmp_path, mode):
    script = write(tmp_path / "threads.py", THREADS)
    py, ip = python_and_interp([script], interp_args=mode, cwd=tmp_path)
    assert py.returncode == 0 and "MainThread True False True True True" in py.stdout, py
    assert "MainThread WARNING logged" in py.stdout
    assert py.stdout.endswith("end\nmain ended False\natexit ran\n"), py.stdout
    assert_same_as_python(py, ip)


EXEC = """
import os, sys
print("before exec", flush=True)
os.execv(sys.executable, [sys.executable, "-c", "print('after exec')"])
"""


@pytest.mark.parametrize("mode", MODES)
def test_exec_like_python(mode):
    py, ip = python_and_interp(["-c", EXEC], interp_args=mode)
    assert (py.returncode, py.stdout) == (0, "before exec\nafter exec\n"), py
    assert_same_as_python(py, ip)


FORK = """
import os, threading
print("main", threading.current_thread().name, flush=True)
pid = os.fork()
if pid == 0:
    print("child", flush=True)
    os._exit(7)
print("parent", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


@pytest.mark.parametrize("mode", MODES)
def test_fork_is_refused_with_a_clear_error(mode):
    """A child forked from a subinterpreter dies in CPython 3.12-3.15 ("Fatal Python
    error"), whatever the GIL: the fork is refused in the parent, with a hint."""
    p = interp("run", "-c", FORK, *mode, "--result", "none")
    assert p.returncode == 1, p
    assert p.stdout == "main MainThread\n"
    assert "Fatal Python error" not in p.stderr
    lines = p.stderr.splitlines()
    assert lines[-2] == "RuntimeError: fork not supported for isolated subinterpreters"
    assert lines[-1].startswith("interp: hint: -c "), p.stderr
    assert "forks, and CPython cannot fork from a subinterpreter" in lines[-1]
    assert "'spawn'" in lines[-1]


STRICT = """
import os, subprocess, sys, threading
print(subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True).returncode)
for attempt in (lambda: threading.Thread(target=int, daemon=True).start(),
                lambda: os.execv(sys.executable, [sys.executable, "-c", "pass"])):
    try:
        attempt()
    except RuntimeError as exc:
        print(exc)
threading.Thread(target=int, daemon=True)
"""


@pytest.mark.parametrize("mode", MODES)
def test_strict_refuses_daemon_threads_and_exec(mode, tmp_path):
    # quick path (-c) and click's path (the program from stdin) read --strict alike
    forms = [(("-c", STRICT), None)] + ([(("-",), STRICT)] if not mode else [])
    for args, stdin in forms:
        p = interp("run", *args, "--strict", *mode, "--result", "none", input=stdin)
        assert p.returncode == 1, p
        assert p.stdout == (
            "0\ndaemon threads are disabled in this (sub)interpreter\n"
            "exec not supported for isolated subinterpreters\n"
        )
        assert p.stderr.splitlines()[-1].endswith(
            "starts a daemon thread, which --strict refuses"
        ), p.stderr


NESTED = r"""
import os, textwrap, threading, _testcapi
r, w = os.pipe()
code = textwrap.dedent('''
    import os, threading, time
    me = threading.current_thread()
    print("nested", me.name, me.daemon, flush=True)
    def f():
        time.sleep(0.05)        # still running when the interpreter ends
        os.write(%d, b"x")
    t = threading.Thread(target=f)
    print("child daemon", t.daemon, flush=True)
    t.start()
''' % w)
print(_testcapi.run_in_subinterp(code), os.read(r, 1))
"""


def test_an_interpreter_the_script_makes_joins_its_threads_as_in_python():
    """An interpreter made by the script itself (not by interp) on its main thread: its
    threads are not daemon and are joined when it ends. Without that, on 3.13,
    Py_EndInterpreter aborts the process ("not the last thread")."""
    pytest.importorskip("_testcapi")
    py, ip = python_and_interp(["-c", NESTED], interp_args=("--shared-gil",))
    assert (py.returncode, py.stdout) == (
        0,
        "nested MainThread False\nchild daemon False\n0 b'x'\n",
    ), py
    assert_same_as_python(py, ip)
