"""How the shell looks: the prompt, the bottom toolbar, syntax highlighting and colours."""

from __future__ import annotations

from prompt_toolkit.lexers import Lexer, PygmentsLexer
from prompt_toolkit.styles import Style
from pygments.lexers.python import PythonLexer

from .commands import PREFIX, is_command

STYLE = Style.from_dict(
    {
        "prompt.name": "ansicyan bold",
        "prompt.none": "ansired bold",
        "prompt": "ansigreen bold",
        "continuation": "ansigreen",
        "command": "ansimagenta bold",
        "command.args": "ansibrightmagenta",
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "bottom-toolbar.name": "bold ansicyan",
        "bottom-toolbar.job": "bold ansiyellow",
        "bottom-toolbar.idle": "#909090",
    }
)


def prompt_message(shell):
    """`NAME >>> `: the current interpreter's name."""
    if shell.current is None:
        return [("class:prompt.none", "(none)"), ("class:prompt", " >>> ")]
    return [("class:prompt.name", shell.current), ("class:prompt", " >>> ")]


def continuation(shell):
    def get(width, line_number, wrap_count):
        return [("class:continuation", "... ".rjust(width))]

    return get


def toolbar(shell):
    """The current interpreter, the background jobs running, and the key hints."""
    parts = [
        ("class:bottom-toolbar", " in "),
        ("class:bottom-toolbar.name", shell.current or "(none)"),
        ("class:bottom-toolbar", " │ "),
    ]
    jobs = sorted(shell.jobs.values(), key=lambda j: j.number)
    if jobs:
        parts.append(("class:bottom-toolbar", "running: "))
        for i, job in enumerate(jobs):
            if i:
                parts.append(("class:bottom-toolbar", ", "))
            parts.append(("class:bottom-toolbar.job", f"{job.name}"))
            parts.append(("class:bottom-toolbar", f" (job {job.number}: {job.what})"))
    else:
        parts.append(("class:bottom-toolbar.idle", "no background jobs"))
    n = len(shell.channels)
    if n:
        parts.append(("class:bottom-toolbar", f" │ {n} channel{'s' if n != 1 else ''}"))
    parts.append(("class:bottom-toolbar", f" │ {PREFIX}help  Ctrl-D exits "))
    return parts


class ShellLexer(Lexer):
    """Python highlighting, and commands in their own colours."""

    def __init__(self):
        self._python = PygmentsLexer(PythonLexer)

    def lex_document(self, document):
        if not is_command(document.text):
            return self._python.lex_document(document)
        lines = document.lines

        def get_line(i):
            line = lines[i] if i < len(lines) else ""
            if i:
                return [("class:command.args", line)]
            stripped = line.lstrip()
            lead = line[: len(line) - len(stripped)]
            word = stripped.split(None, 1)[0] if stripped else ""
            return [
                ("", lead),
                ("class:command", word),
                ("class:command.args", stripped[len(word) :]),
            ]

        return get_line
