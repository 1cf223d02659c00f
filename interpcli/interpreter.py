"""Interpreters: create(), list_all(), get_main(), get_current() and the Interpreter class.

Each interpreter is a CPython subinterpreter made by the C core: isolated (own GIL,
multi-phase extensions only) by default, or sharing the main GIL (legacy mode, for
single-phase extensions such as numpy or cffi modules) with isolated=False."""

import _thread
import _weakref
import itertools

from . import _lowlevel, _shutdown, _sync
from . import _names as _naming
from ._shutdown import grace  # noqa: F401  (the CLI and tests take it from here)
from .channels import binding_source, normalize_channels
from .errors import InterpreterError, InterpreterNotFoundError

TYPE_CHECKING = False  # typing costs a few ms at start: `interp run` avoids it
if TYPE_CHECKING:
    from .results import RunResult

_by_id: dict = {}  # id -> a weak reference to its Interpreter
_lock = _thread.allocate_lock()
_names = itertools.count(1)


def _forgetter(iid):
    """The callback dropping iid's entry in _by_id once its Interpreter is gone, unless a
    new one took the entry meanwhile (one atomic step in C, as WeakValueDictionary does it;
    weakref's import costs `interp run` half a millisecond)."""

    def forget(_ref):
        _weakref._remove_dead_weakref(_by_id, iid)

    return forget


