"""Spare interpreters: isolated interpreters made ahead of need, nameless and unlisted
until taken. Making one releases the GIL for the whole C create, so a spare made in a
thread overlaps the caller's other work (`interp` makes its scripts' interpreters this way
while it loads itself: cli.early).

Imports no more than the C core's door (interpcli._lowlevel) and the exit shutdown
(interpcli._shutdown, which every interpreter made must be known to) and loads the C core, so a
spare then made in another thread begins at once: usable before the rest of the package
is loaded. ImportError when the C core is not built."""

from . import _lowlevel, _shutdown  # loads the C core, here in the importing thread


class Spare:
    """An isolated interpreter made now, nameless and unlisted (interpcli.list_all() does
    not show it, its name reserves nothing) until take(name) makes it an ordinary
    interpcli.Interpreter. close() ends a spare never taken; a spare ends with the process
    in any case. strict: CPython's isolated restrictions (no daemon threads, no
    os.exec*()), as interpcli.create(strict=) means it."""

    __slots__ = ("_id",)

    def __init__(self, *, strict: bool = True):
        self._id: int | None = _shutdown.create_spare(strict)

    @property
    def id(self) -> int | None:
        """The interpreter's id; None once taken or closed."""
        return self._id

    def take(self, name: str):
        """The spare as an Interpreter named name. InterpreterBusyError when an interpreter
        has that name (the spare stays a spare: take it under another name, or close it);
        InterpreterError once it was taken or closed."""
        from .errors import InterpreterError

        # the type checked at run time too: untyped callers pass anything
        if not isinstance(name, str) or not name or "\0" in name:  # type: ignore[redundant-expr]
            raise ValueError("an interpreter name must be a non-empty string without NUL")
        if len(name.encode()) > 200:
            raise ValueError("an interpreter name must be at most 200 bytes")
        if self._id is None:
            raise InterpreterError("the spare was taken or closed")
        _lowlevel.take_spare(self._id, name)
        iid, self._id = self._id, None
        from .interpreter import Interpreter

        return Interpreter(iid)

    def close(self) -> None:
        """End the spare unless it was taken (once is enough: closing again does nothing)."""
        iid, self._id = self._id, None
        if iid is not None:
            _lowlevel.end_spare(iid)

    def __enter__(self) -> "Spare":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Spare(id={self._id})"
