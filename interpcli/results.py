"""RunResult: what a run of source in an interpreter came to (like CompletedProcess).

RunResult is a frozen dataclass: dataclasses.fields(), asdict(), replace() and
is_dataclass() work on it. Importing the dataclasses module costs more than `python
hello.py` does in all (it imports inspect, ast, re...), so this module does not import it:
the class is written out as @dataclass(frozen=True) would make it, and its dataclass
metadata (__dataclass_fields__, __dataclass_params__) is made by dataclasses on first use.
tests/core/test_results.py checks it against the dataclass that the decorator makes."""

_FIELDS = (
    "source",
    "channels",
    "completed",
    "interpreter",
    "exc_type",
    "exc_message",
    "traceback",
    "exit_code",
    "duration",
    "stdout",
    "stderr",
    "timed_out",
)
_DEFAULTS = {
    "exc_type": None,
    "exc_message": None,
    "traceback": None,
    "exit_code": 0,
    "duration": 0.0,
    "stdout": None,
    "stderr": None,
    "timed_out": False,
}


class InterpreterRef(tuple):
    """The id and name of the interpreter a run happened in (a named tuple: id, name)."""

    __slots__ = ()
    _fields = __match_args__ = ("id", "name")

    def __new__(cls, id: int, name: str):
        return tuple.__new__(cls, (id, name))

    @property
    def id(self) -> int:
        return self[0]

    @property
    def name(self) -> str:
        return self[1]

    def _asdict(self) -> dict:
        return {"id": self[0], "name": self[1]}

    def _replace(self, **changes) -> "InterpreterRef":
        return type(self)(changes.pop("id", self[0]), changes.pop("name", self[1]), **changes)

    @classmethod
    def _make(cls, iterable) -> "InterpreterRef":
        return cls(*iterable)

    def __getnewargs__(self):
        return tuple(self)

    def __repr__(self) -> str:
        return f"InterpreterRef(id={self[0]!r}, name={self[1]!r})"


class _DataclassMetadata:
    """A class attribute that dataclasses makes on first access: the metadata of the
    dataclass that @dataclass(frozen=True) makes from the same fields, then cached."""

    def __init__(self, attr: str):
        self.attr = attr

    def __get__(self, obj, cls):
        import dataclasses

        twin = dataclasses.make_dataclass(
            cls.__name__,
            [
                (f, cls.__annotations__[f], dataclasses.field(default=_DEFAULTS[f]))
                if f in _DEFAULTS
                else (f, cls.__annotations__[f])
                for f in _FIELDS
            ],
            frozen=True,
        )
        for attr in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(cls, attr, getattr(twin, attr))
        return getattr(cls, self.attr)


class RunResult:
    """The outcome of Interpreter.run().

    completed is True when the source ran to its end, or left with sys.exit(0) /
    sys.exit(); exit_code is then 0. An uncaught exception gives exit_code 1 and sets
    exc_type (qualified name), exc_message and traceback (text, formatted in the
    interpreter); SystemExit(n) gives exit_code n. stdout/stderr hold what the run wrote
    when capture_output=True, else None."""

    __slots__ = _FIELDS
    __match_args__ = _FIELDS
    __dataclass_fields__ = _DataclassMetadata("__dataclass_fields__")
    __dataclass_params__ = _DataclassMetadata("__dataclass_params__")

    source: str
    channels: tuple[str, ...]
    completed: bool
    interpreter: InterpreterRef
    exc_type: str | None
    exc_message: str | None
    traceback: str | None
    exit_code: int
    duration: float
    stdout: str | None
    stderr: str | None
    timed_out: bool

    def __init__(
        self,
        source: str,
        channels: tuple[str, ...],
        completed: bool,
        interpreter: InterpreterRef,
        exc_type: str | None = None,
        exc_message: str | None = None,
        traceback: str | None = None,
        exit_code: int = 0,
        duration: float = 0.0,
        stdout: str | None = None,
        stderr: str | None = None,
        timed_out: bool = False,
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "source", source)
        setattr_(self, "channels", channels)
        setattr_(self, "completed", completed)
        setattr_(self, "interpreter", interpreter)
        setattr_(self, "exc_type", exc_type)
        setattr_(self, "exc_message", exc_message)
        setattr_(self, "traceback", traceback)
        setattr_(self, "exit_code", exit_code)
        setattr_(self, "duration", duration)
        setattr_(self, "stdout", stdout)
        setattr_(self, "stderr", stderr)
        setattr_(self, "timed_out", timed_out)

    def __replace__(self, **changes) -> "RunResult":
        """copy.replace() (3.13+), as a dataclass has it."""
        values = {f: getattr(self, f) for f in _FIELDS}
        values.update(changes)
        return type(self)(**values)

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in _FIELDS)

    def __setattr__(self, name, value):
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self):
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in _FIELDS)
        return f"{type(self).__qualname__}({inner})"

    def __getstate__(self):
        return self._values()

    def __setstate__(self, state):
        for f, v in zip(_FIELDS, state):
            object.__setattr__(self, f, v)

    def check(self) -> "RunResult":
        """Return self if the run completed, else raise RunFailedError carrying it."""
        if not self.completed:
            from .errors import RunFailedError

            raise RunFailedError(self)
        return self

    @staticmethod
    def not_run_dict(source: str, channels) -> dict:
        """What to_dict() gives, for a run that never began (no interpreter)."""
        d = dict.fromkeys(_FIELDS)
        d.update(_DEFAULTS, source=source, channels=list(channels), completed=False, exit_code=None)
        return d

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        d = {f: getattr(self, f) for f in _FIELDS}
        d["interpreter"] = {"id": self.interpreter.id, "name": self.interpreter.name}
        d["channels"] = list(self.channels)
        return d
