"""Signals in `interp run` scripts, as under python: handlers installed with signal.signal
(and asyncio's add_signal_handler) run on the script's main thread, Ctrl-C interrupts the
blocking calls of that thread, the exit status is the script's, and a Ctrl-C ends `interp`
within the grace when the script cannot take it (its main thread stuck in a C call)."""

import signal
import subprocess
import sys
import time

import pytest
from helpers import (
    INTERP,
    assert_same_as_python,
    drive,
    interp_argv,
    python_and_interp,
    python_argv,
    read_line,
    start,
    write,
)

HANDLERS = """\
import _thread, os, signal, time
main = _thread.get_ident()
got = []
def handler(signum, frame):
    got.append((signum, _thread.get_ident() == main, frame is not None))
# (int(): 3.12 prints these enum members differently in a subinterpreter)
print(int(signal.getsignal(signal.SIGUSR1)), signal.getsignal(signal.SIGINT).__name__,
      int(signal.getsignal(signal.SIGPIPE)))
assert signal.signal(signal.SIGUSR1, handler) == signal.SIG_DFL
assert signal.getsignal(signal.SIGUSR1) is handler
signal.signal(signal.SIGTERM, handler)
signal.signal(signal.SIGUSR2, signal.SIG_IGN)
print("ready", flush=True)
while len(got) < 1:             # (a handler that returns lets the sleep go on, PEP 475)
    time.sleep(0.02)
print("first", got, flush=True)
while len(got) < 2:
    time.sleep(0.02)
print("second", got)
os.kill(os.getpid(), signal.SIGUSR2)    # ignored
signal.raise_signal(signal.SIGUSR1)     # its handler has run when this returns
print("raised", got[-1])
for bad in ((99, signal.SIG_IGN), (signal.SIGKILL, signal.SIG_IGN), (signal.SIGUSR1, 5)):
    try:
        signal.signal(*bad)
    except (ValueError, OSError, TypeError) as exc:
        print(type(exc).__name__, exc)
done = _thread.allocate_lock()
done.acquire()
def in_a_thread():
    try:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    except ValueError as exc:
        print("thread:", exc)
    done.release()
_thread.start_new_thread(in_a_thread, ())
done.acquire()
print(signal.signal(signal.SIGUSR1, signal.SIG_DFL) is handler,
      int(signal.getsignal(signal.SIGUSR1)))
"""


def test_signal_handlers_run_on_the_main_thread_as_in_python(tmp_path):
    script = write(tmp_path / "handlers.py", HANDLERS)
    steps = [
        ("0 default_int_handler 1", None),
        ("ready", signal.SIGUSR1),
        ("first", signal.SIGTERM),
        ("second", None),
    ]
    py = drive(python_argv(script), steps)
    ip = drive(interp_argv(script), steps)
    assert (ip[0], ip[1]) == (py[0], py[1]), (py, ip)
    assert py[0] == 0 and "[(10, True, True), (15, True, True)]" in py[1], py
    assert "thread: signal only works in main thread of the main interpreter" in ip[1]
    assert ip[2] == py[2] == ""
    assert max(ip[3]) < 1.0, ip[3]  # signal to handler, measured: a few ms


ASYNCIO = """\
import asyncio, os, signal
async def main():
    loop = asyncio.get_running_loop()
    got = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, lambda: (print("handler"), got.set()))
    os.kill(os.getpid(), signal.SIGUSR1)
    await asyncio.wait_for(got.wait(), 10)
    loop.remove_signal_handler(signal.SIGUSR1)
    print("removed", int(signal.getsignal(signal.SIGUSR1)))
asyncio.run(main())
"""


def test_asyncio_add_signal_handler(tmp_path):
    py, ip = python_and_interp([write(tmp_path / "aio.py", ASYNCIO)])
    assert_same_as_python(py, ip, stderr=False)
    assert ip.stdout == "handler\nremoved 0\n"


CTRL_C = """\
import os, select, sys, threading, time
r, w = os.pipe()
for what in ("sleep", "select", "read", "loop", "last"):
    try:
        print(what, flush=True)
        if what == "select":
            select.select([r], [], [], 30)
        elif what == "read":
            os.read(r, 10)
        elif what == "loop":
            while True:
                pass
        else:
            time.sleep(30)
    except KeyboardInterrupt:
        if what == "last" and sys.argv[1] == "raise":
            raise
        print("caught", what)
    finally:
        print("finally", what, flush=True)
print("end")
"""


