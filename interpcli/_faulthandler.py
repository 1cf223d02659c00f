"""`faulthandler` for isolated interpreters, forwarding to the process's one faulthandler.

CPython's faulthandler refuses to load in an own-GIL interpreter (it keeps process-wide
state), so `import faulthandler` fails there and with it pytest (its faulthandler plugin)
and `python -m test`. faulthandler is process-wide by nature: its fatal-signal handlers
catch a crash in any thread of any interpreter. So, in the interpreters `interp run` and
`interp pipe` make, `import faulthandler` gives the real module where it loads and this
stand-in where it refuses:

- enable(), disable(), is_enabled(), register() and unregister() are forwarded to the real
  faulthandler of the main interpreter (a file is passed as its file descriptor, which is
  process-wide), so they act on the process as in python;
- dump_traceback() writes, in faulthandler's format, the calling thread's stack and the
  other threads of this interpreter, whose frames cannot be read safely from a
  subinterpreter (sys._current_frames() there makes frame objects for every
  interpreter's threads and corrupts memory);
- dump_traceback_later() runs its watchdog in a thread of this interpreter: it writes the
  timeout and this interpreter's threads (without their frames, as above), and with
  exit=True ends the process as python does;
- dump_c_stack() (3.14+) says the C stack is unavailable here.

A registered signal dumps the main interpreter's threads (the real faulthandler dumps the
interpreter that registered it). The main interpreter serves the requests
(interpcli._faultserver); the interpreter learns the server's channel from the finder that
its setup installed (_faultserver.prelude()), through spec()."""

import sys

_server = None  # the main interpreter's request channel (its id), once known
_main = None  # the thread that runs the interpreter's script (its ident and
# native id), when known

# ---------------------------------------------------------------- the stand-in's loader


class _Loader:
    """Loads the real faulthandler where it loads, the stand-in where it refuses."""

    def __init__(self, server, main):
        self.server = server
        self.main = main
        self.real = None

    def create_module(self, spec):
        from importlib.machinery import BuiltinImporter

        real = BuiltinImporter.find_spec("faulthandler")
        if real is not None:
            try:
                module = BuiltinImporter.create_module(real)
            except ImportError:
                pass
            else:
                self.real = real
                return module
        ext = sys.modules.get("interpcli._extensions")  # its refusal is no loss here
        if ext is not None:
            ext.forget("faulthandler")
        return None

    def exec_module(self, module):
        if self.real is not None:
            from importlib.machinery import BuiltinImporter

            module.__spec__ = self.real
            module.__loader__ = BuiltinImporter
            BuiltinImporter.exec_module(module)
            return
        global _server, _main
        _server, _main = self.server, self.main
        module.__doc__ = (
            "faulthandler for an isolated interpreter (interpcli): forwards "
            "to the process's faulthandler in the main interpreter."
        )
        for name in _API:
            if name == "dump_c_stack" and sys.version_info < (3, 14):
                continue
            module.__dict__[name] = globals()[name]


def spec(server: int, main: tuple | None = None):
    """The module spec of `faulthandler` for an interpreter whose server channel is
    server and whose script runs on thread main."""
    from importlib.machinery import ModuleSpec

    # _Loader has a loader's methods without importlib.abc.Loader as base (an import less)
    loader = _Loader(server, main)
    return ModuleSpec("faulthandler", loader, origin="built-in")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the stand-in's API

_API = (
    "enable",
    "disable",
    "is_enabled",
    "dump_traceback",
    "dump_traceback_later",
    "cancel_dump_traceback_later",
    "register",
    "unregister",
    "dump_c_stack",
)
_files: dict = {}  # what keeps a file given to enable()/register() alive, as C does


def _request(op, *args):
    import marshal

    from . import _lowlevel as ll

    recv, _send = ll.create_channel()
    reply = ll.end(recv.id, ll.BOTH)
    try:
        ll.end(_server, ll.BOTH).send_nowait(marshal.dumps((op, reply.id, *args)))
        answer = marshal.loads(reply.recv())
    except ll.ChannelError as exc:
        raise RuntimeError(f"faulthandler: the main interpreter did not answer ({exc})") from None
    finally:
        reply.close()
    if answer[0] == "ok":
        return answer[1]
    _kind, name, message = answer
    import builtins

    exc_type = getattr(builtins, name, None)
    if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
        exc_type = RuntimeError
    raise exc_type(message)


