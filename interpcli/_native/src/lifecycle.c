/* Creating, interrupting and ending interpreters. ic_create is called with the main
 * interpreter's thread state attached; ic_destroy and ic_interrupt with none (the module
 * function released its GIL) and attach a thread state of their own. */
#include "common.h"
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

/* How long destroy() waits for a record's pins to go (a signal's delivery or an interrupt
 * under way: each lasts a moment), in seconds. */
#define PIN_WAIT_SECONDS 2.0

static int destroy(int64_t id, int force, double join_timeout, int spare)
{
    double pin_deadline = ic_now() + PIN_WAIT_SECONDS;
again:
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
    double pin_left = pin_deadline - ic_now();
    if (!rec->running && rec->pins > 0 && pin_left > 0) {
        /* a delivery or an interrupt ends in a moment (it may be waiting for its GIL): wait
         * for a pin to go, then look again from the start, as the record may be gone */
        unsigned int seen = ic_reg_unpins_locked();
        ic_reg_unlock();
        ic_reg_wait_unpin(seen, pin_left);
        goto again;
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
    ic_join_threads(join_timeout);
    int others = ic_settle_threads(ts, deadline);
    if (others > 0) {
        /* ending now would abort the process (3.12, 3.13) or free what they use (3.14) */
        detach_after_refusal(rec, ts);
        rc = ic_fail(IC_ERR_THREADS, "interpreter '%s' still has %d thread(s) running (a "
                     "threading thread that did not finish in time, a daemon thread or a "
                     "_thread thread); stop them before closing it", rec->name, others);
        goto refused;
    }
    rc = ic_end_steps(rec, ts, deadline, force);
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

/* In an `interp run` script's interpreter (its GIL held): the main thread's sleep, select,
 * read or lock wait ends, so that the asynchronous exception just set is raised
 * (interpcli._signals_sub._interrupted); a channel wait ends through ic_chan_wake_all. */
static void end_script_waits(void)
{
    PyObject *mod = ic_signals_sub();
    if (mod != NULL) {
        PyObject *r = PyObject_CallMethod(mod, "_interrupted", NULL);
        Py_XDECREF(r);
        Py_DECREF(mod);
    }
    PyErr_Clear();
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
            rec->intr_armed = 1;
            atomic_store(&rec->intr_kind, kind);
            atomic_store(&rec->intr_tid, tid);
            atomic_fetch_add(&rec->intr_gen, 1);
            delivered = 1;
            end_script_waits();
        }
        ic_tstate_delete_current(rec, ts);
    }
    if (delivered) {
        ic_chan_wake_all();
    }
    ic_rec_unpin(rec);
    return rc;
}
