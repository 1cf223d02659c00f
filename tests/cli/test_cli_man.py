"""man/interp.1 is generated from the click command tree and must match it."""

from __future__ import annotations

import os
import shutil
import subprocess

import click
import pytest

from interpcli.cli import man as cli_man
from interpcli.cli.app import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "man", "interp.1")


def committed() -> str:
    with open(PAGE, encoding="utf-8") as f:
        return f.read()


def test_man_page_is_up_to_date():
    assert committed() == cli_man.render(), (
        "man/interp.1 is stale: regenerate it with `python -m interpcli.cli.man > man/interp.1`"
    )


def test_man_page_documents_every_command_and_option():
    page = committed().replace("\\-", "-")
    ctx = click.Context(cli, info_name="interp")
    for name in cli.list_commands(ctx):
        assert f'.SS "interp {name}"' in page
        cmd = cli.get_command(ctx, name)
        for param in cmd.params:
            if isinstance(param, click.Option):
                for opt in param.opts + param.secondary_opts:
                    assert opt in page, (name, opt)
    for section in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "EXAMPLES",
    ):
        assert f".SH {section}" in page
    for code in ("0", "1", "2", "130"):
        assert f"\\fB{code}\\fR" in committed()


def test_man_page_renders_without_warnings():
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    p = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", PAGE], capture_output=True, text=True, timeout=60
    )
    assert (p.returncode, p.stderr) == (0, "")


def test_roff_escaping():
    assert cli_man.esc("a-b \\ .x") == "a\\-b \\e .x"
    assert cli_man.esc(".starts with a dot") == "\\&.starts with a dot"
