"""Python input as the shell sees it: when an input is complete, which names it defines,
how it is wrapped to run statement by statement like the python REPL (so expression
values echo), and how the wrapper's own frames are taken out of tracebacks."""

from __future__ import annotations

import ast
import codeop
import re
import warnings

# The filename of the shell's own code inside interpreters; its frames are hidden.
INTERNAL = "<interp-shell>"  # as interpcli._shell_sub names its code (that module's
# import in the shell would load it here for nothing)


_COMPOUND: tuple[type[ast.stmt], ...] = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Match,
)
if hasattr(ast, "TryStar"):
    _COMPOUND += (ast.TryStar,)


def needs_more(text: str) -> bool:
    """True while the input is an unfinished Python statement (the python REPL's `...`).

    Open brackets, strings and block headers need more lines; a block (def, for, with...)
    is finished by an empty line, as in python; a syntax error is finished (it is shown)."""
    if not text.strip():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = codeop.compile_command(text, "<input>", "exec")
    except (SyntaxError, ValueError, OverflowError):
        return False
    if code is None:
        return True
    if text.split("\n")[-1].strip() == "" and "\n" in text:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    if tree.body and isinstance(tree.body[-1], _COMPOUND):
        # a block goes on until an empty line, even when it compiles already
        return "\n" in text.rstrip() or text.rstrip().endswith(":")
    return False


def defined_names(text: str) -> set[str]:
    """Names an input binds at top level (assignments, def, class, import, for, with)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()

    def targets(node):
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names.add(n.id)

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(
            node,
            (
                ast.Assign,
                ast.AugAssign,
                ast.AnnAssign,
                ast.For,
                ast.AsyncFor,
                ast.With,
                ast.AsyncWith,
                ast.NamedExpr,
            ),
        ):
            targets(node)
    return {n for n in names if not n.startswith("__")}


def wrap(source: str, filename: str) -> str:
    """The source that runs an input through the runner in an interpreter
    (interpcli._shell_sub.run_input)."""
    return (
        "([_c for _c in 0j.__class__.__subclasses__() if _c.__name__ == "
        "'_InterpShellHook'] or [__import__('interpcli._shell_sub', None, None, "
        "['_'])._InterpShellHook])[0]"
        f".run_input({source!r}, {filename!r})\n"
    )


_FRAME = re.compile(r'^  File "' + re.escape(INTERNAL) + r'", line \d+, in .*\n', re.M)
_EMPTY_HEADER = re.compile(
    r'^Traceback \(most recent call last\):\n(?!  File ".*", line \d+, in )', re.M
)


def clean_traceback(text: str | None) -> str:
    """A traceback without the shell's own frames (and without a header left with no
    frames under it, as python shows a SyntaxError or a bare KeyboardInterrupt)."""
    if not text:
        return ""
    return _EMPTY_HEADER.sub("", _FRAME.sub("", text))