@pytest.mark.parametrize("last", ["exit", "raise"])
def test_ctrl_c_interrupts_blocking_calls_as_in_python(tmp_path, last):
    """Each Ctrl-C raises KeyboardInterrupt in the call the main thread waits in; the
    script's except and finally run; the status is python's (130 only when it escapes)."""
    script = write(tmp_path / "ctrl_c.py", CTRL_C)
    steps = [
        step
        for what in ("sleep", "select", "read", "loop")
        for step in ((what, signal.SIGINT), (f"caught {what}", None), (f"finally {what}", None))
    ]
    steps.append(("last", signal.SIGINT))
    # (the delay: the main thread is in the call, not still printing its name)
    py = drive(python_argv(script, last), steps, delay=0.1)
    ip = drive(interp_argv(script, last), steps, delay=0.1)
    assert ip[1] == py[1], (py, ip)
    expected = "finally last\n" + ("end\n" if last == "exit" else "")
    assert ip[1].endswith(expected), ip
    assert py[0] == (0 if last == "exit" else -signal.SIGINT)
    assert ip[0] == (0 if last == "exit" else 130), ip
    if last == "raise":
        assert ip[2].rstrip().endswith("KeyboardInterrupt"), ip[2]
    assert max(ip[3]) < 1.0, ip[3]  # Ctrl-C to the script's next line


def test_interrupt_main_in_a_script(tmp_path):
    code = (
        "import _thread, time\n"
        "try:\n"
        "    _thread.interrupt_main()\n"
        "    time.sleep(30)\n"
        "except KeyboardInterrupt:\n"
        "    print('caught')\n"
        "class Exit:\n"  # on the main thread, raised as interrupt_main returns
        "    def __enter__(self): pass\n"
        "    def __exit__(self, *exc):\n"
        "        print('exit', exc[0].__name__)\n"
        "        return True\n"
        "with Exit():\n"
        "    _thread.interrupt_main()\n"
    )
    py, ip = python_and_interp(["-c", code], timeout=20)
    assert_same_as_python(py, ip)
    assert ip.stdout == "caught\nexit KeyboardInterrupt\n"


STUCK = """\
import _thread, time
lock = _thread.allocate_lock()
lock.acquire()
_thread.start_new_thread(lock.acquire, ())     # a raw thread stuck for good
try:
    print("started", flush=True)
    time.sleep(60)              # cut short by Ctrl-C
finally:
    print("finally", flush=True)
"""


def test_ctrl_c_leaves_a_stuck_raw_thread_as_python_does(tmp_path):
    """python's exit does not wait for a _thread thread: the process leaves at once."""
    script = write(tmp_path / "stuck.py", STUCK)
    # (the Ctrl-C comes once the sleep has begun: python's own sleep is not cut short by
    # a signal that lands between its last check and the sleep, about 1 run in 200)
    py = drive(python_argv(script), [("started", signal.SIGINT)], delay=0.2)
    ip = drive(interp_argv(script), [("started", signal.SIGINT)], delay=0.2)
    assert (py[0], ip[0]) == (-signal.SIGINT, 130), (py, ip)
    assert ip[1] == py[1] == "started\nfinally\n"
    assert ip[2] == py[2], (py[2], ip[2])
    assert ip[3][0] < 2.0, ip[3]


STUCK_MAIN = """\
import signal
print("started", flush=True)
signal.sigwait({signal.SIGUSR2})    # a C call interp cannot cut short
"""


def test_ctrl_c_ends_interp_within_the_grace_when_the_script_cannot_take_it(tmp_path):
    script = write(tmp_path / "stuck.py", STUCK_MAIN)
    status, out, err, latency = drive(interp_argv(script), [("started", signal.SIGINT)])
    assert status == 130, err
    assert latency[0] < 3.0, latency
    assert out == "started\n"
    last = err.splitlines()[-1]
    assert last.startswith("interp: ") and "stuck.py did not stop when interrupted" in last, err
    assert "Fatal" not in err, err


