"""`interp shell` against a hostile user, driven through prompt_toolkit's pipe input as
tests/repl/test_repl_session.py does: a history path that is no regular file (a device
node, a FIFO, a directory: never opened for writing in a way that blocks, never chmod-ed),
a history file that stops being writable mid-session (one warning, the shell goes on),
command arguments that cannot be carried out (one line each, the shell goes on), and
inputs that break their own interpreter."""

import os
import re
import signal
import stat
import sys

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.plain_text import PlainTextOutput

import interpcli
from interpcli.repl import loop
from interpcli.repl.history import make_history
from interpcli.repl.shell import Shell


def shell_names():
    return {i.name for i in interpcli.list_all()} - {"main"}


@pytest.fixture
def session(capsys):
    """session(keys) runs a shell on those keys until it exits; (shell, printed text)."""
    before = shell_names()

    def run(keys):
        assert keys.endswith("\x04")
        shell = Shell()
        sigint = signal.getsignal(signal.SIGINT)
        try:
            with create_pipe_input() as inp, create_app_session(output=PlainTextOutput(sys.stdout)):
                inp.send_text(keys)
                s = loop.make_session(shell, InMemoryHistory(), input=inp, output=DummyOutput())
                status = loop.interactive(shell, s)
        finally:
            shell.shutdown()
        out = capsys.readouterr()
        assert signal.getsignal(signal.SIGINT) is sigint
        assert status == 0
        return shell, out.out + out.err

    yield run
    assert shell_names() == before, "the shell left interpreters behind"


def run_main(capsys, keys, environ):
    """loop.main() (banner, history from environ) on keys; (status, printed text)."""
    with create_pipe_input() as inp, create_app_session(output=PlainTextOutput(sys.stdout)):
        inp.send_text(keys)
        status = loop.main(input=inp, output=DummyOutput(), environ=environ)
    out = capsys.readouterr()
    return status, out.out + out.err


def node_state(path):
    st = os.lstat(path)
    return st.st_mode, st.st_rdev, st.st_uid, st.st_size


# -- history: nothing but a regular file is used, a failing write is one warning ----------


def test_history_path_that_is_no_regular_file_is_left_alone(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o644)  # opening it for writing would block: no reader
    device = tmp_path / "null"  # our own /dev/null: never touch the real one
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:  # not root (or no CAP_MKNOD): a FIFO stands in
        device = fifo
    link = tmp_path / "link"
    link.symlink_to(device)
    folder = tmp_path / "dir"
    folder.mkdir(mode=0o755)
    loose = tmp_path / "loose"  # an existing regular file keeps its mode
    loose.write_text("+earlier\n")
    loose.chmod(0o644)
    before = {p: node_state(p) for p in (device, fifo, link, folder, loose)}
    for path in {device: 0, fifo: 0, link: 0, folder: 0}:
        history, used, warning = make_history(str(path))
        assert used is None, path
        assert warning == f"history not saved: cannot use {path}: not a regular file"
    assert make_history(str(loose))[1:] == (str(loose), None)

    # the whole shell on the device node: a warning, then it works
    status, out = run_main(capsys, "6 * 7\r\x04", {"INTERP_HISTORY": str(device)})
    assert status == 0 and "42\n" in out
    assert f"cannot use {device}: not a regular file" in out
    assert {p: node_state(p) for p in before} == before


def test_a_failing_history_write_is_one_warning_and_the_shell_goes_on(tmp_path, capsys):
    path = tmp_path / "history"
    keys = (
        "import os\r"
        # the input itself turns the history file into a directory: writes fail
        f"os.unlink({str(path)!r}); os.mkdir({str(path)!r})\r"
        "6 * 7\r"
        "'still' + ' here'\r"
        "\x04"
    )
    status, out = run_main(capsys, keys, {"INTERP_HISTORY": str(path)})
    assert status == 0, out
    assert "42\n" in out and "'still here'\n" in out
    assert out.count("history not saved any more") == 1, out
    assert "Unhandled exception" not in out and "internal error" not in out
    assert path.is_dir()


def test_history_is_read_back_and_made_private(tmp_path, capsys):
    path = tmp_path / "new" / "history"
    status, out = run_main(capsys, "1 + 1\r\x04", {"INTERP_HISTORY": str(path)})
    assert status == 0 and "2\n" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "+1 + 1\n" in path.read_text()
    history, used, _w = make_history(str(path))
    assert list(history.history.load_history_strings()) == ["1 + 1"]


# -- command arguments: one line each, the shell goes on --------------------------------


