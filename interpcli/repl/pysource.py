"""Python input as the shell sees it: when an input is complete, which names it defines,
how it is wrapped to run statement by statement like the python REPL (so expression
values echo), and how the wrapper's own frames are taken out of tracebacks."""
from __future__ import annotations

import ast
import codeop
import re
import warnings

# The filename of the shell's own code inside interpreters; its frames are hidden.
INTERNAL = "<interp-shell>"

# Defined in each interpreter at spawn (module `_interp_shell`): runs an input statement
# by statement in 'single' mode, so expression statements echo through sys.displayhook,
# and registers the input with linecache so tracebacks show its lines. An input may break
# its own interpreter (replace __builtins__ or __import__, clear sys.modules): the runner
# then still serves the next input, as python's REPL goes on. wrap() finds it through
# _InterpShellHook, a subclass of complex (0j.__class__.__subclasses__() needs neither
# builtins nor sys.modules; subclasses of a built-in type are per interpreter), kept alive
# by an exit callback; it imports nothing per input and takes __main__'s namespace from
# its caller's frame.
RUNNER_SOURCE = '''
import ast as _ast, atexit as _atexit, linecache as _linecache, sys as _sys

def run_input(src, filename):
    linecache, ast = _linecache, _ast
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    tree = compile(src, filename, "exec", ast.PyCF_ONLY_AST | _FLAGS[0], dont_inherit=True)
    ns = _sys._getframe(1).f_globals
    for node in tree.body:
        code = compile(ast.Interactive([node]), filename, "single", _FLAGS[0],
                       dont_inherit=True)
        _FLAGS[0] |= code.co_flags & _FUTURE_MASK
        exec(code, ns)

def _future_mask():
    import __future__
    m = 0
    for name in __future__.all_feature_names:
        m |= getattr(__future__, name).compiler_flag
    return m

_FUTURE_MASK = _future_mask()
_FLAGS = [0]

class _InterpShellHook(complex):
    __slots__ = ()
    run_input = staticmethod(run_input)

def _keep(*_objects):
    pass

_atexit.register(_keep, _InterpShellHook)
'''


_COMPOUND: tuple[type[ast.stmt], ...] = (
    ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Match)
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
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For,
                               ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr)):
            targets(node)
    return {n for n in names if not n.startswith("__")}


def wrap(source: str, filename: str) -> str:
    """The source that runs an input through the runner in an interpreter."""
    return ("([_c for _c in 0j.__class__.__subclasses__() if _c.__name__ == "
            "'_InterpShellHook'] or [__import__('_interp_shell')._InterpShellHook])[0]"
            f".run_input({source!r}, {filename!r})\n")


_FRAME = re.compile(r'^  File "' + re.escape(INTERNAL) + r'", line \d+, in .*\n', re.M)
_EMPTY_HEADER = re.compile(r'^Traceback \(most recent call last\):\n(?!  File ".*", line \d+, in )',
                           re.M)


def clean_traceback(text: str | None) -> str:
    """A traceback without the shell's own frames (and without a header left with no
    frames under it, as python shows a SyntaxError or a bare KeyboardInterrupt)."""
    if not text:
        return ""
    return _EMPTY_HEADER.sub("", _FRAME.sub("", text))
