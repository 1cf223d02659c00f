/* Locks for `interp run` scripts: `_thread.lock` and `_thread.RLock` as CPython has them
 * (same methods, arguments, errors and reprs), made of a lock word (lockword.h) whose wait
 * a signal ends on the script's main thread (lockwait.c), as python's does on its main
 * thread. interpcli._signals_locks puts these in place of _thread's in the script's
 * interpreter. Uncontended, acquire is one compare-and-swap and release one atomic
 * and-then-load, as CPython's PyMutex. */
#include "common.h"
#include "lockword.h"
#include <stddef.h>

typedef struct {
    PyObject_HEAD
    ic_lockword lw;
    PyObject *weakrefs;
} LockObject;

typedef struct {
    PyObject_HEAD
    ic_lockword lw;
    PyObject *weakrefs;
    unsigned long owner;        /* thread ident of the holder (0: none); under the GIL */
    unsigned long count;        /* recursion count; under the GIL */
} RLockObject;

static PyObject *ic_lw_result(int r)
{
    if (r < 0) {
        return NULL;
    }
    return PyBool_FromLong(r);
}

/* ---------------- lock ---------------- */

static PyObject *lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if ((args != NULL && PyTuple_GET_SIZE(args) != 0)
        || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "lock() takes no arguments");
        return NULL;
    }
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    LockObject *self = (LockObject *)alloc(type, 0);
    if (self != NULL) {
        atomic_init(&self->lw.word, 0);
        atomic_init(&self->lw.sleepers, 0);
        self->weakrefs = NULL;
    }
    return (PyObject *)self;
}

static void lock_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (((LockObject *)self)->weakrefs != NULL) {    /* the same offset in both types */
        PyObject_ClearWeakRefs(self);
    }
    freefunc free_fn = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    free_fn(self);
    Py_DECREF(tp);
}

static PyObject *lock_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    LockObject *lk = (LockObject *)self;
    if (nargs == 0 && kwnames == NULL && ic_lw_try_take(&lk->lw)) {
        Py_RETURN_TRUE;
    }
    double timeout;
    if (ic_lw_acquire_args(args, nargs, kwnames, "acquire", &timeout) < 0) {
        return NULL;
    }
    return ic_lw_result(ic_lw_take(self, &lk->lw, timeout));
}

static PyObject *lock_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    LockObject *lk = (LockObject *)self;
    if (ic_lw_try_take(&lk->lw)) {
        Py_RETURN_TRUE;
    }
    return ic_lw_result(ic_lw_take(self, &lk->lw, -1));
}

static PyObject *lock_release(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    LockObject *lk = (LockObject *)self;
    if (!ic_lw_held(&lk->lw)) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    ic_lw_give(&lk->lw);
    Py_RETURN_NONE;
}

static PyObject *lock_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return lock_release(self, NULL);
}

static PyObject *lock_locked(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(ic_lw_held(&((LockObject *)self)->lw));
}

static PyObject *lock_at_fork_reinit(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    LockObject *lk = (LockObject *)self;
    atomic_store(&lk->lw.word, 0);
    atomic_store(&lk->lw.sleepers, 0);
    Py_RETURN_NONE;
}

static PyObject *lock_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<%s %s object at %p>",
                                ic_lw_held(&((LockObject *)self)->lw) ? "locked" : "unlocked",
                                Py_TYPE(self)->tp_name, self);
}

#define ACQUIRE_DOC(name) \
    name "(blocking=True, timeout=-1)\n--\n\nLock the lock; with blocking false, only if " \
    "it is free at once; with a timeout, waiting at most that many seconds. Returns True " \
    "when the lock was taken. A signal's handler interrupts the wait on the main thread."

