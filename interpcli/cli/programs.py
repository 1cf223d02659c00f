"""What `interp` runs: a script file, `-c CODE` or `-m MODULE`, turned into source, a
filename for tracebacks and a prelude that sets `sys.argv`, `__file__` and `sys.path[0]`
the way `python` sets them. Also the names of the interpreters and the channel names.

Problems with the user's input raise UsageProblem (a one-line message, exit status 2)."""

import os
import sys

from .. import _names
from .._usererror import UserError


class UsageProblem(UserError):
    """Bad input from the command line: reported in one line, exit status 2."""


# sys.path[0] of the `interp` process itself: an interpreter we create starts with a copy
# of our sys.path, whose first entry is then replaced by the script's directory. With -P
# (safe_path) python adds no such entry, and neither do we.
_MAIN_PATH0 = sys.path[0] if sys.path and not sys.flags.safe_path else None


class Program:
    """One program to run in its own interpreter."""

    __slots__ = (
        "kind",
        "label",
        "what",
        "source",
        "filename",
        "prelude",
        "name",
        "channels",
        "argv",
    )

    def __init__(
        self,
        kind: str,
        label: str,
        source: str,
        filename: str,
        prelude: str,
        what: str | None = None,
    ):
        self.kind = kind  # "script", "code" or "module"
        self.label = label  # for messages and the results table
        self.what = label if what is None else what  # the path, code or module name
        self.source = source
        self.filename = filename  # for compile(): tracebacks show it
        self.prelude = prelude  # sets sys.argv, __file__, sys.path[0]
        self.name = ""  # interpreter name, unique in this process (names())
        self.channels: dict = {}  # name -> channel end, bound as `channels`
        self.argv: list[str] = []  # its sys.argv (for -m, before runpy sets argv[0])

    def __repr__(self) -> str:
        return f"Program({self.kind!r}, {self.label!r}, name={self.name!r})"


def _prelude(argv: list[str], path0: str | None, file: str | None, **more) -> str:
    """The prelude's one line: interpcli._setup_sub.prepare sets up sys and __main__ (and
    watches extension modules) as python does for the script."""
    if path0 is not None and _MAIN_PATH0 is not None:
        more.update(path0=path0, main_path0=_MAIN_PATH0)
    if file is not None:
        more["file"] = file
    closed = _closed_streams()
    if closed:
        more["closed"] = closed
    args = "".join(f", {k}={v!r}" for k, v in more.items())
    return (
        f"__import__('interpcli._setup_sub', None, None, ['_']).prepare(globals(), "
        f"{argv!r}{args})\n"
    )


def _closed_streams() -> tuple[str, ...]:
    """The standard streams to show the script closed when `interp` was started with them
    closed (python's sys.stdin is then None): cli.claim_std_fds put /dev/null on their
    descriptors, which a new interpreter would take for the streams."""
    return tuple(
        name
        for name in ("stdin", "stdout", "stderr")
        if getattr(sys, name) is None and getattr(sys, f"__{name}__") is None
    )


def script(path: str, args: list[str]) -> Program:
    """A script, run like `python path args...`: a source file, a directory or a zip
    application with a `__main__` module (run by runpy, the path first on sys.path), or
    `-`: the program is read from stdin, as `python -` does."""
    if path == "-":
        return stdin_script(args)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        return _main_module(path, args)
    except OSError as exc:
        raise UsageProblem(
            f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}"
        ) from None
    if _is_zip_application(path, data):
        return _main_module(path, args)
    absolute = _abspath(path)
    path0 = os.path.dirname(os.path.realpath(path))
    # python's __main__ for a file: __file__, __cached__ None (until 3.15), a
    # SourceFileLoader
    prelude = _prelude([path, *args], path0, absolute, no_cached=_NO_CACHED, loader=absolute)
    return _with_argv(
        Program("script", path, _decoded(data, absolute), absolute, prelude), [path, *args]
    )


def stdin_script(args: list[str]) -> Program:
    """`-`: the program read from stdin (to its end) now; `__file__` is '<stdin>'."""
    try:
        # stdin closed at start (sys.stdin None): an empty program, as `python -` runs
        data = sys.stdin.buffer.read() if sys.stdin is not None else b""
    except (OSError, ValueError, AttributeError) as exc:
        raise UsageProblem(f"can't read the program from stdin: {exc}") from None
    prelude = _prelude(["-", *args], "", "<stdin>", no_cached=_NO_CACHED)
    return _with_argv(
        Program("script", "-", _decoded(data, "<stdin>"), "<stdin>", prelude), ["-", *args]
    )


_NO_CACHED = sys.version_info < (3, 15)  # python's __main__ has __cached__ None


def _decoded(data: bytes, filename: str) -> str:
    """The script's text, decoded as python decodes a file; one that python would refuse
    becomes a program raising python's SyntaxError, with no traceback (as python prints
    it)."""
    from .._source import decode_script  # not before the first interpreter is begun

    text, error = decode_script(data, filename)
    if error is None:
        return text
    return (
        "class SyntaxError(SyntaxError):\n"
        "    __module__ = 'builtins'\n"
        "    __traceback__ = property(lambda self: None, lambda self, tb: None)\n"
        f"raise SyntaxError(*{error.args!r}) from None\n"
    )


