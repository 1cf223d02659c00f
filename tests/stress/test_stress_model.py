"""A stateful property test: hypothesis drives random sequences of channel operations from
the main interpreter and two subinterpreters (sends of every kind, receives, closes of either
end, memoryviews held and released, interpreters closed and replaced) and compares every
outcome with a plain-Python model of the documented semantics."""

import threading
from collections import deque

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from stress_util import report, scaled

import interpcli

OPEN, CLOSED_SEND, CLOSED_RECV = 0, 1, 2
ACTORS = ["main", "a", "b"]

OP = """
def _op():
    c = channels.c
    try:
        if OP == 'recv':
            m = c.recv_nowait()
            r = (type(m).__name__, bytes(m))
            if type(m) is memoryview:
                m.release()
            return r
        elif OP == 'send_nowait':
            c.send_nowait(DATA)
        elif OP == 'send_buffer_nowait':
            c.send_buffer_nowait(bytearray(DATA))
        elif OP == 'close':
            c.close()
        return ('ok',)
    except Exception as e:
        return ('exc', type(e).__name__)
print(repr(_op()))
del _op
"""


class ModelChannel:
    def __init__(self, recv, send):
        self.recv, self.send = recv, send
        self.queue = deque()  # (data, owner or None for a copy)
        self.closed = OPEN


