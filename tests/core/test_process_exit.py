"""The process never dies: ending Python with interpreters alive, runs going on in threads,
waits blocked on channels, or lent memory still viewed exits cleanly on 3.12 and 3.13."""

import pytest
from helpers import run_python

SCENARIOS = {
    "interpreters left open": """
        import interpcli
        a = interpcli.create(); b = interpcli.create(isolated=False)
        a.run("x = 1").check()
        print("done")
    """,
    "busy loop in a daemon thread": """
        import threading, interpcli
        i = interpcli.create()
        threading.Thread(target=i.run, args=("while True:\\n    pass\\n",), daemon=True).start()
        while not i.is_running():
            threading.Event().wait(0.01)
        print("done")
    """,
    "blocked in recv in a daemon thread": """
        import threading, interpcli
        i = interpcli.create()
        r, s = interpcli.create_channel()
        threading.Thread(target=i.run, args=("channels.r.recv()",),
                         kwargs={"channels": {"r": r}}, daemon=True).start()
        while not i.is_running():
            threading.Event().wait(0.01)
        print("done")
    """,
    "threads left inside a subinterpreter": """
        import interpcli
        i = interpcli.create()
        i.run("import threading\\n"
              "threading.Thread(target=lambda: sum(range(10**6))).start()\\n").check()
        print("done")
    """,
    "memoryview onto a subinterpreter's memory": """
        import interpcli
        i = interpcli.create()
        r, s = interpcli.create_channel()
        i.run("channels.s.send_buffer_nowait(bytearray(1 << 20))", channels={"s": s}).check()
        view = r.recv()
        print("done")
    """,
    "a nameless spare that nobody took (cli.early's first)": """
        import sys
        from interpcli import _shutdown
        _shutdown.create_spare()
        assert "interpcli._spare" not in sys.modules
        print("done")
    """,
    "unreceived messages in channels": """
        import interpcli
        i = interpcli.create()
        r, s = interpcli.create_channel()
        i.run("channels.s.send_nowait(b'x' * 1000)\\n"
              "channels.s.send_buffer_nowait(bytearray(1000))\\n", channels={"s": s}).check()
        print("done")
    """,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_exit_is_clean(name):
    proc = run_python(SCENARIOS[name], timeout=60)
    assert "Fatal Python error" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"


def test_sys_exit_status_with_live_interpreters():
    proc = run_python("""
        import sys, interpcli
        i = interpcli.create()
        i.run("pass")
        sys.exit(3)
    """)
    assert proc.returncode == 3
    assert "Fatal Python error" not in proc.stderr


def test_script_exception_with_live_interpreters():
    proc = run_python("""
        import interpcli
        i = interpcli.create()
        raise RuntimeError("main failed")
    """)
    assert proc.returncode == 1
    assert "RuntimeError: main failed" in proc.stderr
    assert "Fatal Python error" not in proc.stderr


def test_run_that_ignores_interrupts_at_exit_does_not_crash():
    """...and the process leaves after INTERP_GRACE's default, the documented 1 s."""
    import os
    import time

    env = {k: v for k, v in os.environ.items() if k != "INTERP_GRACE"}
    t0 = time.monotonic()
    proc = run_python(
        """
        import threading, time, interpcli
        i = interpcli.create()
        threading.Thread(target=i.run, args=("import time\\ntime.sleep(60)\\n",),
                         daemon=True).start()
        while not i.is_running():
            threading.Event().wait(0.01)
        print("done", flush=True)
    """,
        env=env,
    )
    assert time.monotonic() - t0 < 8  # not 10 s
    assert "Fatal Python error" not in proc.stderr
    assert proc.stdout == "done\n"
    assert "did not stop at exit" in proc.stderr
    assert proc.returncode == 1


def test_a_daemon_threads_run_after_the_exit_shutdown_ended_its_interpreter():
    """At exit, a daemon thread asking for a run on an interpreter the shutdown already
    ended gets an interrupted result, not an exception printed while Python finalizes
    (which can be a "Fatal Python error" there)."""
    proc = run_python(
        """
        import threading, interpcli
        from interpcli import _shutdown
        i = interpcli.create()
        i.run("x = 1")
        go, box = threading.Event(), {}
        def later():
            go.wait()
            box["result"] = i.run("x = 2")
            box["done"] = True
        threading.Thread(target=later, daemon=True).start()
        _shutdown._end_all()            # what the exit does: every interpreter ended
        go.set()
        import time
        deadline = time.monotonic() + 10
        while "done" not in box and time.monotonic() < deadline:
            time.sleep(0.01)
        r = box["result"]
        print(r.completed, r.exc_type, r.exc_message)
    """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == ["False", "KeyboardInterrupt"], proc.stdout
    assert "Traceback" not in proc.stderr


def _ctrl_c_at_exit(code, grace, signals):
    """Start code, and once it printed "started", send SIGINT `signals` times, 0.3 s apart;
    (returncode, stderr, seconds from the first SIGINT to the end)."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    p = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "INTERP_GRACE": str(grace)},
    )
    try:
        assert p.stdout.readline() == "started\n"
        time.sleep(0.3)  # the main program ended: Python waits for threads
        t0 = time.monotonic()
        for _ in range(signals):
            p.send_signal(signal.SIGINT)
            time.sleep(0.3)
        _out, err = p.communicate(timeout=60)
        return p.returncode, err, time.monotonic() - t0
    finally:
        p.kill()
        p.wait()


# a run that ignores interrupts (in a sleep), in a non-daemon thread Python waits for at exit
SLEEPING_RUN_IN_A_THREAD = """
    import threading, interpcli
    i = interpcli.create()
    threading.Thread(target=i.run, args=("import time\\ntime.sleep(30)\\n",)).start()
    while not i.is_running():
        threading.Event().wait(0.01)
    print("started", flush=True)
"""


def test_ctrl_c_while_python_waits_for_threads_exits_by_sigint_when_a_run_is_stuck():
    # as `python` itself: a Ctrl-C then ends the process (status 0 or by SIGINT), never 1
    rc, err, _seconds = _ctrl_c_at_exit(SLEEPING_RUN_IN_A_THREAD, grace=0.5, signals=1)
    assert "Fatal Python error" not in err
    assert "did not stop at exit" in err
    assert rc == -2, (rc, err)


def test_a_second_ctrl_c_cuts_the_exit_grace_short():
    rc, err, seconds = _ctrl_c_at_exit(SLEEPING_RUN_IN_A_THREAD, grace=60, signals=2)
    assert "Fatal Python error" not in err
    assert "did not stop at exit" in err
    assert rc == -2, (rc, err)
    assert seconds < 20  # not the 60 s of grace, nor the 30 s of the sleep


def test_ctrl_c_in_the_exit_grace_lets_runs_that_stop_end_cleanly():
    # the run stops on the interrupt at once: its interpreter ends, nothing is left
    rc, err, seconds = _ctrl_c_at_exit(
        """
        import threading, interpcli
        i = interpcli.create()
        threading.Thread(target=i.run, args=("while True:\\n    pass\\n",)).start()
        while not i.is_running():
            threading.Event().wait(0.01)
        print("started", flush=True)
    """,
        grace=60,
        signals=1,
    )
    assert "Fatal Python error" not in err
    assert "did not stop at exit" not in err
    assert rc in (0, -2), (rc, err)
    assert seconds < 20
