"""What the shell prints: the banner, one-line messages, results, and rich tables (the
results' cells and tables, and failures' text, as interpcli._present shows them for the
CLI too).

Every write goes through write() (the PromptOutput object `output`, which holds the prompt's
state), under one lock, to the current sys.stdout/sys.stderr. While the prompt is shown
(prompting()), those are prompt_toolkit's patch_stdout proxy, which puts text above the
prompt; otherwise they are the real streams, written at once,
so what a command prints comes before the next prompt. rich is imported only when a
table is drawn. Colour follows the terminal and NO_COLOR."""

from __future__ import annotations

import contextlib
import sys
import threading

from .. import _present as present
from .commands import COMMANDS, PREFIX, Command
from .pysource import clean_traceback

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any


class PromptOutput:
    """Where the shell's writes go, whichever thread makes them: while the prompt is shown
    (prompting()), text goes above it, never lost; otherwise it is written at once."""

    def __init__(self):
        self.lock = threading.RLock()
        self.prompt_session = None  # prompt_toolkit's app session while it is shown
        self.real_streams = None  # (stdout, stderr) as they were before the prompt
        self.undelivered: list = []  # [text, err] from other threads, not shown yet

    def write(self, text: str, err: bool = False) -> None:
        with self.lock:
            if self.prompt_session is not None:
                # the main thread too (a key handler, a history write): text written
                # through patch_stdout's proxy is lost when the prompt ends at once
                self._above_prompt([text, err])
            else:
                _write_now(text, err)

    def _above_prompt(self, entry: list) -> None:
        """Show entry above the prompt from the prompt's own event loop. patch_stdout's
        proxy schedules its writes on the loop too, but a prompt that ends at once
        (typed-ahead input) closes its loop first and the text is lost: a job's "[bg] ...
        result" line was. So the entry stays in undelivered until shown, and prompting()
        shows what is left when the prompt ends. Called with the lock held."""
        self.undelivered.append(entry)
        app = self.prompt_session.app
        loop = getattr(app, "loop", None) if app is not None and app.is_running else None
        if loop is None:
            return  # shown when the prompt ends

        def show():
            with self.lock:
                if any(e is entry for e in self.undelivered):
                    self.undelivered.remove(entry)
                    _write_now(entry[0], entry[1], self.real_streams)

        def deliver():
            from prompt_toolkit.application import run_in_terminal

            run_in_terminal(show, in_executor=False)

        try:
            loop.call_soon_threadsafe(deliver)
        except RuntimeError:
            pass  # the loop is closed: shown when the prompt ends

    @contextlib.contextmanager
    def prompting(self):
        """While the prompt is shown: text from other threads goes above it."""
        from prompt_toolkit.application import get_app_session
        from prompt_toolkit.patch_stdout import patch_stdout

        cm = patch_stdout(raw=True)
        with self.lock:
            self.real_streams = (sys.stdout, sys.stderr)
            cm.__enter__()
            self.prompt_session = get_app_session()
        try:
            yield
        finally:
            with self.lock:
                self.prompt_session = None
                cm.__exit__(None, None, None)  # flushes what came meanwhile
                left, self.undelivered[:] = self.undelivered[:], []
                for text, err in left:
                    _write_now(text, err)


def _write_now(text: str, err: bool, streams=None) -> None:
    out, errs = streams if streams is not None else (sys.stdout, sys.stderr)
    stream = errs if err else out
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass


output = PromptOutput()  # the shell's terminal (one per process, as the terminal is)


def write(text: str, err: bool = False) -> None:
    """Write text to the shell's stdout (or stderr), from any thread (output.write)."""
    output.write(text, err)


def prompting():
    """While the prompt is shown: text from other threads goes above it."""
    return output.prompting()


_ANSI = {"error": "31", "ok": "32", "note": "2", "warn": "33", "bold": "1"}


def _color_on(stream) -> bool:
    from .._term import colour_on

    return colour_on(stream)


def _paint(text: str, style: str | None, stream) -> str:
    if style and _color_on(stream):
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"
    return text


def say(text: str, style: str | None = None) -> None:
    """One line for the user on stdout."""
    write(_paint(text, style, sys.stdout) + "\n")


def error(text: str) -> None:
    """One clear line about something that went wrong; the shell goes on."""
    write(_paint(text, "error", sys.stderr) + "\n", err=True)


def banner(version: str, history: str | None) -> str:
    """The lines shown at start: what runs where, the command prefix, the keys."""
    py = ".".join(map(str, sys.version_info[:3]))
    lines = [
        f"interp shell {version} (Python {py}). Python runs in the interpreter the prompt names.",
        f"Commands start with {PREFIX}: {PREFIX}help lists them, {PREFIX}help spawn explains one.",
        "Ctrl-C interrupts running code, Ctrl-D exits.",
    ]
    if history is None:
        lines.append("(history is not saved)")
    return "\n".join(lines)


