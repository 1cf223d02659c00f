"""Running programs for `interp run` and `interp pipe`: one interpreter per program, all
at once, each driven by its own thread (the GIL is released during a run, so they go in
parallel); the main thread waits for them, takes Ctrl-C, and cleans up.

The main thread blocks on one queue of events (a run started or ended, a pump ended, a
SIGINT) and on the pumps' threads; nothing sleeps or polls. Its only timed waits are
deadlines: a run's --timeout, and the grace a run gets after an interrupt. Ctrl-C
interrupts every running interpreter (a KeyboardInterrupt inside, which also wakes a
script blocked on a channel); a second Ctrl-C, or a run that ignores the interrupt (stuck
in a C call), ends the process at once.

This module is the event loop; the rest lives beside it: a program's thread (cli.jobs),
the channels' wiring (cli.wiring), the pumps (cli.pumps), the reactions to a run's end
(cli.cascade), the close order (cli.closing), Ctrl-C (cli.ctrlc) and every exit status
(cli.status)."""

import _thread
import time
from _queue import Empty, SimpleQueue

from ..errors import InterpError
from ..interpreter import grace
from ..results import RunResult  # noqa: F401  (imported while the first interpreter is made)
from . import closing, ctrlc, report
from .cascade import Cascade
from .ctrlc import GRACE
from .jobs import Job, drive
from .signals import raised_at, set_sigint_waker, sigints, start_raw_thread
from .status import ExitStatus, is_broken_pipe, job_status, leave_now, session_status, status_of

_LONGEST_WAIT = _thread.TIMEOUT_MAX / 2  # one timed wait; longer deadlines wait again


