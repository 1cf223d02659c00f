"""interpcli.interpreters.channels: the channel API of 3.13's test.support.interpreters."""

import pickle
import threading
import time

import pytest

import interpcli
from interpcli import interpreters
from interpcli.interpreters import channels


def test_create_list_and_attributes():
    before = set(channels.list_all())
    made = {channels.create() for _ in range(3)}
    assert set(channels.list_all()) - before == made
    r, s = made.pop()
    assert isinstance(r, channels.RecvChannel) and isinstance(s, channels.SendChannel)
    assert r.id == s.id and isinstance(r.id, int)
    assert channels.RecvChannel(r.id) == r and channels.SendChannel(s.id) == s
    assert r != channels.create()[0]
    assert pickle.loads(pickle.dumps(r)) == r
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(AttributeError):
        r.id = 2
    with pytest.raises(TypeError):
        channels.RecvChannel("1")
    assert repr(r) == f"RecvChannel(id={r.id})"


def test_send_recv_objects():
    r, s = channels.create()
    for obj in (None, 1, 2**80, "spam", b"eggs", (1, ("x", 2.5))):
        s.send_nowait(obj)
        assert r.recv() == obj
    default = object()
    assert r.recv_nowait(default) is default
    with pytest.raises(channels.ChannelEmptyError):
        r.recv_nowait()
    with pytest.raises(interpreters.NotShareableError):
        s.send_nowait([1, 2])


def test_blocking_send_waits_for_the_receiver():
    r, s = channels.create()
    got = []

    def receiver():
        time.sleep(0.2)
        got.append(r.recv())

    t = threading.Thread(target=receiver)
    t.start()
    t0 = time.monotonic()
    s.send(b"spam")
    assert time.monotonic() - t0 >= 0.15
    t.join(30)
    assert got == [b"spam"]


def test_send_timeout_withdraws_the_object():
    r, s = channels.create()
    with pytest.raises(TimeoutError):
        s.send(b"late", timeout=0.1)
    assert r.recv_nowait(None) is None  # withdrawn: never received
    # and with a receiver in time
    t = threading.Thread(target=lambda: s.send(b"in time", timeout=30))
    t.start()
    assert r.recv(timeout=30) == b"in time"
    t.join(30)


def test_recv_timeout():
    r, _s = channels.create()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        r.recv(timeout=0.2)
    assert 0.15 < time.monotonic() - t0 < 10


def test_channel_not_found():
    for end in (channels.RecvChannel(10**9), channels.SendChannel(10**9)):
        with pytest.raises(channels.ChannelNotFoundError):
            end.is_closed
    with pytest.raises(channels.ChannelNotFoundError):
        channels.RecvChannel(10**9).recv()
    with pytest.raises(channels.ChannelNotFoundError):
        channels.SendChannel(10**9).send_nowait(b"x")


def test_send_buffer_lends_memory():
    r, s = channels.create()
    buf = bytearray(b"spamspamspam")
    s.send_buffer_nowait(buf)
    obj = r.recv()
    # in the same interpreter: the sender's view itself, writable (as in CPython)
    assert isinstance(obj, memoryview) and not obj.readonly and obj == buf
    buf[4:8] = b"eggs"
    assert obj == buf  # the same memory
    obj[4:8] = b"ham."
    assert buf == bytearray(b"spamham.spam")
    obj.release()
    # in another interpreter: a read-only view onto the same memory
    interp = interpreters.create()
    try:
        interp.prepare_main(r=r)
        s.send_buffer_nowait(buf)
        assert interp.call(_recv_view) == (True, b"spamham.spam")
    finally:
        interp.close()
    t = threading.Thread(target=s.send_buffer, args=(b"blocking",))
    t.start()
    assert bytes(r.recv(timeout=30)) == b"blocking"
    t.join(30)
    with pytest.raises(TypeError):
        s.send_buffer_nowait("not a buffer")


def _recv_view():
    import __main__

    view = __main__.r.recv()
    return view.readonly, bytes(view)


def test_is_closed_and_close():
    r, s = channels.create()
    assert not r.is_closed and not s.is_closed
    r.close()
    assert r.is_closed and s.is_closed
    with pytest.raises(channels.ChannelClosedError):
        s.send_nowait(b"x")
    r2, s2 = channels.create()
    s2.send_nowait(b"last")
    s2.close()
    assert r2.recv() == b"last"
    with pytest.raises(channels.ChannelClosedError):
        r2.recv()
    assert issubclass(channels.ChannelClosedError, channels.ChannelError)


def test_ends_are_shareable_and_cross(interp):
    r, s = channels.create()
    assert interpreters.is_shareable(r) and interpreters.is_shareable(s)
    s.send_nowait(r)
    s.send_nowait(s)
    assert r.recv() == r and r.recv() == s
    interp.prepare_main(r=r, s=s)
    s.send_nowait(r)
    s.send_nowait(s)
    interp.exec("""if True:
        r2 = r.recv()
        s2 = r.recv()
        assert r2 == r and s2 == s
        s.send_nowait(r2)
        s.send_nowait(s2)
        """)
    assert r.recv() == r and r.recv() == s


def test_send_recv_different_interpreters(interp):
    r1, s1 = channels.create()
    r2, s2 = channels.create()
    interp.prepare_main(r1=r1, s2=s2)
    t = threading.Thread(
        target=interp.exec,
        args=(
            """if True:
        for _ in range(3):
            s2.send(r1.recv() * 2)
        """,
        ),
    )
    t.start()
    for v in (1, "a", b"b"):
        s1.send(v)
        assert r2.recv(timeout=30) == v * 2
    t.join(30)


def _send_from(interp, s, ops):
    interp.prepare_main(sch=s)
    src = "from interpcli.interpreters import channels\n"
    for value, op in ops:
        kw = "" if op is None else f", unbound=channels.{op}"
        src += f"sch.send_nowait({value!r}{kw})\n"
    interp.exec(src)


def test_send_cleared_with_subinterpreter():
    r, s = channels.create()
    i = interpreters.create()
    s.send_nowait(None)
    assert r.recv() is None
    _send_from(
        i,
        s,
        [(1, "UNBOUND"), (2, "UNBOUND_ERROR"), (3, None), (4, "UNBOUND_REMOVE"), (5, "UNBOUND")],
    )
    i.close()
    assert r.recv() is channels.UNBOUND
    with pytest.raises(channels.ItemInterpreterDestroyed):
        r.recv()
    assert r.recv() is channels.UNBOUND
    assert r.recv() is channels.UNBOUND  # 4 was removed
    with pytest.raises(channels.ChannelEmptyError):
        r.recv_nowait()


def test_channel_default_unbound():
    r, s = channels.create(unbounditems=channels.UNBOUND_ERROR)
    i = interpreters.create()
    _send_from(i, s, [("x", None)])
    i.close()
    with pytest.raises(channels.ItemInterpreterDestroyed):
        r.recv_nowait()


def test_core_channel_ends_are_shareable(interp):
    cr, cs = interpcli.create_channel()
    interp.prepare_main(cs=cs)
    interp.exec("cs.send_nowait(b'raw')")
    assert cr.recv_nowait() == b"raw"
