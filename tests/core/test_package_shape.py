"""The package's shape: module-level imports inside interpcli point down only (no cycle),
and no module grows past ~400 lines."""
import ast
from pathlib import Path

import interpcli

PKG = Path(interpcli.__file__).parent


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level_imports(path: Path) -> set[str]:
    """interpcli modules imported by path's module-level statements (not inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        for stmt in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(stmt, ast.Import):
                found |= {a.name for a in stmt.names if a.name.startswith("interpcli")}
            elif isinstance(stmt, ast.ImportFrom):
                if stmt.level:
                    base = package.split(".")
                    base = base[:len(base) - stmt.level + 1]
                    target = ".".join(base + ([stmt.module] if stmt.module else []))
                else:
                    target = stmt.module or ""
                if not target.startswith("interpcli"):
                    continue
                for alias in stmt.names:
                    sub = f"{target}.{alias.name}"
                    path = PKG.parent / sub.replace(".", "/")
                    found.add(sub if path.with_suffix(".py").exists()
                              or (path / "__init__.py").exists() else target)
    found.discard(name)
    return found


def test_module_level_imports_have_no_cycle():
    graph = {module_name(p): top_level_imports(p) for p in PKG.rglob("*.py")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep):], dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PKG.parent)): n for p in PKG.rglob("*.[pch]*")
            if p.suffix in (".py", ".c", ".h")
            and (n := len(p.read_text().splitlines())) > 420}
    assert not long, f"modules over ~400 lines: {long}"
