/* Lock waits a signal ends on an `interp run` script's main thread, as python's main thread
 * has them (CPython's own locks retry after a signal in a subinterpreter: their signal check
 * works only in the main thread of the main interpreter). The lock word is lockword.h's; a
 * contended wait parks on it (platform_wait.h).
 *
 * Ending a wait of the main thread (st->lock_main_tid): the waiter publishes the word it
 * waits on (st->lock_waiting), reads the word, then takes st->lock_pending; _lock_interrupt
 * (called by interpcli._signals_sub._deliver, under the same interpreter's GIL) sets
 * lock_pending, then bumps the published word. Sequentially consistent on both sides, one
 * of them sees the other: the waiter finds lock_pending set, or its word moved. The waiter
 * then calls the hook (st->lock_hook) with the GIL held: it runs the signal handlers and
 * raises what they raise (KeyboardInterrupt), and the acquire ends with that exception;
 * otherwise the wait goes on. A published word cannot be freed under _lock_interrupt: the
 * waiter holds a reference to its lock, and freeing one needs the GIL _lock_interrupt
 * holds. */
#include "common.h"
#include "lockword.h"
#include <errno.h>
#include <math.h>
#include <stddef.h>

#define PARK_MAX_S 86400.0      /* longest single park: longer waits park again */

enum { GOT = 1, TIMED_OUT = 0, SIGNALLED = 2 };

/* Park until l is taken (GOT), the deadline passes (TIMED_OUT; deadline 0: none) or, for
 * the main thread (st != NULL), a signal is pending (SIGNALLED). No GIL held. */
static int park(ic_lockword *l, double deadline, ic_modstate *st)
{
    int r = TIMED_OUT;
    atomic_fetch_add(&l->sleepers, 1);
    for (;;) {
        if (ic_lw_try_take(l)) {
            r = GOT;
            break;
        }
        if (st != NULL) {
            atomic_store(&st->lock_waiting, (void *)l);
        }
        unsigned int v = atomic_load(&l->word);
        if (st != NULL && atomic_exchange(&st->lock_pending, 0)) {
            r = SIGNALLED;
            break;
        }
        if (!(v & IC_LW_HELD)) {
            continue;
        }
        struct timespec rel, *relp = NULL;
        if (deadline > 0) {
            double left = deadline - ic_now();
            if (left <= 0) {
                r = ic_lw_try_take(l) ? GOT : TIMED_OUT;
                break;
            }
            if (left > PARK_MAX_S) {
                left = PARK_MAX_S;
            }
            rel.tv_sec = (time_t)left;
            rel.tv_nsec = (long)((left - (double)rel.tv_sec) * 1e9);
            relp = &rel;
        }
        (void)ic_word_wait(&l->word, v, relp);   /* woken, moved, timed out or EINTR: look again */
    }
    if (st != NULL) {
        atomic_store(&st->lock_waiting, NULL);
    }
    atomic_fetch_sub(&l->sleepers, 1);
    return r;
}

int ic_lw_take(PyObject *self, ic_lockword *l, double timeout)
{
    if (ic_lw_try_take(l)) {
        return 1;
    }
    if (timeout == 0) {
        return 0;
    }
    double deadline = timeout > 0 ? ic_now() + timeout : 0;
    /* by definition, not type: a Python subclass of RLock has no module of its own */
    PyObject *module = PyType_GetModuleByDef(Py_TYPE(self), &ic_moduledef);
    ic_modstate *st = module != NULL ? PyModule_GetState(module) : NULL;
    if (st == NULL) {
        PyErr_Clear();
    }
    for (;;) {
        ic_modstate *main = st != NULL && st->lock_hook != NULL
                                    && atomic_load(&st->lock_main_tid) == PyThread_get_thread_ident()
                                ? st : NULL;
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = park(l, deadline, main);
        Py_END_ALLOW_THREADS
        if (r != SIGNALLED) {
            return r;
        }
        PyObject *hook = Py_NewRef(main->lock_hook);
        PyObject *res = PyObject_CallNoArgs(hook);
        Py_DECREF(hook);
        if (res == NULL) {
            /* raised by the acquire itself, as CPython's: the hook's frames are not shown */
            PyObject *exc = PyErr_GetRaisedException();
            if (exc != NULL && PyException_SetTraceback(exc, Py_None) < 0) {
                PyErr_Clear();
            }
            PyErr_SetRaisedException(exc);
            return -1;
        }
        Py_DECREF(res);
        if (ic_lw_try_take(l)) {
            return 1;
        }
        if (deadline > 0 && ic_now() >= deadline) {
            return 0;
        }
    }
}

