"""The core in interpreters that interpcli did not make: the stdlib's (`_interpreters`,
`concurrent.interpreters`), isolated or shared-GIL. One registry: a channel made anywhere
is usable everywhere; ends and queues pickle by id; such interpreters are never ended by
interpcli. Each test runs in a fresh process: a crash there must not end the suite."""

import sys

import pytest

# the stdlib's low-level module: _xxsubinterpreters on 3.12, _interpreters from 3.13
STDLIB = "_interpreters" if sys.version_info >= (3, 13) else "_xxsubinterpreters"
CREATE = {
    "isolated": (
        "I.create('isolated')" if sys.version_info >= (3, 13) else "I.create(isolated=True)"
    ),
    "legacy": ("I.create('legacy')" if sys.version_info >= (3, 13) else "I.create(isolated=False)"),
}
EXEC = "I.exec" if sys.version_info >= (3, 13) else "I.run_string"


@pytest.mark.parametrize("kind", ["isolated", "legacy"])
def test_import_interpcli_in_a_stdlib_interpreter(python, kind):
    p = python(f"""
        import textwrap
        import {STDLIB} as I
        import interpcli
        from interpcli import interpreters
        recv, send = interpcli.create_channel()
        queue = interpreters.create_queue()
        sub = {CREATE[kind]}
        err = {EXEC}(sub, textwrap.dedent('''
            import interpcli, pickle
            from interpcli import interpreters
            # a channel made by main, an end rebuilt here by id
            out = pickle.loads({{send!r}})
            # a channel made here, used from main
            mine_recv, mine_send = interpcli.create_channel()
            out.send_nowait(pickle.dumps(mine_recv))
            mine_send.send_nowait(b"made in the stdlib interpreter")
            q = pickle.loads({{queue!r}})
            q.put(("tuple", 1))
            assert interpcli.get_current().id != interpcli.get_main().id
            '''.format(send=__import__("pickle").dumps(send),
                       queue=__import__("pickle").dumps(queue))))
        assert err is None, err
        import pickle
        theirs = pickle.loads(recv.recv(timeout=10))
        assert theirs.recv(timeout=10) == b"made in the stdlib interpreter"
        assert queue.get(timeout=10) == ("tuple", 1)
        # interpcli never lists (or ends) an interpreter it did not make
        assert [i.id for i in interpcli.list_all()] == [interpcli.get_main().id]
        I.destroy(sub)
        print("ok")
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"
    assert "Fatal Python error" not in p.stderr


def test_ends_pickle_by_id():
    import pickle

    import interpcli

    recv, send = interpcli.create_channel()
    send2 = pickle.loads(pickle.dumps(send))
    recv2 = pickle.loads(pickle.dumps(recv))
    assert send2 == send and recv2 == recv and type(send2) is type(send)
    send2.send_nowait(b"x")
    assert recv2.recv() == b"x"


def test_stdlib_interpreter_left_alive_at_exit_is_not_ours_to_end(python):
    p = python(f"""
        import {STDLIB} as I
        import interpcli
        sub = {CREATE["isolated"]}
        {EXEC}(sub, "import interpcli; interpcli.create_channel()")
        interpcli.create().run("pass")
        print("ok")
    """)
    # 3.12 cannot finalize with a subinterpreter alive, whoever made it: the stdlib's
    # own interpreter left alive is the program's error there, not ours to end
    if sys.version_info >= (3, 13):
        assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"


@pytest.mark.skipif(sys.version_info < (3, 14), reason="concurrent.interpreters is 3.14+")
def test_concurrent_interpreters_carries_ends_and_queues(python):
    p = python("""
        import pickle
        from concurrent import interpreters as stdlib
        import interpcli
        from interpcli import interpreters
        recv, send = interpcli.create_channel()
        queue = interpreters.create_queue()
        sub = stdlib.create()

        def use(end, q):
            end.send_nowait(b"through call")
            q.put("queued")
            return end.id
        assert sub.call(use, send, queue) == send.id
        assert recv.recv(timeout=10) == b"through call"
        assert queue.get(timeout=10) == "queued"

        squeue = stdlib.create_queue()
        squeue.put(send)
        sub.prepare_main(sq=squeue)
        sub.exec("sq.get().send_nowait(b'through the stdlib queue')")
        assert recv.recv(timeout=10) == b"through the stdlib queue"

        # prepare_main takes only types registered through CPython's internal C API:
        # an end goes there pickled (README, "Differences")
        sub.prepare_main(out=pickle.dumps(send))
        sub.exec("import pickle; pickle.loads(out).send_nowait(b'through prepare_main')")
        assert recv.recv(timeout=10) == b"through prepare_main"
        sub.close()
        print("ok")
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"


def test_lifecycle_is_refused_in_a_stdlib_interpreter(python):
    p = python(f"""
        import textwrap
        import {STDLIB} as I
        import interpcli
        recv, send = interpcli.create_channel()
        sub = {CREATE["isolated"]}
        err = {EXEC}(sub, textwrap.dedent('''
            import interpcli, pickle
            end = pickle.loads({{end!r}})
            try:
                interpcli.create()
            except interpcli.InterpreterError as exc:
                end.send_nowait(str(exc).encode())
            '''.format(end=__import__("pickle").dumps(send))))
        assert err is None, err
        print(recv.recv(timeout=10).decode())
        I.destroy(sub)
    """)
    assert p.returncode == 0, p.stderr
    assert "only possible from the main interpreter" in p.stdout
