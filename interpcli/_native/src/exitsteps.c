/* The steps a close runs in the interpreter before ending it: threading's exit callbacks
 * and the join of its threads, the wait for every other thread state, then the
 * interpreter's own exit steps (atexit callbacks, the release of what it lent) until none
 * is left. All with the interpreter's GIL held through the closing thread state. */
#include "common.h"
#include <math.h>
#include <time.h>

/* Run threading's exit callbacks and join the threads the interpreter's code started, as
 * ending an interpreter does (non-daemon first, then daemon ones), but for at most
 * `timeout` seconds (< 0: no limit). Its "main
 * thread" object and dummy threads stand for OS threads that ran runs (or this close):
 * they are not the interpreter's to join, and joining them never returns. */
static const char JOIN_THREADS[] =
    "def _join(timeout):\n"
    "    import sys\n"
    "    threading = sys.modules.get('threading')\n"
    "    if threading is None:\n"
    "        return\n"
    "    callbacks = getattr(threading, '_threading_atexits', None)\n"
    "    ran = 0\n"
    "    while callbacks:\n"
    "        ran += 1\n"
    "        try:\n"
    "            callbacks.pop()()\n"
    "        except BaseException:\n"
    "            pass\n"
    "    import time\n"
    "    deadline = None if timeout < 0 else time.monotonic() + timeout\n"
    "    others = [t for t in threading.enumerate()\n"
    "              if not (t is threading.current_thread() or t is threading.main_thread()\n"
    "                      or isinstance(t, threading._DummyThread))]\n"
    "    # daemon threads too (a shared-GIL interpreter's threads inherit daemon=True from\n"
    "    # the run's thread): ending with one alive is not possible, so give them the time\n"
    "    for t in sorted(others, key=lambda t: t.daemon):\n"
    "        try:\n"
    "            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))\n"
    "        except RuntimeError:\n"
    "            pass    # never started (its start() was interrupted): nothing to join\n"
    "    # 3.12: threading's main thread here is the OS thread that first imported it, in a\n"
    "    # run whose thread state is gone (its lock released). Ending the interpreter from\n"
    "    # that OS thread, threading._shutdown asserts the lock is held, then memory is\n"
    "    # freed twice (free(): invalid pointer). Give it a held lock, as for a live thread.\n"
    "    main = threading._main_thread\n"
    "    lock = getattr(main, '_tstate_lock', None)\n"
    "    if lock is not None and not lock.locked():\n"
    "        import _thread\n"
    "        lock = _thread.allocate_lock()\n"
    "        lock.acquire()\n"
    "        main._tstate_lock = lock\n"
    "    return ran + len(others)\n";

static PyObject *run_text(const char *text, PyObject *globals)
{
    PyObject *code = Py_CompileString(text, "<interpcli>", Py_file_input);
    if (code == NULL) {
        return NULL;
    }
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    Py_DECREF(code);
    return r;
}

/* The number of threading exit callbacks run and threads joined (or waited for). */
int ic_join_threads(double timeout)
{
    /* threading never imported: no exit callbacks and no threading threads to join
     * (other threads are counted apart); this skips compiling the joiner (~0.2 ms) */
    PyObject *name = PyUnicode_FromString("threading");
    PyObject *threading = name != NULL ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    if (threading == NULL && !PyErr_Occurred()) {
        return 0;
    }
    PyErr_Clear();
    Py_XDECREF(threading);
    PyObject *globals = PyDict_New();
    PyObject *r = NULL;
    if (globals != NULL && PyDict_SetItemString(globals, "__builtins__",
                                                PyEval_GetBuiltins()) == 0) {
        r = run_text(JOIN_THREADS, globals);
    }
    if (r != NULL) {
        PyObject *join = PyDict_GetItemString(globals, "_join");
        Py_DECREF(r);
        r = join != NULL ? PyObject_CallFunction(join, "d", timeout) : NULL;
    }
    int n = 0;
    if (r == NULL) {
        PyErr_Clear();
    }
    else if (PyLong_Check(r)) {
        n = (int)PyLong_AsLong(r);
        PyErr_Clear();
    }
    Py_XDECREF(r);
    Py_XDECREF(globals);
    return n;
}

