/* Creating, running, interrupting and ending interpreters from any OS thread.
 * Every entry point is called by cffi with no thread state current (cffi releases the
 * caller's GIL around the call) and attaches a thread state of its own. */
#include <stdlib.h>
#include <string.h>
#include "common.h"

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static int initialized;

static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* str(obj) as a malloc'd UTF-8 string; never NULL unless out of memory */
static char *dup_str(PyObject *obj)
{
    PyObject *s = PyObject_Str(obj);
    if (s == NULL) {
        PyErr_Clear();
        return dup_text("<unprintable>", 13);
    }
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    char *r;
    if (u == NULL) {
        PyErr_Clear();
        r = dup_text("<unprintable>", 13);
    }
    else {
        r = dup_text(u, (size_t)n);
    }
    Py_DECREF(s);
    return r;
}

/* The message of the Python error now set, for ic_errmsg(); clears it. */
static int fail_from_python(int code, const char *what)
{
    PyObject *exc = PyErr_GetRaisedException();
    char *msg = exc != NULL ? dup_str(exc) : NULL;
    const char *tname = exc != NULL ? _PyType_Name(Py_TYPE(exc)) : "error";
    ic_fail(code, "%s: %s: %s", what, tname, msg != NULL ? msg : "");
    free(msg);
    Py_XDECREF(exc);
    return code;
}

static ic_interp *new_record(int64_t id, PyInterpreterState *interp, const char *name,
                             int isolated)
{
    ic_interp *rec = calloc(1, sizeof(*rec));
    if (rec == NULL) {
        return NULL;
    }
    rec->name = strdup(name);
    if (rec->name == NULL) {
        free(rec);
        return NULL;
    }
    rec->id = id;
    rec->interp = interp;
    rec->isolated = isolated;
    return rec;
}

static void free_record(ic_interp *rec)
{
    free(rec->name);
    free(rec);
}

int ic_init(void)
{
    pthread_mutex_lock(&init_mu);
    if (initialized) {
        pthread_mutex_unlock(&init_mu);
        return IC_OK;
    }
    PyInterpreterState *main = PyInterpreterState_Main();
    ic_interp *rec = new_record(PyInterpreterState_GetID(main), main, "main", 0);
    if (rec == NULL) {
        pthread_mutex_unlock(&init_mu);
        return ic_fail(IC_ERR_NOMEM, "out of memory");
    }
    PyThreadState *ts = PyThreadState_New(main);
    if (ts == NULL) {
        free_record(rec);
        pthread_mutex_unlock(&init_mu);
        return ic_fail(IC_ERR_NOMEM, "cannot make a thread state for the main interpreter");
    }
    PyEval_RestoreThread(ts);
    int rc = IC_OK;
    if (ic_module_install(rec) < 0) {
        rc = fail_from_python(IC_ERR_INTERNAL, "installing the core module in main");
    }
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
    if (rc == IC_OK) {
        ic_reg_lock();
        ic_reg_add_locked(rec);
        ic_reg_unlock();
        initialized = 1;
    }
    else {
        free_record(rec);
    }
    pthread_mutex_unlock(&init_mu);
    return rc;
}

int64_t ic_main_id(void)
{
    return PyInterpreterState_GetID(PyInterpreterState_Main());
}

