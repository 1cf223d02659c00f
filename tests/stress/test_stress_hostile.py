"""Hostile input to the API and to `interp`: each gives a clear error or the right result,
never a crash, a hang or a busy wait."""

import subprocess
import sys
import threading
import time

import pytest
from stress_util import report

import interpcli

INTERP = [sys.executable, "-m", "interpcli"]


@pytest.fixture(scope="module")
def interp():
    i = interpcli.create("hostile")
    yield i
    i.close()


# ---------------------------------------------------------------- API: sources


@pytest.mark.parametrize(
    "source, exc_type, needle",
    [
        ("x = 1\0", "SyntaxError", "null bytes"),
        (b"x = '\xff\xfe'", "SyntaxError", "UTF-8"),
        ("def f(:\n", "SyntaxError", ""),
        ("def f():\n    return f()\nf()\n", "RecursionError", "recursion"),
        ("1 +" * 100_000 + " 1", ("RecursionError", "MemoryError"), ""),
        ("(" * 1000 + ")" * 1000, "SyntaxError", "parenthes"),
        (
            "import ast\nast.literal_eval('-' * 1_000_000 + '1')",
            ("RecursionError", "MemoryError"),
            "",
        ),
        ("x = []\nfor _ in range(1_000_000):\n    x = [x]\nrepr(x)", "RecursionError", ""),
        ("raise SystemExit('bye' * 100000)", "SystemExit", "bye"),
        ("import os\nos.fork()", "RuntimeError", "fork"),
    ],
)
def test_bad_sources_become_results(interp, source, exc_type, needle):
    res = interp.run(source)
    assert not res.completed
    assert res.exc_type in ((exc_type,) if isinstance(exc_type, str) else exc_type), (
        res.exc_type,
        res.exc_message,
    )
    assert needle in (res.exc_message or "") + (res.traceback or "")
    assert interp.run("pass").completed  # and the interpreter is fine afterwards


def test_deep_structures_die_quietly(interp):
    # deallocating a million nested lists inside a subinterpreter (the trashcan)
    assert interp.run("x = []\nfor _ in range(1_000_000):\n    x = [x]\ndel x").completed


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["string", "comment"])
def test_50_mb_source(interp, kind):
    body = "a" * (50 << 20)
    source = f"data = '{body}'\n" if kind == "string" else f"# {body}\ndata = 'a' * {50 << 20}\n"
    r, s = interpcli.create_channel()
    t0 = time.perf_counter()
    res = interp.run(
        source + "channels.s.send_nowait(str(len(data)).encode())\ndel data", channels={"s": s}
    )
    elapsed = time.perf_counter() - t0
    assert res.completed, res.traceback
    assert r.recv() == str(50 << 20).encode()
    report(f"source_50mb_{kind}", seconds=round(elapsed, 2))


@pytest.mark.parametrize("source", [None, 42, ["x = 1"], object()])
def test_source_of_the_wrong_type(interp, source):
    with pytest.raises(TypeError, match="source must be str"):
        interp.run(source)


# ---------------------------------------------------------------- API: channels


@pytest.mark.parametrize("name", ["1a", "a b", "a-b", "class", "", "é\0", 3, None])
def test_channel_names_that_are_not_identifiers(interp, name):
    _r, s = interpcli.create_channel()
    with pytest.raises(ValueError, match="identifier"):
        interp.run("pass", channels={name: s})


@pytest.mark.parametrize("value", [None, 1, "chan", b"x", object()])
def test_channel_values_that_are_not_ends(interp, value):
    with pytest.raises(TypeError, match="channel end"):
        interp.run("pass", channels={"c": value})


class RaisingBuffer:
    def __buffer__(self, flags):
        raise RuntimeError("no buffer for you")


