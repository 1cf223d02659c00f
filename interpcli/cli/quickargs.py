"""A quick parser for the usual `interp run` and `interp pipe` command lines, so that they
start without importing click (importing click costs more than running hello.py). It is
built from the same table of options as the click tree (cli.options).

It accepts only what it reads exactly as the click tree (cli.app) would: the command, its
scripts, its options as `--opt VALUE`, `--opt=VALUE` or `-c VALUE`, and the scripts' own
arguments after `--`. For anything else (help, version, an unknown option, a malformed
value, a value that starts with `-`) it returns None and click parses the line, so help
and every usage error look the same on both paths."""

from .options import ARGUMENTS, OPTIONS, Parsed, defaults, seconds

# command -> {flag: Option}
_BY_FLAG = {
    command: {flag: o for o in OPTIONS if command in o.commands for flag in o.flags}
    for command in ARGUMENTS
}


def parse(args: list[str]) -> Parsed | None:
    """The command line read as the click tree reads it, or None (let click parse it)."""
    if not args or args[0] not in ARGUMENTS:
        return None
    command = args[0]
    by_flag = _BY_FLAG[command]
    params = defaults(command)
    for key, value in params.items():
        if isinstance(value, tuple):
            params[key] = []
    by_dest = {o.dest: o for o in by_flag.values()}
    given: dict = {}  # dest -> the raw value of a single-value option
    positional = []
    script_args: list[str] = []
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--":
            script_args = list(args[i + 1 :])
            break
        if a == "-" or not a.startswith("-"):
            positional.append(a)  # `-`: the program from stdin
            i += 1
            continue
        if a.startswith("--"):
            opt, eq, value = a.partition("=")
        elif len(a) > 2:
            opt, eq, value = a[:2], "=", a[2:]  # -cCODE, as click reads it
        else:
            opt, eq, value = a, "", ""
        o = by_flag.get(opt)
        if o is None:
            return None
        if o.kind == "flag":
            if eq:
                return None  # --flag=VALUE: click refuses it
            params[o.dest] = True
            i += 1
            continue
        if not eq:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 2
        else:
            i += 1
        if value.startswith("-"):
            return None
        if o.multiple:
            params[o.dest].append(value)
        else:
            given[o.dest] = value  # the last one counts (click converts only it)
    for key, value in params.items():
        if isinstance(value, list):
            values = [_convert(by_dest[key], v) for v in value]
            if False in values:
                return None
            params[key] = tuple(values)
    for key, value in given.items():
        value = _convert(by_dest[key], value)
        if value is False:
            return None
        params[key] = value
    params[ARGUMENTS[command][0]] = tuple(positional)
    return Parsed(command, params, script_args)


def _convert(o, value: str):
    """An option's value as the click tree reads it, False when it refuses it."""
    if o.kind == "choice":
        return value if value in o.choices else False
    if o.kind == "seconds":
        return seconds(value)
    return value
