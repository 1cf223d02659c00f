"""The click command tree of `interp`: run, pipe, shell. Usage errors become one line on
stderr and exit status 2; the scripts' own failures are reported by cli.session."""

from __future__ import annotations

import sys

import click

from .. import __version__
from .._term import columns
from . import options, report
from .programs import UsageProblem
from .status import ExitStatus, failure_status

_HELP_WIDTH = 100
# the width click's help formatter would take (it imports shutil for it: see _term.columns)
CONTEXT = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": _HELP_WIDTH,
    "terminal_width": max(min(columns(), _HELP_WIDTH) - 2, 50),
}
# click >= 8.2 raises this for a group called without a command; older click exits 0
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class ScriptCommand(click.Command):
    """A command whose positional arguments are all scripts; the scripts' own arguments
    come after `--` (so options may follow the scripts: `interp run a.py --channels x`)."""

    def collect_usage_pieces(self, ctx):
        return [*super().collect_usage_pieces(ctx), "[-- ARGS]..."]

    def parse_args(self, ctx, args):
        takes_value = set()
        for param in self.params:
            if isinstance(param, click.Option) and not param.is_flag and not param.count:
                takes_value.update(param.opts)
        for i, a in enumerate(args):
            if a == "--" and (i == 0 or args[i - 1] not in takes_value):
                ctx.meta["interp.script_args"] = list(args[i + 1 :])
                args = list(args[:i])
                break
        else:
            ctx.meta["interp.script_args"] = []
        return super().parse_args(ctx, args)


def _version_message() -> str:
    """`interp 0.2.0 (Python 3.13.0, waits: futex)`: the waits the C core was built with."""
    v = sys.version_info
    try:
        from .._lowlevel import WAIT_LAYER as waits
    except ImportError:
        waits = "core not built"
    return f"interp {__version__} (Python {v.major}.{v.minor}.{v.micro}, waits: {waits})"


def _show_version(ctx, _param, value) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_message())
        ctx.exit()


@click.group(context_settings=CONTEXT)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
def cli():
    """Run Python scripts in CPython subinterpreters connected by channels.

    Each script runs in its own interpreter with its own GIL, so several scripts run in
    parallel in one process; channels carry bytes between them without polling."""


def _check_timeout(ctx, param, value):
    import threading

    if value is None or value >= threading.TIMEOUT_MAX:
        return None  # inf, or longer than a thread can wait: no timeout
    if value != value:
        raise click.BadParameter("not a number of seconds", ctx, param)
    return value


def click_option(o: options.Option) -> click.Option:
    """The click option for an entry of cli.options' table."""
    kw: dict = {"help": o.help, "metavar": o.metavar, "show_default": o.show_default}
    if o.kind == "flag":
        kw["is_flag"] = True
    elif o.kind == "choice":
        kw["type"] = click.Choice(o.choices)
    elif o.kind == "seconds":
        kw.update(type=click.FloatRange(min=0, min_open=True), callback=_check_timeout)
    if o.multiple:
        kw["multiple"] = True
    elif o.kind != "flag":
        kw["default"] = o.default
    return click.Option([*o.flags, o.dest], **kw)


def table_params(command: str) -> list:
    """The click parameters of command (run or pipe): its positional arguments, then its
    options, from cli.options."""
    name, metavar = options.ARGUMENTS[command]
    return [
        click.Argument([name], nargs=-1, metavar=metavar),
        *(click_option(o) for o in options.options_of(command)),
    ]


@cli.command(cls=ScriptCommand, context_settings=CONTEXT, params=table_params("run"))
@click.pass_context
def run(ctx, /, **params):
    """Run scripts, each in a fresh interpreter, all in parallel.

    Every positional argument is a script: a file, a directory or zip application with a
    __main__.py, or `-` (read from stdin); the scripts' own arguments follow `--`:
    `interp run hello.py -- a b` gives sys.argv == ['hello.py', 'a', 'b']. -c CODE and -m
    MODULE run after the scripts, each in an interpreter of its own."""
    return _run_parsed(ctx, "run", params)


