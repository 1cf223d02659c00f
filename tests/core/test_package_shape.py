"""The package's shape, as the README's Layout section states it: imports inside interpcli
(module-level and function-level alike) point down the layers only and make no cycle,
only interpcli._lowlevel imports or calls the C core, and no module grows past 400 lines of code."""

import ast
from pathlib import Path

import interpcli

PKG = Path(interpcli.__file__).parent

# The layers, bottom first (README, Layout): a module may import its own layer and those
# below. The first prefix that matches a module's name gives its layer.
LAYERS = [
    ("the C core", ["interpcli._native", "_interpcli"]),
    (
        "bare helpers",
        [
            "interpcli._sync",
            "interpcli._source",
            "interpcli._term",
            "interpcli._extfiles",
            "interpcli._names",
            "interpcli._usererror",
            "interpcli._platform",
            "interpcli._importpatch",
        ],
    ),
    ("the door to the core", ["interpcli._lowlevel"]),
    (
        "errors, channels, results, exit, in-interpreter helpers",
        [
            "interpcli.errors",
            "interpcli.channels",
            "interpcli.results",
            "interpcli.aio",
            "interpcli._xiframe",
            "interpcli._shutdown",
            "interpcli._signals_sub",
            "interpcli._signals_waits",
            "interpcli._signals_locks",
            "interpcli._signals_stdin",
            "interpcli._signals_children",
            "interpcli._signals_setup",
            "interpcli._faulthandler",
            "interpcli._faultserver",
            "interpcli._extensions",
        ],
    ),
    ("interpreters", ["interpcli._spare", "interpcli.interpreter", "interpcli._probe"]),
    ("the PEP 734 layer and its pools", ["interpcli.interpreters", "interpcli._pool_worker"]),
    # the package's own names (create, Interpreter, ...): its __init__ imports nothing
    # itself, its __getattr__ loads the module that defines a name when it is asked for
    ("the package", ["interpcli"]),
    ("the commands", ["interpcli.cli", "interpcli.repl", "interpcli.__main__"]),
]

# Imports that point up, each with why; empty is the goal.
ALLOWED_UP = {
    # Interpreter.call_async awaits the PEP 734 layer's call() (its encoding of callables
    # and results lives there); moving call()'s machinery below interpreter would end it.
    ("interpcli.interpreter", "interpcli.interpreters"),
}

CORE_NAMES = {"_interpcli", "interpcli._native", "interpcli._native._interpcli"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """The modules path's module imports anywhere: at module level and inside functions
    (every Import and ImportFrom node of its tree); interpcli's own and the C core's."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for stmt in ast.walk(ast.parse(path.read_text())):
        if isinstance(stmt, ast.Import):
            found |= {
                a.name for a in stmt.names if a.name.startswith("interpcli") or a.name in CORE_NAMES
            }
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level:
                base = package.split(".")
                base = base[: len(base) - stmt.level + 1]
                target = ".".join(base + ([stmt.module] if stmt.module else []))
            else:
                target = stmt.module or ""
            if target in CORE_NAMES:
                found.add(target)
                continue
            if not target.startswith("interpcli"):
                continue
            for alias in stmt.names:
                sub = f"{target}.{alias.name}"
                found.add(
                    sub
                    if (PKG.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                    or (PKG.parent / sub.replace(".", "/") / "__init__.py").exists()
                    or sub in CORE_NAMES
                    else target
                )
    found.discard(name)
    return found


GRAPH = {module_name(p): imports(p) for p in PKG.rglob("*.py")}


def layer(module: str) -> int:
    for rank, (_what, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer of LAYERS (and of the README's Layout)")


def test_imports_have_no_cycle():
    graph = {a: {b for b in deps if (a, b) not in ALLOWED_UP} for a, deps in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_imports_point_down_the_layers():
    up = sorted(
        f"{a} -> {b} ({LAYERS[layer(a)][0]} -> {LAYERS[layer(b)][0]})"
        for a, deps in GRAPH.items()
        for b in deps
        if layer(b) > layer(a) and (a, b) not in ALLOWED_UP
    )
    assert not up, "imports that point up:\n" + "\n".join(up)
    stale = [pair for pair in ALLOWED_UP if pair[1] not in GRAPH.get(pair[0], ())]
    assert not stale, f"allowed upward imports that no longer exist: {stale}"


def test_only_lowlevel_touches_the_core():
    importers = sorted(m for m, deps in GRAPH.items() if deps & CORE_NAMES)
    assert importers == ["interpcli._lowlevel"], importers
    callers = sorted(
        module_name(p)
        for p in PKG.rglob("*.py")
        if module_name(p) != "interpcli._lowlevel"
        and any(
            isinstance(n, (ast.Name, ast.Attribute))
            and getattr(n, "id", getattr(n, "attr", None)) == "core_module"
            for n in ast.walk(ast.parse(p.read_text()))
        )
    )
    assert not callers, f"core_module() used outside _lowlevel: {callers}"


def _code_lines(path) -> int:
    """Lines that are neither blank nor only a comment: a module's size as the formatter
    (ruff format) leaves it, however it breaks long expressions."""
    comment = "#" if path.suffix == ".py" else "//"
    return sum(
        1
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith((comment, "*", "/*"))
    )


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(PKG.parent)): n
        for p in PKG.rglob("*.[pch]*")
        if p.suffix in (".py", ".c", ".h") and (n := _code_lines(p)) > 400
    }
    assert not long, f"modules over 400 lines of code: {long}"
