/* Creating, interrupting and ending interpreters. ic_create is called with the main
 * interpreter's thread state attached; ic_destroy and ic_interrupt with none (the module
 * function released its GIL) and attach a thread state of their own. */
#include "common.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Unlist a record that never finished starting (or was refused) and drop its reference. */
static void forget(ic_interp *rec)
{
    ic_reg_lock();
    ic_reg_remove_locked(rec);
    ic_reg_unlock();
    ic_rec_decref(rec);
}

int ic_create(int isolated, int strict, const char *name, int spare, int64_t *id_out)
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

    /* what python allows (threads, daemon threads, os.exec*), unless strict: CPython's
     * isolated preset (no daemon threads, no os.exec*; subprocess works in both, its child
     * runs no Python before its exec). os.fork() is refused in both:
     * a child forked from a subinterpreter dies in CPython 3.12-3.15 ("Fatal Python
     * error" in the child, whatever the GIL) */
    PyInterpreterConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.allow_fork = 0;
    cfg.allow_exec = !strict;
    cfg.allow_threads = 1;
    cfg.allow_daemon_threads = !strict;
    if (isolated) {
        cfg.use_main_obmalloc = 0;
        cfg.check_multi_interp_extensions = 1;
        cfg.gil = PyInterpreterConfig_OWN_GIL;
    }
    else {
        cfg.use_main_obmalloc = 1;
        cfg.check_multi_interp_extensions = 0;
        cfg.gil = PyInterpreterConfig_SHARED_GIL;
    }
    /* with save attached, as the C API asks; on failure save is attached again */
    PyThreadState *ts = NULL;
    PyStatus status = Py_NewInterpreterFromConfig(&ts, &cfg);
    if (PyStatus_Exception(status) || ts == NULL) {
        forget(rec);
        return ic_fail(IC_ERR_CREATE, "cannot create an interpreter: %s",
                       status.err_msg != NULL ? status.err_msg : "unknown error");
    }
    /* the new interpreter's first thread state is current, its GIL held */
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);
    int64_t id = PyInterpreterState_GetID(interp);
    ic_reg_lock();
    rec->id = id;
    rec->interp = interp;
    ic_reg_unlock();
    if (ic_module_install() < 0) {
        int rc = ic_fail_from_python(IC_ERR_CREATE, "installing the core module");
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
    "    while callbacks:\n"
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
    "        main._tstate_lock = lock\n";

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

static void join_threads(double timeout)
{
    /* threading never imported: no exit callbacks and no threading threads to join
     * (other threads are counted apart); this skips compiling the joiner (~0.2 ms) */
    PyObject *name = PyUnicode_FromString("threading");
    PyObject *threading = name != NULL ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    if (threading == NULL && !PyErr_Occurred()) {
        return;
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
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
    Py_XDECREF(globals);
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
    ic_adopt_main_thread(rec);      /* the ending thread is the main one, as in python */
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
    ic_lent_drain(rec);
    ic_chan_copy_lent_of(rec);
    ic_lent_drain(rec);
    /* A receiver may have taken a lent item after the check above and before the copy:
     * a lent still alive now is seen (or about to be seen) elsewhere. Refuse, as above. */
    pthread_mutex_lock(&ic_lent_mu);
    int still_lent = rec->lent_live != NULL;
    pthread_mutex_unlock(&ic_lent_mu);
    if (still_lent && !force) {
        detach_after_refusal(rec, ts);
        rc = ic_fail(IC_ERR_LENT, "interpreter '%s' lent memory through send_buffer that "
                     "memoryview(s) elsewhere still use; release them first", rec->name);
        goto refused;
    }
    ic_lent_orphan_all(rec);
    ic_lent_drain(rec);         /* releases queued before the orphaning */
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
