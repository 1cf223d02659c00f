"""Creating, running and closing interpreters from a subinterpreter, through the main one.

interpcli's core creates, runs and closes interpreters from the main interpreter only. So
that `interpreters.create()`, `exec()`, `call()`, `prepare_main()` and `close()` also work
inside a subinterpreter (as in 3.14), the main interpreter keeps a broker: a daemon thread
waiting on a core channel (no polling) that does each request in a thread of its own and
sends the outcome back on the requester's private reply channel. The main interpreter
tells each interpreter the broker's channel with every request it runs there (see
Interpreter._request), so a subinterpreter knows it once interpcli.interpreters has run
code in it.

A request is a marshalled tuple: ("create", reply id) | ("run", reply id, interpreter
id, stub source) | ("close", reply id, interpreter id). A reply is ("ok", value) or
("err", exception class name, message)."""

from __future__ import annotations

import marshal
import threading

from .. import _lowlevel

BROKER = None  # the broker channel's id, once known in this interpreter
_lock = threading.Lock()


def start():
    """(In the main interpreter) the broker channel's id, starting the broker once; None
    when no thread can start any more (the process is exiting)."""
    global BROKER
    if BROKER is not None:
        return BROKER
    with _lock:
        if BROKER is None:
            recv, _send = _lowlevel.create_channel()
            end = _lowlevel.end(recv.id, _lowlevel.BOTH)
            try:
                threading.Thread(
                    target=_serve, args=(end,), name="interpreters-broker", daemon=True
                ).start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                return None
            BROKER = end.id
    return BROKER


def _serve(end):
    while True:
        try:
            msg = end.recv()
        except BaseException:  # channels closed at exit: the broker ends
            return
        try:
            threading.Thread(target=_handle, args=(bytes(msg),), daemon=True).start()
        except RuntimeError:  # no new thread at exit: answer from this one
            _handle(bytes(msg))


def _handle(msg):
    request = marshal.loads(msg)
    op, reply_id = request[0], request[1]
    try:
        if op == "create":
            from ..interpreter import create

            value = create(isolated=True).id
        elif op == "run":
            from ..interpreter import Interpreter

            res = Interpreter(request[2])._run(request[3])
            value = (res.exc_type, res.exc_message, res.traceback)
        elif op == "close":
            _lowlevel.destroy(request[2])
            value = None
        else:
            raise ValueError(f"unknown broker request {op!r}")
        reply = ("ok", value)
    except BaseException as exc:
        reply = ("err", type(exc).__name__, str(exc))
    try:
        _lowlevel.end(reply_id, _lowlevel.BOTH).send_nowait(marshal.dumps(reply))
    except BaseException:
        pass  # the requester is gone (or the process is exiting)


class RunOutcome:
    """What a run done through the broker reports (the fields _request reads)."""

    __slots__ = ("exc_type", "exc_message", "traceback")

    def __init__(self, exc_type, exc_message, traceback):
        self.exc_type, self.exc_message, self.traceback = exc_type, exc_message, traceback


def request(op: str, *args):
    """(In a subinterpreter) ask the main interpreter's broker; its value, or the error
    it met raised here as interpcli's own exception of that name."""
    from .. import errors

    if BROKER is None:
        raise errors.InterpreterError(
            "creating, running and closing interpreters from this interpreter needs "
            "interpreters from the main one: this interpreter was not started by "
            "interpcli.interpreters"
        )
    recv, _send = _lowlevel.create_channel()
    reply = _lowlevel.end(recv.id, _lowlevel.BOTH)
    try:
        _lowlevel.end(BROKER, _lowlevel.BOTH).send_nowait(marshal.dumps((op, reply.id, *args)))
        answer = marshal.loads(reply.recv())
    except _lowlevel.ChannelError as exc:
        raise errors.InterpreterError(
            f"the main interpreter did not answer ({exc}): the process is exiting"
        ) from None
    if answer[0] == "ok":
        return answer[1]
    _kind, name, message = answer
    exc_type = getattr(errors, name, None)
    if not (isinstance(exc_type, type) and issubclass(exc_type, errors.InterpError)):
        exc_type = ValueError if name == "ValueError" else errors.InterpreterError
    raise exc_type(message)
