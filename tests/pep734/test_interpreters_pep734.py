"""interpcli.interpreters: PEP 734's module functions and Interpreter class."""

import gc
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import pytest
from helpers import run_python

from interpcli import interpreters
from interpcli.interpreters import ExecutionFailed, Interpreter


def spam(a, b=2, *, c=3):
    return a + b + c


def raiser(msg):
    raise ValueError(msg)


def test_module_functions(interp):
    main = interpreters.get_main()
    assert main.id == 0 and main.whence == "runtime init"
    assert interpreters.get_current() is main
    assert interp.whence == "_interpreters module"
    ids = [i.id for i in interpreters.list_all()]
    assert ids[0] == 0 and interp.id in ids
    assert interpreters.list_all()[-1] is Interpreter(interp.id)
    assert sorted(interpreters.__all__) == sorted(
        [
            "get_current",
            "get_main",
            "create",
            "list_all",
            "is_shareable",
            "Interpreter",
            "InterpreterError",
            "InterpreterNotFoundError",
            "ExecutionFailed",
            "NotShareableError",
            "create_queue",
            "Queue",
            "QueueEmpty",
            "QueueFull",
        ]
    )


def test_interpreter_identity_equality_pickle(interp):
    same = Interpreter(interp.id)
    assert same is interp
    assert same == interp and hash(same) == hash(interp)
    assert interp != interpreters.get_main()
    assert pickle.loads(pickle.dumps(interp)) is interp
    assert repr(interp) == f"Interpreter({interp.id})"
    with pytest.raises(TypeError):
        Interpreter("1")
    with pytest.raises(interpreters.InterpreterNotFoundError):
        Interpreter(10**9)


def test_errors_hierarchy():
    assert issubclass(interpreters.ExecutionFailed, interpreters.InterpreterError)
    assert issubclass(interpreters.InterpreterNotFoundError, interpreters.InterpreterError)
    assert issubclass(interpreters.NotShareableError, ValueError)


def test_is_running_and_close(interp):
    assert not interp.is_running()
    rq = interpreters.create_queue()
    gq = interpreters.create_queue()
    interp.prepare_main(rq=rq, gq=gq)
    t = interp.call_in_thread(_wait_for_go, rq, gq)
    assert rq.get(timeout=30) == "started"
    assert interp.is_running()
    with pytest.raises(interpreters.InterpreterError):
        interp.close()
    gq.put("go")
    t.join(30)
    assert not interp.is_running()
    interp.close()
    assert interp.id not in [i.id for i in interpreters.list_all()]
    with pytest.raises(interpreters.InterpreterNotFoundError):
        interp.is_running()
    with pytest.raises(interpreters.InterpreterNotFoundError):  # as in 3.14
        interp.close()
    assert interpreters.get_main().is_running()  # the main one runs the program
    assert interpreters.get_current().is_running()
    with pytest.raises(ValueError):
        Interpreter(-1)


def _wait_for_go(rq, gq):
    rq.put("started")
    return gq.get()


def test_main_cannot_be_closed():
    with pytest.raises(interpreters.InterpreterError):
        interpreters.get_main().close()


def test_dropping_the_created_object_closes_it():
    iid = interpreters.create().id
    gc.collect()
    assert iid not in [i.id for i in interpreters.list_all()]


def test_prepare_main_shareable(interp):
    buf = bytearray(b"lent")
    interp.prepare_main(
        {"a": 1, "b": "s"}, c=(1, 2.5, None, True), d=b"x", e=10**30, m=memoryview(buf)
    )
    assert interp.call(_main_values) == (1, "s", (1, 2.5, None, True), b"x", 10**30, b"lent", True)


def _main_values():
    import __main__ as m

    return (m.a, m.b, m.c, m.d, m.e, bytes(m.m), m.m.readonly)


def test_prepare_main_refuses(interp):
    with pytest.raises(ValueError):
        interp.prepare_main()
    with pytest.raises(interpreters.NotShareableError):
        interp.prepare_main(lock=threading.Lock())
    # only shareable objects, as in 3.14; none is bound when one is not
    with pytest.raises(interpreters.NotShareableError):
        interp.prepare_main(ok=1, spam={"spam": "eggs"})
    for name in ("ok", "spam"):
        with pytest.raises(ExecutionFailed):
            interp.exec(f"print({name})")


