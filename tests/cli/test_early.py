"""cli.early: the interpreters `interp run`/`interp pipe` begin creating before the rest of
interp is loaded, handed over by name."""
import interpcli
from interpcli.cli.early import EarlyInterpreters


def test_made_by_name_taken_once_and_the_rest_discarded():
    early = EarlyInterpreters(["early-a", "early-b"])
    early.wait_loaded()
    a = early.take("early-a")
    assert a is not None and a.name == "early-a" and a.isolated
    assert early.take("early-a") is None            # once
    assert early.take("unknown") is None
    try:
        assert a.run("x = 1").completed
    finally:
        a.close()
    early.discard()                                 # closes early-b, which nobody took
    assert "early-b" not in [i.name for i in interpcli.list_all()]


def test_a_wait_cut_short_after_taking_its_lock_blocks_no_later_wait():
    """A Ctrl-C in the main thread just after a wait took one of the flags' locks (before
    giving it back) leaves that lock taken: the waits after it must not block on it."""
    early = EarlyInterpreters(["early-c"])
    early.wait_loaded()
    early._loaded._lock.acquire()                   # what such an interrupted wait leaves
    early._join("early-c")
    early._done["early-c"]._lock.acquire()
    early.wait_loaded()
    c = early.take("early-c")                       # would block forever otherwise
    assert c is not None
    c.close()
