"""`interp run` through real processes: scripts, -c, -m, arguments, exit statuses,
channels between parallel scripts, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from helpers import INTERP, assert_one_line_error, interp, write

pytestmark = pytest.mark.timeout(120)

SHOW = """
import sys, json, os
import helper
print(json.dumps({"argv": sys.argv, "file": __file__, "path0": sys.path[0],
                  "name": __name__, "helper": helper.VALUE}))
"""


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "proj"
    d.mkdir()
    write(d / "show.py", SHOW)
    write(d / "helper.py", "VALUE = 42\n")
    return d


def test_hello(tmp_path):
    script = write(tmp_path / "hello.py", "print('hello')\n")
    p = interp("run", script)
    assert (p.returncode, p.stdout, p.stderr) == (0, "hello\n", "")


def test_console_script_is_installed(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "interp")
    if not os.path.exists(exe):
        pytest.skip("no interp script beside this python")
    script = write(tmp_path / "hello.py", "print('hello')\n")
    p = subprocess.run([exe, "run", str(script)], capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, "hello\n")


def test_script_sees_argv_file_and_path_like_python(project, tmp_path):
    """sys.argv, __file__ and sys.path[0] as python sets them; a module beside the
    script imports. Run from another directory with a relative path."""
    rel = os.path.relpath(project / "show.py", tmp_path)
    p = interp("run", rel, "--", "a", "-b", "--c", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    ours = json.loads(p.stdout)
    ref = subprocess.run(
        [sys.executable, rel, "a", "-b", "--c"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert ours == json.loads(ref.stdout)
    assert ours["argv"] == [rel, "a", "-b", "--c"]
    assert ours["helper"] == 42 and ours["name"] == "__main__"


def test_options_may_follow_the_scripts(project, tmp_path):
    p = interp("run", project / "show.py", "--result", "none", "--", "x", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["argv"][1:] == ["x"]


def test_code_like_python_c(tmp_path):
    code = "import sys; print(sys.argv, repr(sys.path[0]), __name__)"
    p = interp("run", "-c", code, "--", "a", "b", cwd=tmp_path)
    ref = subprocess.run(
        [sys.executable, "-c", code, "a", "b"], capture_output=True, text=True, cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == ref.stdout == "['-c', 'a', 'b'] '' __main__\n"


def test_module_like_python_m(tmp_path):
    write(
        tmp_path / "mymod.py",
        """
        import sys, json
        print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "name": __name__}))
    """,
    )
    p = interp("run", "-m", "mymod", "--", "x", "y", cwd=tmp_path)
    ref = subprocess.run(
        [sys.executable, "-m", "mymod", "x", "y"], capture_output=True, text=True, cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    ours = json.loads(p.stdout)
    assert ours == json.loads(ref.stdout)
    assert ours["argv"][0].endswith("mymod.py") and ours["argv"][1:] == ["x", "y"]


def test_missing_module_fails_like_python(tmp_path):
    p = interp("run", "-m", "no_such_module_xyz", cwd=tmp_path)
    assert p.returncode == 1
    assert "No module named no_such_module_xyz" in p.stderr
    assert "Traceback" not in p.stderr


def test_encoding_cookie(tmp_path):
    script = tmp_path / "latin.py"
    script.write_bytes(b"# -*- coding: latin-1 -*-\nprint(ascii('\xe9'))\n")
    p = interp("run", script)
    assert (p.returncode, p.stdout) == (0, "'\\xe9'\n"), p.stderr


# ---- exit statuses ----


def test_exception_gives_1_and_traceback_on_stderr(tmp_path):
    script = write(
        tmp_path / "boom.py",
        """
        print("before")
        def f():
            raise ValueError("bad value")
        f()
    """,
    )
    p = interp("run", script)
    assert p.returncode == 1
    assert p.stdout == "before\n"  # stdout carries only the script's data
    assert "Traceback (most recent call last)" in p.stderr
    assert f'File "{script}", line 4, in f' in p.stderr
    assert p.stderr.rstrip().endswith("ValueError: bad value")


def test_syntax_error_gives_1(tmp_path):
    script = write(tmp_path / "bad.py", "def (:\n")
    p = interp("run", script)
    assert p.returncode == 1
    assert "SyntaxError" in p.stderr


@pytest.mark.parametrize(
    "code,status,err",
    [
        ("raise SystemExit(3)", 3, ""),
        ("import sys; sys.exit(0)", 0, ""),
        ("import sys; sys.exit()", 0, ""),
        ("import sys; sys.exit('fatal: no input')", 1, "fatal: no input\n"),
    ],
)
def test_system_exit(code, status, err):
    p = interp("run", "-c", code)
    assert (p.returncode, p.stderr) == (status, err)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "no_such_script.py"], "can't open file 'no_such_script.py'"),
        (["run"], "nothing to run"),
        (["run", "-c", "pass", "--bogus"], "No such option"),
        (["run", "-c", "pass", "--channels", "a-b"], "'a-b' is not a valid channel name"),
        (["run", "-c", "pass", "--channels", "class"], "'class' is not a valid channel name"),
        (["run", "-c", "pass", "--channels", "a,a"], "given twice"),
        (["run", "-c", "pass", "--channels", "a", "--stdin", "b"], "--stdin b: unknown channel"),
        (["run", "-c", "pass", "--stdout", "out"], "--stdout out: unknown channel"),
        (["run", "-c", "pass", "--channels", "a", "--stdin", "a", "--stdout", "a"], "same channel"),
        (["run", "-c", "pass", "--result", "xml"], "xml"),
        (["run", "-c", "pass", "--timeout", "-1"], "--timeout"),
        (["run", "-c", "pass", "--timeout", "soon"], "--timeout"),
        (["run", "-c", "pass", "--timeout", "nan"], "--timeout"),
        (["run", "-m", "not a module"], "not a module name"),
        (["pipe"], "no stages"),
        (["pipe", "nope.py"], "can't open file 'nope.py'"),
        (["pipe", "-"], "cannot be a stage"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_are_one_line_status_2(args, needle):
    line = assert_one_line_error(interp(*args))
    assert needle in line


def test_script_arguments_hint(tmp_path):
    script = write(tmp_path / "s.py", "pass\n")
    line = assert_one_line_error(interp("run", script, "arg1"))
    assert "go after --" in line and "arg1" in line


def test_undecodable_file_name(tmp_path):
    name = os.fsdecode(b"h\xff.py")
    script = write(tmp_path / name, "import sys; print(ascii(sys.argv))\n")
    p = interp("run", script.name, "--", os.fsdecode(b"\xfe"), cwd=tmp_path, text=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"['h\\udcff.py', '\\udcfe']\n"


@pytest.mark.parametrize("timeout", ["inf", "1e10", "1e300", "5e9", "1e6"])
def test_huge_timeouts(timeout):
    p = interp("run", "-c", "import time; time.sleep(0.1); print(1)", "--timeout", timeout)
    assert (p.returncode, p.stdout, p.stderr) == (0, "1\n", "")


def test_no_command_shows_help_status_2():
    p = interp()
    assert p.returncode == 2
    assert "Usage:" in p.stdout + p.stderr and "Traceback" not in p.stderr


# ---- several scripts, channels ----


def test_producer_consumer_order(tmp_path):
    write(
        tmp_path / "producer.py",
        """
        for i in range(2000):
            channels.jobs.send(b"%d" % i)
        channels.jobs.close()
    """,
    )
    write(
        tmp_path / "consumer.py",
        """
        got = [int(m) for m in channels.jobs]
        assert got == list(range(2000)), got[:10]
        print("consumed", len(got))
    """,
    )
    p = interp("run", tmp_path / "producer.py", tmp_path / "consumer.py", "--channels", "jobs")
    assert (p.returncode, p.stdout, p.stderr) == (0, "consumed 2000\n", "")


def test_scripts_run_at_once(tmp_path):
    """A rendezvous: each script waits for the other's message, so they must overlap."""
    write(tmp_path / "a.py", "channels.ab.send(b'from a'); print(bytes(channels.ba.recv()))\n")
    write(tmp_path / "b.py", "print(bytes(channels.ab.recv())); channels.ba.send(b'from b')\n")
    p = interp("run", tmp_path / "a.py", tmp_path / "b.py", "--channels", "ab,ba", timeout=30)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == ["b'from a'", "b'from b'"]


