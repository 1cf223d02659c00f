"""What a program's interpreter runs once its script has ended, as python does at exit.
Imported there by interpcli.cli.ending's one-line stubs, each run by the program's own
thread, so that an interrupt or the grace deadline can still end it."""

import sys

# The exit code of the run of shut_down_threads when daemon threads are left.
THREADS_LEFT = -99
# What shut_down_threads has to report (report_shutdown), python's words.
shutdown_report = ""


def shut_down_threads():
    """threading._shutdown as python runs it at exit, in threading's main thread:
    threading's exit callbacks (which stop a ThreadPoolExecutor's workers), the main thread
    marked ended (a thread joining it goes on), then a wait for the non-daemon threads.
    Daemon threads (and _thread ones) python does not wait for: if any is left, the
    interpreter's atexit callbacks run now and SystemExit(THREADS_LEFT) ends the run; the
    process then leaves without ending that interpreter, as python leaves its daemon
    threads. A KeyboardInterrupt in the wait (Ctrl-C again) leaves the non-daemon threads
    too, with python's "Exception ignored" report."""
    if "threading" in sys.modules:
        import threading as t

        t._SHUTTING_DOWN = True
        callbacks = getattr(t, "_threading_atexits", [])
        while callbacks:
            callbacks.pop()()
        main = t.main_thread()
        handle = getattr(main, "_os_thread_handle", None) or getattr(main, "_handle", None)
        if handle is not None:
            handle._set_done()
        elif main._tstate_lock is not None and main._tstate_lock.locked():
            main._tstate_lock.release()
            main._stop()
        try:
            for th in t.enumerate():
                if not (th.daemon or th is t.main_thread() or th.ident == t.get_ident()):
                    th.join()
        except KeyboardInterrupt:  # Ctrl-C again: python leaves the threads, as below
            global shutdown_report
            shutdown_report = _ignored_on_threading_shutdown()
    import _thread

    if _thread._count():
        import atexit

        atexit._run_exitfuncs()
        raise SystemExit(THREADS_LEFT)


def _ignored_on_threading_shutdown() -> str:
    """python's report of the exception being handled, raised in threading's shutdown."""
    import traceback

    if sys.version_info < (3, 13):
        head = f"Exception ignored in: {sys.modules['threading']!r}\n"
    else:  # 3.13+ print the traceback alone
        head = ""
    exc = sys.exception()
    trim = getattr(sys.modules.get("interpcli._signals_sub"), "_trim_traceback", None)
    if trim is not None:
        trim(exc)
    return head + "".join(traceback.format_exception(exc))


def report_shutdown():
    """Hand back what shut_down_threads had to report (python prints it at exit, after the
    script's traceback) as a RuntimeWarning's message."""
    if shutdown_report:
        raise RuntimeWarning(shutdown_report)


def flush_std_streams():
    """Flush sys.stdout and sys.stderr as python does at exit: a failure (/dev/full, a
    closed pipe) raises RuntimeError carrying python's "Exception ignored" message (none
    for stderr); python then exits 120."""
    message = None
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        try:
            if stream is None or stream.closed:
                continue
            stream.flush()
        except Exception as exc:
            message = message or ""
            if name == "stdout":
                import traceback

                if sys.version_info < (3, 13):
                    message += f"Exception ignored in: {stream!r}\n"
                else:
                    word = "on" if sys.version_info < (3, 14) else "while"
                    message += f"Exception ignored {word} flushing sys.stdout:\n"
                message += "".join(traceback.format_exception_only(exc))
    if message is not None:
        raise RuntimeError(message)


def report_refusals():
    """Hand back the extension modules that refused to load here (interpcli._extensions,
    which the prelude installs) as an ImportWarning's message."""
    x = sys.modules.get("interpcli._extensions")
    if x is not None and x.refusals():
        raise ImportWarning(x.report())