int ic_create(int isolated, const char *name, int64_t *id_out)
{
    if (strlen(name) > IC_NAME_MAX) {
        return ic_fail(IC_ERR_CREATE, "interpreter name longer than %d bytes", IC_NAME_MAX);
    }
    ic_reg_lock();
    int taken = ic_reg_name_taken_locked(name);
    ic_reg_unlock();
    if (taken) {
        return ic_fail(IC_ERR_BUSY, "an interpreter named '%s' exists already", name);
    }
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
    PyThreadState *ts = NULL;
    PyStatus status = Py_NewInterpreterFromConfig(&ts, &cfg);
    if (PyStatus_Exception(status) || ts == NULL) {
        return ic_fail(IC_ERR_CREATE, "cannot create an interpreter: %s",
                       status.err_msg != NULL ? status.err_msg : "unknown error");
    }
    /* the new interpreter's first thread state is current, its GIL held */
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);
    int64_t id = PyInterpreterState_GetID(interp);
    ic_interp *rec = new_record(id, interp, name, isolated);
    int rc = IC_OK;
    if (rec == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "out of memory");
    }
    else {
        rec->home = ts;
        if (ic_module_install(rec) < 0) {
            rc = fail_from_python(IC_ERR_CREATE, "installing the core module");
        }
    }
    if (rc != IC_OK) {
        Py_EndInterpreter(ts);
        if (rec != NULL) {
            free_record(rec);
        }
        return rc;
    }
    PyEval_SaveThread();
    ic_reg_lock();
    if (ic_reg_name_taken_locked(name)) {
        /* lost a race for the name: end the new interpreter */
        ic_reg_unlock();
        PyEval_RestoreThread(ts);
        Py_EndInterpreter(ts);
        free_record(rec);
        return ic_fail(IC_ERR_BUSY, "an interpreter named '%s' exists already", name);
    }
    ic_reg_add_locked(rec);
    ic_reg_unlock();
    *id_out = id;
    return IC_OK;
}

/* Compile UTF-8 source the way compile(str) does: the text is already decoded, so a
 * "coding:" cookie in it must not be applied a second time. */
static PyObject *compile_source(const char *source, const char *filename)
{
    PyCompilerFlags flags = _PyCompilerFlags_INIT;
    flags.cf_flags = PyCF_IGNORE_COOKIE | PyCF_SOURCE_IS_UTF8;
    return Py_CompileStringExFlags(source, filename, Py_file_input, &flags, -1);
}

/* Compile and run source in globals. Not PyRun_String: that resets CPython's process-wide
 * "unhandled KeyboardInterrupt" flag, so a Ctrl-C that ended the main script would no
 * longer make the process exit by SIGINT once interpcli ran code at exit. */
static PyObject *eval_source(const char *source, const char *filename, PyObject *globals)
{
    PyObject *code = compile_source(source, filename);
    if (code == NULL) {
        return NULL;
    }
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    Py_DECREF(code);
    return r;
}

/* Join the threads the interpreter's code started. Its "main thread" object and dummy
 * threads stand for OS threads that ran our runs (or this close): they are not the
 * interpreter's to join, and joining them from another OS thread never returns. */
static const char JOIN_THREADS[] =
    "import sys\n"
    "if 'threading' in sys.modules:\n"
    "    import threading\n"
    "    for t in threading.enumerate():\n"
    "        if (t is threading.current_thread() or t is threading.main_thread()\n"
    "                or t.daemon or isinstance(t, threading._DummyThread)):\n"
    "            continue\n"
    "        t.join()\n";

int ic_destroy(int64_t id, int force)
{
    ic_reg_lock();
    ic_interp *rec = ic_reg_find_locked(id);
    if (rec == NULL || rec->closing) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_NOTFOUND, "interpreter %lld does not exist (closed already?)",
                       (long long)id);
    }
    if (rec->home == NULL) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_MAIN, "the main interpreter cannot be closed");
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
    ic_reg_unlock();

    PyEval_RestoreThread(rec->home);
    PyObject *globals = PyDict_New();
    PyObject *r = globals != NULL ? eval_source(JOIN_THREADS, "<interpcli>", globals) : NULL;
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
    Py_XDECREF(globals);
    ic_lent_drain(rec);
    ic_chan_copy_lent_of(rec);
    ic_lent_drain(rec);
    /* A receiver may have taken a lent item after the check above and before the copy:
     * a lent still alive now is seen (or about to be seen) elsewhere. Refuse, as above. */
    pthread_mutex_lock(&ic_lent_mu);
    int still_lent = rec->lent_live != NULL;
    pthread_mutex_unlock(&ic_lent_mu);
    if (still_lent && !force) {
        PyEval_SaveThread();
        ic_reg_lock();
        rec->closing = 0;
        ic_reg_unlock();
        return ic_fail(IC_ERR_LENT, "interpreter '%s' lent memory through send_buffer that "
                       "memoryview(s) elsewhere still use; release them first", rec->name);
    }
    ic_lent_orphan_all(rec);
    Py_EndInterpreter(rec->home);

    ic_reg_lock();
    ic_reg_remove_locked(rec);
    ic_reg_unlock();
    free_record(rec);
    return IC_OK;
}

