"""What the terminal wants, for the CLI's report and the shell alike: whether a stream is a
terminal, whether colour is wanted on it (NO_COLOR, https://no-color.org), and how wide
it is."""

import os


def no_color() -> bool:
    """NO_COLOR set and not empty disables colour."""
    return bool(os.environ.get("NO_COLOR"))


def isatty(stream) -> bool:
    """stream.isatty(), False for streams that are closed or have no such method."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def colour_on(stream) -> bool:
    """Colour on stream: a terminal, and NO_COLOR not set."""
    return not no_color() and isatty(stream)


def columns(fallback: int = 80) -> int:
    """The terminal's width as shutil.get_terminal_size() gives it (COLUMNS, else the
    terminal on sys.__stdout__, else fallback), without importing shutil: on 3.14 that
    loads the compression modules, 4 ms that `interp --help` would pay over click's own."""
    import sys

    try:
        width = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        width = 0
    if width <= 0:
        try:
            # no sys.__stdout__ (None): the AttributeError is caught
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            width = 0
    return width or fallback
