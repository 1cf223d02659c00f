"""The loop an InterpreterPoolExecutor worker runs inside its interpreter.

It takes (task id, callable or script, args, kwargs) messages from the pool's task channel,
runs each in __main__, and sends (task id, ok, result) back on the reply channel: the
result, or the uncaught exception as data (excinfo fields, plus the pickled exception when
it pickles, so the executor re-raises it as it was). It returns once the task channel is
closed and drained."""
from __future__ import annotations

import sys

from ._lowlevel import core_module

_core = core_module()


def serve(task_chan: int, reply_chan: int) -> None:
    from .interpreters import _crossinterp as _xi
    from .interpreters._worker import _in_main, excinfo
    tasks = _core._end(task_chan, 1)
    replies = _core._end(reply_chan, 2)
    closed = _core.ChannelClosedError
    encode, header, payload, op = _xi.encode, _xi.header, _xi.payload, _xi.OP_UNBOUND
    main = sys.modules["__main__"].__dict__
    while True:
        try:
            msg = tasks.recv()
        except closed:
            return
        tid = fn = None
        try:
            _pid, _op, kind = header(msg)
            tid, fn, args, kwargs = payload(msg, kind)
            if type(fn) is str:
                exec(compile(fn, "<string>", "exec"), main)
                reply = (tid, True, None)
            else:
                reply = (tid, True, _in_main(fn, args, kwargs))
        except BaseException as exc:
            reply = (tid, False, _exception(exc, excinfo, _xi, type(fn) is not str))
        try:
            out, lent = encode(reply, op)
        except BaseException as exc:        # a result that does not pickle
            out, lent = encode((tid, False, (excinfo(exc, skip=99), None)), op)
        (replies.send_buffer_nowait if lent else replies.send_nowait)(out)
        del msg, reply, out


def _exception(exc, excinfo, _xi, preserve):
    info = excinfo(exc, skip=3)     # serve, _in_main, the trampoline
    pickled = None
    if preserve:
        try:
            pickled = _xi.pickle_dumps(exc.with_traceback(None), [])
        except Exception:
            pickled = None
    return (info, pickled)
