"""What the end of one run means for the others. A run that failed closes the shared
channels (its partners would otherwise wait on them forever); in a pipe, a stage that
ended closes its output (downstream sees the end of its input) and its input (upstream's
next send fails, which for upstream is a broken pipe, not an error). A run that failed
because the reader of its output went away is quiet: no traceback, no failure."""


class Cascade:
    """The reactions to runs' ends within one session (main thread only)."""

    def __init__(self, wiring, jobs, pumps=None):
        self.wiring = wiring
        self.jobs = jobs
        self.pumps = pumps
        self.started = False  # a run failed: the channels were closed on the rest

    def reader_gone(self, job) -> bool:
        """Did the job fail because the reading side of its output went away?"""
        if self.pumps is not None and self.pumps.broken_stdout:
            return True
        if self.wiring.pipeline:
            return job.downstream_gone
        return self.started

    def job_ended(self, job) -> None:
        """React to the end of job (its status decided)."""
        if self.wiring.pipeline:
            # downstream sees the end of its input once it has read what is queued
            if job.stdout is not None:
                job.stdout.close()
            # upstream's next send fails: for it that is a broken pipe, not an error
            if job.index > 0:
                self.jobs[job.index - 1].downstream_gone = True
            if job.stdin is not None:
                job.stdin.close()
        if job.status and not job.quiet and not self.started:
            self.started = True
            for ch in self.wiring.shared:
                ch.close()
