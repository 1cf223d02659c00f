"""cli.early: the interpreters `interp run`/`interp pipe` begin creating before the rest of
interp is loaded (spares, nameless until their program takes them), handed over by name,
owned by cli.main() as a context manager."""

import interpcli
from interpcli import _lowlevel
from interpcli.cli.early import EarlyInterpreters
from interpcli.cli.quickargs import parse

ISOLATED = {"shared_gil": False, "strict": False}


def _names():
    return [i.name for i in interpcli.list_all()]


def _spare_id(early, name):
    """The id of the spare being made for name (once made)."""
    early._done[name].wait()
    return early._made[name][0].id


def test_made_by_name_taken_once_and_the_rest_closed():
    with EarlyInterpreters(["early-a", "early-b"], ISOLATED) as early:
        first = _spare_id(early, "early-a")
        assert first in _lowlevel.spares()  # unlisted until named
        assert "early-a" not in _names()
        a = early.take("early-a")
        assert a is not None and a.name == "early-a" and a.isolated and a.id == first
        assert "early-a" in _names()
        assert early.take("early-a") is None  # once
        assert early.take("unknown") is None
        second = _spare_id(early, "early-b")
        try:
            assert a.run("x = 1").completed
        finally:
            a.close()
    # leaving the block ends early-b, which nobody took
    assert "early-b" not in _names()
    assert first not in _lowlevel.spares() and second not in _lowlevel.spares()


def test_made_after_the_options_that_shape_an_interpreter():
    early = EarlyInterpreters.for_line(parse(["run", "--strict", "a.py", "-c", "1"]))
    with early:
        assert early.names == ["a", "c"] and early.shaping == {"shared_gil": False, "strict": True}
        c = early.take("c")
        try:
            r = c.run(
                "import threading\n"
                "try:\n"
                "    threading.Thread(target=int, daemon=True).start()\n"
                "except RuntimeError:\n"
                "    pass\n"
                "else:\n"
                "    raise AssertionError('a daemon thread in a strict interpreter')\n"
            )
            assert r.completed, r
        finally:
            c.close()
    assert EarlyInterpreters.for_line(parse(["run", "--shared-gil", "a.py"])) is None


def test_none_made_when_there_is_no_program():
    before = set(_names())
    spares = set(_lowlevel.spares())
    with EarlyInterpreters([], ISOLATED) as early:
        assert early.take("x") is None
    assert set(_lowlevel.spares()) == spares and set(_names()) == before


def test_the_spare_whose_name_is_taken_is_not_handed_over():
    taken = interpcli.create("early-taken")
    try:
        with EarlyInterpreters(["early-taken"], ISOLATED) as early:
            first = _spare_id(early, "early-taken")
            assert early.take("early-taken") is None  # the normal path then reports it
            assert first not in _lowlevel.spares()
    finally:
        taken.close()


def test_a_wait_cut_short_after_taking_its_lock_blocks_no_later_wait():
    """A Ctrl-C in the main thread just after a wait took one of the flags' locks (before
    giving it back) leaves that lock taken: the waits after it must not block on it."""
    with EarlyInterpreters(["early-c"], ISOLATED) as early:
        early._join("early-c")
        early._done["early-c"]._lock.acquire()  # what such an interrupted wait leaves
        c = early.take("early-c")  # would block forever otherwise
        assert c is not None
        c.close()


def test_a_keyboard_interrupt_leaves_without_waiting():
    early = EarlyInterpreters(["early-k"], ISOLATED)
    try:
        with early:
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert "early-k" not in early._taken  # left to the process's end
    early.close()
    assert "early-k" in early._taken


def test_without_a_new_thread_it_is_made_in_the_calling_thread(monkeypatch):
    from interpcli.cli import early as early_mod

    def refuse(function, args):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(early_mod, "start_raw_thread", refuse)
    with EarlyInterpreters(["early-nothread"], ISOLATED) as early:
        first = early._made["early-nothread"][0].id  # made already: no thread to wait for
        interp = early.take("early-nothread")
        assert interp is not None and interp.id == first
        interp.close()
