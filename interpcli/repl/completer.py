"""Tab completion: command names, their arguments (interpreter, channel and command names,
file paths, options), and in Python code the names the current interpreter knows of
(what its inputs defined, the shell's channels and their methods, builtins, keywords)."""

from __future__ import annotations

import builtins
import keyword
import re

from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..channels import Channel
from .commands import BY_NAME, CHAN, COMMAND, COMMANDS, FILE, INTERP, PREFIX, REST, param_at

_IDENT_TAIL = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)?(\.)?([A-Za-z_][A-Za-z_0-9]*)?$")
# every public attribute of a channel end (the both-ends type has them all)
_CHANNEL_METHODS = tuple(n for n in dir(Channel) if not n.startswith("_"))
_PY_NAMES = sorted(set(keyword.kwlist) | {n for n in dir(builtins) if not n.startswith("_")})


def _matches(candidates, word, meta):
    for c in sorted(candidates):
        if c.startswith(word) and c != word:
            yield Completion(c, start_position=-len(word), display_meta=meta)


class ShellCompleter(Completer):
    """Completes against a live Shell (its interpreters and channels)."""

    def __init__(self, shell):
        self.shell = shell
        self._paths = PathCompleter(expanduser=True)
        self._py_paths = PathCompleter(
            expanduser=True, file_filter=lambda p: p.endswith(".py") or _is_dir(p)
        )

    def get_completions(self, document: Document, complete_event):
        text = document.text_before_cursor
        if text.lstrip().startswith(PREFIX) and "\n" not in text:
            yield from self._command(text, complete_event)
        else:
            yield from self._python(text)

    def _command(self, text, event):
        cmd, param, word = param_at(text)
        if cmd is None and param is None:
            for c in COMMANDS:
                for name in (c.name, *c.aliases):
                    if name.startswith(word):
                        yield Completion(
                            PREFIX + name,
                            start_position=-len(word) - len(PREFIX),
                            display=PREFIX + name,
                            display_meta=c.summary,
                        )
            return
        if param is None or word is None:
            return
        kind = param.kind
        if kind == "option":
            yield from _matches(cmd.options, word, "option")
        elif kind == INTERP:
            yield from _matches(self.shell.entries, word, "interpreter")
        elif kind == CHAN:
            yield from _matches(self.shell.channels, word, "channel")
        elif kind == COMMAND:
            yield from _matches(set(BY_NAME), word, "command")
        elif kind == FILE or (
            kind == REST
            and cmd.name == "bg"
            and word
            and (word[0] in "./~" or word.endswith(".py"))
        ):
            completer = self._py_paths if kind == REST else self._paths
            yield from completer.get_completions(Document(word, len(word)), event)

    def _python(self, text):
        m = _IDENT_TAIL.search(text)
        if not m or not (m.group(1) or m.group(3)):
            return
        head, dot, tail = m.group(1) or "", m.group(2), m.group(3) or ""
        start = m.start()
        if start > 0 and text[start - 1] in "._'\"0123456789":
            return  # inside a longer attribute chain, a string or a number
        if dot:
            if head in self.shell.channels:
                yield from _matches(_CHANNEL_METHODS, tail, "channel")
            return
        names = set(self.shell.channels) | set(_PY_NAMES)
        entry = self.shell.entries.get(self.shell.current or "")
        if entry is not None:
            names |= entry.names
        for n in sorted(names):
            if n.startswith(head) and n != head:
                meta = (
                    "channel"
                    if n in self.shell.channels
                    else "keyword"
                    if keyword.iskeyword(n)
                    else "yours"
                    if entry is not None and n in entry.names
                    else "builtin"
                )
                yield Completion(n, start_position=-len(head), display_meta=meta)


def _is_dir(path: str) -> bool:
    import os

    return os.path.isdir(path)
