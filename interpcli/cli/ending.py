"""What a program's interpreter does once its script has ended, as python does at exit:
threading's shutdown (exit callbacks, then the non-daemon threads joined), the flush of
sys.stdout and sys.stderr, and, for interp's own report, the extension modules that
refused to load there. Each step is a run in that interpreter, by the program's own
thread, so that an interrupt or the grace deadline can still end it."""


def after_script(job, stopping) -> None:
    """Run the exit steps in job.interp (stopping() true: skip the rest) and record on job
    what came of them: threads_left, exit_report, exit_flush, refusals."""
    run = job.interp.run
    if not stopping():
        end = run(AT_EXIT, filename="<interp: exit>", canceller=job.canceller)
        job.threads_left = end.exit_code == THREADS_LEFT
        if job.threads_left:  # perhaps after a Ctrl-C in its wait: python's report
            told = run(REPORT_SHUTDOWN, filename="<interp: exit>", canceller=job.canceller)
            if told.exc_type == "RuntimeWarning":
                job.exit_report = told.exc_message or ""
    if not stopping():
        flushed = run(EXIT_FLUSH, filename="<interp: exit flush>", canceller=job.canceller)
        if flushed.exc_type == "RuntimeError":
            job.exit_flush = flushed.exc_message or ""
    if not stopping():
        end = run(REPORT_REFUSALS, filename="<interp: exit>", canceller=job.canceller)
        if end.exc_type == "ImportWarning":
            from .._extensions import refusals_reported

            job.refusals = refusals_reported(end)


# The steps, each one line importing interpcli._exit_sub in the program's interpreter.
_SUB = "__import__('interpcli._exit_sub', None, None, ['_'])"
AT_EXIT = f"{_SUB}.shut_down_threads()\n"
REPORT_SHUTDOWN = f"{_SUB}.report_shutdown()\n"
EXIT_FLUSH = f"{_SUB}.flush_std_streams()\n"
REPORT_REFUSALS = f"{_SUB}.report_refusals()\n"
THREADS_LEFT = -99  # interpcli._exit_sub.THREADS_LEFT (not imported here for it)