def _is_zip_application(path: str, data: bytes) -> bool:
    """Whether python would run path as a zip application (zipimport takes it)."""
    if data.rfind(b"PK\x05\x06", max(0, len(data) - 65557)) < 0:
        return False  # no end of a zip's central directory
    import zipimport

    try:
        zipimport.zipimporter(path)
    except (ImportError, OSError):
        return False
    return True


# The program run for a directory or zip application, and for -m: runpy, as python calls
# it. Its own frame is taken off the traceback (python calls runpy from C), and it binds
# no name in __main__.
_RUNPY = (
    "try:\n"
    "    __import__('runpy')._run_module_as_main({name!r}, {alter_argv!r})\n"
    "except BaseException as _exc:\n"
    "    if _exc.__traceback__ is not None:\n"
    "        _exc.__traceback__ = _exc.__traceback__.tb_next\n"
    "    raise\n"
)


def _main_module(path: str, args: list[str]) -> Program:
    """A directory or zip application: its `__main__` module run by runpy with the path
    (absolute) as sys.path[0], sys.argv[0] the path as given, as python runs it."""
    return _with_argv(
        Program(
            "script",
            path,
            _RUNPY.format(name="__main__", alter_argv=False),
            "<interp: __main__>",
            _prelude([path, *args], _abspath(path), None),
        ),
        [path, *args],
    )


def _abspath(path: str) -> str:
    """The path made absolute as python makes a script's: joined to the current
    directory, not normalized (`./a.py` -> `/cwd/./a.py`)."""
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def code(text: str, args: list[str]) -> Program:
    """`-c CODE`: sys.argv[0] is '-c' and sys.path[0] the current directory ('');
    tracebacks show CODE's lines where this python's `python -c` shows them."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    label = "-c " + (first if len(first) <= 40 else first[:39] + "…")
    prelude = _prelude(["-c", *args], "", None, code=text)
    return _with_argv(Program("code", label, text, "<string>", prelude), ["-c", *args])


def module(name: str, args: list[str]) -> Program:
    """`-m MODULE`: found on sys.path and run as __main__ by runpy, as python does."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise UsageProblem(f"-m {name!r}: not a module name")
    source = _RUNPY.format(name=name, alter_argv=True)
    return _with_argv(
        Program(
            "module",
            f"-m {name}",
            source,
            "<interp -m>",
            _prelude(["-m", *args], os.getcwd(), None),
            what=name,
        ),
        ["-m", *args],
    )


def _with_argv(program: Program, argv: list[str]) -> Program:
    program.argv = argv
    return program


def share_argv(program: Program) -> None:
    """Give the main interpreter the program's sys.argv (for -m, argv[0] is the module's
    file, as runpy sets it). For one program in a shared-GIL interpreter: since Python
    3.13 CPython runs the init function of a single-phase extension module in the main
    interpreter, so a mypyc-compiled module's `sys` is the main interpreter's, and tools
    such as isort read their arguments there."""
    argv = list(program.argv)
    if program.kind == "module":
        origin = _module_origin(program.what)
        if origin:
            argv[0] = origin
    sys.argv = argv


def _module_origin(name: str) -> str | None:
    """The file `python -m name` runs (a package's __main__), found without importing."""
    path = None
    spec = None
    parts = name.split(".")
    try:
        for i in range(len(parts)):
            spec = _find_spec(".".join(parts[: i + 1]), path)
            if spec is None:
                return None
            path = spec.submodule_search_locations
        if path is not None:
            spec = _find_spec(name + ".__main__", path)
    except Exception:  # a finder's own failure: runpy will report it in the script
        return None
    return spec.origin if spec is not None else None


def _find_spec(fullname: str, path):
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(fullname, path) if find is not None else None
        if spec is not None:
            return spec
    return None


def names(programs) -> list[str]:
    """The unique interpreter name of each program, given as (kind, what) in the order
    they run (cli.options.Parsed.programs): the script's stem, 'c', the module."""
    return unique_names([base_name(kind, what) for kind, what in programs])


def unique_names(bases: list[str]) -> list[str]:
    """The names in order, a repeated one numbered: ['a', 'a'] -> ['a', 'a-2']."""
    used: set[str] = set()
    names = []
    for base in bases:
        name = _names.free(base, used)
        used.add(name)
        names.append(name)
    return names


def base_name(kind: str, what: str) -> str:
    """The interpreter name for a program (valid UTF-8 text, at most _names.MAX_BYTES)."""
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
    return _names.fit(name) or "script"


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
                raise UsageProblem(
                    f"--channels: {name!r} is not a valid channel name{why} "
                    "(use a Python identifier, e.g. jobs or out_1)"
                )
            bound = python_name(name)
            if bound in spelled:
                same = (
                    ""
                    if spelled[bound] == name
                    else f" ({spelled[bound]!r} and {name!r} are the same name to Python)"
                )
                raise UsageProblem(f"--channels: channel {bound!r} is given twice{same}")
            spelled[bound] = name
            names.append(bound)
    return names


def channel_refs(*refs):
    """Channel names given to --stdin/--stdout, spelled as parse_channel_names spells
    the declared ones (None stays None)."""
    from ..channels import python_name

    return tuple(python_name(r) if isinstance(r, str) else r for r in refs)
