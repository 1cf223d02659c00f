"""`interp shell`: an interactive REPL over interpcli's interpreters and channels.

Modules by concern: loop (the read-eval loop), shell (state, runs, background jobs),
commands (the command table and parser), actions (one handler per command), completer,
keys (key bindings), ui (prompt, toolbar, highlighting), render (messages and rich
tables), bridge (interpreters' output), pysource (Python input), history.
prompt_toolkit and rich load only here, and only when the shell starts."""

from __future__ import annotations


def main(shared_gil: bool = False) -> int:
    """Run the shell on the terminal; return the exit status."""
    from .loop import main as run

    return run(shared_gil)