def _fileno(file) -> tuple[int, object]:
    """The file descriptor of file (an int, or an object with fileno()), flushing it, and
    the object to keep alive, as faulthandler does."""
    if file is None:
        file = sys.stderr
        if file is None:
            raise RuntimeError("sys.stderr is None")
    if isinstance(file, int):
        if file < 0:
            raise ValueError("file is not a valid file descriptor")
        return file, None
    fd = file.fileno()
    if not isinstance(fd, int):
        raise RuntimeError("file.fileno() is not a valid file descriptor")
    if fd < 0:
        raise RuntimeError("file.fileno() is not a valid file descriptor")
    try:
        file.flush()
    except Exception:
        pass
    return fd, file


def enable(file=None, all_threads=True, **kwargs):
    """Enable the process's fault handler (in the main interpreter): SIGSEGV, SIGFPE,
    SIGABRT, SIGBUS and SIGILL dump the Python tracebacks to file."""
    fd, keep = _fileno(file)
    _request("enable", fd, {"all_threads": bool(all_threads), **kwargs})
    _files["enable"] = keep


def disable():
    """Disable the process's fault handler; whether it was enabled."""
    was = _request("disable")
    _files.pop("enable", None)
    return was


def is_enabled():
    """Whether the process's fault handler is enabled."""
    return bool(_request("is_enabled"))


def register(signum, file=None, all_threads=True, chain=False):
    """Register a handler for signum in the process that dumps the tracebacks to file
    (those of the main interpreter's threads)."""
    fd, keep = _fileno(file)
    _request(
        "register",
        int(signum),
        {"file": fd, "all_threads": bool(all_threads), "chain": bool(chain)},
    )
    _files[("register", int(signum))] = keep


def unregister(signum):
    """Unregister the handler of signum; whether one was registered."""
    was = _request("unregister", int(signum))
    _files.pop(("register", int(signum)), None)
    return was


def _format_frames(frame, limit=100) -> list[str]:
    lines: list[str] = []
    while frame is not None:
        if len(lines) >= limit:
            lines.append("  ...\n")
            break
        code = frame.f_code
        lineno = frame.f_lineno if frame.f_lineno is not None else "???"
        lines.append(f'  File "{code.co_filename}", line {lineno} in {code.co_name}\n')
        frame = frame.f_back
    return lines or ["  <no Python frame>\n"]


_UNAVAILABLE = "  <frames unavailable: another thread of an isolated interpreter>\n"


def _threads() -> list[int]:
    """The ids of this interpreter's threads, newest first (the order of faulthandler's
    dump): those threading started, the calling one and the script's."""
    idents = [] if _main is None else [_main[0]]
    threading = sys.modules.get("threading")
    if threading is not None:
        idents += [
            t.ident
            for t in threading.enumerate()
            if t.ident is not None
            and t.ident not in idents
            and not isinstance(t, (threading._MainThread, threading._DummyThread))
        ]
    if _ident() not in idents:
        idents.append(_ident())
    return idents[::-1]


def _dump(fd: int, all_threads: bool, current: int | None, skip_frames=0) -> None:
    """Write the traceback of the calling thread (all_threads=False) or of this
    interpreter's threads. Only the calling thread's frames can be read: CPython's
    sys._current_frames() walks the threads of every interpreter of the process and makes
    frame objects for them, which corrupts memory when called in a subinterpreter, so
    the other threads are listed without their frames."""
    import os

    me = _ident()
    out = []
    if not all_threads:
        out.append("Stack (most recent call first):\n")
        out += _format_frames(sys._getframe(skip_frames + 1))
    else:
        first = True
        for ident in _threads():
            if current is None and ident == me:
                continue  # the watchdog's own thread (C's is no Python thread)
            if not first:
                out.append("\n")
            first = False
            label = "Current thread" if ident == current else "Thread"
            out.append(f"{label} 0x{ident:016x}{_name_of(ident)} (most recent call first):\n")
            if ident == me:
                out += _format_frames(sys._getframe(skip_frames + 1))
            else:
                out.append(_UNAVAILABLE)
    data = "".join(out).encode("utf-8", "backslashreplace")
    while data:
        data = data[os.write(fd, data) :]


