"""Interpreters made early: for a command line that cli.quickargs read, `interp` starts
creating every program's interpreter before it imports the rest of itself. The C create
releases the GIL and each new interpreter has its own, so the creations run on the other
cores while the main thread loads the session; a pipe's stages are made side by side
rather than one after the other.

The first thread loads the C core (the main thread waits for that: two threads importing
at once take turns at every switch interval, 5 ms), then starts one thread per other
interpreter and creates its own."""
from .._sync import Flag
from .signals import sigints, start_raw_thread


class EarlyInterpreters:
    """Isolated interpreters being created in threads, by name. take(name) hands one over
    (None if making it failed: the normal path then tries again and reports the error);
    discard() closes those that were not taken.

    Bare _thread threads and _sync.Flag waits, not threading: this runs before threading
    is loaded (a wait is interruptible by Ctrl-C, and one cut short blocks none after it)."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        self._made: dict[str, object] = {}      # name -> id, then Interpreter, or exception
        self._taken: set[str] = set()
        self._loaded = Flag()                   # set once the core is loaded
        self._done: dict[str, Flag] = {}        # name -> set when made (or not)
        if self.names:
            self._start(self.names[0], first=True)

    def _start(self, name: str, first: bool = False) -> None:
        done = self._done[name] = Flag()
        start_raw_thread(self._create, (name, first, done))

    def _create(self, name: str, first: bool, done) -> None:
        try:
            if first:
                try:
                    from .. import _lowlevel
                    _lowlevel.core_module()
                    for other in self.names[1:]:
                        self._start(other)
                finally:
                    self._loaded.set()      # after the others started: _join sees them
            from .. import _lowlevel
            self._made[name] = _lowlevel.create(True, name)      # its id
        except BaseException as exc:    # e.g. the C core is not built: reported later
            self._made[name] = exc
        finally:
            done.set()

    def wait_loaded(self) -> None:
        """Wait until the C core is loaded (by the first thread): after that the interpcli
        modules can be imported while the interpreters are being made."""
        if self.names:
            _raise_if_interrupted()
            self._loaded.wait()

    def _join(self, name: str):
        """The Interpreter made for name, or None."""
        _raise_if_interrupted()
        self._loaded.wait()                 # the first thread starts the others
        done = self._done.get(name)
        if done is None:
            return None
        done.wait()
        value = self._made.get(name)
        if isinstance(value, int):
            from ..interpreter import Interpreter
            self._made[name] = value = Interpreter(value)
        return None if value is None or isinstance(value, BaseException) else value

    def take(self, name: str):
        """The Interpreter made for name, or None."""
        if name in self._taken or name not in self.names:
            return None
        interp = self._join(name)
        self._taken.add(name)
        return interp

    def discard(self) -> None:
        """Close the interpreters that were not taken (after waiting for their making)."""
        for name in self.names:
            if name in self._taken:
                continue
            interp = self._join(name)
            self._taken.add(name)
            if interp is not None:
                try:
                    interp.close()
                except Exception:
                    pass


def _raise_if_interrupted() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that Python swallowed ("Exception ignored":
    it landed in a weakref callback or a __del__, such as the import system's module-lock
    callbacks). Checked before waiting on an early interpreter's thread: that swallowed
    interrupt can leave the import lock held, and the thread waiting for it forever. A
    Ctrl-C during the wait itself interrupts the wait."""
    if sigints():
        raise KeyboardInterrupt