def test_exec_and_execution_failed(interp):
    interp.exec("x = 40")
    interp.exec("x += 2")
    assert interp.call(_get_x) == 42
    with pytest.raises(ExecutionFailed) as info:
        interp.exec("1/0")
    ei = info.value.excinfo
    assert ei.type.__name__ == "ZeroDivisionError"
    assert ei.type.__qualname__ == "ZeroDivisionError"
    assert ei.type.__module__ == "builtins"
    assert ei.msg == "division by zero"
    assert ei.formatted == "ZeroDivisionError: division by zero"
    assert ei.errdisplay == (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "ZeroDivisionError: division by zero"
    )
    text = str(info.value)
    assert text.startswith("ZeroDivisionError: division by zero")
    assert "Uncaught in the interpreter:" in text
    assert pickle.loads(pickle.dumps(info.value)).excinfo == ei


def _get_x():
    import __main__

    return __main__.x


def test_exec_custom_exception_syntax_error_and_exit(interp):
    with pytest.raises(ExecutionFailed) as info:
        interp.exec("class Boom(Exception): pass\nraise Boom('b')")
    assert info.value.excinfo.type.__module__ == "__main__"
    assert info.value.excinfo.formatted == "Boom: b"
    with pytest.raises(ExecutionFailed) as info:
        interp.exec("def (")
    assert info.value.excinfo.type.__name__ == "SyntaxError"
    with pytest.raises(ExecutionFailed) as info:
        interp.exec("raise SystemExit(3)")
    assert info.value.excinfo.type.__name__ == "SystemExit"
    interp.exec("y = 1")  # still usable


def test_exec_function_and_code(interp):
    def body():
        global z
        z = 5

    interp.exec(body)
    interp.exec(compile("w = z * 2", "<x>", "exec"))
    assert interp.call(_get, "w") == 10
    with pytest.raises(ValueError):
        interp.exec(spam)
    with pytest.raises(TypeError):
        interp.exec(42)


def _get(name):
    import __main__

    return getattr(__main__, name)


def test_call_returns_values(interp):
    assert interp.call(spam, 1) == 6
    assert interp.call(spam, 1, 10, c=100) == 111
    assert interp.call(pow, 2, 10) == 1024
    assert interp.call(len, [1, 2, 3]) == 3
    assert interp.call(lambda: "lam") == "lam"  # stateless: crosses as its code
    k = 7
    with pytest.raises(interpreters.NotShareableError):
        interp.call(lambda x: x * k, 6)  # a closure does not cross (3.14)
    assert interp.call(dict, a=[1]) == {"a": [1]}
    assert interp.call(_current_id) == interp.id
    interp.exec("def triple(x): return 3 * x")
    assert interp.call(eval, "triple(4)") == 12  # builtins act on __main__


def _current_id():
    return interpreters.get_current().id


def test_call_failures(interp):
    with pytest.raises(ExecutionFailed) as info:
        interp.call(raiser, "bad")
    assert info.value.excinfo.type.__name__ == "ValueError"
    assert info.value.excinfo.msg == "bad"
    assert "raiser" in info.value.excinfo.errdisplay
    assert "_worker" not in info.value.excinfo.errdisplay  # our frames are left out
    with pytest.raises(interpreters.NotShareableError):
        interp.call(spam, threading.Lock())
    with pytest.raises(interpreters.NotShareableError):
        interp.call(threading.Lock)  # the result does not cross
    with pytest.raises(TypeError):
        interp.call(42)


def test_call_in_thread(interp):
    q = interpreters.create_queue()
    t = interp.call_in_thread(_put_in, q, "hello")
    assert isinstance(t, threading.Thread)
    t.join(30)
    assert q.get_nowait() == "hello"


def _put_in(q, v):
    q.put(v)


def test_is_shareable():
    q = interpreters.create_queue()
    from interpcli.interpreters import channels

    r, s = channels.create()
    import interpcli

    cr, cs = interpcli.create_channel()
    for obj in (
        None,
        True,
        1,
        10**40,
        2.5,
        "s",
        b"b",
        (1, ("a", None)),
        memoryview(b"x"),
        q,
        r,
        s,
        cr,
        cs,
    ):
        assert interpreters.is_shareable(obj), obj
    for obj in ([1], {}, bytearray(), object(), (1, [2]), 1j, interpreters.get_main()):
        assert not interpreters.is_shareable(obj), obj


