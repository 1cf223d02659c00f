"""Extension modules that an interpreter refuses, seen where they are imported.

`install()` wraps the two loaders of extension modules (`ExtensionFileLoader` for files,
`BuiltinImporter` for modules built into python) in the calling interpreter, and only
them: importing Python modules costs nothing more. Then:

- every extension module that refuses to load there ("does not support loading in
  subinterpreters") is recorded, whether or not the importer catches the ImportError
  (msgpack and PyYAML catch it and go on in pure Python): `refusals()` lists them;
- in an isolated interpreter, an extension module known to crash the process when loaded
  there is refused before CPython touches it, with the ImportError CPython would raise
  (for mypyc's, naming the way out: a shared-GIL interpreter). mypyc-compiled modules are
  such: CPython runs a single-phase module's init function before it can refuse the
  module, and mypyc's leaves state behind that aborts the process later ("free():
  invalid pointer"); and so are Cython's single-interpreter modules (see crash_kind).

The interpreter counts as isolated when it refuses daemon threads, as the isolated
configurations of interpcli and of the stdlib do (and the shared-GIL ones do not)."""
import sys

REFUSED = "does not support loading in subinterpreters"

_refusals: list = []            # (module name, file path, reason), one per module
_known_crash: dict = {}         # path -> bool
_installed = False
_isolated = None                # this interpreter refuses daemon threads (computed once)


def install() -> None:
    """Watch extension modules loading in the calling interpreter (once; idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    external = sys.modules["_frozen_importlib_external"]
    bootstrap = sys.modules["_frozen_importlib"]

    file_create = external.ExtensionFileLoader.create_module

    def create_module(self, spec):
        path = spec.origin or getattr(self, "path", "") or ""
        kind = ""
        if _in_isolated():
            if spec.name.partition(".")[0] not in sys.stdlib_module_names:
                kind = crash_kind(path)
            elif spec.name in _STDLIB_CRASHES.get(sys.version_info[:2], ()):
                kind = "stdlib"
        if kind:
            # refused as CPython would refuse it, before CPython touches it
            reason = f"module {spec.name} {REFUSED}"
            if kind == "mypyc":
                reason += (": it is compiled with mypyc, and loading it in an isolated "
                           "interpreter crashes the process; load it in a shared-GIL "
                           "interpreter (interp run --shared-gil, or "
                           "interpcli.create(isolated=False))")
            elif kind == "stdlib":
                reason += _stdlib_reason()
            _record(spec.name, path, reason)
            raise ImportError(reason, name=spec.name, path=path)
        try:
            return file_create(self, spec)
        except ImportError as exc:
            if REFUSED in str(exc):
                _record(spec.name, path, str(exc))
            raise

    builtin_create = bootstrap.BuiltinImporter.create_module

    def create_builtin(spec):
        if _in_isolated() and spec.name in _STDLIB_CRASHES.get(sys.version_info[:2], ()):
            reason = f"module {spec.name} {REFUSED}" + _stdlib_reason()
            _record(spec.name, "built-in", reason)
            raise ImportError(reason, name=spec.name)
        try:
            return builtin_create(spec)
        except ImportError as exc:
            if REFUSED in str(exc):
                _record(spec.name, "built-in", str(exc))
            raise

    # named as importlib's own frames, which CPython trims from an ImportError's
    # traceback: a refused import shows the same traceback as without the hook
    for func, original in ((create_module, file_create), (create_builtin, builtin_create)):
        func.__code__ = func.__code__.replace(co_filename=original.__code__.co_filename)
        func.__doc__ = original.__doc__
    external.ExtensionFileLoader.create_module = create_module
    bootstrap.BuiltinImporter.create_module = staticmethod(create_builtin)


# Standard-library extension modules that crash the process once three live isolated
# interpreters loaded them (or were refused them after running their init), on the
# CPython versions named, the stdlib's `_interpreters` too ("munmap_chunk(): invalid
# pointer", "double free or corruption"). Each has a pure-Python fallback that its
# package uses when the import fails: datetime, decimal, zoneinfo, asyncio.
_STDLIB_CRASHES = {
    (3, 12): frozenset({"_asyncio", "_datetime", "_decimal", "_zoneinfo"}),
    (3, 13): frozenset({"_datetime", "_zoneinfo"}),
}


def _stdlib_reason() -> str:
    return (f": on Python {sys.version_info[0]}.{sys.version_info[1]} it crashes the "
            "process once several isolated interpreters loaded it, so the pure-Python "
            "fallback is used")


def refusals() -> list[tuple[str, str, str]]:
    """(module name, file path or 'built-in', reason) of every extension module that
    refused to load in this interpreter since install(), once each, in order."""
    return list(_refusals)


def _record(name: str, path: str, reason: str) -> None:
    if not any(r[0] == name and r[1] == path for r in _refusals):
        _refusals.append((name, path, reason))


def _in_isolated() -> bool:
    global _isolated
    if _isolated is None:
        import _thread
        _isolated = not _thread.daemon_threads_allowed()
    return _isolated


def is_known_crash(path: str) -> bool:
    """The extension module file at `path` is known to crash the process when an isolated
    interpreter loads it (see crash_kind)."""
    return bool(crash_kind(path))


def crash_kind(path: str) -> str:
    """Why loading the extension module file at `path` in an isolated interpreter crashes
    the process, or '':
    - 'mypyc': mypyc-compiled (its name says `__mypyc`, its dynamic symbols are mypyc's
      runtime's, or it is one of mypyc's small per-module shims, which import the
      `..__mypyc` library); CPython runs its init function before refusing it;
    - 'cython': a Cython module that can live in one interpreter per process (it carries
      Cython's "Interpreter change detected" check): every isolated interpreter refuses
      it, and after such a refusal CPython 3.12 aborts the process (3.13 once three live
      interpreters refused it), the stdlib's `_interpreters` too.
    Reads the file's section headers, dynamic string table and read-only data (or the
    whole file when it is small and not ELF); cached per path."""
    kind = _known_crash.get(path)
    if kind is None:
        try:
            kind = _classify(path)
        except (OSError, ValueError):
            kind = ""
        _known_crash[path] = kind
    return kind


_SHIM_MAX = 64 * 1024           # mypyc's shims are ~12-20 KB
_SECTION_MAX = 64 * 1024 * 1024
_MYPYC_SYMBOLS = (b"\0CPyInit", b"\0CPyArg_", b"\0CPyStatics", b"\0CPy_")
_CYTHON_ONE_INTERPRETER = (b"Interpreter change detected - this module can only be loaded "
                           b"into one interpreter per process.")


def _classify(path: str) -> str:
    if "__mypyc" in path.rsplit("/", 1)[-1]:
        return "mypyc"
    if not path or path == "built-in":
        return ""
    with open(path, "rb") as f:
        head = f.read(64)
        size = f.seek(0, 2)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            # not 64-bit little-endian ELF: only a small file is read whole
            if size > _SHIM_MAX:
                return ""
            f.seek(0)
            return "mypyc" if b"__mypyc." in f.read() else ""
        sections = _elf_sections(f, head)
        dynstr = _section(f, sections, dynsym_names=True)
        if dynstr is not None and any(s in dynstr for s in _MYPYC_SYMBOLS):
            return "mypyc"
        if size <= _SHIM_MAX:
            f.seek(0)
            if b"__mypyc." in f.read():
                return "mypyc"
        rodata = _section(f, sections, name=b".rodata")
        if rodata is not None and _CYTHON_ONE_INTERPRETER in rodata:
            return "cython"
    return ""


def _elf_sections(f, head: bytes) -> list:
    """(name offset, type, file offset, size, link) of each section of a 64-bit
    little-endian ELF file, and the index of the section names' table last."""
    shoff = int.from_bytes(head[0x28:0x30], "little")
    shentsize = int.from_bytes(head[0x3A:0x3C], "little")
    shnum = int.from_bytes(head[0x3C:0x3E], "little")
    shstrndx = int.from_bytes(head[0x3E:0x40], "little")
    if not shoff or shentsize < 64 or not 0 < shnum < 4096:
        return []
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        return []
    out = []
    for i in range(shnum):
        s = table[i * shentsize:(i + 1) * shentsize]
        out.append((int.from_bytes(s[0:4], "little"), int.from_bytes(s[4:8], "little"),
                    int.from_bytes(s[24:32], "little"), int.from_bytes(s[32:40], "little"),
                    int.from_bytes(s[40:44], "little")))
    out.append(shstrndx)
    return out


