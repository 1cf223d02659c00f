"""What `interp run` and `interp pipe` do once their command line is parsed, without click:
check the arguments, build the programs and their channels, and run them. The click tree
(cli.app) and the quick parser (cli.quickargs) both end here.

Problems with the user's input raise programs.UsageProblem (exit status 2) before anything
runs; nothing is read from stdin before every check has passed."""
import os

from . import programs as progs
from .programs import UsageProblem


def run(scripts, codes, modules, channels, stdin_ch, stdout_ch, result_mode, timeout,
        shared_gil, args, early, strict=False) -> int:
    """`interp run`: every program in a fresh interpreter, all in parallel."""
    from ..channels import create_duplex
    from .session import Session
    if not (scripts or codes or modules):
        raise UsageProblem("nothing to run: give a SCRIPT, -c CODE or -m MODULE")
    names = progs.parse_channel_names(channels)
    stdin_ch, stdout_ch = progs.channel_refs(stdin_ch, stdout_ch)
    for opt, ch in (("--stdin", stdin_ch), ("--stdout", stdout_ch)):
        if ch is not None and ch not in names:
            raise UsageProblem(f"{opt} {ch}: unknown channel (declare it: --channels {ch})")
    if stdin_ch is not None and stdin_ch == stdout_ch:
        raise UsageProblem(f"--stdin and --stdout name the same channel {stdin_ch!r}")
    if scripts.count("-") > 1 or ("-" in scripts and stdin_ch is not None):
        raise UsageProblem("`-` (the program from stdin) can be given once, and not "
                           "with --stdin")
    programs: list = []
    for i, path in enumerate(scripts):
        if path == "-":
            programs.append(None)       # read from stdin once every check has passed
            continue
        try:
            programs.append(progs.script(path, args))
        except UsageProblem as exc:
            if i > 0 and not path.endswith(".py") and not os.path.exists(path):
                raise UsageProblem(f"{exc} (every positional argument is a script; "
                                   f"the scripts' own arguments go after --: "
                                   f"interp run {scripts[0]} -- {path})") from None
            raise
    programs += [progs.code(c, args) for c in codes]
    programs += [progs.module(m, args) for m in modules]
    programs = [progs.stdin_script(args) if p is None else p for p in programs]
    early = use_early(early, shared_gil)
    progs.name_programs(programs)
    if shared_gil and len(programs) == 1:
        progs.share_argv(programs[0])

    chans = {name: create_duplex() for name in names}
    for p in programs:
        p.channels = dict(chans)
    session = Session(programs, isolated=not shared_gil, timeout=timeout,
                      result_mode=result_mode, early=early, strict=strict,
                      shared_channels=list(chans.values()),
                      stdin_channel=chans.get(stdin_ch), stdout_channel=chans.get(stdout_ch))
    return session.run()


def pipe(stages, channels, result_mode, timeout, shared_gil, args, early,
         strict=False) -> int:
    """`interp pipe`: stdin | STAGE | STAGE ... | stdout, one interpreter per stage."""
    from ..channels import create_channel, create_duplex
    from .session import Session
    if not stages:
        raise UsageProblem("no stages: give at least one STAGE script")
    names = progs.parse_channel_names(channels)
    for reserved in ("stdin", "stdout"):
        if reserved in names:
            raise UsageProblem(f"--channels: {reserved!r} is reserved in a pipe "
                               "(every stage has channels.stdin and channels.stdout)")
    if "-" in stages:
        raise UsageProblem("`-` cannot be a stage: stdin is the pipeline's input")
    programs = [progs.script(path, args) for path in stages]
    early = use_early(early, shared_gil)
    progs.name_programs(programs)

    shared = {name: create_duplex() for name in names}
    links = [create_channel() for _ in range(len(programs) + 1)]    # (recv, send) each
    session = Session(programs, isolated=not shared_gil, timeout=timeout,
                      result_mode=result_mode, early=early, strict=strict,
                      shared_channels=list(shared.values()),
                      stdin_channel=links[0][1], stdout_channel=links[-1][0],
                      stdout_writer=links[-1][1], pipeline=True)
    for i, (p, job) in enumerate(zip(programs, session.jobs)):
        job.stdin, job.stdout = links[i][0], links[i + 1][1]
        p.channels = {"stdin": job.stdin, "stdout": job.stdout, **shared}
    return session.run()


def use_early(early, shared_gil):
    """The interpreters made early (cli.early) when they fit this run, else None (and they
    are closed)."""
    if early is not None and shared_gil:
        early.discard()
        return None
    return early
