"""Streaming through `interp`: --stdin/--stdout, `interp pipe`, broken pipes, Ctrl-C and
--timeout, all through real processes and real pipes."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest
from helpers import INTERP, interp, write

pytestmark = pytest.mark.timeout(180)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
UPPER = os.path.join(EXAMPLES, "upper.py")
PASS = os.path.join(EXAMPLES, "passthrough.py")
UPPER_STAGE = os.path.join(EXAMPLES, "upper_stage.py")
STREAM = ["--channels", "inp,out", "--stdin", "inp", "--stdout", "out"]


@pytest.fixture(scope="module")
def random_file(tmp_path_factory):
    """50 MB of random bytes."""
    path = tmp_path_factory.mktemp("data") / "random.bin"
    with open(path, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1_000_000))
    return path


def peak_rss_mib(cmd, stdin_path) -> tuple[int, bytes]:
    """Run cmd in a helper process; the peak RSS of cmd (MiB) and a digest of stdout."""
    helper = """
import hashlib, resource, subprocess, sys
with open(sys.argv[1], "rb") as f:
    p = subprocess.Popen(sys.argv[2:], stdin=f, stdout=subprocess.PIPE)
    h = hashlib.sha256()
    while chunk := p.stdout.read(1 << 20):
        h.update(chunk)
    assert p.wait() == 0, p.returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, h.hexdigest())