static char *type_name(PyObject *exc)
{
    PyTypeObject *tp = Py_TYPE(exc);
    PyObject *qual = PyType_GetQualName(tp);
    PyObject *mod = PyObject_GetAttrString((PyObject *)tp, "__module__");
    PyObject *full = NULL;
    if (qual != NULL && mod != NULL && PyUnicode_Check(mod)
        && PyUnicode_CompareWithASCIIString(mod, "builtins") != 0
        && PyUnicode_CompareWithASCIIString(mod, "__main__") != 0) {
        full = PyUnicode_FromFormat("%U.%U", mod, qual);
    }
    else if (qual != NULL) {
        full = Py_NewRef(qual);
    }
    PyErr_Clear();
    char *r = full != NULL ? dup_str(full) : dup_text(tp->tp_name, strlen(tp->tp_name));
    Py_XDECREF(full);
    Py_XDECREF(qual);
    Py_XDECREF(mod);
    return r;
}

static char *format_traceback(PyObject *exc)
{
    PyObject *tb = PyImport_ImportModule("traceback");
    PyObject *lines = tb != NULL ? PyObject_CallMethod(tb, "format_exception", "O", exc) : NULL;
    Py_XDECREF(tb);
    PyObject *empty = lines != NULL ? PyUnicode_FromString("") : NULL;
    PyObject *text = empty != NULL ? PyUnicode_Join(empty, lines) : NULL;
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    char *r;
    if (text == NULL) {
        PyErr_Clear();
        r = dup_text("(the traceback could not be formatted)\n", 39);
    }
    else {
        r = dup_str(text);
        Py_DECREF(text);
    }
    return r;
}

/* Write str(obj) and a newline to sys.stderr, as Python does for sys.exit("message"). */
static void print_exit_message(PyObject *obj)
{
    PyObject *err = PySys_GetObject("stderr");
    if (err != NULL && err != Py_None) {
        if (PyFile_WriteObject(obj, err, Py_PRINT_RAW) < 0 || PyFile_WriteString("\n", err) < 0) {
            PyErr_Clear();
        }
    }
}

static void capture_exception(ic_result *res)
{
    PyObject *exc = PyErr_GetRaisedException();
    if (exc == NULL) {
        return;
    }
    res->exc_type = type_name(exc);
    res->exc_message = dup_str(exc);
    if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit)) {
        res->status = IC_RUN_EXIT;
        PyObject *code = PyObject_GetAttrString(exc, "code");
        if (code == NULL) {
            PyErr_Clear();
            res->exit_code = 1;
        }
        else if (code == Py_None) {
            res->exit_code = 0;
        }
        else if (PyLong_Check(code)) {
            int overflow = 0;
            long v = PyLong_AsLongAndOverflow(code, &overflow);
            res->exit_code = overflow != 0 ? -1 : (int)v;
            PyErr_Clear();
        }
        else {
            print_exit_message(code);
            res->exit_code = 1;
        }
        Py_XDECREF(code);
    }
    else {
        res->status = IC_RUN_EXCEPTION;
        res->exit_code = 1;
        res->traceback = format_traceback(exc);
    }
    Py_DECREF(exc);
}

