"""Width: 64 interpreters alive at once, all running, passing tokens around a ring of
channels, then closed."""

import struct
import time

import pytest
from stress_util import Runner, os_threads, report, rss_mb, scaled

import interpcli

WIDTH = 64

RING = """
import struct
me = channels.me
ready, inbox, outbox, done = channels.ready, channels.inbox, channels.outbox, channels.done
ready.send_nowait(struct.pack('<q', me))
channels.go.recv()
for k in range(ROUNDS):
    origin, hops = struct.unpack('<qq', inbox.recv())
    token = struct.pack('<qq', origin, hops + 1)
    if k < ROUNDS - 1:
        outbox.send_nowait(token) if k % 2 else outbox.send_buffer_nowait(bytearray(token))
    else:
        done.send(struct.pack('<q', me) + token)
"""


@pytest.mark.timeout(300)
def test_64_interpreters_exchange_messages():
    rounds = scaled(2000, 20)
    threads0 = os_threads()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    interps = [interpcli.create() for _ in range(WIDTH)]
    created = time.perf_counter() - t0
    rings = [interpcli.create_channel() for _ in range(WIDTH)]
    ready_r, ready_s = interpcli.create_channel()
    done_r, done_s = interpcli.create_channel()
    go_r, go_s = interpcli.create_channel()
    for i in range(WIDTH):
        rings[i][1].send_nowait(struct.pack("<qq", i, 0))
    runners = []
    try:
        for i, interp in enumerate(interps):
            chans = {
                "ready": ready_s,
                "go": go_r,
                "inbox": rings[i][0],
                "outbox": rings[(i + 1) % WIDTH][1],
                "done": done_s,
            }
            runners.append(
                Runner(
                    interp,
                    RING.replace("channels.me", str(i)).replace("ROUNDS", str(rounds)),
                    channels=chans,
                )
            )
        # every interpreter is up and running (waiting for the go) before a token moves
        assert sorted(
            struct.unpack("<q", ready_r.recv(timeout=120))[0] for _ in range(WIDTH)
        ) == list(range(WIDTH))
        assert len(interpcli.list_all()) == WIDTH + 1
        assert all(i.is_running() for i in interps)
        rss_all = rss_mb() - rss0
        t1 = time.perf_counter()
        for _ in range(WIDTH):
            go_s.send_nowait(b"go")
        finals = {}
        for _ in range(WIDTH):
            me, origin, hops = struct.unpack("<qqq", done_r.recv(timeout=120))
            finals[me] = (origin, hops)
        exchanged = time.perf_counter() - t1
        results = [r.result(60) for r in runners]
    finally:
        for r in runners:
            if r.thread.is_alive():
                interpcli_interrupt(r.interp)
        for r in runners:
            r.thread.join(30)
        t2 = time.perf_counter()
        for interp in interps:
            interp.close()
        closed = time.perf_counter() - t2
    for res in results:
        assert res.completed, res.traceback
    # the k-th message interpreter i receives is the token born at i-k, after k hops
    assert finals == {i: ((i - (rounds - 1)) % WIDTH, rounds) for i in range(WIDTH)}
    assert [i.id for i in interpcli.list_all()] == [interpcli.get_main().id]
    assert os_threads() == threads0
    report(
        "width",
        interpreters=WIDTH,
        rounds=rounds,
        messages=WIDTH * rounds,
        create_s=round(created, 2),
        exchange_s=round(exchanged, 3),
        close_s=round(closed, 2),
        rss_growth_64_alive_mb=round(rss_all),
    )


def interpcli_interrupt(interp):
    from interpcli import _lowlevel

    _lowlevel.interrupt(interp.id)
