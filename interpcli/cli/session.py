"""Running programs for `interp run` and `interp pipe`: one interpreter per program, all
at once, each driven by its own thread (the GIL is released during a run, so they go in
parallel); the main thread waits for them, takes Ctrl-C, and cleans up.

The main thread blocks on one queue of events (a run started or ended, a pump ended, a
SIGINT) and on the pumps' threads; nothing sleeps or polls. Its only timed waits are
deadlines: a run's --timeout, and the grace a run gets after an interrupt. Ctrl-C
interrupts every running interpreter (a KeyboardInterrupt inside, which also wakes a
script blocked on a channel); a second Ctrl-C, or a run that ignores the interrupt (stuck
in a C call), ends the process at once."""
import _thread
import time
from _queue import Empty, SimpleQueue

from ..errors import InterpError
from ..interpreter import Canceller, Interpreter, grace
from ..interpreter import create_fresh as create
from ..results import RunResult
from . import ctrlc, ending, report
from .ctrlc import GRACE
from .signals import set_sigint_waker, sigints, start_raw_thread
from .status import ExitStatus, is_broken_pipe, leave_now, status_of

_LONGEST_WAIT = _thread.TIMEOUT_MAX / 2    # one timed wait; longer deadlines wait again

class Job:
    """One program, its interpreter and what came of its run."""

    def __init__(self, program, index: int):
        self.program = program
        self.index = index
        self.interp: Interpreter | None = None
        self.result: RunResult | None = None
        self.error: str | None = None       # a failure of ours (creating the interpreter)
        self.status = 0
        self.quiet = False                  # a broken pipe: no traceback, no failure
        self.running = False
        self.canceller: Canceller | None = None     # stops its runs (set before the first begins)
        self.launched = False               # its thread began (the main thread waits for it)
        self.finished = False               # its end was handled by the main thread
        self.started_at = 0.0
        self.stdin = None                   # pipe: the end this stage reads
        self.stdout = None                  # pipe: the end this stage writes
        self.downstream_gone = False        # pipe: the next stage stopped reading
        self.closed = False                 # its interpreter was closed by its own thread
        self.refusals: list = []            # extension modules its interpreter refused
        self.exit_flush = None              # python's message when flushing at exit failed
        self.threads_left = False           # daemon threads left: never closed (python's exit)
        self.signals = False                # its script's signals go through _signals_sub


