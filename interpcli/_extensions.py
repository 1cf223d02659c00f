"""Extension modules that an interpreter refuses, seen where they are imported.

`install()` wraps the two loaders of extension modules (`ExtensionFileLoader` for files,
`BuiltinImporter` for modules built into python) in the calling interpreter, and only
them: importing Python modules costs nothing more. Then:

- every extension module that refuses to load there ("does not support loading in
  subinterpreters") is recorded, whether or not the importer catches the ImportError
  (msgpack and PyYAML catch it and go on in pure Python): `refusals()` lists them;
- in an isolated interpreter, an extension module known to crash the process when loaded
  there is refused before CPython runs its init function, with an ImportError naming the
  module and the way out (a shared-GIL interpreter). mypyc-compiled modules are such:
  CPython runs a single-phase module's init function before it can refuse the module, and
  mypyc's leaves state behind that aborts the process later ("free(): invalid pointer").

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
        if (_in_isolated() and spec.name.partition(".")[0] not in sys.stdlib_module_names
                and is_known_crash(path)):
            reason = (f"module {spec.name} {REFUSED}: it is compiled with mypyc, and "
                      "loading it in an isolated interpreter crashes the process; load it "
                      "in a shared-GIL interpreter (interp run --shared-gil, or "
                      "interpcli.create(isolated=False))")
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
    interpreter loads it: it is mypyc-compiled (its name says `__mypyc`, its dynamic
    symbols are mypyc's runtime's, or it is one of mypyc's small per-module shims that
    import the `..__mypyc` library). Reads at most the file's section headers and
    dynamic string table, or the whole file when it is small; cached per path."""
    known = _known_crash.get(path)
    if known is None:
        try:
            known = _is_mypyc(path)
        except (OSError, ValueError):
            known = False
        _known_crash[path] = known
    return known


_SHIM_MAX = 64 * 1024           # mypyc's shims are ~12-20 KB
_MYPYC_SYMBOLS = (b"\0CPyInit", b"\0CPyArg_", b"\0CPyStatics", b"\0CPy_")


def _is_mypyc(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if "__mypyc" in name:
        return True
    if not path or path == "built-in":
        return False
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            if len(head) < 64:
                return False
            f.seek(0, 2)
            if f.tell() > _SHIM_MAX:
                return False
            f.seek(0)
            return b"__mypyc" in f.read()
        dynstr = _elf_dynstr(f, head)
        if dynstr is not None and any(s in dynstr for s in _MYPYC_SYMBOLS):
            return True
        f.seek(0, 2)
        if f.tell() <= _SHIM_MAX:
            f.seek(0)
            return b"__mypyc." in f.read()
    return False


def _elf_dynstr(f, head: bytes) -> bytes | None:
    """The dynamic string table of a 64-bit little-endian ELF file (None otherwise)."""
    if head[4] != 2 or head[5] != 1:        # ELFCLASS64, ELFDATA2LSB
        return None
    shoff = int.from_bytes(head[0x28:0x30], "little")
    shentsize = int.from_bytes(head[0x3A:0x3C], "little")
    shnum = int.from_bytes(head[0x3C:0x3E], "little")
    if not shoff or shentsize < 64 or not 0 < shnum < 4096:
        return None
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        return None

    def section(i):
        s = table[i * shentsize:(i + 1) * shentsize]
        return (int.from_bytes(s[4:8], "little"), int.from_bytes(s[24:32], "little"),
                int.from_bytes(s[32:40], "little"), int.from_bytes(s[40:44], "little"))

    for i in range(shnum):
        kind, _off, _size, link = section(i)
        if kind == 11 and link < shnum:     # SHT_DYNSYM: its names are in section `link`
            _kind, off, size, _link = section(link)
            if size > 64 * 1024 * 1024:
                return None
            f.seek(off)
            return f.read(size)
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
