"""Extension modules that refuse an isolated interpreter, with real packages: a silent
pure-Python fallback is told at the end of the run, mypyc-compiled modules are refused at
import instead of aborting the process, and the failure hint names the module."""

from __future__ import annotations

import json
import os
import sys

import pytest
from helpers import assert_same_as_python, interp, python_and_interp, write

pytestmark = pytest.mark.timeout(120)


def _compiled(module: str) -> bool:
    """`module` is installed as an extension module (a wheel for this Python exists)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return os.path.splitext(mod.__file__ or "")[1] in (".so", ".pyd")


def _mypyc(package: str) -> bool:
    from interpcli._extensions import is_known_crash

    return _compiled(package) and is_known_crash(sys.modules[package].__file__)


MSGPACK = """
import msgpack
print(msgpack.unpackb(msgpack.packb({"a": [1, 2]})))
"""


@pytest.mark.skipif(not _compiled("msgpack._cmsgpack"), reason="msgpack has no C extension here")
def test_silent_fallback_is_told_once(tmp_path):
    script = write(tmp_path / "use_msgpack.py", MSGPACK)
    py, ip = python_and_interp([script])
    assert_same_as_python(py, ip, stderr=False)
    note = [line for line in ip.stderr.splitlines() if line.startswith("interp: note:")]
    assert len(note) == 1, ip.stderr
    assert "msgpack._cmsgpack (from msgpack)" in note[0] and "--shared-gil" in note[0], note
    assert ip.stderr == py.stderr + note[0] + "\n"

    # imported twice (the module's own fallback, then again): one note; --result json
    # carries it
    again = write(
        tmp_path / "again.py",
        MSGPACK
        + (
            "import sys\n"
            "del sys.modules['msgpack'], sys.modules['msgpack.fallback']\n"
            "import msgpack\n"
        ),
    )
    p = interp("run", again, "--result", "json")
    assert p.returncode == 0, p.stderr
    assert "note:" not in p.stderr
    [r] = json.loads(p.stderr)["results"]
    [refused] = [x for x in r["refused_extensions"] if x["module"].startswith("msgpack")]
    assert refused["module"] == "msgpack._cmsgpack", refused
    assert refused["package"] == "msgpack" and "subinterpreters" in refused["reason"]
    assert refused["path"].startswith(os.path.dirname(sys.modules["msgpack"].__file__))
    p = interp("run", again, "--result", "none")
    assert p.stderr.count("interp: note: the extension module msgpack") == 1, p.stderr

    # a shared-GIL interpreter loads it: nothing to tell
    p = interp("run", "--shared-gil", script, "--result", "json")
    assert p.returncode == 0 and p.stdout == py.stdout, p.stderr
    assert json.loads(p.stderr)["results"][0]["refused_extensions"] == []


@pytest.mark.skipif(not _mypyc("black"), reason="black is not mypyc-compiled here")
def test_mypyc_module_is_refused_not_a_crash(tmp_path):
    # black's mypyc modules abort the process when an isolated interpreter loads them
    # ("free(): invalid pointer"): refused at import instead, with the way out
    p = interp("run", "-c", "import black")
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert (
        "ImportError: module black does not support loading in subinterpreters: it is "
        "compiled with mypyc" in p.stderr
    ), p.stderr
    assert "interp run --shared-gil" in p.stderr
    assert p.stderr.splitlines()[-1] == (
        "interp: hint: -c import black imports the extension module black (from black), "
        "which cannot load in an isolated interpreter; run it with --shared-gil"
    )
    # -m: runpy turns the ImportError into sys.exit(message); the hint still comes
    p = interp("run", "-m", "black", "--", "--version")
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "compiled with mypyc" in p.stderr and "interp: hint: -m black" in p.stderr
    # caught by the program, which goes on: told at the end
    script = write(
        tmp_path / "maybe_black.py",
        """
        try:
            import black
        except ImportError:
            print("without black")
        """,
    )
    p = interp("run", script, "--result", "none")
    assert (p.returncode, p.stdout) == (0, "without black\n"), p.stderr
    assert p.stderr.startswith(
        "interp: note: the extension module black (from black) refused to load"
    ), p.stderr


@pytest.mark.skipif(not _mypyc("tomli"), reason="tomli is not mypyc-compiled here")
def test_mypyc_module_under_shared_gil(tmp_path):
    script = write(
        tmp_path / "toml.py",
        """
        import sys, tomli
        print(tomli.loads("a = [1, 2]\\n[t]\\nb = 'x'"), sys.argv)
        """,
    )
    p = interp("run", script)
    assert p.returncode == 1 and "compiled with mypyc" in p.stderr, p.stderr
    py, ip = python_and_interp([script, "x", "--y"], interp_args=["--shared-gil"])
    assert_same_as_python(py, ip)


@pytest.mark.skipif(not _mypyc("isort"), reason="isort is not installed mypyc-compiled")
def test_mypyc_tool_reads_the_programs_argv_under_shared_gil():
    # since 3.13 CPython runs a mypyc module's body in the main interpreter, where isort
    # then reads sys.argv: that of the program, not interp's own
    py, ip = python_and_interp(["-m", "isort", "--version"], interp_args=["--shared-gil"])
    assert_same_as_python(py, ip)


def test_refusal_names_the_module(tmp_path):
    # a -m tool whose package imports an extension module that refuses (as `-m test`
    # did with faulthandler): the hint names the module and the way out
    pkg = tmp_path / "tool"
    pkg.mkdir()
    write(pkg / "__init__.py", "import readline\n")
    write(pkg / "__main__.py", "print('ran')\n")
    p = interp("run", "-m", "tool", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert p.stderr.endswith(
        "ImportError: module readline does not support loading in subinterpreters\n"
        "interp: hint: -m tool imports the extension module readline (from the standard "
        "library), which cannot load in an isolated interpreter; run it with "
        "--shared-gil\n"
    ), p.stderr
    assert "_extensions" not in p.stderr  # our import hook shows no frame
    p = interp("run", "-m", "tool", "--shared-gil", cwd=tmp_path)
    assert (p.returncode, p.stdout, p.stderr) == (0, "ran\n", "")


STDLIB = """
import asyncio, datetime, decimal, zoneinfo
async def main():
    await asyncio.sleep(0)
    return datetime.date(2024, 2, 29) + datetime.timedelta(days=1)
