"""What `interp` runs: a script file, `-c CODE` or `-m MODULE`, turned into source, a
filename for tracebacks and a prelude that sets `sys.argv`, `__file__` and `sys.path[0]`
the way `python` sets them. Also the names of the interpreters and the channel names.

Problems with the user's input raise UsageProblem (a one-line message, exit status 2)."""
import os
import sys


class UsageProblem(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


# sys.path[0] of the `interp` process itself: an interpreter we create starts with a copy
# of our sys.path, whose first entry is then replaced by the script's directory. With -P
# (safe_path) python adds no such entry, and neither do we.
_MAIN_PATH0 = sys.path[0] if sys.path and not sys.flags.safe_path else None


class Program:
    """One program to run in its own interpreter."""

    __slots__ = ("kind", "label", "source", "filename", "prelude", "name", "channels")

    def __init__(self, kind: str, label: str, source: str, filename: str, prelude: str):
        self.kind = kind            # "script", "code" or "module"
        self.label = label          # for messages and the results table
        self.source = source
        self.filename = filename    # for compile(): tracebacks show it
        self.prelude = prelude      # sets sys.argv, __file__, sys.path[0]
        self.name = ""              # interpreter name, unique in this process
        self.channels: dict = {}    # name -> channel end, bound as `channels`

    def __repr__(self) -> str:
        return f"Program({self.kind!r}, {self.label!r}, name={self.name!r})"


def _path_prelude(argv: list[str], path0: str | None, file: str | None) -> str:
    lines = ["import sys as _sys", f"_sys.argv = {argv!r}"]
    if path0 is not None and _MAIN_PATH0 is not None:
        lines += [f"if _sys.path and _sys.path[0] == {_MAIN_PATH0!r}:",
                  f"    _sys.path[0] = {path0!r}",
                  "else:",
                  f"    _sys.path.insert(0, {path0!r})"]
    if file is not None:
        lines.append(f"__file__ = {file!r}")
    lines.append("del _sys")
    return "\n".join(lines) + "\n"


def script(path: str, args: list[str]) -> Program:
    """A script file, run like `python path args...` (`-`: the program is read from
    stdin, as `python -` does)."""
    if path == "-":
        try:
            data = sys.stdin.buffer.read()
        except (OSError, ValueError, AttributeError) as exc:
            raise UsageProblem(f"can't read the program from stdin: {exc}") from None
        from .._source import decode_source
        return Program("script", "-", decode_source(data), "<stdin>",
                       _path_prelude(["-", *args], "", None))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise UsageProblem(f"can't run {path!r}: it is a directory, not a script") from None
    except OSError as exc:
        raise UsageProblem(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}") \
            from None
    absolute = os.path.abspath(path)
    path0 = os.path.dirname(os.path.realpath(path))
    from .._source import decode_source     # not before the first interpreter is begun
    return Program("script", path, decode_source(data), absolute,
                   _path_prelude([path, *args], path0, absolute))


def code(text: str, args: list[str]) -> Program:
    """`-c CODE`: sys.argv[0] is '-c' and sys.path[0] the current directory ('')."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    label = "-c " + (first if len(first) <= 40 else first[:39] + "…")
    return Program("code", label, text, "<string>", _path_prelude(["-c", *args], "", None))


def module(name: str, args: list[str]) -> Program:
    """`-m MODULE`: found on sys.path and run as __main__ by runpy, as python does."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise UsageProblem(f"-m {name!r}: not a module name")
    source = f"import runpy as _runpy\n_runpy._run_module_as_main({name!r}, True)\n"
    return Program("module", f"-m {name}", source, "<interp -m>",
                   _path_prelude(["-m", *args], os.getcwd(), None))


def name_programs(programs: list[Program]) -> None:
    """Give each program a unique interpreter name: the script's stem, 'c', the module."""
    bases = [base_name(p.kind, p.label if p.kind == "script" else p.label[3:])
             for p in programs]
    for p, name in zip(programs, unique_names(bases)):
        p.name = name


def unique_names(bases: list[str]) -> list[str]:
    """The names in order, a repeated one numbered: ['a', 'a'] -> ['a', 'a-2']."""
    used: set[str] = set()
    names = []
    for base in bases:
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        names.append(name)
    return names


def base_name(kind: str, what: str) -> str:
    """The interpreter name for a program (valid UTF-8 text, at most 100 bytes)."""
    if kind == "script":
        if what == "-":
            return "stdin"
        stem = os.path.basename(what.rstrip("/")) or "script"
        name = stem[:-3] if stem.endswith(".py") and len(stem) > 3 else stem
    elif kind == "code":
        return "c"
    else:
        name = what
    # a file name may hold bytes that are not UTF-8 (surrogate escapes) or NULs
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = name.replace("\0", "?")
    return name.encode()[:100].decode("utf-8", "ignore") or "script"


def parse_channel_names(values) -> list[str]:
    """`--channels a,b --channels c` -> ['a', 'b', 'c']: each a name a channel can have
    (an identifier Python can bind: no keyword, no __dunder__), as Python spells it
    (NFKC-normalized, so `ﬁ` is `fi`), none twice."""
    # loads the C core: not before it is needed
    from ..channels import channel_name_problem, python_name
    names: list[str] = []
    spelled: dict[str, str] = {}
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                raise UsageProblem(f"--channels {value!r}: empty channel name")
            problem = channel_name_problem(name)
            if problem is not None:
                why = "" if not name.isidentifier() else f": {problem}"
                raise UsageProblem(f"--channels: {name!r} is not a valid channel name{why} "
                                   "(use a Python identifier, e.g. jobs or out_1)")
            bound = python_name(name)
            if bound in spelled:
                same = "" if spelled[bound] == name else \
                    f" ({spelled[bound]!r} and {name!r} are the same name to Python)"
                raise UsageProblem(f"--channels: channel {bound!r} is given twice{same}")
            spelled[bound] = name
            names.append(bound)
    return names


def channel_refs(*refs):
    """Channel names given to --stdin/--stdout, spelled as parse_channel_names spells
    the declared ones (None stays None)."""
    from ..channels import python_name
    return tuple(python_name(r) if isinstance(r, str) else r for r in refs)