class ChannelMachine(RuleBasedStateMachine):
    """Model: a FIFO per channel; send_nowait queues a copy, send_buffer_nowait lends (the
    receiver gets a memoryview while the lending interpreter lives, bytes once it was
    closed); closing the send end keeps queued data receivable, closing the receive end
    drops it; any operation but a receive of queued data fails with ChannelClosedError on a
    closed channel; closing an interpreter is refused while views onto its memory live."""

    interps = {}
    generation = {"a": 0, "b": 0}
    steps = 0

    @initialize()
    def setup(self):
        self.chans = []
        self.held = []  # (view, owner key) kept by main
        for name in ("a", "b"):
            i = ChannelMachine.interps.get(name)
            if i is None or not i.is_alive():
                ChannelMachine.interps[name] = interpcli.create()

    def teardown(self):
        for view, _owner in self.held:
            view.release()
        self.held.clear()
        for ch in getattr(self, "chans", []):
            ch.recv.close()  # drops lent items: nothing keeps a close refused later

    def owner_key(self, actor):
        return "main" if actor == "main" else (actor, ChannelMachine.generation[actor])

    def alive(self, owner):
        return owner == "main" or ChannelMachine.generation[owner[0]] == owner[1]

    # ---- doing an operation as some actor

    def do(self, actor, op, ch, end, data=b""):
        ChannelMachine.steps += 1
        if actor == "main":
            try:
                if op == "recv":
                    m = end.recv_nowait()
                    return (type(m).__name__, bytes(m)), m
                if op == "send_nowait":
                    end.send_nowait(data)
                elif op == "send_buffer_nowait":
                    end.send_buffer_nowait(bytearray(data))
                elif op == "close":
                    end.close()
                return ("ok",), None
            except interpcli.ChannelError as e:
                return ("exc", type(e).__name__), None
        code = OP.replace("OP", repr(op)).replace("DATA", repr(data))
        res = ChannelMachine.interps[actor].run(code, channels={"c": end}, capture_output=True)
        assert res.completed, res.traceback
        return eval(res.stdout), None

    def expect_recv(self, ch):
        if ch.queue:
            data, owner = ch.queue.popleft()
            kind = "memoryview" if owner is not None and self.alive(owner) else "bytes"
            return (kind, data), owner
        if ch.closed != OPEN:
            return ("exc", "ChannelClosedError"), None
        return ("exc", "ChannelEmptyError"), None

    # ---- rules

    @precondition(lambda self: len(self.chans) < 3)
    @rule()
    def create_channel(self):
        self.chans.append(ModelChannel(*interpcli.create_channel()))

    @precondition(lambda self: self.chans)
    @rule(
        actor=st.sampled_from(ACTORS),
        k=st.integers(0, 2),
        data=st.binary(max_size=64),
        lend=st.booleans(),
    )
    def send_nowait(self, actor, k, data, lend):
        ch = self.chans[k % len(self.chans)]
        op = "send_buffer_nowait" if lend else "send_nowait"
        got, _ = self.do(actor, op, ch, ch.send, data)
        if ch.closed != OPEN:
            assert got == ("exc", "ChannelClosedError")
        else:
            assert got == ("ok",)
            ch.queue.append((data, self.owner_key(actor) if lend else None))

    @precondition(lambda self: self.chans)
    @rule(actor=st.sampled_from(ACTORS), k=st.integers(0, 2), hold=st.booleans())
    def recv(self, actor, k, hold):
        ch = self.chans[k % len(self.chans)]
        want, owner = self.expect_recv(ch)
        got, obj = self.do(actor, "recv", ch, ch.recv)
        assert got == want
        if isinstance(obj, memoryview):
            if hold:
                self.held.append((obj, owner))
            else:
                obj.release()

    @precondition(lambda self: self.chans)
    @rule(
        actor=st.sampled_from(ACTORS), k=st.integers(0, 2), which=st.sampled_from(["send", "recv"])
    )
    def close(self, actor, k, which):
        ch = self.chans[k % len(self.chans)]
        got, _ = self.do(actor, "close", ch, ch.send if which == "send" else ch.recv)
        assert got == ("ok",)
        if which == "recv":
            ch.closed = CLOSED_RECV
            ch.queue.clear()
        elif ch.closed == OPEN:
            ch.closed = CLOSED_SEND

    @precondition(lambda self: self.chans)
    @rule(
        k=st.integers(0, 2),
        data=st.binary(max_size=64),
        sender=st.sampled_from(ACTORS[1:]),
        lend=st.booleans(),
    )
    def blocking_send(self, k, data, sender, lend):
        """A blocking send from an interpreter, received by main: it returns only once
        main took the message, after everything queued before it."""
        ch = self.chans[k % len(self.chans)]
        method = "send_buffer" if lend else "send"
        box = {}
        code = (
            f"try:\n    channels.c.{method}(bytearray({data!r}))\n    r = 'ok'\n"
            "except Exception as e:\n    r = type(e).__name__\nprint(r)\n"
        )
        t = threading.Thread(
            target=lambda: box.setdefault(
                "res",
                ChannelMachine.interps[sender].run(
                    code, channels={"c": ch.send}, capture_output=True
                ),
            )
        )
        t.start()
        if ch.closed != OPEN:
            t.join(30)
            assert box["res"].stdout == "ChannelClosedError\n"
            return
        ahead = len(ch.queue)
        for _ in range(ahead):
            want, _owner = self.expect_recv(ch)
            m = ch.recv.recv(timeout=30)
            assert (type(m).__name__, bytes(m)) == want
            if isinstance(m, memoryview):
                m.release()
        m = ch.recv.recv(timeout=30)
        assert bytes(m) == data
        assert type(m) is (memoryview if lend else bytes)
        if isinstance(m, memoryview):
            m.release()
        t.join(30)
        assert not t.is_alive()
        assert box["res"].stdout == "ok\n", box["res"]

    @precondition(lambda self: self.held)
    @rule()
    def release_views(self):
        for view, _owner in self.held:
            view.release()
        self.held.clear()

    @rule(name=st.sampled_from(["a", "b"]))
    def replace_interpreter(self, name):
        interp = ChannelMachine.interps[name]
        key = self.owner_key(name)
        viewed = any(owner == key for _v, owner in self.held)
        if viewed:
            with pytest.raises(interpcli.InterpreterError, match="memoryview"):
                interp.close()
            return
        interp.close()
        ChannelMachine.generation[name] += 1
        ChannelMachine.interps[name] = interpcli.create()

    @invariant()
    def ends_report_closed(self):
        for ch in getattr(self, "chans", []):
            assert ch.send.is_closed == (ch.closed != OPEN)
            assert ch.recv.is_closed == (ch.closed != OPEN and not ch.queue)


EXAMPLES = scaled(60, 10)
ChannelMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestChannelModel = ChannelMachine.TestCase


@pytest.fixture(scope="module", autouse=True)
def figures():
    yield
    report(
        "model",
        examples=EXAMPLES,
        max_steps_per_example=40,
        channel_operations=ChannelMachine.steps,
    )
    for i in ChannelMachine.interps.values():
        if i.is_alive():
            i.close()


pytestmark = pytest.mark.timeout(600)
