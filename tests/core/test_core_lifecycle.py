"""Lifecycle holes of the core (issue 9, items 4-10), each reproduced first. Tests that
could crash the process run in a fresh one."""

import re
import threading
import time
from pathlib import Path

import pytest
from helpers import run_python

import interpcli
from interpcli import _lowlevel

SRC = Path(interpcli.__file__).parent / "_native" / "src"


# ---- 4: threads that are not non-daemon threading threads --------------------------------

RAW_THREAD = """
import _thread, time
def spin():
    while not channels.stop.recv_nowait(None):
        time.sleep(0.005)
    channels.done.send_nowait(b"gone")
_thread.start_new_thread(spin, ())
"""


@pytest.mark.parametrize("isolated", [True, False])
def test_close_refuses_while_a_raw_or_daemon_thread_runs(isolated):
    interp = interpcli.create(isolated=isolated)
    stop, done = interpcli.channels.create_duplex(), interpcli.channels.create_duplex()
    source = (
        RAW_THREAD
        if isolated
        else RAW_THREAD.replace(
            "_thread.start_new_thread(spin, ())",
            "import threading; threading.Thread(target=spin, daemon=True).start()",
        )
    )
    interp.run(source, channels={"stop": stop, "done": done}).check()
    with pytest.raises(interpcli.InterpreterBusyError, match=r"1 thread\(s\) running"):
        interp.close(timeout=0.2)
    assert interp.is_alive()
    assert interp.run("x = 1").completed  # still usable after the refusal
    stop.send_nowait(b"stop")
    assert done.recv(timeout=10) == b"gone"
    interp.close()  # waits for the thread that is ending
    assert not interp.is_alive()


def test_exit_with_a_raw_thread_left_never_aborts(python):
    p = python(
        """
        import interpcli
        interp = interpcli.create()
        interp.run("import _thread, time\\n"
                   "def forever():\\n"
                   "    while True:\\n"
                   "        time.sleep(0.01)\\n"
                   "_thread.start_new_thread(forever, ())\\n").check()
        print("ok", flush=True)
    """,
        env={"INTERP_GRACE": "0.5", **__import__("os").environ},
    )
    assert "Fatal Python error" not in p.stderr
    assert p.stdout.strip() == "ok"
    assert p.returncode == 1 and "did not stop at exit" in p.stderr, p.stderr


def test_raw_thread_blocked_in_recv_is_woken_by_close():
    interp = interpcli.create()
    ready, feed = interpcli.channels.create_duplex(), interpcli.channels.create_duplex()
    interp.run(
        """
import _thread
def wait():
    try:
        channels.feed.recv()
    except EOFError as exc:
        pass
ready = channels.ready
_thread.start_new_thread(wait, ())
ready.send_nowait(b"started")
""",
        channels={"ready": ready, "feed": feed},
    ).check()
    assert ready.recv(timeout=10) == b"started"
    interp.close()  # woken, the thread ends and close waits for it; no hang, no crash


def test_close_waits_for_a_shared_gil_interpreters_short_daemon_thread():
    # (on 3.13+ threads started by a run there inherit daemon=True from the run's thread)
    interp = interpcli.create(isolated=False)
    interp.run(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(0.2,), daemon=True).start()\n"
    ).check()
    interp.close()
    assert not interp.is_alive()


def test_close_waits_for_a_raw_thread_that_ends_within_its_timeout():
    interp = interpcli.create()
    interp.run("import _thread, time\n_thread.start_new_thread(time.sleep, (0.3,))\n").check()
    t0 = time.monotonic()
    interp.close(timeout=10)
    assert 0.1 < time.monotonic() - t0 < 5
    assert not interp.is_alive()


def test_close_right_after_many_short_threads_is_never_refused():
    # a thread out of threading's books, or joined, still holds its thread state while it
    # returns through C (on 3.12 join() even returns before): close waits for that too
    for _ in range(30):
        interp = interpcli.create()
        interp.run(
            "import threading\nfor _ in range(8):\n    threading.Thread(target=int).start()\n"
        ).check()
        interp.close()


# ---- 5: close while a thread inside waits on a channel -----------------------------------


