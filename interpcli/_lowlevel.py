"""The one door to the C core: the only module that imports the core module or calls it.

The core is one multi-phase extension module, `interpcli._native._interpcli`, that imports
in every interpreter of the process (isolated or not, whoever made it) and holds the one
process-wide registry of interpreters and channels. The core installs it into each
interpreter it creates, also as `_interpcli`; elsewhere importing this module imports it.
Creating, running and closing interpreters is refused outside the main interpreter
(InterpreterError); channels work everywhere.

Every operation has a name here. Hot paths (channel ends, end(), create_channel()) are the
C functions themselves bound to a name, not Python wrappers: calling them costs what
calling the core did."""

import sys


def _load():
    mod = sys.modules.get("_interpcli")
    if mod is None:
        try:
            from ._native import _interpcli as mod
        except ImportError as exc:
            raise ImportError(
                f"interpcli's C core could not be loaded ({exc}); install the package "
                "with `pip install .` (or `pip install -e .`) to compile it"
            ) from exc
        sys.modules["_interpcli"] = mod
    return mod


TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ._native import _interpcli as _core  # the core's types: _native/_interpcli.pyi
else:
    _core = _load()


def core_module():
    """The core module itself, for tests and tools that exercise it directly (inside the
    package, only this module touches it: tests/core/test_package_shape.py checks)."""
    return _core


# -- errors: one hierarchy rooted at InterpError, defined by the core in each interpreter
InterpError = _core.InterpError
ChannelError = _core.ChannelError
ChannelClosedError = _core.ChannelClosedError
ChannelEmptyError = _core.ChannelEmptyError
ChannelTimeoutError = _core.ChannelTimeoutError
InterpreterError = _core.InterpreterError
InterpreterNotFoundError = _core.InterpreterNotFoundError
InterpreterBusyError = _core.InterpreterBusyError

# -- channel ends: the core's types; END_TYPES is the one list of them
RecvChannel = _core.RecvChannel
SendChannel = _core.SendChannel
Channel = _core.Channel
END_TYPES = (RecvChannel, SendChannel, Channel)

# the modes of end(id, mode): which ends of a channel the new object holds
RECV = _core.MODE_RECV
SEND = _core.MODE_SEND
BOTH = _core.MODE_BOTH

# the waits the core was built with (INTERPCLI_WAIT): "futex" or "portable"
WAIT_LAYER: str = _core.WAIT_LAYER

create_channel = _core.create_channel
"""create_channel() -> (RecvChannel, SendChannel): the ends of a new channel."""
end = _core._end
"""end(id, mode) -> a new end (mode RECV, SEND or BOTH) of the existing channel id
(ChannelError when it no longer exists)."""
kind = _core._kind
"""kind(id, kind=0) -> the channel's kind (0: plain); a kind > 0 is set first if none was."""
list_interpreters = _core.list_interpreters
"""list_interpreters() -> [(id, name, isolated, running, runs, kind)] of every interpreter
the core knows (kind 'main', 'interpcli' or 'foreign'; isolated -1 when unknown)."""
current_id = _core.current_id
main_id = _core.main_id

# -- asyncio: a notifier wakes an event loop; an item's wait ended done or withdrawn
Notifier = _core.Notifier
ITEM_DONE = _core.ITEM_DONE
ITEM_WITHDRAWN = _core.ITEM_WITHDRAWN

# -- signals forwarded to scripts' interpreters (sigfwd.c)
signal_want = _core._signal_want
"""signal_want(signum, wanted): the calling interpreter wants signum forwarded (or not)."""
signal_ack = _core._signal_ack
"""signal_ack(): the calling interpreter handled the signals forwarded to it."""
signal_post = _core._signal_post
"""signal_post(interp_id, signum): forward signum to an interpreter."""
signal_forget = _core._signal_forget
"""signal_forget(interp_id): drop what was forwarded to an interpreter and not taken."""
signal_taken = _core._signal_taken
"""signal_taken(interp_id) -> whether the interpreter took what was forwarded to it."""

# -- locks whose waits a signal ends on the script's main thread (lock.c)
Lock = _core.Lock
"""Lock(): _thread.lock's counterpart (same methods and errors)."""
RLock = _core.RLock
"""RLock(): _thread.RLock's counterpart."""
allocate_lock = _core.allocate_lock
"""allocate_lock() -> a new Lock (_thread.allocate_lock's counterpart)."""
lock_setup = _core._lock_setup
"""lock_setup(hook): the calling thread is the main thread; a signal ends its lock waits,
which then call hook() (it runs the handlers; what it raises ends the acquire)."""
lock_interrupt = _core._lock_interrupt
"""lock_interrupt() -> a signal is pending for the main thread: end its lock wait; True
when it was waiting on a lock."""


