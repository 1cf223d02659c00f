"""Runs the test suite against the installed interpcli (a wheel's), not the source tree.

    python tools/test_installed.py [PYTEST_ARGS...]

PYTHON is the interpreter running this script (a venv with interpcli and its `test` extra
installed). What the tests read beside the package (tests/, examples/, bench/, tools/, man/,
docs/, the top-level documents, pyproject.toml for pytest's settings) is copied to a temporary
directory that holds no `interpcli` package; the script checks that `import interpcli` and
its C core resolve to the installed copy, then runs `python -m pytest` there with the
interpreter's directory first on PATH (the README's test command). Exit status: pytest's,
or 3 when interpcli would not come from the installation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
TREES = ("tests", "examples", "bench", "tools", "man", "docs")
FILES = (
    "README.md",
    "CHANGELOG.md",
    "CONTRIBUTING.md",
    "RELIABILITY.md",
    "BENCHMARKS.md",
    "pyproject.toml",
)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", ".pytest_cache", ".hypothesis")

WHERE = (
    "import interpcli, interpcli._native._interpcli as core; "
    "print(interpcli.__file__); print(core.__file__)"
)


def copy_tests(dest: str) -> None:
    for name in TREES:
        if os.path.isdir(os.path.join(ROOT, name)):
            shutil.copytree(os.path.join(ROOT, name), os.path.join(dest, name), ignore=IGNORE)
    for name in FILES:
        if os.path.exists(os.path.join(ROOT, name)):
            shutil.copy2(os.path.join(ROOT, name), dest)


def installed_where(cwd: str, env: dict) -> list[str] | str:
    """The files of interpcli and of its C core as the tests' python imports them from cwd,
    or the reason they are not the installed ones."""
    p = subprocess.run(
        [sys.executable, "-c", WHERE], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    if p.returncode != 0:
        return f"import interpcli failed:\n{p.stderr}"
    files = p.stdout.split()
    site = {os.path.realpath(sysconfig.get_path(k)) for k in ("purelib", "platlib")}
    for f in files:
        real = os.path.realpath(f)
        if real.startswith(ROOT + os.sep) or not any(real.startswith(s + os.sep) for s in site):
            return f"{f} is not in site-packages ({', '.join(sorted(site))})"
    return files


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="interpcli-installed-") as work:
        copy_tests(work)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        where = installed_where(work, env)
        if isinstance(where, str):
            print(f"test_installed: {where}", file=sys.stderr)
            return 3
        print(f"test_installed: interpcli from {where[0]}, its core {where[1]}", flush=True)
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv]
        return subprocess.run(cmd, cwd=work, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
