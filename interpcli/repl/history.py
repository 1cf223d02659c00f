"""Where the shell keeps its history: $INTERP_HISTORY, else the user data directory
($XDG_DATA_HOME/interpcli/history, by default ~/.local/share/interpcli/history).
The file is created with mode 0600 (private: it holds what was typed); an empty
INTERP_HISTORY keeps history in memory only."""
from __future__ import annotations

import os

ENV = "INTERP_HISTORY"


def history_path(environ=os.environ) -> str | None:
    """The history file's path, or None when history must not be saved."""
    if ENV in environ:
        value = environ[ENV]
        return os.path.expanduser(value) if value.strip() else None
    base = environ.get("XDG_DATA_HOME", "").strip()
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "interpcli", "history")


def prepare(path: str) -> None:
    """Make the file (and its folder, mode 0700) exist, private to the user (0600)."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def make_history(path: str | None):
    """(prompt_toolkit history, path or None when not saved, warning or None)."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory, ThreadedHistory
    if path is None:
        return InMemoryHistory(), None, None
    try:
        prepare(path)
    except OSError as exc:
        return InMemoryHistory(), None, (f"history not saved: cannot use {path}: "
                                         f"{exc.strerror or exc}")
    return ThreadedHistory(FileHistory(path)), path, None
