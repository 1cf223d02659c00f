/* `_interpcli`: the multi-phase module the core installs into every interpreter it knows
 * (main included). Heap types only, state per module, so it loads in own-GIL interpreters.
 * It holds the channel ends (RecvChannel, SendChannel, Channel = both ends), the lent
 * buffer exporter behind send_buffer's memoryviews, and the channel exceptions. */
#include <stdlib.h>
#include <string.h>
#include "common.h"

enum { MODE_RECV = 1, MODE_SEND = 2, MODE_BOTH = 3 };

typedef struct {
    PyTypeObject *recv_type, *send_type, *both_type, *lent_type;
    PyObject *InterpError, *ChannelError, *ChannelClosedError, *ChannelEmptyError,
        *ChannelTimeoutError;
    ic_interp *rec;
} modstate;

typedef struct {
    PyObject_HEAD
    ic_chan *ch;
    int mode;
} EndObject;

typedef struct {
    PyObject_HEAD
    ic_lent *lent;
} LentObject;

static PyModuleDef ic_moduledef;

static modstate *state_of_type(PyTypeObject *tp)
{
    return (modstate *)PyType_GetModuleState(tp);
}

/* ---------------- lent buffer exporter ---------------- */

static int lent_getbuffer(LentObject *self, Py_buffer *view, int flags)
{
    return PyBuffer_FillInfo(view, (PyObject *)self, self->lent->view.buf,
                             self->lent->view.len, 1, flags);
}

