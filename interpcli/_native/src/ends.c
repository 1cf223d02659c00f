/* Channel ends (RecvChannel, SendChannel, Channel = both ends) and the lent-buffer
 * exporter behind send_buffer's memoryviews: heap types of the core module, one set per
 * interpreter. */
#include "common.h"
#include <stdlib.h>
#include <string.h>

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

/* recv_async()/send_async(): the awaitables of interpcli.aio, woken by the core */
static PyObject *call_aio(const char *name, PyObject *self, PyObject *arg)
{
    PyObject *aio = PyImport_ImportModule("interpcli.aio");
    if (aio == NULL) {
        return NULL;
    }
    PyObject *r = PyObject_CallMethod(aio, name, arg != NULL ? "OO" : "O", self, arg);
    Py_DECREF(aio);
    return r;
}

PyObject *ic_end_recv_async(PyObject *self, PyObject *Py_UNUSED(noargs))
{
    return call_aio("recv", self, NULL);
}

PyObject *ic_end_send_async(PyObject *self, PyObject *obj)
{
    return call_aio("send", self, obj);
}


PyObject *ic_end_new(ic_modstate *st, ic_chan *ch, int mode)
{
    PyTypeObject *tp = mode == IC_MODE_RECV ? st->recv_type
                     : mode == IC_MODE_SEND ? st->send_type : st->both_type;
    EndObject *self = PyObject_New(EndObject, tp);
    if (self == NULL) {
        return NULL;
    }
    ic_chan_attach(ch, mode);
    self->ch = ch;
    self->mode = mode;
    return (PyObject *)self;
}

ic_chan *ic_end_chan(ic_modstate *st, PyObject *obj, int *mode)
{
    if (!PyObject_TypeCheck(obj, st->recv_type) && !PyObject_TypeCheck(obj, st->send_type)
        && !PyObject_TypeCheck(obj, st->both_type)) {
        PyErr_Format(PyExc_TypeError, "expected a channel end, not '%.200s'",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    *mode = ((EndObject *)obj)->mode;
    return ((EndObject *)obj)->ch;
}

static void end_dealloc(EndObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    ic_chan_detach(self->ch, self->mode);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *end_repr(EndObject *self)
{
    PyObject *name = PyType_GetName(Py_TYPE(self));
    if (name == NULL) {
        return NULL;
    }
    PyObject *r = PyUnicode_FromFormat("%U(id=%lld)", name, (long long)self->ch->id);
    Py_DECREF(name);
    return r;
}

/* Ends pickle by id: unpickled in any interpreter of the process (the core module there
 * included), they are new ends of the same channel. */
static PyObject *end_reduce(EndObject *self, PyObject *Py_UNUSED(ignored))
{
    ic_modstate *st = state_of_type(Py_TYPE(self));
    return Py_BuildValue("O(Li)", st->end_func, (long long)self->ch->id, self->mode);
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

static PyObject *end_send(EndObject *self, PyObject *obj) { return ic_send(self, obj, 0, 1); }
static PyObject *end_send_nowait(EndObject *self, PyObject *obj) { return ic_send(self, obj, 0, 0); }
static PyObject *end_send_buffer(EndObject *self, PyObject *obj) { return ic_send(self, obj, 1, 1); }
static PyObject *end_send_buffer_nowait(EndObject *self, PyObject *obj) { return ic_send(self, obj, 1, 0); }

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
    return ic_recv(self, timeout, NULL);
}

static PyObject *end_recv_nowait(EndObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"default", NULL};
    PyObject *dflt = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:recv_nowait", kwlist, &dflt)) {
        return NULL;
    }
    return ic_recv(self, 0, dflt);
}

static PyObject *end_close(EndObject *self, PyObject *Py_UNUSED(ignored))
{
    ic_item_free_list(ic_chan_close(self->ch, self->mode == IC_MODE_RECV ? IC_CLOSED_RECV
                                                                         : IC_CLOSED_SEND));
    Py_RETURN_NONE;
}

static PyObject *end_iternext(EndObject *self)
{
    PyObject *res = ic_recv(self, -1, NULL);
    if (res == NULL) {
        ic_modstate *st = state_of_type(Py_TYPE(self));
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
    if (self->mode == IC_MODE_RECV) {
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
    IC_RECV_ASYNC_METHOD,
    {"close", (PyCFunction)end_close, METH_NOARGS, CLOSE_DOC},
    {"__reduce__", (PyCFunction)end_reduce, METH_NOARGS, NULL},
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
     "send_buffer_nowait(obj)\n--\n\nLike send_buffer, but queue and return at once."}, \
    IC_SEND_ASYNC_METHOD

static PyMethodDef send_methods[] = {
    SEND_METHODS,
    {"close", (PyCFunction)end_close, METH_NOARGS, CLOSE_DOC},
    {"__reduce__", (PyCFunction)end_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef both_methods[] = {
    SEND_METHODS,
    {"recv", (PyCFunction)(void (*)(void))end_recv, METH_VARARGS | METH_KEYWORDS,
     "recv(timeout=None)\n--\n\nReturn the next message, waiting for it without polling."},
    {"recv_nowait", (PyCFunction)(void (*)(void))end_recv_nowait, METH_VARARGS | METH_KEYWORDS,
     "recv_nowait(default=<raise>)\n--\n\nReturn the next message if any, else default."},
    IC_RECV_ASYNC_METHOD,
    {"close", (PyCFunction)end_close, METH_NOARGS, CLOSE_DOC},
    {"__reduce__", (PyCFunction)end_reduce, METH_NOARGS, NULL},
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

int ic_ends_init(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
#define ADD_TYPE(field, spec) \
    st->field = (PyTypeObject *)PyType_FromModuleAndSpec(module, &spec, NULL); \
    if (st->field == NULL || PyModule_AddType(module, st->field) < 0) return -1;
    ADD_TYPE(recv_type, recv_spec)
    ADD_TYPE(send_type, send_spec)
    ADD_TYPE(both_type, both_spec)
    ADD_TYPE(lent_type, lent_spec)
#undef ADD_TYPE
    return 0;
}