def test_inside_a_subinterpreter(interp):
    interp.exec("""if True:
        from interpcli import interpreters
        cur = interpreters.get_current()
        assert cur.whence == '_interpreters module', cur.whence
        assert interpreters.get_main().id == 0
        assert cur in interpreters.list_all()
        # created, run and closed from here, as in 3.14 (the main interpreter does it)
        inner = interpreters.create()
        assert inner.whence == '_interpreters module'
        inner.prepare_main(x=21)
        assert inner.call(eval, 'x * 2') == 42
        inner.exec('import sys; y = 1')
        try:
            inner.exec('raise KeyError(7)')
        except interpreters.ExecutionFailed as exc:
            assert exc.excinfo.type.__name__ == 'KeyError'
        else:
            raise AssertionError('no ExecutionFailed')
        assert inner in interpreters.list_all()
        inner.close()
        assert inner not in interpreters.list_all()
        for action in (inner.close, lambda: inner.exec('1')):
            try:
                action()
            except interpreters.InterpreterNotFoundError:
                pass
            else:
                raise AssertionError('closed twice')
        kept = interpreters.create()
        """)
    # one made inside lives on (the main one, or exit, closes it)
    kept = interpreters.Interpreter(interp.call(eval, "kept.id"))
    assert kept in interpreters.list_all() and kept.call(eval, "1 + 1") == 2
    kept.close()


def test_interpreter_crosses_by_id(interp):
    assert interp.call(_ident, interpreters.get_main()) == 0
    assert interp.call(_ident, interp) == interp.id


def _ident(i):
    assert isinstance(i, Interpreter)
    return i.id


def test_process_exit_with_live_interpreters_does_not_crash():
    r = run_python("""
        from interpcli import interpreters
        keep = [interpreters.create() for _ in range(3)]
        q = interpreters.create_queue()
        keep[0].prepare_main(q=q)
        keep[0].exec("q.put(b'x' * 10); q.put(memoryview(b'lent'))")
        t = keep[1].call_in_thread(sum, [1, 2])
        t.join()
        print(q.get(), bytes(q.get()))
    """)
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "b'xxxxxxxxxx' b'lent'"
    # as CPython does from 3.14 on: a warning (once) about the interpreters left open
    warned = 1 if sys.version_info >= (3, 14) else 0
    assert (
        r.stderr.count(
            "RuntimeWarning: remaining subinterpreters; close them with Interpreter.close()"
        )
        == warned
    ), r.stderr
    assert "Traceback" not in r.stderr
    r = run_python("""
        from interpcli import interpreters
        interpreters.create().close()
        interpreters.create()       # collected at once: closed, no warning
    """)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_api_surface_matches_cpython_3_13():
    pytest.importorskip("test.support.interpreters.queues")  # 3.13 (3.12's is older)
    from test.support import interpreters as stdlib
    from test.support.interpreters import channels as std_channels
    from test.support.interpreters import queues as std_queues

    from interpcli.interpreters import _queues, channels

    for name in stdlib.__all__:
        assert hasattr(interpreters, name), name
    for name in (
        "id",
        "whence",
        "is_running",
        "close",
        "prepare_main",
        "exec",
        "call",
        "call_in_thread",
    ):
        assert hasattr(stdlib.Interpreter, name) and hasattr(Interpreter, name), name
    for name in std_queues.__all__:
        assert hasattr(_queues, name), name
    for name in (
        "put",
        "put_nowait",
        "get",
        "get_nowait",
        "empty",
        "full",
        "qsize",
        "maxsize",
        "id",
    ):
        assert hasattr(interpreters.Queue, name), name
    for name in std_channels.__all__:
        assert hasattr(channels, name), name
    for end, std_end in (
        (channels.RecvChannel, std_channels.RecvChannel),
        (channels.SendChannel, std_channels.SendChannel),
    ):
        public = {n for n in dir(std_end) if not n.startswith("_")}
        assert public <= set(dir(end)), public - set(dir(end))


