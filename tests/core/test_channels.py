"""Channels through the public API, in one interpreter and across interpreters."""

import threading
import time

import pytest

import interpcli


def started_thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def test_ends_and_errors_hierarchy():
    recv, send = interpcli.create_channel()
    assert isinstance(recv, interpcli.RecvChannel) and isinstance(send, interpcli.SendChannel)
    assert recv.id == send.id
    assert issubclass(interpcli.ChannelClosedError, EOFError)
    assert issubclass(interpcli.ChannelClosedError, interpcli.ChannelError)
    assert issubclass(interpcli.ChannelError, interpcli.InterpError)
    assert issubclass(interpcli.ChannelTimeoutError, TimeoutError)
    with pytest.raises(TypeError):
        interpcli.RecvChannel()


def test_send_blocks_until_received():
    recv, send = interpcli.create_channel()
    returned = threading.Event()

    def sender():
        send.send(b"hello")
        returned.set()

    started_thread(sender)
    assert not returned.wait(0.2)
    assert recv.recv() == b"hello"
    assert returned.wait(5)


def test_send_nowait_queues_in_order():
    recv, send = interpcli.create_channel()
    for k in range(100):
        send.send_nowait(b"%d" % k)
    assert [recv.recv() for _ in range(100)] == [b"%d" % k for k in range(100)]
    assert recv.recv_nowait(None) is None


@pytest.mark.parametrize("obj", [b"bytes", bytearray(b"array"), memoryview(b"view")])
def test_bytes_like_objects_arrive_as_bytes(obj):
    recv, send = interpcli.create_channel()
    send.send_nowait(obj)
    got = recv.recv()
    assert type(got) is bytes and got == bytes(obj)


@pytest.mark.parametrize("method", ["send", "send_nowait", "send_buffer", "send_buffer_nowait"])
def test_non_bytes_raise_type_error_naming_the_type(method):
    recv, send = interpcli.create_channel()
    with pytest.raises(TypeError, match="'str'"):
        getattr(send, method)("text")
    with pytest.raises(TypeError, match="'dict'"):
        getattr(send, method)({})


def test_recv_timeout_and_nowait():
    recv, send = interpcli.create_channel()
    t0 = time.monotonic()
    with pytest.raises(interpcli.ChannelTimeoutError):
        recv.recv(timeout=0.2)
    assert 0.15 < time.monotonic() - t0 < 5
    with pytest.raises(TimeoutError):
        recv.recv(timeout=0)
    assert recv.recv_nowait(default=b"dflt") == b"dflt"
    with pytest.raises(interpcli.ChannelEmptyError):
        recv.recv_nowait()
    with pytest.raises(ValueError):
        recv.recv(timeout=-1)


def test_iteration_until_close():
    recv, send = interpcli.create_channel()
    for k in range(5):
        send.send_nowait(b"%d" % k)
    send.close()
    assert list(recv) == [b"0", b"1", b"2", b"3", b"4"]
    with pytest.raises(interpcli.ChannelClosedError):
        recv.recv()
    with pytest.raises(EOFError):
        send.send(b"x")
    assert send.is_closed and recv.is_closed


def test_close_recv_drops_queued_data():
    recv, send = interpcli.create_channel()
    send.send_nowait(b"x")
    recv.close()
    with pytest.raises(interpcli.ChannelClosedError):
        recv.recv_nowait()
    with pytest.raises(interpcli.ChannelClosedError):
        send.send_nowait(b"y")


def test_close_wakes_blocked_senders_and_receivers():
    r1, s1 = interpcli.create_channel()
    r2, s2 = interpcli.create_channel()
    errors = []

    def blocked(fn):
        try:
            fn()
        except interpcli.ChannelClosedError as exc:
            errors.append(exc)

    ts = [started_thread(blocked, r1.recv) for _ in range(3)]
    ts += [started_thread(blocked, lambda: s2.send(b"never taken")) for _ in range(3)]
    time.sleep(0.2)
    s1.close()
    r2.close()
    for t in ts:
        t.join(5)
        assert not t.is_alive()
    assert len(errors) == 6


def test_send_buffer_shares_memory_without_copy():
    recv, send = interpcli.create_channel()
    data = bytearray(64 * 1024 * 1024)
    data[:5] = b"first"
    send.send_buffer_nowait(data)
    view = recv.recv()
    assert isinstance(view, memoryview) and view.readonly and len(view) == len(data)
    data[:5] = b"SHARE"  # the receiver sees the sender's memory itself: no copy was made
    assert bytes(view[:5]) == b"SHARE"
    with pytest.raises(TypeError):
        view[0] = 1


