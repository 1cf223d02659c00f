"""`interp shell` in a real terminal (a pty, through pexpect): code in two interpreters,
Ctrl-C interrupting a busy loop, Ctrl-D leaving with status 0."""

import os
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 60  # generous: the machine is small and shared
pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


def prompt(name):
    """The prompt naming interpreter NAME (styles may sit between its parts)."""
    return name + r"(\x1b\[[0-9;?]*[A-Za-z])* >>> "


def spawn_shell(tmp_path, *extra):
    env = {
        **os.environ,
        "INTERP_HISTORY": str(tmp_path / "history"),
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "NO_COLOR": "1",
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "interpcli", "shell", *extra],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 120),
        cwd=str(tmp_path),
    )


def test_shell_in_a_terminal(tmp_path):
    started = time.monotonic()
    child = spawn_shell(tmp_path)
    try:
        child.expect("Ctrl-D exits")
        child.expect(prompt("repl"))
        startup = time.monotonic() - started

        child.send("x = 6 * 7\r")
        child.send("x * 2\r")
        child.expect("84")

        child.send("%spawn other\r")
        child.expect("spawned 'other'")
        child.expect(prompt("other"))
        child.send("y = 'from' + ' other'\r")
        child.send("y\r")
        child.expect("'from other'")
        child.send("x\r")  # other has its own __main__
        child.expect("NameError: name 'x' is not defined")
        child.send("%use repl\r")
        child.expect(prompt("repl"))
        child.send("x + 1\r")
        child.expect("43")

        # a busy loop, interrupted by Ctrl-C from the terminal
        child.send("print('spin' + 'ning'); exec('while True: pass')\r")
        child.expect("spinning")
        child.sendcontrol("c")
        child.expect("KeyboardInterrupt")
        child.send("x - 2\r")  # the shell goes on, state intact
        child.expect("40")

        child.send("%results\r")
        child.expect("KeyboardInterrupt")
        child.expect(prompt("repl"))  # keys typed before it would be cooked

        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert startup < 10, f"the shell took {startup:.2f} s to start"
    assert (tmp_path / "history").stat().st_mode & 0o777 == 0o600


def test_ctrl_c_at_the_prompt_and_exit_with_a_job_running(tmp_path):
    child = spawn_shell(tmp_path, "--shared-gil")
    try:
        child.expect(prompt("repl"))
        child.send("%list\r")
        child.expect("no \\(shared GIL\\)")
        child.send("%chan c\r")
        child.send("%bg repl c.recv()\r")
        child.expect("job 1 started")
        child.expect(prompt("repl"))
        child.send("1/0")
        child.sendcontrol("c")  # clears the line, runs nothing
        child.send("%spawn w\r")
        child.expect("spawned 'w'")
        child.send("%exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert "ZeroDivisionError" not in child.before
    assert child.exitstatus == 0
