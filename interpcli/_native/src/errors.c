/* Thread-local error text for the plain-C interface, and small text helpers. */
#include "common.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static IC_THREAD_LOCAL char errbuf[1024];

int ic_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
    va_end(ap);
    return code;
}

const char *ic_errmsg(void)
{
    return errbuf;
}

char *ic_dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *ic_dup_str(PyObject *obj)
{
    PyObject *s = PyObject_Str(obj);
    if (s == NULL) {
        PyErr_Clear();
        return ic_dup_text("<unprintable>", 13);
    }
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    char *r;
    if (u == NULL) {
        PyErr_Clear();
        r = ic_dup_text("<unprintable>", 13);
    }
    else {
        r = ic_dup_text(u, (size_t)n);
    }
    Py_DECREF(s);
    return r;
}

int ic_fail_from_python(int code, const char *what)
{
    PyObject *exc = PyErr_GetRaisedException();
    char *msg = exc != NULL ? ic_dup_str(exc) : NULL;
    PyObject *tname = exc != NULL ? PyType_GetName(Py_TYPE(exc)) : NULL;
    char *tn = tname != NULL ? ic_dup_str(tname) : NULL;
    PyErr_Clear();
    ic_fail(code, "%s: %s: %s", what, tn != NULL ? tn : "error", msg != NULL ? msg : "");
    free(tn);
    free(msg);
    Py_XDECREF(tname);
    Py_XDECREF(exc);
    return code;
}