def test_channel_names_that_cannot_be_bound(session):
    shell, out = session(
        "%chan __debug__\r"  # cannot be assigned: broke every later input
        "%chan __builtins__\r"  # would replace the interpreters' builtins
        "%chan channels\r"  # the shell's own namespace
        "%chan class\r"
        "%chan ｉｆ\r"  # a keyword once NFKC-normalized, as Python reads it
        "%chan ﬁ\r"  # Python reads it as fi
        "%chan fi\r"  # the same name
        "x = 40\r"
        "x + 2\r"
        "fi.send_nowait(b'via ligature')\r"
        "%recv ﬁ\r"
        "\x04"
    )
    assert "'__debug__' is a __dunder__ identifier" in out
    assert "'__builtins__' is a __dunder__ identifier" in out
    assert "'channels' is taken" in out
    assert "'class' is a Python keyword" in out and "'ｉｆ' is a Python keyword" in out
    assert "channel 'fi' (id" in out
    assert "channel 'fi' exists already ('fi' is 'fi' to Python)" not in out
    assert "channel 'fi' exists already" in out
    assert "42\n" in out and "b'via ligature'" in out
    assert list(shell.channels) == ["fi"]
    assert "internal error" not in out and "SyntaxError" not in out
    assert all(r.completed for _n, _m, r in shell.results)


def test_send_expressions_that_raise_or_exit(session):
    shell, out = session(
        "%chan c\r"
        "%send c exit()\r"  # SystemExit: ended the shell
        "%send c quit(3)\r"
        "%send c (_ for _ in ()).throw(GeneratorExit)\r"
        "%send c 1/0\r"
        "%send c 'text'\r"
        "%send c b'fine'\r"
        "c.recv()\r"
        "\x04"
    )
    assert "%send: exit() raised SystemExit" in out
    assert "%send: quit(3) raised SystemExit: 3" in out
    assert "raised GeneratorExit" in out
    assert "%send: 1/0 raised ZeroDivisionError: division by zero" in out
    assert "is a str; channels carry bytes" in out
    assert ("b'fine'" in out and not shell.exiting) or "b'fine'\n" in out
    assert "internal error" not in out


def test_odd_numbers_and_options(session):
    shell, out = session(
        "1\r"
        "%results ²\r"  # a digit to str.isdigit(), not to int()
        "%results ٣\r"  # an Arabic-Indic three
        "%results 99999999999999999999999\r"
        "%results 0\r"
        "%results 1\r"
        "%chan c\r"
        "%recv c --timeout nan\r"
        "%recv c --timeout=\r"
        "%recv c --timeout -1\r"
        "%recv c --timeout 1e-9\r"
        "\x04"
    )
    assert "%results: N must be a number, not '²'" in out
    assert "%results: N must be a number, not '٣'" in out
    assert "no result #99999999999999999999999 (there are 1)" in out
    assert "no result #0 (there are 1)" in out
    assert out.count("--timeout must be positive") == 2
    assert "--timeout needs a number, not ''" in out
    assert "nothing arrived on 'c'" in out
    assert "internal error" not in out


# -- inputs that break their own interpreter --------------------------------------------


def test_inputs_that_break_their_interpreter(session):
    shell, out = session(
        "%chan c\r"
        "class Bad(Exception):\r"
        "def __str__(self): raise RuntimeError('no str')\r"
        "\r"
        "raise Bad()\r"
        "raise SystemExit('a message')\r"
        "import sys; saved = sys.stdout; sys.stdout = None\r"
        "'invisible'\r"  # python: RuntimeError: lost sys.stdout
        "sys.stdout = saved\r"
        "import builtins; del builtins.print; builtins.__import__ = None\r"
        "'after print and __import__ went'\r"
        "__builtins__ = {}\r"
        "6 * 7\r"  # the shell's runner needs no builtins
        "len\r"
        "c.send_nowait(b'sent with no builtins')\r"  # channels need no import either
        "%recv c\r"
        "%spawn cleared\r"
        "import sys; sys.modules.clear()\r"
        "1/0\r"  # the traceback module is gone: still a traceback
        "%spawn other\r"
        "4 + 4\r"
        "\x04"
    )
    assert "Bad: <exception str() failed>" in out
    assert "a message\n" in out
    assert "RuntimeError: lost sys.stdout" in out
    assert "'after print and __import__ went'\n" in out
    assert "42\n" in out and "NameError: name 'len' is not defined" in out
    assert "b'sent with no builtins'" in out
    # after sys.modules.clear() python's own displayhook says "lost builtins module"
    assert re.search(
        r'File "<in-\d+>", line 1, in <module>\nZeroDivisionError: division by '
        r"zero",
        out,
    )
    assert "spawned 'cleared'" in out and "spawned 'other'" in out and "8\n" in out
    assert "could not be formatted" not in out
    assert "internal error" not in out, out


def test_an_input_that_closes_the_shells_output_channel(session):
    # every interpreter's output then vanished, silently, for the rest of the session
    shell, out = session(
        "import sys; sys.stdout._chan.close()\r"
        "6 * 7\r"
        "%spawn other\r"
        "print('from other')\r"
        "%use repl\r"
        "print('from repl')\r"
        "\x04"
    )
    assert out.count("the shell's output channel was closed by an input") == 1
    assert "42\n" in out and "from other\n" in out and "from repl\n" in out
    assert "internal error" not in out