@cli.command(cls=ScriptCommand, context_settings=CONTEXT, params=table_params("pipe"))
@click.pass_context
def pipe(ctx, /, **params):
    """Run scripts as an in-process pipeline: stdin | STAGE | STAGE ... | stdout.

    One interpreter per stage, all running at once. Each stage reads channels.stdin (a
    receive end: iterate over it, it ends at EOF) and writes channels.stdout (a send end);
    the first stage reads this process's stdin, the last one's output goes to stdout.
    Forward a message you received with channels.stdout.send_buffer(msg) to pass it on
    without copying. Arguments after `--` go to every stage."""
    return _run_parsed(ctx, "pipe", params)


def _run_parsed(ctx, command: str, params: dict) -> int:
    from . import commands

    parsed = options.Parsed(command, params, ctx.meta.get("interp.script_args", []))
    try:
        return commands.execute(parsed, (ctx.obj or {}).get("early"))
    except UsageProblem as exc:
        raise click.UsageError(str(exc), ctx) from None


@cli.command(context_settings=CONTEXT, params=[click_option(options.option("shared_gil"))])
def shell(shared_gil):
    """Start the interactive REPL (interpreters, channels, runs)."""
    import importlib

    try:
        repl = importlib.import_module("interpcli.repl")
    except ImportError as exc:
        if exc.name in ("interpcli.repl",):
            raise click.ClickException("the REPL (interpcli.repl) is not installed") from None
        raise click.ClickException(f"cannot start the REPL: {exc}") from None
    return repl.main(shared_gil)


@cli.command(context_settings=CONTEXT)
@click.argument("targets", nargs=-1, metavar="[SCRIPT|DISTRIBUTION]...")
@click.option(
    "-m",
    "--module",
    "modules",
    metavar="MODULE",
    multiple=True,
    help="Check MODULE and its submodules. Repeatable.",
)
@click.option("--all", "all_installed", is_flag=True, help="Check every installed distribution.")
@click.option("--stdlib", is_flag=True, help="Check every importable stdlib module.")
@click.option(
    "--result",
    "result_mode",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table on stdout, or JSON.",
)
@click.option(
    "--problems",
    is_flag=True,
    help="List only the modules that do not load isolated or fall back to pure "
    "Python (the summary still counts all).",
)
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Child processes importing at once (default: the cores, at most 4).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    default=60.0,
    show_default=True,
    help="Give up on a module whose import takes longer.",
)
@click.pass_context
def check(ctx, targets, modules, all_installed, stdlib, result_mode, problems, workers, timeout):
    """Tell which modules can run in an isolated interpreter.

    Imports each target's modules and submodules in a fresh isolated interpreter, and
    those that fail there in a fresh shared-GIL one, then prints a row per module: loads
    isolated, shared-GIL only or fails; whether it falls back to pure Python because an
    extension refused; the reason (single-phase init, no per-interpreter GIL support,
    known crash, the error); and its import time. A SCRIPT is checked for the modules it
    imports; a DISTRIBUTION for its top-level modules. The imports happen in child
    processes, so a module that crashes is reported, never fatal. Exit status 0 when every
    module loads isolated, 1 otherwise."""
    from . import check as checking

    try:
        return checking.check(
            targets, modules, all_installed, stdlib, result_mode, problems, workers, timeout
        )
    except UsageProblem as exc:
        raise click.UsageError(str(exc), ctx) from None


def run_cli(args, environment=None, early=None) -> int:
    """Parse args and run in environment (cli.environment: the current one by default)
    with the interpreters made early (cli.early, owned by the caller); the exit status.
    Never lets a Python traceback of ours out."""
    from .environment import current

    prog_name = (environment or current()).program_name
    try:
        rv = cli.main(args, prog_name=prog_name, standalone_mode=False, obj={"early": early})
    except _NO_ARGS_IS_HELP as exc:
        click.echo(exc.ctx.get_help(), err=True)
        return ExitStatus.USAGE
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else prog_name
        report.usage_error(where, exc.format_message())
        return ExitStatus.USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return ExitStatus.INTERRUPTED
    except KeyboardInterrupt:
        raise  # cli.main leaves at once
    except click.ClickException as exc:
        report.error(exc.format_message())
        return exc.exit_code
    except Exception as exc:
        return failure_status(exc)
    if isinstance(rv, int):
        return rv
    return ExitStatus.OK
