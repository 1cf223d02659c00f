"""The click command tree of `interp`: run, pipe, shell. Usage errors become one line on
stderr and exit status 2; the scripts' own failures are reported by cli.session."""
from __future__ import annotations

import sys

import click

from .. import __version__
from .._term import columns
from . import report
from .programs import UsageProblem
from .quickargs import RESULT_MODES
from .status import ExitStatus, failure_status

_HELP_WIDTH = 100
# the width click's help formatter would take (it imports shutil for it: see _term.columns)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": _HELP_WIDTH,
           "terminal_width": max(min(columns(), _HELP_WIDTH) - 2, 50)}
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
                ctx.meta["interp.script_args"] = list(args[i + 1:])
                args = list(args[:i])
                break
        else:
            ctx.meta["interp.script_args"] = []
        return super().parse_args(ctx, args)


def _version_message() -> str:
    v = sys.version_info
    return f"%(prog)s %(version)s (Python {v.major}.{v.minor}.{v.micro})"


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="interp",
                      message=_version_message())
def cli():
    """Run Python scripts in CPython subinterpreters connected by channels.

    Each script runs in its own interpreter with its own GIL, so several scripts run in
    parallel in one process; channels carry bytes between them without polling."""


channels_option = click.option(
    "--channels", "channels", metavar="A,B", multiple=True,
    help="Create these named channels; each script sees them as channels.A, channels.B "
         "(both ends; under asyncio, await channels.A.recv_async() and send_async()). "
         "Repeatable.")
result_option = click.option(
    "--result", "result_mode", type=click.Choice(RESULT_MODES), default="auto",
    show_default=True,
    help="How to report the runs on stderr: a table (auto: when stderr is a terminal), "
         "json, or none.")
def _check_timeout(ctx, param, value):
    import threading
    if value is None or value >= threading.TIMEOUT_MAX:
        return None                     # inf, or longer than a thread can wait: no timeout
    if value != value:
        raise click.BadParameter("not a number of seconds", ctx, param)
    return value


timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
    callback=_check_timeout,
    help="Interrupt a run that lasts longer (TimeoutError in the script, exit status 1).")
shared_gil_option = click.option(
    "--shared-gil", is_flag=True,
    help="Share the main GIL (legacy interpreters): needed for extension modules that "
         "cannot load in isolated interpreters (numpy, cffi modules...); no parallelism.")
strict_option = click.option(
    "--strict", is_flag=True,
    help="CPython's isolated restrictions: no daemon threads, no os.exec*() (by default "
         "both work, as under python; subprocess always does, os.fork() never).")


@cli.command(cls=ScriptCommand, context_settings=CONTEXT)
@click.argument("scripts", nargs=-1, metavar="[SCRIPT]...")
@click.option("-c", "--code", "codes", metavar="CODE", multiple=True,
              help="Run CODE (a string of Python) in an interpreter of its own. Repeatable.")
@click.option("-m", "--module", "modules", metavar="MODULE", multiple=True,
              help="Run library module MODULE as a script, like python -m. Repeatable.")
@channels_option
@click.option("--stdin", "stdin_ch", metavar="CH",
              help="Stream this process's stdin into channel CH in chunks; close CH at EOF.")
@click.option("--stdout", "stdout_ch", metavar="CH",
              help="Write every message received on channel CH to stdout as it arrives.")
@result_option
@timeout_option
@shared_gil_option
@strict_option
@click.pass_context
def run(ctx, scripts, codes, modules, channels, stdin_ch, stdout_ch, result_mode, timeout,
        shared_gil, strict):
    """Run scripts, each in a fresh interpreter, all in parallel.

    Every positional argument is a script: a file, a directory or zip application with a
    __main__.py, or `-` (read from stdin); the scripts' own arguments follow `--`:
    `interp run hello.py -- a b` gives sys.argv == ['hello.py', 'a', 'b']. -c CODE and -m
    MODULE run after the scripts, each in an interpreter of its own."""
    from . import commands
    try:
        return commands.run(scripts, codes, modules, channels, stdin_ch, stdout_ch,
                            result_mode, timeout, shared_gil, _script_args(ctx), _early(ctx),
                            strict=strict)
    except UsageProblem as exc:
        raise click.UsageError(str(exc), ctx) from None


@cli.command(cls=ScriptCommand, context_settings=CONTEXT)
@click.argument("stages", nargs=-1, metavar="STAGE...")
@channels_option
@result_option
@timeout_option
@shared_gil_option
@strict_option
@click.pass_context
def pipe(ctx, stages, channels, result_mode, timeout, shared_gil, strict):
    """Run scripts as an in-process pipeline: stdin | STAGE | STAGE ... | stdout.

    One interpreter per stage, all running at once. Each stage reads channels.stdin (a
    receive end: iterate over it, it ends at EOF) and writes channels.stdout (a send end);
    the first stage reads this process's stdin, the last one's output goes to stdout.
    Forward a message you received with channels.stdout.send_buffer(msg) to pass it on
    without copying. Arguments after `--` go to every stage."""
    from . import commands
    try:
        return commands.pipe(stages, channels, result_mode, timeout, shared_gil,
                             _script_args(ctx), _early(ctx), strict=strict)
    except UsageProblem as exc:
        raise click.UsageError(str(exc), ctx) from None


@cli.command(context_settings=CONTEXT)
@shared_gil_option
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
@click.option("-m", "--module", "modules", metavar="MODULE", multiple=True,
              help="Check MODULE and its submodules. Repeatable.")
@click.option("--all", "all_installed", is_flag=True,
              help="Check every installed distribution.")
@click.option("--stdlib", is_flag=True, help="Check every importable stdlib module.")
@click.option("--result", "result_mode", type=click.Choice(["table", "json"]),
              default="table", show_default=True, help="A table on stdout, or JSON.")
@click.option("--problems", is_flag=True,
              help="List only the modules that do not load isolated or fall back to pure "
                   "Python (the summary still counts all).")
@click.option("-j", "--jobs", "workers", type=click.IntRange(min=1), metavar="N",
              help="Child processes importing at once (default: the cores, at most 4).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              default=60.0, show_default=True,
              help="Give up on a module whose import takes longer.")
@click.pass_context
def check(ctx, targets, modules, all_installed, stdlib, result_mode, problems, workers,
          timeout):
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
        return checking.check(targets, modules, all_installed, stdlib, result_mode,
                              problems, workers, timeout)
    except UsageProblem as exc:
        raise click.UsageError(str(exc), ctx) from None


def _early(ctx):
    """The interpreters being made early for this command (cli.early), or None."""
    return ctx.obj.get("early") if ctx.obj else None


def _script_args(ctx) -> list[str]:
    return ctx.meta.get("interp.script_args", [])


def run_cli(args, prog_name="interp", early=None) -> int:
    """Parse args and run; the exit status. Never lets a Python traceback of ours out."""
    report.PROG = prog_name
    try:
        try:
            rv = cli.main(args, prog_name=prog_name, standalone_mode=False,
                          obj={"early": early})
        except KeyboardInterrupt:
            raise                       # leave without waiting for anything
        except BaseException:
            if early is not None:
                early.discard()
            raise
        if early is not None:
            early.discard()             # not used (help, usage error, --shared-gil...)
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
        raise                           # cli.main leaves at once
    except click.ClickException as exc:
        report.error(exc.format_message())
        return exc.exit_code
    except Exception as exc:
        return failure_status(exc)
    if isinstance(rv, int):
        return rv
    return ExitStatus.OK