def _name_of(ident: int) -> str:
    """' [NAME]': the OS thread's name, which faulthandler writes from 3.14 on."""
    if sys.version_info < (3, 14):
        return ""
    import _thread

    native = None
    if ident == _ident():
        native = _thread.get_native_id()
    elif _main is not None and ident == _main[0]:
        native = _main[1]
    else:
        threading = sys.modules.get("threading")
        for t in threading.enumerate() if threading is not None else ():
            if t.ident == ident:
                native = t.native_id
    try:
        with open(f"/proc/self/task/{native}/comm", "rb") as f:
            name = f.read().rstrip(b"\n").decode("ascii", "backslashreplace")
    except (OSError, TypeError):
        return ""
    return f" [{name}]" if name else ""


def _ident() -> int:
    import _thread

    return _thread.get_ident()


def dump_traceback(file=None, all_threads=True):
    """Dump the tracebacks of this interpreter's threads (all_threads) or of the current
    thread into file."""
    fd, _keep = _fileno(file)
    _dump(fd, all_threads, _ident(), skip_frames=1)


class _Watchdog:
    """dump_traceback_later()'s thread: waits on a lock (no polling) until cancelled."""

    def __init__(self, timeout, repeat, fd, keep, exit):
        import _thread

        self.timeout, self.repeat, self.fd, self.keep, self.exit = timeout, repeat, fd, keep, exit
        self.cancelled = _thread.allocate_lock()
        self.cancelled.acquire()
        self.finished = _thread.allocate_lock()
        self.finished.acquire()  # released by the thread as it ends

    def run(self):
        import os

        try:
            while not self.cancelled.acquire(timeout=self.timeout):
                try:
                    os.write(self.fd, _timeout_header(self.timeout).encode())
                    _dump(self.fd, True, None)
                except OSError:
                    pass
                if self.exit:
                    os._exit(1)
                if not self.repeat:
                    return
        finally:
            self.finished.release()

    def cancel(self):
        """Stop the thread and wait until it has (it writes nothing after this)."""
        try:
            self.cancelled.release()
        except RuntimeError:
            pass
        self.finished.acquire()
        self.finished.release()


_watchdog = None


def _timeout_header(timeout) -> str:
    us = round(timeout * 1e6)
    sec, us = divmod(us, 1_000_000)
    minutes, sec = divmod(sec, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{sec:02d}"
    if us:
        text += f".{us:06d}"
    return f"Timeout ({text})!\n"


def dump_traceback_later(timeout, repeat=False, file=None, exit=False):
    """Dump the tracebacks of this interpreter's threads after timeout seconds, or every
    timeout seconds with repeat; with exit, end the process after dumping."""
    import _thread

    global _watchdog
    timeout = float(timeout)
    if timeout >= _thread.TIMEOUT_MAX or timeout != timeout:
        raise OverflowError("timeout value is too large")
    if timeout <= 0:
        raise ValueError("timeout must be greater than 0")
    fd, keep = _fileno(file)
    cancel_dump_traceback_later()
    dog = _Watchdog(timeout, bool(repeat), fd, keep, bool(exit))
    _thread.start_new_thread(dog.run, ())
    _watchdog = dog
    _cancel_at_exit()


_exit_hook = False


def _cancel_at_exit():
    """At the interpreter's end, before its threads are waited for (as python cancels
    the watchdog at exit)."""
    global _exit_hook
    if _exit_hook:
        return
    _exit_hook = True
    try:
        import threading

        threading._register_atexit(cancel_dump_traceback_later)
    except Exception:
        import atexit

        atexit.register(cancel_dump_traceback_later)


def cancel_dump_traceback_later():
    """Cancel the last call to dump_traceback_later()."""
    global _watchdog
    dog, _watchdog = _watchdog, None
    if dog is not None:
        dog.cancel()


def dump_c_stack(file=None):
    """The C stack of this thread cannot be read from an isolated interpreter: says so."""
    import os

    fd, _keep = _fileno(file)
    os.write(
        fd,
        b"Current thread's C stack trace (most recent call first):\n"
        b"  <cannot get C stack in an isolated interpreter>\n",
    )
