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

    __slots__ = ("kind", "label", "source", "filename", "prelude", "name", "channels",
                 "argv")

    def __init__(self, kind: str, label: str, source: str, filename: str, prelude: str):
        self.kind = kind            # "script", "code" or "module"
        self.label = label          # for messages and the results table
        self.source = source
        self.filename = filename    # for compile(): tracebacks show it
        self.prelude = prelude      # sets sys.argv, __file__, sys.path[0]
        self.name = ""              # interpreter name, unique in this process
        self.channels: dict = {}    # name -> channel end, bound as `channels`
        self.argv: list[str] = []   # its sys.argv (for -m, before runpy sets argv[0])

    def __repr__(self) -> str:
        return f"Program({self.kind!r}, {self.label!r}, name={self.name!r})"


# Watches extension modules in the interpreter (interpcli._extensions: it reports those
# that refuse to load there and refuses those known to crash it). Installed lazily: this
# stub only wraps the two extension loaders, and the first extension module loaded loads
# _extensions from its file (importing the interpcli package for it would cost more).
_EXTENSIONS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "_extensions.py")
_EXTENSIONS_STUB = f"""\
def _interp_extensions(sys):
    if 'interpcli._extensions' in sys.modules:
        return
    import _frozen_importlib as b, _frozen_importlib_external as e
    E, B = e.ExtensionFileLoader, b.BuiltinImporter
    file_create, builtin_create = E.create_module, B.create_module
    def load():
        E.create_module, B.create_module = file_create, staticmethod(builtin_create)
        try:
            s = e.spec_from_file_location('interpcli._extensions', {_EXTENSIONS_FILE!r})
            m = b.module_from_spec(s)
            sys.modules[s.name] = m
            s.loader.exec_module(m)
            m.install()
        except Exception:
            sys.modules.pop('interpcli._extensions', None)
    def create_module(self, spec):
        load()
        return E.create_module(self, spec)
    def create_builtin(spec):
        load()
        return B.create_module(spec)
    for f, o in ((create_module, file_create), (create_builtin, builtin_create)):
        f.__code__ = f.__code__.replace(co_filename=o.__code__.co_filename)
    E.create_module, B.create_module = create_module, staticmethod(create_builtin)
_interp_extensions(_sys)
"""
_extensions_prelude = None


def _extensions_setup() -> str:
    """The prelude's lines that run _EXTENSIONS_STUB: compiled here once and handed over
    marshalled, as compiling it in each new interpreter costs more (~0.3 ms); run with
    globals of its own (functions whose globals were __main__'s would keep the script's
    objects alive into the interpreter's finalization)."""
    global _extensions_prelude
    if _extensions_prelude is None:
        import marshal
        code = marshal.dumps(compile(_EXTENSIONS_STUB, "<interp: setup>", "exec"))
        _extensions_prelude = (f"exec(__import__('marshal').loads({code!r}), "
                               "{'_sys': _sys})\n")
    return _extensions_prelude


def _path_prelude(argv: list[str], path0: str | None, file: str | None) -> str:
    lines = ["import sys as _sys", _extensions_setup() + f"_sys.argv = {argv!r}"]
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
        return _with_argv(Program("script", "-", decode_source(data), "<stdin>",
                                  _path_prelude(["-", *args], "", None)), ["-", *args])
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
    return _with_argv(Program("script", path, decode_source(data), absolute,
                              _path_prelude([path, *args], path0, absolute)), [path, *args])


def code(text: str, args: list[str]) -> Program:
    """`-c CODE`: sys.argv[0] is '-c' and sys.path[0] the current directory ('')."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    label = "-c " + (first if len(first) <= 40 else first[:39] + "…")
    return _with_argv(Program("code", label, text, "<string>",
                              _path_prelude(["-c", *args], "", None)), ["-c", *args])


def module(name: str, args: list[str]) -> Program:
    """`-m MODULE`: found on sys.path and run as __main__ by runpy, as python does."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise UsageProblem(f"-m {name!r}: not a module name")
    source = f"import runpy as _runpy\n_runpy._run_module_as_main({name!r}, True)\n"
    return _with_argv(Program("module", f"-m {name}", source, "<interp -m>",
                              _path_prelude(["-m", *args], os.getcwd(), None)), ["-m", *args])


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
        origin = _module_origin(program.label[3:])
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
            spec = _find_spec(".".join(parts[:i + 1]), path)
            if spec is None:
                return None
            path = spec.submodule_search_locations
        if path is not None:
            spec = _find_spec(name + ".__main__", path)
    except Exception:       # a finder's own failure: runpy will report it in the script
        return None
    return spec.origin if spec is not None else None


def _find_spec(fullname: str, path):
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(fullname, path) if find is not None else None
        if spec is not None:
            return spec
    return None


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
    """`--channels a,b --channels c` -> ['a', 'b', 'c'], each a Python identifier."""
    from ..channels import is_channel_name      # loads the C core: not before it is needed
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                raise UsageProblem(f"--channels {value!r}: empty channel name")
            if not is_channel_name(name):
                raise UsageProblem(f"--channels: {name!r} is not a valid channel name "
                                   "(use a Python identifier, e.g. jobs or out_1)")
            if name in names:
                raise UsageProblem(f"--channels: channel {name!r} is given twice")
            names.append(name)
    return names
