"""Every form of program python takes, run by `python ARGS` and by `interp run ARGS` and
compared (exit status, stdout, stderr): a file, a directory or zip application with a
__main__ module, -m module or package, -c, - (stdin); __main__'s globals, sys.argv and
sys.path[0] in each; and source decoding (coding cookies, BOMs, undecodable files)."""

from __future__ import annotations

import sys
import zipfile

import pytest
from helpers import assert_same_as_python, python_and_interp, write

pytestmark = pytest.mark.timeout(120)

# prints what python sets in __main__ (addresses left out), then fails: the traceback
# shows the frames each form has
SHOW = """\
import sys
def describe(value):
    if value is None or isinstance(value, str):
        return value
    return type(value).__name__
print(sorted((k, describe(v)) for k, v in globals().items()
             if k.startswith("__") and k != "__builtins__"))
spec = globals().get("__spec__")
print(spec and (spec.name, spec.origin, type(spec.loader).__name__, spec.parent))
print(sys.argv, sys.path[0], __name__)
1 / 0
"""


@pytest.fixture
def tree(tmp_path):
    """A file, a directory, a zip application, a module and a package, all showing."""
    write(tmp_path / "show.py", SHOW)
    (tmp_path / "appdir").mkdir()
    write(tmp_path / "appdir" / "__main__.py", SHOW)
    with zipfile.ZipFile(tmp_path / "app.pyz", "w") as z:
        z.writestr("__main__.py", SHOW)
    write(tmp_path / "showmod.py", SHOW)
    (tmp_path / "showpkg").mkdir()
    write(tmp_path / "showpkg" / "__init__.py", "")
    write(tmp_path / "showpkg" / "__main__.py", SHOW)
    (tmp_path / "nomain").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["./show.py", "a", "-b"],
        ["appdir/", "a"],
        ["app.pyz", "a"],
        ["-m", "showmod", "a"],
        ["-m", "showpkg", "a"],
        ["-c", SHOW, "a"],
        ["-", "a"],
        ["nomain"],
    ],
    ids=["file", "directory", "zipapp", "module", "package", "code", "stdin", "no-main"],
)
def test_every_form_is_pythons(tree, argv):
    """__main__'s globals (__file__, __cached__, __loader__, __spec__, __package__),
    sys.argv, sys.path[0], the traceback's frames and lines, the exit status."""
    py, ip = python_and_interp(argv, cwd=tree, input=SHOW if argv[0] == "-" else None)
    assert py.returncode == 1
    assert_same_as_python(py, ip, stderr=not _in_zip(argv[0]))
    assert ip.stderr.splitlines()[-1] == py.stderr.splitlines()[-1]


def _in_zip(program: str) -> bool:
    """3.12's python prints a traceback without the lines of source read from a zip
    (its C printer reads only files); the traceback module interp uses shows them."""
    return sys.version_info < (3, 13) and program.startswith("app")


def test_a_zip_application_need_not_end_in_pyz(tree):
    """python takes any zip file zipimport reads; a file merely holding the signature
    somewhere is a script."""
    (tree / "app.pyz").rename(tree / "app")
    write(tree / "fake.py", "print(b'PK\\x05\\x06')\n")
    for argv in (["app"], ["fake.py"]):
        py, ip = python_and_interp(argv, cwd=tree)
        assert_same_as_python(py, ip, stderr=not _in_zip(argv[0]))


# source files as bytes: each is run by python and by interp, and must come out the same
SOURCES = {
    # a latin-1 cookie wins even though the bytes are valid UTF-8
    "latin1-cookie": b"# -*- coding: latin-1 -*-\nprint(ascii('caf\xc3\xa9'))\n",
    "cookie-line-2": b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n"
    b"print(ascii('\x80'))\n",
    "cookie-line-not-utf8": b"#!/bin/sh\n#\xe9 coding: latin-1\nprint(ascii('\xe9'))\n",
    "bom": b"\xef\xbb\xbfprint(ascii('caf\xc3\xa9'))\n",
    "unknown-encoding": b"# -*- coding: foobar -*-\nprint('ran')\n",
    "unknown-on-line-2": b"\n# coding: foobar\nprint('ran')\n",
    "not-a-text-encoding": b"# coding: rot13\nprint('ran')\n",
    "bom-and-latin1": b"\xef\xbb\xbf# coding: latin-1\nprint('ran')\n",
    "not-utf8": b"print('caf\xe9')\nx = 1\n",
    "undecodable-for-cookie": b"# coding: ascii\nprint('caf\xc3\xa9')\n",
    "bad-utf8-with-cookie": b"# coding: utf-8\nprint('caf\xe9')\n",
}


def test_source_decoding_is_pythons(tmp_path):
    """Coding cookies and BOMs as python reads them; a file python cannot decode fails
    with python's SyntaxError (no traceback, status 1) and runs nothing."""
    for name, data in SOURCES.items():
        path = tmp_path / f"{name}.py"
        path.write_bytes(data)
        py, ip = python_and_interp([path], cwd=tmp_path)
        assert_same_as_python(py, ip)
        if b"ran" in data:
            assert py.returncode == 1 and "SyntaxError" in py.stderr, name
