"""Standard streams in every state, under `python` and under `interp run`, compared: closed
at start (`<&-`, `>&-`, `2>&-`), /dev/full, a pipe whose reader has gone; and `interp`'s
own stdin pump with stdin closed."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

import pytest
from helpers import INTERP, write

pytestmark = pytest.mark.timeout(120)

# what the script sees of its streams, told on whichever is open; status 3
STREAMS = """\
import sys
seen = [s is None for s in (sys.stdin, sys.stdout, sys.stderr)]
print("stdout", seen)
if sys.stderr is not None:
    sys.stderr.write(f"stderr {seen}\\n")
print("stdin", sys.stdin.read() if sys.stdin else None)
raise SystemExit(3)
"""


def both(script, args=(), redirect="", *, unbuffered=True, timeout=60):
    """Run `python SCRIPT ARGS REDIRECT` and `interp run SCRIPT --result none -- ARGS
    REDIRECT` through bash (set -o pipefail: a pipeline's status is the program's)."""
    env = {"PYTHONUNBUFFERED": "1" if unbuffered else ""}
    runs = []
    for cmd in (
        [sys.executable, str(script), *args],
        [*INTERP, "run", str(script), "--result", "none", *(["--", *args] if args else [])],
    ):
        line = f"set -o pipefail; {shlex.join(cmd)} {redirect}"
        runs.append(
            subprocess.run(
                ["bash", "-c", line],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=_env(env),
                input="",
            )
        )
    return runs


def _env(extra):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(extra)
    return e


def same(py, ip):
    assert (ip.returncode, ip.stdout, ip.stderr) == (py.returncode, py.stdout, py.stderr), (
        f"python: {py.returncode} {py.stdout!r} {py.stderr!r}\n"
        f"interp: {ip.returncode} {ip.stdout!r} {ip.stderr!r}"
    )


@pytest.mark.parametrize("redirect", [">&-", "2>&-", "<&- >&- 2>&-"])
def test_closed_streams_are_pythons(tmp_path, redirect):
    """A stream closed when the program starts is None in the script (print() to it does
    nothing), as under python; interp's own descriptors never take its number."""
    script = write(tmp_path / "streams.py", STREAMS)
    py, ip = both(script, redirect=redirect)
    assert py.returncode == 3
    same(py, ip)


def test_stdin_pump_with_stdin_closed(tmp_path):
    """`--stdin CH` and `interp pipe` with stdin closed: the channel ends at once (as an
    empty stdin would), the pump never waits on a descriptor of its own."""
    reader = write(tmp_path / "reader.py", "print(list(channels.i))\n")
    stage = write(tmp_path / "stage.py", "print(list(channels.stdin), flush=True)\n")
    line = (
        f"{shlex.join([*INTERP, 'run', str(reader), '--channels', 'i', '--stdin', 'i'])}"
        f" <&- && {shlex.join([*INTERP, 'pipe', str(stage)])} <&-"
    )
    proc = subprocess.Popen(
        ["bash", "-c", line],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # a pump that waits forever: leave none
        proc.communicate()
        raise
    assert (proc.returncode, out) == (0, "[]\n[]\n"), err


def test_dev_full_is_pythons(tmp_path):
    """stdout or stderr on a full device, written at exit (buffered): python's "Exception
    ignored" line (none for stderr) and status 120."""
    out = write(tmp_path / "out.py", "print('x')\n")
    err = write(tmp_path / "err.py", "import sys\nprint('x')\nsys.stderr.write('e')\n")
    for script, redirect in ((out, ">/dev/full"), (err, "2>/dev/full")):
        py, ip = both(script, redirect=redirect, unbuffered=False)
        assert py.returncode != 0
        same(py, ip)


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_printing_into_a_closed_pipe_is_pythons(tmp_path, unbuffered):
    """`| head -1`: the script's print raises BrokenPipeError, status 1 (from 3.14,
    buffered: 120, the exit's flush failing too), as under python."""
    script = write(tmp_path / "many.py", "for i in range(200000):\n    print(i)\n")
    py, ip = both(script, redirect="| head -1", unbuffered=unbuffered)
    assert py.returncode in (1, 120) and "BrokenPipeError" in py.stderr
    same(py, ip)


def test_program_from_a_closed_stdin_is_pythons():
    """`-` with stdin closed: an empty program, status 0, as `python -` runs it."""
    py, ip = both("-", redirect="<&-")
    assert py.returncode == 0
    same(py, ip)


def test_usage_error_with_stderr_closed_is_status_2(tmp_path):
    """Nowhere to say it, the status still says it: 2, as python's for a missing file."""
    py, ip = both(tmp_path / "missing.py", redirect="2>&-")
    assert py.returncode == 2
    same(py, ip)
