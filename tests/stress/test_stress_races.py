"""Races: closing a channel under blocked senders and receivers, interrupting interpreters
blocked on channels, closing an interpreter whose messages sit in a channel or are being
received, and lent memory outliving its sender. Every wait is bounded; nothing may hang,
crash or hand out memory of a closed interpreter."""

import random
import threading
import time

import pytest
from stress_util import Runner, report, scaled

import interpcli
from interpcli import _lowlevel

CLOSED = "interpcli.ChannelClosedError"


@pytest.fixture(scope="module")
def pool():
    interps = [interpcli.create(f"races-{k}") for k in range(6)]
    yield interps
    for i in interps:
        if i.is_alive():
            i.close()


def wait_ready(ready_r, n):
    for _ in range(n):
        ready_r.recv(timeout=60)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("end", ["send", "recv"])
def test_close_wakes_every_blocked_sender_and_receiver(pool, end):
    rounds = scaled(30, 3)
    rng = random.Random(6)
    woken = 0
    for _ in range(rounds):
        a_r, a_s = interpcli.create_channel()  # receivers block here
        b_r, b_s = interpcli.create_channel()  # senders block here
        ready_r, ready_s = interpcli.create_channel()
        runs = []
        for k, interp in enumerate(pool):
            code = "channels.ready.send_nowait(b'')\n" + (
                "channels.a.recv()\n" if k % 2 else "channels.b.send(b'x' * 100)\n"
            )
            runs.append(Runner(interp, code, channels={"a": a_r, "b": b_s, "ready": ready_s}))
        # blocked threads of the main interpreter too, on both channels
        outcomes = []

        def main_waiter(fn):
            try:
                fn()
                outcomes.append("returned")
            except interpcli.ChannelClosedError:
                outcomes.append("closed")

        threads = [
            threading.Thread(target=main_waiter, args=(fn,))
            for fn in (a_r.recv, lambda: b_s.send(b"y"), lambda: b_s.send_buffer(b"z"))
        ]
        for t in threads:
            t.start()
        wait_ready(ready_r, len(pool))
        time.sleep(rng.random() * 0.002)  # close races the waits being entered
        (a_s if end == "send" else a_r).close()
        (b_s if end == "send" else b_r).close()
        results = [r.result(60) for r in runs]
        for t in threads:
            t.join(60)
            assert not t.is_alive()
        assert [r.exc_type for r in results] == [CLOSED] * len(pool)
        assert outcomes == ["closed"] * 3
        woken += len(pool) + 3
        with pytest.raises(interpcli.ChannelClosedError):
            b_r.recv_nowait(None)  # withdrawn, never delivered
    report(f"close_wakes_blocked_{end}_end", rounds=rounds, waiters_woken=woken)


SENDER = """
import struct
acked = 0
try:
    while True:
        msg = struct.pack('<q', acked)
        if acked % 3 == 0:
            channels.s.send(msg)
        elif acked % 3 == 1:
            channels.s.send_buffer(bytearray(msg))
        else:
            channels.s.send_nowait(msg)
        acked += 1
except Exception as e:
    kind = type(e).__name__
channels.out.send_nowait(struct.pack('<q', acked) + kind.encode())
"""