int ic_lw_acquire_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                        const char *fname, double *timeout)
{
    PyObject *blocking_o = NULL, *timeout_o = NULL;
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most 2 arguments (%zd given)", fname,
                     nargs + nkw);
        return -1;
    }
    if (nargs > 0) {
        blocking_o = args[0];
    }
    if (nargs > 1) {
        timeout_o = args[1];
    }
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);
        PyObject **slot = PyUnicode_CompareWithASCIIString(key, "blocking") == 0  ? &blocking_o
                          : PyUnicode_CompareWithASCIIString(key, "timeout") == 0 ? &timeout_o
                                                                                  : NULL;
        if (slot == NULL) {
#if PY_VERSION_HEX < 0x030D0000
            PyErr_Format(PyExc_TypeError, "'%U' is an invalid keyword argument for %s()", key,
                         fname);
#else
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         fname, key);
#endif
            return -1;
        }
        if (*slot != NULL) {
            PyErr_Format(PyExc_TypeError, "argument for %s() given by name ('%U') and "
                         "position", fname, key);
            return -1;
        }
        *slot = args[nargs + i];
    }
    int blocking = 1;
    if (blocking_o != NULL && (blocking = PyObject_IsTrue(blocking_o)) < 0) {
        return -1;
    }
    double t = -1;
    if (timeout_o != NULL) {
#if PY_VERSION_HEX >= 0x030F0000
        /* 3.15 takes any real number (__float__: Fraction, Decimal) */
        int as_float = PyFloat_Check(timeout_o) || !PyIndex_Check(timeout_o);
#else
        int as_float = PyFloat_Check(timeout_o);
#endif
        if (as_float) {
            t = PyFloat_AsDouble(timeout_o);    /* 3.15's TypeError: "must be real number" */
            if (t == -1 && PyErr_Occurred()) {
                return -1;
            }
            if (isnan(t)) {
                PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
                return -1;
            }
        }
        else {
            PyObject *n = PyNumber_Index(timeout_o);    /* 3.12 and 3.13's TypeError */
            if (n == NULL) {
#if PY_VERSION_HEX >= 0x030E0000
                if (PyErr_ExceptionMatches(PyExc_TypeError)) {
                    PyErr_Format(PyExc_TypeError,
                                 "'%T' object cannot be interpreted as an integer or float",
                                 timeout_o);
                }
#endif
                return -1;
            }
            t = PyLong_AsDouble(n);
            Py_DECREF(n);
            if (t == -1 && PyErr_Occurred()) {
                PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
                return -1;
            }
        }
    }
    if (!blocking && t != -1) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return -1;
    }
    if (t < 0 && t != -1) {
#if PY_VERSION_HEX < 0x030D0000
        PyErr_SetString(PyExc_ValueError, "timeout value must be positive");   /* 3.12's words */
#else
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
#endif
        return -1;
    }
    if (!blocking) {
        t = 0;
    }
    else if (t > 0 && t * 1e6 > (double)PY_TIMEOUT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return -1;
    }
    *timeout = t;
    return 0;
}

void ic_lw_take_uninterrupted(ic_lockword *l)
{
    if (!ic_lw_try_take(l)) {
        Py_BEGIN_ALLOW_THREADS
        (void)park(l, 0, NULL);
        Py_END_ALLOW_THREADS
    }
}

/* ---------------- module functions ---------------- */

static PyObject *mod_lock_setup(PyObject *module, PyObject *hook)
{
    ic_modstate *st = PyModule_GetState(module);
    if (!PyCallable_Check(hook)) {
        PyErr_SetString(PyExc_TypeError, "the hook must be callable");
        return NULL;
    }
    Py_XSETREF(st->lock_hook, Py_NewRef(hook));
    atomic_store(&st->lock_main_tid, PyThread_get_thread_ident());
    Py_RETURN_NONE;
}

/* A signal (or an asynchronous exception) is pending for st's main thread: end its lock
 * wait. Whether it was waiting on a lock. The interpreter's GIL held. */
static int interrupt_main(ic_modstate *st)
{
    atomic_store(&st->lock_pending, 1);
    ic_lockword *l = atomic_load(&st->lock_waiting);
    if (l == NULL) {
        return 0;
    }
    atomic_fetch_add(&l->word, IC_LW_BUMP);
    ic_word_wake_all(&l->word);
    return 1;
}

static PyObject *mod_lock_interrupt(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(interrupt_main(PyModule_GetState(module)));
}

static PyMethodDef lock_functions[] = {
    {"_lock_setup", mod_lock_setup, METH_O,
     "_lock_setup(hook)\n--\n\nThe calling thread is the script's main thread: a signal "
     "ends its lock waits, which then call hook() (it runs the handlers; what it raises "
     "ends the acquire)."},
    {"_lock_interrupt", mod_lock_interrupt, METH_NOARGS,
     "_lock_interrupt()\n--\n\nA signal is pending for the main thread: end its lock wait. "
     "True when it was waiting on a lock."},
    {NULL, NULL, 0, NULL},
};

int ic_lockwait_init(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
    atomic_init(&st->lock_waiting, NULL);
    atomic_init(&st->lock_pending, 0);
    atomic_init(&st->lock_main_tid, 0);
    st->lock_hook = NULL;
    return PyModule_AddFunctions(module, lock_functions);
}
