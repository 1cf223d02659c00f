"""asyncio: awaiting channels, queues and runs (issue 13), woken by the core."""

import asyncio
import gc
import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import interpcli
from interpcli import aio, interpreters
from interpcli._lowlevel import core_module

ROOT = pathlib.Path(__file__).resolve().parents[2]
_core = core_module()

try:
    import uvloop
except ImportError:  # in the test extra; skipped where it did not install
    uvloop = None

LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None else [])


@pytest.fixture(params=LOOPS)
def arun(request):
    """Run a coroutine to completion on the default event loop and on uvloop."""

    def runner(coro):
        if request.param == "uvloop":
            return uvloop.run(coro)
        return asyncio.run(coro)

    return runner


def _sigint_default():
    # a child started from a background job inherits SIGINT ignored: give it the default
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def counts():
    """(notifiers, watches, awaiting sends) alive in the process."""
    gc.collect()
    return _core._aio_counts()


@pytest.fixture(autouse=True)
def nothing_left_behind():
    before = counts()
    yield
    assert counts() == before


# ------------------------------------------------------------------ 1. awaitable forms


def test_recv_async_wakes_when_a_subinterpreter_sends(arun, interp):
    async def main():
        recv, send = interpcli.create_channel()
        run = asyncio.create_task(
            interp.run_async(
                "import time; time.sleep(0.05); channels.out.send(b'hi')", channels={"out": send}
            )
        )
        assert await recv.recv_async() == b"hi"
        result = await run
        assert result.completed and isinstance(result, interpcli.RunResult)

    arun(main())


def test_send_async_completes_when_the_receiver_took_it(arun):
    async def main():
        recv, send = interpcli.create_channel()
        task = asyncio.create_task(send.send_async(b"abc"))
        await asyncio.sleep(0.05)
        assert not task.done()  # nobody received yet
        got = await asyncio.get_running_loop().run_in_executor(None, recv.recv)
        assert got == b"abc"
        assert await asyncio.wait_for(task, 5) is None

    arun(main())


def test_send_async_to_a_receiver_in_another_interpreter(arun, interp):
    async def main():
        recv, send = interpcli.create_channel()
        run = asyncio.create_task(
            interp.run_async(
                "import time; time.sleep(0.05)\nfor m in channels.inp: pass", channels={"inp": recv}
            )
        )
        for i in range(100):
            await send.send_async(b"%d" % i)
        send.close()
        assert (await run).completed

    arun(main())


def test_async_ping_pong_and_messages(arun, interp):
    async def main():
        r_in, s_in = interpcli.create_channel()
        r_out, s_out = interpcli.create_channel()
        run = asyncio.create_task(
            interp.run_async(
                "for m in channels.inp:\n    channels.out.send_nowait(m.upper())\n"
                "channels.out.close()",
                channels={"inp": r_in, "out": s_out},
            )
        )
        for word in (b"a", b"bb", b"ccc"):
            await s_in.send_async(word)
            assert await r_out.recv_async() == word.upper()
        for word in (b"x", b"y"):
            s_in.send_nowait(word)
        s_in.close()
        assert [m async for m in aio.messages(r_out)] == [b"X", b"Y"]
        assert (await run).completed

    arun(main())


def test_closed_channels_raise(arun):
    async def main():
        recv, send = interpcli.create_channel()
        waiter = asyncio.create_task(recv.recv_async())
        await asyncio.sleep(0.01)
        send.close()
        with pytest.raises(interpcli.ChannelClosedError):
            await waiter
        with pytest.raises(interpcli.ChannelClosedError):
            await send.send_async(b"x")
        r2, s2 = interpcli.create_channel()
        pending = asyncio.create_task(s2.send_async(b"x"))
        await asyncio.sleep(0.01)
        r2.close()  # the receive side drops what was queued
        with pytest.raises(interpcli.ChannelClosedError):
            await pending

    arun(main())


def test_bad_input_is_a_clear_error(arun):
    async def main():
        recv, send = interpcli.create_channel()
        with pytest.raises(TypeError, match="bytes-like"):
            await send.send_async("text")
        with pytest.raises(TypeError, match="receiving channel end"):
            await aio.recv(send)
        with pytest.raises(TypeError, match="cannot send"):
            await aio.send(recv, b"x")

    arun(main())


