"""What a program's interpreter does once its script has ended, as python does at exit:
threading's shutdown (exit callbacks, then the non-daemon threads joined), the flush of
sys.stdout and sys.stderr, and, for interp's own report, the extension modules that
refused to load there. Each step is a run in that interpreter, by the program's own
thread, so that an interrupt or the grace deadline can still end it."""


def after_script(job, stopping) -> None:
    """Run the exit steps in job.interp (stopping() true: skip the rest) and record on job
    what came of them: threads_left, exit_flush, refusals."""
    run = job.interp.run
    if not stopping():
        end = run(AT_EXIT, filename="<interp: exit>", canceller=job.canceller)
        job.threads_left = end.exit_code == THREADS_LEFT
    if not stopping():
        flushed = run(EXIT_FLUSH, filename="<interp: exit flush>", canceller=job.canceller)
        if flushed.exc_type == "RuntimeError":
            job.exit_flush = flushed.exc_message or ""
    if not stopping():
        end = run(REPORT_REFUSALS, filename="<interp: exit>", canceller=job.canceller)
        if end.exc_type == "ImportWarning":
            from .._extensions import refusals_reported
            job.refusals = refusals_reported(end)


# After the script, its interpreter does what python does at exit (threading._shutdown,
# run by the script's thread, threading's main thread): threading's exit callbacks (which
# stop a ThreadPoolExecutor's workers), the main thread marked ended (a thread joining it
# goes on), then it waits for the non-daemon threads. Done in the run's own thread (where
# an interrupt or the grace deadline can still end it) rather than by close() in the main
# thread, which could not take Ctrl-C. Daemon threads (and
# _thread ones) python does not wait for: if any is left, the interpreter's atexit
# callbacks run now and the run ends with THREADS_LEFT; the process then leaves without
# ending that interpreter, as python leaves its daemon threads.
THREADS_LEFT = -99       # the exit code of that run
AT_EXIT = ("import sys as _s\n"
            "if 'threading' in _s.modules:\n"
            "    import threading as _t\n"
            "    _t._SHUTTING_DOWN = True\n"
            "    _c = getattr(_t, '_threading_atexits', [])\n"
            "    while _c:\n"
            "        _c.pop()()\n"
            "    _m = _t.main_thread()\n"
            "    _h = getattr(_m, '_os_thread_handle', None) or getattr(_m, '_handle', None)\n"
            "    if _h is not None:\n"
            "        _h._set_done()\n"
            "    elif _m._tstate_lock is not None and _m._tstate_lock.locked():\n"
            "        _m._tstate_lock.release()\n"
            "        _m._stop()\n"
            "    for _th in _t.enumerate():\n"
            "        if not (_th.daemon or _th is _t.main_thread()\n"
            "                or _th.ident == _t.get_ident()):\n"
            "            _th.join()\n"
            "    del _t, _c, _m, _h\n"
            "import _thread as _th\n"
            "if _th._count():\n"
            "    import atexit as _a\n"
            "    _a._run_exitfuncs()\n"
            f"    raise SystemExit({THREADS_LEFT})\n"
            "del _s, _th\n")

# Then the interpreter hands back the extension modules that refused to load there (see
# interpcli._extensions, which the prelude installs): as an ImportWarning's message.
REPORT_REFUSALS = ("import sys as _s\n"
                    "_x = _s.modules.get('interpcli._extensions')\n"
                    "del _s\n"
                    "if _x is not None and _x.refusals():\n"
                    "    raise ImportWarning(_x.report())\n"
                    "del _x\n")


# Run in a program's interpreter once it is done, as python flushes sys.stdout and
# sys.stderr at exit: a failure (/dev/full, a closed pipe) raises RuntimeError carrying
# python's "Exception ignored" message (none for stderr), and python then exits 120.
EXIT_FLUSH = """\
def _flush():
    import sys
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
                    message += f"Exception ignored in: {stream!r}\\n"
                else:
                    word = "on" if sys.version_info < (3, 14) else "while"
                    message += f"Exception ignored {word} flushing sys.stdout:\\n"
                message += "".join(traceback.format_exception_only(exc))
    if message is not None:
        raise RuntimeError(message)
try:
    _flush()
finally:
    del _flush
"""
EXIT_FLUSH_FAILED = 120     # python's exit status when that flush fails
