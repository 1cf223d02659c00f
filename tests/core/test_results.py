"""RunResult is a frozen dataclass (as the README documents it) that interpcli writes out
by hand, so that importing it does not import dataclasses (`interp run hello.py` would pay
for inspect, ast and re): it must behave exactly as the class @dataclass(frozen=True)
makes."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys

import pytest

from interpcli.results import _DEFAULTS, _FIELDS, InterpreterRef, RunResult


def _twin():
    """The class that @dataclass(frozen=True) makes from RunResult's fields."""
    return dataclasses.make_dataclass(
        "RunResult",
        [
            (f, RunResult.__annotations__[f], dataclasses.field(default=_DEFAULTS[f]))
            if f in _DEFAULTS
            else (f, RunResult.__annotations__[f])
            for f in _FIELDS
        ],
        frozen=True,
    )


def _sample(cls=RunResult, **changes):
    values = dict(
        source="1/0",
        channels=("a",),
        completed=False,
        interpreter=InterpreterRef(3, "w"),
        exc_type="ZeroDivisionError",
        exc_message="division by zero",
        traceback="Traceback...",
        exit_code=1,
        duration=0.5,
        timed_out=False,
    )
    values.update(changes)
    return cls(**values)


def test_importing_results_does_not_import_dataclasses():
    code = (
        "import sys; import interpcli.results as r; "
        "r.RunResult('x', (), True, r.InterpreterRef(1, 'w')); "
        "print('dataclasses' in sys.modules, 'typing' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]


def test_it_is_the_dataclass_the_decorator_makes():
    twin = _twin()
    r, t = _sample(), _sample(twin)
    assert dataclasses.is_dataclass(RunResult) and dataclasses.is_dataclass(r)
    assert [(f.name, f.default) for f in dataclasses.fields(r)] == [
        (f.name, f.default) for f in dataclasses.fields(t)
    ]
    assert RunResult.__dataclass_params__.frozen
    assert dataclasses.asdict(r) == dataclasses.asdict(t)
    assert repr(r) == repr(t)
    assert RunResult.__match_args__ == twin.__match_args__


def test_defaults_equality_hash_and_replace():
    r = RunResult("x", (), True, InterpreterRef(1, "w"))
    assert (r.exc_type, r.exit_code, r.duration, r.stdout, r.timed_out) == (
        None,
        0,
        0.0,
        None,
        False,
    )
    assert r == RunResult("x", (), True, InterpreterRef(1, "w"))
    assert hash(r) == hash(RunResult("x", (), True, InterpreterRef(1, "w")))
    assert r != RunResult("y", (), True, InterpreterRef(1, "w"))
    assert r != _sample()
    changed = dataclasses.replace(r, source="y", exit_code=3)
    assert (changed.source, changed.exit_code, changed.interpreter) == ("y", 3, r.interpreter)
    assert type(changed) is RunResult
    if sys.version_info >= (3, 13):
        assert copy.replace(r, exit_code=5) == dataclasses.replace(r, exit_code=5)


def test_frozen():
    r = _sample()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.completed = True
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.source
    with pytest.raises(AttributeError):
        r.new_field = 1


def test_copy_and_pickle():
    r = _sample()
    for other in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert other == r and other is not r
        assert other.interpreter.name == "w"


def test_match_and_interpreter_ref():
    match _sample():
        case RunResult("1/0", ("a",), False, InterpreterRef(3, name)):
            assert name == "w"
        case _:
            pytest.fail("no match")
    ref = InterpreterRef(2, "x")
    assert ref == (2, "x") and ref.id == 2 and ref.name == "x"
    assert ref._asdict() == {"id": 2, "name": "x"} and ref._fields == ("id", "name")
    assert repr(ref) == "InterpreterRef(id=2, name='x')"
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert _sample().to_dict()["interpreter"] == {"id": 3, "name": "w"}
