"""A session's pumps (cli.stdio) between the process's stdin/stdout and the channels its
Wiring names: started before the runs, finished after them, their failures reported."""

from . import report
from .status import ExitStatus, leave_now


class Pumps:
    """The stdin and stdout pumps of one session (either may be None)."""

    def __init__(self, wiring, on_done):
        from .stdio import StdinPump, StdoutPump

        self.wiring = wiring
        self.stdin = StdinPump(wiring.stdin, on_done=on_done) if wiring.stdin is not None else None
        self.stdout = (
            StdoutPump(wiring.stdout, on_done=on_done) if wiring.stdout is not None else None
        )

    def start(self) -> None:
        for pump in (self.stdin, self.stdout):
            if pump is not None:
                pump.start()

    @property
    def broken_stdout(self) -> bool:
        """Did the stdout pump find its reader gone (a broken pipe)?"""
        return self.stdout is not None and self.stdout.broken

    @property
    def failed(self) -> bool:
        """Did a pump fail to read stdin or to write stdout (other than a broken pipe)?"""
        return any(p is not None and p.error is not None for p in (self.stdout, self.stdin))

    def finish(self, forced: bool = False) -> None:
        """After the runs: stop reading stdin, let stdout write what is still queued (or,
        after Ctrl-C, drop it), and wait for both pumps."""
        w = self.wiring
        if self.stdin is not None:
            self.stdin.stop()
            w.stdin.close()  # wakes the pump if it waits in a send
        if self.stdout is not None:
            # no writer is left: the pump drains what was queued, then ends
            (w.stdout if forced else w.stdout_writer).close()
        for pump in (self.stdin, self.stdout):
            if pump is None:
                continue
            if forced:
                try:
                    pump.join()
                except KeyboardInterrupt:
                    leave_now(ExitStatus.INTERRUPTED)
            else:
                pump.join()
        if self.stdout is not None and not self.stdout.broken and self.stdout.error is not None:
            report.error(f"cannot write to stdout: {self.stdout.error.strerror}")
        if self.stdin is not None and self.stdin.error is not None:
            report.error(f"cannot read stdin: {self.stdin.error.strerror}")
