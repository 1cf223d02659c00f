"""The main interpreter's side of the faulthandler stand-in (interpcli._faulthandler).

serve() starts, once, a thread of the main interpreter that waits on a core channel for
requests from isolated interpreters (enable, disable, is_enabled, register, unregister)
and does them with the real faulthandler, which is process-wide. prelude() is the setup
source that makes `import faulthandler` in an interpreter find the stand-in where the real
module refuses. Kept apart from the stand-in so that `interp run` loads only this."""

_server = None          # the request channel's id, once the server runs


def serve() -> int:
    """(In the main interpreter) the request channel's id, starting the server thread on
    first use: a raw thread (no threading import) blocked on the channel, with SIGINT
    blocked so that Ctrl-C still reaches the main thread."""
    global _server
    if _server is None:
        import _signal
        import _thread

        from ._lowlevel import core_module
        core = core_module()
        recv, _send = core.create_channel()
        end = core._end(recv.id, core.MODE_BOTH)
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, [_signal.SIGINT])
        try:
            _thread.start_new_thread(_serve, (end,))
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        _server = end.id
    return _server


def prelude(server: int) -> str:
    """Source that makes `import faulthandler` find the stand-in wherever the real module
    refuses, in the interpreter that runs it (on the thread that will run the script:
    the stand-in's dumps call it the main thread). It imports nothing until then."""
    return ("import sys as _s, _thread as _t\n"
            "class _FaulthandlerFinder:\n"
            "    main = (_t.get_ident(), _t.get_native_id())\n"
            "    @classmethod\n"
            "    def find_spec(cls, name, path=None, target=None):\n"
            "        if name != 'faulthandler':\n"
            "            return None\n"
            "        from interpcli._faulthandler import spec\n"
            f"        return spec({server!r}, cls.main)\n"
            "_FaulthandlerFinder.__module__ = 'interpcli._faulthandler'\n"
            "_s.meta_path.insert(0, _FaulthandlerFinder)\n"
            "del _s, _t, _FaulthandlerFinder\n")


def _serve(end) -> None:
    import marshal
    while True:
        try:
            msg = end.recv()
        except BaseException:       # channels closed at exit: the server ends
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
            value = getattr(faulthandler, op)(*args[:1], **(args[1] if len(args) > 1
                                                             else {}))
            reply: tuple = ("ok", value if isinstance(value, (bool, type(None))) else None)
        except BaseException as exc:
            reply = ("err", type(exc).__name__, str(exc))
        try:
            from ._lowlevel import core_module
            core = core_module()
            core._end(reply_id, core.MODE_BOTH).send_nowait(marshal.dumps(reply))
        except BaseException:
            pass        # the requester is gone