/* Swap sys.stdout/sys.stderr for StringIOs; returns the saved pair, or -1. */
static int capture_begin(PyObject **saved)
{
    PyObject *io = PyImport_ImportModule("io");
    if (io == NULL) {
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        const char *name = i == 0 ? "stdout" : "stderr";
        PyObject *buf = PyObject_CallMethod(io, "StringIO", NULL);
        if (buf == NULL) {
            Py_DECREF(io);
            return -1;
        }
        saved[i] = Py_XNewRef(PySys_GetObject(name));
        if (PySys_SetObject(name, buf) < 0) {
            Py_DECREF(buf);
            Py_DECREF(io);
            return -1;
        }
        Py_DECREF(buf);
    }
    Py_DECREF(io);
    return 0;
}

static void capture_end(PyObject **saved, ic_result *res)
{
    for (int i = 0; i < 2; i++) {
        const char *name = i == 0 ? "stdout" : "stderr";
        PyObject *buf = PySys_GetObject(name);
        PyObject *val = buf != NULL ? PyObject_CallMethod(buf, "getvalue", NULL) : NULL;
        Py_ssize_t n = 0;
        const char *u = val != NULL ? PyUnicode_AsUTF8AndSize(val, &n) : NULL;
        if (u == NULL) {
            PyErr_Clear();
            u = "";
            n = 0;
        }
        char *copy = dup_text(u, (size_t)n);
        if (i == 0) {
            res->out = copy;
            res->out_len = copy != NULL ? (size_t)n : 0;
        }
        else {
            res->err = copy;
            res->err_len = copy != NULL ? (size_t)n : 0;
        }
        Py_XDECREF(val);
        if (PySys_SetObject(name, saved[i] != NULL ? saved[i] : Py_None) < 0) {
            PyErr_Clear();
        }
        Py_CLEAR(saved[i]);
    }
}

static void flush_std_streams(void)
{
    for (int i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(i == 0 ? "stdout" : "stderr");
        if (f != NULL && f != Py_None) {
            PyObject *r = PyObject_CallMethod(f, "flush", NULL);
            Py_XDECREF(r);
            PyErr_Clear();
        }
    }
}

/* The kind of interrupt that came before the run could take it: set in *cancel by the
 * caller before the run began, or through ic_interrupt() before its thread state existed. */
static int early_interrupt(ic_interp *rec, uint64_t gen, const int *cancel)
{
    int kind = cancel != NULL ? __atomic_load_n(cancel, __ATOMIC_ACQUIRE) : 0;
    if (kind == 0 && atomic_load(&rec->intr_gen) != gen) {
        kind = atomic_load(&rec->intr_kind);
    }
    return kind;
}

int ic_run(int64_t id, const char *source, const char *filename, const char *prelude,
           int capture, const int *cancel, ic_result *res)
{
    memset(res, 0, sizeof(*res));
    ic_reg_lock();
    ic_interp *rec = ic_reg_find_locked(id);
    if (rec == NULL || rec->closing) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_NOTFOUND, "interpreter %lld does not exist (closed already?)",
                       (long long)id);
    }
    if (rec->running) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_BUSY, "interpreter '%s' is already running; a second run must "
                       "wait until the first ends", rec->name);
    }
    rec->running = 1;
    rec->runs++;
    rec->run_tid = PyThread_get_thread_ident();
    uint64_t gen = atomic_load(&rec->intr_gen);
    ic_reg_unlock();

    int rc = IC_OK;
    PyThreadState *ts = PyThreadState_New(rec->interp);
    if (ts == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "cannot make a thread state");
        goto done;
    }
    PyEval_RestoreThread(ts);
    double t0 = ic_now();
    ic_lent_drain(rec);
    PyObject *saved[2] = {NULL, NULL};
    int capturing = 0;
    if (capture) {
        if (capture_begin(saved) < 0) {
            rc = fail_from_python(IC_ERR_INTERNAL, "capturing output");
            Py_CLEAR(saved[0]);
            Py_CLEAR(saved[1]);
            goto detach;
        }
        capturing = 1;
    }
    PyObject *mainmod = PyImport_AddModule("__main__");
    PyObject *globals = mainmod != NULL ? PyModule_GetDict(mainmod) : NULL;
    if (globals == NULL) {
        capture_exception(res);
        goto finish;
    }
    int early = early_interrupt(rec, gen, cancel);
    if (early != 0) {
        PyErr_SetString(early == IC_INTR_TIMEOUT ? PyExc_TimeoutError : PyExc_KeyboardInterrupt,
                        "interrupted before the run began");
        capture_exception(res);
        goto finish;
    }
    if (prelude != NULL && prelude[0] != '\0') {
        PyObject *r = eval_source(prelude, "<interpcli prelude>", globals);
        if (r == NULL) {
            capture_exception(res);
            goto finish;
        }
        Py_DECREF(r);
    }
    PyObject *code = compile_source(source, filename);
    if (code == NULL) {
        capture_exception(res);
        goto finish;
    }
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    Py_DECREF(code);
    if (r == NULL) {
        capture_exception(res);
    }
    Py_XDECREF(r);