static PyMethodDef lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))lock_acquire, METH_FASTCALL | METH_KEYWORDS,
     ACQUIRE_DOC("acquire")},
    {"acquire_lock", (PyCFunction)(void (*)(void))lock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "An obsolete synonym of acquire()."},
    {"__enter__", lock_enter, METH_NOARGS, "Lock the lock (acquire())."},
    {"release", lock_release, METH_NOARGS,
     "release()\n--\n\nRelease the lock (any thread may); RuntimeError when unlocked."},
    {"release_lock", lock_release, METH_NOARGS, "An obsolete synonym of release()."},
    {"__exit__", (PyCFunction)(void (*)(void))lock_exit, METH_FASTCALL,
     "Release the lock (release())."},
    {"locked", lock_locked, METH_NOARGS, "locked()\n--\n\nWhether the lock is held."},
    {"locked_lock", lock_locked, METH_NOARGS, "An obsolete synonym of locked()."},
    {"_at_fork_reinit", lock_at_fork_reinit, METH_NOARGS, "Unlocked again (after a fork)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef lock_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(LockObject, weakrefs), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyMemberDef rlock_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(RLockObject, weakrefs), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot lock_slots[] = {
    {Py_tp_new, lock_new},
    {Py_tp_members, lock_members},
    {Py_tp_dealloc, lock_dealloc},
    {Py_tp_repr, lock_repr},
    {Py_tp_methods, lock_methods},
    {Py_tp_doc, "A mutual exclusion lock, released by any thread (threading.Lock)."},
    {0, NULL},
};

static PyType_Spec lock_spec = {
    .name = "_thread.lock",
    .basicsize = sizeof(LockObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = lock_slots,
};

/* ---------------- RLock ---------------- */

static PyObject *rlock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;       /* CPython's RLock ignores its arguments too */
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    RLockObject *self = (RLockObject *)alloc(type, 0);
    if (self != NULL) {
        atomic_init(&self->lw.word, 0);
        atomic_init(&self->lw.sleepers, 0);
        self->weakrefs = NULL;
        self->owner = 0;
        self->count = 0;
    }
    return (PyObject *)self;
}

static int rlock_is_mine(RLockObject *self, unsigned long me)
{
    return self->count > 0 && self->owner == me;
}

static PyObject *rlock_take(PyObject *self, double timeout)
{
    RLockObject *rl = (RLockObject *)self;
    unsigned long me = PyThread_get_thread_ident();
    if (rlock_is_mine(rl, me)) {
        if (rl->count == (unsigned long)-1) {
            PyErr_SetString(PyExc_OverflowError, "Internal lock count overflowed");
            return NULL;
        }
        rl->count++;
        Py_RETURN_TRUE;
    }
    int r = ic_lw_try_take(&rl->lw) ? 1 : ic_lw_take(self, &rl->lw, timeout);
    if (r == 1) {
        rl->owner = me;
        rl->count = 1;
    }
    return ic_lw_result(r);
}

static PyObject *rlock_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    double timeout = -1;
    if ((nargs != 0 || kwnames != NULL)
        && ic_lw_acquire_args(args, nargs, kwnames, "acquire", &timeout) < 0) {
        return NULL;
    }
    return rlock_take(self, timeout);
}

static PyObject *rlock_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return rlock_take(self, -1);
}

static PyObject *rlock_release(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    RLockObject *rl = (RLockObject *)self;
    if (!rlock_is_mine(rl, PyThread_get_thread_ident())) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    if (--rl->count == 0) {
        rl->owner = 0;
        ic_lw_give(&rl->lw);
    }
    Py_RETURN_NONE;
}

static PyObject *rlock_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return rlock_release(self, NULL);
}

static PyObject *rlock_locked(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(((RLockObject *)self)->count > 0);
}

