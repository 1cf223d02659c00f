/* Running source in an interpreter from any OS thread, and carrying its outcome back as
 * plain C data (ic_result). ic_run is called with no thread state attached. */
#include "common.h"
#include <stdlib.h>
#include <string.h>

/* Compile UTF-8 source the way compile(str) does: the text is already decoded, so a
 * "coding:" cookie in it must not be applied a second time. */
static PyObject *compile_source(const char *source, const char *filename)
{
    PyCompilerFlags flags;
    memset(&flags, 0, sizeof(flags));
    flags.cf_flags = PyCF_IGNORE_COOKIE | PyCF_SOURCE_IS_UTF8;
    flags.cf_feature_version = PY_MINOR_VERSION;
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
        char *copy = ic_dup_text(u, (size_t)n);
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

/* Mark the run's evaluation (the interpreter's GIL held): ic_interrupt() aims at it
 * only between begin and end. */
static void eval_begin(ic_interp *rec, ic_cancel *cancel)
{
    rec->eval_token = cancel;
    rec->eval_tid = PyThread_get_thread_ident();
    rec->eval_active = 1;
}

/* Take back an asynchronous exception set on thread tid (the current thread) of the
 * current interpreter, fired or not. Not with PyThreadState_SetAsyncExc(tid, NULL) alone:
 * on 3.12 the eval breaker's "async exception" bit is the interpreter's and only raising
 * one resets it, so clearing leaves every later run of the interpreter checking it at each
 * call and loop turn (about 30% slower pure-Python code). Replace it with a marker and let
 * that fire in empty code. No exception may be set on entry; on return one is set only if
 * a signal handler raised it meanwhile (main thread of the main interpreter). */
void ic_take_async_exc(unsigned long tid)
{
    PyObject *marker = PyExc_SystemError;
    PyThreadState_SetAsyncExc(tid, marker);
    PyObject *code = Py_CompileString("pass", "<interpcli>", Py_file_input);
    PyObject *globals = code != NULL ? PyDict_New() : NULL;
    PyObject *r = globals != NULL ? PyEval_EvalCode(code, globals, globals) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(globals);
    Py_XDECREF(code);
    PyObject *exc = PyErr_GetRaisedException();
    if (exc != NULL && Py_IS_TYPE(exc, (PyTypeObject *)marker)) {
        Py_DECREF(exc);
        return;
    }
    PyThreadState_SetAsyncExc(tid, NULL);       /* it did not fire: at least clear it */
    if (exc != NULL && code != NULL && globals != NULL) {
        PyErr_SetRaisedException(exc);      /* a signal handler's */
    }
    else {
        Py_XDECREF(exc);
    }
}

static void eval_end(ic_interp *rec)
{
    rec->eval_active = 0;
    rec->eval_token = NULL;
    /* an interrupt that came as the code returned must not fire in what follows */
    if (rec->intr_armed) {
        rec->intr_armed = 0;
        ic_take_async_exc(rec->eval_tid);
    }
}

/* prelude then source in globals; the exception, if any, is left set */
static int eval_run(const char *source, const char *filename, const char *prelude,
                    PyObject *globals)
{
    if (prelude != NULL && prelude[0] != '\0') {
        PyObject *r = eval_source(prelude, "<interpcli prelude>", globals);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
    PyObject *r = eval_source(source, filename, globals);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

int ic_run(int64_t id, const char *source, const char *filename, const char *prelude,
           int capture, ic_cancel *cancel, ic_result *res)
{
    memset(res, 0, sizeof(*res));
    ic_reg_lock();
    ic_interp *rec;
    int found = ic_reg_usable_locked(id, &rec);
    if (found != IC_OK) {
        ic_reg_unlock();
        return found;
    }
    if (rec->running) {
        ic_reg_unlock();
        return ic_fail(IC_ERR_BUSY, "interpreter '%s' is already running; a second run must "
                       "wait until the first ends", rec->name);
    }
    rec->running = 1;
    rec->runs++;
    ic_reg_unlock();

    int rc = IC_OK;
    PyThreadState *ts = ic_tstate_new(rec);
    if (ts == NULL) {
        rc = ic_fail(IC_ERR_NOMEM, "cannot make a thread state");
        goto done;
    }
    PyEval_RestoreThread(ts);
    double t0 = ic_now();
    ic_adopt_main_thread(rec);
    ic_lent_drain(rec);
    PyObject *saved[2] = {NULL, NULL};
    int capturing = 0;
    if (capture) {
        if (capture_begin(saved) < 0) {
            rc = ic_fail_from_python(IC_ERR_INTERNAL, "capturing output");
            Py_CLEAR(saved[0]);
            Py_CLEAR(saved[1]);
            goto detach;
        }
        capturing = 1;
    }
    PyObject *mainmod = PyImport_AddModule("__main__");
    PyObject *globals = mainmod != NULL ? PyModule_GetDict(mainmod) : NULL;
    if (globals == NULL) {
        ic_capture_exception(res);
        goto finish;
    }
    eval_begin(rec, cancel);
    /* a stop asked for before the evaluation began: ic_interrupt() did not aim at it */
    int early = cancel != NULL ? atomic_load(&cancel->kind) : 0;
    if (early != 0) {
        PyErr_SetString(early == IC_INTR_TIMEOUT ? PyExc_TimeoutError : PyExc_KeyboardInterrupt,
                        "interrupted before the run began");
    }
    int failed = early != 0 || eval_run(source, filename, prelude, globals) < 0;
    PyObject *exc = failed ? PyErr_GetRaisedException() : NULL;
    eval_end(rec);
    PyObject *late = PyErr_GetRaisedException();       /* a signal handler's, as it ended */
    if (late != NULL) {
        if (exc != NULL) {
            PyException_SetContext(late, exc);
        }
        exc = late;
    }
    if (exc != NULL) {
        PyErr_SetRaisedException(exc);
        ic_capture_exception(res);
    }
finish:
    if (capturing) {
        capture_end(saved, res);
    }
    else {
        flush_std_streams();
    }
    ic_lent_drain(rec);
    res->duration = ic_now() - t0;
    ic_main_thread_run_end(rec);
detach:
    ic_tstate_delete_current(rec, ts);
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

