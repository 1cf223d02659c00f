"""RunResult: what a run of source in an interpreter came to (like CompletedProcess)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class InterpreterRef(NamedTuple):
    """The id and name of the interpreter a run happened in."""
    id: int
    name: str


@dataclass(frozen=True)
class RunResult:
    """The outcome of Interpreter.run().

    completed is True when the source ran to its end, or left with sys.exit(0) /
    sys.exit(); exit_code is then 0. An uncaught exception gives exit_code 1 and sets
    exc_type (qualified name), exc_message and traceback (text, formatted in the
    interpreter); SystemExit(n) gives exit_code n. stdout/stderr hold what the run wrote
    when capture_output=True, else None."""

    source: str
    channels: tuple[str, ...]
    completed: bool
    interpreter: InterpreterRef
    exc_type: str | None = None
    exc_message: str | None = None
    traceback: str | None = None
    exit_code: int = 0
    duration: float = 0.0
    stdout: str | None = None
    stderr: str | None = None
    timed_out: bool = False

    def check(self) -> "RunResult":
        """Return self if the run completed, else raise RunFailedError carrying it."""
        if not self.completed:
            from .errors import RunFailedError
            raise RunFailedError(self)
        return self

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["interpreter"] = {"id": self.interpreter.id, "name": self.interpreter.name}
        d["channels"] = list(self.channels)
        return d
