"""Helpers shared by the test layers (tests/*/): fresh Python processes, the `interp`
command run as a real process, and a script driven line by line with signals under python
and under `interp run`. Importable from every test module: pytest puts tests/ on
sys.path for the root conftest."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time

INTERP = [sys.executable, "-m", "interpcli"]


def run_python(code: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run code (dedented) in a fresh Python process: the interpreter running the tests."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def interp(*args, input=None, timeout=60, cwd=None, env=None, text=True, **kw):
    """Run `python -m interpcli ARGS` and return the CompletedProcess."""
    e = _environ(env)
    return subprocess.run(
        [*INTERP, *map(str, args)],
        input=input,
        capture_output=True,
        timeout=timeout,
        cwd=cwd,
        env=e,
        text=text,
        **kw,
    )


def _environ(env=None) -> dict:
    """This process's environment without NO_COLOR, updated with env."""
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    return e


def write(path, source: str):
    """Write a dedented script and return its path."""
    path.write_text(textwrap.dedent(source))
    return path


def assert_one_line_error(proc, status=2):
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("interp"), lines[0]
    return lines[0]


def python_and_interp(argv, *, interp_args=(), input=None, timeout=60, cwd=None, env=None):
    """Run one program the two ways a user would: `python ARGV` and `interp run
    [INTERP_ARGS] ARGV`, where ARGV is python's own form (a script path, a directory, a
    zip application, `-c CODE`, `-m MODULE` or `-`, then the program's arguments).

    Returns (python's CompletedProcess, interp's), both with text output."""
    argv = [str(a) for a in argv]
    if argv[0] in ("-c", "-m"):
        program, rest = argv[:2], argv[2:]
    else:
        program, rest = argv[:1], argv[1:]
    e = _environ(env)
    py = subprocess.run(
        [sys.executable, *argv],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=e,
    )
    ip = interp(
        "run",
        *program,
        *interp_args,
        "--result",
        "none",
        *(["--", *rest] if rest else []),
        input=input,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )
    return py, ip


def assert_same_as_python(py, ip, *, stderr=True):
    """interp's exit status, stdout and (unless stderr=False) stderr are python's."""
    assert (ip.returncode, ip.stdout) == (py.returncode, py.stdout), (
        f"python: {py.returncode} {py.stdout!r} {py.stderr!r}\n"
        f"interp: {ip.returncode} {ip.stdout!r} {ip.stderr!r}"
    )
    if stderr:
        assert ip.stderr == py.stderr, f"python: {py.stderr!r}\ninterp: {ip.stderr!r}"


# ---- a script driven line by line with signals (python and `interp run` alike)


def start(argv, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e
    )


def python_argv(script, *args):
    return [sys.executable, str(script), *args]


def interp_argv(script, *args):
    return [*INTERP, "run", str(script), "--result", "none", "--", *args]


_pending: dict = {}  # Popen -> bytes read past the last line returned


def read_line(p, limit=30.0) -> bytes:
    """The next line of p's stdout, waiting at most limit seconds (no buffering of ours
    hides a line from select)."""
    buf = _pending.pop(p, b"")
    deadline = time.monotonic() + limit
    while b"\n" not in buf:
        ready, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no output from the script after {buf!r}"
        chunk = os.read(p.stdout.fileno(), 4096)
        assert chunk, f"the script ended after {buf!r}: {p.wait()} {p.stderr.read()!r}"
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    _pending[p] = rest
    return line + b"\n"


def drive(argv, steps, env=None, delay=0.0):
    """Run argv; for each (expected line prefix, signal or None) in steps, wait for a
    line starting with the prefix, then (after delay seconds) send the signal. Returns
    (status, lines, stderr, latencies): the seconds from each signal to the next line."""
    p = start(argv, env)
    lines, latencies = [], []
    sent = None
    try:
        for prefix, sig in steps:
            line = read_line(p).decode()
            if sent is not None:
                latencies.append(time.monotonic() - sent)
                sent = None
            lines.append(line)
            assert line.startswith(prefix), lines
            if sig is not None:
                time.sleep(delay)
                p.send_signal(sig)
                sent = time.monotonic()
        out, err = p.communicate(timeout=30)
        out = _pending.pop(p, b"") + out
        if sent is not None:
            latencies.append(time.monotonic() - sent)
    finally:
        p.kill()
        p.wait()
    return p.returncode, "".join(lines) + out.decode(), err.decode(), latencies
