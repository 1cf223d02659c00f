"""Whole shell sessions driven through prompt_toolkit's pipe input (keys as typed: "\\r" is
Enter, "\\x03" Ctrl-C, "\\x04" Ctrl-D), asserting on what the shell printed and on its
state (interpreters, channels, results)."""

import os
import re
import signal
import stat
import sys
import threading

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.plain_text import PlainTextOutput

import interpcli
from interpcli.repl import loop
from interpcli.repl.shell import Shell


def shell_names():
    return {i.name for i in interpcli.list_all()} - {"main"}


@pytest.fixture
def session(capsys):
    """session(keys, shell=None) runs a shell on those keys until it exits; returns
    (shell, everything printed). Its interpreters are all closed afterwards."""
    before = shell_names()

    def run(keys, shell=None, during=None):
        assert keys.endswith(("\x04", "exit\r", "exit()\r")), (
            "a session must end, or it waits for keys"
        )
        shell = shell or Shell()
        sigint = signal.getsignal(signal.SIGINT)
        helper = None
        try:
            with create_pipe_input() as inp, create_app_session(output=PlainTextOutput(sys.stdout)):
                inp.send_text(keys)
                s = loop.make_session(shell, InMemoryHistory(), input=inp, output=DummyOutput())
                if during is not None:
                    helper = threading.Thread(target=during, args=(shell,))
                    helper.start()
                loop.interactive(shell, s)
        finally:
            shell.shutdown()
            if helper is not None:
                helper.join(60)
        out = capsys.readouterr()
        # Ctrl-C must still interrupt code after the session (prompt_toolkit can leave
        # its own SIGINT handler behind)
        assert signal.getsignal(signal.SIGINT) is sigint
        return shell, out.out + out.err

    yield run
    assert shell_names() == before, "the shell left interpreters behind"


def test_python_lines_blocks_echo_and_state(session):
    shell, out = session(
        "x = 6 * 7\r"
        "x\r"
        "def double(n):\r"
        "return n * 2\r"  # auto-indented under the def
        "\r"  # an empty line ends the block
        "double(x)\r"
        "for i in range(3):\r"
        "print('item', i)\r"
        "\r"
        "import contextlib\r"
        "with contextlib.nullcontext(5) as v:\r"
        "v + 1\r"
        "\r"
        "None\r"  # None does not echo, as in python
        "'a', 1\r"
        "\x04"
    )
    assert "42\n" in out and "84\n" in out and "6\n" in out
    assert "item 0\nitem 1\nitem 2\n" in out
    assert "('a', 1)\n" in out and "None" not in out
    assert all(r.completed for _n, _m, r in shell.results)
    assert [r.source for _n, _m, r in shell.results][2] == "def double(n):\n    return n * 2"
    assert {r.interpreter.name for _n, _m, r in shell.results} == {"repl"}


def test_failing_snippets_print_their_traceback_and_the_shell_goes_on(session):
    shell, out = session(
        "1/0\r"
        "undefined_name\r"
        "x = = 1\r"
        "def f():\r"
        "raise ValueError('deep')\r"
        "\r"
        "f()\r"
        "import sys; sys.exit(3)\r"
        "'still here'\r"
        "\x04"
    )
    assert 'File "<in-1>", line 1, in <module>\n    1/0' in out
    assert "ZeroDivisionError: division by zero" in out
    assert "NameError: name 'undefined_name' is not defined" in out
    assert "SyntaxError: invalid syntax" in out
    assert "    raise ValueError('deep')\nValueError: deep" in out  # the input's own lines
    assert "SystemExit (exit status 3); the shell goes on" in out
    assert "'still here'" in out
    assert "<interp-shell>" not in out
    assert [r.completed for _n, _m, r in shell.results] == [
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]


def test_spawn_use_list_close(session):
    shell, out = session(
        "%spawn w\r"
        "where = 'in w'\r"
        "%use repl\r"
        "where\r"
        "%use w\r"
        "where\r"
        "%spawn legacy --shared-gil\r"
        "%list\r"
        "%close w\r"
        "%use w\r"
        "%close legacy\r"
        "\x04"
    )
    assert "spawned 'w' (id" in out and "own GIL); now using it" in out
    assert "NameError: name 'where' is not defined" in out
    assert "'in w'" in out
    assert "spawned 'legacy'" in out and "shared GIL" in out
    for word in (
        "name",
        "id",
        "isolated",
        "running",
        "runs",
        "repl",
        "w",
        "legacy",
        "no (shared GIL)",
        "* current interpreter",
    ):
        assert word in out
    assert "closed 'w'\n" in out and "closed 'legacy'; now using 'repl'" in out
    assert "no interpreter named 'w' (interpreters: repl, legacy)" in out
    assert list(shell.entries) == [] and shell.current is None


