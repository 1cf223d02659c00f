"""The warm spare: from the second isolated create() on, a background thread makes the
next isolated interpreter while the caller works, and create() hands it over, named as
asked. The caller then sees a fresh interpreter:

- a spare is invisible until taken: not in list_all(), and its name reserves nothing;
- it is handed over only if the process environment (os.environ writes through to it)
  and the current directory are what they were when it was made, else it is ended in the
  background and create() makes a fresh one (three such discards in a row turn spares off
  for the process);
- create() waits for a spare still being made rather than make a second one at once;
  when it had to wait (the caller creates faster than one helper makes them: a loop of
  create() and close()), two spares are made side by side from then on, on machines with
  two cores or more, and a helper that made one begins the next at once (at most one
  made ahead of the two in the making), until the caller finds two made (it slowed
  down): then one is kept again;
- before os.fork() the spare (and a creation in flight) is finished and ended, so a
  process that closed its interpreters can still fork; the exit shutdown ends it too.

Only create() of an isolated interpreter uses it; INTERP_SPARE=0 turns it off (read at
each create()). Every wait is a thread join: a blocking lock, no polling."""

import os
import threading

from . import _lowlevel, _shutdown, _sync
from .errors import InterpreterBusyError, InterpreterError, InterpreterNotFoundError

MAX_MISSES = 3  # spares discarded in a row (the environment keeps changing): stop
MAX_DEPTH = 2 if (os.cpu_count() or 1) >= 2 else 1


def enabled() -> bool:
    """False when INTERP_SPARE is 0."""
    return os.environ.get("INTERP_SPARE", "").strip() != "0"


class _Job:
    """One spare, made by `thread`: id is None until made, and when making it failed; env
    is what the process looked like to it."""

    __slots__ = ("thread", "id", "env", "made")

    def __init__(self):
        self.thread = None
        self.id = None
        self.env = None
        self.made = _sync.Flag()  # set once made (or not): a helper may go on

    def make(self):
        try:
            self.env = _lowlevel.env_snapshot()
            try:
                self.id = _shutdown.create_spare()
            except Exception:  # the caller will create afresh (and see the error)
                self.id = None
        finally:
            self.made.set()


class _Helper(threading.Thread):
    """A helper thread whose end is awaited on a _sync.Flag, not with join(): on 3.12 a
    Ctrl-C inside Thread.join() can mark the thread stopped while it still runs
    (threading's bpo-45274 path), and the exit would then end the spares while one is
    still being made ("Fatal Python error: remaining subinterpreters"). The flag is set
    before its lock is let go, so a wait that a Ctrl-C cut short just after taking the
    lock leaves later waits nothing to block on (a bare acquire-and-release did: the exit
    then waited for that lock forever)."""

    def __init__(self, job: "_Job | None", stale: list):
        super().__init__(name="interpcli-spare", daemon=False)
        self._args_: tuple[_Job | None, list] | None = (job, stale)
        self._done = _sync.Flag()

    def run(self) -> None:
        assert self._args_ is not None  # run() runs once
        try:
            _helper(*self._args_)
        finally:
            # as Thread.run() drops its arguments: a job's stale list holds the jobs
            # before it, whose helpers hold theirs (each with an environment snapshot)
            self._args_ = None
            self._done.set()

    def wait(self) -> None:
        """Until run() returned."""
        self._done.wait()

    def finished(self) -> bool:
        return self._done.is_set()


def _end(job: _Job) -> None:
    """Wait until the job's spare is made, then end it."""
    job.made.wait()
    if job.id is not None:
        _lowlevel.end_spare(job.id)


def _helper(job: "_Job | None", stale: list) -> None:
    for old in stale:
        _end(old)
    while job is not None:
        job.make()
        job = maker._next_job(job.thread)