import sys     # one write: the three programs' lines do not mix
line = f"{asyncio.run(main())} {decimal.Decimal('1.1') * 3} {zoneinfo.ZoneInfo('UTC')}"
sys.stdout.write(line + chr(10))
"""


def test_stdlib_modules_that_crash_several_interpreters(tmp_path):
    # with three isolated interpreters alive, _datetime (3.12, 3.13), _zoneinfo, and on
    # 3.12 _decimal and _asyncio abort the process (CPython's own _interpreters too):
    # they are refused there, and datetime, decimal, zoneinfo and asyncio use their
    # pure-Python fallbacks
    # pure-Python fallbacks run, told in the JSON only: stderr is what python's is
    scripts = [write(tmp_path / f"s{i}.py", STDLIB) for i in range(3)]
    py, ip = python_and_interp([scripts[0]])
    assert_same_as_python(py, ip, stderr=False)
    assert "interp:" not in ip.stderr, ip.stderr
    p = interp("run", *scripts, "--result", "json")
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    assert p.stdout == "2024-03-01 3.3 UTC\n" * 3
    [line] = [ln for ln in p.stderr.splitlines() if ln.startswith('{"exit_status"')]
    refused = {x["module"] for r in json.loads(line)["results"] for x in r["refused_extensions"]}
    expected = {
        (3, 12): {"_asyncio", "_datetime", "_decimal", "_zoneinfo"},
        (3, 13): {"_datetime", "_zoneinfo"},
    }.get(sys.version_info[:2], set())
    assert refused == expected
