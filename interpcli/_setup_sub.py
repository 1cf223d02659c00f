"""What a program's interpreter runs before its script (`interp run`, `interp pipe`),
imported there by the one-line preludes of interpcli.cli.programs and
interpcli._faultserver: `sys.argv`, `sys.path[0]`, `__file__`, `__cached__`,
`__loader__` and the standard streams as python sets them for the script, the watch on
extension modules, and the finder of the faulthandler stand-in."""

import sys


def prepare(
    main: dict,
    argv: list,
    path0=None,
    main_path0=None,
    file=None,
    closed=(),
    loader=None,
    no_cached=False,
    code=None,
) -> None:
    """Set up __main__ (its namespace: main) and sys for a script: sys.argv; path0 in
    place of main_path0 (the interp process's own sys.path[0]) or first on sys.path;
    __file__; the standard streams named in closed set to None (interp was started with
    them closed); __cached__ None; a SourceFileLoader for the file loader; -c's code in
    linecache."""
    watch_extensions()
    sys.argv = argv
    if path0 is not None and main_path0 is not None:
        if sys.path and sys.path[0] == main_path0:
            sys.path[0] = path0
        else:
            sys.path.insert(0, path0)
    if file is not None:
        main["__file__"] = file
    for name in closed:
        setattr(sys, name, None)
        setattr(sys, f"__{name}__", None)
    if no_cached:
        main["__cached__"] = None
    if loader is not None:
        import _frozen_importlib_external

        main["__loader__"] = _frozen_importlib_external.SourceFileLoader("__main__", loader)
    if code is not None:
        _register_code(code)


def _register_code(text: str) -> None:
    """python -c hands the code to linecache (3.13: under its file name, later versions:
    by code object) so that tracebacks show its lines; 3.12 does neither."""
    import linecache

    if hasattr(linecache, "_interactive_cache"):
        try:
            linecache._register_code(  # type: ignore[attr-defined]  # private, 3.13+
                compile(text, "<string>", "exec", dont_inherit=True), text, "<string>"
            )
        except Exception:
            pass
    elif hasattr(linecache, "_register_code"):
        linecache._register_code("<string>", text, "<string>")


def watch_extensions() -> None:
    """Watch extension modules in this interpreter (interpcli._extensions: it reports those
    that refuse to load here and refuses those known to crash it). Installed lazily: only
    the two extension loaders are wrapped now, and the first extension module loaded loads
    _extensions. The wrappers carry importlib's file name, so that import errors' tracebacks
    leave them out as they leave out importlib's frames."""
    if "interpcli._extensions" in sys.modules:
        return
    import _frozen_importlib as b
    import _frozen_importlib_external as e

    E, B = e.ExtensionFileLoader, b.BuiltinImporter
    file_create, builtin_create = E.create_module, B.create_module

    def load():
        E.create_module, B.create_module = file_create, staticmethod(builtin_create)
        try:
            from . import _extensions

            _extensions.install()
        except Exception:
            sys.modules.pop("interpcli._extensions", None)

    def create_module(self, spec):
        load()
        return E.create_module(self, spec)

    def create_builtin(spec):
        load()
        return B.create_module(spec)

    for f, o in ((create_module, file_create), (create_builtin, builtin_create)):
        f.__code__ = f.__code__.replace(co_filename=o.__code__.co_filename)
    # patched on purpose: the importers' methods, for this interpreter
    E.create_module, B.create_module = create_module, staticmethod(create_builtin)  # type: ignore[method-assign]


def find_faulthandler(server: int) -> None:
    """Make `import faulthandler` find the stand-in (interpcli._faulthandler) wherever the
    real module refuses, served by server; called on the thread that will run the script
    (the stand-in's dumps call it the main thread). It imports nothing until then."""
    import _thread

    class _FaulthandlerFinder:
        main = (_thread.get_ident(), _thread.get_native_id())

        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name != "faulthandler":
                return None
            from interpcli._faulthandler import spec

            return spec(server, cls.main)

    _FaulthandlerFinder.__module__ = "interpcli._faulthandler"
    sys.meta_path.insert(0, _FaulthandlerFinder)