class SpareMaker:
    """The process's spares: the jobs making them, how many to keep, and whether spares
    are wanted at all (one object, `maker`; its state is guarded by its lock)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ready: list = []  # spares being made or made, not claimed yet, oldest first
        self._depth = 1  # how many to keep: MAX_DEPTH while the caller outruns one
        self._stale: list = []  # claimed jobs whose spare the next helper thread ends
        self._threads: list = []  # helper threads not joined yet
        self._asked = 0  # isolated creations asked for
        self._misses = 0
        self._closed = False  # the exit shutdown began: no more spares
        self._paused = False  # a fork is under way
        self._hooked = False  # the fork hooks are registered

    def _next_job(self, thread: "_Helper") -> "_Job | None":
        """While the caller outruns the helpers (_depth is MAX_DEPTH), a helper that made
        its spare begins the next at once rather than when that spare is taken, so that
        every core keeps creating while the caller is busy closing: at most _depth in the
        making and one made ahead of them. None when no more is wanted."""
        with self._lock:
            if self._depth < MAX_DEPTH or not self._wanted():
                return None
            job = _Job()
            job.thread = thread
            self._ready.append(job)
            return job

    def _wanted(self) -> int:
        """How many more spares to begin now (under _lock): none before the second
        creation, after a fork or the exit began, or once spares were discarded too
        often; else up to _depth ready or in the making, or at MAX_DEPTH up to _depth in
        the making and one made ahead of them."""
        if (
            self._closed
            or self._paused
            or self._asked < 2
            or self._misses >= MAX_MISSES
            or not enabled()
        ):
            return 0
        if self._depth < MAX_DEPTH:
            return max(0, self._depth - len(self._ready))
        making = sum(1 for job in self._ready if not job.made.is_set())
        return max(0, min(self._depth - making, self._depth + 1 - len(self._ready)))

    def create(self, name: str | None, next_name, fresh) -> int:
        """The id of a new isolated interpreter named name (None: next_name() until one
        is free): the oldest spare when there is a usable one, else fresh(name). Then,
        from the second creation on, helper threads start making the next spares (see
        _start)."""
        with self._lock:
            self._asked += 1
            job = self._ready.pop(0) if self._ready else None
        iid = self._claim(job, name, next_name) if job is not None else None
        if iid is None:
            iid = fresh(name)
        try:
            self._start()
        except BaseException:  # a Ctrl-C while the helper starts: nobody got iid
            try:
                _lowlevel.destroy(iid)
            except InterpreterError:
                pass
            raise
        return iid

    def _claim(self, job: _Job, name, next_name) -> int | None:
        """Wait for the job, check it and name its spare; None when it cannot be used."""
        taken = False
        try:
            waited = not job.made.is_set()
            job.made.wait()  # a Ctrl-C here gives the job back
            if job.id is None:
                return None
            if job.env != _lowlevel.env_snapshot():
                with self._lock:
                    self._stale.append(job)
                    self._misses += 1
                return None
            while True:
                candidate = name if name is not None else next_name()
                try:
                    _lowlevel.take_spare(job.id, candidate)
                    taken = True
                    break
                except InterpreterBusyError:
                    if name is not None:
                        raise  # the name is taken: as a fresh create() would
            with self._lock:
                self._misses = 0
                if waited:
                    self._depth = MAX_DEPTH  # one helper cannot keep up: two side by side
                elif not self._ready or self._ready[0].made.is_set():
                    self._depth = 1  # the next one is made already: one is enough
            return job.id
        except InterpreterNotFoundError:
            return None  # ended under us (a fork in another thread)
        except BaseException:
            if taken:
                try:
                    _lowlevel.destroy(job.id)
                except InterpreterError:
                    pass
            else:
                self._give_back(job)
            raise

    def _give_back(self, job: _Job) -> None:
        with self._lock:
            if len(self._ready) < self._depth and not (self._closed or self._paused):
                self._ready.insert(0, job)
            else:
                self._stale.append(job)

    def _start(self) -> None:
        """Start helper threads to end the stale spares and make the next spares, as many
        as _wanted(): one thread per spare, the first also ends the stale ones."""
        with self._lock:
            if self._closed or self._paused:
                return
            need = self._wanted()
            if not need and not self._stale:
                return
            self._hook_fork()
            stale = self._stale[:]
            self._stale.clear()
            self._threads[:] = [x for x in self._threads if not x.finished()]
            jobs: list[_Job | None] = [_Job() for _ in range(need)]
            for job in jobs or [None]:
                # non-daemon: the exit joins it before the atexit shutdown, never
                # mid-creation
                t = _Helper(job, stale)
                # recorded first: a Ctrl-C that cuts start() short leaves a started thread
                # known; under the lock, nobody joins it before it started
                self._threads.append(t)
                if job is not None:
                    job.thread = t
                    self._ready.append(job)
                try:
                    t.start()
                except RuntimeError:  # the interpreter is shutting down: no new threads
                    self._threads.remove(t)
                    self._stale.extend(stale)
                    if job is not None:
                        self._ready.remove(job)
                    return
                stale = []

    def finish(self) -> None:
        """Join every helper thread (a creation in flight completes), then end every spare
        the core knows, claimed or not."""
        with self._lock:
            self._ready.clear()
            self._stale.clear()
        while True:
            with self._lock:
                if not self._threads:
                    break
                t = self._threads[0]
            t.wait()
            with self._lock:
                if t in self._threads:
                    self._threads.remove(t)
        _lowlevel.end_spares()

    def shutdown(self) -> None:
        """At exit, before the interpreters are ended: no more spares, none left."""
        with self._lock:
            self._closed = True
        self.finish()

    def _before_fork(self) -> None:
        with self._lock:
            self._paused = True
        self.finish()

    def _after_fork_in_parent(self) -> None:
        self._paused = False

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._paused = False
        self._ready.clear()
        self._depth = 1
        self._stale.clear()
        self._threads.clear()

    def _hook_fork(self) -> None:
        if not self._hooked:
            self._hooked = True
            from ._platform import at_fork

            at_fork(
                before=self._before_fork,
                after_in_parent=self._after_fork_in_parent,
                after_in_child=self._after_fork_in_child,
            )


maker = SpareMaker()
create = maker.create
shutdown = maker.shutdown