class Session:
    """Run the programs, wired as wiring says (cli.wiring), to completion and return the
    exit status."""

    def __init__(
        self,
        programs,
        wiring,
        *,
        isolated=True,
        timeout=None,
        result_mode="auto",
        early=None,
        strict=False,
    ):
        self.wiring = wiring
        self.jobs = [Job(p, i, *wiring.ends_of(i)) for i, p in enumerate(programs)]
        self.isolated = isolated
        self.strict = strict
        self.timeout = timeout
        self.result_mode = result_mode
        self.early = early
        self._events = SimpleQueue()
        self._lock = _thread.allocate_lock()
        self._stopping = False
        self._interrupted = False
        self.sigints_handled = 0  # the SIGINTs the loop has acted on (ctrlc: the next ones)
        self.posted_at = 0.0  # when _interrupt last passed a SIGINT on
        self.pumps = None
        self._cascade = Cascade(wiring, self.jobs)
        self._faults = ""  # the setup line that gives isolated runs faulthandler

    def run(self) -> int:
        status_line = None
        # SIGINT is an event the loop reads (and raises KeyboardInterrupt for, in _handle),
        # not a KeyboardInterrupt raised wherever the main thread is: a script sending
        # itself SIGINT in a loop would land one in the middle of the Ctrl-C handling
        set_sigint_waker(self._sigint_event, quiet=True)
        try:
            try:
                if sigints():
                    self.sigints_handled = sigints()
                    raise KeyboardInterrupt  # an earlier one was swallowed
                if self.wiring.pumps:
                    from .pumps import Pumps

                    self.pumps = self._cascade.pumps = Pumps(
                        self.wiring, on_done=lambda pump: self._events.put(("pump", pump))
                    )
                    self.pumps.start()
                if self.isolated:
                    from .. import _faultserver

                    try:
                        self._faults = _faultserver.prelude(_faultserver.serve())
                    except RuntimeError:  # no thread can start: no stand-in
                        pass
                for job in self.jobs:
                    start_raw_thread(drive, (self, job))
                if report.StatusLine.wanted(self.result_mode):
                    status_line = report.StatusLine(self.jobs)
                    status_line.start()
                while not all(job.finished for job in self.jobs):
                    self._handle(self._next_event(self._timeout_deadline()))
                if self.pumps is not None:
                    set_sigint_waker(self._sigint_event)  # Ctrl-C ends the pumps' joins
                    self.pumps.finish()
            except KeyboardInterrupt:
                set_sigint_waker(self._sigint_event, quiet=True)
                # the SIGINT acted on: those that come from now on are others
                self.sigints_handled = max(self.sigints_handled, raised_at())
                self._interrupt()
                ctrlc.wait_for_runs(self)
                if self.pumps is not None:
                    self.pumps.finish(forced=True)
        finally:
            set_sigint_waker(None)
            if status_line is not None:
                status_line.stop()
        if self._interrupted:
            ctrlc.close_within_grace(self)
        else:
            self._close_all(None)
        status = session_status(
            self.jobs, self._interrupted, self.pumps is not None and self.pumps.failed
        )
        report.render_results(self.jobs, self.result_mode, status)
        if any(job.threads_left for job in self.jobs):
            leave_now(status)  # their daemon threads end with the process, as in python
        return status

    def _sigint_event(self, count: int) -> None:
        """The SIGINT handler's waker: the event loop (or ctrlc's wait) reads it."""
        self._events.put(("sigint", count))

    def _handle(self, event) -> None:
        kind, what = event
        if kind == "sigint":
            self.sigints_handled = max(self.sigints_handled, what)
            raise KeyboardInterrupt  # the handler's own raise may have been swallowed
        if kind == "job":
            what.finished = True
            self._job_finished(what)
        # "start" wakes the loop to set the --timeout deadline; "pump": the pumps' state
        # is read where it matters (Pumps.broken_stdout)

    def _timeout_deadline(self):
        """When the earliest running job overstays its --timeout by GRACE (None: never)."""
        if self.timeout is None:
            return None
        starts = [j.started_at for j in self.jobs if j.running]
        return min(starts) + self.timeout + grace(GRACE) if starts else None

    def _next_event(self, deadline, status=ExitStatus.FAILURE):
        """The next event from the threads. A run still going at the deadline ignores
        its interrupt (blocked in a C call such as time.sleep or a socket read): the
        process then leaves without cleanup, as finalizing would abort it."""
        if deadline is None:
            return self._events.get()
        while True:
            left = deadline - time.monotonic()
            try:
                return self._events.get(timeout=min(max(0.0, left), _LONGEST_WAIT))
            except Empty:
                if left <= _LONGEST_WAIT:
                    break
        stuck = ", ".join(j.program.label for j in self.jobs if j.running) or "a run"
        self._force_exit(f"{stuck} did not stop when interrupted (blocked in a C call?)", status)

    def _force_exit(self, why: str, status: int):
        report.error(f"{why}: exiting without cleanup")
        leave_now(status)

    def _interrupt(self) -> None:
        """Ctrl-C: SIGINT goes to each script as python would give it (its handler runs;
        the default raises KeyboardInterrupt); a run whose script is not under way yet is
        stopped."""
        with self._lock:
            self._stopping = True
            self._interrupted = True
            self.posted_at = time.monotonic()
            jobs = [job for job in self.jobs if job.canceller is not None]
        for job in jobs:
            try:
                if job.signals:  # its script, or python's exit after it (joins)
                    ctrlc.post_sigint(job)
                else:
                    job.canceller.cancel()
            except (InterpError, OSError):
                pass

    def _job_finished(self, job: Job) -> None:
        """Called in the main thread as each run ends: report it, react for the others."""
        r = job.result
        job.status = job_status(job, self._interrupted)
        if job.error is not None:
            if not (self._stopping and job.interp is None):
                report.error(f"{job.program.label}: {job.error}")
        elif r is not None:
            failed = status_of(r)
            if failed and is_broken_pipe(r) and self._cascade.reader_gone(job):
                job.quiet = True
            elif failed and self.result_mode != "json":
                report.report_failure(job.program.label, r, self.timeout)
            for told in (job.exit_report, job.exit_flush):  # after the traceback, as
                if told is not None:  # python prints them
                    report._write_err(told)
                    job.quiet = False
        self._cascade.job_ended(job)

    def _close_all(self, deadline) -> str:
        """Close what is left (cli.closing); with a deadline, what could not be closed."""
        return closing.close_all(self.jobs, deadline)
