"""Reads of standard input that a signal's handler interrupts on a script's main thread
(`interp run`; docs/signals.md), as python's main thread has them. When stdin is a
terminal, a pipe or a socket (a read that can block), sys.stdin and sys.__stdin__ become
python's stack (a TextIOWrapper over a BufferedReader) over a FileIO whose reads first wait
for the fd in a wait a signal ends (_signals_waits._wait_ready): the handlers run, and the
read goes on unless one raised (PEP 475). input() on a terminal, which CPython reads
through C stdio when no readline module is loaded, reads through it too, with python's
prompt on stderr and its errors. Other threads read as before."""

import _thread
import builtins
import io
import os
import stat
import sys

from . import _signals_sub as _s
from . import _signals_waits as _w

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

_POLLIN = 1  # select.POLLIN (select is not imported for it)
_orig_input = builtins.input
_stdin = None  # the sys.stdin install() made


_readinto, _read, _readall = io.FileIO.readinto, io.FileIO.read, io.FileIO.readall


class _StdinFileIO(io.FileIO):
    """FileIO whose reads on the script's main thread wait for input first, in a wait a
    signal's handler interrupts."""

    _poll = None  # its poll object (the fd and the wake-up fd), made at the first wait

    def _wait(self) -> None:
        p = self._poll
        if p is None:
            p = self._poll = _w._poller(self.fileno(), _POLLIN)
        ready = _s._blocking(p.poll)
        if len(ready) != 1 or ready[0][0] != self.fileno():  # woken (perhaps ready too)
            _s._after_wake()
            if not any(fd == self.fileno() for fd, _events in ready):
                _w._wait_polled(p)

    def readinto(self, buffer, /):
        if _thread.get_ident() == _s._main:
            self._wait()
        return _readinto(self, buffer)

    def read(self, size=-1, /):
        if size is None or size < 0:
            return self.readall()
        if _thread.get_ident() == _s._main:
            self._wait()
        return _read(self, size)

    def readall(self):
        if _thread.get_ident() != _s._main:
            return _readall(self)
        chunks = []
        while True:
            self._wait()
            data = _read(self, 1 << 16)
            if data is None:  # non-blocking and nothing yet: as FileIO.readall
                if chunks:
                    break
                return None
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def install() -> None:
    """Put the interruptible stack in place of sys.stdin when a read of it can block."""
    global _stdin
    old = sys.stdin
    if old is None or old is not sys.__stdin__ or type(old) is not io.TextIOWrapper:
        return
    buffer = old.buffer
    if type(buffer) is not io.BufferedReader or type(buffer.raw) is not io.FileIO:
        return
    raw = buffer.raw
    try:
        fd = raw.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return  # a regular file (or a device that never blocks): python's own reads
    new_raw = _StdinFileIO(fd, "rb", closefd=raw.closefd)
    new_raw.name = raw.name
    new = io.TextIOWrapper(
        io.BufferedReader(new_raw),
        encoding=old.encoding,
        errors=old.errors,
        newline="\n",  # as python's sys.stdin on POSIX: no newline translation
        line_buffering=old.line_buffering,
    )
    patched: Any = new  # typeshed's TextIOWrapper.mode is read-only, sys.__stdin__ final
    patched.mode = "r"
    sysmod: Any = sys
    _stdin = sys.stdin = sysmod.__stdin__ = new
    input.__module__ = "builtins"  # as the builtin it stands in for says
    builtins.input = input


def input(prompt="", /):
    """input() as python's: on a terminal (no readline module loaded) the prompt goes to
    stderr and the line is read through sys.stdin, in a read a signal interrupts."""
    if not _reads_the_terminal():
        return _orig_input(prompt)
    sys.audit("builtins.input", prompt)
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except Exception:
            pass
    if prompt:
        sys.stderr.write(str(prompt))
        sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    if line.endswith("\n"):
        line = line[:-1]
    sys.audit("builtins.input/result", line)
    return line


def _reads_the_terminal() -> bool:
    """input() would read the terminal through C stdio (CPython's tty path)."""
    stdin = sys.stdin
    if _thread.get_ident() != _s._main or "readline" in sys.modules or stdin is not _stdin:
        return False
    try:
        out = sys.stdout
        return (
            stdin is not None
            and out is not None
            and stdin.fileno() == 0
            and out.fileno() == 1
            and os.isatty(0)
            and os.isatty(1)
        )
    except (AttributeError, OSError, ValueError):
        return False
