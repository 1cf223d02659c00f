"""One program of a session and the thread that runs it: create its interpreter (unless
one was made early), run the setup and the script, the exit steps (cli.ending), and close
the interpreter, then tell the session's event loop."""

import time

from ..errors import InterpError
from ..interpreter import Canceller, Interpreter
from ..interpreter import create_fresh as create
from . import ctrlc, ending

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ..results import RunResult


class Job:
    """One program, its interpreter and what came of its run."""

    def __init__(self, program, index: int, stdin=None, stdout=None):
        self.program = program
        self.index = index
        self.interp: Interpreter | None = None
        self.result: RunResult | None = None
        self.error: str | None = None  # a failure of ours (creating the interpreter)
        self.status = 0
        self.quiet = False  # a broken pipe: no traceback, no failure
        self.running = False
        self.canceller: Canceller | None = None  # stops its runs (set before the first begins)
        self.launched = False  # its thread began (the main thread waits for it)
        self.finished = False  # its end was handled by the main thread
        self.started_at = 0.0
        self.stdin = stdin  # pipe: the end this stage reads
        self.stdout = stdout  # pipe: the end this stage writes
        self.downstream_gone = False  # pipe: the next stage stopped reading
        self.closed = False  # its interpreter was closed by its own thread
        self.refusals: list = []  # extension modules its interpreter refused
        self.exit_report = None  # python's report of a Ctrl-C in its threads' join
        self.exit_flush = None  # python's message when flushing at exit failed
        self.threads_left = False  # daemon threads left: never closed (python's exit)
        self.signals = False  # its script's signals go through _signals_sub


def drive(session, job: Job) -> None:
    """Thread body: create the interpreter (unless one was made early), run, report (an
    event on the session's queue, always)."""
    try:
        with session._lock:
            if session._stopping:
                return  # Ctrl-C came first: the main thread does not wait for us
            job.launched = True
        if session.early is not None:  # None if making it failed: again here
            job.interp = session.early.take(job.program.name)
        if job.interp is None:
            job.interp = create(job.program.name, isolated=session.isolated, strict=session.strict)
        with session._lock:
            if session._stopping:
                return
            # the job's stop: reaches its runs (and only them), begun or about to begin
            job.canceller = Canceller(job.interp)
            job.running = True
            job.started_at = time.monotonic()
        session._events.put(("start", job))  # the main thread's --timeout watch
        p = job.program
        prelude = p.prelude or ""
        if session.isolated:  # `import faulthandler` works there (interpcli._faultserver)
            prelude = session._faults + prelude
        # sys.argv, __file__, sys.path[0] as python sets them; signals (_signals_sub)
        setup = job.interp.run(
            prelude + ctrlc.SIGNALS, filename="<interp: setup>", canceller=job.canceller
        )
        if not setup.completed:
            job.result = setup  # stopped (Ctrl-C) before the script began
        else:
            job.signals = True
            # a run with a timeout has a thread of its own: it becomes the main thread
            job.result = job.interp._run(
                p.source,
                channels=p.channels or None,
                timeout=session.timeout,
                filename=p.filename,
                canceller=job.canceller,
                prelude=ctrlc.MAIN_THREAD if session.timeout is not None else "",
            )
        # after a Ctrl-C, a script that ran still gets python's exit (its non-daemon
        # threads joined: another Ctrl-C ends that wait); one stopped before it began not
        ending.after_script(job, lambda: session._stopping and not job.signals)
        if not session._stopping:
            if job.stdout is not None:
                job.stdout.close()  # downstream sees its end of input now
            if not job.threads_left:
                close_own(job)
    except BaseException as exc:  # reported by the main thread, never lost
        job.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        job.running = False
        if job.signals:
            ctrlc.forget_signals(job)
        session._events.put(("job", job))


def close_own(job: Job) -> None:
    """Close the job's interpreter in its own thread once its run is over, so that a
    pipeline's stages close side by side. One that refuses (memory it lent is still
    viewed downstream) is left to the main thread, which closes the rest in order
    (cli.closing)."""
    if job.signals:
        ctrlc.forget_signals(job)  # no signal is delivered into it as it closes
    assert job.interp is not None  # it ran
    try:
        job.interp.close()
        job.closed = True
    except InterpError:
        pass
