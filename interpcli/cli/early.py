"""Interpreters made early: for a command line that cli.quickargs read, `interp` begins
creating its programs' interpreters as soon as the options that shape an interpreter are
known (cli.options: `shapes`), before it imports the rest of itself. The C create releases
the GIL and each new interpreter has its own, so the creations run on the other cores
while the main thread loads the session; a pipe's stages are made side by side rather
than one after the other.

They are spares (interpcli.spares: nameless, unlisted), each named when its program takes
it. cli.main() owns them: `with EarlyInterpreters.for_line(parsed)` ends those not taken."""

from .._sync import Flag
from .signals import sigints, start_raw_thread


class EarlyInterpreters:
    """Isolated interpreters being created in threads, one per name of names (the
    programs' interpreter names, in order; or a function giving them, called once the
    first interpreter is begun), with the interpreter options shaping (the
    values of cli.options' `shapes` options). take(name) hands one over as an Interpreter
    (None if making or naming it failed: the normal path then tries again and reports the
    error); close() (or leaving the with block) ends those not taken.

    Bare _thread threads and _sync.Flag waits, not threading: this runs before threading
    is loaded (a wait is interruptible by Ctrl-C, and one cut short blocks none after it)."""

    def __init__(self, names, shaping: dict):
        self.shaping = dict(shaping)
        self.names: list[str] = []
        self._made: dict[str, list] = {}  # name -> [Spare, Interpreter or exception]
        self._done: dict[str, Flag] = {}  # name -> set when made (or not)
        self._taken: set[str] = set()
        try:
            from .. import spares
        except Exception:  # e.g. the C core is not built: the normal path reports it
            return
        strict = {"strict": bool(self.shaping.get("strict"))}
        boxes: list = []
        if callable(names):  # the first is begun before the names are computed
            boxes.append(([None], Flag()))
            _begin(spares.Spare, strict, *boxes[0])
            names = names()
        self.names = list(names)
        for _ in range(len(self.names) - len(boxes)):
            boxes.append(([None], Flag()))
            _begin(spares.Spare, strict, *boxes[-1])
        for name, (box, done) in zip(self.names, boxes):
            self._made[name], self._done[name] = box, done
        for box, done in boxes[len(self.names) :]:  # begun for no program: ended
            done.wait()
            if not isinstance(box[0], BaseException):
                box[0].close()

    @classmethod
    def for_line(cls, parsed) -> "EarlyInterpreters | None":
        """The interpreters for a parsed run or pipe line (cli.options.Parsed), begun now;
        None when none are made early for it (--shared-gil: not isolated)."""
        shaping = parsed.shaping()
        if shaping.get("shared_gil"):
            return None
        return cls(parsed.names if parsed.programs() else [], shaping)

    def __enter__(self) -> "EarlyInterpreters":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            # leave at once (cli.main): waiting for a creating thread could hang when the
            # interrupt left an import lock held; the process's end closes them
            return
        self.close()

    def _join(self, name: str):
        """The Interpreter made for name (named now), or None."""
        _raise_if_interrupted()
        done = self._done.get(name)
        if done is None:
            return None
        done.wait()
        box = self._made[name]
        value = box[0]
        if value is None or isinstance(value, BaseException):
            return None
        if not isinstance(value, _Taken):
            box[0] = _Taken(_name(value, name))
        return box[0].interp

    def take(self, name: str):
        """The Interpreter made for name, or None (once per name)."""
        if name in self._taken or name not in self._done:
            return None
        interp = self._join(name)
        self._taken.add(name)
        return interp

    def close(self) -> None:
        """End the interpreters that were not taken (after waiting for their making)."""
        for name in self.names:
            if name in self._taken:
                continue
            self._taken.add(name)
            done = self._done.get(name)
            if done is None:
                continue
            _raise_if_interrupted()
            done.wait()
            value = self._made[name][0]
            if isinstance(value, _Taken):
                value = value.interp
            if value is not None and not isinstance(value, BaseException):
                try:
                    value.close()
                except Exception:
                    pass


class _Taken:
    """A spare once named: the Interpreter, or None when naming it failed."""

    __slots__ = ("interp",)

    def __init__(self, interp):
        self.interp = interp


def _name(spare, name: str):
    """The spare as an Interpreter named name, or None (the name is taken: it is ended)."""
    from ..errors import InterpreterError

    try:
        return spare.take(name)
    except InterpreterError:
        spare.close()
        return None


def _begin(create, kwargs: dict, box: list, done) -> None:
    """Call create(**kwargs) in a thread, its result (or the exception) into box[0], then set
    done; return once that thread is about to enter the C create, which lets the GIL go.
    A new thread needs the GIL to begin, and the main thread, busy importing, would hold
    it for up to a switch interval (5 ms) at a time."""
    begun = Flag()

    def make():
        try:
            begun.set()
            box[0] = create(**kwargs)
        except BaseException as exc:
            box[0] = exc
        finally:
            begun.set()
            done.set()

    try:
        start_raw_thread(make, ())
    except RuntimeError:  # no new thread now: create here (no overlap)
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