@pytest.mark.parametrize("method", ["send", "send_nowait", "send_buffer", "send_buffer_nowait"])
@pytest.mark.parametrize(
    "obj, exc",
    [
        ("text", TypeError),
        (None, TypeError),
        (1, TypeError),
        ([1, 2], TypeError),
        (object(), TypeError),
        (memoryview(b"abcdef")[::2], BufferError),
        (RaisingBuffer(), RuntimeError if sys.version_info >= (3, 12) else TypeError),
    ],
)
def test_non_bytes_on_a_channel(method, obj, exc):
    r, s = interpcli.create_channel()
    with pytest.raises(exc):
        getattr(s, method)(obj)
    assert r.recv_nowait(None) is None
    s.send_nowait(b"still works")
    assert r.recv() == b"still works"


def test_non_bytes_inside_a_subinterpreter_names_the_type(interp):
    _r, s = interpcli.create_channel()
    res = interp.run("channels.s.send_nowait({'a': 1})", channels={"s": s})
    assert res.exc_type == "TypeError" and "dict" in res.exc_message


def test_bogus_channel_ids_inside_a_subinterpreter(interp):
    res = interp.run("import _interpcli\n_interpcli._end(10**15, 1)")
    assert res.exc_type == "interpcli.ChannelError" and "no longer exists" in res.exc_message
    res = interp.run("import _interpcli\n_interpcli._end(1, 7)")
    assert res.exc_type == "ValueError"
    res = interp.run("import _interpcli\n_interpcli._end(2**70, 1)")
    assert res.exc_type == "OverflowError"


def test_huge_message(interp):
    r, s = interpcli.create_channel()
    res = interp.run("channels.s.send_nowait(bytes(256 << 20))", channels={"s": s})
    assert res.completed, res.traceback
    got = r.recv()
    assert len(got) == 256 << 20 and got.count(0) == len(got)


# ---------------------------------------------------------------- API: timeouts


def cpu_and_wall(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - t0, time.process_time() - c0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("timeout", [1e300, float("inf"), 1e10, 2.0**63])
def test_huge_recv_timeout_waits_without_spinning(timeout):
    r, s = interpcli.create_channel()
    threading.Timer(0.5, s.send_nowait, args=(b"late",)).start()
    got, wall, cpu = cpu_and_wall(lambda: r.recv(timeout=timeout))
    assert got == b"late"
    assert cpu < wall / 2, f"recv(timeout={timeout}) burnt {cpu:.2f} s of CPU in {wall:.2f} s"


@pytest.mark.parametrize("timeout", [-1, float("nan"), "soon"])
def test_bad_recv_timeouts(timeout):
    r, _s = interpcli.create_channel()
    with pytest.raises((ValueError, TypeError)):
        r.recv(timeout=timeout)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("timeout", [1e300, float("inf"), 1e10])
def test_huge_run_timeout_is_no_timeout(interp, timeout):
    res = interp.run("import time\ntime.sleep(0.2)", timeout=timeout)
    assert res.completed and not res.timed_out
    assert not interp.is_running()


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "soon"])
def test_bad_run_timeouts(interp, timeout):
    with pytest.raises((ValueError, TypeError)):
        interp.run("pass", timeout=timeout)
    assert not interp.is_running()


# ---------------------------------------------------------------- API: interpreters


@pytest.mark.parametrize(
    "name, exc",
    [
        ("", ValueError),
        ("a\0b", ValueError),
        ("x" * 201, ValueError),
        (42, ValueError),
    ],
)
def test_bad_interpreter_names(name, exc):
    with pytest.raises(exc):
        interpcli.create(name)


def test_closed_and_unknown_interpreters():
    i = interpcli.create()
    i.close()
    with pytest.raises(interpcli.InterpreterNotFoundError):
        i.run("pass")
    with pytest.raises(interpcli.InterpreterNotFoundError):
        i.close()
    with pytest.raises(interpcli.InterpreterNotFoundError):
        interpcli.Interpreter(10**9)
    with pytest.raises(interpcli.InterpreterError):
        interpcli.get_main().close()


def test_interpreters_cannot_be_driven_from_inside(interp):
    res = interp.run("import interpcli\ninterpcli.create()")
    assert res.exc_type == "interpcli.InterpreterError", res.exc_type
    assert "main interpreter" in res.exc_message