RECEIVER = """
import struct
got = []
try:
    while True:
        got.append(struct.unpack('<q', channels.r.recv())[0])
except Exception as e:
    kind = type(e).__name__
ok = got == list(range(len(got)))
channels.out.send_nowait(struct.pack('<q?', len(got), ok) + kind.encode())
"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("end", ["send", "recv"])
def test_close_while_messages_flow_delivers_exactly_the_acknowledged(pool, end):
    """A sender mixing send, send_buffer and send_nowait, a receiver, and a close at a random
    moment: what the sender saw succeed is exactly what arrived (closing the send end lets
    the queued send_nowait data drain; closing the receive end drops it, so there only the
    blocking sends are compared)."""
    import struct

    rounds = scaled(30, 3)
    rng = random.Random(7)
    moved = 0
    for _ in range(rounds):
        r, s = interpcli.create_channel()
        sout_r, sout_s = interpcli.create_channel()
        rout_r, rout_s = interpcli.create_channel()
        snd = Runner(pool[0], SENDER, channels={"s": s, "out": sout_s})
        rcv = Runner(pool[1], RECEIVER, channels={"r": r, "out": rout_s})
        time.sleep(0.001 + rng.random() * 0.02)
        (s if end == "send" else r).close()
        assert snd.result(60).completed and rcv.result(60).completed
        m = sout_r.recv(timeout=10)
        acked, skind = struct.unpack_from("<q", m)[0], m[8:].decode()
        m = rout_r.recv(timeout=10)
        (got, ok), rkind = struct.unpack_from("<q?", m), m[9:].decode()
        assert skind == rkind == "ChannelClosedError"
        assert ok  # 0, 1, 2, ... in order, no gap
        if end == "send":
            assert got == acked
        else:
            # queued send_nowait data is dropped with the receive end, but every blocking
            # send that returned was received (and so was everything before it)
            blocking = [i for i in range(acked) if i % 3 != 2]
            assert (blocking[-1] + 1 if blocking else 0) <= got <= acked
        moved += got
    report(f"close_{end}_end_while_flowing", rounds=rounds, messages=moved)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("op", ["recv", "send", "send_buffer"])
def test_interrupt_an_interpreter_blocked_on_a_channel(pool, op):
    """KeyboardInterrupt reaches a run blocked in recv or a blocking send (at any moment,
    even before the wait starts); a withdrawn send is never delivered later, and the
    interpreter and the channel stay usable."""
    rounds = scaled(30, 3)
    rng = random.Random(8)
    interp = pool[2]
    for _ in range(rounds):
        r, s = interpcli.create_channel()
        ready_r, ready_s = interpcli.create_channel()
        code = {
            "recv": "channels.ready.send_nowait(b'')\nchannels.r.recv()\n",
            "send": "channels.ready.send_nowait(b'')\nchannels.s.send(b'never')\n",
            "send_buffer": "channels.ready.send_nowait(b'')\n"
            "channels.s.send_buffer(bytearray(b'never'))\n",
        }[op]
        run = Runner(interp, code, channels={"r": r, "s": s, "ready": ready_s})
        ready_r.recv(timeout=60)
        time.sleep(rng.random() * 0.002)
        _lowlevel.interrupt(interp.id)
        res = run.result(60)
        assert res.exc_type == "KeyboardInterrupt", res
        assert r.recv_nowait(None) is None
        # still usable: the interpreter runs, the channel carries data
        s.send_nowait(b"back")
        res = interp.run("channels.s.send_nowait(channels.r.recv())", channels={"r": r, "s": s})
        assert res.completed, res.traceback
        assert r.recv(timeout=10) == b"back"
    report(f"interrupt_blocked_{op}", rounds=rounds)


@pytest.mark.timeout(120)
def test_run_timeout_ends_a_blocked_recv(pool):
    r, _s = interpcli.create_channel()
    t0 = time.perf_counter()
    res = pool[3].run("channels.r.recv()", channels={"r": r}, timeout=0.2)
    elapsed = time.perf_counter() - t0
    assert res.timed_out and res.exc_type == "TimeoutError"
    assert elapsed < 30
    report("run_timeout_blocked_recv", timeout_s=0.2, returned_after_s=round(elapsed, 3))


def test_closing_an_interpreter_turns_its_queued_messages_into_copies():
    """Documented: closing an interpreter whose messages still sit in a channel hands the
    receivers the data, as bytes (lent buffers become copies); nothing dangles."""
    a, b = interpcli.create(), interpcli.create()
    r, s = interpcli.create_channel()
    out_r, out_s = interpcli.create_channel()
    try:
        res = a.run(
            "buf = bytearray(b'lent' * 1000)\n"
            "channels.s.send_nowait(b'copy')\n"
            "channels.s.send_buffer_nowait(buf)\n"
            "channels.s.send_buffer_nowait(memoryview(buf)[4:8])\n"
            "channels.s.send_buffer_nowait(b'immutable')\n"
            "buf[:4] = b'LENT'\n",
            channels={"s": s},
        )
        assert res.completed, res.traceback
        a.close()
        assert r.recv() == b"copy"
        got = r.recv()
        # the copy was taken at close, after the sender's last write
        assert type(got) is bytes and got == b"LENT" + b"lent" * 999
        assert r.recv() == b"lent"
        # a receiver in another interpreter gets the rest the same way
        res = b.run(
            "m = channels.r.recv()\n"
            "channels.out.send_nowait(type(m).__name__.encode() + b':' + bytes(m))",
            channels={"r": r, "out": out_s},
        )
        assert res.completed, res.traceback
        assert out_r.recv() == b"bytes:immutable"
    finally:
        b.close()
        if a.is_alive():
            a.close()


@pytest.mark.timeout(300)
def test_close_racing_receivers_of_lent_memory():
    """An interpreter with lent buffers queued is closed while another interpreter receives
    them: each item arrives intact, and once the close succeeded no view onto the closed
    interpreter's memory exists (each is either refused a close or converted to a copy)."""
    rounds = scaled(40, 4)
    rng = random.Random(9)
    stats = {"views": 0, "copies": 0, "refused": 0}
    b = interpcli.create()
    try:
        for _ in range(rounds):
            a = interpcli.create()
            r, s = interpcli.create_channel()
            res = a.run(
                "for k in range(300):\n"
                "    channels.s.send_buffer_nowait(bytearray([k % 256]) * 4096)\n"
                "channels.s.close()\n",
                channels={"s": s},
            )
            assert res.completed, res.traceback
            ready_r, ready_s = interpcli.create_channel()
            go_r, go_s = interpcli.create_channel()
            out_r, out_s = interpcli.create_channel()
            # b keeps every message (views included) until told a has been closed
            run = Runner(
                b,
                "kept = []\n"
                "channels.ready.send_nowait(b'')\n"
                f"for _ in range({rng.randrange(3000)}): pass\n"
                "for m in channels.r:\n"
                "    kept.append(m)\n"
                "channels.go.recv()\n"
                "views = sum(type(m) is memoryview for m in kept)\n"
                "bad = [k for k, m in enumerate(kept)\n"
                "       if bytes(m) != bytes([k % 256]) * 4096]\n"
                "channels.out.send_nowait(repr((len(kept), views, bad)).encode())\n"
                "del kept, m\n",
                channels={"r": r, "ready": ready_s, "go": go_r, "out": out_s},
            )
            ready_r.recv(timeout=60)
            closed = False
            try:
                a.close()
                closed = True
            except interpcli.InterpreterError as exc:
                assert "memoryview" in str(exc)
                stats["refused"] += 1
            go_s.send_nowait(b"")
            assert run.result(60).completed
            n, views, bad = eval(out_r.recv(timeout=60))
            assert n == 300 and bad == []
            if closed:
                assert views == 0, f"{views} views onto a closed interpreter's memory"
            else:
                a.close()  # b dropped its views: now the close goes through
            stats["views"] += views
            stats["copies"] += n - views
    finally:
        b.close()
    report("close_racing_lent_receivers", rounds=rounds, **stats)