static void lent_dealloc(LentObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    ic_lent_export(self->lent, -1);
    ic_lent_decref(self->lent);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyType_Slot lent_slots[] = {
    {Py_bf_getbuffer, lent_getbuffer},
    {Py_tp_dealloc, lent_dealloc},
    {Py_tp_doc, "Memory lent by another interpreter through send_buffer (read-only)."},
    {0, NULL},
};

static PyType_Spec lent_spec = {
    .name = "interpcli.LentBuffer",
    .basicsize = sizeof(LentObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = lent_slots,
};

/* ---------------- channel ends ---------------- */

static PyObject *end_new(modstate *st, ic_chan *ch, int mode)
{
    PyTypeObject *tp = mode == MODE_RECV ? st->recv_type
                     : mode == MODE_SEND ? st->send_type : st->both_type;
    EndObject *self = PyObject_New(EndObject, tp);
    if (self == NULL) {
        return NULL;
    }
    ic_chan_incref(ch);
    self->ch = ch;
    self->mode = mode;
    return (PyObject *)self;
}

static void end_dealloc(EndObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    ic_chan_decref(self->ch);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *end_repr(EndObject *self)
{
    return PyUnicode_FromFormat("%s(id=%lld)", _PyType_Name(Py_TYPE(self)),
                                (long long)self->ch->id);
}

static Py_hash_t end_hash(EndObject *self)
{
    Py_hash_t h = (Py_hash_t)(self->ch->id * 4 + self->mode);
    return h == -1 ? -2 : h;
}

static PyObject *end_richcompare(EndObject *self, PyObject *other, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(other) != Py_TYPE(self)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    int eq = ((EndObject *)other)->ch == self->ch;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *raise_closed(modstate *st, EndObject *self)
{
    PyErr_Format(st->ChannelClosedError, "channel %lld is closed", (long long)self->ch->id);
    return NULL;
}

static PyObject *raise_interrupt(ic_waitctx *w)
{
    /* the interrupter also set an asynchronous exception: take it back, raise it here */
    PyThreadState_SetAsyncExc(w->tid, NULL);
    if (atomic_load(&w->rec->intr_kind) == IC_INTR_TIMEOUT) {
        PyErr_SetString(PyExc_TimeoutError, "run timed out");
    }
    else {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
    return NULL;
}

static PyObject *do_send(EndObject *self, PyObject *obj, int lend, int block)
{
    modstate *st = state_of_type(Py_TYPE(self));
    ic_lent_drain(st->rec);
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "channels carry bytes-like objects, not '%.200s'", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    Py_buffer view;
    ic_lent *lent = NULL;
    const char *data;
    Py_ssize_t len;
    if (lend) {
        lent = ic_lent_new(st->rec, obj);
        if (lent == NULL) {
            return NULL;
        }
        data = lent->view.buf;
        len = lent->view.len;
    }
    else {
        if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) {
            return NULL;
        }
        data = view.buf;
        len = view.len;
    }

    if (!block) {
        ic_item *it;
        if (lent != NULL) {
            it = calloc(1, sizeof(*it));
        }
        else {
            it = malloc(sizeof(*it) + (size_t)len);
            if (it != NULL) {
                memset(it, 0, sizeof(*it));
                memcpy((char *)(it + 1), data, (size_t)len);
                it->data = (char *)(it + 1);
            }
            PyBuffer_Release(&view);
        }
        if (it == NULL) {
            if (lent != NULL) {
                ic_lent_decref(lent);
            }
            return PyErr_NoMemory();
        }
        if (lent != NULL) {
            it->data = data;
        }
        it->len = len;
        it->lent = lent;
        it->heap = 1;
        if (ic_chan_put(self->ch, it) != IC_CH_OK) {
            ic_item_free(it);
            return raise_closed(st, self);
        }
        Py_RETURN_NONE;
    }

    /* blocking: the item lives on this stack until a receiver has taken it */
    ic_item it;
    memset(&it, 0, sizeof(it));
    it.data = data;
    it.len = len;
    it.lent = lent;
    PyObject *result = Py_None;
    if (ic_chan_put(self->ch, &it) != IC_CH_OK) {
        result = raise_closed(st, self);
    }
    else {
        ic_waitctx w;
        ic_waitctx_init(&w, st->rec);
        PyObject *pending_exc = NULL;
        for (;;) {
            int rc;
            Py_BEGIN_ALLOW_THREADS
            rc = ic_chan_wait_taken(self->ch, &it, &w);
            Py_END_ALLOW_THREADS
            if (rc == IC_CH_SIGNAL) {
                if (pending_exc == NULL && PyErr_CheckSignals() < 0) {
                    if (ic_chan_withdraw(self->ch, &it)) {
                        result = NULL;
                        break;
                    }
                    /* a receiver is reading our memory: let it finish first */
                    pending_exc = PyErr_GetRaisedException();
                    w.ignore_intr = 1;
                }
                continue;
            }
            if (rc == IC_CH_CLOSED) {
                result = raise_closed(st, self);
            }
            else if (rc == IC_CH_INTR) {
                result = raise_interrupt(&w);
            }
            break;
        }
        if (pending_exc != NULL) {
            PyErr_SetRaisedException(pending_exc);
            result = NULL;
        }
    }
    /* a receiver took over the lent reference (it.lent = NULL); otherwise it is ours */
    if (it.lent != NULL) {
        ic_lent_decref(it.lent);
    }
    if (lent == NULL) {
        PyBuffer_Release(&view);
    }
    return Py_XNewRef(result);
}

static PyObject *item_to_object(modstate *st, EndObject *self, ic_item *it)
{
    PyObject *res;
    if (it->lent != NULL) {
        ic_lent *l = it->lent;
        it->lent = NULL;
        LentObject *lo = PyObject_New(LentObject, st->lent_type);
        if (lo == NULL) {
            ic_lent_decref(l);
            ic_chan_finish(self->ch, it);
            return NULL;
        }
        lo->lent = l;
        ic_lent_export(l, 1);
        ic_chan_finish(self->ch, it);
        res = PyMemoryView_FromObject((PyObject *)lo);
        Py_DECREF(lo);
        return res;
    }
    res = PyBytes_FromStringAndSize(it->data, it->len);
    ic_chan_finish(self->ch, it);
    return res;
}

/* timeout < 0: forever; 0: no wait. dflt: returned when empty (NULL: raise). */
static PyObject *do_recv(EndObject *self, double timeout, PyObject *dflt)
{
    modstate *st = state_of_type(Py_TYPE(self));
    ic_lent_drain(st->rec);
    ic_waitctx w;
    ic_waitctx_init(&w, st->rec);
    double deadline = timeout > 0 ? ic_now() + timeout : 0;
    ic_item *it = NULL;
    int rc;
    for (;;) {
        if (timeout == 0) {
            rc = ic_chan_get(self->ch, &it, 0, &w);
        }
        else {
            Py_BEGIN_ALLOW_THREADS
            rc = ic_chan_get(self->ch, &it, timeout, &w);
            Py_END_ALLOW_THREADS
        }
        if (rc != IC_CH_SIGNAL) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            return NULL;
        }
        if (deadline > 0) {
            timeout = deadline - ic_now();
            if (timeout <= 0) {
                timeout = 0;
            }
        }
    }
    switch (rc) {
    case IC_CH_OK:
        return item_to_object(st, self, it);
    case IC_CH_CLOSED:
        return raise_closed(st, self);
    case IC_CH_INTR:
        return raise_interrupt(&w);
    default:
        if (dflt != NULL) {
            return Py_NewRef(dflt);
        }
        if (deadline > 0) {
            PyErr_Format(st->ChannelTimeoutError, "nothing received on channel %lld in time",
                         (long long)self->ch->id);
        }
        else {
            PyErr_Format(st->ChannelEmptyError, "channel %lld is empty", (long long)self->ch->id);
        }
        return NULL;
    }
}

static PyObject *end_send(EndObject *self, PyObject *obj) { return do_send(self, obj, 0, 1); }
static PyObject *end_send_nowait(EndObject *self, PyObject *obj) { return do_send(self, obj, 0, 0); }
static PyObject *end_send_buffer(EndObject *self, PyObject *obj) { return do_send(self, obj, 1, 1); }
static PyObject *end_send_buffer_nowait(EndObject *self, PyObject *obj) { return do_send(self, obj, 1, 0); }

static PyObject *end_recv(EndObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timeout", NULL};
    PyObject *timeout_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:recv", kwlist, &timeout_obj)) {
        return NULL;
    }
    double timeout = -1;
    if (timeout_obj != Py_None) {
        timeout = PyFloat_AsDouble(timeout_obj);
        if (timeout == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (timeout < 0 || timeout != timeout) {
            PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number or None");
            return NULL;
        }
        if (timeout == 0) {
            timeout = 1e-9;     /* recv(timeout=0) still reports a timeout, not "empty" */
        }
    }
    return do_recv(self, timeout, NULL);
}

static PyObject *end_recv_nowait(EndObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"default", NULL};
    PyObject *dflt = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:recv_nowait", kwlist, &dflt)) {
        return NULL;
    }
    return do_recv(self, 0, dflt);
}

static PyObject *end_close(EndObject *self, PyObject *Py_UNUSED(ignored))
{
    ic_item *dropped = ic_chan_close(self->ch, self->mode == MODE_RECV ? IC_CLOSED_RECV
                                                                       : IC_CLOSED_SEND);
    while (dropped != NULL) {
        ic_item *next = dropped->next;
        ic_item_free(dropped);
        dropped = next;
    }
    Py_RETURN_NONE;
}

static PyObject *end_iternext(EndObject *self)
{
    PyObject *res = do_recv(self, -1, NULL);
    if (res == NULL) {
        modstate *st = state_of_type(Py_TYPE(self));
        if (PyErr_ExceptionMatches(st->ChannelClosedError)) {
            PyErr_Clear();
        }
    }
    return res;
}

static PyObject *end_get_id(EndObject *self, void *Py_UNUSED(c))
{
    return PyLong_FromLongLong(self->ch->id);
}

static PyObject *end_get_closed(EndObject *self, void *Py_UNUSED(c))
{
    pthread_mutex_lock(&self->ch->mu);
    int closed = self->ch->closed;
    Py_ssize_t count = self->ch->count;
    pthread_mutex_unlock(&self->ch->mu);
    /* a receive end is closed once nothing more can come; a send end once nothing can go */
    if (self->mode == MODE_RECV) {
        return PyBool_FromLong(closed != IC_OPEN && count == 0);
    }
    return PyBool_FromLong(closed != IC_OPEN);
}

static PyObject *end_get_mode(EndObject *self, void *Py_UNUSED(c))
{
    return PyLong_FromLong(self->mode);
}

#define CLOSE_DOC "close()\n--\n\nClose the channel. Closing the send side lets receivers drain " \
    "what send_nowait queued, then raise ChannelClosedError; closing the receive side drops " \
    "queued data. Blocked senders and receivers wake with ChannelClosedError."

static PyMethodDef recv_methods[] = {
    {"recv", (PyCFunction)(void (*)(void))end_recv, METH_VARARGS | METH_KEYWORDS,
     "recv(timeout=None)\n--\n\nReturn the next message (bytes, or a read-only memoryview for "
     "send_buffer), waiting for it without polling. TimeoutError after timeout seconds; "
     "ChannelClosedError once the channel is closed and drained."},
    {"recv_nowait", (PyCFunction)(void (*)(void))end_recv_nowait, METH_VARARGS | METH_KEYWORDS,
     "recv_nowait(default=<raise>)\n--\n\nReturn the next message if there is one, else "
     "default (ChannelEmptyError when no default is given)."},
    {"close", (PyCFunction)end_close, METH_NOARGS, CLOSE_DOC},
    {NULL, NULL, 0, NULL},
};

#define SEND_METHODS \
    {"send", (PyCFunction)end_send, METH_O, \
     "send(obj)\n--\n\nSend a bytes-like object and wait until a receiver has taken it."}, \
    {"send_nowait", (PyCFunction)end_send_nowait, METH_O, \
     "send_nowait(obj)\n--\n\nQueue a copy of a bytes-like object and return at once."}, \
    {"send_buffer", (PyCFunction)end_send_buffer, METH_O, \
     "send_buffer(obj)\n--\n\nLend obj's memory: the receiver gets a read-only memoryview " \
     "onto it, no copy; obj stays alive until that view is released. Waits for the receiver."}, \
    {"send_buffer_nowait", (PyCFunction)end_send_buffer_nowait, METH_O, \
     "send_buffer_nowait(obj)\n--\n\nLike send_buffer, but queue and return at once."}

static PyMethodDef send_methods[] = {
    SEND_METHODS,
    {"close", (PyCFunction)end_close, METH_NOARGS, CLOSE_DOC},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef both_methods[] = {
    SEND_METHODS,
    {"recv", (PyCFunction)(void (*)(void))end_recv, METH_VARARGS | METH_KEYWORDS,
     "recv(timeout=None)\n--\n\nReturn the next message, waiting for it without polling."},
    {"recv_nowait", (PyCFunction)(void (*)(void))end_recv_nowait, METH_VARARGS | METH_KEYWORDS,
     "recv_nowait(default=<raise>)\n--\n\nReturn the next message if any, else default."},
    {"close", (PyCFunction)end_close, METH_NOARGS, CLOSE_DOC},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef end_getset[] = {
    {"id", (getter)end_get_id, NULL, "The channel's id (the same for both ends).", NULL},
    {"is_closed", (getter)end_get_closed, NULL, "True once this end can no longer be used.", NULL},
    {"_mode", (getter)end_get_mode, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define END_COMMON_SLOTS \
    {Py_tp_dealloc, end_dealloc}, \
    {Py_tp_repr, end_repr}, \
    {Py_tp_hash, end_hash}, \
    {Py_tp_richcompare, end_richcompare}, \
    {Py_tp_getset, end_getset}

static PyType_Slot recv_slots[] = {
    END_COMMON_SLOTS,
    {Py_tp_methods, recv_methods},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, end_iternext},
    {Py_tp_doc, "The receiving end of a channel. Iterating yields messages until it closes."},
    {0, NULL},
};
static PyType_Slot send_slots[] = {
    END_COMMON_SLOTS,
    {Py_tp_methods, send_methods},
    {Py_tp_doc, "The sending end of a channel."},
    {0, NULL},
};
static PyType_Slot both_slots[] = {
    END_COMMON_SLOTS,
    {Py_tp_methods, both_methods},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, end_iternext},
    {Py_tp_doc, "Both ends of a channel in one object (what `--channels` binds)."},
    {0, NULL},
};

#define END_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION)
static PyType_Spec recv_spec = {"interpcli.RecvChannel", sizeof(EndObject), 0, END_FLAGS, recv_slots};
static PyType_Spec send_spec = {"interpcli.SendChannel", sizeof(EndObject), 0, END_FLAGS, send_slots};
static PyType_Spec both_spec = {"interpcli.Channel", sizeof(EndObject), 0, END_FLAGS, both_slots};

/* ---------------- module functions ---------------- */

static PyObject *mod_create_channel(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    modstate *st = PyModule_GetState(module);
    ic_chan *ch = ic_chan_new();
    if (ch == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *r = end_new(st, ch, MODE_RECV);
    PyObject *s = r != NULL ? end_new(st, ch, MODE_SEND) : NULL;
    ic_chan_decref(ch);         /* the ends hold it now */
    if (s == NULL) {
        Py_XDECREF(r);
        return NULL;
    }
    return Py_BuildValue("(NN)", r, s);
}

static PyObject *mod_end(PyObject *module, PyObject *args)
{
    modstate *st = PyModule_GetState(module);
    long long id;
    int mode;
    if (!PyArg_ParseTuple(args, "Li:_end", &id, &mode)) {
        return NULL;
    }
    if (mode < MODE_RECV || mode > MODE_BOTH) {
        PyErr_SetString(PyExc_ValueError, "mode must be 1 (recv), 2 (send) or 3 (both)");
        return NULL;
    }
    ic_chan *ch = ic_chan_lookup(id);
    if (ch == NULL) {
        PyErr_Format(st->ChannelError, "channel %lld no longer exists", id);
        return NULL;
    }
    PyObject *end = end_new(st, ch, mode);
    ic_chan_decref(ch);
    return end;
}

static PyObject *mod_current_id(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(PyInterpreterState_GetID(PyInterpreterState_Get()));
}

static PyObject *mod_main_id(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(PyInterpreterState_GetID(PyInterpreterState_Main()));
}

static PyObject *info_tuple(ic_interp *r)
{
    return Py_BuildValue("(LsiiL)", (long long)r->id, r->name, r->isolated, r->running,
                         (long long)r->runs);
}

static PyObject *mod_list_interpreters(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    ic_reg_lock();
    for (ic_interp *r = ic_reg_head_locked(); r != NULL; r = r->next) {
        if (r->closing) {
            continue;
        }
        PyObject *t = info_tuple(r);
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
    {"_end", mod_end, METH_VARARGS, "_end(id, mode)\n--\n\nA new end of an existing channel."},
    {"current_id", mod_current_id, METH_NOARGS, "The id of the calling interpreter."},
    {"main_id", mod_main_id, METH_NOARGS, "The id of the main interpreter."},
    {"list_interpreters", mod_list_interpreters, METH_NOARGS,
     "[(id, name, isolated, running, runs)] for every interpreter interpcli knows."},
    {NULL, NULL, 0, NULL},
};

static PyObject *new_exc(PyObject *module, const char *name, const char *doc, PyObject *bases)
{
    PyObject *exc = PyErr_NewExceptionWithDoc(name, doc, bases, NULL);
    if (exc != NULL && PyModule_AddObjectRef(module, strrchr(name, '.') + 1, exc) < 0) {
        Py_CLEAR(exc);
    }
    return exc;
}

static int mod_exec(PyObject *module)
{
    modstate *st = PyModule_GetState(module);
#define ADD_TYPE(field, spec) \
    st->field = (PyTypeObject *)PyType_FromModuleAndSpec(module, &spec, NULL); \
    if (st->field == NULL || PyModule_AddType(module, st->field) < 0) return -1;
    ADD_TYPE(recv_type, recv_spec)
    ADD_TYPE(send_type, send_spec)
    ADD_TYPE(both_type, both_spec)
    ADD_TYPE(lent_type, lent_spec)
#undef ADD_TYPE
    st->InterpError = new_exc(module, "interpcli.InterpError",
                              "Base of every interpcli error (never raised itself).", NULL);
    if (st->InterpError == NULL) {
        return -1;
    }
    st->ChannelError = new_exc(module, "interpcli.ChannelError", "A channel operation failed.",
                               st->InterpError);
    if (st->ChannelError == NULL) {
        return -1;
    }
    PyObject *bases = PyTuple_Pack(2, st->ChannelError, PyExc_EOFError);
    if (bases == NULL) {
        return -1;
    }
    st->ChannelClosedError = new_exc(module, "interpcli.ChannelClosedError",
                                     "The channel is closed (and drained, for receivers).", bases);
    Py_DECREF(bases);
    if (st->ChannelClosedError == NULL) {
        return -1;
    }
    st->ChannelEmptyError = new_exc(module, "interpcli.ChannelEmptyError",
                                    "recv_nowait() found nothing to receive.", st->ChannelError);
    if (st->ChannelEmptyError == NULL) {
        return -1;
    }
    bases = PyTuple_Pack(2, st->ChannelError, PyExc_TimeoutError);
    if (bases == NULL) {
        return -1;
    }
    st->ChannelTimeoutError = new_exc(module, "interpcli.ChannelTimeoutError",
                                      "recv(timeout=...) received nothing in time.", bases);
    Py_DECREF(bases);
    if (st->ChannelTimeoutError == NULL) {
        return -1;
    }
    return 0;
}

static int mod_traverse(PyObject *module, visitproc visit, void *arg)
{
    modstate *st = PyModule_GetState(module);
    if (st == NULL) {
        return 0;
    }
    Py_VISIT(st->recv_type);
    Py_VISIT(st->send_type);
    Py_VISIT(st->both_type);
    Py_VISIT(st->lent_type);
    Py_VISIT(st->InterpError);
    Py_VISIT(st->ChannelError);
    Py_VISIT(st->ChannelClosedError);
    Py_VISIT(st->ChannelEmptyError);
    Py_VISIT(st->ChannelTimeoutError);
    return 0;
}

static int mod_clear(PyObject *module)
{
    modstate *st = PyModule_GetState(module);
    if (st == NULL) {
        return 0;
    }
    Py_CLEAR(st->recv_type);
    Py_CLEAR(st->send_type);
    Py_CLEAR(st->both_type);
    Py_CLEAR(st->lent_type);
    Py_CLEAR(st->InterpError);
    Py_CLEAR(st->ChannelError);
    Py_CLEAR(st->ChannelClosedError);
    Py_CLEAR(st->ChannelEmptyError);
    Py_CLEAR(st->ChannelTimeoutError);
    return 0;
}

static void mod_free(void *module)
{
    mod_clear((PyObject *)module);
}

static PyModuleDef_Slot mod_slots[] = {
    {Py_mod_exec, mod_exec},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL},
};

static PyModuleDef ic_moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_interpcli",
    .m_doc = "interpcli's channels, installed by the core into each interpreter it runs.",
    .m_size = sizeof(modstate),
    .m_methods = mod_methods,
    .m_slots = mod_slots,
    .m_traverse = mod_traverse,
    .m_clear = mod_clear,
    .m_free = mod_free,
};

int ic_module_install(ic_interp *rec)
{
    PyObject *machinery = PyImport_ImportModule("importlib.machinery");
    if (machinery == NULL) {
        return -1;
    }
    PyObject *spec = PyObject_CallMethod(machinery, "ModuleSpec", "sO", "_interpcli", Py_None);
    Py_DECREF(machinery);
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
    ((modstate *)PyModule_GetState(mod))->rec = rec;
    PyObject *modules = PyImport_GetModuleDict();
    int r = PyDict_SetItemString(modules, "_interpcli", mod);
    Py_DECREF(mod);
    return r;
}