class Session:
    """Run jobs to completion and return the exit status."""

    def __init__(self, programs, *, isolated=True, timeout=None, result_mode="auto",
                 early=None, shared_channels=(), stdin_channel=None, stdout_channel=None,
                 stdout_writer=None, pipeline=False, strict=False):
        self.jobs = [Job(p, i) for i, p in enumerate(programs)]
        self.isolated = isolated
        self.strict = strict
        self.timeout = timeout
        self.result_mode = result_mode
        self.early = early
        self.shared_channels = list(shared_channels)   # closed when a run fails
        self.stdin_channel = stdin_channel
        self.stdout_channel = stdout_channel       # the end the stdout pump reads
        self.stdout_writer = stdout_writer if stdout_writer is not None else stdout_channel
        self.pipeline = pipeline
        self._events = SimpleQueue()
        self._lock = _thread.allocate_lock()
        self._stopping = False
        self._interrupted = False
        self._cascade = False           # a run failed: the channels were closed on the rest
        self._broken_stdout = False
        self._stdin_pump = None
        self._stdout_pump = None
        self._faults = ""               # the setup line that gives isolated runs faulthandler

    # ---- threads ----

    def _drive(self, job: Job) -> None:
        """Thread body: create the interpreter (unless one was made early), run, report."""
        try:
            with self._lock:
                if self._stopping:
                    return          # Ctrl-C came first: the main thread does not wait for us
                job.launched = True
            if self.early is not None:       # None if making it failed: again here
                job.interp = self.early.take(job.program.name)
            if job.interp is None:
                job.interp = create(job.program.name, isolated=self.isolated,
                                    strict=self.strict)
            with self._lock:
                if self._stopping:
                    return
                # the job's stop: reaches its runs (and only them), begun or about to begin
                job.canceller = Canceller(job.interp)
                job.running = True
                job.started_at = time.monotonic()
            self._events.put(("start", job))       # the main thread's --timeout watch
            p = job.program
            prelude = p.prelude or ""
            if self.isolated:   # `import faulthandler` works there (interpcli._faultserver)
                prelude = self._faults + prelude
            # sys.argv, __file__, sys.path[0] as python sets them; signals (_signals_sub)
            setup = job.interp.run(prelude + ctrlc.SIGNALS, filename="<interp: setup>",
                                   canceller=job.canceller)
            if not setup.completed:
                job.result = setup      # stopped (Ctrl-C) before the script began
            else:
                job.signals = True
                job.result = job.interp.run(
                    p.source, channels=p.channels or None, timeout=self.timeout,
                    filename=p.filename, canceller=job.canceller)
            ending.after_script(job, lambda: self._stopping)
            if not self._stopping:
                if job.stdout is not None:
                    job.stdout.close()      # downstream sees its end of input now
                if not job.threads_left:
                    self._close_own(job)
        except BaseException as exc:        # reported by the main thread, never lost
            job.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            job.running = False
            if job.signals:
                ctrlc.forget_signals(job)
            self._events.put(("job", job))

    def _close_own(self, job: Job) -> None:
        """Close the job's interpreter in its own thread once its run is over, so that a
        pipeline's stages close side by side. One that refuses (memory it lent is still
        viewed downstream) is left to the main thread, which closes the rest in order."""
        if job.signals:
            ctrlc.forget_signals(job)   # no signal is delivered into it as it closes
        try:
            job.interp.close()  # type: ignore[union-attr]  # made before its run
            job.closed = True
        except InterpError:
            pass

    def _pump_done(self, pump) -> None:
        self._events.put(("pump", pump))

    # ---- main thread ----

    def run(self) -> int:
        status_line = None
        set_sigint_waker(lambda n: self._events.put(("sigint", n)))
        try:
            try:
                if sigints():
                    raise KeyboardInterrupt     # an earlier one was swallowed
                self._start_pumps()
                if self.isolated:
                    from .. import _faultserver
                    try:
                        self._faults = _faultserver.prelude(_faultserver.serve())
                    except RuntimeError:        # no thread can start: no stand-in
                        pass
                for job in self.jobs:
                    start_raw_thread(self._drive, (job,))
                if report.StatusLine.wanted(self.result_mode):
                    status_line = report.StatusLine(self.jobs)
                    status_line.start()
                while not all(job.finished for job in self.jobs):
                    self._handle(self._next_event(self._timeout_deadline()))
                self._finish_pumps()
            except KeyboardInterrupt:
                self._interrupt()
                ctrlc.wait_for_runs(self)
                self._finish_pumps(forced=True)
        finally:
            set_sigint_waker(None)
            if status_line is not None:
                status_line.stop()
        if self._interrupted:
            ctrlc.close_within_grace(self)
        else:
            self._close_all(None)
        status = self._exit_status()
        report.render_results(self.jobs, self.result_mode, status)
        if any(job.threads_left for job in self.jobs):
            leave_now(status)       # their daemon threads end with the process, as in python
        return status

    def _handle(self, event) -> None:
        kind, what = event
        if kind == "sigint":
            raise KeyboardInterrupt     # the handler's own raise may have been swallowed
        if kind == "job":
            what.finished = True
            self._job_finished(what)
        elif kind == "pump":
            self._pump_finished(what)

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
        self._force_exit(f"{stuck} did not stop when interrupted (blocked in a C call?)",
                         status)

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
            jobs = [job for job in self.jobs if job.canceller is not None]
        for job in jobs:
            try:
                if job.signals and job.result is None:
                    ctrlc.post_sigint(job)
                else:
                    job.canceller.cancel()
            except (InterpError, OSError):
                pass

    def _start_pumps(self) -> None:
        if self.stdin_channel is None and self.stdout_channel is None:
            return
        from .stdio import StdinPump, StdoutPump
        if self.stdin_channel is not None:
            self._stdin_pump = StdinPump(self.stdin_channel, on_done=self._pump_done)
            self._stdin_pump.start()
        if self.stdout_channel is not None:
            self._stdout_pump = StdoutPump(self.stdout_channel, on_done=self._pump_done)
            self._stdout_pump.start()

    def _pump_finished(self, pump) -> None:
        if pump is self._stdout_pump and pump.broken:
            self._broken_stdout = True

    def _finish_pumps(self, forced: bool = False) -> None:
        """After the runs: stop reading stdin, let stdout write what is still queued (or,
        after Ctrl-C, drop it), and wait for both pumps."""
        if self._stdin_pump is not None:
            self._stdin_pump.stop()
            self.stdin_channel.close()          # wakes the pump if it waits in a send
        if self._stdout_pump is not None:
            # no writer is left: the pump drains what was queued, then ends
            (self.stdout_channel if forced else self.stdout_writer).close()
        for pump in (self._stdin_pump, self._stdout_pump):
            if pump is None:
                continue
            if forced:
                try:
                    pump.join()
                except KeyboardInterrupt:
                    leave_now(ExitStatus.INTERRUPTED)
            else:
                pump.join()
        if self._stdout_pump is not None:
            if self._stdout_pump.broken:
                self._broken_stdout = True
            elif self._stdout_pump.error is not None:
                report.error(f"cannot write to stdout: {self._stdout_pump.error.strerror}")
        if self._stdin_pump is not None and self._stdin_pump.error is not None:
            report.error(f"cannot read stdin: {self._stdin_pump.error.strerror}")

    def _job_finished(self, job: Job) -> None:
        """Called in the main thread as each run ends: report it, react for the others."""
        r = job.result
        if job.error is not None:
            if not (self._stopping and job.interp is None):
                report.error(f"{job.program.label}: {job.error}")
            job.status = ExitStatus.INTERRUPTED if self._interrupted else ExitStatus.FAILURE
        elif r is None:
            job.status = ExitStatus.INTERRUPTED     # stopped before it started
        else:
            job.status = status_of(r)
            if job.status and is_broken_pipe(r) and self._reader_gone(job):
                job.quiet = True
            elif job.status and self.result_mode != "json":
                report.report_failure(job.program.label, r, self.timeout)
            if job.exit_flush is not None:      # after the traceback, as python prints it
                from .ending import EXIT_FLUSH_FAILED
                report._write_err(job.exit_flush)
                job.status, job.quiet = EXIT_FLUSH_FAILED, False
        if self.pipeline:
            self._pipeline_stage_ended(job)
        elif job.status and not job.quiet and not self._cascade:
            # a failed run would leave its partners waiting on the shared channels forever
            self._cascade = True
            for ch in self.shared_channels:
                ch.close()

    def _reader_gone(self, job: Job) -> bool:
        """Did the job fail because the reading side of its output went away?"""
        if self._broken_stdout or (self._stdout_pump is not None and self._stdout_pump.broken):
            return True
        if self.pipeline:
            return job.downstream_gone
        return self._cascade

    def _pipeline_stage_ended(self, job: Job) -> None:
        # downstream sees the end of its input once it has read what is queued
        if job.stdout is not None:
            job.stdout.close()
        # upstream's next send fails: for it that is a broken pipe, not an error
        if job.index > 0:
            self.jobs[job.index - 1].downstream_gone = True
        if job.stdin is not None:
            job.stdin.close()
        if job.status and not job.quiet and not self._cascade:
            self._cascade = True
            for ch in self.shared_channels:
                ch.close()

    def _close_all(self, deadline) -> str:
        """_close_interpreters' work; with a deadline, what could not be closed by then
        because threads were left in it (as one text)."""
        left = [j.interp for j in self.jobs
                if j.interp is not None and not (j.closed or j.threads_left)]
        labels = {j.interp.id: j.program.label for j in self.jobs if j.interp is not None}
        if self.early is not None:
            self.early.discard()
        stuck = []
        if deadline is not None:
            keep = []
            for interp in reversed(left):
                try:
                    interp.close(timeout=max(0.0, deadline - time.monotonic()))
                except InterpError as exc:
                    if "thread" in str(exc):
                        stuck.append(f"thread(s) of {labels.get(interp.id, interp.name)}")
                    else:
                        keep.append(interp)     # lent memory: closed in order below
            left = keep[::-1]
        while left:
            progress, keep = False, []
            for interp in reversed(left):       # downstream first: it holds upstream's views
                try:
                    interp.close()
                    progress = True
                except InterpError:
                    keep.append(interp)
            left = keep
            if not progress:
                for interp in left:
                    try:
                        interp.close(force=True)
                    except InterpError as exc:
                        report.error(f"cannot close interpreter {interp.name!r}: {exc}")
                break
        return ", ".join(stuck)

    def _exit_status(self) -> int:
        if self._interrupted and not all(job.finished for job in self.jobs):
            return ExitStatus.INTERRUPTED       # stopped before its run began
        for job in self.jobs:
            if job.status and not job.quiet:
                return job.status
        if self._stdout_pump is not None and self._stdout_pump.error is not None:
            return ExitStatus.FAILURE
        if self._stdin_pump is not None and self._stdin_pump.error is not None:
            return ExitStatus.FAILURE
        return ExitStatus.OK