def test_ctrl_c_interrupts_exec_in_the_main_thread():
    r = run_python(
        """
        import signal, threading
        from interpcli import interpreters
        interp = interpreters.create()
        main = threading.main_thread().ident      # Ctrl-C reaches the main thread
        threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT)).start()
        try:
            interp.exec("while True: pass")
        except KeyboardInterrupt:
            print("interrupted")
        interp.exec("x = 1")
        print(interp.call(eval, "1 + 1"))
    """,
        timeout=60,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["interrupted", "2"]


# -- call() as in 3.14: stateless functions, functions of __main__, builtins --


def test_stateless_function_runs_in_main(interp):
    def set_global(name, value):  # no closure, no defaults, only builtins
        globals()[name] = value

    def get_global(name):
        return globals().get(name)

    assert interp.call(get_global, "__name__") == "__main__"
    interp.call(set_global, "spam", 42)
    interp.exec("assert spam == 42")
    assert interp.call(get_global, "spam") == 42
    back = interp.call(_returns_stateless)  # a stateless result crosses back too
    assert back(5) == 5 and back.__closure__ is None


def _returns_stateless():
    return lambda x: x


def test_builtins_act_on_main(interp):
    names = interp.call(dir)
    assert "__builtins__" in names and "__name__" in names
    assert not any(n.startswith("__interpcli") for n in names)
    interp.prepare_main(spam=1)
    assert interp.call(dir) == sorted(names + ["spam"])
    assert interp.call(eval, "spam + 1") == 2
    interp.call(exec, "eggs = spam * 3")
    assert interp.call(eval, "eggs") == 3
    for func in (globals, locals, vars):  # results that do not cross
        with pytest.raises(interpreters.NotShareableError):
            interp.call(func)


def test_exec_refuses_bytes(interp):
    with pytest.raises(TypeError):
        interp.exec(b"x = 1")


def test_functions_of_main_run_in_a_hidden_copy_of_the_script(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent("""
        count = 0

        def inc(x=1):
            global count
            count += x
            return __name__, count

        if __name__ == "__main__":
            from interpcli import interpreters
            interp = interpreters.create()
            print(interp.call(inc), interp.call(inc, 3), count)
            print(interp.call(eval, "'inc' in vars()"))
            exec("def added(): return count", globals())    # not in the script
            try:
                interp.call(added)
            except interpreters.NotShareableError:
                print("refused")
            interp.close()
    """)
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == [
        "('<fake __main__>', 1) ('<fake __main__>', 4) 0",
        "False",
        "refused",
    ]


def test_interpreters_made_elsewhere():
    """One made by CPython's _interpreters module (3.13+): found by id, with CPython's
    whence; interpcli never runs code in it or closes it; list_all() leaves it out."""
    _interpreters = pytest.importorskip("_interpreters")
    iid = _interpreters.create()
    try:
        interp = Interpreter(iid)
        assert interp.id == iid and interp.whence == "_interpreters module"
        assert not interp.is_running()
        for action in (
            lambda: interp.exec("x = 1"),
            lambda: interp.call(len, ()),
            lambda: interp.prepare_main(x=1),
            interp.close,
        ):
            with pytest.raises(interpreters.InterpreterError, match="unrecognized"):
                action()
        assert iid not in [i.id for i in interpreters.list_all()]
    finally:
        _interpreters.destroy(iid)
    with pytest.raises(interpreters.InterpreterNotFoundError):
        Interpreter(iid + 1000)


def test_ctrl_c_at_exit_with_a_call_in_thread_prints_no_channel_error():
    """Ctrl-C while the main thread waits at exit for a call_in_thread() blocked in C:
    the call ends with the run, never with our private channel's ChannelClosedError."""
    import signal

    code = textwrap.dedent("""
        from interpcli import interpreters

        def test():
            import time
            print('a', flush=True, end='')
            time.sleep(2)

        interp = interpreters.create()
        interp.call_in_thread(test)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, INTERP_GRACE="20"),
    )
    try:
        assert proc.stdout.read(1) == b"a"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert b"KeyboardInterrupt" in err
    assert b"ChannelClosedError" not in err, err.decode()