BUSY = """
import time, json
t0, c0 = time.monotonic(), time.thread_time()
n = 0
while time.thread_time() - c0 < 0.6:
    for _ in range(10000):
        n += 1
channels.out.send(json.dumps([t0, time.monotonic(), time.thread_time() - c0]).encode())
"""


def _process_ratio(tmp_path) -> float:
    """The same measure for two plain python processes: what the machine offers now."""
    write(
        tmp_path / "busy_proc.py",
        BUSY.replace(
            "channels.out.send("
            "json.dumps([t0, time.monotonic(), time.thread_time() - c0]).encode())",
            "print(json.dumps([t0, time.monotonic(), time.thread_time() - c0]))",
        ),
    )
    procs = [
        subprocess.Popen(
            [sys.executable, tmp_path / "busy_proc.py"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    spans = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    wall = max(s[1] for s in spans) - min(s[0] for s in spans)
    return sum(s[2] for s in spans) / wall


def test_scripts_run_in_parallel(tmp_path):
    """Two CPU-bound scripts: their CPU times add up to more than the wall time they
    took together, which one GIL cannot do. The machine is shared: when two plain
    processes cannot show parallelism right now either, the test is skipped."""
    write(tmp_path / "busy.py", BUSY)
    write(
        tmp_path / "collect.py",
        """
        import json
        spans = [json.loads(bytes(channels.out.recv())) for _ in range(2)]
        wall = max(s[1] for s in spans) - min(s[0] for s in spans)
        print(sum(s[2] for s in spans) / wall)
    """,
    )
    ratios, controls = [], []
    for _ in range(6):
        p = interp(
            "run",
            tmp_path / "busy.py",
            tmp_path / "busy.py",
            tmp_path / "collect.py",
            "--channels",
            "out",
        )
        assert p.returncode == 0, p.stderr
        ratios.append(float(p.stdout))
        if ratios[-1] > 1.3:
            return
        controls.append(_process_ratio(tmp_path))
    import statistics

    if statistics.median(controls) < 1.3:
        pytest.skip(f"the machine is busy: two processes reached {controls}")
    assert max(ratios) > 1.3, (ratios, controls)


def test_failure_closes_shared_channels_no_hang(tmp_path):
    write(tmp_path / "waiter.py", "channels.x.recv()\nprint('not reached')\n")
    write(tmp_path / "crash.py", "import time; time.sleep(0.2); raise RuntimeError('crash')\n")
    t = time.monotonic()
    p = interp("run", tmp_path / "waiter.py", tmp_path / "crash.py", "--channels", "x", timeout=30)
    assert p.returncode == 1
    assert "RuntimeError: crash" in p.stderr
    assert p.stderr.count("Traceback") == 1  # the waiter's ChannelClosedError is quiet
    assert time.monotonic() - t < 20


def test_first_failing_script_sets_status(tmp_path):
    p = interp("run", "-c", "raise SystemExit(4)", "-c", "pass")
    assert p.returncode == 4


# ---- results ----


def test_result_json(tmp_path):
    script = write(tmp_path / "ok.py", "print('data')\n")
    p = interp("run", script, "-c", "1/0", "--result", "json", "--channels", "a")
    assert p.returncode == 1
    assert p.stdout == "data\n"
    doc = json.loads(p.stderr.strip().splitlines()[-1])
    assert doc["exit_status"] == 1
    first, second = doc["results"]
    assert first["completed"] and first["program"] == str(script)
    assert first["channels"] == ["a"] and first["interpreter"]["name"] == "ok"
    assert not second["completed"] and second["exc_type"] == "ZeroDivisionError"
    assert "Traceback" in second["traceback"]
    assert set(first) >= {
        "source",
        "completed",
        "exc_type",
        "exc_message",
        "duration",
        "exit_code",
        "timed_out",
        "interpreter",
    }


def test_result_table_honours_no_color(tmp_path):
    p = interp(
        "run",
        "-c",
        "pass",
        "-c",
        "1/0",
        "--result",
        "table",
        env={"NO_COLOR": "1", "COLUMNS": "120"},
    )
    assert p.returncode == 1
    assert "ZeroDivisionError" in p.stderr
    for col in ("name", "id", "source", "channels", "completed", "exception", "duration"):
        assert col in p.stderr
    assert "\x1b[" not in p.stderr


def test_result_auto_is_quiet_off_a_terminal():
    p = interp("run", "-c", "print(1)")
    assert (p.returncode, p.stdout, p.stderr) == (0, "1\n", "")


def test_result_none():
    p = interp("run", "-c", "pass", "--result", "none")
    assert (p.returncode, p.stderr) == (0, "")


# ---- --shared-gil ----


def test_extension_refusing_subinterpreters_hints_shared_gil():
    pytest.importorskip("_cffi_backend")
    p = interp("run", "-c", "import _cffi_backend")
    assert p.returncode == 1
    assert "does not support loading in subinterpreters" in p.stderr
    assert "--shared-gil" in p.stderr.strip().splitlines()[-1]
    ok = interp("run", "--shared-gil", "-c", "import _cffi_backend; print('loaded')")
    assert (ok.returncode, ok.stdout) == (0, "loaded\n"), ok.stderr


# ---- version, help ----


def test_version():
    import interpcli

    p = interp("--version")
    assert p.returncode == 0
    assert p.stdout.startswith(f"interp {interpcli.__version__} (Python ")


@pytest.mark.parametrize("args", [[], ["run"], ["pipe"], ["shell"]])
def test_help_everywhere(args):
    for flag in ("--help", "-h"):
        p = interp(*args, flag)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("Usage: interp"), p.stdout


def _imported(*args) -> set[str]:
    p = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in p.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_help_and_run_import_neither_rich_nor_prompt_toolkit(tmp_path):
    script = write(tmp_path / "hello.py", "print('hello')\n")
    python_itself = _imported("-c", "pass")  # site, .pth files (an editable install's)
    for args in (["--help"], ["run", str(script)], ["run", "--help"]):
        imported = _imported("-m", "interpcli", *args) - python_itself
        # `interp run script.py` starts without click (cli.quickargs reads the line)
        assert ("click" in imported) == (args != ["run", str(script)])
        heavy = {m for m in imported if m.split(".")[0] in ("rich", "prompt_toolkit")}
        assert not heavy, heavy
        # click's help formatter takes the width from us, not from shutil (which loads
        # the compression modules on 3.14: --help would no longer be level with click)
        assert "shutil" not in imported
        # nor the modules that cost a python start-up of their own, nor those that cost
        # a tenth of one each (`interp run hello.py` has twice python's start-up to spend)
        if args == ["run", str(script)]:
            slow = imported & {
                "dataclasses",
                "typing",
                "inspect",
                "re",
                "json",
                "threading",
                "enum",
                "weakref",
                "collections",
                "__future__",
                "signal",
                "warnings",
            }
            assert not slow, slow


def test_no_command_line_runs_before_python_m(tmp_path):
    """`python -m interpcli` is `interp` (same entry point)."""
    p = subprocess.run([*INTERP, "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("interp ")


def test_program_from_stdin_like_python_dash(tmp_path):
    code = "import sys; print(sys.argv, repr(sys.path[0]), __name__)\n"
    p = interp("run", "-", "--", "x", input=code, cwd=tmp_path)
    ref = subprocess.run(
        [sys.executable, "-", "x"], input=code, capture_output=True, text=True, cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == ref.stdout == "['-', 'x'] '' __main__\n"


def test_program_from_stdin_only_once():
    assert_one_line_error(interp("run", "-", "-", input=""))
    assert_one_line_error(interp("run", "-", "--channels", "i", "--stdin", "i", input=""))
