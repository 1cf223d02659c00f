"""Interpreters' output, brought to the shell's terminal through one channel.

Each interpreter of the shell gets sys.stdout and sys.stderr objects that send their text
(line-buffered, tagged b"o" or b"e") on one shared channel. A reader thread in the shell
writes it to the shell's own stdout/stderr (render.write), above the prompt while the
user types: background jobs can print meanwhile.

After a foreground run the shell calls sync(): it sends a marker behind the run's output
and waits until the reader has written everything before it (no polling)."""
from __future__ import annotations

import itertools
import threading

from .. import _xiframe
from . import render
from .pysource import INTERNAL, RUNNER_SOURCE

# The stream class of the `_interp_shell` module made in each interpreter (beside the
# runner); its functions see that module's globals, never the user's __main__.
STREAM_SOURCE = '''
class ShellStream:
    """A text stream that sends its lines to the shell (line-buffered)."""

    def __init__(self, chan, tag, orig):
        self._chan, self._tag, self._orig, self._buf = chan, tag, orig, []
        self.encoding, self.errors = "utf-8", "backslashreplace"

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if s:
            self._buf.append(s)
            if "\\n" in s or self._tag == b"e":
                self.flush()
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._buf:
            data = "".join(self._buf)
            self._buf.clear()
            try:
                self._chan.send_nowait(self._tag + data.encode("utf-8", "backslashreplace"))
            except EOFError:
                pass

    def isatty(self):
        try:
            return self._orig.isatty()
        except Exception:
            return False

    def fileno(self):
        return self._orig.fileno()

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    @property
    def closed(self):
        return False

    @property
    def buffer(self):
        return self._orig.buffer


def install(chan):
    import sys
    global out
    out = chan
    sys.stdout = ShellStream(chan, b"o", sys.__stdout__)
    sys.stderr = ShellStream(chan, b"e", sys.__stderr__)
'''


def bootstrap_source() -> str:
    """Run once in each new interpreter with channels={"out": <the bridge channel>}."""
    module = RUNNER_SOURCE + STREAM_SOURCE
    return ("import sys as _s, types as _t\n"
            "_m = _t.ModuleType('_interp_shell')\n"
            "_s.modules['_interp_shell'] = _m\n"
            f"exec(compile({module!r}, {INTERNAL!r}, 'exec'), _m.__dict__)\n"
            "_m.install(channels.out)\n"
            "del _s, _t, _m, channels\n")


# errors in a row after which the reader stops (rather than spin on one that recurs)
_MAX_ERRORS = 3


class OutputBridge:
    """The shared output channel and the reader thread that writes what arrives."""

    def __init__(self):
        from interpcli.channels import create_duplex
        self.channel = create_duplex()
        self._markers: dict[bytes, threading.Event] = {}
        self._lock = threading.Lock()
        self._count = itertools.count()
        self._thread = threading.Thread(target=self._read, name="interp-shell-output",
                                        daemon=True)
        self._thread.start()

    def _read(self):
        errors = 0
        while True:
            try:
                msg = self.channel.recv()
            except EOFError:
                break
            except BaseException:       # a stray error; one that recurs ends the reader
                errors += 1
                if errors >= _MAX_ERRORS:
                    break
                continue
            errors = 0
            data = bytes(msg)
            tag, body = data[:1], data[1:]
            if tag == _xiframe.SHELL_MARK:
                with self._lock:
                    ev = self._markers.pop(body, None)
                if ev is not None:
                    ev.set()
                continue
            render.write(body.decode("utf-8", "replace"), err=tag == _xiframe.SHELL_ERR)
        with self._lock:
            pending = list(self._markers.values())
            self._markers.clear()
        for ev in pending:
            ev.set()

    def sync(self, timeout: float = 10.0) -> None:
        """Return once everything interpreters sent so far has been written."""
        token = str(next(self._count)).encode()
        ev = threading.Event()
        with self._lock:
            self._markers[token] = ev
        try:
            self.channel.send_nowait(_xiframe.SHELL_MARK + token)
        except EOFError:
            return
        ev.wait(timeout)

    def close(self) -> None:
        try:
            self.sync(5.0)
        finally:
            self.channel.close()
            self._thread.join(5.0)
