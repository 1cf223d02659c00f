"""asyncio support: await channels, queues and runs, woken by the core.

    import asyncio, interpcli

    async def main():
        interp = interpcli.create()
        recv, send = interpcli.create_channel()
        task = asyncio.create_task(interp.run_async("channels.out.send(b'hi')",
                                                    channels={"out": send}))
        print(await recv.recv_async())          # b'hi'
        print((await task).completed)           # True

    asyncio.run(main())

Awaitable forms of the blocking calls, named after them (`recv_async`, `send_async` on
channel ends, `get_async`/`put_async` on `interpcli.interpreters` queues, `run_async` and
`call_async` on interpreters); this module's `recv`, `send` and `messages` are the same for
any end. No thread waits for them: each event loop has one Notifier (an eventfd the loop
watches); a waiter leaves a one-shot watch on its channel, and whoever changes that channel,
in any interpreter or thread, posts the waiter's token and writes the eventfd. The loop then
retries the non-blocking operation for just those waiters.

As with asyncio's own queues there is no timeout argument: use `asyncio.timeout()`.
Cancelling withdraws the operation: a cancelled receive takes no message, a cancelled send
is not delivered (unless a receiver took it before the cancellation came: then it was),
a cancelled run is interrupted (KeyboardInterrupt inside it) and awaited until it has
stopped, so its interpreter is free again when the CancelledError arrives.

Runs need an OS thread to drive the interpreter (code runs on the thread that runs it):
`run_async` and `call_async` use a small pool of driver threads, one per run going on,
kept idle (parked, no CPU) for reuse; their completion wakes the loop through the same
notifier."""

from __future__ import annotations

import asyncio
import itertools
import queue as _queue
import threading
import weakref

from . import _lowlevel

__all__ = ["recv", "send", "messages"]

_EMPTY = object()
_ITEM_DONE = _lowlevel.ITEM_DONE
_ITEM_WITHDRAWN = _lowlevel.ITEM_WITHDRAWN


class _Hub:
    """One event loop's notifier and the waiters on it (used from the loop's thread)."""

    def __init__(self, loop):
        self._n = _lowlevel.Notifier()
        self._fd = self._n.fileno()
        self._waiters: dict = {}  # token -> future
        self._watched: dict = {}  # token -> end, watches that have not fired
        self._tokens = itertools.count(1)
        self._loopref = weakref.ref(loop)
        self._closed = False
        loop.add_reader(self._fd, self._on_ready)

    def _on_ready(self):
        tokens = self._n.drain()
        if tokens is None:  # the core ran out of memory storing tokens
            tokens = list(self._waiters)
        pop, unwatched = self._waiters.pop, self._watched.pop
        for t in tokens:
            unwatched(t, None)
            fut = pop(t, None)
            if fut is not None and not fut.done():
                fut.set_result(None)

    def future(self, token=None):
        """A future that the posting of token completes (a new token unless given)."""
        if token is None:
            token = next(self._tokens)
        fut = self._loopref().create_future()
        self._waiters[token] = fut
        return token, fut

    def watch(self, end):
        """A future completed by the next change of end's channel."""
        token = next(self._tokens)
        fut = self._loopref().create_future()
        self._n.watch(end, token)
        self._waiters[token] = fut
        self._watched[token] = end
        return token, fut

    def forget(self, token):
        self._waiters.pop(token, None)
        end = self._watched.pop(token, None)
        if end is not None:
            self._n.unwatch(end, token)

    def close(self):
        """Unregister everything and close the notifier (its eventfd closes with it)."""
        if self._closed:
            return
        self._closed = True
        loop = self._loopref()
        if loop is not None and not loop.is_closed():
            try:
                loop.remove_reader(self._fd)
            except Exception:  # the loop is going away
                pass
        for token, end in list(self._watched.items()):
            self._n.unwatch(end, token)
        self._watched.clear()
        self._waiters.clear()
        self._n.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


_hubs: dict[int, weakref.ref[_Hub]] = {}


def _hub() -> _Hub:
    loop = asyncio.get_running_loop()
    ref = _hubs.get(id(loop))
    hub = ref() if ref is not None else None
    if hub is None or hub._loopref() is not loop or hub._closed:
        # the loop keeps its hub alive (through the reader callback); this map does not
        for key in [k for k, r in _hubs.items() if r() is None]:
            del _hubs[key]
        hub = _Hub(loop)
        _hubs[id(loop)] = weakref.ref(hub)
    return hub


# ------------------------------------------------------------------ channels