# ---------------------------------------------------------------- the command line


def interp_cli(*args, timeout=120, **kw):
    return subprocess.run([*INTERP, *map(str, args)], capture_output=True, timeout=timeout, **kw)


def one_line(proc, status):
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == status, (proc.returncode, err)
    assert "Traceback" not in err and "Fatal Python error" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_cli_directory_without_main_as_script(tmp_path):
    # python's own answer: one line, status 1
    err = one_line(interp_cli("run", tmp_path), 1)
    assert "can't find '__main__' module" in err


def test_cli_unreadable_script(tmp_path):
    # root reads any mode; a file whose reads fail does it for everyone
    err = one_line(interp_cli("run", "/proc/self/mem"), 2)
    assert "mem" in err


def test_cli_missing_script(tmp_path):
    one_line(interp_cli("run", tmp_path / "nope.py"), 2)


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"x = 1\0\n", b"null bytes"),
        (b"x = '\xff'\n", b"utf-8"),
    ],
)
def test_cli_nul_bytes_and_invalid_utf8(tmp_path, content, needle):
    script = tmp_path / "bad.py"
    script.write_bytes(content)
    proc = interp_cli("run", script)
    assert proc.returncode == 1
    assert b"SyntaxError" in proc.stderr and needle in proc.stderr.lower()
    assert b"Fatal Python error" not in proc.stderr


@pytest.mark.timeout(180)
def test_cli_50_mb_script(tmp_path):
    script = tmp_path / "big.py"
    script.write_bytes(b"data = '" + b"a" * (50 << 20) + b"'\nprint(len(data))\n")
    t0 = time.perf_counter()
    proc = interp_cli("run", script, "--result", "none")
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"%d\n" % (50 << 20)
    report("cli_50mb_script", seconds=round(elapsed, 2))


def test_cli_recursion_bomb(tmp_path):
    script = tmp_path / "bomb.py"
    script.write_text("def f():\n    return f()\nf()\n")
    proc = interp_cli("run", script)
    assert proc.returncode == 1
    assert b"RecursionError" in proc.stderr and b"Fatal Python error" not in proc.stderr


@pytest.mark.timeout(120)
def test_cli_1_gb_through_a_channel_into_head(tmp_path):
    script = tmp_path / "flood.py"
    script.write_text(
        "block = b'x' * (1 << 20)\nfor _ in range(1024):\n    channels.out.send(block)\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'set -o pipefail; "$@" | head -c 10; echo " ${PIPESTATUS[*]}" >&2',
            "sh",
            *INTERP,
            "run",
            str(script),
            "--channels",
            "out",
            "--stdout",
            "out",
            "--result",
            "none",
        ],
        capture_output=True,
        timeout=110,
    )
    elapsed = time.perf_counter() - t0
    assert proc.stdout == b"x" * 10
    statuses = proc.stderr.split()[-2:]
    assert statuses[1] == b"0"
    # interp treats its reader going away as the end of the output, not as a failure
    # (cli.status.BROKEN_PIPE_ERRORS): status 0, no traceback, no crash
    assert statuses[0] == b"0", proc.stderr
    assert b"Traceback" not in proc.stderr and b"Fatal Python error" not in proc.stderr
    report("cli_1gb_into_head", seconds=round(elapsed, 2), status=int(statuses[0]))


@pytest.mark.parametrize("names", ["1a", "a-b", "class", "a,,b", ","])
def test_cli_channel_names_that_are_not_identifiers(names):
    one_line(interp_cli("run", "-c", "pass", "--channels", names), 2)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("timeout", ["1e300", "inf", "1e10"])
def test_cli_huge_timeout(timeout):
    proc = interp_cli("run", "-c", "print('ok')", "--timeout", timeout, "--result", "none")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"ok\n"


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "soon"])
def test_cli_bad_timeout(timeout):
    one_line(interp_cli("run", "-c", "pass", "--timeout", timeout), 2)
