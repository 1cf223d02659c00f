"""Reads of stdin on an `interp run` script's main thread, as under python: Ctrl-C raises
KeyboardInterrupt in sys.stdin.readline(), read(), iteration, sys.stdin.buffer reads and
input(), from a pipe and from a terminal; what is read, the prompt's stream, EOF and
sys.stdin's attributes are python's. Each program runs under python and under interp."""

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest
from helpers import INTERP, drive, interp_argv, python_and_interp, python_argv, write

READS = """\
import sys
kind = sys.argv[1]
try:
    print("started", flush=True)
    if kind == "input":
        print("got", repr(input("prompt> ")))
    elif kind == "readline":
        print("got", repr(sys.stdin.readline()))
    elif kind == "read":
        print("got", repr(sys.stdin.read()))
    elif kind == "iter":
        for line in sys.stdin:
            print("got", repr(line))
    elif kind == "buffer":
        print("got", sys.stdin.buffer.read(5))
except KeyboardInterrupt:
    print("caught", kind, flush=True)
"""


@pytest.mark.parametrize("kind", ["input", "readline", "read", "iter", "buffer"])
def test_ctrl_c_ends_a_read_of_a_pipe_as_in_python(tmp_path, kind):
    script = write(tmp_path / "reads.py", READS)
    prompt = "prompt> " if kind == "input" else ""  # input()'s prompt: on stdout (a pipe)
    steps = [("started", signal.SIGINT), (f"{prompt}caught {kind}", None)]
    py = drive(python_argv(script, kind), steps, delay=0.2)
    ip = drive(interp_argv(script, kind), steps, delay=0.2)
    assert (ip[0], ip[1], ip[2]) == (py[0], py[1], py[2]), (py, ip)
    assert ip[3][0] < 1.0, ip[3]


CONSUME = """\
import sys
print(sys.stdin is sys.__stdin__, sys.stdin.name, sys.stdin.mode, sys.stdin.encoding,
      sys.stdin.errors, sys.stdin.line_buffering, sys.stdin.buffer.raw.name)
print(repr(input("first? ")))
print(repr(sys.stdin.readline()))
print(repr(sys.stdin.buffer.read(3)))
print(repr(sys.stdin.read()))
try:
    input("more? ")
except EOFError as exc:
    print("EOFError", exc)
"""


def test_reads_of_a_pipe_give_what_python_s_give(tmp_path):
    script = write(tmp_path / "consume.py", CONSUME)
    py, ip = python_and_interp([script], input="one\ntwo\r\nthree\nfour\n")
    assert (ip.returncode, ip.stdout, ip.stderr) == (py.returncode, py.stdout, py.stderr)
    assert "'two\\r\\n'" in ip.stdout and "EOFError EOF when reading a line" in ip.stdout


def _run_on_a_terminal(argv, keys=b"", interrupt=False, limit=30.0):
    """argv with stdin and stdout on a pty (stderr a pipe): type keys once "started" is
    shown, or send SIGINT; (status, terminal bytes, stderr bytes)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + limit
    acted = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not acted and b"started" in shown:
                time.sleep(0.2)
                if interrupt:
                    p.send_signal(signal.SIGINT)
                else:
                    os.write(master, keys)
                acted = True
            if p.poll() is not None and not ready:
                break
        err = p.stderr.read()
        return p.wait(timeout=10), shown, err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
        os.close(master)


TTY = """\
import sys
print("started", flush=True)
try:
    print("got", repr(input("name? ")))
    print("got", repr(input()))
except KeyboardInterrupt:
    print("caught", flush=True)
except EOFError as exc:
    print("EOFError", repr(str(exc)))
"""


@pytest.mark.parametrize(
    "keys, interrupt",
    [(b"bob\nalice\n", False), (b"bob\n\x04", False), (b"", True)],
    ids=["lines", "eof", "ctrl-c"],
)
def test_input_on_a_terminal_as_in_python(tmp_path, keys, interrupt):
    """On a terminal, python's input() writes its prompt to stderr; EOF (Ctrl-D) is an
    EOFError with no message; Ctrl-C raises KeyboardInterrupt in it."""
    script = write(tmp_path / "tty.py", TTY)
    py = _run_on_a_terminal([sys.executable, str(script)], keys, interrupt)
    ip = _run_on_a_terminal([*INTERP, "run", str(script), "--result", "none"], keys, interrupt)
    assert ip == py, (py, ip)
    if interrupt:
        assert b"caught" in ip[1]
    else:
        assert ip[2] == b"name? " and b"got 'bob'" in ip[1], ip
