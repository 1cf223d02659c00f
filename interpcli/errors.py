"""interpcli's exceptions: one hierarchy rooted at InterpError, which is never raised itself.

All but RunFailedError are defined by the core module in each interpreter (so code inside
a subinterpreter can catch them too); ChannelClosedError is also an EOFError."""

from ._lowlevel import (
    ChannelClosedError,
    ChannelEmptyError,
    ChannelError,
    ChannelTimeoutError,
    InterpError,
    InterpreterBusyError,
    InterpreterError,
    InterpreterNotFoundError,
)


class RunFailedError(InterpError):
    """Raised by RunResult.check() for a run that did not complete; carries the result."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result

    def __str__(self) -> str:
        r = self.result
        who = f"interpreter {r.interpreter.name!r} (id {r.interpreter.id})"
        if r.exc_type == "SystemExit":
            head = f"{who} exited with status {r.exit_code}"
        else:
            head = f"{who} raised {r.exc_type}: {r.exc_message}"
        if r.traceback:
            return f"{head}\n\nRemote traceback:\n{r.traceback.rstrip()}"
        return head


__all__ = [
    "InterpError",
    "ChannelError",
    "ChannelClosedError",
    "ChannelEmptyError",
    "ChannelTimeoutError",
    "InterpreterError",
    "InterpreterNotFoundError",
    "InterpreterBusyError",
    "RunFailedError",
]