def _read(f, off: int, size: int) -> bytes | None:
    if size > _SECTION_MAX:
        return None
    f.seek(off)
    return f.read(size)


def _section(f, sections: list, *, dynsym_names: bool = False,
             name: bytes = b"") -> bytes | None:
    """The contents of the dynamic symbols' string table, or of the section `name`."""
    if not sections:
        return None
    shstrndx, table = sections[-1], sections[:-1]
    if dynsym_names:
        for _name, kind, _off, _size, link in table:
            if kind == 11 and link < len(table):    # SHT_DYNSYM: names in section `link`
                return _read(f, table[link][2], table[link][3])
        return None
    if shstrndx >= len(table):
        return None
    names = _read(f, table[shstrndx][2], table[shstrndx][3])
    if names is None:
        return None
    for name_off, _kind, off, size, _link in table:
        if names[name_off:name_off + len(name) + 1] == name + b"\0":
            return _read(f, off, size)
    return None


# Run in an interpreter after its program: hands back what refused to load there, as the
# message of an exception (a run carries an exception's message back as plain data).
REPORT_SOURCE = (
    "import sys as _s\n"
    "_x = _s.modules.get('interpcli._extensions')\n"
    "del _s\n"
    "if _x is not None and _x.refusals():\n"
    "    import json as _j\n"
    "    raise ImportWarning(_j.dumps(_x.refusals()))\n"
    "del _x\n")


def refusals_reported(result) -> list[tuple[str, str, str]]:
    """The refusals that REPORT_SOURCE, run last, handed back in `result` (a RunResult)."""
    if result.exc_type != "ImportWarning" or not result.exc_message:
        return []
    import json
    try:
        return [tuple(r) for r in json.loads(result.exc_message)]
    except ValueError:
        return []


def package_of(name: str, path: str) -> str:
    """The distribution that holds module `name` (at `path`): 'the standard library' for
    the stdlib's, else the installed distribution's name, else the top-level package.
    Reads installed metadata: call it only when reporting."""
    top = name.partition(".")[0]
    if path == "built-in" or top in sys.stdlib_module_names:
        return "the standard library"
    try:
        from importlib.metadata import packages_distributions
        dists = packages_distributions().get(top)
    except Exception:       # broken metadata must not break the report
        dists = None
    return dists[0] if dists else top
