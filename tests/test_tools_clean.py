"""The tree passes its linter and its type checker, as pyproject.toml configures them
([tool.ruff], [tool.mypy]): `ruff check` over the repository, `mypy` over interpcli/.
Each is skipped, with the reason, where it is not installed (both are in the `test`
extra)."""

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(module: str, *args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_check_finds_nothing():
    r = _tool("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert r.returncode == 0, f"ruff check:\n{r.stdout}{r.stderr}"


def test_mypy_finds_nothing():
    if not (ROOT / "interpcli").is_dir():
        pytest.skip("not a source checkout: the tests run against an installed interpcli")
    # its cache in the system's temporary directory: the tree stays as it was
    v = sys.version_info
    cache = Path(tempfile.gettempdir()) / f"interpcli-mypy-{v.major}.{v.minor}"
    r = _tool("mypy", "--cache-dir", str(cache))
    assert r.returncode == 0, f"mypy:\n{r.stdout}{r.stderr}"
