"""Units of the shell that need no interpreter: command parsing, Python input handling,
history location, the send expression, and rendering helpers."""

import os
import stat
import subprocess
import sys

import pytest

from interpcli.repl import commands as C
from interpcli.repl import pysource
from interpcli.repl.commands import CommandError, parse


# -- command parsing -----------------------------------------------------------------------
def test_every_command_parses_with_its_usage_arguments():
    samples = {
        "spawn": "%spawn w",
        "use": "%use w",
        "list": "%list",
        "close": "%close w",
        "chan": "%chan jobs",
        "send": "%send jobs b'x'",
        "recv": "%recv jobs",
        "run": "%run w f.py",
        "bg": "%bg w print(1)",
        "wait": "%wait",
        "stop": "%stop w",
        "results": "%results",
        "help": "%help",
        "exit": "%exit",
    }
    assert set(samples) == {c.name for c in C.COMMANDS}
    for name, line in samples.items():
        assert parse(line).name == name


def test_positional_arguments_and_flags():
    inv = parse("%spawn worker --shared-gil")
    assert inv.args == ("worker",) and inv.options == {"--shared-gil": True}
    inv = parse("  %spawn  ")
    assert inv.args == () and inv.options == {}
    assert parse("%spawn --shared-gil w").args == ("w",)


def test_float_option_with_space_or_equals():
    assert parse("%recv jobs --timeout 2.5").options == {"--timeout": 2.5}
    assert parse("%recv jobs --timeout=0.1").options == {"--timeout": 0.1}


def test_rest_parameter_keeps_the_raw_code():
    inv = parse("%bg w for m in jobs: print('got', m)  ")
    assert inv.args == ("w", "for m in jobs: print('got', m)")
    inv = parse('%send jobs b"a b" + bytes([1, 2])')
    assert inv.args == ("jobs", 'b"a b" + bytes([1, 2])')


def test_aliases():
    assert parse("%quit").name == "exit"
    assert parse("%ls").name == "list"


@pytest.mark.parametrize(
    "line, message",
    [
        ("%frobnicate", "unknown command %frobnicate; %help lists them"),
        ("%spwan b", "did you mean %spawn?"),
        ("%", "a command name must follow %"),
        ("%use", "%use needs NAME"),
        ("%use a b", "%use takes at most 1 argument"),
        ("%run", "%run needs NAME"),
        ("%bg w", "%bg needs CODE"),
        ("%send jobs", "%send needs EXPR"),
        ("%recv jobs --timeout", "--timeout needs a value"),
        ("%recv jobs --timeout soon", "--timeout needs a number, not 'soon'"),
        ("%recv jobs --timeout -1", "--timeout must be positive"),
        ("%spawn --fast", "unknown option --fast (options: --shared-gil)"),
        ("%list --all", "unknown option --all (options: none)"),
        ("%spawn --shared-gil=yes", "--shared-gil takes no value"),
        ("%use 'unclosed", "%use: No closing quotation"),
        ("%results two", "N must be a number"),
    ],
)
def test_bad_command_lines_give_one_clear_line(line, message):
    with pytest.raises(CommandError) as info:
        parse(line)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_is_command():
    assert C.is_command("%list") and C.is_command("  %help")
    assert not C.is_command("x % 2") and not C.is_command("print('%d' % 1)")


def test_prefix_never_starts_python():
    """A `%` line can never be Python, and the shell routes every one to its commands."""
    for word in ("%list", "%spawn a", "  %help", "%"):
        with pytest.raises(SyntaxError):
            compile(word, "<t>", "exec")
        assert C.is_command(word)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("%", (None, None, "")),
        ("%sp", (None, None, "sp")),
        ("%use ", ("use", "NAME", "")),
        ("%use re", ("use", "NAME", "re")),
        ("%run w ", ("run", "FILE", "")),
        ("%send jo", ("send", "CH", "jo")),
        ("%spawn w --sh", ("spawn", "OPTION", "--sh")),
        ("%help sp", ("help", "COMMAND", "sp")),
        ("%list ", ("list", None, "")),
        ("%nosuch x", (None, None, "")),
    ],
)
def test_param_at(text, expected):
    cmd, param, word = C.param_at(text)
    assert (cmd and cmd.name, param and param.name, word) == expected


