"""A run's thread is threading's main thread in the interpreter (whatever OS thread runs
it, run after run), the close too; the main interpreter's own main thread is left alone.
The presets: daemon threads and os.exec*() unless strict; os.fork() never."""

import threading

import pytest
from helpers import run_python

import interpcli

pytestmark = pytest.mark.timeout(120)

WHO = (
    "import threading as t\n"
    "me = t.current_thread()\n"
    "print(me.name, me is t.main_thread(), me.daemon, t.main_thread().is_alive(),\n"
    "      sorted(x.name for x in t.enumerate()))\n"
)


def test_every_run_is_on_the_main_thread_from_any_os_thread():
    """Runs from the main thread and from other threads, a thread of the interpreter
    living across them, then the close: no dummy thread, nothing printed by the end
    (3.13.0 printed "Exception ignored in _DeleteDummyThreadOnDel.__del__")."""
    p = run_python(
        """
        import threading, interpcli
        WHO = WHO_SOURCE
        for isolated in (True, False):
            interp = interpcli.create(isolated=isolated)
            def run(src):
                print(interp.run(WHO if src is None else src, capture_output=True).stdout,
                      end="", flush=True)
            run(None)
            run("import threading, time\\n"
                "ev = threading.Event()\\n"
                "def bg():\\n"
                "    ev.wait()\\n"
                "    print('bg', threading.main_thread().name,\\n"
                "          threading.main_thread().is_alive(), flush=True)\\n"
                "th = threading.Thread(target=bg, name='bg')\\n"
                "th.start()\\n")
            for src in (None, "ev.set(); th.join()", None):
                t = threading.Thread(target=run, args=(src,))
                t.start()
                t.join()
            interp.close()
    """.replace("WHO_SOURCE", repr(WHO))
    )
    assert p.returncode == 0 and p.stderr == "", p.stderr
    one = [
        "MainThread True False True ['MainThread']",
        "MainThread True False True ['MainThread', 'bg']",
        "bg MainThread True",
        "MainThread True False True ['MainThread']",
    ]
    assert p.stdout.splitlines() == one * 2


def test_main_interpreter_keeps_its_own_main_thread():
    out = []
    t = threading.Thread(
        target=lambda: out.append(
            interpcli.get_main().run(
                "import threading\n"
                "assert threading.current_thread() is not threading.main_thread()\n"
            )
        )
    )
    t.start()
    t.join()
    assert out[0].completed, out[0].traceback
    assert threading.main_thread().ident == threading.get_ident()


DAEMON = (
    "import threading, time\n"
    "threading.Thread(target=time.sleep, args=(0.05,), daemon=True).start()\n"
)
EXEC = "import os\nos.execv('/bin/true', ['true'])\n"  # refused before it replaces us
FORK = "import os\nos.fork()\n"


@pytest.mark.parametrize("isolated", [True, False])
@pytest.mark.parametrize("strict", [None, True, False])
def test_presets(isolated, strict):
    strict_now = isolated if strict is None else strict
    interp = interpcli.create(isolated=isolated, strict=strict)
    try:
        daemon = interp.run(DAEMON)
        assert daemon.completed != strict_now, daemon.exc_message
        if strict_now:
            assert daemon.exc_message == "daemon threads are disabled in this (sub)interpreter"
            exec_ = interp.run(EXEC)
            assert exec_.exc_message == "exec not supported for isolated subinterpreters"
        fork = interp.run(FORK)
        assert fork.exc_message == "fork not supported for isolated subinterpreters"
        sub = interp.run(
            "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'pass'], check=True)\n"
        )
        assert sub.completed, sub.traceback
    finally:
        interp.close()
