/* Creating, interrupting and ending interpreters. ic_create is called with the main
 * interpreter's thread state attached; ic_destroy and ic_interrupt with none (the module
 * function released its GIL) and attach a thread state of their own. */
#include "common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Unlist a record that never finished starting (or was refused) and drop its reference. */
static void forget(ic_interp *rec)
{
    ic_reg_lock();
    ic_reg_remove_locked(rec);
    ic_reg_unlock();
    ic_rec_decref(rec);
}

/* Address space an interpreter's creation takes (measured: 3-5 MB for an isolated one) */
#define IC_CREATE_ROOM (8 * 1024 * 1024)

/* Is there room to create an interpreter? CPython aborts the process when the first
 * allocation of a creation fails (3.13: "Fatal Python error: ...InterpreterState_New:
 * memory allocation failed"): map, then unmap at once, as much as a creation takes.
 * Untouched, the mapping costs no memory; it fails where the creation would (an address
 * space limit, strict overcommit). */
static int room_for_an_interpreter(void)
{
    void *p = mmap(NULL, IC_CREATE_ROOM, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return 0;
    }
    munmap(p, IC_CREATE_ROOM);
    return 1;
}

/* The error of a failed Py_NewInterpreterFromConfig (the caller's thread state attached). */
static int create_failed(PyStatus status)
{
    if (PyErr_Occurred()) {     /* an audit hook refused it */
        return ic_fail_from_python(IC_ERR_CREATE, "cannot create an interpreter");
    }
    if (!PyStatus_Exception(status)) {
        /* no status: the interpreter or its first thread state could not be allocated */
        return ic_fail(IC_ERR_NOMEM, "not enough memory to create an interpreter");
    }
    const char *msg = status.err_msg != NULL ? status.err_msg : "unknown error";
    return ic_fail(strstr(msg, "memory") != NULL ? IC_ERR_NOMEM : IC_ERR_CREATE,
                   "cannot create an interpreter: %s", msg);
}

int ic_create(int isolated, const char *name, int spare, int64_t *id_out)
{
    if (strlen(name) > IC_NAME_MAX) {
        return ic_fail(IC_ERR_CREATE, "interpreter name longer than %d bytes", IC_NAME_MAX);
    }
    PyThreadState *save = PyThreadState_Get();
    if (PyThreadState_GetInterpreter(save) != PyInterpreterState_Main()) {
        return ic_fail(IC_ERR_MAIN, "interpreters are created from the main interpreter only");
    }
    /* reserve the name with a starting record, invisible to lookups until it is done */
    ic_interp *rec = ic_rec_new(-1, NULL, name, isolated, IC_KIND_OWNED);
    if (rec == NULL) {
        return ic_fail(IC_ERR_NOMEM, "out of memory");
    }
    rec->starting = 1;
    rec->spare = spare;
    ic_reg_lock();
    if (!spare && ic_reg_name_taken_locked(name)) {
        ic_reg_unlock();
        ic_rec_decref(rec);
        return ic_fail(IC_ERR_BUSY, "an interpreter named '%s' exists already", name);
    }
    ic_reg_add_locked(rec);
    ic_reg_unlock();

    PyInterpreterConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (isolated) {
        cfg.use_main_obmalloc = 0;
        cfg.allow_fork = 0;
        cfg.allow_exec = 0;
        cfg.allow_threads = 1;
        cfg.allow_daemon_threads = 0;
        cfg.check_multi_interp_extensions = 1;
        cfg.gil = PyInterpreterConfig_OWN_GIL;
    }
    else {
        cfg.use_main_obmalloc = 1;
        cfg.allow_fork = 1;
        cfg.allow_exec = 1;
        cfg.allow_threads = 1;
        cfg.allow_daemon_threads = 1;
        cfg.check_multi_interp_extensions = 0;
        cfg.gil = PyInterpreterConfig_SHARED_GIL;
    }
    if (!room_for_an_interpreter()) {
        forget(rec);
        return ic_fail(IC_ERR_NOMEM, "not enough memory to create an interpreter");
    }
    PyThreadState *ts = NULL;
#if PY_VERSION_HEX < 0x030D0000
    /* 3.12: a creation that fails before the new GIL exists leaves the caller's thread
     * state current without its GIL (the next release of it aborts: "drop_gil: GIL is not
     * locked"). Create with no thread state attached, as 3.13's stdlib does, and attach
     * save again ourselves. */
    PyEval_SaveThread();
    PyStatus status = Py_NewInterpreterFromConfig(&ts, &cfg);
    if (PyStatus_Exception(status) || ts == NULL) {
        PyEval_RestoreThread(save);
    }
#else
    /* with save attached, as the C API asks; on failure save is attached again */
    PyStatus status = Py_NewInterpreterFromConfig(&ts, &cfg);
#endif
    if (PyStatus_Exception(status) || ts == NULL) {
        forget(rec);
        return create_failed(status);
    }
    /* the new interpreter's first thread state is current, its GIL held */
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);
    int64_t id = PyInterpreterState_GetID(interp);
    ic_reg_lock();
    rec->id = id;
    rec->interp = interp;
    ic_reg_unlock();
    if (ic_module_install() < 0) {
        int rc = ic_fail_from_python(PyErr_ExceptionMatches(PyExc_MemoryError)
                                     ? IC_ERR_NOMEM : IC_ERR_CREATE,
                                     "installing the core module");
        Py_EndInterpreter(ts);
        PyEval_RestoreThread(save);
        forget(rec);
        return rc;
    }
