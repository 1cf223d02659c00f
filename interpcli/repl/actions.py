"""The command handlers: one small function per command, called by dispatch()."""

from __future__ import annotations

import builtins

from . import render
from .commands import BY_NAME, PREFIX, CommandError, Invocation, lookup

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable

_MAX_SHOWN = 2000


def dispatch(shell, inv: Invocation) -> None:
    handler = _HANDLERS[inv.command.name]
    handler(
        shell, *inv.args, **{k.lstrip("-").replace("-", "_"): v for k, v in inv.options.items()}
    )


def do_spawn(shell, name=None, shared_gil=False):
    e = shell.spawn(name, shared_gil=shared_gil)
    kind = "shared GIL" if shared_gil else "own GIL"
    render.say(f"spawned {e.interp.name!r} (id {e.interp.id}, {kind}); now using it", "ok")


def do_use(shell, name):
    shell.entry(name)
    shell.current = name
    shell.on_change()


def do_list(shell):
    rows = []
    for name, e in list(shell.entries.items()):
        running = e.interp.is_alive() and e.interp.is_running()
        rows.append(
            (
                name,
                e.interp.id,
                e.interp.isolated,
                running,
                e.runs,
                name == shell.current,
                name in shell.jobs,
            )
        )
    if not rows:
        render.say(f"no interpreters; {PREFIX}spawn NAME makes one", "note")
        return
    render.interpreters_table(rows)


def do_close(shell, name):
    had_job = name in shell.jobs
    was_current = shell.current == name
    shell.close(name)
    note = " (its background job was interrupted)" if had_job else ""
    now = ""
    if was_current:
        now = (
            f"; now using {shell.current!r}"
            if shell.current
            else f"; no interpreter left: {PREFIX}spawn NAME"
        )
    render.say(f"closed {name!r}{note}{now}", "ok")


def do_chan(shell, name=None):
    if name is None:
        if not shell.channels:
            render.say(f"no channels; {PREFIX}chan NAME makes one", "note")
        for n, ch in shell.channels.items():
            render.say(f"{n}: channel {ch.id}")
        return
    ch = shell.make_channel(name)
    name = next(n for n, c in shell.channels.items() if c is ch)  # as Python spells it
    render.say(
        f"channel {name!r} (id {ch.id}) is bound as `{name}` in every interpreter: "
        f"{name}.send(b'...'), {name}.recv()",
        "ok",
    )


def evaluate_bytes(expr: str) -> bytes:
    """Evaluate a send expression in the shell (builtins only) and check it gives bytes."""
    try:
        value = eval(compile(expr, "<send>", "eval"), {"__builtins__": builtins})
    except SyntaxError as exc:
        raise CommandError(f"{PREFIX}send: invalid expression: {exc.msg}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too (exit()): the shell goes on
        raise CommandError(
            f"{PREFIX}send: {expr} raised {type(exc).__name__}: {_safe_str(exc)}"
        ) from None
    if isinstance(value, str):
        raise CommandError(
            f"{PREFIX}send: {expr} is a str; channels carry bytes: write b'...' or '...'.encode()"
        )
    try:
        return bytes(memoryview(value))
    except TypeError:
        raise CommandError(f"{PREFIX}send: {expr} gave {type(value).__name__}, not bytes") from None


def _safe_str(obj) -> str:
    """str(obj), or a placeholder when its __str__ raises."""
    try:
        return str(obj)
    except Exception:
        return f"<{type(obj).__name__} object: str() failed>"


def do_send(shell, ch_name, expr):
    ch = shell.channel(ch_name)
    data = evaluate_bytes(expr)
    try:
        ch.send_nowait(data)
    except EOFError:
        raise CommandError(f"channel {ch_name!r} is closed") from None
    render.say(f"sent {len(data)} byte{'s' if len(data) != 1 else ''} on {ch_name!r}", "note")


def do_recv(shell, ch_name, timeout=None):
    ch = shell.channel(ch_name)
    try:
        msg = ch.recv(timeout=timeout)
    except KeyboardInterrupt:
        render.error(f"{PREFIX}recv {ch_name}: stopped waiting")
        return
    except TimeoutError:
        raise CommandError(f"nothing arrived on {ch_name!r} within {timeout:g} s") from None
    except EOFError:
        raise CommandError(f"channel {ch_name!r} is closed and empty") from None
    data = bytes(msg)
    shown = repr(data)
    if len(shown) > _MAX_SHOWN:
        shown = shown[:_MAX_SHOWN] + f"... ({len(data)} bytes)"
    render.say(shown)


def do_run(shell, name, path=None):
    if path is None:  # `%run FILE`: the current interpreter
        name, path = shell.current_entry().interp.name, name
    shell.run_file(name, path)


def do_bg(shell, name, code):
    job = shell.start_job(name, code)
    render.say(
        f"[bg] {name}: job {job.number} started ({PREFIX}wait {name} waits for it, "
        f"{PREFIX}stop {name} interrupts it)",
        "note",
    )


def do_wait(shell, name=None):
    try:
        shell.wait(name)
    except KeyboardInterrupt:
        render.error(f"{PREFIX}wait: stopped waiting (the jobs go on)")


def do_stop(shell, name):
    shell.interrupt(name)
    render.say(f"interrupted {name!r}", "note")


def do_results(shell, number=None):
    with shell._lock:
        records = list(shell.results)
    if number is not None:
        n = int(number)
        if not 1 <= n <= len(records):
            raise CommandError(f"no result #{n} (there are {len(records)})")
        render.result_detail(*records[n - 1])
        return
    if not records:
        render.say("no results yet", "note")
        return
    render.results_table(records)


def do_help(shell, name=None):
    render.say(render.help_text(lookup(name) if name else None))


def do_exit(shell):
    shell.exiting = True


_HANDLERS: dict[str, Callable[..., None]] = {
    "spawn": do_spawn,
    "use": do_use,
    "list": do_list,
    "close": do_close,
    "chan": do_chan,
    "send": do_send,
    "recv": do_recv,
    "run": do_run,
    "bg": do_bg,
    "wait": do_wait,
    "stop": do_stop,
    "results": do_results,
    "help": do_help,
    "exit": do_exit,
}
assert set(_HANDLERS) == {c.name for c in BY_NAME.values()}