def test_close_wakes_a_threading_thread_waiting_on_a_channel():
    interp = interpcli.create()
    feed, out = interpcli.channels.create_duplex(), interpcli.channels.create_duplex()
    interp.run(
        """
import threading
def consume():
    try:
        for msg in channels.feed:       # ends when the interpreter is closed
            pass
    finally:
        channels.out.send_nowait(b"ended")
threading.Thread(target=consume).start()
""",
        channels={"feed": feed, "out": out},
    ).check()
    t0 = time.monotonic()
    seen = []
    watcher = threading.Thread(target=lambda: seen.append([i.id for i in interpcli.list_all()]))
    interp.close()
    watcher.start()
    watcher.join()
    assert time.monotonic() - t0 < 10
    assert out.recv(timeout=10) == b"ended"
    assert interp.id not in seen[0]


def test_close_waits_for_threading_threads_and_runs_their_exit_callbacks():
    interp = interpcli.create()
    out = interpcli.channels.create_duplex()
    interp.run(
        """
import threading, time
done = False
def notify():
    global done
    done = True
threading._register_atexit(notify)
def task():
    while not done:
        time.sleep(0.01)
    channels.out.send_nowait(b"finished")
threading.Thread(target=task).start()
""",
        channels={"out": out},
    ).check()
    interp.close()
    assert out.recv_nowait() == b"finished"


def test_close_gives_up_on_a_busy_thread_after_its_timeout():
    interp = interpcli.create()
    stop = interpcli.channels.create_duplex()
    interp.run(
        """
import threading
def busy():
    while not channels.stop.recv_nowait(None):
        pass
threading.Thread(target=busy).start()
""",
        channels={"stop": stop},
    ).check()
    t0 = time.monotonic()
    with pytest.raises(interpcli.InterpreterBusyError):
        interp.close(timeout=0.3)
    assert time.monotonic() - t0 < 5
    assert interp in interpcli.list_all()
    stop.send_nowait(b"x")
    interp.close()  # waits for the thread that is ending


# ---- 6: an interrupt reaches its own run and nothing else ---------------------------------


def test_a_late_cancel_does_not_reach_the_next_run():
    interp = interpcli.create()
    first = _lowlevel.Canceller(interp.id)
    assert interp._run("x = 1", canceller=first).completed
    second = _lowlevel.Canceller(interp.id)
    box = {}
    t = threading.Thread(
        target=lambda: box.setdefault(
            "r",
            interp._run(
                "import time\nend = time.monotonic() + 0.5\nwhile time.monotonic() < end: pass",
                canceller=second,
            ),
        )
    )
    t.start()
    while not interp.is_running():
        time.sleep(0.001)
    first.cancel()  # the first run is over: this reaches nothing
    t.join()
    assert box["r"].completed, box["r"].traceback
    interp.close()


def test_cancel_and_interrupt_reach_the_running_run():
    interp = interpcli.create()
    for stop in ("cancel", "interrupt"):
        canceller = _lowlevel.Canceller(interp.id)
        box = {}
        t = threading.Thread(
            target=lambda: box.setdefault("r", interp._run("while True: pass", canceller=canceller))
        )
        t.start()
        while not interp.is_running():
            time.sleep(0.001)
        if stop == "cancel":
            canceller.cancel()
        else:
            interp.interrupt()
        t.join(10)
        assert box["r"].exc_type == "KeyboardInterrupt"
    interp.close()


# ---- 7: runs in the main interpreter honour timeouts and interrupts -----------------------


def test_main_interpreter_run_times_out(python):
    p = python(
        """
        import interpcli
        r = interpcli.get_main().run("while True: pass", timeout=0.3)
        print(r.timed_out, r.exc_type)
    """,
        timeout=30,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "TimeoutError"]


# ---- 8: a channel whose send ends are all gone ends for its receivers ---------------------


def test_receivers_drain_then_see_closed_when_every_send_end_is_gone():
    recv, send = interpcli.create_channel()
    send.send_nowait(b"a")
    send.send_nowait(b"b")
    del send
    assert recv.recv(timeout=5) == b"a"
    assert list(recv) == [b"b"]
    with pytest.raises(interpcli.ChannelClosedError):
        recv.recv(timeout=5)


def test_blocked_receiver_wakes_when_the_last_send_end_goes():
    recv, send = interpcli.create_channel()
    box = {}

    def receive():
        try:
            recv.recv()
        except interpcli.ChannelClosedError as exc:
            box["exc"] = exc

    t = threading.Thread(target=receive)
    t.start()
    time.sleep(0.05)
    del send
    t.join(10)
    assert not t.is_alive() and "exc" in box


