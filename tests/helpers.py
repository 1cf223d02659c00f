"""Helpers shared by the test layers (tests/*/): fresh Python processes and the `interp`
command run as a real process. Importable from every test module: pytest puts tests/ on
sys.path for the root conftest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

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
