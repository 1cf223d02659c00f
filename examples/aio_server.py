"""An asyncio server whose CPU work runs in a pool of interpreters.

    python examples/aio_server.py [--port 8765] [--workers 2]
    printf '20000\\n5\\n' | nc -q1 127.0.0.1 8765     # one answer per request line

Each request is a line with a number n; the answer is sum(i*i for i in range(n)), about
1 ms of pure-Python work for n = 20000. The event loop only reads and writes sockets: the
work goes to interpreters (own GIL each, so in parallel with each other and the loop).
Each interpreter runs a persistent worker loop (started with `run_async`) that takes
requests from one shared channel and answers on another; the loop awaits the answers with
`interpcli.aio.messages`, woken by the core (no thread waits for them, nothing polls).

`--backend process` or `--backend stdlib-interp` (3.14+) serve the same requests through
`loop.run_in_executor` with a ProcessPoolExecutor or concurrent.futures'
InterpreterPoolExecutor instead (the anchors of bench/bench_aio_server.py)."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import itertools
import struct
import sys


def handle(payload: bytes) -> bytes:
    """The CPU work of one request: pure Python, about 1 ms for n = 20000."""
    n = int(payload)
    return str(sum(i * i for i in range(n))).encode()


WORKER = (
    inspect.getsource(handle)
    + """
recv, send = channels.requests, channels.replies
for msg in recv:                        # until the pool closes the request channel
    try:
        out = handle(msg[8:])
    except Exception as exc:
        out = b"error: " + repr(exc).encode()
    send.send_nowait(msg[:8] + out)     # the request's id, then the answer
"""
)


class InterpreterPool:
    """n interpreters, each running WORKER; `await pool.submit(payload)` -> answer."""

    def __init__(self, workers: int = 2):
        import interpcli
        from interpcli import aio

        self._aio = aio
        self._interps = [interpcli.create() for _ in range(workers)]
        self._req_recv, self._req_send = interpcli.create_channel()
        self._rep_recv, self._rep_send = interpcli.create_channel()
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count()
        self._runs: list[asyncio.Task] = []
        self._reader: asyncio.Task | None = None

    async def __aenter__(self):
        chans = {"requests": self._req_recv, "replies": self._rep_send}
        self._runs = [
            asyncio.create_task(i.run_async(WORKER, channels=chans)) for i in self._interps
        ]
        self._reader = asyncio.create_task(self._read_replies())
        return self

    async def _read_replies(self):
        pending = self._pending
        async for msg in self._aio.messages(self._rep_recv):
            fut = pending.pop(struct.unpack_from("<Q", msg)[0], None)
            if fut is not None and not fut.done():
                fut.set_result(msg[8:])

    async def submit(self, payload: bytes) -> bytes:
        rid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._req_send.send_nowait(struct.pack("<Q", rid) + payload)
        try:
            return await fut
        finally:
            self._pending.pop(rid, None)

    async def __aexit__(self, *exc):
        self._req_send.close()  # the workers' loops end
        for run in self._runs:
            result = await run
            if not result.completed and result.exc_type != "KeyboardInterrupt":
                print(f"worker failed: {result.exc_type}: {result.exc_message}", file=sys.stderr)
        self._rep_send.close()
        await self._reader
        for interp in self._interps:
            interp.close()


class ExecutorPool:
    """The anchors: the same work through loop.run_in_executor."""

    def __init__(self, kind: str, workers: int = 2):
        if kind == "process":
            from concurrent.futures import ProcessPoolExecutor

            self._ex = ProcessPoolExecutor(workers)
        else:
            try:
                from concurrent.futures import InterpreterPoolExecutor
            except ImportError:
                sys.exit("--backend stdlib-interp needs Python 3.14 or newer")
            self._ex = InterpreterPoolExecutor(workers)
        self._workers = workers

    async def __aenter__(self):
        loop = asyncio.get_running_loop()
        # start every worker before serving, as the interpreter pool does
        await asyncio.gather(
            *[loop.run_in_executor(self._ex, handle, b"1") for _ in range(self._workers * 2)]
        )
        return self

    async def submit(self, payload: bytes) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(self._ex, handle, payload)

    async def __aexit__(self, *exc):
        self._ex.shutdown(wait=True, cancel_futures=True)


def make_pool(backend: str, workers: int):
    if backend == "interp":
        return InterpreterPool(workers)
    return ExecutorPool(backend, workers)


async def serve(host: str, port: int, backend: str = "interp", workers: int = 2, ready=None):
    async with make_pool(backend, workers) as pool:
        writers = set()

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
            writers.add(writer)
            try:
                while line := await reader.readline():
                    try:
                        answer = await pool.submit(line.strip())
                    except Exception as exc:  # bad input: answer, keep serving
                        answer = f"error: {exc}".encode()
                    writer.write(answer + b"\n")
                    await writer.drain()
            except ConnectionError:
                pass
            except asyncio.CancelledError:
                # the server is stopping: end this connection quietly (3.12.1's streams
                # log a handler task that ends cancelled as "Exception in callback")
                pass
            finally:
                writers.discard(writer)
                writer.close()

        server = await asyncio.start_server(client, host, port)
        try:
            port = server.sockets[0].getsockname()[1]
            print(f"serving on {host}:{port} ({backend}, {workers} workers)", flush=True)
            if ready is not None:
                ready(port)
            # (not serve_forever(): when cancelled it waits for the clients to leave)
            await asyncio.get_running_loop().create_future()
        finally:
            server.close()
            for writer in list(writers):  # connected clients too (Ctrl-C)
                writer.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backend", choices=["interp", "process", "stdlib-interp"], default="interp")
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = ap.parse_args(argv)
    coro = serve(args.host, args.port, args.backend, args.workers)
    try:
        if args.uvloop:
            import uvloop

            uvloop.run(coro)
        else:
            asyncio.run(coro)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
