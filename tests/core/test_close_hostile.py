"""What a script can do while its interpreter closes: start threads from atexit callbacks,
from threading's exit callbacks, from finalizers and weakref callbacks of objects the
close releases (a lent buffer's owner), daemon or not, raw _thread ones, in isolated and
shared-GIL interpreters. The close runs those steps before ending the interpreter and
waits for the threads (or refuses), never aborts ("Py_EndInterpreter: not the last
thread"). And creation under an address-space limit raises MemoryError, never aborts.
Every scenario runs in a child process: an abort must not end the test run."""

import pytest
from helpers import interp as run_interp
from helpers import run_python, write

# Each scenario's source starts threads at close that send b"ran" on channels.done once
# they have finished their work (0.05 s): the close returning means they were waited for.
WORK = """
import threading, _thread, time, atexit, weakref
def work():
    time.sleep(0.05)
    channels.done.send_nowait(b"ran")
"""

SCENARIOS = {
    "atexit starts a thread": """
atexit.register(lambda: threading.Thread(target=work).start())
""",
    "atexit starts a _thread thread": """
atexit.register(lambda: _thread.start_new_thread(work, ()))
""",
    "a thread started at exit registers an atexit callback that starts one": """
def later():
    time.sleep(0.02)
    atexit.register(lambda: threading.Thread(target=work).start())
atexit.register(lambda: threading.Thread(target=later).start())
""",
    "threading._register_atexit starts a thread": """
threading._register_atexit(lambda: threading.Thread(target=work).start())
""",
    "a thread started at exit starts a thread": """
atexit.register(lambda: threading.Thread(
    target=lambda: (time.sleep(0.02), threading.Thread(target=work).start())).start())
""",
    "a lent buffer's owner starts a thread in __del__": """
class Lent:
    def __init__(self):
        self.mem = bytearray(b"x" * 16)
    def __buffer__(self, flags):
        return memoryview(self.mem)
    def __release_buffer__(self, view):
        pass
    def __del__(self):
        threading.Thread(target=work).start()
channels.data.send_buffer_nowait(Lent())
""",
    "a lent buffer's owner starts a _thread thread in __del__": """
class Lent:
    def __init__(self):
        self.mem = bytearray(b"y" * 16)
    def __buffer__(self, flags):
        return memoryview(self.mem)
    def __release_buffer__(self, view):
        pass
    def __del__(self):
        _thread.start_new_thread(work, ())
channels.data.send_buffer_nowait(Lent())
""",
    "a weakref callback on a lent buffer's owner starts a thread": """
class Lent:
    def __init__(self):
        self.mem = bytearray(b"z" * 16)
    def __buffer__(self, flags):
        return memoryview(self.mem)
    def __release_buffer__(self, view):
        pass
owner = Lent()
_ref = weakref.ref(owner, lambda r: threading.Thread(target=work).start())
channels.data.send_buffer_nowait(owner)
del owner
""",
}

SHARED_ONLY = {
    "atexit starts a daemon thread": """
atexit.register(lambda: threading.Thread(target=work, daemon=True).start())
""",
}

CHILD = """
import sys, interpcli
scenarios, isolated = {scenarios!r}, {isolated!r}
for name, source in scenarios.items():
    interp = interpcli.create(isolated=isolated)
    data, done = interpcli.channels.create_duplex(), interpcli.channels.create_duplex()
    interp.run(source, channels={{"data": data, "done": done}}).check()
    interp.close()
    ran = done.recv_nowait(None)
    print(f"{{name}}: closed, thread {{ran.decode() if ran else 'did not run'}}", flush=True)
    if "lent" in name:      # what stayed queued reaches the receiver, as a copy
        assert len(bytes(data.recv_nowait())) == 16
print("all closed")
"""