def test_queue_get_put_async(arun, interp):
    async def main():
        q = interpreters.create_queue(maxsize=1)
        await q.put_async({"a": 1})
        blocked = asyncio.create_task(q.put_async(2))
        await asyncio.sleep(0.05)
        assert not blocked.done()  # full: waits for room
        assert await q.get_async() == {"a": 1}
        await asyncio.wait_for(blocked, 5)
        assert await q.get_async() == 2
        # woken by a put from another interpreter
        sub = interpreters.Interpreter(interp.id)
        sub.prepare_main(q=q)
        getter = asyncio.create_task(q.get_async())
        await asyncio.sleep(0.02)
        await sub.exec_async("import time; time.sleep(0.02); q.put('from sub')")
        assert await asyncio.wait_for(getter, 5) == "from sub"

    arun(main())


def test_run_async_result_and_capture(arun, interp):
    async def main():
        res = await interp.run_async("print('out'); raise ValueError('bad')", capture_output=True)
        assert not res.completed and res.exc_type == "ValueError"
        assert res.stdout == "out\n"
        with pytest.raises(TypeError):
            await interp.run_async("pass", channels={"x": 1})

    arun(main())


def add(a, b):
    return a + b


def fail():
    raise KeyError("nope")


def test_call_async(arun):
    async def main():
        i = interpreters.create()
        try:
            assert await i.call_async(add, 2, 3) == 5
            with pytest.raises(interpreters.ExecutionFailed, match="nope"):
                await i.call_async(fail)
            # several at once, on several interpreters: in parallel
            j = interpreters.create()
            try:
                assert await asyncio.gather(i.call_async(pow, 2, 8), j.call_async(pow, 3, 2)) == [
                    256,
                    9,
                ]
            finally:
                j.close()
        finally:
            i.close()
        base = interpcli.create()
        try:
            assert await base.call_async(add, "a", "b") == "ab"
        finally:
            base.close()

    arun(main())


# ------------------------------------------------------------------ 2. woken by the core


def test_ten_thousand_pending_receives_cost_no_thread_and_no_cpu():
    n = 10_000

    async def main():
        ends = [interpcli.create_channel() for _ in range(n)]
        os_threads_before = len(os.listdir(f"/proc/{os.getpid()}/task"))
        threads_before = threading.active_count()
        tasks = [asyncio.create_task(r.recv_async()) for r, _ in ends]
        await asyncio.sleep(0.2)
        assert _core._aio_counts()[1] == n  # one watch per waiter, on its channel
        assert threading.active_count() == threads_before
        os_threads = len(os.listdir(f"/proc/{os.getpid()}/task"))
        assert os_threads == os_threads_before  # no OS thread either
        cpu0 = time.process_time()
        await asyncio.sleep(1.0)
        cpu = time.process_time() - cpu0
        assert cpu < 0.05, f"{cpu:.3f} s of CPU while idle"
        assert len(os.listdir(f"/proc/{os.getpid()}/task")) == os_threads
        # and they all wake: every send reaches its own waiter
        for i, (_r, s) in enumerate(ends):
            s.send_nowait(b"%d" % i)
        got = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert got == [b"%d" % i for i in range(n)]

    asyncio.run(main())


