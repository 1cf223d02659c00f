"""The main interpreter's side of the faulthandler stand-in (interpcli._faulthandler).

serve() starts, once, a thread of the main interpreter that waits on a core channel for
requests from isolated interpreters (enable, disable, is_enabled, register, unregister)
and does them with the real faulthandler, which is process-wide. prelude() is the setup
source that makes `import faulthandler` in an interpreter find the stand-in where the real
module refuses. Kept apart from the stand-in so that `interp run` loads only this."""

_server = None  # the request channel's id, once the server runs


def serve() -> int:
    """(In the main interpreter) the request channel's id, starting the server thread on
    first use: a raw thread (no threading import) blocked on the channel, with SIGINT
    blocked so that Ctrl-C still reaches the main thread."""
    global _server
    if _server is None:
        import _thread

        from . import _lowlevel as ll
        from ._platform import sigint_blocked

        recv, _send = ll.create_channel()
        end = ll.end(recv.id, ll.BOTH)
        with sigint_blocked():
            _thread.start_new_thread(_serve, (end,))
        _server = end.id
    return _server


def prelude(server: int) -> str:
    """The line that makes `import faulthandler` find the stand-in wherever the real module
    refuses, in the interpreter that runs it (interpcli._setup_sub.find_faulthandler)."""
    return f"__import__('interpcli._setup_sub', None, None, ['_']).find_faulthandler({server!r})\n"


def _serve(end) -> None:
    import marshal

    while True:
        try:
            msg = end.recv()
        except BaseException:  # channels closed at exit: the server ends
            return
        try:
            request = marshal.loads(bytes(msg))
            op, reply_id, args = request[0], request[1], request[2:]
        except Exception:
            continue
        try:
            import faulthandler

            if op not in ("enable", "disable", "is_enabled", "register", "unregister"):
                raise ValueError(f"unknown faulthandler request {op!r}")
            value = getattr(faulthandler, op)(*args[:1], **(args[1] if len(args) > 1 else {}))
            reply: tuple = ("ok", value if isinstance(value, (bool, type(None))) else None)
        except BaseException as exc:
            reply = ("err", type(exc).__name__, str(exc))
        try:
            from . import _lowlevel as ll

            ll.end(reply_id, ll.BOTH).send_nowait(marshal.dumps(reply))
        except BaseException:
            pass  # the requester is gone