def test_usage_and_help_text():
    from interpcli.repl import render

    assert C.BY_NAME["spawn"].usage == "%spawn [NAME] [--shared-gil]"
    assert C.BY_NAME["recv"].usage == "%recv CH [--timeout S]"
    text = render.help_text()
    for c in C.COMMANDS:
        assert c.usage in text
    assert "Also: %quit" in render.help_text(C.BY_NAME["exit"])


# -- Python input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "x = 1",
        "1 + 1",
        "print('a')",
        "x = = 1",
        "def f(): return 1",
        "import os",
        "for i in range(3):\n    print(i)\n",
        "for i in range(3):\n    print(i)\n    ",
        "if x:\n    pass\nelse:\n    pass\n",
        "",
        "   ",
    ],
)
def test_complete_inputs(text):
    assert not pysource.needs_more(text)


@pytest.mark.parametrize(
    "text",
    [
        "for i in range(3):",
        "def f():",
        "with open('f') as f:",
        "x = (1,",
        "class A:",
        "for i in range(3):\n    print(i)",
        "s = '''abc",
        "x = [\n",
        "if x:  ",
    ],
)
def test_unfinished_inputs(text):
    assert pysource.needs_more(text)


def test_defined_names():
    src = (
        "import os, numpy as np\nfrom a.b import c as d\nx = y = 1\nfor i, j in []: pass\n"
        "def f(): z = 2\nclass K: pass\nwith open('f') as fh: pass\n(w := 3)\n__x = 1\n"
    )
    names = pysource.defined_names(src)
    assert {"os", "np", "d", "x", "y", "i", "j", "f", "K", "fh", "w"} <= names
    assert "__x" not in names
    assert pysource.defined_names("x = = 1") == set()


def test_clean_traceback_drops_shell_frames_only():
    tb = (
        "Traceback (most recent call last):\n"
        '  File "<interp-shell>", line 1, in <module>\n'
        '  File "<interp-shell>", line 9, in run_input\n'
        '  File "<in-3>", line 1, in <module>\n    1/0\n'
        "ZeroDivisionError: division by zero\n"
    )
    assert pysource.clean_traceback(tb) == (
        'Traceback (most recent call last):\n  File "<in-3>", line 1, in <module>\n'
        "    1/0\nZeroDivisionError: division by zero\n"
    )
    syntax = (
        "Traceback (most recent call last):\n"
        '  File "<interp-shell>", line 1, in <module>\n'
        '  File "<in-1>", line 1\n    x = = 1\n        ^\nSyntaxError: invalid syntax\n'
    )
    assert pysource.clean_traceback(syntax).startswith('  File "<in-1>", line 1\n')
    bare = (
        "Traceback (most recent call last):\n"
        '  File "<interp-shell>", line 1, in <module>\nKeyboardInterrupt\n'
    )
    assert pysource.clean_traceback(bare) == "KeyboardInterrupt\n"
    assert pysource.clean_traceback(None) == ""


def test_wrap_is_one_line_of_python():
    src = "x = '''a\nb'''\nprint(\"q\")"
    wrapped = pysource.wrap(src, "<in-1>")
    assert wrapped.count("\n") == 1
    compile(wrapped, "<t>", "exec")


# -- send expressions ----------------------------------------------------------------------
def test_evaluate_bytes():
    from interpcli.repl.actions import evaluate_bytes

    assert evaluate_bytes("b'ab' * 2") == b"abab"
    assert evaluate_bytes("'é'.encode()") == "é".encode()
    assert evaluate_bytes("bytearray(b'x')") == b"x"
    assert evaluate_bytes("memoryview(b'xy')[1:]") == b"y"
    for expr, message in [
        ("'text'", "is a str; channels carry bytes"),
        ("42", "gave int, not bytes"),
        ("1/0", "raised ZeroDivisionError: division by zero"),
        ("b'x' +", "invalid expression"),
    ]:
        with pytest.raises(CommandError, match=message):
            evaluate_bytes(expr)


