"""The `interp` command: entry point (`interp = "interpcli.cli:main"`, `python -m interpcli`).

This module stays light on purpose: for `interp run` and `interp pipe` it starts creating
the first interpreter in a thread *before* click is imported. The C create releases the
GIL and the new interpreter has its own, so the creation overlaps click's import on the
second core. The click command tree lives in interpcli.cli.app (`interpcli.cli.cli` is
the same group, loaded on first use).

The package, one module per concern: app (the click tree), programs (what a program
argument means: script, -c, -m, stdin), session (running the programs, their channels
and Ctrl-C), stdio (stdin/stdout pumps), report (results on stderr), status (exit
statuses), man (the man page, generated from the click tree), signals (Ctrl-C
bookkeeping, helper threads)."""
from __future__ import annotations

import sys

# options of `run`/`pipe` that take a value: their value is never a script or `--`
VALUE_OPTIONS = frozenset({"-c", "--code", "-m", "--module", "--channels", "--stdin",
                           "--stdout", "--result", "--timeout"})


from .signals import install_sigint_handler, sigints, start_thread

class EarlyInterpreter:
    """An isolated interpreter being created in a thread while the command line is
    parsed. take() hands it over (or None if creating it failed: the normal path will then
    report the error); discard() closes it when it was not needed."""

    def __init__(self, name: str):
        import threading
        self.name = name
        self._box: list = []
        self._taken = False
        self._loaded = threading.Event()
        self._thread = threading.Thread(target=self._create, name="interp-early")

    def start(self) -> None:
        start_thread(self._thread)

    def _create(self) -> None:
        try:
            try:
                from ..interpreter import create_fresh as create     # loads the C core
            finally:
                self._loaded.set()
            # create() registers the exit-time close before the interpreter exists
            self._box.append(create(self.name))
        except BaseException as exc:    # e.g. the C core is not built: reported later
            self._box.append(exc)

    def wait_loaded(self) -> None:
        """Wait until the C core is loaded (by the creating thread): after that the
        interpcli modules can be imported while the interpreter is still being made."""
        if self._thread.ident is not None:
            _raise_if_interrupted()
            self._loaded.wait()

    def _made(self):
        if self._thread.ident is None:
            return None         # never started
        _raise_if_interrupted()
        self._thread.join()
        value = self._box[0] if self._box else None
        return None if value is None or isinstance(value, BaseException) else value

    def take(self):
        """The Interpreter, or None."""
        interp = self._made()
        if interp is None or self._taken:
            return None
        self._taken = True
        return interp

    def discard(self) -> None:
        interp = self._made()
        if interp is not None and not self._taken:
            self._taken = True
            try:
                interp.close()
            except Exception:
                pass


def _raise_if_interrupted() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that Python swallowed ("Exception ignored":
    it landed in a weakref callback or a __del__, such as the import system's module-lock
    callbacks). Checked before waiting on the early interpreter's thread: that swallowed
    interrupt can leave the import lock held, and the thread waiting for it forever. A
    Ctrl-C during the wait itself interrupts the wait."""
    if sigints():
        raise KeyboardInterrupt


def _early_name(args: list[str]) -> str | None:
    """The interpreter name the first program of `run`/`pipe` will get, or None when no
    interpreter should be made early (help, version, --shared-gil, nothing to run)."""
    if not args or args[0] not in ("run", "pipe"):
        return None
    first_script = first_code = first_module = None
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--":
            break
        if a in ("-h", "--help", "--version", "--shared-gil"):
            return None
        if a in VALUE_OPTIONS:
            if i + 1 < len(args):
                if a in ("-c", "--code") and first_code is None:
                    first_code = args[i + 1]
                elif a in ("-m", "--module") and first_module is None:
                    first_module = args[i + 1]
            i += 2
            continue
        if a.startswith("-") and a != "-":
            if a.startswith("-c") and first_code is None:
                first_code = a[2:]
            elif a.startswith("--code=") and first_code is None:
                first_code = a[7:]
            elif a.startswith("-m") and first_module is None:
                first_module = a[2:]
            elif a.startswith("--module=") and first_module is None:
                first_module = a[9:]
        elif first_script is None:
            first_script = a
        i += 1
    from .programs import base_name
    if first_script is not None:
        return base_name("script", first_script)
    if first_code is not None:
        return base_name("code", first_code)
    if first_module:
        return base_name("module", first_module)
    return None


def main(argv: list[str] | None = None, prog_name: str = "interp") -> None:
    """Run the `interp` command line and exit with its status."""
    args = sys.argv[1:] if argv is None else list(argv)
    early = None
    try:
        install_sigint_handler()
        name = _early_name(args)
        if name is not None:
            early = EarlyInterpreter(name)
            early.start()
        from .app import run_cli
        status = run_cli(args, prog_name=prog_name, early=early)
    except KeyboardInterrupt:
        # Ctrl-C before the scripts ran (a run handles its own): leave at once. A
        # KeyboardInterrupt in the middle of an import can leave an import lock held, so
        # waiting for the early interpreter's thread could hang; nothing of the user's
        # ran yet, there is nothing to clean up that the process's end does not.
        from .status import ExitStatus, leave_now
        leave_now(ExitStatus.INTERRUPTED)
    if argv is None:
        _fast_exit(status)
    sys.exit(status)


def _fast_exit(status: int) -> None:
    """Leave without finalizing the main interpreter (tearing down click and the other
    modules costs more than running hello.py). Safe here: every interpreter we made is
    closed (its atexit handlers ran), our threads are done, and we flush our streams.
    INTERP_NO_FAST_EXIT=1 exits the normal way (coverage tools need that)."""
    import os
    if os.environ.get("INTERP_NO_FAST_EXIT"):
        return
    import atexit
    try:
        atexit._run_exitfuncs()     # the safety nets (interpreters left open, if any)
    except BaseException:
        return                      # let the normal exit report it
    from .status import leave_now
    leave_now(status)               # a closed pipe (`interp --help | head -1`) is fine there


def __getattr__(name):
    if name == "cli":
        from .app import cli
        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