/* Thread states of the interpreter other than ts (ts's interpreter's GIL held). */
int ic_other_threads(PyThreadState *ts)
{
    int n = 0;
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL;
         t = PyThreadState_Next(t)) {
        if (t != ts) {
            n++;
        }
    }
    return n;
}

/* Wait, until `deadline` (ic_now() time; < 0: none), for the interpreter's thread states
 * other than ts to be gone; the count left. A joined threading thread, or one that left
 * threading's books, still holds its thread state while it returns through the C code
 * that started it (on 3.12 its join even returns before the state is unlinked), and a
 * _thread thread has nothing to join: CPython tells nobody when a thread state is
 * deleted, so look again with the GIL released, at growing intervals (50 us to 5 ms). */
int ic_settle_threads(PyThreadState *ts, double deadline)
{
    int others = ic_other_threads(ts);
    long pause_ns = 50 * 1000;
    while (others > 0) {
        double left = deadline < 0 ? 1.0 : deadline - ic_now();
        if (left <= 0) {
            break;
        }
        long ns = pause_ns;
        if (left * 1e9 < (double)ns) {
            ns = (long)(left * 1e9) + 1;
        }
        struct timespec pause = {0, ns};
        PyThreadState *saved = PyEval_SaveThread();
        nanosleep(&pause, NULL);
        PyEval_RestoreThread(saved);
        others = ic_other_threads(ts);
        if (pause_ns < 5 * 1000 * 1000) {
            pause_ns *= 2;
        }
    }
    return others;
}

/* ---- the interpreter's own exit steps, run by the close before Py_EndInterpreter ----
 *
 * Py_EndInterpreter joins threading's non-daemon threads, runs the atexit callbacks, then
 * aborts the process if any other thread state is left ("not the last thread"): a thread
 * started by an atexit callback (3.13 allows it), or by a finalizer run by the close
 * (a lent buffer's owner released), or any daemon or _thread thread alive then. So the
 * close runs those steps itself first, in python's order, and repeats them until a round
 * where nothing ran and no thread was left: atexit callbacks, the release of what the
 * interpreter lent, threading's exit callbacks and the join of its threads, then the wait
 * for every other thread state. A thread still alive at the deadline refuses the close.
 * Py_EndInterpreter then finds nothing to run that could start a thread; the collector is
 * off, so no finalizer of garbage runs before its finalization, when CPython refuses new
 * threads. */

/* Rounds of atexit callbacks run; from then on callbacks that callbacks keep registering
 * are dropped (3.12's Python drops those registered while the exit runs them). */
#define IC_END_ROUNDS 16

static PyObject *atexit_module(void)
{
    PyObject *m = PyImport_ImportModule("atexit");
    if (m == NULL) {
        PyErr_Clear();
    }
    return m;
}

static long atexit_count(PyObject *atexit)
{
    PyObject *r = PyObject_CallMethod(atexit, "_ncallbacks", NULL);
    long n = r != NULL ? PyLong_AsLong(r) : 0;
    Py_XDECREF(r);
    PyErr_Clear();
    return n;
}

/* Run (or, once run is 0, drop) the atexit callbacks; 1 when some ran. Their errors are
 * reported as at exit ("Exception ignored in atexit callback"). */
static int run_atexit(int run)
{
    PyObject *atexit = atexit_module();
    if (atexit == NULL) {
        return 0;
    }
    int ran = 0;
    if (atexit_count(atexit) > 0) {
        PyObject *r = PyObject_CallMethod(atexit, run ? "_run_exitfuncs" : "_clear", NULL);
        Py_XDECREF(r);
        PyErr_Clear();
        ran = run;
    }
    Py_DECREF(atexit);
    return ran;
}

