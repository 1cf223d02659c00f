"""What `interp run` and `interp pipe` do once their command line is parsed, without click:
check the arguments, build the programs and their channels, and run them. The click tree
(cli.app) and the quick parser (cli.quickargs) both end here.

Problems with the user's input raise programs.UsageProblem (exit status 2) before anything
runs; nothing is read from stdin before every check has passed."""

import os

from . import programs as progs
from .programs import UsageProblem


def execute(parsed, early=None) -> int:
    """Run a parsed command line (cli.options.Parsed) with the interpreters made early for
    it (cli.early; used only when made for the same interpreter options); its exit
    status. The one caller of run() and pipe()."""
    if early is not None and early.shaping != parsed.shaping():
        early = None
    command = run if parsed.command == "run" else pipe
    return command(**parsed.params, args=parsed.script_args, names=parsed.names(), early=early)


def run(
    *,
    scripts,
    codes,
    modules,
    channels,
    stdin_ch,
    stdout_ch,
    result_mode,
    timeout,
    shared_gil,
    strict,
    args,
    names,
    early,
) -> int:
    """`interp run`: every program in a fresh interpreter, all in parallel. names: the
    programs' interpreter names, in order (cli.options.Parsed.names)."""
    from .session import Session
    from .wiring import run_wiring

    if not (scripts or codes or modules):
        raise UsageProblem("nothing to run: give a SCRIPT, -c CODE or -m MODULE")
    channel_names = progs.parse_channel_names(channels)
    stdin_ch, stdout_ch = progs.channel_refs(stdin_ch, stdout_ch)
    for opt, ch in (("--stdin", stdin_ch), ("--stdout", stdout_ch)):
        if ch is not None and ch not in channel_names:
            raise UsageProblem(f"{opt} {ch}: unknown channel (declare it: --channels {ch})")
    if stdin_ch is not None and stdin_ch == stdout_ch:
        raise UsageProblem(f"--stdin and --stdout name the same channel {stdin_ch!r}")
    if scripts.count("-") > 1 or ("-" in scripts and stdin_ch is not None):
        raise UsageProblem("`-` (the program from stdin) can be given once, and not with --stdin")
    programs: list = []
    for i, path in enumerate(scripts):
        if path == "-":
            programs.append(None)  # read from stdin once every check has passed
            continue
        try:
            programs.append(progs.script(path, args))
        except UsageProblem as exc:
            if i > 0 and not path.endswith(".py") and not os.path.exists(path):
                raise UsageProblem(
                    f"{exc} (every positional argument is a script; "
                    f"the scripts' own arguments go after --: "
                    f"interp run {scripts[0]} -- {path})"
                ) from None
            raise
    programs += [progs.code(c, args) for c in codes]
    programs += [progs.module(m, args) for m in modules]
    programs = [progs.stdin_script(args) if p is None else p for p in programs]
    _name(programs, names)
    if shared_gil and len(programs) == 1:
        progs.share_argv(programs[0])

    wiring = run_wiring(programs, channel_names, stdin_ch, stdout_ch)
    session = Session(
        programs,
        wiring,
        isolated=not shared_gil,
        timeout=timeout,
        result_mode=result_mode,
        early=early,
        strict=strict,
    )
    return session.run()


def pipe(*, stages, channels, result_mode, timeout, shared_gil, strict, args, names, early) -> int:
    """`interp pipe`: stdin | STAGE | STAGE ... | stdout, one interpreter per stage."""
    from .session import Session
    from .wiring import pipe_plan

    if not stages:
        raise UsageProblem("no stages: give at least one STAGE script")
    channel_names = progs.parse_channel_names(channels)
    for reserved in ("stdin", "stdout"):
        if reserved in channel_names:
            raise UsageProblem(
                f"--channels: {reserved!r} is reserved in a pipe "
                "(every stage has channels.stdin and channels.stdout)"
            )
    if "-" in stages:
        raise UsageProblem("`-` cannot be a stage: stdin is the pipeline's input")
    programs = [progs.script(path, args) for path in stages]
    _name(programs, names)

    plan = pipe_plan(programs, channel_names)
    session = Session(
        programs,
        plan,
        isolated=not shared_gil,
        timeout=timeout,
        result_mode=result_mode,
        early=early,
        strict=strict,
    )
    return session.run()


def _name(programs, names) -> None:
    for program, name in zip(programs, names, strict=True):
        program.name = name