#if IC_KEEP_HOME
    rec->home = ts;
    PyEval_SaveThread();
#else
    ic_tstate_delete_current(rec, ts);
#endif
    PyEval_RestoreThread(save);
    ic_reg_lock();
    rec->starting = 0;
    ic_reg_unlock();
    ic_rec_decref(rec);         /* the registry keeps its own reference */
    *id_out = id;
    return IC_OK;
}

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
static int join_threads(double timeout)
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
static int other_threads(PyThreadState *ts)
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
static int settle_threads(PyThreadState *ts, double deadline)
{
    int others = other_threads(ts);
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
        others = other_threads(ts);
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
    int left = other_threads(ts);
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
static int end_steps(ic_interp *rec, PyThreadState *ts, double deadline, int force)
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
        busy |= join_threads(deadline < 0 ? -1.0 : fmax(0.0, deadline - ic_now())) > 0;
        busy |= other_threads(ts) > 0;
        int others = settle_threads(ts, deadline);
        if (others > 0) {
            return ic_fail(IC_ERR_THREADS, "interpreter '%s' still has %d thread(s) running "
                           "after its exit steps (started by an atexit callback or a "
                           "finalizer, and not finished in time); stop them before "
                           "closing it", rec->name, others);
        }
        if (!busy) {
            int was_enabled = PyGC_Disable();
            if (nothing_left(rec, ts)) {
                return IC_OK;
            }
            if (was_enabled) {
                PyGC_Enable();
            }
        }
    }
}

static PyThreadState *attach_for_end(ic_interp *rec)
{
#if IC_KEEP_HOME
    PyThreadState *ts = rec->home;
#else
    PyThreadState *ts = ic_tstate_new(rec);
    if (ts == NULL) {
        return NULL;
    }
#endif
    PyEval_RestoreThread(ts);
    return ts;
}

static void detach_after_refusal(ic_interp *rec, PyThreadState *ts)
{
#if IC_KEEP_HOME
    (void)rec;
    (void)ts;
    PyEval_SaveThread();
#else
    ic_tstate_delete_current(rec, ts);
#endif
}