def test_the_prompt_names_the_current_interpreter():
    from types import SimpleNamespace

    from interpcli.repl.ui import prompt_message

    assert "".join(t for _s, t in prompt_message(SimpleNamespace(current="w"))) == "w >>> "
    assert "(none)" in "".join(t for _s, t in prompt_message(SimpleNamespace(current=None)))


def test_channels_are_bound_in_old_and_new_interpreters(session):
    shell, out = session(
        "%spawn a\r"
        "%chan jobs\r"
        "%spawn b\r"
        "jobs.send_nowait(b'from b')\r"
        "%use a\r"
        "jobs.recv()\r"
        "%send jobs b'x' * 3\r"
        "jobs.recv()\r"
        "jobs.send_nowait(b'to the shell')\r"
        "%recv jobs\r"
        "%recv jobs --timeout 0.05\r"
        "%chan\r"
        "\x04"
    )
    assert "channel 'jobs' (id" in out
    assert "b'from b'" in out
    assert "sent 3 bytes on 'jobs'" in out and "b'xxx'" in out
    assert "b'to the shell'" in out
    assert "nothing arrived on 'jobs' within 0.05 s" in out
    assert "jobs: channel" in out


def test_producer_consumer_in_the_background(session):
    shell, out = session(
        "%spawn consumer\r"
        "%spawn producer\r"
        "%chan jobs\r"
        "%send jobs b'first'\r"  # queued for the consumer
        "%bg consumer for m in jobs: print('got', m.decode())\r"
        "for i in range(3): jobs.send(str(i).encode())\r"  # waits until each is received
        "jobs.close()\r"
        "%wait\r"
        "%results\r"
        "\x04"
    )
    assert "job 1 started" in out
    got = [line for line in out.splitlines() if line.startswith("got ")]
    assert got == ["got first", "got 0", "got 1", "got 2"]
    assert re.search(r"\[bg\] consumer: result #\d ok in", out)
    records = shell.results
    bg = [r for _n, mode, r in records if mode == "bg"]
    assert len(bg) == 1 and bg[0].completed and bg[0].interpreter.name == "consumer"
    assert bg[0].source == "for m in jobs: print('got', m.decode())"
    for word in (
        "results",
        "interpreter",
        "source",
        "channels",
        "completed",
        "exception",
        "duration",
        "consumer",
        "producer",
        "bg",
    ):
        assert word in out


def test_background_file_busy_interpreter_and_stop(session, tmp_path):
    script = tmp_path / "waiter.py"
    script.write_text("started.send_nowait(b'')\nforever.recv()\n")
    shell, out = session(
        "%spawn w\r"
        "%chan started\r"
        "%chan forever\r"
        f"%bg w {script}\r"
        "%use repl\r"
        "started.recv()\r"  # the job is running now
        "%bg w 1\r"
        "%use w\r"
        "1 + 1\r"
        "%stop w\r"
        "%wait w\r"
        "2 + 2\r"
        "%results 2\r"
        "\x04"
    )
    assert "is busy with background job 1 (" in out
    assert "waiter.py); %wait w, %stop w or %use another" in out
    assert "interrupted 'w'" in out
    assert "[bg] w: result #2 KeyboardInterrupt" in out
    assert "4\n" in out
    assert "result #2 (bg) in 'w'" in out and "forever.recv()" in out
    assert 'waiter.py", line 2, in <module>' in out


def test_run_file_keeps_its_variables(session, tmp_path):
    script = tmp_path / "setup.py"
    script.write_text("value = 40 + 2\nprint('setup ran')\n")
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nraise RuntimeError('in a file')\n")
    shell, out = session(
        "%spawn w\r"
        "%use repl\r"
        f"%run w {script}\r"
        "%use w\r"
        "value\r"
        f"%run {bad}\r"
        "%run w /no/such/file.py\r"
        "\x04"
    )
    assert "setup ran" in out and "42\n" in out
    assert f'File "{bad}", line 2, in <module>' in out
    assert "    raise RuntimeError('in a file')\nRuntimeError: in a file" in out
    assert "cannot read /no/such/file.py: No such file or directory" in out


