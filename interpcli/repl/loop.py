"""The read-eval loop of `interp shell`: a PromptSession over a Shell.

EOFError (Ctrl-D) leaves, closing every interpreter; KeyboardInterrupt at the prompt
clears the line; KeyboardInterrupt while code runs interrupts that code (the Shell shows
its result); any other error is one line and the loop goes on."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from . import render
from .pysource import needs_more
from .shell import Shell


def make_session(shell, history, *, input=None, output=None):
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.enums import EditingMode

    from .completer import ShellCompleter
    from .keys import key_bindings
    from .ui import STYLE, ShellLexer, continuation, prompt_message, toolbar

    session = PromptSession(
        message=lambda: prompt_message(shell),
        prompt_continuation=continuation(shell),
        multiline=True,
        key_bindings=key_bindings(),
        lexer=ShellLexer(),
        completer=ShellCompleter(shell),
        complete_while_typing=False,
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        enable_history_search=False,
        enable_open_in_editor=True,
        bottom_toolbar=lambda: toolbar(shell),
        style=STYLE,
        editing_mode=EditingMode.EMACS,
        input=input,
        output=output,
    )
    shell.on_change = session.app.invalidate
    return session


def interactive(shell, session) -> int:
    """Prompt and run until exit; the exit status (1 if the prompt itself kept failing)."""
    failures = 0
    while not shell.exiting:
        try:
            with render.prompting(), _keeping_sigint():
                text = session.prompt()
            failures = 0
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        except Exception as exc:  # a bug of ours in drawing the prompt
            render.error(f"internal error: {type(exc).__name__}: {exc}")
            failures += 1
            if failures >= 3:
                render.error("the prompt keeps failing; leaving")
                return 1
            continue
        try:
            shell.execute(text)
        except KeyboardInterrupt:
            render.error("KeyboardInterrupt")
    return 0


@contextlib.contextmanager
def _keeping_sigint():
    """Put Python's SIGINT handler back after the prompt. prompt_toolkit (3.0.53) leaves
    asyncio's no-op handler installed when it has reported an exception of a background
    task (a failing completer): Ctrl-C would then no longer interrupt running code."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if main else None
    try:
        yield
    finally:
        if main and before is not None and signal.getsignal(signal.SIGINT) is not before:
            signal.signal(signal.SIGINT, before)


def plain(shell, stream) -> None:
    """Inputs from a pipe or file: lines grouped into inputs as python's REPL would."""
    pending: list[str] = []
    for line in stream:
        pending.append(line.rstrip("\n"))
        text = "\n".join(pending)
        if needs_more(text):
            continue
        pending.clear()
        try:
            shell.execute(text)
        except KeyboardInterrupt:
            render.error("KeyboardInterrupt")
        if shell.exiting:
            return
    if pending:
        shell.execute("\n".join(pending) + "\n")


def main(shared_gil: bool = False, *, input=None, output=None, environ=None) -> int:
    """Run the shell until exit or Ctrl-D; the exit status (0)."""
    import os

    from interpcli import __version__

    from .history import history_path, make_history

    environ = os.environ if environ is None else environ
    tty = input is not None or (sys.stdin.isatty() and sys.stdout.isatty())
    try:
        shell = Shell(shared_gil=shared_gil)
    except Exception as exc:  # e.g. the first interpreter cannot be made
        render.error(f"interp shell: cannot start: {exc}")
        return 1
    try:
        if not tty:
            plain(shell, sys.stdin)
            return 0
        history, path, warning = make_history(history_path(environ))
        render.say(render.banner(__version__, path))
        if warning:
            render.error(warning)
        session = make_session(shell, history, input=input, output=output)
        return interactive(shell, session)
    finally:
        shell.shutdown()