static int destroy(int64_t id, int force, double join_timeout, int spare)
{
    ic_reg_lock();
    ic_interp *rec;
    int found;
    if (spare) {
        rec = ic_reg_spare_locked(id);
        found = rec != NULL ? IC_OK : ic_fail(IC_ERR_NOTFOUND, "no spare interpreter %lld",
                                                (long long)id);
    }
    else {
        found = ic_reg_usable_locked(id, &rec);
    }
    if (found == IC_OK && rec->kind == IC_KIND_MAIN) {
        found = ic_fail(IC_ERR_MAIN, "the main interpreter cannot be closed");
    }
    if (found != IC_OK) {
        ic_reg_unlock();
        return found;
    }
    if (rec->running || rec->pins > 0) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_BUSY, "interpreter '%s' is running; interrupt it or wait for "
                       "its run to end before closing it", rec->name);
    }
    pthread_mutex_lock(&ic_lent_mu);
    long exported = rec->exported;
    pthread_mutex_unlock(&ic_lent_mu);
    if (exported > 0 && !force) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_LENT, "interpreter '%s' lent memory through send_buffer that %ld "
                       "memoryview(s) elsewhere still use; release them first", rec->name,
                       exported);
    }
    rec->closing = 1;
    ic_rec_incref(rec);
    ic_reg_unlock();

    /* channel waits of the interpreter's own threads end (ChannelClosedError) */
    atomic_store(&rec->ending, 1);
    ic_chan_wake_all();
    int rc = IC_OK;
    PyThreadState *ts = attach_for_end(rec);
    if (ts == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "cannot make a thread state");
        goto refused;
    }
    double deadline = join_timeout < 0 ? -1.0 : ic_now() + join_timeout;
    join_threads(join_timeout);
    int others = settle_threads(ts, deadline);
    if (others > 0) {
        /* ending now would abort the process (3.12, 3.13) or free what they use (3.14) */
        detach_after_refusal(rec, ts);
        rc = ic_fail(IC_ERR_THREADS, "interpreter '%s' still has %d thread(s) running (a "
                     "threading thread that did not finish in time, a daemon thread or a "
                     "_thread thread); stop them before closing it", rec->name, others);
        goto refused;
    }
    rc = end_steps(rec, ts, deadline, force);
    if (rc != IC_OK) {
        detach_after_refusal(rec, ts);
        goto refused;
    }
    Py_EndInterpreter(ts);
    rec->home = NULL;
    rec->interp = NULL;

    ic_reg_lock();
    ic_reg_remove_locked(rec);
    ic_reg_unlock();
    ic_rec_decref(rec);
    return IC_OK;

refused:
    atomic_store(&rec->ending, 0);
    ic_reg_lock();
    rec->closing = 0;
    ic_reg_unlock();
    ic_rec_decref(rec);
    return rc;
}

int ic_destroy(int64_t id, int force, double join_timeout)
{
    return destroy(id, force, join_timeout, 0);
}

int ic_destroy_spare(int64_t id)
{
    return destroy(id, 1, -1.0, 1);
}

int ic_interrupt(int64_t id, int kind, ic_cancel *cancel)
{
    ic_reg_lock();
    ic_interp *rec;
    int found = ic_reg_usable_locked(id, &rec);
    if (found != IC_OK) {
        ic_reg_unlock();
        return found;
    }
    if (!rec->running) {
        ic_reg_unlock();
        return IC_OK;
    }
    rec->pins++;
    ic_reg_unlock();

    PyThreadState *ts = ic_tstate_new(rec);
    int rc = IC_OK, delivered = 0;
    if (ts == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "cannot make a thread state");
    }
    else {
        PyEval_RestoreThread(ts);
        /* Under the interpreter's GIL the run cannot begin or end its evaluation: if the
         * run this token names is evaluating now, the exception lands in it and in
         * nothing else (not a later run, not the close step). */
        if (rec->eval_active && (cancel == NULL || rec->eval_token == cancel)) {
            unsigned long tid = rec->eval_tid;
            PyThreadState_SetAsyncExc(tid, kind == IC_INTR_TIMEOUT ? PyExc_TimeoutError
                                                                   : PyExc_KeyboardInterrupt);
            atomic_store(&rec->intr_kind, kind);
            atomic_store(&rec->intr_tid, tid);
            atomic_fetch_add(&rec->intr_gen, 1);
            delivered = 1;
        }
        ic_tstate_delete_current(rec, ts);
    }
    if (delivered) {
        ic_chan_wake_all();
    }
    ic_reg_lock();
    rec->pins--;
    ic_reg_unlock();
    return rc;
}
