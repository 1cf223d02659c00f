"""The one module that loads the C core and calls its lifecycle functions.

The core is one multi-phase extension module, `interpcli._native._interpcli`, that imports
in every interpreter of the process (isolated or not, whoever made it) and holds the one
process-wide registry of interpreters and channels. The core installs it into each
interpreter it creates, also as `_interpcli`; elsewhere the first `core_module()` imports
it. Creating, running and closing interpreters is refused outside the main interpreter
(InterpreterError); channels work everywhere."""
import sys

_core = None


def core_module():
    """The calling interpreter's core module (importing it on first use)."""
    global _core
    if _core is None:
        mod = sys.modules.get("_interpcli")
        if mod is None:
            try:
                from ._native import _interpcli as mod
            except ImportError as exc:
                raise ImportError(
                    f"interpcli's C core could not be loaded ({exc}); install the package "
                    "with `pip install .` (or `pip install -e .`) to compile it") from exc
            sys.modules["_interpcli"] = mod
        _core = mod
    return _core


def create(isolated: bool, name: str, strict: bool | None = None) -> int:
    """Create an interpreter (own GIL when isolated); its id. strict: no daemon threads,
    no os.exec*() (None: strict when isolated). The exit-time shutdown is registered before
    the interpreter exists: a Ctrl-C landing just after the C call returns must not leave
    an interpreter that nothing ends at exit (fatal on 3.12)."""
    ensure_exit_shutdown()
    return core_module()._create(bool(isolated), name,
                                 bool(isolated if strict is None else strict))


_exit_shutdown_registered = False


def ensure_exit_shutdown() -> None:
    """Register interpcli._shutdown.shutdown to run at exit, once. It is imported then,
    not now: `interp run` creates its first interpreter before importing anything else."""
    global _exit_shutdown_registered
    if not _exit_shutdown_registered:
        _exit_shutdown_registered = True
        import atexit
        atexit.register(_exit_shutdown)


def _exit_shutdown() -> None:
    import _signal
    try:        # as _shutdown.shutdown does first: a Ctrl-C must not cut the import short
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    except (ValueError, OSError):
        pass    # not the main thread
    while True:
        try:
            from . import _shutdown
            break
        except KeyboardInterrupt:   # one that was pending already
            continue
    _shutdown.shutdown()


def destroy(interp_id: int, force: bool = False, join_timeout: float | None = None) -> None:
    """End an interpreter interpcli made. Its threads' channel waits end; its threads get
    join_timeout seconds (None: no limit) to finish; InterpreterBusyError if any thread
    is left, or it is running."""
    core_module()._destroy(interp_id, bool(force), -1.0 if join_timeout is None
                           else max(0.0, float(join_timeout)))


def create_spare(strict: bool = True) -> int:
    """Create an isolated interpreter as a spare: unlisted, its name reserving nothing,
    until take_spare() names it; its id."""
    ensure_exit_shutdown()
    return core_module()._create_spare(bool(strict))


def take_spare(interp_id: int, name: str) -> None:
    """Make a spare an ordinary interpreter named name (InterpreterBusyError when the name
    is taken: it stays a spare)."""
    core_module()._take_spare(interp_id, name)


def end_spare(interp_id: int) -> None:
    """End a spare that was never taken; one ended already (by a fork or the exit
    shutdown) is skipped."""
    core = core_module()
    try:
        core._destroy_spare(interp_id)
    except core.InterpreterError:
        pass


def spares() -> list[int]:
    """The ids of the spares made and not taken."""
    return core_module()._spares()


def end_spares() -> None:
    """End every spare made and not taken (one ended meanwhile is skipped)."""
    for iid in spares():
        end_spare(iid)


def env_snapshot() -> bytes:
    """What a new interpreter reads from the process: the environment, the current
    directory (equal snapshots: a new interpreter would read the same)."""
    return core_module()._env_snapshot()


def interrupt(interp_id: int, timeout: bool = False) -> None:
    """KeyboardInterrupt (TimeoutError when timeout) in whatever run is evaluating."""
    core = core_module()
    core._interrupt(interp_id, core.INTR_TIMEOUT if timeout else core.INTR_KEYBOARD)


def close_all_channels() -> None:
    """Close every channel's send side (at exit): no thread stays blocked on a channel."""
    core_module()._close_all_channels()


class Canceller:
    """Stops one run, and only that run, whether or not it has begun: cancel() marks it
    for a run that has not begun its code yet and interrupts it if it has."""

    __slots__ = ("_token", "_interp_id")

    def __init__(self, interp_id: int):
        self._interp_id = interp_id
        self._token = core_module().RunToken()

    def cancel(self, timeout: bool = False) -> None:
        core = core_module()
        kind = core.INTR_TIMEOUT if timeout else core.INTR_KEYBOARD
        self._token.stop(kind)
        try:
            core._interrupt(self._interp_id, kind, self._token)
        except core.InterpreterNotFoundError:
            pass


_RUN_FIELDS = ("status", "exit_code", "exc_type", "exc_message", "traceback", "stdout",
               "stderr", "duration")


def run(interp_id: int, source: bytes, filename: bytes, prelude: bytes | None,
        capture: bool, canceller: Canceller | None = None) -> dict:
    """Run in the calling OS thread (the GIL is released meanwhile); a dict of outcomes."""
    token = canceller._token if canceller is not None else None
    out = core_module()._run(interp_id, source, filename, prelude, bool(capture), token)
    return dict(zip(_RUN_FIELDS, out))


def interpreters(include_foreign: bool = False) -> list[tuple[int, str, bool | None, bool, int]]:
    """(id, name, isolated, running, runs) of main and every interpreter interpcli made;
    with include_foreign, also those made elsewhere in which interpcli was imported (their
    isolated is None: unknown; interpcli never runs code in them or ends them)."""
    return [(i, n, None if iso < 0 else bool(iso), bool(r), runs)
            for i, n, iso, r, runs, kind in core_module().list_interpreters()
            if include_foreign or kind != "foreign"]


def current_id() -> int:
    return core_module().current_id()


def main_id() -> int:
    return core_module().main_id()