def test_a_lent_view_outlives_its_sender_only_by_refusing_the_close():
    a, b = interpcli.create(), interpcli.create()
    r, s = interpcli.create_channel()
    try:
        assert a.run(
            "channels.s.send_buffer_nowait(bytearray(b'A' * 100))\n"
            "channels.s.send_buffer_nowait(bytearray(b'B' * 100))\n",
            channels={"s": s},
        ).completed
        view = r.recv()
        assert type(view) is memoryview and view.readonly and view == b"A" * 100
        # a view held in another interpreter, across runs
        assert b.run("held = channels.r.recv()", channels={"r": r}).completed
        with pytest.raises(interpcli.InterpreterError, match="memoryview"):
            a.close()
        view.release()
        with pytest.raises(interpcli.InterpreterError, match="memoryview"):
            a.close()
        assert b.run("assert held == b'B' * 100\ndel held").completed
        a.close()
        assert not a.is_alive()
        # views dropped by an interpreter that is itself being closed
        a = interpcli.create()
        assert a.run(
            "channels.s.send_buffer_nowait(bytearray(b'C' * 100))", channels={"s": s}
        ).completed
        assert b.run("held = channels.r.recv()", channels={"r": r}).completed
        b.close()
        a.close()
    finally:
        for i in (a, b):
            if i.is_alive():
                i.close()
