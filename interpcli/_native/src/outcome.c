/* A run's uncaught exception carried back as plain C data (ic_result): the type's
 * qualified name, the message, the formatted traceback, SystemExit's code. */
#include "common.h"
#include <stdlib.h>
#include <string.h>

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
    char *r = full != NULL ? ic_dup_str(full) : ic_dup_text(tp->tp_name, strlen(tp->tp_name));
    Py_XDECREF(full);
    Py_XDECREF(qual);
    Py_XDECREF(mod);
    return r;
}

static int append_text(PyObject *parts, PyObject *text)
{
    int rc = text != NULL ? PyList_Append(parts, text) : -1;
    Py_XDECREF(text);
    return rc;
}

/* The traceback without the traceback module (the script cleared sys.modules or replaced
 * __import__, so it cannot be imported): each frame's file, line and function, then the
 * exception's type and message, as Python's own fallback prints them. NULL on failure. */
static char *plain_traceback(PyObject *exc)
{
    PyObject *parts = PyList_New(0);
    if (parts == NULL) {
        PyErr_Clear();
        return NULL;
    }
    int ok = 1;
    PyObject *tb = PyException_GetTraceback(exc);
    if (tb != NULL && tb != Py_None) {
        ok = append_text(parts, PyUnicode_FromString("Traceback (most recent call last):\n")) == 0;
    }
    int depth = 0;
    while (ok && tb != NULL && tb != Py_None && depth++ < 10000) {
        PyObject *frame = PyObject_GetAttrString(tb, "tb_frame");
        PyObject *lineno = PyObject_GetAttrString(tb, "tb_lineno");
        PyObject *code = frame != NULL ? PyObject_GetAttrString(frame, "f_code") : NULL;
        PyObject *file = code != NULL ? PyObject_GetAttrString(code, "co_filename") : NULL;
        PyObject *name = code != NULL ? PyObject_GetAttrString(code, "co_name") : NULL;
        if (lineno != NULL && file != NULL && name != NULL) {
            ok = append_text(parts, PyUnicode_FromFormat("  File \"%S\", line %S, in %S\n",
                                                         file, lineno, name)) == 0;
        }
        else {
            ok = 0;
        }
        Py_XDECREF(frame);
        Py_XDECREF(lineno);
        Py_XDECREF(code);
        Py_XDECREF(file);
        Py_XDECREF(name);
        PyObject *next = ok ? PyObject_GetAttrString(tb, "tb_next") : NULL;
        Py_DECREF(tb);
        tb = next;
        ok = ok && tb != NULL;
    }
    Py_XDECREF(tb);
    char *tname = ok ? type_name(exc) : NULL;
    if (tname != NULL) {
        PyObject *msg = PyObject_Str(exc);
        if (msg == NULL) {
            PyErr_Clear();
            msg = PyUnicode_FromString("<exception str() failed>");
        }
        if (msg != NULL && PyUnicode_GetLength(msg) > 0) {
            ok = append_text(parts, PyUnicode_FromFormat("%s: %U\n", tname, msg)) == 0;
        }
        else {
            ok = msg != NULL && append_text(parts, PyUnicode_FromFormat("%s\n", tname)) == 0;
        }
        Py_XDECREF(msg);
        free(tname);
    }
    else {
        ok = 0;
    }
    PyObject *empty = ok ? PyUnicode_FromString("") : NULL;
    PyObject *text = empty != NULL ? PyUnicode_Join(empty, parts) : NULL;
    Py_XDECREF(empty);
    Py_DECREF(parts);
    char *r = text != NULL ? ic_dup_str(text) : NULL;
    Py_XDECREF(text);
    PyErr_Clear();
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
        r = plain_traceback(exc);
        if (r == NULL) {
            r = ic_dup_text("(the traceback could not be formatted)\n", 39);
        }
    }
    else {
        r = ic_dup_str(text);
        Py_DECREF(text);
    }
    return r;
}

/* In an `interp run` script's interpreter: the frames of the functions that stand in for
 * the stdlib's signal functions and waits taken out of the traceback
 * (interpcli._signals_sub._trim_traceback), so that it shows what python's would. */
static void trim_traceback(PyObject *exc)
{
    PyObject *mod = ic_signals_sub();
    if (mod != NULL) {
        PyObject *r = PyObject_CallMethod(mod, "_trim_traceback", "O", exc);
        Py_XDECREF(r);
        Py_DECREF(mod);
    }
    PyErr_Clear();
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

void ic_capture_exception(ic_result *res)
{
    PyObject *exc = PyErr_GetRaisedException();
    if (exc == NULL) {
        return;
    }
    res->exc_type = type_name(exc);
    res->exc_message = ic_dup_str(exc);
    if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit)) {
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
        res->exit_code = 1;
        trim_traceback(exc);
        res->traceback = format_traceback(exc);
    }
    Py_DECREF(exc);
}
