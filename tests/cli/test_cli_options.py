"""One table of options (cli.options) for `interp run` and `interp pipe`: the click tree
(cli.app) and the click-free quick parser (cli.quickargs) are built from it and read every
command line alike: generated lines (options in any order, `--opt=value` and `--opt value`,
`-cVALUE`, `--`, script arguments that look like options, repeated options, bad values) get
the same values from both, or the quick parser leaves them to click."""

from __future__ import annotations

import click
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from interpcli.cli import options, quickargs
from interpcli.cli.app import cli

VALUES = [
    "x",
    "a,b",
    "",
    "json",
    "table",
    "auto",
    "none",
    "TABLE",
    "1",
    "2.5",
    " 3",
    "1_0",
    "0",
    "-1",
    "nan",
    "inf",
    "1e400",
    "soon",
    "=x",
    "x=y",
    "-",
    "--",
    "-x",
    "--help",
    "a.py",
    "é",
]
POSITIONAL = ["a.py", "b/c.py", "-", "x", "a", "-x", "--bogus", "-h"]
OTHER_FLAGS = [
    "--stdin",
    "--stdout",
    "-c",
    "--code",
    "-m",
    "--module",
    "--bogus",
    "-z",
    "--shared-gil=1",
    "--strict=",
    "--result",
]


@st.composite
def option_tokens(draw):
    """One option as tokens: a flag of the table in one of its forms, or another."""
    o = draw(st.sampled_from(options.OPTIONS + (None,)))
    if o is None:  # not an option of the table
        return [draw(st.sampled_from(OTHER_FLAGS))]
    flag = draw(st.sampled_from(o.flags))
    if o.kind == "flag":
        return [flag]
    if o.kind == "choice":
        value = draw(st.sampled_from(o.choices + tuple(VALUES)))
    elif o.kind == "seconds":
        value = draw(st.one_of(st.sampled_from(VALUES), st.floats(allow_nan=True).map(repr)))
    else:
        value = draw(st.one_of(st.sampled_from(VALUES), st.text(max_size=4)))
    if len(flag) == 2:  # -c: `-c V`, `-cV`, `-c=V`
        return draw(st.sampled_from([[flag, value], [flag + value], [flag + "=" + value]]))
    return draw(st.sampled_from([[flag, value], [f"{flag}={value}"]]))


@st.composite
def command_lines(draw):
    """An argv of interp for run or pipe."""
    line = [draw(st.sampled_from(options.COMMANDS))]
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 2)) == 0:
            line.append(draw(st.sampled_from(POSITIONAL)))
        else:
            line += draw(option_tokens())
    if draw(st.booleans()):
        line.append("--")
        line += draw(st.lists(st.sampled_from(POSITIONAL + VALUES), max_size=3))
    return line


def may_be_a_dash_value(line) -> bool:
    """Whether click may read a token that starts with `-` as an option's value (`-c -1`,
    `--code=-x`, `--stdin -`, `-c --`): the quick parser leaves such lines to click."""
    command = line[0]
    takes_value = {f for o in options.options_of(command) if o.kind != "flag" for f in o.flags}
    flags = {f for o in options.options_of(command) for f in o.flags}
    for i, a in enumerate(line[1:], 1):
        if a == "--":
            return line[i - 1] in takes_value
        if not a.startswith("-"):
            continue
        if a == "-" or line[i - 1] in takes_value:
            return True
        opt, _, value = a.partition("=") if a.startswith("--") else (a[:2], "", a[2:])
        if opt not in flags or value.startswith("-"):
            return True
    return False


def click_parse(line):
    """(params, script args) as the click tree reads line, or None when it refuses it."""
    command = cli.commands[line[0]]
    try:
        ctx = command.make_context(line[0], list(line[1:]))
    except (click.ClickException, click.exceptions.Exit):
        return None
    return ctx.params, ctx.meta["interp.script_args"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@example(["run", "--timeout", "1e400", "a.py", "--channels=x", "--", "-c", "y"])
@example(["pipe", "--strict", "b.py", "--result=none", "--channels", "a,b"])
@example(["run", "-cpass", "-m", "json", "--stdin", "x", "--stdin=y", "--shared-gil"])
@given(command_lines())
def test_quick_parser_and_click_read_a_line_alike(line):
    quick = quickargs.parse(line)
    clicked = click_parse(line)
    if quick is None:
        # left to click: only a line click refuses, or one with a value that starts
        # with `-`
        assert clicked is None or may_be_a_dash_value(line), line
        return
    assert clicked is not None, line  # never accept what click refuses
    params, script_args = clicked
    assert quick.command == line[0]
    assert quick.params == params, line
    assert quick.script_args == script_args, line


@pytest.mark.parametrize("command", options.COMMANDS)
def test_both_parsers_are_built_from_the_table(command):
    """Every option of the table is in the click command and in the quick parser, with
    the same flags, and nothing else is."""
    table = {o.dest: o for o in options.options_of(command)}
    clicked = {
        p.name: p
        for p in cli.commands[command].params
        if isinstance(p, click.Option) and p.name != "help"
    }
    assert set(clicked) == set(table)
    for dest, p in clicked.items():
        o = table[dest]
        assert tuple(p.opts) == o.flags and p.help == o.help and p.multiple == o.multiple
        assert p.is_flag == (o.kind == "flag")
    quick = {flag: o.dest for flag, o in quickargs._BY_FLAG[command].items()}
    assert quick == {flag: o.dest for o in table.values() for flag in o.flags}
    params, _ = click_parse([command])
    positional = options.ARGUMENTS[command][0]
    assert params.pop(positional) == ()
    assert options.defaults(command) == params