def test_a_second_ctrl_c_ends_interp_at_once(tmp_path):
    """With a long grace, the wait for the script that cannot take the Ctrl-C goes on;
    another Ctrl-C ends it at once."""
    script = write(tmp_path / "stuck.py", STUCK_MAIN)
    p = start(interp_argv(script), env={"INTERP_GRACE": "60"})
    try:
        assert read_line(p) == b"started\n"
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert p.poll() is None, p.communicate()  # the grace is 60 s: still waiting
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        elapsed = time.monotonic() - t
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 130, err
    assert elapsed < 1.0, elapsed
    assert err.decode().splitlines()[-1].startswith("interp: interrupted again"), err


def test_replaced_waits_behave_as_the_builtins_they_replace(tmp_path):
    """A class that keeps select.select, time.sleep or os.read as an attribute calls it
    unbound, as it does the builtins (selectors.SelectSelector does so)."""
    script = write(
        tmp_path / "unbound.py",
        """\
        import os, select, selectors, time
        class A:
            _select, _sleep, _read = select.select, time.sleep, os.read
        a = A()
        r, w = os.pipe()
        os.write(w, b"xy")
        print(a._select([r], [], [], 0)[0] == [r], a._sleep(0), a._read(r, 1))
        s = selectors.SelectSelector()
        s.register(r, selectors.EVENT_READ)
        print(len(s.select(1)), time.sleep.__name__)
        """,
    )
    py, ip = python_and_interp([script], cwd=tmp_path)
    assert_same_as_python(py, ip)


PIDFD = r"""
import os, signal
fd = os.open(f"/proc/{os.getpid()}", os.O_DIRECTORY)
try:
    signal.pidfd_send_signal(fd, signal.SIGINT)
    print("returned")
except KeyboardInterrupt:
    print("KeyboardInterrupt at once")
got = []
signal.signal(signal.SIGUSR1, lambda signum, frame: got.append(signum))
signal.pidfd_send_signal(os.pidfd_open(os.getpid()), signal.SIGUSR1)
print("handled", got)
signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    signal.raise_signal(signal.SIGINT)      # python: raised on the main thread at once
    print("returned")
except KeyboardInterrupt:
    print("raise_signal: KeyboardInterrupt")
import subprocess, sys                      # a child gets SIGINT (not blocked), as python's
child = subprocess.run([sys.executable, "-c", "import os, signal, time\n"
                        "os.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)"],
                       capture_output=True, text=True)
print("child", child.returncode, child.stderr.splitlines()[-1:])
"""


@pytest.mark.skipif(not hasattr(signal, "pidfd_send_signal"), reason="Linux only")
def test_signals_sent_to_itself_and_to_a_child_as_in_python(tmp_path):
    """Sent to the process itself (its /proc directory or a pidfd), the handler has run
    (or KeyboardInterrupt is raised) when signal.pidfd_send_signal returns; so with
    raise_signal(SIGINT); a child process gets SIGINT as python's does."""
    py, ip = python_and_interp(["-c", PIDFD], timeout=20)
    assert py.stdout == (
        "KeyboardInterrupt at once\nhandled [10]\n"
        "raise_signal: KeyboardInterrupt\n"
        "child -2 ['KeyboardInterrupt']\n"
    ), py
    assert_same_as_python(py, ip)


MORE_WAITS = r"""
import os, select, selectors, socket, subprocess, sys, time
r, w = os.pipe()
p = select.poll()
p.register(r, select.POLLIN)
e = select.epoll()
e.register(r, select.EPOLLIN)
s = selectors.DefaultSelector()
s.register(r, selectors.EVENT_READ)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         stdin=subprocess.DEVNULL)
server = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(server.getsockname())
peer, _ = server.accept()
full = socket.create_server(("127.0.0.1", 0), backlog=0)
filler = socket.create_connection(full.getsockname())   # the backlog is full: the next
waits = {"connect": lambda: socket.socket().connect(full.getsockname()),  # connect waits
         "poll": lambda: p.poll(), "epoll": lambda: e.poll(), "selector": lambda: s.select(),
         "wait": child.wait, "accept": server.accept, "recv": lambda: client.recv(10),
         "recv_into": lambda: client.recv_into(bytearray(10)),
         "recvfrom": lambda: client.recvfrom(10),
         "sendall": lambda: client.sendall(b"x" * 20_000_000)}    # nobody reads
for what, wait in waits.items():
    try:
        print(what, flush=True)
        wait()
        print("returned", what)
    except KeyboardInterrupt:
        print("caught", what, flush=True)
child.kill()
child.wait()
print("end")
"""


