"""What the terminal wants, for the CLI's report and the shell alike: whether a stream is a
terminal, and whether colour is wanted on it (NO_COLOR, https://no-color.org)."""
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
