"""Imported by the line `interp run` runs before a script, in its thread
(interpcli.cli.ctrlc.SIGNALS): that thread becomes the script's main thread for signals,
and the stdlib's signal functions (_signals_sub), its blocking calls (_signals_waits), its
reads of stdin (_signals_stdin), its locks (_signals_locks) and the calls that start
programs (_signals_children) are replaced in the interpreter."""

from . import _signals_children, _signals_locks, _signals_stdin, _signals_sub, _signals_waits


def install() -> None:
    """Everything above, in that order: the wake-up fd exists before any wait."""
    _signals_sub.install()
    _signals_children.install()
    _signals_waits.install()
    _signals_stdin.install()
    _signals_locks.install()


def main_thread() -> None:
    """The calling thread is the script's main thread from now on, for signals and lock
    waits (instead of the one that ran install())."""
    _signals_sub.set_main_thread()
    _signals_locks.set_main_thread()