def test_wake_latency_is_not_a_poll(interp):
    """A waiting coroutine wakes in well under a 10 ms poll interval (median)."""

    async def main():
        r_in, s_in = interpcli.create_channel()
        r_out, s_out = interpcli.create_channel()
        run = asyncio.create_task(
            interp.run_async(
                "for m in channels.inp:\n    channels.out.send_nowait(m)",
                channels={"inp": r_in, "out": s_out},
            )
        )
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            s_in.send_nowait(b"x")
            await r_out.recv_async()
            times.append(time.perf_counter() - t0)
        s_in.close()
        await run
        times.sort()
        assert times[len(times) // 2] < 0.003, times[len(times) // 2]

    asyncio.run(main())


# ------------------------------------------------------------------ 3. cancellation


def test_cancelled_receive_takes_no_message(arun):
    async def main():
        recv, send = interpcli.create_channel()
        task = asyncio.create_task(recv.recv_async())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        send.send_nowait(b"kept")
        assert await recv.recv_async() == b"kept"
        # timeouts, the same
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await recv.recv_async()
        send.send_nowait(b"next")
        assert recv.recv_nowait() == b"next"

    arun(main())


def test_cancel_racing_sends_loses_nothing(arun, interp):
    """Receivers cancelled at random moments while another interpreter sends: every
    message is received exactly once."""

    async def main():
        recv, send = interpcli.create_channel()
        n = 2000
        run = asyncio.create_task(
            interp.run_async(
                f"for i in range({n}):\n    channels.out.send_nowait(b'%d' % i)",
                channels={"out": send},
            )
        )
        got = []
        while len(got) < n:
            try:
                async with asyncio.timeout(0.0001):
                    got.append(await recv.recv_async())
            except TimeoutError:
                pass
        assert (await run).completed
        assert got == [b"%d" % i for i in range(n)]
        assert recv.recv_nowait(None) is None

    arun(main())


def test_cancelled_send_is_not_delivered(arun):
    async def main():
        recv, send = interpcli.create_channel()
        task = asyncio.create_task(send.send_async(b"never"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert recv.recv_nowait(None) is None
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await send.send_async(b"late")
        assert recv.recv_nowait(None) is None
        send.send_nowait(b"after")
        assert recv.recv_nowait() == b"after"

    arun(main())


def test_cancelled_queue_operations(arun):
    async def main():
        q = interpreters.create_queue(maxsize=1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await q.get_async()
        await q.put_async(1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await q.put_async(2)  # full: cancelled, puts nothing
        assert q.qsize() == 1
        assert await q.get_async() == 1
        assert q.empty()
        await q.put_async(3)  # the queue still works both ways
        assert q.get_nowait() == 3

    arun(main())


def test_cancelled_run_is_interrupted_and_the_interpreter_usable(arun, interp):
    async def main():
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await interp.run_async("while True: pass")
        assert time.monotonic() - t0 < 5
        assert not interp.is_running()
        assert (await interp.run_async("x = 1")).completed
        # a run waiting on a channel, cancelled by hand
        recv, _send = interpcli.create_channel()
        task = asyncio.create_task(interp.run_async("channels.c.recv()", channels={"c": recv}))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert interp.run("y = 2").completed
        # call_async, the same
        sub = interpreters.Interpreter(interp.id)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await sub.call_async(eval, "[0 for _ in iter(int, 1)]")
        assert await sub.call_async(pow, 2, 2) == 4

    arun(main())


# ------------------------------------------------------------------ 4. loops, closing, Ctrl-C


@pytest.mark.skipif(uvloop is None, reason="uvloop is not installed here")
def test_uvloop_is_used():
    async def main():
        recv, send = interpcli.create_channel()
        assert "uvloop" in type(asyncio.get_running_loop()).__module__
        send.send_nowait(b"u")
        return await recv.recv_async()

    assert uvloop.run(main()) == b"u"


def test_loop_closed_with_waits_pending_leaves_nothing_behind(interp):
    fds_before = len(os.listdir("/proc/self/fd"))
    recv, send = interpcli.create_channel()
    r2, s2 = interpcli.create_channel()
    q = interpreters.create_queue()
    loop = asyncio.new_event_loop()
    tasks = [loop.create_task(recv.recv_async()) for _ in range(50)]
    tasks.append(loop.create_task(s2.send_async(b"pending")))
    tasks.append(loop.create_task(q.get_async()))
    tasks.append(loop.create_task(interp.run_async("import time; time.sleep(0.3)")))
    loop.run_until_complete(asyncio.sleep(0.05))
    assert counts() == (1, 51, 1)
    loop.close()  # with every wait still pending
    del tasks, loop
    gc.collect()
    assert counts() == (0, 0, 0)
    assert len(os.listdir("/proc/self/fd")) == fds_before
    # the channel and the queue are untouched: the pending send was withdrawn
    assert r2.recv_nowait(None) is None
    assert recv.recv_nowait(None) is None
    send.send_nowait(b"x")
    assert recv.recv() == b"x"
    q.put(1)
    assert q.get() == 1
    # the pending run was interrupted when its coroutine was closed
    deadline = time.monotonic() + 10
    while interp.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not interp.is_running()


def test_asyncio_run_cancels_pending_waits_at_its_end(interp):
    async def main():
        recv, _send = interpcli.create_channel()
        for _ in range(10):
            asyncio.create_task(recv.recv_async())
        asyncio.create_task(interp.run_async("import time\nwhile True: time.sleep(0.01)"))
        await asyncio.sleep(0.1)

    asyncio.run(main())  # cancels them: runs are interrupted
    assert not interp.is_running()
    assert counts() == (0, 0, 0)


CTRL_C = """
import asyncio, interpcli, sys
async def main():
    interp = interpcli.create()
    recv, send = interpcli.create_channel()
    waits = [asyncio.create_task(recv.recv_async()) for _ in range(100)]
    run = asyncio.create_task(interp.run_async("while True: pass"))
    print("ready", flush=True)
    await asyncio.gather(run, *waits)
{runner}
"""


@pytest.mark.parametrize("loop_name", LOOPS)
def test_ctrl_c_stops_an_asyncio_run_program(loop_name):
    runner = "uvloop.run(main())" if loop_name == "uvloop" else "asyncio.run(main())"
    code = CTRL_C.format(runner=("import uvloop\n" if loop_name == "uvloop" else "") + runner)
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
    )
    assert p.stdout.readline() == "ready\n"
    time.sleep(0.2)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert "KeyboardInterrupt" in err
    assert "Fatal Python error" not in err and "did not stop" not in err
    assert p.returncode in (-signal.SIGINT, 130, 1), (p.returncode, err)


def test_an_asyncio_loop_inside_a_subinterpreter(interp):
    """The core module, its Notifier and interpcli.aio work in a subinterpreter too."""
    recv, send = interpcli.create_channel()
    t = threading.Thread(
        target=lambda: out.append(
            interp.run(
                textwrap.dedent("""
        import asyncio
        async def main():
            return [await channels.inp.recv_async() for _ in range(3)]
        got = asyncio.run(main())
        assert got == [b"1", b"2", b"3"], got
    """),
                channels={"inp": recv},
            )
        )
    )
    out = []
    t.start()
    for m in (b"1", b"2", b"3"):
        send.send(m)
    t.join(30)
    assert out and out[0].completed, out and out[0].traceback


# ------------------------------------------------------------------ 5. the example server


def test_example_server_answers(tmp_path):
    p = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "aio_server.py"), "--port", "0", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
    )
    stopping = False
    try:
        line = p.stdout.readline()
        assert line.startswith("serving on"), line + p.stderr.read()
        port = int(line.split()[2].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            f = s.makefile("rwb")
            for n in (10, 20000, 3):
                f.write(b"%d\n" % n)
                f.flush()
                assert f.readline() == b"%d\n" % sum(i * i for i in range(n))
            f.write(b"oops\n")
            f.flush()
            assert f.readline().startswith(b"error: ")
            p.send_signal(signal.SIGINT)  # with the client still connected
            stopping = True
            assert f.readline() == b""
            f.close()
    finally:
        if not stopping:  # a second Ctrl-C while asyncio stops is reported by asyncio
            p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "Traceback" not in err


def test_bench_aio_server_quick_run():
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_aio_server.py"),
            "--duration",
            "0.5",
            "--warmup",
            "0.2",
            "--concurrency",
            "4",
            "--rounds",
            "1",
            "--n",
            "2000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    import json

    fig = json.loads(r.stdout)
    assert fig["results"]["interp"]["rps"] > 0 and fig["results"]["process"]["rps"] > 0
    assert all(res["errors"] == 0 for res in fig["results"].values())
    if sys.version_info >= (3, 14):
        assert fig["results"]["stdlib-interp"]["rps"] > 0


# ------------------------------------------------------------------ 6. the README


def test_readme_asyncio_example_runs():
    text = (ROOT / "README.md").read_text()
    start = text.index("## asyncio")
    block = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    r = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
