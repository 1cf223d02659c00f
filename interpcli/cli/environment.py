"""The environment `interp` runs in: its program name (for messages), its standard
streams and whether its output may be coloured. One Environment is made by cli.main()
and made current for the command's whole run; what writes to the user (cli.report) reads
it from there rather than from module globals. Tests make their own."""

import sys

from .._term import isatty, no_color


class Environment:
    """The program name, stdin, stdout, stderr and colour of one `interp` command.

    A stream not given is the sys one at the time it is asked for (sys.stderr may be None
    when fd 2 was closed at start; pytest swaps them), so an Environment made early sees
    the streams that are current when it writes."""

    __slots__ = ("program_name", "_stdin", "_stdout", "_stderr", "_colors")

    def __init__(
        self,
        program_name: str = "interp",
        *,
        stdin=None,
        stdout=None,
        stderr=None,
        colors: bool | None = None,
    ):
        self.program_name = program_name
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr
        self._colors = colors

    @property
    def stdin(self):
        return sys.stdin if self._stdin is None else self._stdin

    @property
    def stdout(self):
        return sys.stdout if self._stdout is None else self._stdout

    @property
    def stderr(self):
        return sys.stderr if self._stderr is None else self._stderr

    @property
    def stdout_isatty(self) -> bool:
        return isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return isatty(self.stderr)

    @property
    def colors(self) -> bool:
        """Colour allowed: not when NO_COLOR is set (unless given explicitly)."""
        return not no_color() if self._colors is None else self._colors

    def __repr__(self) -> str:
        return f"Environment({self.program_name!r})"


_current = Environment()


def current() -> Environment:
    """The Environment of the command running in this process."""
    return _current


def use(environment: Environment) -> Environment:
    """Make environment the current one; the one it replaces."""
    global _current
    previous, _current = _current, environment
    return previous