def test_channel_ends_when_the_interpreter_holding_its_send_end_closes():
    interp = interpcli.create()
    recv, send = interpcli.create_channel()
    interp.run("out = channels.out\nout.send_nowait(b'last words')", channels={"out": send}).check()
    del send  # the interpreter holds the only send end now
    interp.close()
    assert recv.recv(timeout=5) == b"last words"
    with pytest.raises(interpcli.ChannelClosedError):
        recv.recv(timeout=5)


def test_a_duplex_end_counts_as_a_sender():
    duplex = interpcli.channels.create_duplex()
    recv = interpcli._lowlevel.end(duplex.id, interpcli._lowlevel.RECV)
    assert recv.recv_nowait(None) is None and not recv.is_closed


# ---- 9: lent buffers when their interpreter ends ------------------------------------------


def test_releases_queued_for_an_ending_interpreter_are_done():
    interp = interpcli.create()
    data, events = interpcli.channels.create_duplex(), interpcli.channels.create_duplex()
    interp.run(
        """
class Lent:
    def __init__(self, n):
        self.mem = bytearray(b"x" * n)
    def __buffer__(self, flags):
        return memoryview(self.mem)
    def __release_buffer__(self, view):
        channels.events.send_nowait(b"released")
for n in range(1, 6):
    channels.data.send_buffer_nowait(Lent(n))
""",
        channels={"data": data, "events": events},
    ).check()
    views = [data.recv(timeout=5) for _ in range(5)]
    assert [len(v) for v in views] == [1, 2, 3, 4, 5]
    for v in views:
        v.release()  # queued: only the owner's GIL may release them
    del views
    interp.close()  # ...and the close does, before the end
    assert [events.recv_nowait(None) for _ in range(6)] == [b"released"] * 5 + [None]


# ---- 10: portability ----------------------------------------------------------------------


def test_core_uses_no_private_c_api():
    private = re.compile(r"\b_Py[A-Za-z]\w*")
    for path in SRC.glob("*.[ch]"):
        found = private.findall(path.read_text())
        assert not found, f"{path.name} uses private C API: {sorted(set(found))}"


def test_python_h_comes_before_system_headers():
    for path in SRC.glob("*.c"):
        includes = re.findall(r'^#include [<"]([^>"]+)[>"]', path.read_text(), re.M)
        assert includes[0] == "common.h", f"{path.name} includes {includes[0]} first"
    common = re.findall(r'^#include [<"]([^>"]+)[>"]', (SRC / "common.h").read_text(), re.M)
    assert common[0] == "Python.h"


def test_free_threaded_builds_are_refused_at_install(python):
    setup_py = Path(interpcli.__file__).parent.parent / "setup.py"
    if not setup_py.exists():
        pytest.skip("not a source checkout")
    p = python(f"""
        import sys, sysconfig
        real = sysconfig.get_config_var
        sysconfig.get_config_var = lambda name: 1 if name == "Py_GIL_DISABLED" else real(name)
        sys.argv = ["setup.py", "--version"]
        exec(open({str(setup_py)!r}).read())
    """)
    assert p.returncode == 1
    assert "free-threaded Python builds (3.13t, 3.14t) are not supported" in p.stderr
    assert "Traceback" not in p.stderr


def test_a_malformed_grace_never_breaks_create(monkeypatch):
    from interpcli.interpreter import grace

    for bad in ("abc", "-1", "nan", "inf"):
        monkeypatch.setenv("INTERP_GRACE", bad)
        assert grace(10.0) == 10.0
        interpcli.create().close()
    monkeypatch.setenv("INTERP_GRACE", "2.5")
    assert grace(10.0) == 2.5


def test_closing_from_the_thread_that_imported_threading_there_is_quiet():
    """3.12: threading's main thread in an interpreter is the OS thread that first imported
    it, during a run whose thread state is gone; ending the interpreter from that thread
    made threading._shutdown fail an assertion ("Exception ignored ... AssertionError")."""
    r = run_python("""
        import threading, interpcli
        def work():
            interp = interpcli.create()
            interp.run("import threading")
            interp.close()
        t = threading.Thread(target=work)
        t.start()
        t.join()
        print("end")
    """)
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "end", "")
