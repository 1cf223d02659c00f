"""Extension modules that refuse to load in the calling interpreter, recorded as they refuse.

install() puts an import hook in the calling interpreter: every extension module whose
loading fails there with an ImportError is recorded (even when the importing code caught
the error and fell back to pure Python, as msgpack and PyYAML do), and refusals() lists
them. In an isolated (own-GIL) interpreter the hook also refuses, with a clear ImportError,
the extensions known to crash the whole process there instead of refusing
(is_known_crash(): mypyc-compiled ones, such as black's)."""
import sys

_refusals: list = []        # (module name, file path, reason)
_installed = False

# A mypyc-compiled module is a small shim that loads a shared "<hash>__mypyc" library:
# both carry this marker in their name or their bytes.
_MYPYC_MARKER = b"__mypyc"


def is_known_crash(path: str) -> bool:
    """Whether the extension at path is mypyc-compiled (which aborts the process when it is
    initialized in an isolated interpreter), judged from its file name and bytes."""
    import os
    name = os.path.basename(path)
    if "__mypyc." in name:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    return _MYPYC_MARKER in head


def _isolated() -> bool:
    """Whether the calling interpreter has its own GIL (refuses legacy extensions)."""
    try:
        from . import _lowlevel
        me = _lowlevel.current_id()
        if me == _lowlevel.main_id():
            return False
        for iid, _name, isolated, *_rest in _lowlevel.interpreters(True):
            if iid == me:
                return isolated is not False
    except Exception:
        pass
    return True     # an interpreter interpcli cannot tell about: assume the strict kind


class _Recording:
    """Wraps an extension module loader: records an ImportError of create_module()."""

    def __init__(self, loader, name, path, isolated):
        self._loader = loader
        self._name = name
        self._path = path
        self._isolated = isolated

    def __getattr__(self, attr):
        return getattr(self._loader, attr)

    def create_module(self, spec):
        if self._isolated and self._path and is_known_crash(self._path):
            reason = ("known crash: mypyc-compiled extension modules abort the process in "
                      "an isolated interpreter")
            _refusals.append((self._name, self._path, reason))
            raise ImportError(f"module {self._name} is mypyc-compiled and would crash the "
                              "process in an isolated interpreter; run it with --shared-gil",
                              name=self._name, path=self._path)
        try:
            return self._loader.create_module(spec)
        except ImportError as exc:
            _refusals.append((self._name, self._path or "", str(exc)))
            raise

    def exec_module(self, module):
        return self._loader.exec_module(module)


class _Finder:
    """A meta path finder that asks the finders after it and wraps extension loaders."""

    def __init__(self, isolated):
        self._isolated = isolated

    def find_spec(self, fullname, path=None, target=None):
        # the import machinery's own classes: importing importlib.machinery here would
        # come back to this finder
        extension_loader = sys.modules["_frozen_importlib_external"].ExtensionFileLoader
        builtin_importer = sys.modules["_frozen_importlib"].BuiltinImporter
        found = None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _Finder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            found = find(fullname, path, target)
            if found is not None:
                break
        if found is None:
            return None
        loader = found.loader
        if isinstance(loader, extension_loader) or loader is builtin_importer:
            origin = found.origin if isinstance(loader, extension_loader) else None
            found.loader = _Recording(loader, fullname, origin, self._isolated)
        return found


def install() -> None:
    """Install the hook in the calling interpreter (once; later calls do nothing)."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.meta_path.insert(0, _Finder(_isolated()))


def refusals() -> list:
    """(module name, file path, reason) of every extension module that failed to load in
    this interpreter since install(), in order."""
    return list(_refusals)
