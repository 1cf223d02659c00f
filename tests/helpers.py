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
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, **kw)


def interp(*args, input=None, timeout=60, cwd=None, env=None, text=True, **kw):
    """Run `python -m interpcli ARGS` and return the CompletedProcess."""
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    return subprocess.run([*INTERP, *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, cwd=cwd, env=e, text=text, **kw)


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
