"""interpcli/_native/_interpcli.pyi declares what the C core defines: every name the module
has, every method and attribute of its types, and nothing it does not have."""

import ast
from pathlib import Path

from interpcli._native import _interpcli as core

STUB = Path(core.__file__).with_name("_interpcli.pyi")
# the stub's own helpers: bases shared by the end types, not classes of the core
STUB_ONLY = {"_End", "_Receiving", "_Sending"}
# slots of the core's types that are not API: Python's protocols, pickling
PROTOCOL = {
    "__iter__",
    "__next__",
    "__reduce__",
    "__buffer__",
    "__init__",
    "__new__",
    "__hash__",
    "__eq__",
    "__enter__",
    "__exit__",
}


def _stub():
    """{name: set of member names (None for a function or constant)} of the stub, each
    class's members including those of its bases in the stub."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    classes, names = {}, {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            members |= {
                n.target.id
                for n in node.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            }
            for base in node.bases:
                if isinstance(base, ast.Name) and base.id in classes:
                    members |= classes[base.id]
            classes[node.name] = members
            names[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
    return names


def _module():
    out = {}
    for name in dir(core):
        if name.startswith("__"):
            continue
        obj = getattr(core, name)
        if isinstance(obj, type):
            out[name] = {m for m in vars(obj) if not m.startswith("__") or m in PROTOCOL}
            if issubclass(obj, BaseException):
                out[name] = set()  # exceptions: only the class itself
        else:
            out[name] = None
    return out


def test_the_stub_names_what_the_core_defines():
    stub, module = _stub(), _module()
    public_stub = {n for n in stub if n not in STUB_ONLY}
    assert sorted(set(module) - public_stub) == [], "defined by the core, not in the stub"
    assert sorted(public_stub - set(module)) == [], "in the stub, not defined by the core"
    for name, members in module.items():
        if members is None:
            assert stub[name] is None, f"{name}: a class in the stub, not in the core"
            continue
        declared = stub[name] or set()
        missing = {m for m in members - declared if m not in PROTOCOL}
        assert not missing, f"{name}: members missing from the stub: {sorted(missing)}"
        extra = {m for m in declared - members if m not in PROTOCOL}
        assert not extra, f"{name}: members in the stub the core lacks: {sorted(extra)}"
