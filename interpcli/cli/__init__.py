"""The `interp` command: main() is its entry point (scripts/interp, `python -m interpcli`).

This module stays light on purpose: for `interp run` and `interp pipe` it starts creating
the first interpreter in a thread as soon as the command line is read (cli.early). The C
create releases the GIL and the new interpreter has its own, so the creation overlaps the
imports on the second core. The usual run and pipe command lines are read by
cli.quickargs and run without importing click at all (its import costs more than running
hello.py); the rest goes through the click command tree in cli.app (`interpcli.cli.cli`,
loaded on first use).

The package, one module per concern: app (the click tree), programs (what a program
argument means: script, -c, -m, stdin), session (running the programs, their channels
and Ctrl-C), stdio (stdin/stdout pumps), report (results on stderr), status (exit
statuses), man (the man page, generated from the click tree), signals (Ctrl-C
bookkeeping, helper threads), quickargs (the click-free parser), commands (run and pipe
once parsed)."""
import sys

from .signals import install_sigint_handler


def main(argv: list[str] | None = None, prog_name: str = "interp") -> None:
    """Run the `interp` command line and exit with its status."""
    claim_std_fds()
    args = sys.argv[1:] if argv is None else list(argv)
    early = None
    try:
        install_sigint_handler()
        from . import quickargs
        quick = quickargs.parse(args)
        if quick is not None and not quick[1]["shared_gil"]:
            from .early import EarlyInterpreters
            # the first interpreter is being made from here
            early = EarlyInterpreters(strict=quick[1]["strict"])
            early.assign(quickargs.program_names(*quick))
        status = _run_quick(quick, early, prog_name) if quick is not None else None
        if status is None:
            from .app import run_cli
            status = run_cli(args, prog_name=prog_name, early=early)
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


def _run_quick(quick, early, prog_name) -> int | None:
    """Run a command line that cli.quickargs read, without click: its exit status, or None
    when the line has a usage error (nothing ran: click's path parses it again and says
    it, with the usage line)."""
    from . import report
    from .status import failure_status
    report.PROG = prog_name
    command, params = quick
    try:
        try:
            from . import commands
            from .programs import UsageProblem
            try:
                status = getattr(commands, command)(**params, early=early)
            except UsageProblem:
                return None
        except KeyboardInterrupt:
            raise
        except BaseException:
            if early is not None:
                early.discard()
            raise
        if early is not None:
            early.discard()             # not used (--shared-gil...)
        return status
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
        atexit._run_exitfuncs()     # the safety nets (interpreters left open, if any)
    except BaseException:
        return                      # let the normal exit report it
    from .status import leave_now
    leave_now(status)               # a closed pipe (`interp --help | head -1`) is fine there


def __getattr__(name):
    if name == "cli":
        from .app import cli
        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
