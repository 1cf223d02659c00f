"""interpcli.spares.Spare: an isolated interpreter made ahead, nameless and unlisted until
taken under a name; closed when never taken."""

import pytest

import interpcli
from interpcli import _lowlevel
from interpcli.errors import InterpreterBusyError, InterpreterError
from interpcli.spares import Spare


def _names():
    return [i.name for i in interpcli.list_all()]


def test_a_spare_is_unlisted_until_taken():
    spare = Spare(strict=False)
    sid = spare.id
    assert sid in _lowlevel.spares() and sid not in [i.id for i in interpcli.list_all()]
    interp = spare.take("spare-taken")
    try:
        assert spare.id is None and interp.id == sid and interp.name == "spare-taken"
        assert interp.isolated and "spare-taken" in _names()
        assert interp.run(
            "import threading\nthreading.Thread(target=int, daemon=True).start()"
        ).completed
        with pytest.raises(InterpreterError):
            spare.take("again")
        spare.close()  # taken: nothing to do
        assert "spare-taken" in _names()
    finally:
        interp.close()
    assert sid not in _lowlevel.spares()


def test_a_name_in_use_leaves_it_a_spare_and_close_ends_it():
    other = interpcli.create("spare-busy")
    try:
        with Spare() as spare:
            sid = spare.id
            with pytest.raises(InterpreterBusyError):
                spare.take("spare-busy")
            assert spare.id == sid and sid in _lowlevel.spares()
            with pytest.raises(ValueError):
                spare.take("")
        assert spare.id is None and sid not in _lowlevel.spares()
        spare.close()  # once is enough
    finally:
        other.close()


def test_strict_spare_refuses_daemon_threads():
    with Spare(strict=True) as spare:
        interp = spare.take("spare-strict")
    try:
        r = interp.run("import threading\nthreading.Thread(target=int, daemon=True).start()")
        assert not r.completed and "daemon" in str(r)
    finally:
        interp.close()
