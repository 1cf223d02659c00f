"""The one definition of the options of `interp run` and `interp pipe`. The click tree
(cli.app) and the click-free quick parser (cli.quickargs) are both built from OPTIONS, so
an option added here is read alike on both paths (tests/cli/test_cli_options.py checks it
on generated command lines).

Each option's `dest` is the keyword it is given to cli.commands.run / cli.commands.pipe
under. Its kind says how its value is read: "text" (as given), "choice" (one of
`choices`), "seconds" (a number > 0; inf or longer than a thread can wait: no limit) or
"flag" (no value: True when given). `shapes` marks the options that decide how an
interpreter is made: they are known before cli.early begins one.

Kept free of click and of the rest of interpcli: `interp run` imports it at start."""

RESULT_MODES = ("auto", "table", "json", "none")


class Option:
    """One option of run and/or pipe (see the module's docstring)."""

    __slots__ = (
        "dest",
        "flags",
        "kind",
        "multiple",
        "default",
        "choices",
        "metavar",
        "help",
        "commands",
        "shapes",
        "show_default",
    )

    def __init__(
        self,
        dest: str,
        flags: tuple,
        kind: str = "text",
        *,
        help: str,
        multiple: bool = False,
        default=None,
        choices: tuple = (),
        metavar: str | None = None,
        commands: tuple = ("run", "pipe"),
        shapes: bool = False,
        show_default: bool = False,
    ):
        self.dest = dest
        self.flags = flags
        self.kind = kind
        self.multiple = multiple
        self.default = () if multiple else (False if kind == "flag" else default)
        self.choices = choices
        self.metavar = metavar
        self.help = help
        self.commands = commands
        self.shapes = shapes
        self.show_default = show_default

    def __repr__(self) -> str:
        return f"Option({self.dest!r}, {self.flags!r}, {self.kind!r})"


# in the order `interp run --help` lists them
OPTIONS = (
    Option(
        "codes",
        ("-c", "--code"),
        metavar="CODE",
        multiple=True,
        commands=("run",),
        help="Run CODE (a string of Python) in an interpreter of its own. Repeatable.",
    ),
    Option(
        "modules",
        ("-m", "--module"),
        metavar="MODULE",
        multiple=True,
        commands=("run",),
        help="Run library module MODULE as a script, like python -m. Repeatable.",
    ),
    Option(
        "channels",
        ("--channels",),
        metavar="A,B",
        multiple=True,
        help="Create these named channels; each script sees them as channels.A, "
        "channels.B (both ends; under asyncio, await channels.A.recv_async() and "
        "send_async()). Repeatable.",
    ),
    Option(
        "stdin_ch",
        ("--stdin",),
        metavar="CH",
        commands=("run",),
        help="Stream this process's stdin into channel CH in chunks; close CH at EOF.",
    ),
    Option(
        "stdout_ch",
        ("--stdout",),
        metavar="CH",
        commands=("run",),
        help="Write every message received on channel CH to stdout as it arrives.",
    ),
    Option(
        "result_mode",
        ("--result",),
        "choice",
        choices=RESULT_MODES,
        default="auto",
        show_default=True,
        help="How to report the runs on stderr: a table (auto: when stderr is a "
        "terminal), json, or none.",
    ),
    Option(
        "timeout",
        ("--timeout",),
        "seconds",
        metavar="SECONDS",
        help="Interrupt a run that lasts longer (TimeoutError in the script, exit status 1).",
    ),
    Option(
        "shared_gil",
        ("--shared-gil",),
        "flag",
        shapes=True,
        help="Share the main GIL (legacy interpreters): needed for extension modules "
        "that cannot load in isolated interpreters (numpy, cffi modules...); no "
        "parallelism.",
    ),
    Option(
        "strict",
        ("--strict",),
        "flag",
        shapes=True,
        help="CPython's isolated restrictions: no daemon threads, no os.exec*() (by "
        "default both work, as under python; subprocess always does, os.fork() "
        "never).",
    ),
)

# each command's positional arguments: (keyword, metavar)
ARGUMENTS = {"run": ("scripts", "[SCRIPT]..."), "pipe": ("stages", "STAGE...")}

COMMANDS = tuple(ARGUMENTS)


def options_of(command: str) -> tuple:
    """The options of command ("run" or "pipe"), in OPTIONS' order."""
    return tuple(o for o in OPTIONS if command in o.commands)


def option(dest: str) -> Option:
    """The option whose keyword is dest."""
    for o in OPTIONS:
        if o.dest == dest:
            return o
    raise KeyError(dest)


def defaults(command: str) -> dict:
    """Every keyword of command's options at its default."""
    return {o.dest: o.default for o in options_of(command)}


def seconds(value: str):
    """A "seconds" value as the click tree reads it (FloatRange(min=0, min_open=True), then
    app's check): a float > 0, None for no limit (inf, or longer than a thread can wait),
    or False when it is refused."""
    from _thread import TIMEOUT_MAX

    try:
        number = float(value)
    except ValueError:
        return False
    if not number > 0:  # also nan
        return False
    return None if number >= TIMEOUT_MAX else number


class Parsed:
    """A run or pipe command line once parsed: the command, the keywords of its options
    and positional arguments (`params`), and the scripts' own arguments (after `--`)."""

    __slots__ = ("command", "params", "script_args", "_names")

    def __init__(self, command: str, params: dict, script_args: list):
        self.command = command
        self.params = params
        self.script_args = list(script_args)
        self._names: list[str] | None = None

    def shaping(self) -> dict:
        """The values of the options that decide how an interpreter is made."""
        return {o.dest: self.params[o.dest] for o in options_of(self.command) if o.shapes}

    def programs(self) -> list[tuple[str, str]]:
        """(kind, what) of each program in the order they run: the scripts (or stages),
        then the -c codes, then the -m modules."""
        positional = self.params[ARGUMENTS[self.command][0]]
        return (
            [("script", s) for s in positional]
            + [("code", c) for c in self.params.get("codes", ())]
            + [("module", m) for m in self.params.get("modules", ())]
        )

    def names(self) -> list[str]:
        """The interpreter name of each program (as programs() orders them), computed once:
        the interpreters made early (cli.early) and the programs (cli.commands) get these."""
        if self._names is None:
            from .programs import names

            self._names = names(self.programs())
        return list(self._names)

    def __repr__(self) -> str:
        return f"Parsed({self.command!r}, {self.params!r}, {self.script_args!r})"