def create(isolated: bool, name: str, strict: bool | None = None) -> int:
    """Create an interpreter (own GIL when isolated); its id. strict: no daemon threads,
    no os.exec*() (None: strict when isolated). Nothing ends it at exit unless the exit
    shutdown is registered first: use _shutdown.create()."""
    return _core._create(bool(isolated), name, bool(isolated if strict is None else strict))


def destroy(interp_id: int, force: bool = False, join_timeout: float | None = None) -> None:
    """End an interpreter interpcli made. Its threads' channel waits end; its threads get
    join_timeout seconds (None: no limit) to finish; InterpreterBusyError if any thread
    is left, or it is running."""
    _core._destroy(
        interp_id, bool(force), -1.0 if join_timeout is None else max(0.0, float(join_timeout))
    )


def create_spare(strict: bool = True) -> int:
    """Create an isolated interpreter as a spare: unlisted, its name reserving nothing,
    until take_spare() names it; its id (see create() on the exit shutdown)."""
    return _core._create_spare(bool(strict))


def take_spare(interp_id: int, name: str) -> None:
    """Make a spare an ordinary interpreter named name (InterpreterBusyError when the name
    is taken: it stays a spare)."""
    _core._take_spare(interp_id, name)


def end_spare(interp_id: int) -> None:
    """End a spare that was never taken; one ended already (by a fork or the exit
    shutdown) is skipped."""
    try:
        _core._destroy_spare(interp_id)
    except InterpreterError:
        pass


def spares() -> list[int]:
    """The ids of the spares made and not taken."""
    return _core._spares()


def end_spares() -> None:
    """End every spare made and not taken (one ended meanwhile is skipped)."""
    for iid in spares():
        end_spare(iid)


def env_snapshot() -> bytes:
    """What a new interpreter reads from the process: the environment, the current
    directory (equal snapshots: a new interpreter would read the same)."""
    return _core._env_snapshot()


def interrupt(interp_id: int, timeout: bool = False) -> None:
    """KeyboardInterrupt (TimeoutError when timeout) in whatever run is evaluating."""
    _core._interrupt(interp_id, _core.INTR_TIMEOUT if timeout else _core.INTR_KEYBOARD)


def close_all_channels() -> None:
    """Close every channel's send side (at exit): no thread stays blocked on a channel."""
    _core._close_all_channels()


class Canceller:
    """Stops one run, and only that run, whether or not it has begun: cancel() marks it
    for a run that has not begun its code yet and interrupts it if it has."""

    __slots__ = ("_token", "_interp_id")

    def __init__(self, interp_id: int):
        self._interp_id = interp_id
        self._token = _core.RunToken()

    def cancel(self, timeout: bool = False) -> None:
        intr = _core.INTR_TIMEOUT if timeout else _core.INTR_KEYBOARD
        self._token.stop(intr)
        try:
            _core._interrupt(self._interp_id, intr, self._token)
        except InterpreterNotFoundError:
            pass


_RUN_FIELDS = ("exit_code", "exc_type", "exc_message", "traceback", "stdout", "stderr", "duration")


def run(
    interp_id: int,
    source: bytes,
    filename: bytes,
    prelude: bytes | None,
    capture: bool,
    canceller: Canceller | None = None,
) -> dict:
    """Run in the calling OS thread (the GIL is released meanwhile); a dict of outcomes."""
    token = canceller._token if canceller is not None else None
    out = _core._run(interp_id, source, filename, prelude, bool(capture), token)
    return dict(zip(_RUN_FIELDS, out))


def interpreters(include_foreign: bool = False) -> list[tuple[int, str, bool | None, bool, int]]:
    """(id, name, isolated, running, runs) of main and every interpreter interpcli made;
    with include_foreign, also those made elsewhere in which interpcli was imported (their
    isolated is None: unknown; interpcli never runs code in them or ends them)."""
    return [
        (i, n, None if iso < 0 else bool(iso), bool(r), runs)
        for i, n, iso, r, runs, kind in _core.list_interpreters()
        if include_foreign or kind != "foreign"
    ]