def test_run_file_honours_a_coding_cookie(session, tmp_path):
    script = tmp_path / "latin.py"
    script.write_bytes("# -*- coding: latin-1 -*-\nword = 'caf\u00e9'\n".encode("latin-1"))
    shell, out = session(f"%run {script}\rprint(word, len(word))\r\x04")
    assert "caf\u00e9 4\n" in out, out


def test_ctrl_c_at_the_prompt_clears_the_line(session):
    shell, out = session("1/0\x03x = 1\r\x03x\r\x04")
    assert "ZeroDivisionError" not in out
    assert [r.source for _n, _m, r in shell.results] == ["x = 1", "x"]


def test_ctrl_c_interrupts_running_code_and_the_shell_goes_on(session):
    def press_ctrl_c(shell):
        # wait until the busy loop runs, then do what the terminal does on Ctrl-C
        shell.channels["ready"].recv(timeout=60)
        os.kill(os.getpid(), signal.SIGINT)

    shell = Shell()
    shell.make_channel("ready")
    shell, out = session(
        "def spin():\r"
        "ready.send_nowait(b'')\r"  # tells press_ctrl_c that the loop runs
        "while True: pass\r"
        "\r"
        "spin()\r"
        "'after'\r"
        "\x04",
        shell=shell,
        during=press_ctrl_c,
    )
    assert 'File "<in-2>", line 1, in <module>\n    spin()' in out
    assert "    while True: pass" in out
    assert "KeyboardInterrupt" in out and "'after'" in out
    last = [r for _n, _m, r in shell.results]
    assert last[1].exc_type == "KeyboardInterrupt" and last[2].completed


def test_bad_commands_and_names_print_one_line_each(session):
    shell, out = session(
        "%nope\r"
        "%use ghost\r"
        "%close ghost\r"
        "%chan jobs\r"
        "%send ghost b''\r"
        "%send jobs 'text'\r"
        "%results 9\r"
        "%stop repl\r"
        "%spawn repl\r"
        "%spawn 'two words'\r"
        "%chan 1bad\r"
        "%chan jobs\r"
        "%wait repl\r"
        "%recv jobs --timeout\r"
        "'alive'\r"
        "\x04"
    )
    expected = [
        "unknown command %nope; %help lists them",
        "no interpreter named 'ghost' (interpreters: repl)",
        "no channel named 'ghost' (channels: jobs)",
        "%send: 'text' is a str; channels carry bytes",
        "no result #9 (there are 0)",
        "nothing runs in 'repl'",
        "interpreter 'repl' exists already; %use repl",
        "'two words' cannot name an interpreter",
        "'1bad' cannot name a channel",
        "channel 'jobs' exists already",
        "no background job in 'repl'",
        "%recv: --timeout needs a value",
    ]
    for message in expected:
        assert message in out
    assert "Traceback" not in out and "internal error" not in out
    assert len(out.splitlines()) == 15  # one line for each input
    assert "'alive'" in out


def test_help(session):
    shell, out = session("%help\r%help bg\r%help nope\r%help %list\r\x04")
    assert "Commands (anything else is Python for the current interpreter)" in out
    assert "%bg NAME CODE" in out and "run code or a file in the background" in out
    assert "the prompt stays usable" in " ".join(out.split())  # wrapped text
    assert "unknown command %nope" in out
    assert "table of the shell's interpreters" in out


def test_exit_command_and_bare_exit(session):
    shell, out = session("%spawn w\r%exit\r")
    assert shell.exiting and not shell.entries
    shell, out = session("exit\r")
    assert shell.exiting
    shell, out = session("import sys; sys.exit()\rexit()\r")
    assert "raised SystemExit (exit status 0); the shell goes on" in out and shell.exiting


def test_ctrl_d_with_a_job_running_closes_everything(session):
    shell, out = session("%spawn w\r%chan c\r%bg w c.recv()\r\x04")
    assert not shell.entries and not shell.jobs
    assert "[bg] w: result" not in out  # interrupted on purpose: no alarm


def test_toolbar_shows_running_jobs():
    from interpcli.repl.ui import toolbar

    shell = Shell()
    try:
        text = "".join(t for _s, t in toolbar(shell))
        assert "in repl" in text and "no background jobs" in text
        shell.make_channel("gate")
        shell.spawn("w")
        shell.start_job("w", "gate.recv()")
        text = "".join(t for _s, t in toolbar(shell))
        assert "running: w (job 1: gate.recv())" in text and "1 channel" in text
        shell.channels["gate"].send(b"go")
        shell.wait()
        assert "no background jobs" in "".join(t for _s, t in toolbar(shell))
    finally:
        shell.shutdown()