finish:
    if (capturing) {
        capture_end(saved, res);
    }
    else {
        flush_std_streams();
    }
    ic_lent_drain(rec);
    res->duration = ic_now() - t0;
detach:
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
done:
    ic_reg_lock();
    rec->running = 0;
    ic_reg_unlock();
    return rc;
}

void ic_result_clear(ic_result *res)
{
    free(res->exc_type);
    free(res->exc_message);
    free(res->traceback);
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof(*res));
}

int ic_interrupt(int64_t id, int kind)
{
    ic_reg_lock();
    ic_interp *rec = ic_reg_find_locked(id);
    if (rec == NULL || rec->closing) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_NOTFOUND, "interpreter %lld does not exist", (long long)id);
    }
    if (!rec->running || rec->home == NULL) {
        ic_reg_unlock();
        return IC_OK;
    }
    rec->pins++;
    unsigned long tid = rec->run_tid;
    ic_reg_unlock();

    PyThreadState *ts = PyThreadState_New(rec->interp);
    int rc = IC_OK;
    if (ts == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "cannot make a thread state");
    }
    else {
        PyEval_RestoreThread(ts);
        PyThreadState_SetAsyncExc(tid, kind == IC_INTR_TIMEOUT ? PyExc_TimeoutError
                                                               : PyExc_KeyboardInterrupt);
        atomic_store(&rec->intr_kind, kind);
        atomic_store(&rec->intr_tid, tid);
        atomic_fetch_add(&rec->intr_gen, 1);
        PyThreadState_Clear(ts);
        PyThreadState_DeleteCurrent();
    }
    ic_chan_wake_all();
    ic_reg_lock();
    rec->pins--;
    ic_reg_unlock();
    return rc;
}

static void fill_info(ic_interp *r, ic_info *out)
{
    out->id = r->id;
    out->isolated = r->isolated;
    out->running = r->running;
    out->runs = r->runs;
    strncpy(out->name, r->name, sizeof(out->name) - 1);
    out->name[sizeof(out->name) - 1] = '\0';
}

int ic_list(ic_info *out, int max)
{
    int n = 0;
    ic_reg_lock();
    for (ic_interp *r = ic_reg_head_locked(); r != NULL; r = r->next) {
        if (r->closing) {
            continue;
        }
        if (n < max) {
            fill_info(r, &out[n]);
        }
        n++;
    }
    ic_reg_unlock();
    return n;
}

int ic_get_info(int64_t id, ic_info *out)
{
    ic_reg_lock();
    ic_interp *r = ic_reg_find_locked(id);
    if (r == NULL || r->closing) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_NOTFOUND, "interpreter %lld does not exist", (long long)id);
    }
    fill_info(r, out);
    ic_reg_unlock();
    return IC_OK;
}
