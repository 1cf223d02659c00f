"""The shell's state and what it does: interpreters, channels, runs, background jobs.

No prompt_toolkit here: the loop (loop.py) reads input and hands each one to
Shell.execute(); the command handlers are in actions.py. A foreground run goes on in a
helper thread while the main thread waits for it and takes Ctrl-C (which interrupts the
run); background jobs run in their own threads, truly in parallel, and call on_change()
so the toolbar redraws. Interpreters are created and closed from the main thread only."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from dataclasses import dataclass, field

import interpcli
from interpcli import _names
from interpcli.errors import InterpError

from . import render
from .bridge import BOOTSTRAP, REINSTALL, OutputBridge
from .commands import PREFIX, CommandError, is_command, parse
from .pysource import INTERNAL, defined_names, wrap

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from interpcli.channels import Channel
    from interpcli.interpreter import Interpreter


@dataclass
class Entry:
    """One interpreter of the shell."""

    interp: Interpreter
    bound: set = field(default_factory=set)  # channel names bound in its __main__
    names: set = field(default_factory=set)  # names its inputs defined (completion)
    runs: int = 0
    bridge: object = None  # the OutputBridge its streams write to


@dataclass
class Job:
    """A background run."""

    number: int
    name: str
    what: str
    thread: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Shell:
    def __init__(self, *, shared_gil: bool = False, default_name: str | None = "repl"):
        self.entries: dict[str, Entry] = {}
        self.channels: dict[str, Channel] = {}
        self.results: list[tuple[int, str, object]] = []
        self.jobs: dict[str, Job] = {}
        self.current: str | None = None
        self.exiting = False
        self.closing = False
        self.on_change = lambda: None
        self._lock = threading.Lock()
        self._inputs = itertools.count(1)
        self._jobs = itertools.count(1)
        self.bridge = OutputBridge()
        if default_name is not None:
            self.spawn(_free_name(default_name), shared_gil=shared_gil)

    # -- input -------------------------------------------------------------------------
    def execute(self, text: str) -> None:
        """Carry out one input: a command or Python code. Never raises, except
        KeyboardInterrupt (Ctrl-C while the shell itself waits)."""
        if not text.strip():
            return
        try:
            if is_command(text):
                from .actions import dispatch

                dispatch(self, parse(text))
            elif text.strip() in ("exit", "quit", "exit()", "quit()"):
                self.exiting = True
            else:
                self.run_code(text)
        except CommandError as exc:
            render.error(str(exc))
        except InterpError as exc:
            render.error(f"error: {exc}")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a bug of ours must not end the session
            render.error(f"internal error: {type(exc).__name__}: {exc}")

    # -- interpreters ------------------------------------------------------------------
    def entry(self, name: str) -> Entry:
        e = self.entries.get(name)
        if e is None:
            known = ", ".join(self.entries) or "none"
            raise CommandError(f"no interpreter named {name!r} (interpreters: {known})")
        if not e.interp.is_alive():
            del self.entries[name]
            raise CommandError(f"interpreter {name!r} is gone (closed elsewhere)")
        return e

    def current_entry(self) -> Entry:
        if self.current is None:
            raise CommandError(f"no current interpreter: {PREFIX}spawn NAME makes one")
        return self.entry(self.current)

    def spawn(self, name: str | None = None, *, shared_gil: bool = False) -> Entry:
        if name is not None:
            check_interp_name(name)
            if name in self.entries:
                raise CommandError(f"interpreter {name!r} exists already; {PREFIX}use {name}")
        try:
            interp = interpcli.create(name, isolated=not shared_gil)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except InterpError as exc:
            raise CommandError(f"cannot create interpreter {name!r}: {exc}") from None
        boot = interp.run(BOOTSTRAP, channels={"out": self.bridge.channel})
        if not boot.completed:
            interp.close()
            raise CommandError(
                f"cannot set up interpreter {interp.name!r}: {boot.exc_type}: {boot.exc_message}"
            )
        e = Entry(interp, bridge=self.bridge)
        self.entries[interp.name] = e
        self.current = interp.name
        self.on_change()
        return e

    def close(self, name: str) -> None:
        e = self.entry(name)
        job = self.jobs.get(name)
        if job is not None:
            self.interrupt(name)
            job.done.wait()
        try:
            e.interp.close()
        except InterpError as exc:
            raise CommandError(f"cannot close {name!r}: {exc}") from None
        del self.entries[name]
        if self.current == name:
            self.current = next(iter(self.entries), None)
        self.on_change()

    def interrupt(self, name: str) -> None:
        e = self.entry(name)
        if not e.interp.is_running():
            raise CommandError(f"nothing runs in {name!r}")
        try:
            e.interp.interrupt()
        except InterpError as exc:
            if e.interp.is_running():
                raise CommandError(f"cannot interrupt {name!r}: {exc}") from None

    # -- channels ----------------------------------------------------------------------
    def make_channel(self, name: str):
        bound = check_name(name, "a channel")
        if bound in self.channels:
            same = "" if bound == name else f" ({name!r} is {bound!r} to Python)"
            raise CommandError(f"channel {bound!r} exists already{same}")
        name = bound
        from interpcli.channels import create_duplex

        ch = create_duplex()
        self.channels[name] = ch
        self.on_change()
        return ch

    def channel(self, name: str):
        from interpcli.channels import python_name

        ch = self.channels.get(name)
        if ch is None and name.isidentifier():
            ch = self.channels.get(python_name(name))
        if ch is None:
            known = ", ".join(self.channels) or f"none; {PREFIX}chan NAME makes one"
            raise CommandError(f"no channel named {name!r} (channels: {known})")
        return ch

    # -- runs --------------------------------------------------------------------------
    def _check_bridge(self) -> None:
        """An input may close the output channel (sys.stdout._chan.close()): every
        interpreter's output would then vanish. Open a new one; each interpreter's streams
        move to it before its next run (_bind_channels)."""
        if self.closing or not self.bridge.channel.is_closed:
            return
        old, self.bridge = self.bridge, OutputBridge()
        try:
            old.close()
        except Exception:
            pass
        render.error("the shell's output channel was closed by an input; it is open again")

    def _bind_channels(self, e: Entry) -> None:
        """Bind the shell's channels that e has not seen yet as globals of its __main__
        (and move its output to the current bridge)."""
        if e.bridge is not self.bridge:
            e.interp.run(
                REINSTALL, channels={"out": self.bridge.channel}, filename=INTERNAL
            ).check()
            e.bridge = self.bridge
        new = [n for n in self.channels if n not in e.bound]
        if new:
            e.interp.run(
                "".join(f"{n} = channels.{n}\n" for n in new),
                channels=dict(self.channels),
                filename=INTERNAL,
            ).check()
            e.bound.update(new)

    def _check_idle(self, name: str) -> None:
        job = self.jobs.get(name)
        if job is not None:
            raise CommandError(
                f"interpreter {name!r} is busy with background job "
                f"{job.number} ({job.what}); {PREFIX}wait {name}, "
                f"{PREFIX}stop {name} or {PREFIX}use another"
            )

    def run_code(self, text: str) -> object:
        """Run an input in the current interpreter, in the foreground."""
        e = self.current_entry()
        filename = f"<in-{next(self._inputs)}>"
        result = self._run_fg(e, wrap(text, filename), INTERNAL, text)
        e.names |= defined_names(text)
        return result

    def run_file(self, name: str, path: str) -> object:
        e = self.entry(name)
        source, path = read_source(path)
        return self._run_fg(e, source, path, path)

    def _run_fg(self, e: Entry, source: str, filename: str, shown: str):
        """Run in the foreground: in a helper thread (so the run goes on in parallel with
        nothing else of ours), while the main thread waits and takes Ctrl-C."""
        self._check_idle(e.interp.name)
        self._bind_channels(e)
        interrupted = False
        try:
            # in the main thread, run() waits taking Ctrl-C: it stops the run, then raises.
            # The channels are bound already (_bind_channels): no binding prelude, which
            # needs `import` and so fails in an interpreter whose __builtins__ an input broke
            result = e.interp.run(source, filename=filename)
        except KeyboardInterrupt as exc:
            got = getattr(exc, "result", None)
            if got is None:
                raise  # Ctrl-C before the run began
            result = got
            interrupted = True
        try:
            self.bridge.sync()
        except KeyboardInterrupt:
            pass  # the result matters more than its output
        self._check_bridge()
        # RunResult is a dataclass at run time (its __dataclass_fields__), not to mypy
        result = dataclasses.replace(result, source=shown, channels=tuple(self.channels))  # type: ignore[type-var]
        number = self._record("fg", e, result)
        render.show_failure(result)
        if interrupted and result.completed:
            render.error(f"KeyboardInterrupt: result #{number} had completed already")
        return result

    def _record(self, mode: str, e: Entry, result) -> int:
        with self._lock:
            self.results.append((len(self.results) + 1, mode, result))
            e.runs += 1
            return len(self.results)

    def start_job(self, name: str, code_or_file: str) -> Job:
        e = self.entry(name)
        self._check_idle(name)
        if _looks_like_file(code_or_file):
            source, filename = read_source(code_or_file)
            shown, what = filename, code_or_file
        else:
            e.names |= defined_names(code_or_file)
            filename = f"<bg-{next(self._inputs)}>"
            shown, what = code_or_file, render.first_line(code_or_file, 30)
            source, filename = wrap(code_or_file, filename), INTERNAL
        job = Job(next(self._jobs), name, what)
        self._bind_channels(e)
        job.thread = threading.Thread(
            target=self._job_main,
            args=(job, e, source, filename, shown, tuple(self.channels)),
            name=f"interp-shell-bg-{job.number}",
        )
        with self._lock:
            self.jobs[name] = job
        job.thread.start()
        self.on_change()
        return job

    def _job_main(self, job: Job, e: Entry, source, filename, shown, channels):
        result = None
        try:
            result = e.interp.run(source, filename=filename)  # channels: bound already
        except BaseException as exc:  # reported below; a job thread must end quietly
            failure = f"{type(exc).__name__}: {exc}"
        try:
            self.bridge.sync()
            if self.closing:
                pass  # the shell is leaving: its jobs were interrupted on purpose
            elif result is not None:
                result = dataclasses.replace(result, source=shown, channels=channels)  # type: ignore[type-var]  # as above
                number = self._record("bg", e, result)
                if result.completed:
                    render.say(render.job_line(number, job.name, result), "ok")
                else:
                    render.error(render.job_line(number, job.name, result))
                    if result.exc_type not in ("KeyboardInterrupt", "SystemExit"):
                        render.show_failure(result)
            else:
                render.error(f"[bg] {job.name}: could not run: {failure}")
        finally:
            with self._lock:
                if self.jobs.get(job.name) is job:
                    del self.jobs[job.name]
            job.done.set()
            self.on_change()

    def wait(self, name: str | None = None) -> None:
        """Wait for one job or all; Ctrl-C ends the wait (KeyboardInterrupt)."""
        if name is not None:
            self.entry(name)
            job = self.jobs.get(name)
            if job is None:
                render.say(f"no background job in {name!r}", "note")
                return
            job.done.wait()
            return
        while True:
            with self._lock:
                pending = list(self.jobs.values())
            if not pending:
                return
            for job in pending:
                job.done.wait()

    # -- the end -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop background jobs and close every interpreter of the shell."""
        self.closing = True
        with self._lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            try:
                self.interrupt(job.name)
            except (CommandError, InterpError):
                pass
        for job in jobs:
            job.done.wait(30)
            if job.thread is not None:
                job.thread.join(30)
        for name in list(self.entries):
            try:
                self.entries[name].interp.close()
            except Exception as exc:
                render.error(f"cannot close {name!r}: {exc}")
            del self.entries[name]
        self.current = None
        self.bridge.close()
        for ch in self.channels.values():
            try:
                ch.close()
            except Exception:
                pass