def test_main_saves_a_private_history(tmp_path, capsys):
    import gc

    gc.collect()  # interpreters of other tests' garbage (closed when collected)
    before = shell_names()
    path = tmp_path / "data" / "history"
    with create_pipe_input() as inp, create_app_session(output=PlainTextOutput(sys.stdout)):
        inp.send_text("x = 1\r%list\r\x04")
        rc = loop.main(input=inp, output=DummyOutput(), environ={"INTERP_HISTORY": str(path)})
    assert rc == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "+x = 1" in text and "+%list" in text
    out = capsys.readouterr().out
    assert "Commands start with %" in out and "%help" in out
    assert shell_names() == before  # the shell closed its own


def test_piped_input_runs_without_a_terminal(tmp_path):
    import subprocess

    keys = "x = 2\nfor i in range(2):\n    print(i * x)\n\n%spawn w\n1/0\n%list\n"
    out = subprocess.run(
        [sys.executable, "-c", "import interpcli.repl, sys; sys.exit(interpcli.repl.main(False))"],
        input=keys,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INTERP_HISTORY": str(tmp_path / "h")},
        cwd=str(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert "0\n2\n" in out.stdout and "spawned 'w'" in out.stdout
    assert "ZeroDivisionError" in out.stderr


def readme_demo():
    """The inputs of the README's shell demo, and the lines it shows them printing."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("\n## Shell\n") :]
    block = section[section.index("```text\n") + 8 :]
    block = block[: block.index("```")]
    inputs, shown = [], []
    for line in block.splitlines():
        m = re.match(r"^\w+ >>>(?: (.*))?$", line)
        if m:
            if m.group(1):
                inputs.append(m.group(1))
        elif not line.startswith("$"):
            shown.append(line)
    return inputs, shown


def test_the_readme_demo_works(session):
    inputs, shown = readme_demo()
    assert inputs[0] == "%spawn consumer" and "%results" in inputs
    # a person types slower than the consumer ends; the test waits for it explicitly
    inputs.insert(inputs.index("%results"), "%wait")
    shell, out = session("".join(i + "\r" for i in inputs) + "\x04")

    def norm(text):  # ids depend on what ran before in this process
        return re.sub(r"\(id \d+", "(id N", text)

    for line in shown:
        if line.startswith(("[bg] consumer: result", "#", "1 ", "2 ", "3 ", "─")):
            continue  # timings and table widths vary
        assert norm(line) in norm(out)
    got = [line for line in out.splitlines() if line.startswith("consumer got")]
    assert got == [line for line in shown if line.startswith("consumer got")]
    assert re.search(r"\[bg\] consumer: result #\d ok in", out)
    assert re.search(r"consumer \(\d+\) bg", out)


def test_errors_inside_the_prompt_do_not_end_the_shell(session, monkeypatch):
    from interpcli.repl import ui
    from interpcli.repl.completer import ShellCompleter

    def broken(self, document, event):
        raise RuntimeError("completer bug")
        yield

    monkeypatch.setattr(ShellCompleter, "get_completions", broken)
    calls = []
    real = ui.toolbar

    def toolbar_failing_once(shell):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("toolbar bug")
        return real(shell)

    monkeypatch.setattr(ui, "toolbar", toolbar_failing_once)
    shell, out = session("%li\t\r'still alive'\r\x04")
    assert "internal error: RuntimeError: toolbar bug" in out
    assert "completer bug" in out  # prompt_toolkit reports it, and goes on
    assert "'still alive'" in out


def test_a_prompt_that_keeps_failing_leaves(session, monkeypatch):
    from interpcli.repl import ui

    def toolbar(shell):
        raise RuntimeError("toolbar bug")

    monkeypatch.setattr(ui, "toolbar", toolbar)
    shell, out = session("\x04")
    assert out.count("internal error: RuntimeError: toolbar bug") == 3
    assert "the prompt keeps failing; leaving" in out


def test_close_interrupts_a_running_job_first(session):
    shell, out = session("%spawn w\r%chan c\r%bg w c.recv()\r%use repl\r%close w\r%list\r\x04")
    assert "closed 'w' (its background job was interrupted)" in out
    assert "[bg] w: result #1 KeyboardInterrupt" in out
    assert list(shell.entries) == []
