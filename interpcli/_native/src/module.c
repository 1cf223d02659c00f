/* The core module, `interpcli._native._interpcli` (also `_interpcli` in sys.modules):
 * multi-phase, heap types only, state per module, so it imports in every interpreter of
 * the process, isolated or not, whoever made it. The shared library is loaded once per
 * process: its static data is the one registry of interpreters and channels. The core
 * installs it into each interpreter it creates; elsewhere it is imported as usual. */
#include "common.h"
#include <stdlib.h>
#include <string.h>

#define IC_MODULE_NAME "interpcli._native._interpcli"

/* ---------------- module functions ---------------- */

static PyObject *mod_create_channel(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    ic_modstate *st = PyModule_GetState(module);
    ic_chan *ch = ic_chan_new();
    if (ch == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *r = ic_end_new(st, ch, IC_MODE_RECV);
    PyObject *s = r != NULL ? ic_end_new(st, ch, IC_MODE_SEND) : NULL;
    ic_chan_detach(ch, 0);      /* the ends hold it now */
    if (s == NULL) {
        Py_XDECREF(r);
        return NULL;
    }
    return Py_BuildValue("(NN)", r, s);
}

static PyObject *mod_end(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id;
    int mode;
    if (!PyArg_ParseTuple(args, "Li:_end", &id, &mode)) {
        return NULL;
    }
    if (mode < IC_MODE_RECV || mode > IC_MODE_BOTH) {
        PyErr_SetString(PyExc_ValueError, "mode must be MODE_RECV, MODE_SEND or MODE_BOTH");
        return NULL;
    }
    ic_chan *ch = ic_chan_lookup(id);
    if (ch == NULL) {
        PyErr_Format(st->ChannelError, "channel %lld no longer exists", id);
        return NULL;
    }
    PyObject *end = ic_end_new(st, ch, mode);
    ic_chan_detach(ch, 0);
    return end;
}

/* A channel's kind: an int its maker gives it once (0, plain, until then), so that a
 * layer that looks channels up by id (queues) can tell its own from any other. */
static PyObject *mod_kind(PyObject *module, PyObject *args)
{
    ic_modstate *st = PyModule_GetState(module);
    long long id;
    int kind = -1;
    if (!PyArg_ParseTuple(args, "L|i:_kind", &id, &kind)) {
        return NULL;
    }
    ic_chan *ch = ic_chan_lookup(id);
    if (ch == NULL) {
        PyErr_Format(st->ChannelError, "channel %lld no longer exists", id);
        return NULL;
    }
    if (kind > 0) {
        int unset = 0;
        atomic_compare_exchange_strong(&ch->kind, &unset, kind);
    }
    int now = atomic_load(&ch->kind);
    ic_chan_detach(ch, 0);
    return PyLong_FromLong(now);
}

static PyObject *mod_current_id(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(PyInterpreterState_GetID(PyInterpreterState_Get()));
}

static PyObject *mod_main_id(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(PyInterpreterState_GetID(PyInterpreterState_Main()));
}

static PyObject *mod_list_interpreters(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    ic_reg_lock();
    for (ic_interp *r = ic_reg_head_locked(); r != NULL; r = r->next) {
        if (r->closing || r->starting || r->spare) {
            continue;
        }
        PyObject *t = Py_BuildValue("(LsiiLs)", (long long)r->id, r->name, r->isolated,
                                    r->running, (long long)r->runs,
                                    r->kind == IC_KIND_MAIN ? "main"
                                    : r->kind == IC_KIND_OWNED ? "interpcli" : "foreign");
        if (t == NULL || PyList_Append(list, t) < 0) {
            Py_XDECREF(t);
            ic_reg_unlock();
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(t);
    }
    ic_reg_unlock();
    return list;
}

static PyMethodDef mod_methods[] = {
    {"create_channel", mod_create_channel, METH_NOARGS,
     "create_channel()\n--\n\nReturn (RecvChannel, SendChannel), the ends of a new channel."},
    {"_end", mod_end, METH_VARARGS,
     "_end(id, mode)\n--\n\nA new end of an existing channel (MODE_RECV, MODE_SEND or "
     "MODE_BOTH)."},
    {"_kind", mod_kind, METH_VARARGS,
     "_kind(id, kind=0)\n--\n\nThe channel's kind (0: plain); a kind > 0 is set first if "
     "none was (a channel's kind is set once). ChannelError when it no longer exists."},
    {"current_id", mod_current_id, METH_NOARGS, "The id of the calling interpreter."},
    {"main_id", mod_main_id, METH_NOARGS, "The id of the main interpreter."},
    {"list_interpreters", mod_list_interpreters, METH_NOARGS,
     "[(id, name, isolated, running, runs, kind)] for every interpreter the core knows: "
     "kind 'main', 'interpcli' (made by it) or 'foreign' (made elsewhere, the core module "
     "imported there; isolated is -1, unknown)."},
    {NULL, NULL, 0, NULL},
};
/* ---------------- module state ---------------- */

static PyObject *new_exc(PyObject *module, const char *name, const char *doc, PyObject *base1,
                         PyObject *base2)
{
    PyObject *bases = base2 != NULL ? PyTuple_Pack(2, base1, base2)
                    : base1 != NULL ? PyTuple_Pack(1, base1) : NULL;
    if ((base1 != NULL || base2 != NULL) && bases == NULL) {
        return NULL;
    }
    PyObject *exc = PyErr_NewExceptionWithDoc(name, doc, bases, NULL);
    Py_XDECREF(bases);
    if (exc != NULL && PyModule_AddObjectRef(module, strrchr(name, '.') + 1, exc) < 0) {
        Py_CLEAR(exc);
    }
    return exc;
}

static int add_int(PyObject *module, const char *name, long value)
{
    return PyModule_AddIntConstant(module, name, value);
}

static int mod_exec(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
    st->rec = ic_reg_adopt_current();
    if (st->rec == NULL) {
        return -1;
    }
    if (ic_ends_init(module) < 0) {
        return -1;
    }
    if (ic_calls_init(module) < 0 || ic_spare_init(module) < 0 || ic_sigfwd_init(module) < 0
        || ic_nested_main_thread_init() < 0 || ic_lock_init(module) < 0) {
        return -1;
    }
    /* the platform layer's waits this build carries (platform.h): "futex" or "portable" */
    if (PyModule_AddStringConstant(module, "WAIT_LAYER", ic_wait_layer) < 0) {
        return -1;
    }
#define EXC(field, name, doc, b1, b2) \
    if ((st->field = new_exc(module, "interpcli." name, doc, b1, b2)) == NULL) return -1;
    EXC(InterpError, "InterpError", "Base of every interpcli error (never raised itself).",
        NULL, NULL)
    EXC(ChannelError, "ChannelError", "A channel operation failed.", st->InterpError, NULL)
    EXC(ChannelClosedError, "ChannelClosedError",
        "The channel is closed (and drained, for receivers).", st->ChannelError,
        PyExc_EOFError)
    EXC(ChannelEmptyError, "ChannelEmptyError", "recv_nowait() found nothing to receive.",
        st->ChannelError, NULL)
    EXC(ChannelTimeoutError, "ChannelTimeoutError",
        "recv(timeout=...) received nothing in time.", st->ChannelError, PyExc_TimeoutError)
    EXC(InterpreterError, "InterpreterError",
        "An operation on an interpreter failed (create, run, close).", st->InterpError, NULL)
    EXC(InterpreterNotFoundError, "InterpreterNotFoundError",
        "No interpreter with that id or name (it may have been closed).",
        st->InterpreterError, PyExc_LookupError)
    EXC(InterpreterBusyError, "InterpreterBusyError",
        "The interpreter is running or has threads running, or the name is taken.",
        st->InterpreterError, NULL)
#undef EXC
    if (ic_notify_init(module) < 0) {       /* asyncio notifiers (notify.c) */
        return -1;
    }
    st->end_func = PyObject_GetAttrString(module, "_end");
    if (st->end_func == NULL) {
        return -1;
    }
    if (add_int(module, "MODE_RECV", IC_MODE_RECV) < 0
        || add_int(module, "MODE_SEND", IC_MODE_SEND) < 0
        || add_int(module, "MODE_BOTH", IC_MODE_BOTH) < 0
        || add_int(module, "INTR_KEYBOARD", IC_INTR_KEYBOARD) < 0
        || add_int(module, "INTR_TIMEOUT", IC_INTR_TIMEOUT) < 0) {
        return -1;
    }
    return 0;
}

#define STATE_OBJECTS(X) \
    X(recv_type) X(send_type) X(both_type) X(lent_type) X(cancel_type) X(InterpError) \
    X(ChannelError) X(ChannelClosedError) X(ChannelEmptyError) X(ChannelTimeoutError) \
    X(InterpreterError) X(InterpreterNotFoundError) X(InterpreterBusyError) X(end_func) \
    X(notifier_type) X(asend_type) X(lock_type) X(rlock_type) X(lock_hook)

static int mod_traverse(PyObject *module, visitproc visit, void *arg)
{
    ic_modstate *st = PyModule_GetState(module);
    if (st == NULL) {
        return 0;
    }
#define VISIT(f) Py_VISIT(st->f);
    STATE_OBJECTS(VISIT)
#undef VISIT
    return 0;
}

static int mod_clear(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
    if (st == NULL) {
        return 0;
    }
#define CLEAR(f) Py_CLEAR(st->f);
    STATE_OBJECTS(CLEAR)
#undef CLEAR
    return 0;
}

static void mod_free(void *module)
{
    mod_clear((PyObject *)module);
    ic_modstate *st = PyModule_GetState((PyObject *)module);
    if (st == NULL || st->rec == NULL) {
        return;
    }
    ic_reg_release_module(st->rec);
    st->rec = NULL;
}

static PyModuleDef_Slot mod_slots[] = {
    {Py_mod_exec, mod_exec},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL},
};

PyModuleDef ic_moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = IC_MODULE_NAME,
    .m_doc = "interpcli's C core: channels and the interpreter registry, in every interpreter.",
    .m_size = sizeof(ic_modstate),
    .m_methods = mod_methods,
    .m_slots = mod_slots,
    .m_traverse = mod_traverse,
    .m_clear = mod_clear,
    .m_free = mod_free,
};

