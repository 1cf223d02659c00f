"""What `interp check` checks: the groups of modules its command line names. A group is
imported in one fresh interpreter: a `-m` module, an installed distribution's top-level
modules (each walked for its submodules), the modules a script imports (as named, not
walked), or each stdlib top-level module."""

from __future__ import annotations

import os
import sys

from .programs import UsageProblem

STDLIB = "stdlib"


class Group:
    """Modules imported together in one interpreter: a target's top-level modules."""

    __slots__ = ("label", "distribution", "names", "walk", "path0")

    def __init__(self, label, distribution, names, walk=True, path0=None):
        self.label = label
        self.distribution = distribution
        self.names = list(names)
        self.walk = walk
        self.path0 = path0


def stdlib_groups() -> list[Group]:
    """Every stdlib top-level module importable here (the `test` package left out), each
    a group walked for its submodules."""
    import importlib.util

    from .._probe import SKIP, SKIP_PARTS

    groups = []
    for name in sorted(sys.stdlib_module_names):
        if name in SKIP or name in SKIP_PARTS:
            continue
        try:
            if importlib.util.find_spec(name) is None:
                continue
        except (ImportError, ValueError):
            continue
        groups.append(Group(name, STDLIB, [name]))
    return groups


def _top_level_of(dist) -> list[str]:
    """The top-level import names a distribution installs."""
    text = dist.read_text("top_level.txt")
    names = []
    if text:
        names = [n.strip().replace("/", ".") for n in text.split() if n.strip()]
    if not names:
        for f in dist.files or ():
            parts = f.parts
            if (
                not parts
                or parts[0] in ("..", "")
                or parts[0].endswith((".dist-info", ".egg-info", ".data"))
                or parts[0] == "__pycache__"
            ):
                continue
            first = parts[0]
            if len(parts) == 1:
                stem = first.split(".", 1)[0]
                if first.endswith(".py") or (first.endswith((".so", ".pyd")) and stem):
                    names.append(stem)
            elif parts[1] == "__init__.py":
                names.append(first)
    return [n for n in dict.fromkeys(names) if n and all(p.isidentifier() for p in n.split("."))]


def distribution_group(name: str) -> Group | None:
    from importlib import metadata

    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    dname = dist.metadata["Name"] or name
    return Group(dname, dname, _top_level_of(dist))


def installed_groups() -> list[Group]:
    """One group per installed distribution (the first found of each name)."""
    from importlib import metadata

    seen, groups = set(), []
    for dist in metadata.distributions():
        dname = dist.metadata["Name"]
        if not dname:
            continue
        key = dname.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        names = _top_level_of(dist)
        if names:
            groups.append(Group(dname, dname, names))
    groups.sort(key=lambda g: g.label.lower())
    return groups


def script_group(path: str) -> Group:
    """The modules a script imports (absolute imports anywhere in it), not walked."""
    import ast

    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except OSError as exc:
        raise UsageProblem(
            f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}"
        ) from None
    except (SyntaxError, ValueError) as exc:
        raise UsageProblem(f"can't read the imports of {path!r}: {exc}") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    names = [n for n in dict.fromkeys(names) if n != "__future__"]
    path0 = os.path.dirname(os.path.realpath(path))
    return Group(path, None, names, walk=False, path0=path0)


def resolve(targets, modules, all_installed: bool, stdlib: bool) -> list[Group]:
    """The groups to check for the command line; UsageProblem for a bad target."""
    groups: list[Group] = []
    for target in targets:
        if target.endswith(".py") or os.path.isfile(target):
            if os.path.isdir(target):
                raise UsageProblem(f"can't check {target!r}: it is a directory")
            groups.append(script_group(target))
            continue
        group = distribution_group(target)
        if group is None:
            raise UsageProblem(
                f"{target!r} is neither a script nor an installed "
                "distribution (for a module, use -m NAME)"
            )
        if not group.names:
            raise UsageProblem(f"distribution {target!r} installs no importable module")
        groups.append(group)
    for name in modules:
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise UsageProblem(f"-m {name!r}: not a module name")
        groups.append(Group(name, None, [name], path0=os.getcwd()))
    if all_installed:
        groups += installed_groups()
    if stdlib:
        groups += stdlib_groups()
    if not groups:
        raise UsageProblem(
            "nothing to check: give a SCRIPT, -m MODULE, a DISTRIBUTION, --all or --stdlib"
        )
    return groups
