"""interpcli.interpreters queues: PEP 734's Queue, across interpreters, without polling."""

import pickle
import queue as stdqueue
import threading
import time

import pytest

from interpcli import interpreters
from interpcli.interpreters import _queues
from interpcli.interpreters._queues import (
    UNBOUND,
    UNBOUND_ERROR,
    UNBOUND_REMOVE,
    ItemInterpreterDestroyed,
    QueueEmpty,
    QueueFull,
)


def test_create_and_attributes():
    q = interpreters.create_queue()
    assert q.maxsize == 0 and q.unbounditems is UNBOUND
    q2 = interpreters.create_queue(5, unbounditems=UNBOUND_ERROR)
    assert q2.maxsize == 5 and q2.unbounditems is UNBOUND_ERROR
    assert q.id != q2.id
    assert interpreters.Queue(q.id) is q
    assert pickle.loads(pickle.dumps(q)) is q
    assert repr(q) == f"Queue({q.id})"
    assert q == interpreters.Queue(q.id) and q != q2
    assert q in _queues.list_all()
    with pytest.raises(TypeError):
        interpreters.Queue("1")
    with pytest.raises(_queues.QueueNotFoundError):
        interpreters.Queue(10**9)
    with pytest.raises(NotImplementedError):
        interpreters.create_queue(unbounditems=object())
    assert issubclass(QueueEmpty, stdqueue.Empty) and issubclass(QueueFull, stdqueue.Full)
    assert issubclass(ItemInterpreterDestroyed, _queues.QueueError)


def test_put_get_fifo_and_objects():
    q = interpreters.create_queue()
    items = [None, True, 1, 2**100, 1.5, "s", b"b", (1, ("x", None)), [1, 2], {"a": {1}}, q]
    assert q.empty()
    for item in items:
        q.put(item)
    assert q.qsize() == len(items) and not q.empty() and not q.full()
    got = [q.get() for _ in items]
    assert got[:-1] == items[:-1] and got[-1] is q
    assert q.empty()
    with pytest.raises(QueueEmpty):
        q.get_nowait()
    with pytest.raises(QueueEmpty):
        q.get(block=False)


def test_memoryview_item_is_shared():
    q = interpreters.create_queue()
    buf = bytearray(b"abc")
    sent = memoryview(buf)
    q.put(sent)
    mv = q.get()
    # in the same interpreter: a writable view of its own onto the same memory
    assert isinstance(mv, memoryview) and mv is not sent and not mv.readonly
    assert bytes(mv) == b"abc"
    buf[0:1] = b"z"
    assert bytes(mv) == b"zbc"  # the same memory, not a copy
    mv.release()
    assert bytes(sent) == b"zbc"  # releasing it left the sender's view alone
    # in another interpreter: read-only
    interp = interpreters.create()
    try:
        interp.prepare_main(q=q)
        q.put(sent)
        assert interp.call(eval, "(lambda v: (v.readonly, bytes(v)))(q.get())") == (True, b"zbc")
    finally:
        interp.close()


def test_maxsize_full_and_timeouts():
    q = interpreters.create_queue(2)
    q.put(1)
    q.put_nowait(2)
    assert q.full() and q.qsize() == 2
    with pytest.raises(QueueFull):
        q.put_nowait(3)
    with pytest.raises(QueueFull):
        q.put(3, block=False)
    t0 = time.monotonic()
    with pytest.raises(QueueFull):
        q.put(3, timeout=0.2)
    assert 0.15 < time.monotonic() - t0 < 10
    assert q.get() == 1
    q.put(3)
    assert [q.get(), q.get()] == [2, 3]
    t0 = time.monotonic()
    with pytest.raises(QueueEmpty):
        q.get(timeout=0.2)
    assert 0.15 < time.monotonic() - t0 < 10
    with pytest.raises(ValueError):
        q.get(timeout=-1)


def test_blocked_put_wakes_on_get():
    q = interpreters.create_queue(1)
    q.put("first")
    done = threading.Event()

    def putter():
        q.put("second")
        done.set()

    t = threading.Thread(target=putter)
    t.start()
    assert not done.wait(0.2)
    assert q.get() == "first"
    assert done.wait(30)
    assert q.get(timeout=30) == "second"
    t.join()


