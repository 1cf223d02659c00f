"""cli.early: the interpreters `interp run`/`interp pipe` begin creating before the rest of
interp is loaded (the first before the programs' names are known), handed over by name."""
import interpcli
from interpcli import _lowlevel
from interpcli.cli.early import EarlyInterpreters


def _names():
    return [i.name for i in interpcli.list_all()]


def _first_id(early):
    """The id of the nameless first interpreter (once made)."""
    early._first_done.wait()
    assert isinstance(early._first[0], int)
    return early._first[0]


def test_made_by_name_taken_once_and_the_rest_discarded():
    early = EarlyInterpreters()
    first = _first_id(early)
    assert first in _lowlevel.spares()              # unlisted until named
    early.assign(["early-a", "early-b"])
    a = early.take("early-a")
    assert a is not None and a.name == "early-a" and a.isolated and a.id == first
    assert "early-a" in _names()
    assert early.take("early-a") is None            # once
    assert early.take("unknown") is None
    try:
        assert a.run("x = 1").completed
    finally:
        a.close()
    early.discard()                                 # closes early-b, which nobody took
    assert "early-b" not in _names()
    assert first not in _lowlevel.spares()


def test_the_nameless_first_is_ended_when_no_program_takes_it():
    before = set(_names())
    early = EarlyInterpreters()
    first = _first_id(early)
    early.assign([])                                # e.g. a usage problem: nothing to run
    assert first not in _lowlevel.spares() and set(_names()) == before
    early = EarlyInterpreters()
    first = _first_id(early)
    early.discard()                                 # never assigned
    assert first not in _lowlevel.spares() and set(_names()) == before


def test_the_first_whose_name_is_taken_is_not_handed_over():
    taken = interpcli.create("early-taken")
    try:
        early = EarlyInterpreters()
        first = _first_id(early)
        early.assign(["early-taken"])
        assert early.take("early-taken") is None    # the normal path then reports it
        assert first not in _lowlevel.spares()
    finally:
        taken.close()


def test_a_wait_cut_short_after_taking_its_lock_blocks_no_later_wait():
    """A Ctrl-C in the main thread just after a wait took one of the flags' locks (before
    giving it back) leaves that lock taken: the waits after it must not block on it."""
    early = EarlyInterpreters()
    early.assign(["early-c"])
    early._join("early-c")
    early._done["early-c"]._lock.acquire()          # what such an interrupted wait leaves
    early._taken.discard("early-c")
    c = early.take("early-c")                       # would block forever otherwise
    assert c is not None
    c.close()


def test_without_a_new_thread_the_first_is_made_in_the_calling_thread(monkeypatch):
    from interpcli.cli import early as early_mod

    def refuse(function, args):
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(early_mod, "start_raw_thread", refuse)
    early = EarlyInterpreters()
    first = _first_id(early)                        # made already: no thread to wait for
    early.assign(["early-nothread"])
    interp = early.take("early-nothread")
    assert interp is not None and interp.id == first
    interp.close()
