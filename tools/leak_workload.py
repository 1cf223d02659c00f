"""A focused workload for the C core's leak check (tools/sanitize.sh runs it under LSan):
every path that allocates in the core (the extension module interpcli._native._interpcli,
reached through interpcli and interpcli._lowlevel), each ending with everything released."""

import pickle
import sys
import textwrap
import threading

import interpcli
from interpcli import _lowlevel

ids = set()

for _ in range(20):
    a, b = interpcli.create(), interpcli.create(isolated=False)
    r, s = interpcli.create_channel()
    # copies, lent buffers (released here, in their owner, and after its close), blocking
    res = a.run(
        "channels.s.send_nowait(b'x' * 1000)\n"
        "channels.s.send_buffer_nowait(bytearray(5000))\n"
        "channels.s.send_buffer_nowait(b'lent' * 10)\n",
        channels={"s": s},
    )
    assert res.completed, res.traceback
    assert r.recv() == b"x" * 1000
    v = r.recv()
    v.release()
    assert r.recv() == b"lent" * 10
    t = threading.Thread(target=lambda: r.recv())
    t.start()
    s.send(b"blocking")
    t.join()
    t = threading.Thread(target=lambda: r.recv())
    t.start()
    s.send_buffer(bytearray(100))
    t.join()
    # captured output, an exception with a traceback, SystemExit with a message
    assert a.run("print('out')", capture_output=True).stdout == "out\n"
    assert a.run("1/0").exc_type == "ZeroDivisionError"
    assert a.run("raise SystemExit('bye')", capture_output=True).exit_code == 1
    # interrupting a blocked recv and a blocked send
    r2, s2 = interpcli.create_channel()
    for code in ("channels.r.recv()", "channels.s.send(b'never')"):
        ready_r, ready_s = interpcli.create_channel()
        out = {}
        t = threading.Thread(
            target=lambda: out.setdefault(
                "res",
                a.run(
                    "channels.ready.send_nowait(b'')\n" + code,
                    channels={"r": r2, "s": s2, "ready": ready_s},
                ),
            )
        )
        t.start()
        ready_r.recv()
        _lowlevel.interrupt(a.id)
        t.join()
        assert out["res"].exc_type == "KeyboardInterrupt"
    # a run with a timeout (a RunToken stops it), a token stopped before its run begins
    res = a.run("while True: pass", timeout=0.05)
    assert res.exc_type == "TimeoutError", res
    canceller = _lowlevel.Canceller(a.id)
    canceller.cancel()
    out = _lowlevel.run(a.id, b"x = 1", b"<leak>", None, False, canceller)
    assert out["exc_type"] == "KeyboardInterrupt", out
    # ends rebuilt by id (pickling), in main and in a subinterpreter
    r4, s4 = interpcli.create_channel()
    s4b = pickle.loads(pickle.dumps(s4))
    res = b.run(f"import pickle\npickle.loads({pickle.dumps(s4)!r}).send_nowait(b'by id')")
    assert res.completed, res.traceback
    s4b.send_nowait(b"again")
    assert r4.recv() == b"by id" and r4.recv() == b"again"
    # a thread inside the (isolated) interpreter, joined by its close
    a.run("import threading, time\nthreading.Thread(target=time.sleep, args=(0.01,)).start()")
    # queued items dropped by closes of either end, lent items converted at close
    r3, s3 = interpcli.create_channel()
    b.run(
        "channels.s.send_nowait(b'dropped')\nchannels.s.send_buffer_nowait(bytearray(300))\n",
        channels={"s": s3},
    )
    b.close()
    assert r3.recv() == b"dropped"
    r3.close()
    a.run(
        "channels.s.send_buffer_nowait(bytearray(64))\nchannels.s.send_nowait(b'q')",
        channels={"s": s},
    )
    a.close()
    s.close()
    assert r.recv() == bytes(64)
    ids |= {r.id, r2.id, r3.id, r4.id, ready_r.id}
    del r, s, r2, s2, r3, s3, r4, s4, s4b, v, ready_r, ready_s, canceller

# interpreters interpcli did not make (the stdlib's): the core module imported there adopts
# them, channels cross, and their records go when they end
if sys.version_info >= (3, 13):
    import _interpreters as stdlib_interps

    for kind in ("isolated", "legacy"):
        r5, s5 = interpcli.create_channel()
        sub = stdlib_interps.create(kind)
        err = stdlib_interps.exec(
            sub,
            textwrap.dedent(f"""
            import interpcli, pickle
            out = pickle.loads({pickle.dumps(s5)!r})
            out.send_nowait(b"from a foreign interpreter")
            out.send_buffer_nowait(bytearray(128))
            mine_r, mine_s = interpcli.create_channel()
            mine_s.send_nowait(b"queued")
            """),
        )
        assert err is None, err
        assert r5.recv() == b"from a foreign interpreter"
        stdlib_interps.destroy(sub)
        assert r5.recv() == bytes(128)  # its lent buffer became a copy as it ended
        ids.add(r5.id)
        del r5, s5
# memory a registry still points at is not a leak to LSan: check the registries directly
core = _lowlevel.core_module()
for cid in ids:
    try:
        core._end(cid, 1)
    except interpcli.ChannelError:
        continue
    raise AssertionError(f"channel {cid} outlived all its ends")
assert [i.id for i in interpcli.list_all()] == [interpcli.get_main().id]
print(f"leak workload done ({len(ids)} channels freed)")