def check_interp_name(name: str) -> None:
    if not name or any(ch.isspace() for ch in name) or name[0] in "-" + PREFIX:
        raise CommandError(
            f"{name!r} cannot name an interpreter: use a word without spaces, "
            f"not starting with - or {PREFIX}"
        )


# names the shell binds itself in every interpreter's __main__
RESERVED_NAMES = {"channels": "the namespace of every channel the shell passes to a run"}


def check_name(name: str, what: str) -> str:
    """The channel name as Python binds it (NFKC), or CommandError saying why name
    cannot be one: not an identifier, a keyword, a __dunder__ name, a name of the shell."""
    from interpcli.channels import channel_name_problem, python_name

    problem = channel_name_problem(name)
    if problem is None and python_name(name) in RESERVED_NAMES:
        bound = python_name(name)
        problem = f"{name!r} is taken: it is {RESERVED_NAMES[bound]}"
    if problem is None:
        return python_name(name)
    if not name.isidentifier():
        raise CommandError(
            f"{name!r} cannot name {what}: use a Python identifier (letters, digits, _)"
        )
    raise CommandError(f"{name!r} cannot name {what}: {problem}")


def _free_name(base: str) -> str:
    return _names.free(base, {i.name for i in interpcli.list_all()})


def _looks_like_file(text: str) -> bool:
    import os

    text = text.strip()
    if not text or any(ch.isspace() for ch in text):
        return False
    return text.endswith(".py") or ("/" in text and os.path.isfile(os.path.expanduser(text)))


def read_source(path: str) -> tuple[str, str]:
    import os

    full = os.path.expanduser(path)
    try:
        with open(full, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    from .._source import decode_source

    return decode_source(data), os.path.abspath(full)
