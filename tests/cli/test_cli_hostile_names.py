"""`interp` against names Python cannot bind and scripts that break their own interpreter:
channel names that are keywords, `__dunder__` names (`__debug__` cannot be assigned at
all) or equal once NFKC-normalized are one-line usage errors (status 2) found before any
interpreter runs; a script that clears sys.modules or replaces __import__ still gets
python's own traceback."""

import pytest
from helpers import assert_one_line_error, assert_same_as_python, interp, python_and_interp


@pytest.mark.parametrize(
    "names, says",
    [
        ("__debug__", "'__debug__' is a __dunder__ identifier"),  # was a SyntaxError, 1
        ("__dict__", "'__dict__' is a __dunder__ identifier"),  # was a TypeError, 1
        ("fi,ﬁ", "channel 'fi' is given twice ('fi' and 'ﬁ' are the same name to Python)"),
        ("ｉｆ", "'ｉｆ' is a Python keyword"),  # NFKC: if
        ("None", "'None' is a Python keyword"),
    ],
)
def test_channel_names_python_cannot_bind(names, says):
    commands = [("run", "-c", "pass")]
    if names == "__debug__":
        commands.append(("pipe", "stage.py"))  # the same check, once is enough
    for command in commands:
        line = assert_one_line_error(interp(*command, "--channels", names))
        assert says in line, line
        assert "prelude" not in line


def test_a_channel_name_is_the_name_python_reads(tmp_path):
    # `ﬁ` in source is `fi` to Python: the channel is bound as channels.fi, and --stdin
    # may name it either way
    proc = interp(
        "run",
        "-c",
        "import sys; print(sorted(vars(channels)), bytes(channels.ﬁ.recv()))",
        "--channels",
        "ﬁ",
        "--stdin",
        "ﬁ",
        "--result",
        "none",
        input="data",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['fi'] b'data'\n"


@pytest.mark.parametrize(
    "code",
    [
        "import sys; sys.modules.clear(); 1/0",
        "import builtins; builtins.__import__ = None\ndef f(): raise KeyError('k')\nf()",
    ],
)
def test_a_script_that_breaks_its_own_interpreter_still_gets_pythons_traceback(code):
    # the traceback module cannot be imported there: interp printed only
    # "(the traceback could not be formatted)"
    py, ip = python_and_interp(["-c", code])
    assert_same_as_python(py, ip)