def test_send_buffer_keeps_object_alive_after_sender_drops_it(interp):
    recv, send = interpcli.create_channel()
    r = interp.run(
        "buf = bytearray(b'abc' * 1000)\n"
        "channels.s.send_buffer_nowait(buf)\n"
        "del buf\n"
        "import gc; gc.collect()\n",
        channels={"s": send},
    )
    r.check()
    view = recv.recv()
    assert bytes(view) == b"abc" * 1000
    # the lender cannot be closed while the view is alive, and says why
    with pytest.raises(interpcli.InterpreterError, match="send_buffer"):
        interp.close()
    view.release()
    del view
    interp.close()


def test_send_buffer_blocking_waits_for_receiver():
    recv, send = interpcli.create_channel()
    returned = threading.Event()
    started_thread(lambda: (send.send_buffer(b"lent"), returned.set()))
    assert not returned.wait(0.2)
    assert bytes(recv.recv()) == b"lent"
    assert returned.wait(5)


def test_closing_sender_interpreter_turns_queued_buffers_into_copies():
    i = interpcli.create()
    recv, send = interpcli.create_channel()
    i.run("channels.s.send_buffer_nowait(bytearray(b'survives'))", channels={"s": send}).check()
    i.close()
    assert bytes(recv.recv()) == b"survives"


def test_channel_ends_work_inside_subinterpreters(interp):
    recv, send = interpcli.create_channel()
    back_recv, back_send = interpcli.create_channel()
    code = (
        "for msg in channels.inbox:\n    channels.outbox.send(msg[::-1])\nchannels.outbox.close()\n"
    )
    t = threading.Thread(
        target=interp.run, args=(code,), kwargs={"channels": {"inbox": recv, "outbox": back_send}}
    )
    t.start()
    for word in (b"abc", b"hello", b""):
        send.send(word)
        assert back_recv.recv() == word[::-1]
    send.close()
    assert list(back_recv) == []
    t.join(10)


def test_channel_between_two_subinterpreters():
    a, b = interpcli.create(), interpcli.create()
    try:
        recv, send = interpcli.create_channel()
        res_recv, res_send = interpcli.create_channel()
        producer = threading.Thread(
            target=a.run,
            args=(
                "for k in range(1000):\n"
                "    channels.out.send(k.to_bytes(4, 'little'))\n"
                "channels.out.close()\n",
            ),
            kwargs={"channels": {"out": send}},
        )
        consumer = threading.Thread(
            target=b.run,
            args=(
                "total = sum(int.from_bytes(m, 'little') for m in channels.inp)\n"
                "channels.res.send_nowait(str(total).encode())\n",
            ),
            kwargs={"channels": {"inp": recv, "res": res_send}},
        )
        producer.start()
        consumer.start()
        producer.join(30)
        consumer.join(30)
        assert res_recv.recv(timeout=5) == str(sum(range(1000))).encode()
    finally:
        a.close()
        b.close()


def test_channels_mapping_validation(interp):
    recv, send = interpcli.create_channel()
    with pytest.raises(ValueError, match="identifier"):
        interp.run("pass", channels={"not valid": send})
    with pytest.raises(TypeError, match="channel end"):
        interp.run("pass", channels={"x": b"no"})
    import types

    r = interp.run(f"assert channels.x.id == {send.id}", channels=types.SimpleNamespace(x=send))
    r.check()
    assert r.channels == ("x",)


def test_duplex_channel_in_subinterpreter(interp):
    from interpcli.channels import create_duplex

    ch = create_duplex()
    interp.run("channels.c.send_nowait(b'ping')\n", channels={"c": ch}).check()
    assert ch.recv() == b"ping"


@pytest.mark.parametrize("op", ["recv", "send", "send_buffer"])
def test_ctrl_c_interrupts_a_wait_in_the_main_thread(op):
    import signal

    recv, send = interpcli.create_channel()
    fn = recv.recv if op == "recv" else (lambda: getattr(send, op)(b"never taken"))
    timer = threading.Timer(
        0.2, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
    )
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        fn()
    assert time.monotonic() - t0 < 5
    timer.join()
    # an interrupted blocking send took its message back
    assert recv.recv_nowait(None) is None


def test_closing_lender_whose_queued_buffer_holds_the_last_end_of_another_channel():
    # releasing the lent object drops a channel end; that must not deadlock the close
    w = interpcli.create()
    recv, send = interpcli.create_channel()
    w.run(
        "import _interpcli\n"
        "class Carrier(bytearray):\n"
        "    pass\n"
        "c = Carrier(b'x')\n"
        "c.keep = _interpcli.create_channel()\n"
        "channels.s.send_buffer_nowait(c)\n"
        "del c\n",
        channels={"s": send},
    ).check()
    done = threading.Event()
    t = threading.Thread(target=lambda: (w.close(), done.set()), daemon=True)
    t.start()
    assert done.wait(20), "close() deadlocked"
    assert bytes(recv.recv()) == b"x"