def test_ctrl_c_interrupts_more_waits_as_in_python(tmp_path):
    """Ctrl-C raises KeyboardInterrupt on the main thread in select.poll and epoll objects,
    selectors, subprocess waits (os.waitpid) and blocking socket calls (connect, sendall in
    the middle of its data), as in python."""
    script = write(tmp_path / "more_waits.py", MORE_WAITS)
    names = [
        "connect",
        "poll",
        "epoll",
        "selector",
        "wait",
        "accept",
        "recv",
        "recv_into",
        "recvfrom",
        "sendall",
    ]
    steps = [step for what in names for step in ((what, signal.SIGINT), (f"caught {what}", None))]
    py = drive(python_argv(script), steps, delay=0.1)
    ip = drive(interp_argv(script), steps, delay=0.1)
    assert py[:2] == (0, "".join(f"{n}\ncaught {n}\n" for n in names) + "end\n"), py
    assert ip[:2] == py[:2], (py, ip)
    assert max(ip[3]) < 1.0, ip[3]


CONNECT = """\
import errno, socket
server = socket.create_server(("127.0.0.1", 0), backlog=0)
addr = server.getsockname()
c = socket.socket()
c.connect(addr)
print("connected", c.gettimeout(), c.getblocking())
free = socket.socket()
free.bind(("127.0.0.1", 0))
port = free.getsockname()[1]
free.close()
closed = ("127.0.0.1", port)
for ex in (False, True):
    s = socket.socket()
    try:
        print("refused", s.connect_ex(closed) if ex else s.connect(closed))
    except OSError as exc:
        print(type(exc).__name__, exc)
for ex in (False, True):  # the backlog is full: the connect times out
    s = socket.socket()
    s.settimeout(0.2)
    try:
        result = s.connect_ex(addr) if ex else s.connect(addr)
        print("timed out", errno.errorcode.get(result))
    except OSError as exc:
        print(type(exc).__name__, exc)
    print(s.gettimeout())
unix = socket.socket(socket.AF_UNIX)
for target in (lambda: c.connect(addr), lambda: unix.connect("/nonexistent/x")):
    try:
        target()
    except OSError as exc:
        print(type(exc).__name__, exc)
"""


def test_replaced_connect_behaves_as_python_s(tmp_path):
    """socket.connect and connect_ex, made interruptible on the main thread, give python's
    results, errors and timeouts, and leave the socket's timeout as it was."""
    py, ip = python_and_interp([write(tmp_path / "connect.py", CONNECT)])
    assert_same_as_python(py, ip)
    assert "ConnectionRefusedError [Errno 111] Connection refused" in ip.stdout, ip.stdout
    assert "[Errno 106]" in ip.stdout, ip.stdout


SELF_SIGINT = """\
import os, signal
caught = 0
for i in range(40):
    try:
        if i % 2:
            signal.raise_signal(signal.SIGINT)
        else:
            os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        caught += 1
print("caught", caught)
"""


def test_a_script_sending_itself_sigint_in_a_loop_as_in_python(tmp_path):
    """Each SIGINT a script sends itself is its KeyboardInterrupt, however fast they come:
    none lost, none ending interp (it acts on each where it reads its events)."""
    script = write(tmp_path / "self_sigint.py", SELF_SIGINT)
    py, ip = python_and_interp([script])
    assert_same_as_python(py, ip)
    assert ip.stdout == "caught 40\n"


def test_sigint_ignored_at_start_stays_ignored_as_in_python(tmp_path):
    """A background job of a non-interactive shell starts with SIGINT ignored: python keeps
    it so (getsignal says SIG_IGN, a SIGINT to itself does nothing), and so do scripts."""
    code = (
        "import os, signal, time\n"
        "print(int(signal.getsignal(signal.SIGINT)))\n"
        "t = time.monotonic()\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "print('still here', time.monotonic() - t < 2)\n"
    )

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    runs = [
        subprocess.run(argv, capture_output=True, text=True, timeout=60, preexec_fn=ignore_sigint)
        for argv in ([sys.executable, "-c", code], [*INTERP, "run", "-c", code])
    ]
    expected = (0, "1\nstill here True\n", "")
    assert [(r.returncode, r.stdout, r.stderr) for r in runs] == [expected] * 2
