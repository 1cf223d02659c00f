"""Exit statuses of `interp` and the one place that maps outcomes to statuses: a run's
(status_of), a program's (job_status), a session's (session_status), a failure of ours
(failure_status).

Like `python`: 0 when everything completed, 1 for an uncaught exception (its traceback
goes to stderr), n for SystemExit(n), 2 for usage errors (one line, no traceback), 120 when
flushing sys.stdout at exit failed, 130 when Ctrl-C (SIGINT) stopped the runs."""

# An interpreter whose output consumer went away (closed stdout, a pipeline stage that
# stopped reading) fails with one of these; that is a broken pipe, not an error of its own.
BROKEN_PIPE_ERRORS = frozenset(
    {"interpcli.ChannelClosedError", "ChannelClosedError", "BrokenPipeError"}
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import NoReturn


class ExitStatus:
    """The statuses, as plain ints (no enum: its import costs `interp run` 2 ms)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    FLUSH_FAILED = 120  # python's, when flushing sys.stdout/stderr at exit fails
    INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


def leave_now(status: int) -> "NoReturn":
    """End the process with status at once, without finalizing Python (the one way `interp`
    leaves early): flush what we wrote; a closed pipe there is nothing to report."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(int(status))


def status_of(result) -> int:
    """The exit status a RunResult stands for, as `python` would exit after that run."""
    if result.completed:
        return ExitStatus.OK
    if result.exc_type == "KeyboardInterrupt" and not result.timed_out:
        return ExitStatus.INTERRUPTED
    if result.exc_type == "SystemExit":
        return result.exit_code & 0xFF
    return ExitStatus.FAILURE


def job_status(job, interrupted: bool) -> int:
    """The exit status one program stands for once its thread ended: a failure of ours
    (its interpreter could not be made) is 1, or 130 after Ctrl-C; a run stopped before
    it started is 130; a failed flush of its streams at exit is python's 120; otherwise
    its run's (status_of)."""
    if job.error is not None:
        return ExitStatus.INTERRUPTED if interrupted else ExitStatus.FAILURE
    if job.result is None:
        return ExitStatus.INTERRUPTED
    if job.exit_flush is not None:
        return ExitStatus.FLUSH_FAILED
    return status_of(job.result)


def session_status(jobs, interrupted: bool, pumps_failed: bool) -> int:
    """The exit status of `interp run`/`interp pipe`: 130 if Ctrl-C stopped a program
    before its run ended; else the first program's (command-line order) that failed and
    is not quiet (a broken pipe); else 1 if a pump could not read stdin or write stdout;
    else 0."""
    if interrupted and not all(job.finished for job in jobs):
        return ExitStatus.INTERRUPTED  # stopped before its run began
    for job in jobs:
        if job.status and not job.quiet:
            return job.status
    return ExitStatus.FAILURE if pumps_failed else ExitStatus.OK


def is_broken_pipe(result) -> bool:
    """True for a run that ended because a channel it wrote to was closed by its reader."""
    return result is not None and not result.completed and result.exc_type in BROKEN_PIPE_ERRORS


def failure_status(exc: Exception) -> int:
    """The exit status for a failure of ours that reached the top of `interp`, after
    reporting it in one line (never a traceback of ours; INTERP_DEBUG=1 re-raises)."""
    import os

    from . import report

    if isinstance(exc, BrokenPipeError):
        _silence_stdout()  # our own output (help text...) went to a closed pipe
        return ExitStatus.OK
    if os.environ.get("INTERP_DEBUG"):
        raise exc
    if isinstance(exc, ImportError):
        report.error(str(exc))  # e.g. the C core is not built
    else:
        report.error(
            f"internal error: {type(exc).__name__}: {exc} (set INTERP_DEBUG=1 for the traceback)"
        )
    return ExitStatus.FAILURE


def _silence_stdout() -> None:
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
