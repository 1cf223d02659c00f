"""The one base class of user errors: a problem with what the user typed or asked for,
shown as its str (one line) and never with a traceback. `interp` exits with status 2 on
one (cli.programs.UsageProblem); the shell prints it and reads the next line
(repl.commands.CommandError)."""


class UserError(Exception):
    """A problem with the user's input; str(exc) is the one line to show."""
