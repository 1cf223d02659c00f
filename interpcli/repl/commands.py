"""The shell's commands: their table (usage, help, argument kinds) and the line parser.

A command is a line that starts with PREFIX (`%`, as in IPython), which no Python
statement can start with. Arguments are split like a shell does (shlex), except a
command's last "rest" parameter, which takes the raw remainder of the line (Python
code or an expression, quotes and all). Pure: no prompt_toolkit, no interpreters."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field

from .._usererror import UserError

PREFIX = "%"

# Argument kinds: they drive both checking and tab completion.
INTERP = "interp"  # an existing interpreter's name
NEW = "new"  # a new name (interpreter or channel)
CHAN = "chan"  # an existing channel's name
FILE = "file"  # a path
COMMAND = "command"  # a command's name
REST = "rest"  # the raw rest of the line
NUMBER = "number"  # a result number


class CommandError(UserError):
    """A command line that cannot be carried out; its str is the one line to show."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    optional: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    params: tuple[Param, ...]
    summary: str
    details: str = ""
    options: dict = field(default_factory=dict)  # "--flag" -> bool or float
    aliases: tuple[str, ...] = ()
    synopsis: str = ""  # the usage, when it is not the params'

    @property
    def usage(self) -> str:
        if self.synopsis:
            return PREFIX + self.synopsis
        parts = [PREFIX + self.name]
        for p in self.params:
            parts.append(f"[{p.name}]" if p.optional else p.name)
        for opt, typ in self.options.items():
            parts.append(f"[{opt}]" if typ is bool else f"[{opt} S]")
        return " ".join(parts)


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: the command, its positional arguments and options."""

    command: Command
    args: tuple[str, ...]
    options: dict

    @property
    def name(self) -> str:
        return self.command.name


def _p(name, kind, optional=False):
    return Param(name, kind, optional)


COMMANDS: tuple[Command, ...] = (
    Command(
        "spawn",
        (_p("NAME", NEW, True),),
        "create an interpreter and switch to it",
        "Own GIL by default, so it runs in parallel with the others; --shared-gil shares "
        "the main GIL, for extensions that need it (numpy, cffi modules). Every shell "
        "channel is bound in it. Without NAME a name is made up.",
        {"--shared-gil": bool},
    ),
    Command(
        "use",
        (_p("NAME", INTERP),),
        "make NAME the current interpreter",
        "Plain Python lines run in the current interpreter, which the prompt names.",
    ),
    Command(
        "list",
        (),
        "table of the shell's interpreters",
        "Columns: name, id, isolated (own GIL), running, runs (inputs run so far).",
        aliases=("ls",),
    ),
    Command(
        "close",
        (_p("NAME", INTERP),),
        "close an interpreter",
        "A background job still running in it is interrupted first.",
    ),
    Command(
        "chan",
        (_p("NAME", NEW, True),),
        "create a channel bound as NAME everywhere",
        "Both ends of the new channel are bound as the variable NAME in every interpreter "
        "of this shell, old and new (NAME.send(b'..'), NAME.recv(), for msg in NAME: ..). "
        "Without NAME: list the channels.",
    ),
    Command(
        "send",
        (_p("CH", CHAN), _p("EXPR", REST)),
        "send bytes on a channel",
        "EXPR is evaluated by the shell and must give bytes (b'..', bytes(..), "
        "'text'.encode()); the message is queued until a receiver takes it.",
    ),
    Command(
        "recv",
        (_p("CH", CHAN),),
        "receive one message from a channel and show it",
        "Waits for a message (Ctrl-C stops waiting); --timeout S gives up after S seconds.",
        {"--timeout": float},
    ),
    Command(
        "run",
        (_p("NAME", INTERP), _p("FILE", FILE, True)),
        "run a Python file in NAME",
        "Runs in NAME's __main__ (its variables stay), in the foreground: Ctrl-C "
        "interrupts it. With one argument, FILE runs in the current interpreter.",
        synopsis="run [NAME] FILE",
    ),
    Command(
        "bg",
        (_p("NAME", INTERP), _p("CODE", REST)),
        "run code or a file in the background",
        "CODE is Python source, or the path of a file. It runs in NAME while the prompt "
        "stays usable; the toolbar shows it and its result prints when it ends. "
        "See also %wait and %stop.",
        synopsis="bg NAME CODE-or-FILE",
    ),
    Command(
        "wait",
        (_p("NAME", INTERP, True),),
        "wait until background jobs end",
        "Waits for NAME's job, or for every job. Ctrl-C stops waiting (the jobs go on).",
    ),
    Command(
        "stop",
        (_p("NAME", INTERP),),
        "interrupt the code running in NAME",
        "Raises KeyboardInterrupt inside NAME, waking it from channel waits too.",
    ),
    Command(
        "results",
        (_p("N", NUMBER, True),),
        "table of every run's result",
        "With N: the whole of result N, traceback and all.",
    ),
    Command("help", (_p("COMMAND", COMMAND, True),), "list the commands, or explain one"),
    Command("exit", (), "close every interpreter and leave (or Ctrl-D)", aliases=("quit",)),
)

BY_NAME: dict[str, Command] = {}
for _c in COMMANDS:
    BY_NAME[_c.name] = _c
    for _a in _c.aliases:
        BY_NAME[_a] = _c
del _c, _a


def is_command(text: str) -> bool:
    """True when the input is a shell command rather than Python code."""
    return text.lstrip().startswith(PREFIX)


def lookup(word: str) -> Command:
    """The command named word (prefix optional); CommandError with a suggestion if none."""
    name = word[len(PREFIX) :] if word.startswith(PREFIX) else word
    cmd = BY_NAME.get(name)
    if cmd is not None:
        return cmd
    if not name:
        raise CommandError(f"a command name must follow {PREFIX}; {PREFIX}help lists them")
    close = difflib.get_close_matches(name, BY_NAME, n=1)
    hint = f"; did you mean {PREFIX}{close[0]}?" if close else f"; {PREFIX}help lists them"
    raise CommandError(f"unknown command {PREFIX}{name}{hint}")


def _split_head(text: str) -> tuple[str, str]:
    """Split off the first whitespace-separated word."""
    text = text.lstrip()
    for i, ch in enumerate(text):
        if ch.isspace():
            return text[:i], text[i:].lstrip()
    return text, ""


def parse(line: str) -> Invocation:
    """Parse one command line (starting with PREFIX) into an Invocation."""
    line = line.strip()
    if not line.startswith(PREFIX):
        raise CommandError(f"commands start with {PREFIX}")
    word, rest = _split_head(line[len(PREFIX) :])
    cmd = lookup(word)
    params = cmd.params
    has_rest = bool(params) and params[-1].kind == REST
    args: list[str] = []
    options: dict = {}
    if has_rest:
        # the leading params are single words; the last takes the raw remainder
        for p in params[:-1]:
            head, rest = _split_head(rest)
            if not head:
                raise CommandError(f"{PREFIX}{cmd.name} needs {p.name}: {cmd.usage}")
            args.append(_unquote(head))
        if not rest.strip():
            raise CommandError(f"{PREFIX}{cmd.name} needs {params[-1].name}: {cmd.usage}")
        args.append(rest.strip())
        return Invocation(cmd, tuple(args), options)
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise CommandError(f"{PREFIX}{cmd.name}: {exc}") from None
    it = iter(words)
    for w in it:
        if w.startswith("--"):
            opt, eq, val = w.partition("=")
            typ = cmd.options.get(opt)
            if typ is None:
                known = ", ".join(cmd.options) or "none"
                raise CommandError(f"{PREFIX}{cmd.name}: unknown option {opt} (options: {known})")
            if typ is bool:
                if eq:
                    raise CommandError(f"{PREFIX}{cmd.name}: {opt} takes no value")
                options[opt] = True
                continue
            if not eq:
                following = next(it, None)
                if following is None:
                    raise CommandError(f"{PREFIX}{cmd.name}: {opt} needs a value")
                val = following
            try:
                num = typ(val)
            except ValueError:
                raise CommandError(
                    f"{PREFIX}{cmd.name}: {opt} needs a number, not {val!r}"
                ) from None
            if not num > 0:
                raise CommandError(f"{PREFIX}{cmd.name}: {opt} must be positive")
            options[opt] = num
        else:
            args.append(w)
    required = sum(1 for p in params if not p.optional)
    if len(args) < required:
        missing = params[len(args)].name
        raise CommandError(f"{PREFIX}{cmd.name} needs {missing}: {cmd.usage}")
    if len(args) > len(params):
        raise CommandError(
            f"{PREFIX}{cmd.name} takes at most {len(params)} "
            f"argument{'s' if len(params) != 1 else ''}: {cmd.usage}"
        )
    for p, a in zip(params, args):
        if p.kind == NUMBER and not (a.isascii() and a.isdigit()):
            raise CommandError(f"{PREFIX}{cmd.name}: {p.name} must be a number, not {a!r}")
    return Invocation(cmd, tuple(args), options)


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def param_at(text: str) -> tuple[Command | None, Param | None, str]:
    """For completion: the command being typed, the parameter the cursor is in, and the
    word typed so far. (None, None, word) while the command name itself is typed."""
    body = text.lstrip()[len(PREFIX) :]
    word, rest = _split_head(body)
    if not rest and not body[len(word) :]:
        return None, None, word
    cmd = BY_NAME.get(word)
    if cmd is None:
        return None, None, ""
    after = body[len(word) :]
    ends_space = after[-1:].isspace()
    words = after.split()
    current = "" if ends_space or not words else words[-1]
    done = [w for w in (words if ends_space else words[:-1]) if not w.startswith("--")]
    if current.startswith("-"):
        return cmd, Param("OPTION", "option"), current
    idx = len(done)
    if idx >= len(cmd.params):
        return cmd, None, current
    return cmd, cmd.params[idx], current
