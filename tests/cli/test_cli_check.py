"""`interp check`: which modules load in an isolated interpreter, only in a shared-GIL one,
or not at all, and why; a module that kills its process is reported, never fatal."""

from __future__ import annotations

import importlib.machinery
import json
import sys
import time

import pytest
from helpers import assert_one_line_error, interp, write

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def project(tmp_path):
    """A script importing a stdlib package and three local packages: one that falls back
    to pure Python when cffi's extension refuses, one with a mypyc-compiled extension
    (a known crash, here a stand-in file), one that aborts the process on import."""
    d = tmp_path / "proj"
    d.mkdir()
    write(
        d / "app.py",
        """
        import json
        import fallbackpkg
        import crashpkg.speed
        import abortpkg
    """,
    )
    (d / "fallbackpkg").mkdir()
    write(
        d / "fallbackpkg" / "__init__.py",
        """
        try:
            import _cffi_backend as backend
        except ImportError:
            backend = None          # pure Python from here on
    """,
    )
    (d / "crashpkg").mkdir()
    write(d / "crashpkg" / "__init__.py", "")
    write(d / "crashpkg" / "speed.py", "from crashpkg import _speed\n")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (d / "crashpkg" / f"_speed{suffix}").write_bytes(b"\x7fELF not really: from 0f2a__mypyc.\0")
    (d / "abortpkg").mkdir()
    write(d / "abortpkg" / "__init__.py", "import os\nos.abort()\n")
    return d


def _rows(proc):
    data = json.loads(proc.stdout)
    return data, {row["module"]: row for row in data["modules"]}


def test_check_kinds_as_json(project):
    """One run over every kind: a script's imports, a distribution of the test extra with
    a single-phase extension (cffi), one whose extension lacks per-interpreter GIL support
    (uvloop), a stdlib package walked for its submodules (-m json)."""
    p = interp(
        "check", project / "app.py", "cffi", "uvloop", "-m", "json", "--result", "json", timeout=150
    )
    assert p.returncode == 1, p.stdout + p.stderr  # not everything loads isolated
    data, rows = _rows(p)

    for name in ("json", "json.decoder", "json.encoder", "json.scanner"):
        assert rows[name]["status"] == "isolated", rows[name]
        assert rows[name]["distribution"] == "stdlib"
        assert rows[name]["fallback"] == []
    assert "json.tool" in rows and "json.__main__" not in rows

    fb = rows["fallbackpkg"]
    assert (fb["status"], fb["fallback"]) == ("isolated", ["_cffi_backend"]), fb
    assert "single-phase init (_cffi_backend)" in fb["reason"]

    backend = rows["_cffi_backend"]
    assert (backend["status"], backend["distribution"]) == ("shared-GIL only", "cffi")
    assert backend["reason"] == "single-phase init (_cffi_backend)"
    assert rows["cffi"]["status"] == "isolated"

    loop = rows["uvloop"]
    assert loop["status"] == "shared-GIL only", loop
    assert "no per-interpreter GIL support (uvloop." in loop["reason"]

    crash = rows["crashpkg.speed"]
    assert crash["status"] == "fails", crash  # the stand-in file loads nowhere
    assert crash["reason"].startswith("known crash: crashpkg._speed is mypyc-compiled")

    abort = rows["abortpkg"]
    assert abort["status"] == "fails"
    assert "crashes the process when isolated (SIGABRT" in abort["reason"], abort

    s = data["summary"]
    assert s["modules"] == len(rows)
    assert s["isolated"] + s["shared_gil_only"] + s["fails"] == s["modules"]
    assert s["fallback"] >= 1
    for row in rows.values():
        assert row["time"] is None or row["time"] >= 0


def test_check_table_and_usage_errors(tmp_path):
    p = interp("check", "-m", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["module", "distribution", "loads"]
    assert any(line.split()[:3] == ["json.decoder", "stdlib", "isolated"] for line in lines)
    assert lines[-1].startswith("5 modules: 5 load isolated")

    p = interp("check", "-m", "json", "--problems", cwd=tmp_path)
    assert p.stdout.splitlines()[0].startswith("5 modules: 5 load isolated"), p.stdout

    for args, words in (
        (["no-such-distribution-xyz"], "neither a script nor"),
        ([], "nothing to check"),
        (["-m", "1bad"], "not a module name"),
        ([tmp_path / "missing.py"], "can't open file"),
    ):
        line = assert_one_line_error(interp("check", *args, cwd=tmp_path))
        assert words in line, line


@pytest.mark.stress
@pytest.mark.skipif(
    sys.version_info < (3, 14),
    reason="run on 3.14+ only, to keep CI's "
    "time: the quick tests cover the same code on every Python",
)
def test_check_whole_stdlib():
    """Every importable stdlib module is probed and classified; the time it took is
    printed (a figure for the README, not a test: the machine is shared)."""
    start = time.monotonic()
    p = interp("check", "--stdlib", "--result", "json", timeout=300)
    took = time.monotonic() - start
    data, rows = _rows(p)
    s = data["summary"]
    print(f"FIGURES interp check --stdlib: {s} in {took:.1f} s")
    assert s["modules"] > 500
    assert rows["json"]["status"] == "isolated"
    assert rows["faulthandler"]["status"] in ("isolated", "shared-GIL only")
