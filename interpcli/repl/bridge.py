"""Interpreters' output, brought to the shell's terminal through one channel.

Each interpreter of the shell gets sys.stdout and sys.stderr objects (interpcli._shell_sub)
that send their text (line-buffered, tagged b"o" or b"e") on one shared channel. A reader
thread in the shell writes it to the shell's own stdout/stderr (render.write), above the
prompt while the user types: background jobs can print meanwhile.

After a foreground run the shell calls sync(): it sends a marker behind the run's output
and waits until the reader has written everything before it (no polling)."""

from __future__ import annotations

import itertools
import threading

from .. import _xiframe
from . import render

# Run once in each new interpreter with channels={"out": <the bridge channel>}: the runner
# and the streams (interpcli._shell_sub), installed on that channel.
BOOTSTRAP = "__import__('interpcli._shell_sub', None, None, ['_']).boot(globals())\n"
# Run in an interpreter to move its output to another bridge channel, bound as channels.out.
REINSTALL = "__import__('interpcli._shell_sub', None, None, ['_']).install(channels.out)\n"


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
        self._thread = threading.Thread(target=self._read, name="interp-shell-output", daemon=True)
        self._thread.start()

    def _read(self):
        errors = 0
        while True:
            try:
                msg = self.channel.recv()
            except EOFError:
                break
            except BaseException:  # a stray error; one that recurs ends the reader
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
