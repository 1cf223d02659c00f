"""The `interp` command: main() is its entry point (scripts/interp, `python -m interpcli`).

This module stays light on purpose: for `interp run` and `interp pipe` it starts creating
the first interpreter in a thread as soon as the command line is read (cli.early). The C
create releases the GIL and the new interpreter has its own, so the creation overlaps the
imports on the second core. The usual run and pipe command lines are read by
cli.quickargs and run without importing click at all (its import costs more than running
hello.py); the rest goes through the click command tree in cli.app (`interpcli.cli.cli`,
loaded on first use).

The package, one module per concern: options (the one table of run's and pipe's
options), app (the click tree) and quickargs (the click-free parser), both built from it,
environment (the program name, streams and colour), early (the interpreters made at
start), programs (what a program argument means: script, -c, -m, stdin), session
(running the programs, their channels and Ctrl-C), stdio (stdin/stdout pumps), report
(results on stderr), status (exit statuses), man (the man page, generated from the click
tree), signals (Ctrl-C bookkeeping, helper threads), commands (run and pipe once
parsed)."""

import sys

from .signals import install_sigint_handler


def main(argv: list[str] | None = None, prog_name: str = "interp") -> None:
    """Run the `interp` command line and exit with its status."""
    claim_std_fds()
    args = sys.argv[1:] if argv is None else list(argv)
    from .environment import Environment, use

    environment = Environment(prog_name)
    use(environment)
    try:
        install_sigint_handler()
        from . import quickargs

        parsed = quickargs.parse(args)
        early = None
        if parsed is not None:
            from .early import EarlyInterpreters

            # the programs' interpreters are being made from here
            early = EarlyInterpreters.for_line(parsed)
        with early if early is not None else _nothing():
            status = _run_quick(parsed, early) if parsed is not None else None
            if status is None:
                from .app import run_cli

                status = run_cli(args, environment, early=early)
    except KeyboardInterrupt:
        # Ctrl-C before the scripts ran (a run handles its own): leave at once. A
        # KeyboardInterrupt in the middle of an import can leave an import lock held, so
        # waiting for the early interpreter's thread could hang; nothing of the user's
        # ran yet, there is nothing to clean up that the process's end does not.
        from .status import ExitStatus, leave_now

        leave_now(ExitStatus.INTERRUPTED)
    if argv is None:
        _fast_exit(status)
    sys.exit(status)


class _nothing:
    """A with block's manager that does nothing (contextlib's import costs start-up)."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def claim_std_fds() -> None:
    """Open /dev/null on each of fds 0-2 that is closed (`interp run x.py <&-`), before
    anything of ours opens a descriptor: else a pipe or file of ours would take the
    number, and a stream pump or a script's sys.stdout would use it for stdin or stdout.
    The scripts still see the stream closed (cli.programs: sys.stdin is None), as python
    shows it."""
    import os

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            new = os.open(os.devnull, os.O_RDWR)
            if new != fd:
                os.dup2(new, fd)
                os.close(new)
        except OSError:
            pass


def _run_quick(parsed, early) -> int | None:
    """Run a command line that cli.quickargs read, without click: its exit status, or None
    when the line has a usage error (nothing ran: click's path parses it again and says
    it, with the usage line)."""
    from .status import failure_status

    try:
        from . import commands
        from .programs import UsageProblem

        try:
            return commands.execute(parsed, early)
        except UsageProblem:
            return None
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        return failure_status(exc)


def _fast_exit(status: int) -> None:
    """Leave without finalizing the main interpreter (tearing down click and the other
    modules costs more than running hello.py). Safe here: every interpreter we made is
    closed (its atexit handlers ran), our threads are done, and we flush our streams.
    INTERP_NO_FAST_EXIT=1 exits the normal way (coverage tools need that)."""
    import os

    if os.environ.get("INTERP_NO_FAST_EXIT"):
        return
    import atexit

    try:
        atexit._run_exitfuncs()  # the safety nets (interpreters left open, if any)
    except BaseException:
        return  # let the normal exit report it
    from .status import leave_now

    leave_now(status)  # a closed pipe (`interp --help | head -1`) is fine there


def __getattr__(name):
    if name == "cli":
        from .app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
