/* The core module's functions that create, run, interrupt and end interpreters (main
 * interpreter only), and RunToken, the stop handle of one run: thin wrappers that check
 * arguments, release the caller's GIL around the lifecycle calls (lifecycle.c, run.c)
 * and turn their IC_ERR_* codes into the module's exceptions. */
#include "common.h"
#include <stdlib.h>
#include <string.h>

/* ---------------- run tokens ---------------- */

/* A run's stop request and token (ic_cancel), in raw memory read by the run's thread. */
typedef struct {
    PyObject_HEAD
    ic_cancel *c;
} TokenObject;

static PyObject *token_new(PyTypeObject *tp, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "RunToken() takes no arguments");
        return NULL;
    }
    TokenObject *self = (TokenObject *)tp->tp_alloc(tp, 0);
    if (self == NULL) {
        return NULL;
    }
    self->c = calloc(1, sizeof(ic_cancel));
    if (self->c == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void token_dealloc(TokenObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    free(self->c);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *token_stop(TokenObject *self, PyObject *arg)
{
    long kind = PyLong_AsLong(arg);
    if (kind == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (kind != IC_INTR_KEYBOARD && kind != IC_INTR_TIMEOUT) {
        PyErr_SetString(PyExc_ValueError, "kind must be INTR_KEYBOARD or INTR_TIMEOUT");
        return NULL;
    }
    atomic_store(&self->c->kind, (int)kind);
    Py_RETURN_NONE;
}

static PyMethodDef token_methods[] = {
    {"stop", (PyCFunction)token_stop, METH_O,
     "stop(kind)\n--\n\nMark the run to stop with kind before it begins (interrupt() stops "
     "it once it has)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot token_slots[] = {
    {Py_tp_new, token_new},
    {Py_tp_dealloc, token_dealloc},
    {Py_tp_methods, token_methods},
    {Py_tp_doc, "RunToken()\n--\n\nNames one run for _run() and _interrupt()."},
    {0, NULL},
};

static PyType_Spec token_spec = {
    .name = "interpcli.RunToken",
    .basicsize = sizeof(TokenObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = token_slots,
};

/* A RunToken argument (or None) as the ic_cancel it holds; -1 with TypeError otherwise. */
static int token_arg(ic_modstate *st, PyObject *token, ic_cancel **out)
{
    *out = NULL;
    if (token == Py_None) {
        return 0;
    }
    if (!PyObject_TypeCheck(token, st->cancel_type)) {
        PyErr_SetString(PyExc_TypeError, "token must be a RunToken or None");
        return -1;
    }
    *out = ((TokenObject *)token)->c;
    return 0;
}

/* ---------------- errors ---------------- */

PyObject *ic_raise_core(ic_modstate *st, int rc)
{
    const char *msg = ic_errmsg();
    PyObject *tp;
    switch (rc) {
    case IC_ERR_NOTFOUND:
        tp = st->InterpreterNotFoundError;
        break;
    case IC_ERR_BUSY:
    case IC_ERR_THREADS:
        tp = st->InterpreterBusyError;
        break;
    case IC_ERR_NOMEM:
        tp = PyExc_MemoryError;
        break;
    default:
        tp = st->InterpreterError;
    }
    PyErr_SetString(tp, msg);
    return NULL;
}

int ic_refuse_outside_main(ic_modstate *st, const char *what)
{
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_Format(st->InterpreterError, "%s is only possible from the main interpreter; "
                     "inside a subinterpreter use channels, list_all() and get_current()",
                     what);
        return -1;
    }
    return 0;
}

static PyObject *mod_create(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    int isolated, strict = -1;
    const char *name;
    if (!PyArg_ParseTuple(args, "ps|p:_create", &isolated, &name, &strict)) {
        return NULL;
    }
    if (ic_refuse_outside_main(st, "creating interpreters") < 0) {
        return NULL;
    }
    int64_t id = -1;
    int rc = ic_create(isolated, strict < 0 ? isolated : strict, name, 0, &id);
    if (rc != IC_OK) {
        return ic_raise_core(st, rc);
    }
    return PyLong_FromLongLong(id);
}

static PyObject *mod_destroy(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id;
    int force = 0;
    double join_timeout = -1;
    if (!PyArg_ParseTuple(args, "L|pd:_destroy", &id, &force, &join_timeout)) {
        return NULL;
    }
    if (ic_refuse_outside_main(st, "closing interpreters") < 0) {
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ic_destroy(id, force, join_timeout);
    Py_END_ALLOW_THREADS
    if (rc != IC_OK) {
        return ic_raise_core(st, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *text_or_none(const char *s, Py_ssize_t n)
{
    if (s == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_DecodeUTF8(s, n < 0 ? (Py_ssize_t)strlen(s) : n, "replace");
}

static PyObject *mod_run(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id;
    const char *source, *filename, *prelude = NULL;
    int capture = 0;
    PyObject *prelude_obj = Py_None, *token = Py_None;
    if (!PyArg_ParseTuple(args, "Lyy|OpO:_run", &id, &source, &filename, &prelude_obj,
                          &capture, &token)) {
        return NULL;
    }
    if (prelude_obj != Py_None && (prelude = PyBytes_AsString(prelude_obj)) == NULL) {
        return NULL;
    }
    if (ic_refuse_outside_main(st, "running code in interpreters") < 0) {
        return NULL;
    }
    ic_cancel *cancel;
    if (token_arg(st, token, &cancel) < 0) {
        return NULL;
    }
    ic_result res;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ic_run(id, source, filename, prelude, capture, cancel, &res);
    Py_END_ALLOW_THREADS
    if (rc != IC_OK) {
        ic_result_clear(&res);
        return ic_raise_core(st, rc);
    }
    PyObject *out = Py_BuildValue(
        "(iNNNNNd)", res.exit_code, text_or_none(res.exc_type, -1),
        text_or_none(res.exc_message, -1), text_or_none(res.traceback, -1),
        capture ? text_or_none(res.out, (Py_ssize_t)res.out_len) : Py_NewRef(Py_None),
        capture ? text_or_none(res.err, (Py_ssize_t)res.err_len) : Py_NewRef(Py_None),
        res.duration);
    ic_result_clear(&res);
    return out;
}

static PyObject *mod_interrupt(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id;
    int kind;
    PyObject *token = Py_None;
    if (!PyArg_ParseTuple(args, "Li|O:_interrupt", &id, &kind, &token)) {
        return NULL;
    }
    if (kind != IC_INTR_KEYBOARD && kind != IC_INTR_TIMEOUT) {
        PyErr_SetString(PyExc_ValueError, "kind must be INTR_KEYBOARD or INTR_TIMEOUT");
        return NULL;
    }
    ic_cancel *cancel;
    if (token_arg(st, token, &cancel) < 0) {
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ic_interrupt(id, kind, cancel);
    Py_END_ALLOW_THREADS
    if (rc != IC_OK) {
        return ic_raise_core(st, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *mod_close_all_channels(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    Py_BEGIN_ALLOW_THREADS
    ic_close_all_channels();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef call_methods[] = {
    {"_create", mod_create, METH_VARARGS,
     "_create(isolated, name, strict=isolated)\n--\n\nCreate an interpreter; return its id. "
     "strict: no daemon threads, no os.exec*(). Main only."},
    {"_destroy", mod_destroy, METH_VARARGS,
     "_destroy(id, force=False, join_timeout=-1)\n--\n\nEnd an interpreter interpcli made. "
     "Main only."},
    {"_run", mod_run, METH_VARARGS,
     "_run(id, source, filename, prelude=None, capture=False, token=None)\n--\n\nRun in the "
     "calling thread; return (exit_code, exc_type, exc_message, traceback, stdout, "
     "stderr, duration). Main only."},
    {"_interrupt", mod_interrupt, METH_VARARGS,
     "_interrupt(id, kind, token=None)\n--\n\nInterrupt the run named by token (any run "
     "when None) if it is evaluating."},
    {"_close_all_channels", mod_close_all_channels, METH_NOARGS,
     "Close the send side of every channel (at exit)."},
    {NULL, NULL, 0, NULL},
};

int ic_calls_init(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
    st->cancel_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &token_spec, NULL);
    if (st->cancel_type == NULL || PyModule_AddType(module, st->cancel_type) < 0) {
        return -1;
    }
    return PyModule_AddFunctions(module, call_methods);
}
