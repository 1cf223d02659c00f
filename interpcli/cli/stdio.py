"""Pumps between the process's stdin/stdout and channels (`--stdin CH`, `--stdout CH`,
the two ends of `interp pipe`).

StdinPump reads the file descriptor in chunks and lends each chunk to the channel with a
blocking send_buffer: the receiver reads our memory directly (no copy), and we read the
next chunk only once the previous one was taken, so memory stays bounded whatever the
input size. At EOF it closes the channel. StdoutPump writes every message it receives to
the file descriptor as it arrives, straight from the message's memory (a memoryview lent
along a pipeline goes from the last stage to the kernel without a copy).

Neither polls: the stdin pump waits in poll() on its descriptor and on a wake-up pipe (so
it can be stopped while stdin is idle), the stdout pump in the channel's recv."""

import errno
import os
import threading

from .._platform import is_invalid, wait_readable, wait_writable

CHUNK = 1 << 20  # read size: reads from a pipe return at most what the pipe holds


class StdinPump:
    """Copy fd (stdin) into a channel until EOF, then close the channel."""

    def __init__(self, channel, fd: int = 0, chunk: int = CHUNK, on_done=None):
        self.channel = channel
        self.fd = fd
        self.chunk = chunk
        self.error: OSError | None = None
        self._on_done = on_done
        self._stop_r, self._stop_w = os.pipe()
        self._stopped = False
        self._thread = threading.Thread(target=self._main, name="interp-stdin", daemon=True)

    def start(self) -> None:
        from .signals import start_thread

        start_thread(self._thread)

    def stop(self) -> None:
        """Stop reading (the readers are gone); wakes a pump waiting for input."""
        if not self._stopped:
            self._stopped = True
            try:
                os.write(self._stop_w, b"x")
            except OSError:
                pass

    def join(self) -> None:
        self._thread.join()
        for fd in (self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _main(self) -> None:
        from ..errors import ChannelClosedError

        send = self.channel.send_buffer
        try:
            if _is_regular_file(self.fd):
                self._pump_file(send, ChannelClosedError)
                return
            while True:
                events = wait_readable((self.fd, self._stop_r))
                if self._stop_r in events:
                    return
                if is_invalid(events.get(self.fd, 0)):
                    return  # stdin is not open: nothing to send
                try:
                    data = os.read(self.fd, self.chunk)
                except BlockingIOError:
                    continue  # a non-blocking stdin with nothing yet: wait again
                except InterruptedError:
                    continue
                if not data:
                    return
                try:
                    send(data)
                except ChannelClosedError:
                    return  # nobody reads any more: like SIGPIPE for a writer
                del data
        except OSError as exc:
            if exc.errno not in (errno.EBADF, errno.EIO):
                self.error = exc.with_traceback(None)
        finally:
            try:
                self.channel.close()
            except Exception:  # closing an already closed channel
                pass
            if self._on_done is not None:
                self._on_done(self)

    def _pump_file(self, send, closed_error) -> None:
        """stdin is a regular file (`< file`): two threads read alternate chunks with
        pread, since copying out of the page cache is most of a pipe's work and two cores
        do it in half the time. Chunks are sent in order, each once the previous one was
        taken (at most two are read ahead), and the file offset is left after what was
        sent, as reads would leave it. The first short read is the end of the file."""
        fd, chunk = self.fd, self.chunk
        start = os.lseek(fd, 0, os.SEEK_CUR)
        turn = threading.Condition()
        state: dict = {"next": 0, "done": False, "offset": start, "error": None}

        def reader(first: int) -> None:
            i = first
            while True:
                data = b""
                if not (state["done"] or self._stopped):
                    try:
                        data = os.pread(fd, chunk, start + i * chunk)
                    except OSError as exc:
                        with turn:
                            state["error"] = state["error"] or exc
                            state["done"] = True
                            turn.notify_all()
                        return
                with turn:
                    while state["next"] != i and not state["done"]:
                        turn.wait()
                    if state["done"] or self._stopped:
                        state["done"] = True
                        turn.notify_all()
                        return
                sent = True
                if data:
                    try:
                        send(data)  # ours alone: the other reader waits for its turn
                    except closed_error:
                        sent = False  # nobody reads any more: like SIGPIPE for a writer
                    except BaseException:
                        with turn:  # never leave the other reader waiting
                            state["done"] = True
                            turn.notify_all()
                        raise
                with turn:
                    if sent:
                        state["offset"] = start + i * chunk + len(data)
                    if not sent or len(data) < chunk:
                        state["done"] = True
                    state["next"] = i + 1
                    turn.notify_all()
                del data
                i += 2

        other = threading.Thread(target=reader, args=(1,), name="interp-stdin-2", daemon=True)
        from .signals import start_thread

        start_thread(other)
        try:
            reader(0)
        finally:
            other.join()
            try:
                os.lseek(fd, state["offset"], os.SEEK_SET)
            except OSError:
                pass
        if state["error"] is not None:
            raise state["error"]


def _is_regular_file(fd: int) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


class StdoutPump:
    """Write every message received on a channel to fd (stdout), until the channel closes.

    A closed stdout (EPIPE: `| head -c 100`) closes the channel, so the writers get
    ChannelClosedError; `broken` tells the caller it was a broken pipe."""

    def __init__(self, channel, fd: int = 1, on_done=None):
        self.channel = channel
        self.fd = fd
        self.broken = False
        self.error: OSError | None = None
        self._on_done = on_done
        self._thread = threading.Thread(target=self._main, name="interp-stdout", daemon=True)

    def start(self) -> None:
        from .signals import start_thread

        start_thread(self._thread)

    def join(self) -> None:
        self._thread.join()

    def _main(self) -> None:
        write = os.write
        fd = self.fd
        try:
            for msg in self.channel:
                view = memoryview(msg)
                if view.format != "B" or view.ndim != 1:
                    view = view.cast("B")
                n = len(view)
                done = 0
                while done < n:
                    try:
                        done += write(fd, view[done:] if done else view)
                    except BlockingIOError:
                        _wait_writable(fd)
                    except InterruptedError:
                        pass
                view.release()
                del view, msg
        except BrokenPipeError:
            self.broken = True
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                self.broken = True
            else:
                self.error = exc.with_traceback(None)  # no frame (and no lent view) kept
        finally:
            try:
                self.channel.close()
            except Exception:
                pass
            if self._on_done is not None:
                self._on_done(self)


def _wait_writable(fd: int) -> None:
    wait_writable(fd)
