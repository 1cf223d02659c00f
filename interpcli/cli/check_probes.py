"""How `interp check` runs its probes: child processes (interpcli._probe), a few at once,
one thread of this process driving each. A group is imported in a fresh isolated
interpreter; when some of its modules failed there and one of them met a refusing (or
crashing) extension, those modules are imported again, in a fresh shared-GIL interpreter
in a fresh child process (an extension initialized once in a process, as PyO3's are, may
refuse every later interpreter). A child that dies takes the module it was importing with
it: that module is reported as crashing, and a new child goes on with the rest."""

from __future__ import annotations

import os
import sys

from .check_targets import Group

# a child process imports this many groups, then a fresh one takes over (CPython 3.12 and
# 3.13 keep ~3 MB per interpreter ever created, until the process ends)
_JOBS_PER_CHILD = 40


class ProbeFailed(Exception):
    """The probing process itself does not work (it cannot start, or cannot import
    interpcli): nothing could be checked."""


class _ChildDied(Exception):
    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class _Child:
    """One `python -m interpcli._probe` process and its two pipes."""

    def __init__(self):
        import subprocess
        import tempfile

        jobs_r, self.jobs_w = os.pipe()
        self.out_r, out_w = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "interpcli._probe", str(jobs_r), str(out_w)],
                pass_fds=(jobs_r, out_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
            )
        finally:
            os.close(jobs_r)
            os.close(out_w)
        self.jobs = 0
        self.frames = 0  # received so far: none at its end means it never worked

    def send(self, job) -> None:
        from .._probe import write_frame

        self.jobs += 1
        try:
            write_frame(self.jobs_w, job)
        except OSError:
            pass  # it died: reading its output says how

    def next_frame(self, timeout: float | None):
        """The next frame; TimeoutError when none came in time; _ChildDied at its end."""
        from .._platform import wait_readable
        from .._probe import read_frame

        if not wait_readable((self.out_r,), timeout):
            raise TimeoutError
        frame = read_frame(self.out_r)
        if frame is None:
            raise _ChildDied(self._how())
        self.frames += 1
        return frame

    def _how(self) -> str:
        import signal

        code = self.proc.wait()
        self.stderr.seek(0, 2)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - 4096))
        tail = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        message = ""
        for line in reversed(tail):
            line = line.strip()
            if line and not line.startswith(
                ("File ", "Current thread", "Thread ", "Extension modules", "<")
            ):
                message = line
                break
        if code < 0:
            try:
                what = signal.Signals(-code).name
            except ValueError:
                what = f"signal {-code}"
        else:
            what = f"exit status {code}"
        return f"{what}: {message}" if message else what

    def close(self, kill=False) -> None:
        if kill:
            try:
                self.proc.kill()
            except OSError:
                pass
        for fd in (self.jobs_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait()
        finally:
            self.stderr.close()


class Record:
    """What the probes found out about one module."""

    __slots__ = ("module", "group", "isolated", "shared")

    def __init__(self, module, group):
        self.module = module
        self.group = group
        self.isolated: dict | None = None  # the result frame (or a crash / timeout)
        self.shared: dict | None = None


class Checker:
    """Runs the jobs over a few child processes, one thread each, and keeps the records."""

    def __init__(self, groups, workers: int, timeout: float | None):
        import threading
        from queue import SimpleQueue

        self.groups = groups
        self.workers = max(1, workers)
        self.timeout = timeout
        self.records: dict[str, Record] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()
        self._queue: SimpleQueue = SimpleQueue()
        self._outstanding = 0
        self.broken: str | None = None  # why the probing process does not work

    def run(self) -> list[Record]:
        import threading

        for group in sorted(self.groups, key=_weight):
            self._submit((True, group, list(group.names), group.walk))
        threads = [
            threading.Thread(target=self._worker, daemon=True, name=f"interp-check-{i}")
            for i in range(self.workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.broken is not None:
            raise ProbeFailed(self.broken)
        rank = {id(g): i for i, g in enumerate(self.groups)}
        return sorted(
            (self.records[m] for m in self.order),
            key=lambda r: (rank.get(id(r.group), 0), r.module),
        )

    def _submit(self, job) -> None:
        with self._lock:
            self._outstanding += 1
        self._queue.put(job)

    def _job_done(self) -> None:
        with self._lock:
            self._outstanding -= 1
            last = self._outstanding == 0
        if last:
            for _ in range(self.workers):
                self._queue.put(None)

    def _record(self, module, group) -> Record:
        with self._lock:
            rec = self.records.get(module)
            if rec is None:
                rec = self.records[module] = Record(module, group)
                self.order.append(module)
            return rec

    def _worker(self) -> None:
        child = None
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                isolated = job[0]
                try:
                    if self.broken is not None:
                        continue  # nothing can be checked: drain the queue
                    if not isolated:  # a fresh process for each shared-GIL retry
                        if child is not None:
                            child.close()
                        child = None
                    child = self._do(job, child)
                finally:
                    if not isolated and child is not None:
                        child.close()
                        child = None
                    self._job_done()
        finally:
            if child is not None:
                child.close()

    def _do(self, job, child):
        """Run one job to its end (across as many children as crashes need); the child
        to use next, or None."""
        isolated, group, names, walk = job
        pending = list(names)
        failed: list[str] = []  # isolated: the modules that did not load
        refusing = False  # isolated: one of them met a refusal (or a crash)
        while pending:
            if child is None or child.jobs >= _JOBS_PER_CHILD:
                if child is not None:
                    child.close()
                child = _Child()
            child.send((isolated, pending, walk, group.path0))
            current = None
            try:
                while True:
                    frame = child.next_frame(self.timeout if current is not None else None)
                    event = frame["event"]
                    if event == "start":
                        current = frame["module"]
                        if current in pending:
                            pending.remove(current)
                        self._record(current, group)
                    elif event == "result":
                        rec = self._record(frame["module"], group)
                        if isolated:
                            rec.isolated = frame
                            if frame["error"] is not None:
                                failed.append(frame["module"])
                                refusing = refusing or _needs_shared(frame)
                        else:
                            rec.shared = frame
                        current = None
                    elif event == "queued":
                        pending[:0] = [m for m in frame["modules"] if m not in pending]
                    elif event == "error":
                        kind, message = frame["error"]
                        self.broken = f"the probe failed: {kind}: {message}"
                        pending = []
                    elif event == "done":
                        if "left" in frame:
                            child.close(kill=True)
                            child = None
                        pending = []
                        break
            except TimeoutError:
                child.close(kill=True)
                child = None
                self._failed(
                    current,
                    group,
                    isolated,
                    ("TimeoutError", f"its import took over {self.timeout:g} s"),
                )
            except _ChildDied as died:
                never_worked = child.frames == 0
                child.close()
                child = None
                if current is None:
                    pending = []  # died outside any import: give up on this job
                    if never_worked:
                        self.broken = f"the probing process ended at once ({died.how})"
                else:
                    self._failed(current, group, isolated, None, crash=died.how)
                    if isolated:
                        failed.append(current)
                        refusing = True
        if failed and refusing:  # the others may have failed for the refusing one
            self._submit((False, group, failed, False))
        return child

    def _failed(self, module, group, isolated, error, crash=None) -> None:
        if module is None:
            return
        frame = {
            "event": "result",
            "module": module,
            "error": error,
            "time": None,
            "refused": [],
            "file": None,
            "crash": crash,
        }
        rec = self._record(module, group)
        if isolated:
            rec.isolated = frame
        else:
            rec.shared = frame


def _weight(group: Group):
    """Big packages first, so that the last job to finish is a short one."""
    big = (
        "encodings",
        "idlelib",
        "email",
        "asyncio",
        "xml",
        "multiprocessing",
        "concurrent",
        "importlib",
        "tkinter",
        "unittest",
        "sqlite3",
        "pip",
        "setuptools",
        "hypothesis",
        "_pytest",
    )
    return (0 if any(n in big for n in group.names) else 1, group.label)


def _needs_shared(frame) -> bool:
    error = frame.get("error")
    if error is None:
        return False
    return bool(frame.get("refused")) or "subinterpreter" in error[1] or "mypyc" in error[1]