@pytest.mark.parametrize("isolated", [True, False], ids=["isolated", "shared-gil"])
def test_threads_started_while_closing_are_waited_for(isolated):
    scenarios = {name: WORK + src for name, src in SCENARIOS.items()}
    if not isolated:
        scenarios.update({name: WORK + src for name, src in SHARED_ONLY.items()})
    p = run_python(CHILD.format(scenarios=scenarios, isolated=isolated), timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Fatal Python error" not in p.stderr
    for name in scenarios:
        assert f"{name}: closed, thread ran" in p.stdout, p.stdout + p.stderr
    assert "all closed" in p.stdout


LONG_THREAD_AT_EXIT = """
import atexit, threading, time
def wait():
    while channels.stop.recv_nowait(None) is None:
        time.sleep(0.01)
atexit.register(lambda: threading.Thread(target=wait).start())
"""


def test_a_thread_started_at_close_that_outlives_the_timeout_refuses_the_close():
    p = run_python(f"""
        import interpcli, time
        for isolated in (True, False):
            interp = interpcli.create(isolated=isolated)
            stop = interpcli.channels.create_duplex()
            interp.run({LONG_THREAD_AT_EXIT!r}, channels={{"stop": stop}}).check()
            try:
                interp.close(timeout=0.3)
            except interpcli.InterpreterBusyError as exc:
                print("refused:", "thread(s) running" in str(exc), flush=True)
            assert interp.is_alive()
            stop.send_nowait(b"stop")
            interp.close()
            print("closed", not interp.is_alive(), flush=True)
    """)
    assert p.returncode == 0, p.stderr
    assert "Fatal Python error" not in p.stderr
    assert p.stdout.split() == ["refused:", "True", "closed", "True"] * 2


AGAIN_AND_AGAIN = """
import atexit, threading, time
def again():
    def later():
        time.sleep(0.01)
        atexit.register(again)      # from a thread: the close's next round runs it
    threading.Thread(target=later).start()
atexit.register(again)
"""


FAKE_ATEXIT = """
import atexit
atexit._ncallbacks = lambda: 1
atexit._run_exitfuncs = lambda: None
"""


def test_atexit_callbacks_that_keep_registering_callbacks_end_without_a_hang():
    p = run_python(
        f"""
        import interpcli, time
        for isolated in (True, False):
            interp = interpcli.create(isolated=isolated)
            interp.run({AGAIN_AND_AGAIN!r}).check()
            t0 = time.monotonic()
            interp.close()
            print("closed", time.monotonic() - t0 < 8, flush=True)
        # atexit's own functions replaced: the close does not spin on them
        interp = interpcli.create()
        interp.run({FAKE_ATEXIT!r}).check()
        interp.close()
        print("closed", True, flush=True)
    """,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["closed", "True"] * 3
    assert "Fatal Python error" not in p.stderr


@pytest.mark.parametrize("shared", [False, True], ids=["isolated", "shared-gil"])
def test_interp_run_waits_for_threads_its_atexit_callbacks_and_finalizers_start(tmp_path, shared):
    script = write(
        tmp_path / "exit_threads.py",
        """
        import atexit, sys, threading, time, _thread

        def work(what):
            time.sleep(0.05)
            sys.stdout.write(f"{what} done\\n")     # one write: threads run side by side
            sys.stdout.flush()

        atexit.register(lambda: threading.Thread(target=work, args=("atexit",)).start())
        atexit.register(lambda: _thread.start_new_thread(work, ("raw",)))

        class Lent:
            def __init__(self):
                self.mem = bytearray(8)
            def __buffer__(self, flags):
                return memoryview(self.mem)
            def __release_buffer__(self, view):
                pass
            def __del__(self):
                threading.Thread(target=work, args=("finalizer",)).start()

        channels.a.send_buffer_nowait(Lent())
        print("script done", flush=True)
    """,
    )
    args = ["run", script, "--channels", "a", "--result", "none"]
    p = run_interp(*args, *(["--shared-gil"] if shared else []), timeout=60)
    assert "Fatal Python error" not in p.stderr
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "script done"
    assert sorted(lines[1:]) == ["atexit done", "finalizer done", "raw done"]


def test_creation_without_room_raises_memory_error():
    # an address-space limit just above what the process uses: creations fail with
    # MemoryError (or an InterpreterError naming CPython's reason), several times over,
    # and the process goes on; raised back, creation works again
    p = run_python(
        """
        import resource, interpcli
        from interpcli.interpreter import create_fresh
        create_fresh().close()
        create_fresh(isolated=False).close()

        def vm():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize"):
                        return int(line.split()[1]) * 1024

        outcomes = []
        for extra_mb in (0.5, 2, 6, 12):
            kept = []
            resource.setrlimit(resource.RLIMIT_AS, (vm() + int(extra_mb * 2**20),
                                                    resource.RLIM_INFINITY))
            for k in range(4):
                try:
                    kept.append(create_fresh(isolated=k % 2 == 0))
                    outcomes.append("ok")
                except MemoryError:
                    outcomes.append("MemoryError")
                except interpcli.InterpreterError as exc:
                    outcomes.append("InterpreterError")
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,
                                                    resource.RLIM_INFINITY))
            for i in kept:
                i.close()
        i = create_fresh()
        print(i.run("print(6 * 7)", capture_output=True).stdout.strip())
        i.close()
        print(" ".join(outcomes))
    """,
        timeout=120,
    )
    assert "Fatal Python error" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr
    answer, outcomes = p.stdout.strip().split("\n")
    assert answer == "42"
    assert outcomes.split()[0] == "MemoryError"
    assert outcomes.count("MemoryError") >= 4, outcomes