async def _until(end, attempt):
    """attempt() until it returns something but _EMPTY, waiting for changes of end's
    channel in between (a watch first, then one more attempt, so no change is missed)."""
    res = attempt()
    if res is not _EMPTY:
        return res
    hub = _hub()
    while True:
        token, fut = hub.watch(end)
        try:
            res = attempt()
            if res is not _EMPTY:
                return res
            await fut
        finally:
            hub.forget(token)


async def recv(end):
    """The next message of a receiving end (bytes, or a memoryview for send_buffer).
    ChannelClosedError once the channel is closed and drained. Cancelling takes nothing."""
    try:
        attempt = end.recv_nowait
    except AttributeError:
        raise TypeError(f"expected a receiving channel end, not {type(end).__name__!r}") from None
    msg = attempt(_EMPTY)
    if msg is not _EMPTY:
        return msg
    return await _until(end, lambda: attempt(_EMPTY))


async def send(end, obj):
    """Send a copy of a bytes-like object and complete when a receiver has taken it.
    Cancelling withdraws the message if no receiver has taken it yet."""
    hub = _hub()
    token, fut = hub.future()
    try:
        ticket = hub._n.send(end, obj, token)
    except BaseException:
        hub.forget(token)
        raise
    try:
        while True:
            state = ticket.state
            if state == _ITEM_DONE:
                return
            if state == _ITEM_WITHDRAWN:
                from .errors import ChannelClosedError

                raise ChannelClosedError(f"channel {end.id} is closed")
            await fut
            token, fut = hub.future(token)
    except BaseException:
        ticket.withdraw()  # not delivered, unless a receiver took it already
        raise
    finally:
        hub.forget(token)


async def messages(end):
    """Async iterator over a receiving end's messages, until the channel closes:
    `async for msg in interpcli.aio.messages(recv): ...`"""
    from .errors import ChannelClosedError

    while True:
        try:
            msg = await recv(end)
        except ChannelClosedError:
            return
        yield msg


# ------------------------------------------------------------------ runs


class _Drivers:
    """OS threads that drive runs for the event loops: one per run going on, kept parked
    for reuse. Not daemon threads (a subinterpreter must never be driven by one): at exit,
    before threading joins them, runs still going are interrupted and idle drivers end."""

    MAX_IDLE = 16

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list = []
        self._active: set = set()
        self._stopping = False
        self._registered = False

    def submit(self, job, canceller):
        with self._lock:
            if not self._registered:
                threading._register_atexit(self._stop)
                self._registered = True
            if self._stopping:
                canceller.cancel()  # the process is ending: it stops before it begins
            self._active.add(canceller)
            q = self._idle.pop() if self._idle else None
        if q is None:
            q = _queue.SimpleQueue()
            threading.Thread(target=self._driver, args=(q,), name="interpcli-aio-driver").start()
        q.put(job)

    def finished(self, canceller):
        with self._lock:
            self._active.discard(canceller)

    def _driver(self, q):
        while True:
            job = q.get()
            if job is None:
                return
            job()
            del job  # it refers to the loop's notifier: not kept while idle
            with self._lock:
                if self._stopping or len(self._idle) >= self.MAX_IDLE:
                    return
                self._idle.append(q)

    def _stop(self):
        with self._lock:
            self._stopping = True
            idle, self._idle = self._idle, []
            active = list(self._active)
        for q in idle:
            q.put(None)
        for canceller in active:
            try:
                canceller.cancel()
            except Exception:
                pass


_drivers = _Drivers()


async def _drive(interp_id, fn):
    """Run fn(canceller) on a driver thread; its return value, or its exception. When
    cancelled, interrupt the run and wait for it to stop before raising CancelledError."""
    hub = _hub()
    canceller = _lowlevel.Canceller(interp_id)
    token, fut = hub.future()
    box: list = []
    notifier = hub._n

    def job():
        try:
            box.append((True, fn(canceller)))
        except BaseException as exc:  # handed to the awaiting coroutine
            box.append((False, exc))
        finally:
            _drivers.finished(canceller)
            notifier.post(token)

    try:
        _drivers.submit(job, canceller)
        while not box:
            await fut
            token, fut = hub.future(token)
    except asyncio.CancelledError:
        # cancelled (asyncio.timeout, Ctrl-C in asyncio.run): stop the run, await its end
        canceller.cancel()
        while not box:
            token, fut = hub.future(token)
            if box:
                break
            try:
                await fut
            except asyncio.CancelledError:
                canceller.cancel()
        raise
    except BaseException:
        canceller.cancel()  # the coroutine is being closed: no waiting here
        raise
    finally:
        hub.forget(token)
    ok, value = box[0]
    if ok:
        return value
    raise value
