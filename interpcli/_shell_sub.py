"""What `interp shell` puts in each of its interpreters, imported there at spawn by the
one line of interpcli.repl.bridge.BOOTSTRAP: the runner of the user's inputs and the
streams that send the interpreter's output to the shell.

run_input runs an input statement by statement in 'single' mode, so expression statements
echo through sys.displayhook, and registers the input with linecache so tracebacks show
its lines. An input may break its own interpreter (replace __builtins__ or __import__,
clear sys.modules): the runner then still serves the next input, as python's REPL goes
on. The shell finds it through _InterpShellHook, a subclass of complex
(0j.__class__.__subclasses__() needs neither builtins nor sys.modules; subclasses of a
built-in type are per interpreter), kept alive by an exit callback; it imports nothing per
input and takes __main__'s namespace from its caller's frame.

The code of this module carries the file name INTERNAL, so that the shell takes its frames
out of the tracebacks it shows (interpcli.repl.pysource.clean_traceback)."""

import ast as _ast
import atexit as _atexit
import linecache as _linecache
import sys as _sys

# The filename of the shell's own code inside interpreters; its frames are hidden.
INTERNAL = "<interp-shell>"


def run_input(src, filename):
    linecache, ast = _linecache, _ast
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    tree = compile(src, filename, "exec", ast.PyCF_ONLY_AST | _FLAGS[0], dont_inherit=True)
    ns = _sys._getframe(1).f_globals
    for node in tree.body:
        code = compile(ast.Interactive([node]), filename, "single", _FLAGS[0], dont_inherit=True)
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


class ShellStream:
    """A text stream that sends its lines to the shell (line-buffered), tagged b"o" for
    stdout and b"e" for stderr."""

    def __init__(self, chan, tag, orig):
        self._chan, self._tag, self._orig, self._buf = chan, tag, orig, []
        self.encoding, self.errors = "utf-8", "backslashreplace"

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if s:
            self._buf.append(s)
            if "\n" in s or self._tag == b"e":
                self.flush()
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._buf:
            data = "".join(self._buf)
            self._buf.clear()
            try:
                self._chan.send_nowait(self._tag + data.encode("utf-8", "backslashreplace"))
            except EOFError:
                pass

    def isatty(self):
        try:
            return self._orig.isatty()
        except Exception:
            return False

    def fileno(self):
        return self._orig.fileno()

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    @property
    def closed(self):
        return False

    @property
    def buffer(self):
        return self._orig.buffer


out = None  # the channel the streams send on


def install(chan):
    """Send this interpreter's sys.stdout and sys.stderr to the shell on chan."""
    global out
    out = chan
    _sys.stdout = ShellStream(chan, b"o", _sys.__stdout__)
    _sys.stderr = ShellStream(chan, b"e", _sys.__stderr__)


def boot(main_globals):
    """At spawn: install on the channel bound as `channels.out` in __main__, and unbind
    `channels` there (the user's namespace starts empty)."""
    install(main_globals.pop("channels").out)


def _hide(namespace):
    """Give the code of this module's functions the file name INTERNAL."""
    for value in list(namespace.values()):
        if isinstance(value, (staticmethod, property)):
            for f in (getattr(value, "__func__", None), getattr(value, "fget", None)):
                if f is not None:
                    f.__code__ = f.__code__.replace(co_filename=INTERNAL)
        elif isinstance(value, type) and value.__module__ == __name__:
            _hide(vars(value))
        elif getattr(value, "__module__", None) == __name__ and hasattr(value, "__code__"):
            value.__code__ = value.__code__.replace(co_filename=INTERNAL)


_hide(globals())
