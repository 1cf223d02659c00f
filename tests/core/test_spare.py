"""The warm spare (interpcli._spare): from the second isolated create() on, the next
interpreter is made in the background and handed over by create(), as fresh as a new one:
invisible until taken, never used once the environment or the current directory changed,
ended before fork() and at exit, off with INTERP_SPARE=0. Each test runs in a fresh
process: the test process's own spare (it creates interpreters too) must not interfere."""

import os
import sys
import textwrap

import pytest

PRELUDE = """
import os, sys, time, interpcli
from interpcli import _lowlevel, _spare

def ready_spare():
    # the second create() starts the spare; wait (a join) until it is made
    interpcli.create().close()
    interpcli.create().close()
    assert len(_spare.maker._ready) == 1, "no spare started, or more than one"
    job = _spare.maker._ready[0]
    job.thread.join()
    assert _lowlevel.spares() == [job.id], (_lowlevel.spares(), job.id)
    return job.id
"""


def check(python, code, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("INTERP_SPARE", None)
    e.update(env or {})
    p = python(PRELUDE + textwrap.dedent(code), env=e, timeout=timeout)
    assert "Fatal Python error" not in p.stderr
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", p.stderr
    return p.stdout


def test_the_spare_is_taken_and_fast(python):
    out = check(
        python,
        """
        sid = ready_spare()
        t0 = time.perf_counter(); i = interpcli.create(); took = time.perf_counter() - t0
        assert i.id == sid and i.name.startswith("interp-"), (i, sid)
        assert i.run("import sys; x = 1").completed
        i.close()
        _spare.maker._ready[0].thread.join()         # the next spare, made meanwhile
        t0 = time.perf_counter(); _lowlevel.destroy(_lowlevel.create(True, "plain"))
        fresh = time.perf_counter() - t0
        assert took < fresh, (took, fresh)
        print("ok", round(took * 1e3, 2), round(fresh * 1e3, 2))
    """,
    )
    assert out.startswith("ok")


def test_a_spare_is_invisible_until_taken(python):
    check(
        python,
        """
        sid = ready_spare()
        assert [i.id for i in interpcli.list_all()] == [_lowlevel.main_id()]
        assert sid not in [iid for iid, *_ in _lowlevel.interpreters(True)]
        try:
            interpcli.Interpreter(sid)
        except interpcli.InterpreterNotFoundError:
            pass
        else:
            raise AssertionError("a spare can be looked up")
        try:
            _lowlevel.run(sid, b"x = 1", b"<t>", None, False)
        except interpcli.InterpreterNotFoundError:
            pass
        else:
            raise AssertionError("a spare can be run")
        # its name reserves nothing, and a given name is what the spare gets
        i = interpcli.create("chosen")
        assert (i.id, i.name) == (sid, "chosen")
        assert [x.name for x in interpcli.list_all()] == ["main", "chosen"]
        i.close()
    """,
    )


def test_a_taken_name_keeps_the_spare(python):
    check(
        python,
        """
        sid = ready_spare()
        a = interpcli.create("a")
        _spare.maker._ready[0].thread.join()
        sid = _spare.maker._ready[0].id
        try:
            interpcli.create("a")
        except interpcli.InterpreterBusyError as exc:
            assert "exists already" in str(exc)
        else:
            raise AssertionError("a name taken twice")
        assert [j.id for j in _spare.maker._ready] == [sid]
        assert interpcli.create("b").id == sid
    """,
    )


@pytest.mark.parametrize("change", ["setenv", "unsetenv", "putenv", "chdir"])
def test_a_changed_environment_gives_a_fresh_interpreter(python, tmp_path, change):
    os.environ["IC_SPARE_GONE"] = "1"
    try:
        check(
            python,
            f"""
            sid = ready_spare()
            change = {change!r}
            if change == "setenv":
                os.environ["IC_SPARE_X"] = "1"
            elif change == "unsetenv":
                del os.environ["IC_SPARE_GONE"]
            elif change == "putenv":
                os.putenv("IC_SPARE_X", "1")    # the C environment only
            else:
                os.chdir({str(tmp_path)!r})
            i = interpcli.create()
            assert i.id != sid
            r = i.run("import os, sys\\n"
                      "print(os.environ.get('IC_SPARE_X'), os.environ.get('IC_SPARE_GONE'),"
                      " os.getcwd())", capture_output=True)
            x, gone, cwd = r.stdout.split()
            if change in ("setenv", "putenv"):
                assert x == "1", r.stdout
            if change == "unsetenv":
                assert gone == "None", r.stdout
            if change == "chdir":
                assert cwd == {str(tmp_path)!r}, r.stdout
            i.close()
            # the discarded spare is ended (by the helper making the next one)
            _spare.maker._ready[0].thread.join()
            assert sid not in _lowlevel.spares()
            assert [x.id for x in interpcli.list_all()] == [_lowlevel.main_id()]
    """,
        )
    finally:
        del os.environ["IC_SPARE_GONE"]


def test_isolated_false_does_not_take_the_spare(python):
    check(
        python,
        """
        sid = ready_spare()
        i = interpcli.create(isolated=False)
        assert i.id != sid and i.isolated is False
        assert _spare.maker._ready[0].id == sid
        i.close()
    """,
    )


def test_ctrl_c_while_taking_gives_the_spare_back(python):
    check(
        python,
        """
        sid = ready_spare()
        real = _lowlevel.take_spare
        def interrupted(*a):
            raise KeyboardInterrupt
        _lowlevel.take_spare = interrupted
        try:
            interpcli.create()
        except KeyboardInterrupt:
            pass
        _lowlevel.take_spare = real
        assert [x.id for x in interpcli.list_all()] == [_lowlevel.main_id()]
        assert _lowlevel.spares() == [sid]
        assert interpcli.create().id == sid
    """,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="fork")
@pytest.mark.parametrize("state", ["ready", "in flight"])
def test_fork_after_closing_every_interpreter(python, state):
    """Forking with a live subinterpreter crashes the child (3.13-3.15): the spare, made
    or being made, is ended before the fork; the threads too (no fork warning)."""
    check(
        python,
        f"""
        import multiprocessing as mp, warnings
        warnings.simplefilter("error")
        if {state!r} == "ready":
            ready_spare()
        else:
            for _ in range(3):
                interpcli.create().close()
            assert _spare.maker._ready
        def child():
            i = interpcli.create()
            assert i.run("x = 1").completed
            i.close()
        pid = os.fork()
        if pid == 0:
            try:
                child()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert _lowlevel.spares() == []
        p = mp.get_context("fork").Process(target=child)
        p.start(); p.join()
        assert p.exitcode == 0, p.exitcode
        # spares come back after the fork
        interpcli.create().close()
        assert _spare.maker._ready
    """,
    )


@pytest.mark.parametrize("state", ["ready", "in flight", "taken and left open"])
def test_exit_with_a_spare_is_clean(python, state):
    check(
        python,
        f"""
        state = {state!r}
        if state == "ready":
            ready_spare()
        elif state == "in flight":
            interpcli.create(); interpcli.create()
            assert _spare.maker._ready and _spare.maker._ready[0].thread.is_alive()
        else:
            ready_spare()
            keep = interpcli.create()
        print("done")
    """,
    )


def test_interp_spare_0_turns_it_off(python):
    out = check(
        python,
        """
        for _ in range(4):
            interpcli.create().close()
        import threading
        assert _spare.maker._ready == [] and _lowlevel.spares() == []
        assert not [t for t in threading.enumerate() if t.name == "interpcli-spare"]
        print("off")
    """,
        env={"INTERP_SPARE": "0"},
    )
    assert out == "off\n"


def test_two_spares_side_by_side_while_the_caller_outruns_one(python):
    """A create() that had to wait for the spare in the making (a loop of create and
    close) makes the next two side by side, and a helper that made one begins the next at
    once: two in the making and one made ahead at most. Once the caller finds two made (it
    slowed down), one is kept again. Each is still handed over fresh and in order."""
    out = check(
        python,
        """
        if _spare.MAX_DEPTH < 2:
            print("one core"); raise SystemExit
        ready_spare()
        a = interpcli.create()              # takes the made spare, starts the next
        assert len(_spare.maker._ready) == 1 and not _spare.maker._ready[0].made.is_set()
        b = interpcli.create()              # waits for it: the caller outruns one helper
        assert _spare.maker._depth == 2
        assert 2 <= len(_spare.maker._ready) <= 3, _spare.maker._ready
        for thread in list(_spare.maker._threads):
            thread.join()                   # each made its spare, then one more: three
        made = [job.id for job in _spare.maker._ready]
        assert len(made) == 3 and None not in made, made
        assert sorted(_lowlevel.spares()) == sorted(made)
        c = interpcli.create()              # two made ahead: one is enough again
        assert c.id == made[0] and _spare.maker._depth == 1
        assert [j.id for j in _spare.maker._ready] == made[1:]
        assert not any(t.is_alive() for t in _spare.maker._threads)     # none more begun
        for i in (a, b, c):
            assert i.run("x = 1").completed
            i.close()
        assert [interpcli.create().id for _ in range(2)] == made[1:]
        print("ok")
    """,
    )
    assert out in ("ok\n", "one core\n")


def test_the_exit_does_not_wait_on_a_lock_an_interrupted_wait_kept(python):
    """A Ctrl-C just after create() took a helper's lock while waiting for the spare left
    that lock taken; the exit shutdown then waited on it forever (found on 3.12 under
    load). The helper's end is a mark looked at first, so neither the next create() nor
    the exit blocks."""
    out = check(
        python,
        """
        ready_spare()
        job = _spare.maker._ready[0]
        job.made._lock.acquire()            # what the interrupted waits leave behind
        job.thread._done._lock.acquire()
        i = interpcli.create()              # waits for that spare: returns at once
        assert job.thread.finished()
        i.close()
        print("ok")
    """,
        timeout=60,
    )
    assert out == "ok\n"
