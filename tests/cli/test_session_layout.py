"""The shape of what runs programs: code sent into an interpreter is one line that imports
a module of the package (the module can be linted, typed and covered), exit statuses are
decided in cli/status.py alone, and the CLI's results table shows what the user named as
it is, as the shell's does (one presentation module draws both)."""

import ast
import pathlib

from helpers import interp, write

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "interpcli"


def test_code_sent_into_interpreters_is_one_line_importing_a_module(tmp_path):
    from interpcli import _faultserver, create_channel
    from interpcli.channels import binding_source
    from interpcli.cli import ctrlc, ending, programs
    from interpcli.repl import bridge

    script = write(tmp_path / "s.py", "pass\n")
    recv, send = create_channel()
    sources = {
        "exit steps": [ending.AT_EXIT, ending.EXIT_FLUSH, ending.REPORT_REFUSALS],
        "channels": [binding_source({"a": recv, "b": send})],
        "preludes": [
            programs.script(str(script), ["x"]).prelude,
            programs.code("print(1)\nprint(2)", []).prelude,
            programs.module("json.tool", []).prelude,
            programs.script(str(tmp_path), []).prelude,
        ],
        "faulthandler": [_faultserver.prelude(3)],
        "signals": [ctrlc.SIGNALS],
        "shell": [bridge.BOOTSTRAP, bridge.REINSTALL],
    }
    for what, texts in sources.items():
        for text in texts:
            lines = text.strip("\n").splitlines()
            assert len(lines) <= 3 and "interpcli." in text, (what, text)
            if what != "signals":
                assert len(lines) == 1, (what, text)


def test_exit_statuses_are_decided_in_status_py():
    # python's own statuses (120: flushing stdout failed at exit, 130: Ctrl-C) and the
    # way out of the process without cleanup are named once, in cli/status.py
    found = []
    for path in sorted((PACKAGE / "cli").glob("*.py")) + sorted((PACKAGE / "repl").glob("*.py")):
        if path.name == "status.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and type(node.value) is int
                and node.value in (120, 130, 141)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value}")
            if isinstance(node, ast.Attribute) and node.attr == "_exit":
                found.append(f"{path.name}:{node.lineno}: os._exit")
    assert not found, "\n".join(found)


def test_result_table_shows_names_as_given(tmp_path):
    # a file name with brackets: rich would read "[b]" as markup and drop it
    script = write(tmp_path / "[b]x.py", "raise ValueError('[i]y')\n")
    p = interp("run", script, "--result", "table", env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert p.returncode == 1, p.stderr
    table = p.stderr[p.stderr.index("┃") :] if "┃" in p.stderr else p.stderr
    assert "[b]x" in table and "ValueError: [i]y" in table, p.stderr