PyMODINIT_FUNC PyInit__interpcli(void)
{
    return PyModuleDef_Init(&ic_moduledef);
}

int ic_module_install(void)
{
    /* importlib's bootstrap (frozen, loaded in every interpreter) has ModuleSpec:
     * importing importlib.machinery for it cost ~0.5 ms per new interpreter */
    PyObject *bootstrap = PyImport_ImportModule("_frozen_importlib");
    if (bootstrap == NULL) {
        PyErr_Clear();
        bootstrap = PyImport_ImportModule("importlib.machinery");
        if (bootstrap == NULL) {
            return -1;
        }
    }
    PyObject *spec = PyObject_CallMethod(bootstrap, "ModuleSpec", "sO", IC_MODULE_NAME, Py_None);
    Py_DECREF(bootstrap);
    if (spec == NULL) {
        return -1;
    }
    PyObject *mod = PyModule_FromDefAndSpec(&ic_moduledef, spec);
    Py_DECREF(spec);
    if (mod == NULL) {
        return -1;
    }
    if (PyModule_ExecDef(mod, &ic_moduledef) < 0) {
        Py_DECREF(mod);
        return -1;
    }
    PyObject *modules = PyImport_GetModuleDict();
    int r = PyDict_SetItemString(modules, IC_MODULE_NAME, mod);
    if (r == 0) {
        r = PyDict_SetItemString(modules, "_interpcli", mod);
    }
    Py_DECREF(mod);
    return r;
}
