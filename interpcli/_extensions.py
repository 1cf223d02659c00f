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
  invalid pointer"); and so are a few stdlib modules on 3.12 and 3.13 (_STDLIB_CRASHES).

The interpreter counts as isolated when interpcli's core made it so, or, for one the
core did not make, when it refuses daemon threads, as the stdlib's isolated configuration
does (and the shared-GIL one does not)."""

import sys

REFUSED = "does not support loading in subinterpreters"

_refusals: list = []  # (module name, file path, reason), one per module
_known_crash: dict = {}  # path -> crash_kind(path)
_installed = False
_isolated = None  # this interpreter refuses daemon threads (computed once)


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
                reason += (
                    ": it is compiled with mypyc, and loading it in an isolated "
                    "interpreter crashes the process; load it in a shared-GIL "
                    "interpreter (interp run --shared-gil, or "
                    "interpcli.create(isolated=False))"
                )
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


STDLIB_FALLBACK = "so the stdlib's pure-Python version is used"
# Stdlib modules that refuse isolated interpreters but whose caller has a pure-Python
# twin giving the same result: no note for them (traceback's "Did you mean" suggestions,
# 3.14+)
QUIET = frozenset({"_suggestions"})


def _stdlib_reason() -> str:
    return (
        f": on Python {sys.version_info[0]}.{sys.version_info[1]} it crashes the "
        f"process once several isolated interpreters loaded it, {STDLIB_FALLBACK}"
    )


def refusals() -> list[tuple[str, str, str]]:
    """(module name, file path or 'built-in', reason) of every extension module that
    refused to load in this interpreter since install(), once each, in order."""
    return list(_refusals)


def forget(name: str) -> None:
    """Drop the refusals of module `name`: a stand-in took its place (as
    interpcli._faulthandler does for faulthandler), so nothing was lost."""
    _refusals[:] = [r for r in _refusals if r[0] != name]


def _record(name: str, path: str, reason: str) -> None:
    if not any(r[0] == name and r[1] == path for r in _refusals):
        _refusals.append((name, path, reason))


def _in_isolated() -> bool:
    global _isolated
    if _isolated is None:
        _isolated = _isolated_by_core()
        if _isolated is None:
            import _thread

            _isolated = not _thread.daemon_threads_allowed()
    return _isolated


def _isolated_by_core():
    """Whether interpcli's core made the calling interpreter isolated (its isolated
    interpreters may allow daemon threads), or None when the core did not make it."""
    if "_interpcli" not in sys.modules:  # the core did not make this interpreter
        return None
    try:
        from . import _lowlevel

        me = _lowlevel.current_id()
        for r in _lowlevel.list_interpreters():
            if r[0] == me and r[2] in (0, 1):
                return bool(r[2])
    except Exception:
        pass
    return None


def is_known_crash(path: str) -> bool:
    """The extension module file at `path` is known to crash the process when an isolated
    interpreter loads it (see crash_kind)."""
    return bool(crash_kind(path))


def crash_kind(path: str) -> str:
    """Why loading the extension module file at `path` in an isolated interpreter crashes
    the process, or '': 'mypyc' for a mypyc-compiled module (its name says `__mypyc`,
    its dynamic symbols are mypyc's runtime's, or it is one of mypyc's small per-module
    shims, which import the `..__mypyc` library): CPython runs its init function before
    refusing it, and black's then aborts the process. Reads the file's section headers
    and dynamic string table (or the whole file when it is small and not ELF: see
    _extfiles); cached per path."""
    kind = _known_crash.get(path)
    if kind is None:
        try:
            kind = _extfiles().classify(path)
        except (OSError, ValueError):
            kind = ""
        _known_crash[path] = kind
    return kind


def _extfiles():
    """interpcli._extfiles, loaded on first use (from its file when this module was
    loaded so, as `interp run` does: the package is not imported for it)."""
    mod = sys.modules.get("interpcli._extfiles")
    if mod is None:
        import _frozen_importlib as bootstrap
        import _frozen_importlib_external as external

        spec = external.spec_from_file_location(
            "interpcli._extfiles", __file__.rpartition("/")[0] + "/_extfiles.py"
        )
        mod = bootstrap.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return mod


def report() -> str:
    """refusals() as text (JSON) for the main interpreter: see refusals_reported()."""
    import json

    return json.dumps(_refusals)


def refusals_reported(result) -> list[tuple[str, str, str]]:
    """The refusals an interpreter handed back in `result` (a RunResult of code that
    raised ImportWarning(report()) there)."""
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
    except Exception:  # broken metadata must not break the report
        dists = None
    return dists[0] if dists else top
