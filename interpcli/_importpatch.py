"""Patch a module of a script's interpreter when the script imports it (a sys.meta_path
entry, used once): importing socket or threading up front would cost start-up time that
most scripts never need."""

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType


def patch_on_import(name: str, patch: "Callable[[ModuleType], None]") -> None:
    """patch(module) once the top-level module `name` has run; at once when imported."""
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
    else:
        sys.meta_path.insert(0, _Finder(name, patch))


class _Finder:
    """Finds `name` through the path finder, with a loader that patches it after it ran;
    it leaves sys.meta_path at the first search for the name."""

    def __init__(self, name: str, patch: "Callable[[ModuleType], None]"):
        self._name = name
        self._patch = patch

    def find_spec(self, name, path=None, target=None):
        if name != self._name:
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        finder = sys.modules["_frozen_importlib_external"].PathFinder
        spec = finder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader, self._patch)
        return spec


class _PatchingLoader:
    """The real loader, and the patch once the module ran."""

    def __init__(self, loader, patch: "Callable[[ModuleType], None]"):
        self._loader = loader
        self._patch = patch

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._patch(module)
