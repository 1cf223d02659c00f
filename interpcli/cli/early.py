"""Interpreters made early: for a command line that cli.quickargs read, `interp` begins
creating the first program's interpreter as soon as the line is read, before it knows the
programs' names or imports the rest of itself. The C create releases the GIL and each new
interpreter has its own, so the creations run on the other cores while the main thread
loads the session; a pipe's stages are made side by side rather than one after the other.

The first interpreter is made nameless (a spare of the C core: unlisted, its name reserving
nothing) and named when it is taken; the others are begun once their names are known."""
from .._sync import Flag
from .signals import sigints, start_raw_thread


class EarlyInterpreters:
    """Isolated interpreters being created in threads. EarlyInterpreters() loads the C
    core in the calling thread and begins the first; assign(names) names it names[0] and
    begins one per other name. take(name) hands one over (None if making it failed: the
    normal path then tries again and reports the error); discard() ends those not taken.

    Bare _thread threads and _sync.Flag waits, not threading: this runs before threading
    is loaded (a wait is interruptible by Ctrl-C, and one cut short blocks none after it)."""

    def __init__(self, strict: bool = False):
        self.strict = strict                    # the interpreters' preset (create(strict=))
        self.names: list[str] = []
        self._made: dict[str, list] = {}        # name -> [id, then Interpreter; or exception]
        self._taken: set[str] = set()
        self._done: dict[str, Flag] = {}        # name -> set when made (or not)
        self._first = None                      # the nameless first: [id or exception]
        self._first_done = None
        try:
            from .. import _lowlevel
            _lowlevel.core_module()
        except Exception:       # e.g. the C core is not built: the normal path reports it
            return
        self._first = [None]
        self._first_done = Flag()
        _begin(_lowlevel.create_spare, (strict,), self._first, self._first_done)

    def assign(self, names: list[str]) -> None:
        """The programs' interpreter names, in order: the first interpreter is names[0]'s
        (ended when names is empty); the others begin now."""
        self.names = list(names)
        if self._first is None or self._first_done is None:     # (made together)
            return
        if not self.names:
            self._end_first()
            return
        self._made[self.names[0]] = self._first
        self._done[self.names[0]] = self._first_done
        from .. import _lowlevel
        for name in self.names[1:]:
            box = self._made[name] = [None]
            done = self._done[name] = Flag()
            _begin(_lowlevel.create, (True, name, self.strict), box, done)

    def _end_first(self) -> None:
        """Wait for the nameless first, then end it (it was never named)."""
        box, self._first = self._first, None
        if box is None or self._first_done is None:     # (made together)
            return
        _raise_if_interrupted()
        self._first_done.wait()
        if isinstance(box[0], int):
            from .. import _lowlevel
            _lowlevel.end_spare(box[0])

    def _join(self, name: str):
        """The Interpreter made for name, or None."""
        _raise_if_interrupted()
        done = self._done.get(name)
        if done is None:
            return None
        done.wait()
        box = self._made[name]
        if box is self._first:          # the nameless first: named now
            self._first = None
            box[0] = self._name_first(box[0], name)
        if isinstance(box[0], int):
            from ..interpreter import Interpreter
            box[0] = Interpreter(box[0])
        value = box[0]
        return None if value is None or isinstance(value, BaseException) else value

    @staticmethod
    def _name_first(value, name: str):
        """The first interpreter's id once named name, or what went wrong."""
        if not isinstance(value, int):
            return value
        from .. import _lowlevel
        from ..errors import InterpreterError
        try:
            _lowlevel.take_spare(value, name)
            return value
        except InterpreterError as exc:     # the name is taken: it stays nameless
            _lowlevel.end_spare(value)
            return exc

    def take(self, name: str):
        """The Interpreter made for name, or None."""
        if name in self._taken or name not in self.names:
            return None
        interp = self._join(name)
        self._taken.add(name)
        return interp

    def discard(self) -> None:
        """End the interpreters that were not taken (after waiting for their making)."""
        if not self.names:
            self._end_first()
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


def _begin(create, args, box: list, done) -> None:
    """Call create(*args) in a thread, its id (or the exception) into box[0], then set
    done; return once that thread is about to enter the C create, which lets the GIL go.
    A new thread needs the GIL to begin, and the main thread, busy importing, would hold
    it for up to a switch interval (5 ms) at a time."""
    begun = Flag()

    def make():
        try:
            begun.set()
            box[0] = create(*args)
        except BaseException as exc:
            box[0] = exc
        finally:
            begun.set()
            done.set()
    try:
        start_raw_thread(make, ())
    except RuntimeError:            # no new thread now: create here (no overlap)
        make()
    begun.wait()


def _raise_if_interrupted() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that Python swallowed ("Exception ignored":
    it landed in a weakref callback or a __del__, such as the import system's module-lock
    callbacks). Checked before waiting on an early interpreter's thread: that swallowed
    interrupt can leave the import lock held, and the thread waiting for it forever. A
    Ctrl-C during the wait itself interrupts the wait."""
    if sigints():
        raise KeyboardInterrupt