# -- history -------------------------------------------------------------------------------
def test_history_path_env_and_xdg(tmp_path):
    from interpcli.repl.history import history_path

    assert history_path({"INTERP_HISTORY": str(tmp_path / "h")}) == str(tmp_path / "h")
    assert history_path({"INTERP_HISTORY": ""}) is None
    assert history_path({"XDG_DATA_HOME": "/data"}) == "/data/interpcli/history"
    home = os.path.expanduser("~")
    assert history_path({}) == os.path.join(home, ".local", "share", "interpcli", "history")
    assert history_path({"XDG_DATA_HOME": "relative"}).startswith(home)


def test_history_file_is_private(tmp_path):
    from interpcli.repl.history import make_history

    path = tmp_path / "deep" / "er" / "history"
    history, used, warning = make_history(str(path))
    assert used == str(path) and warning is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loose = tmp_path / "loose"  # a file the shell did not create keeps its mode
    loose.write_text("")
    loose.chmod(0o644)
    make_history(str(loose))
    assert stat.S_IMODE(loose.stat().st_mode) == 0o644


def test_history_unusable_location_falls_back_to_memory(tmp_path):
    from interpcli.repl.history import make_history

    blocker = tmp_path / "file"
    blocker.write_text("")
    history, used, warning = make_history(str(blocker / "history"))
    assert used is None and "history not saved" in warning
    assert make_history(None)[1:] == (None, None)


# -- the heavy modules load only with the REPL ----------------------------------------------
def test_imports_stay_light():
    code = (
        "import sys, interpcli, interpcli.repl, interpcli.repl.commands, "
        "interpcli.repl.pysource\n"
        "heavy = [m for m in ('prompt_toolkit', 'rich', 'pygments') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- key handling and highlighting ----------------------------------------------------------
@pytest.mark.parametrize(
    "text, at_end, accept",
    [
        ("x = 1", True, True),
        ("%list", True, True),
        ("%bg w for m in jobs: print(m)", True, True),
        ("for i in range(3):", True, False),
        ("for i in range(3):\n    print(i)", True, False),
        ("for i in range(3):\n    print(i)\n", True, True),
        ("for i in range(3):\n    print(i)\n", False, False),  # editing inside a block
        ("x = (1,", True, False),
        ("x = = 1", True, True),
    ],
)
def test_enter_runs_or_opens_a_line(text, at_end, accept):
    from interpcli.repl.keys import should_accept

    assert should_accept(text, at_end) is accept


def test_highlighting_python_and_commands():
    from prompt_toolkit.document import Document

    from interpcli.repl.ui import ShellLexer

    lexer = ShellLexer()
    line = lexer.lex_document(Document("%spawn w --shared-gil"))(0)
    assert line[1] == ("class:command", "%spawn")
    assert line[2] == ("class:command.args", " w --shared-gil")
    tokens = lexer.lex_document(Document("def f(): return 'x'"))(0)
    styles = {text: style for style, text in tokens}
    assert "keyword" in styles["def"].lower() and "string" in styles["x"].lower()


def test_tracebacks_are_coloured_only_on_a_terminal(monkeypatch, capsys):
    import re

    from interpcli.repl import render
    from interpcli.results import InterpreterRef, RunResult

    tb = (
        'Traceback (most recent call last):\n  File "<in-1>", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    result = RunResult(
        "1/0", (), False, InterpreterRef(1, "w"), "ZeroDivisionError", "division by zero", tb, 1
    )
    render.show_failure(result)
    assert capsys.readouterr().err == tb
    coloured = render._highlight_traceback(tb)
    assert "\x1b[" in coloured and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == tb
    monkeypatch.setenv("NO_COLOR", "1")
    assert not render._color_on(sys.stdout)


def test_outcome_words():
    from interpcli.repl import render
    from interpcli.results import InterpreterRef, RunResult

    ref = InterpreterRef(1, "w")
    assert render.outcome(RunResult("x", (), True, ref)) == "ok"
    assert render.outcome(RunResult("x", (), False, ref, "SystemExit", "3", None, 3)) == "exit 3"
    assert (
        render.outcome(RunResult("x", (), False, ref, "TimeoutError", "t", None, 1, timed_out=True))
        == "timed out"
    )
    assert (
        render.job_line(4, "w", RunResult("x", (), False, ref, "ValueError", "bad"))
        == "[bg] w: result #4 ValueError: bad"
    )
    assert render.first_line("\n  a = 1\nb = 2\n") == "a = 1 …"