static PyObject *rlock_release_save(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    RLockObject *rl = (RLockObject *)self;
    if (rl->count == 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    PyObject *saved = Py_BuildValue("(kk)", rl->count, rl->owner);
    if (saved == NULL) {
        return NULL;
    }
    rl->count = 0;
    rl->owner = 0;
    ic_lw_give(&rl->lw);
    return saved;
}

/* Condition.wait's re-acquire: not interrupted (as CPython's), so that the condition's
 * lock is held again whatever the wait raised. */
static PyObject *rlock_acquire_restore(PyObject *self, PyObject *state)
{
    RLockObject *rl = (RLockObject *)self;
    unsigned long count, owner;
    if (!PyArg_ParseTuple(state, "kk:_acquire_restore", &count, &owner)) {
        return NULL;
    }
    ic_lw_take_uninterrupted(&rl->lw);
    rl->owner = owner;
    rl->count = count;
    Py_RETURN_NONE;
}

static PyObject *rlock_is_owned(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(rlock_is_mine((RLockObject *)self, PyThread_get_thread_ident()));
}

static PyObject *rlock_recursion_count(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    RLockObject *rl = (RLockObject *)self;
    return PyLong_FromUnsignedLong(
        rlock_is_mine(rl, PyThread_get_thread_ident()) ? rl->count : 0);
}

static PyObject *rlock_at_fork_reinit(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    RLockObject *rl = (RLockObject *)self;
    atomic_store(&rl->lw.word, 0);
    atomic_store(&rl->lw.sleepers, 0);
    rl->owner = 0;
    rl->count = 0;
    Py_RETURN_NONE;
}

static PyObject *rlock_repr(PyObject *self)
{
    RLockObject *rl = (RLockObject *)self;
    return PyUnicode_FromFormat("<%s %s object owner=%lu count=%lu at %p>",
                                rl->count > 0 ? "locked" : "unlocked", Py_TYPE(self)->tp_name,
                                rl->owner, rl->count, self);
}

static PyMethodDef rlock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))rlock_acquire, METH_FASTCALL | METH_KEYWORDS,
     ACQUIRE_DOC("acquire")},
    {"__enter__", rlock_enter, METH_NOARGS, "Lock the lock (acquire())."},
    {"release", rlock_release, METH_NOARGS,
     "release()\n--\n\nRelease the lock once; RuntimeError unless this thread holds it."},
    {"__exit__", (PyCFunction)(void (*)(void))rlock_exit, METH_FASTCALL,
     "Release the lock (release())."},
    {"locked", rlock_locked, METH_NOARGS, "locked()\n--\n\nWhether any thread holds it."},
    {"_is_owned", rlock_is_owned, METH_NOARGS, "Whether this thread holds the lock."},
    {"_recursion_count", rlock_recursion_count, METH_NOARGS,
     "How many times this thread holds the lock."},
    {"_release_save", rlock_release_save, METH_NOARGS,
     "Release it entirely; the state for _acquire_restore()."},
    {"_acquire_restore", rlock_acquire_restore, METH_O,
     "Take it again as _release_save() left it."},
    {"_at_fork_reinit", rlock_at_fork_reinit, METH_NOARGS, "Unlocked again (after a fork)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot rlock_slots[] = {
    {Py_tp_new, rlock_new},
    {Py_tp_members, rlock_members},
    {Py_tp_dealloc, lock_dealloc},
    {Py_tp_repr, rlock_repr},
    {Py_tp_methods, rlock_methods},
    {Py_tp_doc, "A reentrant lock: the thread that holds it may take it again "
                "(threading.RLock)."},
    {0, NULL},
};

static PyType_Spec rlock_spec = {
    .name = "_thread.RLock",
    .basicsize = sizeof(RLockObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = rlock_slots,
};

/* ---------------- module functions ---------------- */

static PyObject *mod_allocate_lock(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    ic_modstate *st = PyModule_GetState(module);
    return lock_new((PyTypeObject *)st->lock_type, NULL, NULL);
}

static PyMethodDef lock_type_functions[] = {
    {"allocate_lock", mod_allocate_lock, METH_NOARGS,
     "allocate_lock()\n--\n\nA new lock (Lock()): _thread.allocate_lock's counterpart."},
    {NULL, NULL, 0, NULL},
};

int ic_lock_init(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
    st->lock_type = PyType_FromModuleAndSpec(module, &lock_spec, NULL);
    if (st->lock_type == NULL || PyModule_AddObjectRef(module, "Lock", st->lock_type) < 0) {
        return -1;
    }
    st->rlock_type = PyType_FromModuleAndSpec(module, &rlock_spec, NULL);
    if (st->rlock_type == NULL || PyModule_AddObjectRef(module, "RLock", st->rlock_type) < 0) {
        return -1;
    }
    if (PyModule_AddFunctions(module, lock_type_functions) < 0) {
        return -1;
    }
    return ic_lockwait_init(module);
}
