"""A quick parser for the usual `interp run` and `interp pipe` command lines, so that they
start without importing click (importing click costs more than running hello.py).

It accepts only what it reads exactly as the click tree (cli.app) would: the command, its
scripts, its options as `--opt VALUE`, `--opt=VALUE` or `-c VALUE`, and the scripts' own
arguments after `--`. For anything else (help, version, an unknown option, a malformed
value, a value that starts with `-`) it returns None and click parses the line, so help
and every usage error look the same on both paths."""
RESULT_MODES = ("auto", "table", "json", "none")

# option -> parameter of cli.commands.run / cli.commands.pipe
_RUN_OPTIONS = {"-c": "codes", "--code": "codes", "-m": "modules", "--module": "modules",
                "--channels": "channels", "--stdin": "stdin_ch", "--stdout": "stdout_ch",
                "--result": "result_mode", "--timeout": "timeout"}
_PIPE_OPTIONS = {"--channels": "channels", "--result": "result_mode", "--timeout": "timeout"}
_REPEATABLE = frozenset({"codes", "modules", "channels"})
_FLAGS = {"--shared-gil": "shared_gil", "--strict": "strict"}      # both commands


def parse(args: list[str]) -> tuple[str, dict] | None:
    """(command, keyword arguments for cli.commands.<command>) or None (let click parse)."""
    if not args or args[0] not in ("run", "pipe"):
        return None
    command = args[0]
    options = _RUN_OPTIONS if command == "run" else _PIPE_OPTIONS
    params: dict = {"channels": [], "result_mode": "auto", "timeout": None,
                    "shared_gil": False, "strict": False, "args": []}
    if command == "run":
        params.update(codes=[], modules=[], stdin_ch=None, stdout_ch=None)
    positional = []
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--":
            params["args"] = list(args[i + 1:])
            break
        if a in _FLAGS:
            params[_FLAGS[a]] = True
            i += 1
            continue
        if a == "-" or not a.startswith("-"):
            positional.append(a)    # `-`: the program from stdin
            i += 1
            continue
        if a.startswith("--"):
            opt, eq, value = a.partition("=")
        elif len(a) > 2:
            opt, eq, value = a[:2], "=", a[2:]      # -cCODE, as click reads it
        else:
            opt, eq, value = a, "", ""
        if opt not in options:
            return None
        if not eq:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 2
        else:
            i += 1
        if value.startswith("-"):
            return None
        key = options[opt]
        if key in _REPEATABLE:
            params[key].append(value)
        elif key == "result_mode":
            if value not in RESULT_MODES:
                return None
            params[key] = value
        elif key == "timeout":
            seconds = _seconds(value)
            if seconds is False:
                return None
            params[key] = seconds
        else:
            params[key] = value
    for key in _REPEATABLE & params.keys():
        params[key] = tuple(params[key])
    params["scripts" if command == "run" else "stages"] = tuple(positional)
    return command, params


def _seconds(value: str):
    """--timeout's value as click's FloatRange(min=0, min_open=True) and the timeout
    callback read it: a float > 0, None for no limit (inf, or longer than a thread can
    wait), False when click would refuse it."""
    from _thread import TIMEOUT_MAX
    try:
        seconds = float(value)
    except ValueError:
        return False
    if not seconds > 0:             # also nan
        return False
    return None if seconds >= TIMEOUT_MAX else seconds


def program_names(command: str, params: dict) -> list[str]:
    """The interpreter names the programs will get (cli.programs.name_programs), for the
    interpreters made early; [] when none should be (--shared-gil)."""
    if params["shared_gil"]:
        return []
    from .programs import base_name, unique_names
    scripts = params["scripts" if command == "run" else "stages"]
    return unique_names([base_name("script", s) for s in scripts]
                        + [base_name("code", c) for c in params.get("codes", ())]
                        + [base_name("module", m) for m in params.get("modules", ())])
