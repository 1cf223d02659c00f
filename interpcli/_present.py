"""How interp shows runs to people, shared by the CLI (cli.report) and the shell
(repl.render): one-line messages, a failed run's traceback text, a RunResult's outcome and
its cells in a results table, and the rich table that holds them. rich is imported only
when a table is drawn."""


def one_line(message) -> str:
    """A message on one line (its whitespace runs, newlines included, become one space)."""
    return " ".join(str(message).split())


def error_line(prog: str, message) -> str:
    """`prog: message`, one line: how interp and its commands report a problem."""
    return f"{prog}: {one_line(message)}\n"


def failure_text(result, traceback: str | None = None) -> str:
    """What python prints for the exception that ended a run: its traceback (the result's,
    or the one given, e.g. with the shell's frames taken out), else `Type: message`."""
    tb = result.traceback if traceback is None else traceback
    if not tb:
        if not result.exc_type:
            return ""
        tb = f"{result.exc_type}: {result.exc_message}" if result.exc_message else result.exc_type
    return tb if tb.endswith("\n") else tb + "\n"


def outcome(result) -> str:
    """A short word for how a run ended: ok, the exception type, or the exit status."""
    if result.completed:
        return "ok"
    if result.exc_type == "SystemExit":
        return f"exit {result.exit_code}"
    if result.timed_out:
        return "timed out"
    return result.exc_type or "failed"


def exception_text(result, width: int = 60) -> str:
    """The exception cell of a run ('' when it completed), at most width characters."""
    if result.completed:
        return ""
    if result.exc_type == "SystemExit":
        return f"SystemExit({result.exit_code})"
    if result.timed_out:
        return "TimeoutError: " + (result.exc_message or "")
    text = result.exc_type or ""
    if result.exc_message:
        text += f": {result.exc_message}"
    return shorten(text, width)


def shorten(text: str, width: int) -> str:
    """text cut to width characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def completed_cell(result) -> str:
    return "yes" if result is not None and result.completed else "no"


def duration_text(seconds: float, short: bool = False) -> str:
    """A run's duration: `0.012 s`; short: `12.0 ms` under a second, else `1.23 s`."""
    if not short:
        return f"{seconds:.3f} s"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def results_table(columns, rows, completed: str = "completed", **options):
    """A rich Table of results: columns are (heading, rich column options) pairs, rows
    lists of plain-text cells (never read as rich markup); the completed column is green
    for "yes" and red otherwise."""
    from rich.table import Table
    from rich.text import Text

    table = Table(**options)
    heads = [head for head, _ in columns]
    for head, kw in columns:
        table.add_column(head, **kw)
    done = heads.index(completed) if completed in heads else -1
    for row in rows:
        cells = [Text(c) for c in row]
        if done >= 0:
            cells[done].stylize("green" if row[done] == "yes" else "red")
        table.add_row(*cells)
    return table
