"""On a terminal: the results table and the live status line on stderr (a real pty)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from helpers import INTERP

pytestmark = pytest.mark.timeout(120)

COLOR = re.compile(rb"\x1b\[[0-9;]*(3[0-9]|9[0-7])(;[0-9]+)*m")


def run_with_tty_stderr(args, env=None, timeout=60):
    """Run interp with stderr on a pty (stdout a pipe); (returncode, stdout, tty bytes)."""
    master, slave = pty.openpty()
    e = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm")
    e.pop("NO_COLOR", None)
    e.update(env or {})
    p = subprocess.Popen(
        [*INTERP, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=e
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    out = p.stdout.read()
    p.wait(timeout)
    os.close(master)
    return p.returncode, out, b"".join(chunks)


def test_table_on_a_terminal():
    rc, out, tty = run_with_tty_stderr(
        ["run", "-c", "print('data')", "-c", "1/0", "--channels", "ch"]
    )
    assert rc == 1
    assert out == b"data\n"
    text = tty.decode("utf-8", "replace")
    for col in ("name", "id", "source", "channels", "completed", "exception", "duration"):
        assert col in text
    assert "ZeroDivisionError" in text and "ch" in text
    assert COLOR.search(tty), "a terminal table has colours"


def test_no_color_on_a_terminal():
    rc, out, tty = run_with_tty_stderr(["run", "-c", "pass"], env={"NO_COLOR": "1"})
    assert rc == 0
    assert b"completed" in tty
    assert not COLOR.search(tty)


def test_result_none_on_a_terminal():
    rc, out, tty = run_with_tty_stderr(["run", "-c", "pass", "--result", "none"])
    assert (rc, tty) == (0, b"")


def test_live_status_line_for_long_runs():
    rc, out, tty = run_with_tty_stderr(["run", "-c", "import time; time.sleep(2.2)"])
    assert rc == 0
    assert b"1 running: c " in tty
    assert b"\r\x1b[2K" in tty  # the line is cleared before the table


def test_rich_only_imported_to_draw():
    code = (
        "import sys, atexit; atexit.register(lambda: sys.__stdout__.write("
        "str('rich' in sys.modules) + '\\n')); sys.argv = ['interp'] + sys.argv[1:]; "
        "from interpcli.cli import main; main()"
    )
    for mode, want in (("none", b"False"), ("table", b"True")):
        p = subprocess.run(
            [sys.executable, "-c", code, "run", "-c", "pass", "--result", mode],
            capture_output=True,
            timeout=60,
        )
        assert p.stdout.strip() == want, (mode, p.stdout, p.stderr)