/* Release what the interpreter lent: queued releases done, queued lent items copied (their
 * objects released), then the lents still seen elsewhere forgotten (force) or the close
 * refused (-1). 1 when objects may have been released (finalizers may have run). */
static int release_lent(ic_interp *rec, int force)
{
    pthread_mutex_lock(&ic_lent_mu);
    int had = rec->lent_live != NULL || rec->pending != NULL;
    pthread_mutex_unlock(&ic_lent_mu);
    ic_lent_drain(rec);
    ic_chan_copy_lent_of(rec);
    ic_lent_drain(rec);
    /* A receiver may have taken a lent item after the first check of the close and
     * before the copy: a lent still alive now is seen (or about to be seen) elsewhere. */
    pthread_mutex_lock(&ic_lent_mu);
    int still_lent = rec->lent_live != NULL;
    pthread_mutex_unlock(&ic_lent_mu);
    if (still_lent && !force) {
        return -1;
    }
    ic_lent_orphan_all(rec);
    ic_lent_drain(rec);         /* releases queued before the orphaning */
    return had;
}

/* With the collector off, is there nothing left that Py_EndInterpreter would run or find:
 * no atexit or threading exit callback, no lent, no other thread state? */
static int nothing_left(ic_interp *rec, PyThreadState *ts)
{
    int left = ic_other_threads(ts);
    PyObject *atexit = atexit_module();
    if (atexit != NULL) {
        left += atexit_count(atexit) > 0;
        Py_DECREF(atexit);
    }
    PyObject *name = PyUnicode_FromString("threading");
    PyObject *threading = name != NULL ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    if (threading != NULL) {
        PyObject *callbacks = PyObject_GetAttrString(threading, "_threading_atexits");
        if (callbacks != NULL && PyList_Check(callbacks)) {
            left += PyList_GET_SIZE(callbacks) > 0;
        }
        Py_XDECREF(callbacks);
        Py_DECREF(threading);
    }
    PyErr_Clear();
    pthread_mutex_lock(&ic_lent_mu);
    left += rec->lent_live != NULL || rec->pending != NULL;
    pthread_mutex_unlock(&ic_lent_mu);
    return left == 0;
}

/* The exit steps (the interpreter's GIL held through ts, its pre-existing threads gone):
 * IC_OK with the collector off, or the refusal's error code (the collector as it was). */
int ic_end_steps(ic_interp *rec, PyThreadState *ts, double deadline, int force)
{
    for (int round = 0; ; round++) {
        int busy = run_atexit(round < IC_END_ROUNDS);
        int lent = release_lent(rec, force);
        if (lent < 0) {
            return ic_fail(IC_ERR_LENT, "interpreter '%s' lent memory through send_buffer "
                           "that memoryview(s) elsewhere still use; release them first",
                           rec->name);
        }
        busy |= lent;
        busy |= ic_join_threads(deadline < 0 ? -1.0 : fmax(0.0, deadline - ic_now())) > 0;
        busy |= ic_other_threads(ts) > 0;
        int others = ic_settle_threads(ts, deadline);
        if (others > 0) {
            return ic_fail(IC_ERR_THREADS, "interpreter '%s' still has %d thread(s) running "
                           "after its exit steps (started by an atexit callback or a "
                           "finalizer, and not finished in time); stop them before "
                           "closing it", rec->name, others);
        }
        /* no thread is left now: past the bound (atexit's own functions replaced, say)
         * the end goes on rather than spin */
        int last = round >= 4 * IC_END_ROUNDS;
        if (!busy || last) {
            int was_enabled = PyGC_Disable();
            if (nothing_left(rec, ts) || last) {
                return IC_OK;
            }
            if (was_enabled) {
                PyGC_Enable();
            }
        }
    }
}