class Interpreter:
    """A handle on one interpreter; the same object for the same id."""

    __slots__ = ("_id", "_name", "_isolated", "__weakref__")
    _id: int
    _name: str
    _isolated: bool | None

    def __new__(cls, id: int):
        with _lock:
            ref = _by_id.get(id)
            obj = ref() if ref is not None else None
            if obj is not None:
                return obj
            # name, isolated: read after the loop
            for iid, name, isolated, *_ in _lowlevel.interpreters(True):  # noqa: B007
                if iid == id:
                    break
            else:
                raise InterpreterNotFoundError(f"no interpreter with id {id}")
            obj = super().__new__(cls)
            obj._id, obj._name, obj._isolated = iid, name, isolated
            _by_id[id] = _weakref.ref(obj, _forgetter(id))
            return obj

    @property
    def id(self) -> int:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @property
    def isolated(self) -> bool | None:
        """True for an own-GIL interpreter, False for a shared-GIL (legacy) one; None for
        one that interpcli did not make (not known)."""
        return self._isolated

    def __repr__(self) -> str:
        return f"Interpreter(id={self._id}, name={self._name!r}, isolated={self._isolated})"

    def __eq__(self, other):
        return isinstance(other, Interpreter) and other._id == self._id

    def __hash__(self):
        return hash(("Interpreter", self._id))

    def __reduce__(self):
        return (Interpreter, (self._id,))

    def _info(self):
        for iid, _name, _isolated, running, runs in _lowlevel.interpreters(True):
            if iid == self._id:
                return running, runs
        return None

    def is_alive(self) -> bool:
        """True until the interpreter is closed."""
        return self._info() is not None

    def is_running(self) -> bool:
        """True while a run is going on in this interpreter."""
        info = self._info()
        return bool(info and info[0])

    @property
    def runs(self) -> int:
        """How many runs this interpreter has begun (0 once it is closed)."""
        info = self._info()
        return info[1] if info else 0

    def close(self, *, timeout: float | None = 10.0, force: bool = False) -> None:
        """End the interpreter. Channel waits of its own threads end (ChannelClosedError),
        threading's exit callbacks run and its threads (threading's, daemon or raw _thread
        ones) get `timeout` seconds (None: no limit) to finish. Then its exit steps run as
        python's exit runs them, repeated until none is left: its atexit callbacks, the
        release of what it lent, threading's exit callbacks and threads again; threads
        these start are waited for within the same timeout. Refused
        (InterpreterBusyError) while it runs, while any of its threads is left, and while
        memoryviews onto memory it lent through send_buffer are alive elsewhere, unless
        force: then that memory is kept (never freed under a reader) and the end goes on.
        A refusal after the exit steps began leaves the interpreter usable, its atexit
        callbacks run."""
        if self._id == _lowlevel.main_id():
            raise InterpreterError("the main interpreter cannot be closed")
        _lowlevel.destroy(self._id, force=force, join_timeout=timeout)

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the code this interpreter is running, if any: at its
        next bytecode, or at once when it waits on a channel."""
        _lowlevel.interrupt(self._id)

    def run(
        self,
        source,
        /,
        *,
        channels=None,
        timeout=None,
        capture_output=False,
        filename: str = "<string>",
        canceller: "Canceller | None" = None,
    ) -> "RunResult":
        """Run source (str) in this interpreter's __main__ and return a RunResult.

        The source's own exceptions, SyntaxError and SystemExit included, become data on
        the result; run() raises only for misuse (a busy or closed interpreter, bad
        arguments). channels maps names to channel ends, bound as the `channels` namespace
        in __main__. timeout (seconds) interrupts a run that overstays with TimeoutError.
        capture_output collects sys.stdout/sys.stderr on the result. filename names the
        source in tracebacks. canceller (a Canceller made for this interpreter) lets
        another thread stop this run, begun or not yet begun. Ctrl-C in the main thread
        interrupts the run, then raises KeyboardInterrupt (carrying .result)."""
        return self._run(
            source,
            channels=channels,
            timeout=timeout,
            capture_output=capture_output,
            filename=filename,
            canceller=canceller,
        )

    async def run_async(self, source, /, *, channels=None, capture_output=False) -> "RunResult":
        """Awaitable run(): the RunResult, with the event loop free meanwhile (a driver
        thread runs the code; its end wakes the loop). Cancelling (asyncio.timeout, Ctrl-C
        in asyncio.run) interrupts the run with KeyboardInterrupt and waits until it has
        stopped, so the interpreter is free again when CancelledError arrives."""
        from . import aio

        chans = normalize_channels(channels)  # misuse raises here, not in the thread
        return await aio._drive(
            self._id,
            lambda canceller: self._run(
                source, channels=chans, capture_output=capture_output, canceller=canceller
            ),
        )

    async def call_async(self, callable, /, *args, **kwargs):
        """Awaitable call: call the object in this interpreter and return its result
        (see interpcli.interpreters.Interpreter.call); cancelling interrupts it."""
        from .interpreters import Interpreter as _PEP734

        return await _PEP734(self._id).call_async(callable, *args, **kwargs)

    def _run(
        self,
        source,
        *,
        channels=None,
        timeout=None,
        capture_output=False,
        filename="<string>",
        prelude="",
        canceller=None,
    ) -> "RunResult":
        """run() with a prelude run first in __main__ (the channel binding)."""
        if isinstance(source, (bytes, bytearray)):
            source = bytes(source).decode("utf-8", "surrogateescape")
        if not isinstance(source, str):
            raise TypeError(f"source must be str, not {type(source).__name__!r}")
        if timeout is not None:
            timeout = float(timeout)
            if not timeout > 0:
                raise ValueError("timeout must be a positive number of seconds")
            if timeout > _sync.TIMEOUT_MAX:
                timeout = None  # longer than any wait can be (1e300, inf): no timeout
        from .results import InterpreterRef, RunResult  # only once a run is asked for

        chans = normalize_channels(channels)
        names = tuple(chans)
        ref = InterpreterRef(self._id, self._name)
        if "\0" in source:
            return RunResult(
                source,
                names,
                False,
                ref,
                "SyntaxError",
                "source code cannot contain null bytes",
                None,
                1,
            )
        try:
            src_bytes = source.encode("utf-8")
        except UnicodeEncodeError:
            return RunResult(
                source, names, False, ref, "SyntaxError", "source is not valid UTF-8", None, 1
            )
        if chans:
            prelude = binding_source(chans) + prelude
        args = (
            self._id,
            src_bytes,
            filename.encode("utf-8", "surrogateescape"),
            prelude.encode() if prelude else None,
            capture_output,
        )
        _ensure_atexit()
        done = _sync.Flag()
        if canceller is None:
            canceller = _lowlevel.Canceller(self._id)
        _shutdown.active_runs.add(done, canceller)  # cancelled at once when exiting
        try:
            timed_out = False
            if timeout is None and not _sync.is_main_thread():
                try:
                    out = _lowlevel.run(*args, canceller=canceller)
                except InterpreterNotFoundError:
                    if not _shutdown.active_runs.exiting:
                        raise
                    # ended by the exit shutdown before this (daemon) thread's run began:
                    # an exception printed now, while the process finalizes, can be fatal
                    out = _EXITING_RESULT
            else:
                out, timed_out, interrupted = _run_in_thread(
                    self._id, args, timeout, done, canceller
                )
                if interrupted is not None:
                    interrupted.result = _make_result(source, names, ref, out, False, timeout)
                    raise interrupted
        finally:
            done.set()
            _shutdown.active_runs.remove(done)
        return _make_result(source, names, ref, out, timed_out, timeout)


# the outcome of a run asked for of an interpreter that the exit shutdown already ended
_EXITING_RESULT = {
    "exit_code": 1,
    "exc_type": "KeyboardInterrupt",
    "exc_message": "the process is exiting: the run did not begin",
    "traceback": None,
    "stdout": None,
    "stderr": None,
    "duration": 0.0,
}


class Canceller(_lowlevel.Canceller):
    """A stop handle for one run (or the runs of one job): pass it as run(canceller=...),
    then cancel() from any thread stops that run whether or not it has begun, and
    reaches nothing else; cancel(timeout=True) raises TimeoutError there instead of
    KeyboardInterrupt. Once cancelled, a run started with it stops before it begins."""

    __slots__ = ()

    def __init__(self, interp: "Interpreter | int"):
        super().__init__(interp.id if isinstance(interp, Interpreter) else interp)


# the outcome of a run whose Ctrl-C came before its thread was started
_NOT_BEGUN_RESULT = dict(_EXITING_RESULT, exc_message="interrupted before the run began")


def _make_result(source, names, ref, out, timed_out, timeout) -> "RunResult":
    from .results import RunResult

    msg = out["exc_message"]
    if timed_out and out["exc_type"] == "TimeoutError":
        msg = f"run timed out after {timeout:g} s"
    return RunResult(
        source=source,
        channels=names,
        completed=out["exit_code"] == 0,
        interpreter=ref,
        exc_type=out["exc_type"],
        exc_message=msg,
        traceback=out["traceback"],
        exit_code=out["exit_code"],
        duration=out["duration"],
        stdout=out["stdout"],
        stderr=out["stderr"],
        timed_out=timed_out and out["exc_type"] == "TimeoutError",
    )


def _run_in_thread(interp_id, args, timeout, done, canceller):
    """Run in a helper thread so the calling thread can take Ctrl-C and time out. The
    wait is a _sync.Flag (a bare lock acquire: no polling, and signals interrupt it),
    never a Condition: a KeyboardInterrupt landing inside Event.wait() can leave its
    Condition's lock held (the interrupted re-acquire, or a `with` cut short), and the
    next wait then hangs forever with the run going on. `done` is set at the end, for the
    exit shutdown."""
    box: dict = {}
    finished = _sync.Flag()

    def target():
        try:
            box["out"] = _lowlevel.run(*args, canceller=canceller)
        except BaseException as exc:  # handed to the caller below
            box["exc"] = exc
        finally:
            done.set()  # _sync.start sets `finished` as this returns

    timed_out = False
    interrupted = None
    try:
        _sync.start(target, finished=finished)
        if not finished.wait(timeout):
            timed_out = True
            canceller.cancel(timeout=True)
            finished.wait()
    except KeyboardInterrupt as exc:
        # whether the run has begun or not, it stops (a Ctrl-C may land in start())
        interrupted = exc
        if not finished.launched:  # landed before the thread was started: no run
            return dict(_NOT_BEGUN_RESULT), False, interrupted
        while True:
            try:
                canceller.cancel()
                finished.wait()
                break
            except KeyboardInterrupt:
                continue
    if "exc" in box:
        raise box["exc"]
    return box["out"], timed_out, interrupted


def create(
    name: str | None = None, *, isolated: bool = True, strict: bool | None = None
) -> Interpreter:
    """Create an interpreter. isolated=True: own GIL, runs in parallel with the others;
    isolated=False: shares the main GIL but can import single-phase extensions.
    strict=True: CPython's isolated restrictions, no daemon threads and no os.exec*();
    strict=False allows both, as python does; None (the default): strict when isolated,
    as CPython's own interpreters are. subprocess works in all; os.fork() is refused in
    every interpreter (a child forked from one dies in CPython). From the second isolated
    strict one on, the next is made ahead in the background and handed over here
    (interpcli._spare; INTERP_SPARE=0 turns that off): a fresh interpreter all the same."""
    return _create(name, isolated, spare=True, strict=strict)


def create_fresh(
    name: str | None = None, *, isolated: bool = True, strict: bool | None = None
) -> Interpreter:
    """create() without the warm spare (none taken, none made): for callers that make a
    known number of interpreters at once, such as the pool's workers and the CLI's."""
    return _create(name, isolated, spare=False, strict=strict)


def _create(name, isolated, spare, strict=None):
    # before the interpreter exists: a Ctrl-C landing just after the C call returns must
    # not leave an interpreter that nothing ends at exit (fatal on 3.12)
    _ensure_atexit()
    if name is not None:
        if not isinstance(name, str) or not name or "\0" in name:
            raise ValueError("an interpreter name must be a non-empty string without NUL")
        if len(name.encode()) > 200:
            raise ValueError("an interpreter name must be at most 200 bytes")
    if spare and isolated and strict in (None, True) and _spare().enabled():
        iid = _spare().create(name, _next_name, _fresh)
    else:
        iid = _fresh(name, isolated, strict)
    try:
        return Interpreter(iid)
    except BaseException:  # a Ctrl-C: the interpreter nobody got is ended now
        try:
            _lowlevel.destroy(iid)
        except InterpreterError:
            pass
        raise


def _spare():
    """interpcli._spare, imported on first use (it loads threading: create_fresh, which
    `interp` uses, does without)."""
    from . import _spare

    return _spare


def _next_name() -> str:
    return _naming.numbered("interp", next(_names))


def _fresh(name: str | None, isolated: bool = True, strict: bool | None = None) -> int:
    """Create with the C core; an automatic name (interp-N) when name is None."""
    if name is not None:
        return _shutdown.create(bool(isolated), name, strict)
    while True:
        try:
            return _shutdown.create(bool(isolated), _next_name(), strict)
        except InterpreterError as exc:
            if "exists already" not in str(exc):
                raise


def list_all() -> list[Interpreter]:
    """Every interpreter interpcli knows, the main one first."""
    return [Interpreter(iid) for iid, *_ in _lowlevel.interpreters()]


def get_main() -> Interpreter:
    return Interpreter(_lowlevel.main_id())


def get_current() -> Interpreter:
    """The interpreter this code runs in (works inside subinterpreters too, also in those
    that interpcli did not make)."""
    return Interpreter(_lowlevel.current_id())


def get(name: str) -> Interpreter:
    """The interpreter with that name."""
    for iid, iname, *_ in _lowlevel.interpreters():
        if iname == name:
            return Interpreter(iid)
    raise InterpreterNotFoundError(f"no interpreter named {name!r}")


def _ensure_atexit():
    _shutdown.ensure_registered()