def test_many_blocked_putters_and_getters():
    q = interpreters.create_queue(2)
    out = interpreters.create_queue()
    n, per = 4, 50

    def putter(k):
        for i in range(per):
            q.put((k, i))

    def getter():
        for _ in range(per):
            out.put(q.get(timeout=60))

    threads = [threading.Thread(target=putter, args=(k,)) for k in range(n)]
    threads += [threading.Thread(target=getter) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    got = sorted(out.get_nowait() for _ in range(n * per))
    assert got == sorted((k, i) for k in range(n) for i in range(per))
    assert q.empty()


def test_blocked_get_costs_no_cpu():
    q = interpreters.create_queue()
    t = threading.Thread(target=q.get)
    t.start()
    time.sleep(0.05)
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(0.5)
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    q.put(None)
    t.join(30)
    assert cpu < wall * 0.2, f"a thread blocked in get() burned {cpu:.3f}s of CPU"


def test_queue_across_interpreters(interp):
    q = interpreters.create_queue()
    back = interpreters.create_queue()
    interp.prepare_main(q=q, back=back)
    t = threading.Thread(
        target=interp.exec,
        args=(
            """if True:
        while True:
            item = q.get()
            if item is None:
                break
            back.put((item, type(item).__name__))
        """,
        ),
    )
    t.start()
    for item in (1, "two", (3,), [4], {"five": 5}):
        q.put(item)
        assert back.get(timeout=30) == (item, type(item).__name__)
    q.put(None)
    t.join(30)


def test_queue_made_inside_a_subinterpreter_crosses_back(interp):
    made = interp.call(_make_queue_with_items)
    assert isinstance(made, interpreters.Queue)
    assert made.maxsize == 3
    assert [made.get_nowait(), made.get_nowait()] == ["a", "b"]
    # a queue whose only other reference was in flight survives the trip
    q = interpreters.create_queue()
    interp.call(_put_fresh_queue, q)
    inner = q.get(timeout=30)
    assert inner.get_nowait() == "inside"


def _make_queue_with_items():
    from interpcli import interpreters

    q = interpreters.create_queue(3)
    q.put("a")
    q.put("b")
    return q


def _put_fresh_queue(q):
    from interpcli import interpreters

    inner = interpreters.create_queue()
    inner.put("inside")
    q.put(inner)


def _fill(interp, q, ops):
    interp.prepare_main(q=q)
    src = "from interpcli.interpreters import _queues\n"
    for value, op in ops:
        kw = "" if op is None else f", unbounditems=_queues.{op}"
        src += f"q.put({value!r}{kw})\n"
    interp.exec(src)


def test_unbound_default_error_and_remove():
    q = interpreters.create_queue()
    q.put("main-1")
    i = interpreters.create()
    _fill(
        i,
        q,
        [
            ("u1", None),
            ("u2", "UNBOUND"),
            ("e", "UNBOUND_ERROR"),
            ("r", "UNBOUND_REMOVE"),
            ("u3", None),
        ],
    )
    q.put("main-2")
    assert q.qsize() == 7
    assert q.get() == "main-1"
    i.close()
    assert q.qsize() == 5  # the UNBOUND_REMOVE item is gone
    assert q.get() is UNBOUND
    assert q.get() is UNBOUND
    with pytest.raises(ItemInterpreterDestroyed):
        q.get()
    assert q.get() is UNBOUND  # "r" was removed
    assert q.get() == "main-2"
    assert q.empty()


def test_unbound_queue_defaults():
    for default, expect in (
        (UNBOUND_ERROR, ItemInterpreterDestroyed),
        (UNBOUND_REMOVE, QueueEmpty),
    ):
        q = interpreters.create_queue(unbounditems=default)
        i = interpreters.create()
        _fill(i, q, [("x", None)])
        i.close()
        with pytest.raises(expect):
            q.get_nowait()


def test_unbound_remove_frees_room_in_a_full_queue():
    q = interpreters.create_queue(1, unbounditems=UNBOUND_REMOVE)
    i = interpreters.create()
    _fill(i, q, [("gone", None)])
    assert q.full()
    i.close()
    assert not q.full()
    q.put("next", timeout=10)
    assert q.get_nowait() == "next"


def test_items_of_a_live_interpreter_stay_bound(interp):
    q = interpreters.create_queue(unbounditems=UNBOUND_ERROR)
    _fill(interp, q, [("alive", None)])
    assert q.get_nowait() == "alive"


def test_stress_then_exit_without_cleanup_does_not_crash():
    from helpers import run_python

    r = run_python(
        """
        import threading
        from interpcli import interpreters
        q = interpreters.create_queue(4)
        out = interpreters.create_queue()
        workers = [interpreters.create() for _ in range(3)]
        src = '''if True:
            while True:
                item = q.get()
                if item is None:
                    break
                out.put((item, memoryview(b'lent-' + str(item).encode())))
            '''
        threads = []
        for w in workers:
            w.prepare_main(q=q, out=out)
            t = threading.Thread(target=w.exec, args=(src,))
            t.start()
            threads.append(t)
        for i in range(300):
            q.put(i)
        got = sorted(out.get(timeout=60)[0] for _ in range(300))
        assert got == list(range(300)), got[:10]
        for _ in workers:
            q.put(None)
        for t in threads:
            t.join(60)
        workers[0].close()
        # leave the others, a queue item lent by a live one, and in-flight items behind
        workers[1].exec("out.put(memoryview(b'left behind')); q.put(q)")
        print("ok")
    """,
        timeout=120,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_closing_an_interpreter_with_lent_items_in_flight():
    from helpers import run_python

    r = run_python(
        """
        from interpcli import interpreters
        from interpcli.interpreters import _queues
        q = interpreters.create_queue()
        w = interpreters.create()
        w.prepare_main(q=q)
        w.exec('''if True:
            from interpcli import interpreters
            from interpcli.interpreters import _queues
            q.put(memoryview(b'only lent'))       # lent on a channel only the item holds
            q.put(interpreters.create_queue())    # a queue only the item holds
            q.put(memoryview(b'error'), unbounditems=_queues.UNBOUND_ERROR)
            ''')
        w.close()
        assert q.get_nowait() is _queues.UNBOUND
        assert q.get_nowait() is _queues.UNBOUND
        try:
            q.get_nowait()
        except _queues.ItemInterpreterDestroyed:
            print("ok")
    """,
        timeout=60,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_interrupting_queue_users_never_blocks_the_queue():
    import interpcli

    q = interpreters.create_queue(3)
    w = interpreters.create()
    w.prepare_main(q=q)
    base = interpcli.Interpreter(w.id)
    busy = "while True:\n    q.put(1)\n    q.qsize()\n    q.get()\n"
    for _ in range(25):
        r = base.run(busy, timeout=0.01)
        assert r.timed_out and r.exc_type == "TimeoutError", (r.exc_type, r.exc_message)
        # the state went back each time (a lost one fails here, not hangs the queue's
        # users); at most the one item put just before the interrupt is left
        q._s.send_nowait(q._s.recv(timeout=10))
        n = q.qsize()
        assert n in (0, 1)
        while n:
            q.get(timeout=10)
            n -= 1
    while True:  # an interrupt between sending an item and counting it leaves it here
        try:
            q.get_nowait()
        except QueueEmpty:
            break
    q.put("still works", timeout=10)
    assert q.get(timeout=10) == "still works"
    w.close()


def test_an_exception_after_any_call_in_the_queue_code_keeps_the_queue_usable():
    """An asynchronous exception (an interrupt) fires only as a call returns: strike
    after each call of put/qsize/get in turn; the queue's state must always go back
    (no later user waits for it forever) and its count must match its items."""
    from helpers import run_python

    r = run_python(
        """
        import dis, sys
        from interpcli import interpreters
        from interpcli.interpreters import QueueEmpty

        class Strike(BaseException):
            pass

        _points = {}
        def points(code):
            # the instructions right after a call: where a pending interrupt fires
            try:
                return _points[code]
            except KeyError:
                ins = list(dis.get_instructions(code))
                table = dis.Bytecode(code).exception_entries
                def handler(offset):
                    return next((e.target for e in table if e.start <= offset < e.end), None)
                # (one in another handler's range, as a try's last call, would be struck
                # where the real exception cannot be: leave it out)
                pts = {b.offset for a, b in zip(ins, ins[1:])
                       if a.opname.startswith("CALL") and handler(a.offset) == handler(b.offset)}
                _points[code] = pts
                return pts

        q = interpreters.create_queue(3)
        actions = [lambda: q.put(1), q.qsize, q.get, lambda: q.put_nowait(2),
                   q.get_nowait, q.empty]
        struck = 0
        for action in actions:
            n = 0
            while True:
                n += 1
                seen = [0]
                def tracer(frame, event, arg):
                    if not frame.f_code.co_filename.endswith(("_queuestate.py", "_queues.py")):
                        return None
                    frame.f_trace_opcodes = True
                    if event == "opcode" and frame.f_lasti in points(frame.f_code):
                        seen[0] += 1
                        if seen[0] == n:
                            raise Strike
                    return tracer
                q.put(0)        # something to get
                sys.settrace(tracer)
                try:
                    action()
                except Strike:
                    struck += 1
                finally:
                    sys.settrace(None)
                try:
                    state = q._s.recv(timeout=5)
                except Exception:
                    sys.exit(f"state lost: {action} struck after call {n}")
                q._s.send_nowait(state)
                items = 0
                while True:
                    try:
                        q._i.recv_nowait()
                    except Exception:
                        break
                    items += 1
                count = q.qsize()
                # at most the one item in flight as the strike came is miscounted
                if not -1 <= count - items <= 1:
                    sys.exit(f"count {count} for {items} items: {action} call {n}")
                while q.qsize():    # the items are gone: bring the count down to match
                    q._account(0, 0, [])
                if seen[0] < n:
                    break       # no call left to strike after
        assert struck > 30, struck
        q.put("still works", timeout=5)
        assert q.get(timeout=5) == "still works"
        print("ok", struck)
    """,
        timeout=60,
    )
    assert "Fatal Python error" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok"), r.stdout


def test_a_putter_interrupted_as_it_is_woken_passes_the_wake_up_on():
    """A put() woken by a get and interrupted before it puts must wake the next waiting
    putter in its place (no get would, the room being there already)."""
    from helpers import run_python

    r = run_python(
        """
        import sys
        from interpcli import interpreters
        from interpcli.interpreters import _queues

        class Strike(BaseException):
            pass

        def strike_after_wake_up(where):
            # where 0: as the wake-up returns; 1: as put() goes on to put
            calls = []
            def profiler(frame, event, arg):
                code = frame.f_code
                if event == "c_call" and not calls and code is _queues.Queue.put.__code__ \
                        and (getattr(arg, "__self__", None) is q._w
                             or getattr(arg, "__name__", "") == "extend"):
                    calls.append(arg)
                    q.get_nowait()      # room: one waiting putter is woken
                elif where == 0 and event == "c_return" and calls == [arg]:
                    calls.append(arg)
                    raise Strike
                elif where == 1 and event == "c_call" and len(calls) == 1 \
                        and code is type(q)._try_put.__code__:
                    calls.append(arg)
                    raise Strike
            sys.setprofile(profiler)
            try:
                q.put("a")
            except Strike:
                pass
            finally:
                sys.setprofile(None)
            assert len(calls) == 2, "put never waited"
            # the other putter must be woken now: there is room and nobody else will
            if q._w.recv_nowait(None) is None:
                return f"{where}: no wake-up for the other waiting putter"
            assert q.qsize() == 0

        q = interpreters.create_queue(1)
        m, lent = q._encode("b", q._op, None)
        lost = []
        for where in (0, 1):
            q.put("full")
            assert not q._try_put(m, lent, q._op, wait=True)    # another waiting putter
            lost.append(strike_after_wake_up(where))
            q._try_unregister()
        print("ok" if lost == [None, None] else lost)
    """,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok", r.stdout


def test_maxsize_kept_as_given_and_checked():
    q = interpreters.create_queue(-10)  # <= 0: no limit, shown as given (as in CPython)
    assert q.maxsize == -10 and not q.full()
    for i in range(3):
        q.put_nowait(i)
    assert q.qsize() == 3
    with pytest.raises(TypeError):
        interpreters.create_queue("1")


def test_cpython_crossinterp_names():
    from interpcli.interpreters import _crossinterp

    flags = _crossinterp._UNBOUND_CONSTANT_TO_FLAG
    assert flags[_crossinterp.UNBOUND] == 3 and flags[_crossinterp.UNBOUND_REMOVE] == 1
    assert _crossinterp._UNBOUND_FLAG_TO_CONSTANT[2] is _crossinterp.UNBOUND_ERROR


def test_python_313_keywords(interp):
    """3.13's queue API: syncobj= (only shareable objects) and unbound= for unbounditems."""
    q = interpreters.create_queue(syncobj=True)
    with pytest.raises(interpreters.NotShareableError):
        q.put([1, 2])  # the queue's default
    q.put([1, 2], syncobj=False)
    assert q.get_nowait() == [1, 2]
    q2 = interpreters.create_queue()
    q2.put(b"x", syncobj=True)
    with pytest.raises(interpreters.NotShareableError):
        q2.put_nowait({}, syncobj=True)
    assert q2.get() == b"x"
    # the default travels with the queue to other interpreters
    interp.prepare_main(q=q)
    interp.exec(
        "import interpcli.interpreters as i\n"
        "try:\n    q.put([3])\nexcept i.NotShareableError:\n    q.put(b'refused')"
    )
    assert q.get(timeout=5) == b"refused"
    interp.exec("q.put(b'gone', unbound=i._queues.UNBOUND_REMOVE)")
    interp.close()
    assert q.empty()
    with pytest.raises(TypeError):
        q2.put(1, unbound=UNBOUND, unbounditems=UNBOUND)