"""
    out = subprocess.run(
        [sys.executable, "-c", helper, str(stdin_path), *cmd],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rss, digest = out.stdout.split()
    return int(rss), digest


def test_stdin_stdout_50mb_exact_and_bounded(random_file, tmp_path):
    import hashlib

    data = random_file.read_bytes()
    want = hashlib.sha256(data.upper()).hexdigest()
    del data
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1000)
    base_rss, _ = peak_rss_mib([*INTERP, "run", UPPER, *STREAM], small)
    rss, digest = peak_rss_mib([*INTERP, "run", UPPER, *STREAM], random_file)
    assert digest == want
    # 50 MB went through; holding it all would add at least 50 MiB
    assert rss - base_rss < 30, (base_rss, rss)


def test_streams_before_eof():
    """Output for the first line arrives while stdin is still open."""
    p = subprocess.Popen(
        [*INTERP, "run", UPPER, *STREAM],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        p.stdin.write(b"first line\n")
        p.stdin.flush()
        ready, _, _ = select.select([p.stdout], [], [], 30)
        assert ready, "no output before EOF"
        assert os.read(p.stdout.fileno(), 100) == b"FIRST LINE\n"
        p.stdin.write(b"second\n")
        p.stdin.close()
        assert p.stdout.read() == b"SECOND\n"
        assert p.wait(30) == 0
    finally:
        p.kill()
        p.wait()


def test_binary_exact_small():
    data = bytes(range(256)) * 3 + b"\x00\r\n\xff"
    p = interp(
        "run",
        "-c",
        "for m in channels.i: channels.o.send(m)",
        "--channels",
        "i,o",
        "--stdin",
        "i",
        "--stdout",
        "o",
        input=data,
        text=False,
    )
    assert (p.returncode, p.stdout) == (0, data), p.stderr


def test_empty_stdin():
    p = interp("run", UPPER, *STREAM, input=b"", text=False)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")


def test_queued_output_is_drained_after_the_script_ends():
    p = interp(
        "run",
        "-c",
        "for i in range(1000): channels.o.send_nowait(b'%d,' % i)",
        "--channels",
        "o",
        "--stdout",
        "o",
    )
    assert p.returncode == 0
    assert p.stdout == "".join(f"{i}," for i in range(1000))


def test_stdin_not_read_when_the_script_ignores_it():
    """A script that never reads its --stdin channel ends the run although stdin stays
    open (the pump is stopped, nothing waits for EOF)."""
    p = subprocess.Popen(
        [*INTERP, "run", "-c", "print('done')", "--channels", "i", "--stdin", "i"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = p.communicate(timeout=30)  # stdin left open until communicate
    finally:
        p.kill()
    assert (p.returncode, out) == (0, b"done\n"), err


def shell(cmd: str, timeout=60):
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + cmd], capture_output=True, timeout=timeout
    )


def q(args):
    import shlex

    return " ".join(shlex.quote(str(a)) for a in args)


def test_broken_pipe_head(random_file):
    cmd = f"{q(INTERP)} run {q([UPPER, *STREAM])} < {q([random_file])} | head -c 100"
    t = time.monotonic()
    p = shell(cmd)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == 100
    assert p.stderr == b""  # no traceback, no message
    assert time.monotonic() - t < 30


def test_broken_pipe_endless_writer():
    code = "while True: channels.o.send(b'y' * 65536)"
    p = shell(f"{q(INTERP)} run -c {q([code])} --channels o --stdout o | head -c 10")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"y" * 10, b"")


def test_broken_pipe_of_a_printing_script():
    """A script printing into a closed pipe fails as under python: BrokenPipeError,
    status 1 (120 when flushing at the end fails too, from 3.14 buffered); the quiet end
    above is for channels pumped to stdout."""
    p = shell(f"{q(INTERP)} run -c {q(['while True: print(1)'])} | head -n 2")
    assert p.returncode in (1, 120)
    assert p.stdout == b"1\n1\n"
    assert p.stderr.endswith(b"BrokenPipeError: [Errno 32] Broken pipe\n"), p.stderr


# ---- interp pipe ----


def test_pipe_three_stages(random_file):
    import hashlib

    want = hashlib.sha256(random_file.read_bytes().upper()).hexdigest()
    rss, digest = peak_rss_mib([*INTERP, "pipe", PASS, UPPER_STAGE, PASS], random_file)
    assert digest == want


def test_pipe_from_a_file_exact_from_its_offset(tmp_path):
    """stdin a regular file: it is read in parallel with pread, from where the file
    offset stood, and the offset is left at the end, as reads would leave it."""
    data = os.urandom(3 * (1 << 20) + 12345)
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    tell = "import os, sys; sys.stdout.write(str(os.lseek(0, 0, os.SEEK_CUR)))"
    script = (
        f"head -c 1000 > /dev/null; {' '.join(map(str, INTERP))} pipe {PASS} {PASS} "
        f"> {tmp_path / 'out.bin'}; {sys.executable} -c '{tell}'"
    )
    with open(path, "rb") as f:
        p = subprocess.run(["sh", "-c", script], stdin=f, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out.bin").read_bytes() == data[1000:]
    assert p.stdout == str(len(data)).encode()


def test_pipe_from_a_file_leaves_the_offset_after_what_was_taken(tmp_path):
    """A stage that stops after two chunks: the next command reads on from there."""
    data = os.urandom(5 * (1 << 20))
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    write(
        tmp_path / "two.py",
        """
        for i, chunk in enumerate(channels.stdin):
            channels.stdout.send(bytes(chunk))
            if i == 1:
                break
    """,
    )
    rest = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    script = (
        f"{' '.join(map(str, INTERP))} pipe {tmp_path / 'two.py'} > "
        f"{tmp_path / 'out.bin'}; {sys.executable} -c '{rest}'"
    )
    with open(path, "rb") as f:
        p = subprocess.run(["sh", "-c", script], stdin=f, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    taken = (tmp_path / "out.bin").read_bytes()
    assert taken == data[: len(taken)] and len(taken) == 2 << 20
    assert p.stdout == data[len(taken) :]


def test_pipe_text_example():
    p = interp(
        "pipe",
        UPPER_STAGE,
        os.path.join(EXAMPLES, "words.py"),
        input="a b c\nhello\nno newline at end",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == "3\tA B C\n1\tHELLO\n4\tNO NEWLINE AT END\n"


def test_pipe_stage_args_and_shared_channels(tmp_path):
    write(
        tmp_path / "first.py",
        """
        import sys
        channels.side.send_nowait(sys.argv[1].encode())
        for m in channels.stdin:
            channels.stdout.send(m)
    """,
    )
    write(
        tmp_path / "second.py",
        """
        tag = bytes(channels.side.recv())
        for m in channels.stdin:
            channels.stdout.send(tag + b":" + bytes(m))
    """,
    )
    p = interp(
        "pipe",
        tmp_path / "first.py",
        tmp_path / "second.py",
        "--channels",
        "side",
        "--",
        "TAG",
        input="x",
    )
    assert (p.returncode, p.stdout) == (0, "TAG:x"), p.stderr


def test_pipe_stage_failure_stops_everything(tmp_path, random_file):
    write(
        tmp_path / "fail.py",
        """
        n = 0
        for chunk in channels.stdin:
            n += 1
            if n == 3:
                raise ValueError("stage two broke")
            channels.stdout.send(chunk)
    """,
    )
    t = time.monotonic()
    with open(random_file, "rb") as f:
        p = subprocess.run(
            [*INTERP, "pipe", PASS, tmp_path / "fail.py", PASS],
            stdin=f,
            capture_output=True,
            timeout=60,
        )
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.count("Traceback") == 1, err
    assert "ValueError: stage two broke" in err
    assert time.monotonic() - t < 30


def test_pipe_stage_that_stops_reading_is_like_head(random_file, tmp_path):
    write(tmp_path / "head.py", "channels.stdout.send(bytes(channels.stdin.recv())[:5])\n")
    with open(random_file, "rb") as f:
        p = subprocess.run(
            [*INTERP, "pipe", PASS, tmp_path / "head.py"], stdin=f, capture_output=True, timeout=60
        )
    assert (p.returncode, p.stderr) == (0, b"")
    assert p.stdout == random_file.read_bytes()[:5]


def test_pipe_stage_exit_status(tmp_path):
    write(tmp_path / "exit3.py", "import sys; sys.exit(3)\n")
    p = interp("pipe", PASS, tmp_path / "exit3.py", input="abc")
    assert p.returncode == 3


# ---- Ctrl-C, --timeout ----


def start(args, **kw):
    return subprocess.Popen(
        [*INTERP, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def wait_started(p, marker=b"started"):
    ready, _, _ = select.select([p.stdout], [], [], 60)
    assert ready, "the script did not start"
    assert p.stdout.readline().strip() == marker


def assert_gone(pid):
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "-c", "print('started', flush=True)\nwhile True: pass"],
        ["run", "-c", "print('started', flush=True)\nchannels.x.recv()", "--channels", "x"],
        [
            "run",
            "-c",
            "print('started', flush=True)\nwhile True: pass",
            "-c",
            "while True: pass",
            "-c",
            "import time; time.sleep(1000)",
        ],
        # time.sleep in a subinterpreter ignores the interrupt: the process still leaves
        ["run", "-c", "print('started', flush=True)\nimport time; time.sleep(1000)"],
    ],
)
def test_ctrl_c_exits_130_within_a_second(args):
    p = start(args)
    try:
        wait_started(p)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        elapsed = time.monotonic() - t
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 130, err
    assert elapsed < 1.0 + 2.0, elapsed  # 1 s, with room for a busy shared machine
    assert b"Fatal Python error" not in err
    assert b"KeyboardInterrupt" in err or b"did not stop when interrupted" in err
    assert_gone(p.pid)


def test_ctrl_c_in_a_pipe_waiting_for_stdin(tmp_path):
    write(tmp_path / "s.py", "print('started', flush=True)\nfor m in channels.stdin: pass\n")
    p = start(["pipe", tmp_path / "s.py", PASS])  # stdin stays open, nothing comes
    try:
        wait_started(p)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)  # not communicate(): it would close stdin, an EOF racing
        elapsed = time.monotonic() - t  # the Ctrl-C (stdin stays open, as a tty's)
        err = p.stderr.read()
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 130, err
    assert elapsed < 3.0
    assert b"Fatal Python error" not in err


def wait_threads(pid, n=2, limit=30.0):
    """Wait until the process runs n threads: interp's main() has started (it creates
    the first interpreter in a thread); a SIGINT before that hits python's own startup."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            if len(os.listdir(f"/proc/{pid}/task")) >= n:
                return
        except FileNotFoundError:
            return
        time.sleep(0.001)


