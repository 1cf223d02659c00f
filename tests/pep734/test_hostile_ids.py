"""interpcli.interpreters against wrong ids, types and states, and against code that breaks
its own interpreter: the documented exception every time, never another object's data,
never a hang, never a success reported for a request that was not served."""

import pytest

import interpcli
from interpcli import interpreters
from interpcli.interpreters import ExecutionFailed, InterpreterNotFoundError, channels
from interpcli.interpreters._queues import QueueNotFoundError

pytestmark = pytest.mark.timeout(60)  # a hang fails here, not in CI's global bound


def test_queue_by_the_id_of_another_channel():
    # a plain channel holding messages: Queue(id) took the first as the queue's state and
    # put it back last (reordering the channel); an empty one made Queue(id) wait forever
    recv, send = interpcli.create_channel()
    send.send_nowait(b"first")
    send.send_nowait(b"second")
    empty, _keep = interpcli.create_channel()
    crecv, _csend = channels.create()
    q = interpreters.create_queue()
    for cid in (recv.id, empty.id, crecv.id, q._i.id, q._w.id, -1, 10**30):
        with pytest.raises(QueueNotFoundError, match=f"queue {cid} not found"):
            interpreters.Queue(cid)
    assert recv.recv_nowait() == b"first" and recv.recv_nowait() == b"second"
    assert interpreters.Queue(q.id) is q
    q.put_nowait("still a queue")
    assert q.get_nowait() == "still a queue"


def test_channels_by_the_id_of_another_kind_of_channel():
    recv, send = interpcli.create_channel()
    send.send_nowait(b"raw bytes, not an object of the PEP 734 layer")
    q = interpreters.create_queue()
    q.put_nowait(1)
    for cid in (recv.id, q.id, q._i.id):
        with pytest.raises(channels.ChannelNotFoundError):
            channels.RecvChannel(cid).recv_nowait()
        with pytest.raises(channels.ChannelNotFoundError):
            channels.SendChannel(cid).send_nowait(b"x")
    assert recv.recv_nowait() == b"raw bytes, not an object of the PEP 734 layer"
    assert q.qsize() == 1 and q.get_nowait() == 1


def test_queue_lookups_inside_a_subinterpreter(interp):
    q = interpreters.create_queue()
    plain, _send = interpcli.create_channel()
    interp.exec(
        f"from interpcli import interpreters as I\n"
        f"I.Queue({q.id}).put('from inside')\n"
        f"try:\n"
        f"    I.Queue({plain.id})\n"
        f"except I._queues.QueueNotFoundError:\n"
        f"    I.Queue({q.id}).put('refused')\n"
    )
    assert q.get_nowait() == "from inside" and q.get_nowait() == "refused"


def test_bad_queue_arguments():
    with pytest.raises(OverflowError):
        interpreters.create_queue(maxsize=10**30)
    q = interpreters.create_queue(1)
    q.put_nowait(0)
    for timeout in (float("nan"), -1):
        with pytest.raises(ValueError, match="non-negative"):
            q.put(1, timeout=timeout)
        with pytest.raises(ValueError):
            interpreters.create_queue().get(timeout=timeout)
    assert q.get_nowait() == 0


def test_an_interpreter_object_kept_after_close_does_not_keep_its_id_alive():
    i = interpreters.create()
    iid = i.id
    i.close()
    with pytest.raises(InterpreterNotFoundError):
        interpreters.Interpreter(iid)
    for act in (
        lambda: i.exec("pass"),
        lambda: i.call(len, "a"),
        i.is_running,
        i.close,
        lambda: i.prepare_main(a=1),
    ):
        with pytest.raises(InterpreterNotFoundError):
            act()


@pytest.mark.parametrize(
    "breakage",
    [
        "__builtins__ = {}",
        "del __builtins__",
        "import builtins; builtins.__import__ = None; del builtins.print",
        "import sys; sys.modules.clear()",
        "import sys; del sys.stdout, sys.stderr",
        "import sys; sys.stdout = sys.stderr = None",
    ],
)
def test_code_that_breaks_its_own_interpreter(interp, breakage):
    # after __builtins__ was replaced, exec('1/0') returned normally (the request was read
    # back as the reply) and call(len, 'abc') failed with an unpacking error
    interp.exec(breakage)
    with pytest.raises(ExecutionFailed) as failed:
        interp.exec("1/0")
    assert failed.value.excinfo.type.__name__ == "ZeroDivisionError"
    interp.exec("x = 6 * 7")
    try:
        assert interp.call(len, "abc") == 3
    except interpreters.NotShareableError:
        # with sys.modules cleared or __import__ gone, `len` cannot be unpickled there
        # (pickle imports `builtins`): an honest refusal
        assert "clear()" in breakage or "__import__" in breakage
    interp.prepare_main(y=1)
    with pytest.raises(ExecutionFailed) as failed:
        interp.exec("{}[x + y]")  # KeyError, raised with no builtin name
    assert failed.value.excinfo.type.__name__ == "KeyError"
    assert failed.value.excinfo.msg == "43"


def test_an_interpreter_broken_before_the_worker_first_ran():
    base = interpcli.create()
    try:
        base.run("__builtins__ = {}").check()
        with pytest.raises(ExecutionFailed) as failed:
            interpreters.Interpreter(base.id).exec("pass")
        info = failed.value.excinfo
        assert info.type.__name__ == "NameError" and "__import__" in info.msg
        assert "__builtins__, __import__ or sys.modules were changed" in info.errdisplay
    finally:
        base.close()


def test_exceptions_that_cannot_be_shown(interp):
    interp.exec(
        "class Bad(Exception):\n"
        "    def __str__(self): raise RuntimeError('no str')\n"
        "    def __reduce__(self): raise RuntimeError('no pickle')\n"
        "def boom(): raise Bad()\n"
        "class NoPickle:\n"
        "    def __reduce__(self): 1/0\n"
    )
    for act in (lambda: interp.exec("boom()"), lambda: interp.call(eval, "boom()")):
        with pytest.raises(ExecutionFailed) as failed:
            act()
        assert "Bad: <exception str() failed>" in failed.value.excinfo.errdisplay
    with pytest.raises(interpreters.NotShareableError):
        interp.call(eval, "NoPickle()")
    for code, shown in (
        ("raise SystemExit(10**100)", "1" + "0" * 100),
        ("raise SystemExit(-1)", "-1"),
        ("raise SystemExit('bye')", "bye"),
    ):
        with pytest.raises(ExecutionFailed) as failed:
            interp.exec(code)
        assert failed.value.excinfo.type.__name__ == "SystemExit"
        assert failed.value.excinfo.msg == shown
    assert interp.call(len, "still works") == 11
