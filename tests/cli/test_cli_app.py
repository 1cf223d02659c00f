"""The click tree in-process (CliRunner and run_cli): help, usage errors in one line,
the `--` split, the early interpreter, `interp shell` without a REPL."""

from __future__ import annotations

import sys

import click
import pytest
from click.testing import CliRunner

import interpcli.cli as entry
from interpcli.cli.app import cli, run_cli


@pytest.mark.parametrize("args", [[], ["run"], ["pipe"], ["shell"]])
def test_help_with_clirunner(args):
    r = CliRunner().invoke(cli, [*args, "--help"])
    assert r.exit_code == 0
    assert r.output.startswith("Usage: ")


def test_cli_attribute_is_the_group():
    assert entry.cli is cli


def test_version_with_clirunner():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("interp ")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "--nope"], "No such option"),
        (["run", "-c"], "requires an argument"),
        (["run", "-c", "pass", "--channels", "9x"], "not a valid channel name"),
        (["run", "-c", "pass", "--stdin", "zz"], "--stdin zz: unknown channel"),
        (["pipe", "x.py", "--channels", "stdout"], "reserved"),
        (["bogus"], "No such command"),
    ],
)
def test_usage_errors_one_line(capsys, args, needle):
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert err.startswith("interp")


def test_shell_without_repl_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "interpcli.repl", None)  # import fails
    assert run_cli(["shell"]) == 1
    err = capsys.readouterr().err
    assert err == "interp: the REPL (interpcli.repl) is not installed\n"


def test_shell_calls_repl_main(monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("interpcli.repl")
    fake.main = lambda shared_gil: calls.append(shared_gil) or 0
    monkeypatch.setitem(sys.modules, "interpcli.repl", fake)
    assert run_cli(["shell"]) == 0
    assert run_cli(["shell", "--shared-gil"]) == 0
    assert calls == [False, True]


def test_shell_reports_a_broken_repl_in_one_line(monkeypatch, capsys):
    import types

    fake = types.ModuleType("interpcli.repl")

    def bad_main(shared_gil):
        raise ImportError("No module named 'prompt_toolkit'", name="prompt_toolkit")

    fake.main = bad_main
    monkeypatch.setitem(sys.modules, "interpcli.repl", fake)
    assert run_cli(["shell"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "prompt_toolkit" in err


@pytest.mark.parametrize(
    "args,names",
    [
        (["run", "a/b/hello.py"], ["hello"]),
        (["run", "--channels", "x", "hello.py", "--", "z.py"], ["hello"]),
        (["run", "--stdin", "x.py", "s.py"], ["s"]),
        (["run", "-c", "pass", "-cpass", "b.py"], ["b", "c", "c-2"]),
        (["run", "-m", "json.tool", "b/json.tool"], ["json.tool", "json.tool-2"]),
        (["pipe", "a.py", "b.py", "x/a.py"], ["a", "b", "a-2"]),
        (["run", "x.py", "--shared-gil"], []),
        (["run", "--", "x.py"], []),
    ],
)
def test_early_interpreter_names(args, names):
    from interpcli.cli import quickargs
    from interpcli.cli.early import EarlyInterpreters

    parsed = quickargs.parse(args)
    early = EarlyInterpreters.for_line(parsed)
    try:
        assert (early.names if early is not None else []) == names
    finally:
        if early is not None:
            early.close()


def test_early_names_are_the_programs_names(tmp_path, monkeypatch):
    """The interpreters made early are found by name: the names must be those the
    programs get."""
    from interpcli.cli import programs, quickargs

    monkeypatch.chdir(tmp_path)
    for f in ("a.py", "b.py"):
        (tmp_path / f).write_text("pass\n")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.py").write_text("pass\n")
    args = ["run", "a.py", "x/a.py", "-c", "1", "-m", "a", "-c", "2", "b.py"]
    parsed = quickargs.parse(args)
    params = parsed.params
    progs = [programs.script(p, []) for p in params["scripts"]]
    progs += [programs.code(c, []) for c in params["codes"]]
    progs += [programs.module(m, []) for m in params["modules"]]
    assert [programs.base_name(p.kind, p.what) for p in progs] == ["a", "a", "b", "c", "c", "a"]
    assert parsed.names() == ["a", "a-2", "b", "c", "c-2", "a-3"]


QUICK_LINES = [
    ["run", "a/b/hello.py"],
    ["run", "a.py", "b.py", "--", "x", "--", "-y"],
    ["run", "--channels", "x", "hello.py", "--", "z.py"],
    ["run", "--channels=x,y", "--channels", "z", "a.py", "--stdin", "x", "--stdout=y"],
    ["run", "-c", "pass", "-cprint(1)", "--code=x=1", "-m", "json.tool", "-mjson"],
    ["run", "--result", "json", "--timeout", "2.5", "a.py", "--shared-gil"],
    ["run", "--timeout=inf", "--result=none", "a.py"],
    ["run", "--stdin", "a", "--stdin", "b", "a.py"],
    ["run", "-", "--", "x"],
    ["run"],
    ["run", "--", "a.py"],
    ["pipe", "a.py", "b.py", "--channels", "c", "--timeout", "1e3"],
    ["pipe", "--result=table", "a.py", "--", "--help"],
]

NOT_QUICK = [
    [],
    ["shell"],
    ["--help"],
    ["run", "--help"],
    ["run", "-h", "a.py"],
    ["pipe", "-V"],
    ["run", "a.py", "--bogus"],
    ["run", "--result", "fancy", "a.py"],
    ["run", "--timeout", "0", "a.py"],
    ["run", "--timeout", "nan", "a.py"],
    ["run", "--timeout", "soon", "a.py"],
    ["run", "-c"],
    ["run", "-c", "-1"],
    ["pipe", "-c", "pass"],
    ["pipe", "--stdin", "x", "a.py"],
    ["run", "--shared-gil=1"],
    ["run", "--code", "--", "a.py"],
]


@pytest.mark.parametrize("args", QUICK_LINES)
def test_quick_parse_reads_a_line_as_click_does(args):
    """`interp run`/`pipe` start without click when cli.quickargs can read the line: it
    must read it exactly as the click tree does."""
    from interpcli.cli import quickargs

    parsed = quickargs.parse(args)
    ctx = cli.commands[parsed.command].make_context(parsed.command, list(args[1:]))
    assert parsed.script_args == ctx.meta["interp.script_args"]
    assert parsed.params == ctx.params


@pytest.mark.parametrize("args", NOT_QUICK)
def test_quick_parse_leaves_the_rest_to_click(args):
    from interpcli.cli import quickargs

    assert quickargs.parse(args) is None


def test_script_args_split():
    from interpcli.cli.app import ScriptCommand

    ctx = click.Context(cli.commands["run"], info_name="run")
    cmd = cli.commands["run"]
    assert isinstance(cmd, ScriptCommand)
    cmd.parse_args(ctx, ["a.py", "-c", "--", "--", "x", "--", "y"])
    assert ctx.meta["interp.script_args"] == ["x", "--", "y"]
    assert ctx.params["codes"] == ("--",) and ctx.params["scripts"] == ("a.py",)
