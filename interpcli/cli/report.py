"""What `interp` writes on stderr: tracebacks and one-line messages, the results (a rich
table, JSON, or nothing) and a live status line while long runs go on; the texts and
tables as interpcli._present shows them for the shell too.

stdout carries only the scripts' data. rich is imported only when a table is drawn."""

import os
import sys
import time

from .environment import current as environment

SUBINTERPRETER_HINT = "does not support loading in subinterpreters"
FORK_REFUSED = "fork not supported for isolated subinterpreters"  # CPython's message
DAEMON_REFUSED = "daemon threads are disabled in this (sub)interpreter"


def error(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    from .. import _present as present  # not before something is shown

    _write_err(present.error_line(environment().program_name, message))


def usage_error(command_path: str, message: str) -> None:
    """A usage error in one line: `interp run: message (see 'interp run --help')`."""
    from .. import _present as present

    message = present.one_line(message).rstrip(".")
    _write_err(f"{command_path}: {message} (see '{command_path} --help')\n")


def _write_err(text: str) -> None:
    stderr = environment().stderr
    if stderr is None:
        return  # stderr closed at start (`2>&-`)
    try:
        stderr.write(text)
        stderr.flush()
    except (OSError, ValueError):
        pass


def report_failure(label: str, result, timeout: float | None) -> None:
    """Tell the user why a run failed, as python would: the traceback (or SystemExit's
    silence: the message of sys.exit("...") was printed by the interpreter), then our
    hints."""
    from .. import _present as present

    if result.exc_type != "SystemExit":
        text = present.failure_text(result)
        if text:
            _write_err(text)
        if result.timed_out:
            error(f"{label} timed out after {timeout:g} s")
    if result.exc_message and SUBINTERPRETER_HINT in result.exc_message:
        import re

        match = re.search(r"module (\S+) " + SUBINTERPRETER_HINT, result.exc_message)
        if match is None:
            what = "an extension module that cannot load"
        else:
            from .._extensions import package_of

            name = match.group(1)
            what = f"the extension module {name} (from {package_of(name, '')}), which cannot load"
        error(f"hint: {label} imports {what} in an isolated interpreter; run it with --shared-gil")

    if result.exc_type == "RuntimeError" and result.exc_message == FORK_REFUSED:
        error(
            f"hint: {label} forks, and CPython cannot fork from a subinterpreter (the "
            "child would die); use subprocess, or multiprocessing's 'spawn' or "
            "'forkserver' start method"
        )
    if result.exc_type == "RuntimeError" and result.exc_message == DAEMON_REFUSED:
        error(f"hint: {label} starts a daemon thread, which --strict refuses")


def _refused_in_failure(refusal, result) -> bool:
    """Did this refusal make the run fail (its ImportError is the run's exception)?"""
    message = result.exc_message if result is not None else None
    return message is not None and f"module {refusal[0]} {SUBINTERPRETER_HINT}" in message


def refusal_notes(jobs) -> list[str]:
    """One line per extension module that refused to load in a run's isolated
    interpreter while the program went on without it (msgpack and PyYAML fall back to
    pure Python so): which module, from which package, and that --shared-gil loads it.
    Refusals that made a run fail are told by its hint instead; the stdlib modules
    interp itself refuses where they would crash the process (datetime's and asyncio's
    accelerators on 3.12 and 3.13, see interpcli._extensions) only in the JSON, so that
    such common programs print what python prints; nor those whose stdlib caller has a
    pure-Python twin giving the same result (_extensions.QUIET)."""
    seen = set()
    notes = []
    for job in jobs:
        for refusal in job.refusals:
            name, path = refusal[0], refusal[1]
            if name in seen or _refused_in_failure(refusal, job.result):
                continue
            from .._extensions import QUIET, STDLIB_FALLBACK, package_of

            if STDLIB_FALLBACK in refusal[2] or name in QUIET:
                continue
            seen.add(name)
            notes.append(
                f"note: the extension module {name} (from {package_of(name, path)}) "
                "refused to load in an isolated interpreter and the program went on "
                "without it; --shared-gil loads it"
            )
    return notes


def _refusals_json(job) -> list:
    from .._extensions import package_of

    return [
        {"module": name, "path": path, "package": package_of(name, path), "reason": reason}
        for name, path, reason in job.refusals
    ]


def wants_table(mode: str) -> bool:
    if mode == "table":
        return True
    return mode == "auto" and environment().stderr_isatty


def results_json(jobs, status: int) -> str:
    import json

    items = []
    for job in jobs:
        from ..results import RunResult

        d = (
            job.result.to_dict()
            if job.result is not None
            else RunResult.not_run_dict(job.program.source, job.program.channels)
        )
        d["program"] = job.program.label
        d["status"] = job.status
        d["refused_extensions"] = _refusals_json(job)
        if job.error is not None:
            d["error"] = job.error
        items.append(d)
    return json.dumps({"exit_status": status, "results": items})


def render_results(jobs, mode: str, status: int) -> None:
    """Write the results on stderr in the chosen form ('auto': a table on a terminal)."""
    if mode == "json":
        _write_err(results_json(jobs, status) + "\n")
        return
    for note in refusal_notes(jobs):
        error(note)
    if wants_table(mode):
        draw_table(jobs)


def _exception_text(job) -> str:
    if job.error is not None:
        return job.error
    if job.result is None:
        return "not started"
    from .. import _present as present

    return present.exception_text(job.result)


def draw_table(jobs) -> None:
    from rich.console import Console

    from .. import _present as present

    console = Console(stderr=True, no_color=not environment().colors or None, highlight=False)
    columns = [
        ("name", {}),
        ("id", {"justify": "right"}),
        ("source", {}),
        ("channels", {}),
        ("completed", {}),
        ("exception", {}),
        ("duration", {"justify": "right"}),
    ]
    rows = []
    for job in jobs:
        r = job.result
        rows.append(
            [
                job.program.name,
                str(r.interpreter.id) if r is not None else "-",
                job.program.label,
                ", ".join(job.program.channels),
                present.completed_cell(r),
                _exception_text(job),
                present.duration_text(r.duration) if r is not None else "-",
            ]
        )
    console.print(
        present.results_table(columns, rows, title=None, show_edge=True, header_style="bold")
    )


class StatusLine:
    """A one-line live status on a terminal's stderr while runs go on ("2 running: a.py
    3.2 s, ..."), shown after a second, cleared at the end. It redraws on a clock (waiting
    on an event that the end of the runs sets), it does not poll for anything."""

    DELAY = 1.0
    PERIOD = 0.25

    def __init__(self, jobs):
        import threading  # only here: `interp run` does without it otherwise

        self._jobs = jobs
        self._done = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._main, name="interp-status", daemon=True)

    @staticmethod
    def wanted(mode: str) -> bool:
        # only when the scripts' own output does not go to the same terminal line
        return wants_table(mode) and environment().stderr_isatty and not environment().stdout_isatty

    def start(self) -> None:
        from .signals import start_thread

        start_thread(self._thread)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _main(self) -> None:
        if self._done.wait(self.DELAY):
            return
        while True:
            running = [j for j in self._jobs if j.running]
            now = time.monotonic()
            parts = [f"{j.program.name} {now - j.started_at:.1f} s" for j in running[:4]]
            more = f" +{len(running) - 4}" if len(running) > 4 else ""
            line = f"{environment().program_name}: {len(running)} running: {', '.join(parts)}{more}"
            width = _terminal_width()
            _write_err("\r\x1b[2K" + line[: width - 1])
            if self._done.wait(self.PERIOD):
                break
        _write_err("\r\x1b[2K")


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80
