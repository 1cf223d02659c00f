/* The C side of the warm spare (interpcli/_spare.py): an isolated interpreter made ahead
 * of time, unlisted and nameless until create() takes it, and a snapshot of what a new
 * interpreter reads from the process when it is made (the environment, the current
 * directory), so a spare made before either changed is never handed out. Main only. */
#include "common.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int ic_take_spare(int64_t id, const char *name)
{
    if (strlen(name) > IC_NAME_MAX) {
        return ic_fail(IC_ERR_CREATE, "interpreter name longer than %d bytes", IC_NAME_MAX);
    }
    char *copy = strdup(name);
    if (copy == NULL) {
        return ic_fail(IC_ERR_NOMEM, "out of memory");
    }
    ic_reg_lock();
    ic_interp *rec = ic_reg_spare_locked(id);
    if (rec == NULL) {
        ic_reg_unlock();
        free(copy);
        return ic_fail(IC_ERR_NOTFOUND, "no spare interpreter %lld", (long long)id);
    }
    if (ic_reg_name_taken_locked(name)) {
        ic_reg_unlock();
        free(copy);
        return ic_fail(IC_ERR_BUSY, "an interpreter named '%s' exists already", name);
    }
    /* nobody reads a spare's name: it is unlisted and only this thread holds its id */
    char *old = rec->name;
    rec->name = copy;
    rec->spare = 0;
    ic_reg_unlock();
    free(old);
    return IC_OK;
}

static PyObject *mod_create_spare(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    int strict = 1;
    if (!PyArg_ParseTuple(args, "|p:_create_spare", &strict)) {
        return NULL;
    }
    if (ic_refuse_outside_main(st, "creating interpreters") < 0) {
        return NULL;
    }
    int64_t id = -1;
    int rc = ic_create(1, strict, "", 1, &id);
    if (rc != IC_OK) {
        return ic_raise_core(st, rc);
    }
    return PyLong_FromLongLong(id);
}

static PyObject *mod_take_spare(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id;
    const char *name;
    if (!PyArg_ParseTuple(args, "Ls:_take_spare", &id, &name)) {
        return NULL;
    }
    if (ic_refuse_outside_main(st, "creating interpreters") < 0) {
        return NULL;
    }
    int rc = ic_take_spare(id, name);
    if (rc != IC_OK) {
        return ic_raise_core(st, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *mod_destroy_spare(PyObject *module, PyObject *arg)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (ic_refuse_outside_main(st, "closing interpreters") < 0) {
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ic_destroy_spare(id);
    Py_END_ALLOW_THREADS
    if (rc != IC_OK) {
        return ic_raise_core(st, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *mod_spares(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    ic_reg_lock();
    for (ic_interp *r = ic_reg_head_locked(); r != NULL; r = r->next) {
        if (!r->spare || r->starting || r->closing) {
            continue;
        }
        PyObject *id = PyLong_FromLongLong(r->id);
        if (id == NULL || PyList_Append(list, id) < 0) {
            Py_XDECREF(id);
            ic_reg_unlock();
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(id);
    }
    ic_reg_unlock();
    return list;
}

/* The process environment (environ, which os.environ writes through) and the current
 * directory, as one bytes object: equal snapshots mean a new interpreter reads the same. */
static PyObject *mod_env_snapshot(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    size_t n = 0;
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        n += strlen(*e) + 1;
    }
    size_t cap = 256;
    char *cwd = NULL;
    while (1) {
        char *grown = realloc(cwd, cap);
        if (grown == NULL) {
            free(cwd);
            return PyErr_NoMemory();
        }
        cwd = grown;
        if (getcwd(cwd, cap) != NULL) {
            break;
        }
        if (errno != ERANGE) {      /* removed, or unreadable: note why */
            snprintf(cwd, cap, "\001errno %d", errno);
            break;
        }
        cap *= 2;
    }
    size_t clen = strlen(cwd);
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n + 1 + clen));
    if (out == NULL) {
        free(cwd);
        return NULL;
    }
    char *p = PyBytes_AS_STRING(out);
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        size_t len = strlen(*e) + 1;
        if ((size_t)(p - PyBytes_AS_STRING(out)) + len > n) {
            break;          /* cannot happen with the GIL held: nobody changed it */
        }
        memcpy(p, *e, len);
        p += len;
    }
    size_t used = (size_t)(p - PyBytes_AS_STRING(out));
    memset(p, 0, n - used);
    p = PyBytes_AS_STRING(out) + n;
    *p++ = '\002';
    memcpy(p, cwd, clen);
    free(cwd);
    return out;
}

static PyMethodDef spare_methods[] = {
    {"_create_spare", mod_create_spare, METH_VARARGS,
     "_create_spare(strict=True)\n--\n\nCreate an isolated interpreter as a spare (unlisted, "
     "nameless); return its id. Main only."},
    {"_take_spare", mod_take_spare, METH_VARARGS,
     "_take_spare(id, name)\n--\n\nMake the spare an ordinary interpreter named name. Main "
     "only."},
    {"_destroy_spare", mod_destroy_spare, METH_O,
     "_destroy_spare(id)\n--\n\nEnd a spare that was never taken. Main only."},
    {"_spares", mod_spares, METH_NOARGS, "The ids of the spares made and not taken."},
    {"_env_snapshot", mod_env_snapshot, METH_NOARGS,
     "The process environment and current directory, as bytes."},
    {NULL, NULL, 0, NULL},
};

int ic_spare_init(PyObject *module)
{
    return PyModule_AddFunctions(module, spare_methods);
}