@pytest.mark.parametrize("delay", [0.0, 0.005, 0.02, 0.05, 0.1])
def test_ctrl_c_while_starting_does_not_hang(delay):
    p = start(["run", "-c", "while True: pass", "-c", "while True: pass"])
    try:
        wait_threads(p.pid)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 130, err
    assert b"Fatal Python error" not in err


@pytest.mark.parametrize(
    "code, message",
    [
        ("while True: pass", "timed out after 0.5 s"),
        ("channels.x.recv()", "timed out after 0.5 s"),
        # the main thread's sleep, select and lock waits end with the TimeoutError
        ("import time; time.sleep(1000)", "timed out after 0.5 s"),
        ("import queue; queue.Queue().get()", "timed out after 0.5 s"),
        # a blocking C call it cannot cut short: the grace ends the process
        ("import signal; signal.sigwait({signal.SIGUSR2})", "did not stop when interrupted"),
    ],
)
def test_timeout(code, message):
    t = time.monotonic()
    p = interp("run", "-c", code, "--channels", "x", "--timeout", "0.5", timeout=30)
    elapsed = time.monotonic() - t
    assert p.returncode == 1
    assert message in p.stderr, p.stderr
    assert "Fatal Python error" not in p.stderr
    assert elapsed < 0.5 + 3.0


def test_timeout_not_reached():
    p = interp("run", "-c", "print('quick')", "--timeout", "30")
    assert (p.returncode, p.stdout) == (0, "quick\n")


def test_threads_left_running_are_waited_for():
    code = (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
        "print('script done')"
    )
    p = interp("run", "-c", code, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (0, "script done\nthread done\n", "")


def test_ctrl_c_while_waiting_for_threads():
    p = start(
        [
            "run",
            "-c",
            "import threading, time\n"
            "threading.Thread(target=time.sleep, args=(1000,)).start()\n"
            "print('started', flush=True)",
        ]
    )
    try:
        wait_started(p)
        time.sleep(0.2)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        elapsed = time.monotonic() - t
    finally:
        p.kill()
        p.wait()
    # as python: the script ended normally; the Ctrl-C ends the wait for the thread at exit
    # (its report on stderr), and the process leaves it
    assert p.returncode == 0, err
    assert elapsed < 3.0
    assert err.rstrip().endswith(b"KeyboardInterrupt"), err
    assert b"Fatal Python error" not in err
