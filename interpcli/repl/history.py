"""Where the shell keeps its history: $INTERP_HISTORY, else the user data directory
($XDG_DATA_HOME/interpcli/history, by default ~/.local/share/interpcli/history).
A file the shell creates gets mode 0600 (private: it holds what was typed); an existing
file keeps its mode. Only a regular file is used: a device, a FIFO or a directory at that
path gives a warning and history in memory (nothing there is opened for writing in a way
that could block, nor chmod-ed). A write that fails later is one warning, after which
history stays in memory. An empty INTERP_HISTORY keeps history in memory only."""

from __future__ import annotations

import os
import stat

ENV = "INTERP_HISTORY"

# never block on a FIFO, never take a terminal as controlling tty, never follow into a
# non-regular file unnoticed (fstat checks what was opened)
_FLAGS = os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class HistoryFileError(OSError):
    """The history path is not a usable regular file."""


def history_path(environ=os.environ) -> str | None:
    """The history file's path, or None when history must not be saved."""
    if ENV in environ:
        value = environ[ENV]
        return os.path.expanduser(value) if value.strip() else None
    base = environ.get("XDG_DATA_HOME", "").strip()
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "interpcli", "history")


def _open_regular(path: str, flags: int) -> int:
    """os.open(path) for a regular file only: HistoryFileError (nothing changed) for
    anything else. A missing file is created with mode 0600 when flags has O_CREAT."""
    fd = os.open(path, flags | _FLAGS, 0o600)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise HistoryFileError("not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def prepare(path: str) -> None:
    """Make the file (and its folder, mode 0700) exist; a file made here is private to
    the user (0600). An existing file is left as it is; it must be a regular file."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise HistoryFileError("not a regular file")
    os.close(_open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT))


def _describe(exc: OSError) -> str:
    if isinstance(exc, HistoryFileError):
        return str(exc)
    return exc.strerror or str(exc) or type(exc).__name__


def _safe_file_history(path: str):
    """prompt_toolkit's FileHistory that reads and appends through _open_regular, and
    turns a failing write into one warning (history then stays in memory)."""
    from prompt_toolkit.history import FileHistory

    class SafeFileHistory(FileHistory):
        failed = False

        def load_history_strings(self):
            try:
                fd = _open_regular(os.fsdecode(self.filename), os.O_RDONLY)
            except OSError:
                return []
            import io

            with open(fd, "rb", closefd=True) as f:
                data = f.read()
            strings, lines = [], []
            for raw in io.BytesIO(data):
                line = raw.decode("utf-8", errors="replace")
                if line.startswith("+"):
                    lines.append(line[1:])
                else:
                    if lines:
                        strings.append("".join(lines)[:-1])
                    lines = []
            if lines:
                strings.append("".join(lines)[:-1])
            return reversed(strings)

        def store_string(self, string: str) -> None:
            if self.failed:
                return
            import datetime

            text = f"\n# {datetime.datetime.now()}\n" + "".join(
                f"+{line}\n" for line in string.split("\n")
            )
            data = text.encode("utf-8", errors="replace")
            try:
                fd = _open_regular(
                    os.fsdecode(self.filename), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                )
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                finally:
                    os.close(fd)
            except OSError as exc:
                self.failed = True
                from . import render

                name = os.fsdecode(self.filename)
                render.error(
                    f"history not saved any more: cannot write {name}: "
                    f"{_describe(exc)}; it stays in memory for this session"
                )

    return SafeFileHistory(path)


def make_history(path: str | None):
    """(prompt_toolkit history, path or None when not saved, warning or None)."""
    from prompt_toolkit.history import InMemoryHistory, ThreadedHistory

    if path is None:
        return InMemoryHistory(), None, None
    try:
        prepare(path)
    except OSError as exc:
        return InMemoryHistory(), None, (f"history not saved: cannot use {path}: {_describe(exc)}")
    return ThreadedHistory(_safe_file_history(path)), path, None