def help_text(cmd: Command | None = None) -> str:
    if cmd is None:
        width = max(len(c.usage) for c in COMMANDS)
        rows = [f"  {c.usage:<{width}}  {c.summary}" for c in COMMANDS]
        return (
            "Commands (anything else is Python for the current interpreter):\n"
            + "\n".join(rows)
            + f"\n{PREFIX}help COMMAND tells more. Tab completes commands, interpreter "
            f"and channel names."
        )
    import textwrap

    text = f"{cmd.usage}\n  {cmd.summary}."
    if cmd.details:
        text += "\n" + textwrap.fill(cmd.details, 88, initial_indent="  ", subsequent_indent="  ")
    if cmd.aliases:
        text += "\n  Also: " + ", ".join(PREFIX + a for a in cmd.aliases)
    return text


outcome = present.outcome


def show_failure(result) -> None:
    """The traceback of a run that did not complete, as python would show it."""
    if result.exc_type == "SystemExit":
        error(
            f"interpreter {result.interpreter.name!r} raised SystemExit "
            f"(exit status {result.exit_code}); the shell goes on"
        )
        return
    if result.completed:
        return
    tb = present.failure_text(result, clean_traceback(result.traceback))
    if _color_on(sys.stderr):
        tb = _highlight_traceback(tb)
    write(tb, err=True)


def _highlight_traceback(text: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonTracebackLexer

        return highlight(text, PythonTracebackLexer(), TerminalFormatter())
    except Exception:  # colour is a nicety
        return text


def job_line(number: int, job_name: str, result) -> str:
    """The line announcing that a background job ended."""
    head = f"[bg] {job_name}: result #{number}"
    if result.completed:
        return f"{head} ok in {result.duration:.3g} s"
    if result.exc_type == "SystemExit":
        return f"{head} exit status {result.exit_code}"
    msg = f": {result.exc_message}" if result.exc_message else ""
    return f"{head} {result.exc_type}{msg}"


def first_line(source: str, width: int = 40) -> str:
    lines = [ln for ln in source.strip().splitlines() if ln.strip()]
    text = lines[0].strip() if lines else ""
    if len(lines) > 1:
        text += " …"
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _print(console, renderable) -> None:
    """Render with rich, then write the text in one piece."""
    with console.capture() as cap:
        console.print(renderable)
    write(cap.get())


def interpreters_table(rows) -> None:
    """rows: (name, id, isolated, running, runs, current, job) tuples."""
    from rich.table import Table

    table = Table(title="interpreters", title_justify="left")
    columns: tuple[tuple[str, dict[str, Any]], ...] = (
        ("name", {"overflow": "fold"}),
        ("id", {"justify": "right"}),
        ("isolated", {}),
        ("running", {}),
        ("runs", {"justify": "right"}),
    )
    for col, kw in columns:
        table.add_column(col, no_wrap=col != "name", **kw)
    for name, iid, isolated, running, runs, current, job in rows:
        label = f"{name} *" if current else name
        run_text = "yes (bg)" if job else ("yes" if running else "no")
        table.add_row(
            label, str(iid), "yes" if isolated else "no (shared GIL)", run_text, str(runs)
        )
    _print(_console(), table)
    say("* current interpreter", "note")


def results_table(records) -> None:
    """records: (number, mode, RunResult) tuples. Every column but source is as wide as
    its content (capped); source takes the rest of the terminal's width."""
    from rich import box

    console = _console()
    heads = ["#", "interpreter", "source", "channels", "completed", "exception", "duration"]
    caps = [6, 20, None, 16, 9, 24, 9]
    rows = []
    for number, mode, r in records:
        who = f"{r.interpreter.name} ({r.interpreter.id})" + (" bg" if mode == "bg" else "")
        rows.append(
            [
                str(number),
                who,
                first_line(r.source, 200),
                ", ".join(r.channels),
                present.completed_cell(r),
                "" if r.completed else outcome(r),
                present.duration_text(r.duration, short=True),
            ]
        )
    if not any(row[3] for row in rows):
        del heads[3], caps[3]
        for row in rows:
            del row[3]
    src = heads.index("source")
    widths = [
        min(cap, max(len(h), *(len(row[i]) for row in rows))) if cap else 0
        for i, (h, cap) in enumerate(zip(heads, caps))
    ]
    rest = console.width - sum(widths) - 3 * (len(heads) - 1)
    widths[src] = max(8, min(rest, max(len(row[src]) for row in rows)))
    columns = [
        (
            h,
            {
                "width": widths[i],
                "no_wrap": True,
                "overflow": "ellipsis",
                "justify": "right" if h in ("#", "duration") else "left",
            },
        )
        for i, h in enumerate(heads)
    ]
    table = present.results_table(
        columns,
        rows,
        title="results",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    _print(console, table)


def result_detail(number: int, mode: str, r) -> None:
    say(
        f"result #{number} ({mode}) in {r.interpreter.name!r} (id {r.interpreter.id}): "
        f"{outcome(r)}, {r.duration:.3g} s",
        "bold",
    )
    say("source:")
    for line in r.source.rstrip("\n").splitlines() or [""]:
        say("    " + line)
    if r.channels:
        say("channels: " + ", ".join(r.channels))
    if not r.completed:
        show_failure(r)
