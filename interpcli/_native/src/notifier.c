/* The Python side of asyncio support: the Notifier type (one per event loop: a wake fd,
 * watches on channels, the ready tokens) and the awaiting send, over notify.c. */
#include "common.h"
#include "notify.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------- AsyncSend: an awaiting sender's queued message ---------------- */


static void asend_dealloc(ASendObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->it != NULL) {
        if (ic_chan_withdraw(self->ch, self->it)) {
            ic_async_item_unref(self->it);       /* was still queued: the channel's share too */
        }
        ic_async_item_unref(self->it);
        self->it = NULL;
    }
    Py_CLEAR(self->end);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *asend_withdraw(ASendObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->it != NULL && ic_chan_withdraw(self->ch, self->it)) {
        ic_async_item_unref(self->it);
        Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static PyObject *asend_get_state(ASendObject *self, void *Py_UNUSED(c))
{
    return PyLong_FromLong(self->it != NULL ? atomic_load(&self->it->state) : IC_ITEM_WITHDRAWN);
}

static PyMethodDef asend_methods[] = {
    {"withdraw", (PyCFunction)asend_withdraw, METH_NOARGS,
     "withdraw()\n--\n\nTake the message back if no receiver has taken it yet (True)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef asend_getset[] = {
    {"state", (getter)asend_get_state, NULL,
     "ITEM_QUEUED, ITEM_INFLIGHT, ITEM_DONE (taken) or ITEM_WITHDRAWN.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot asend_slots[] = {
    {Py_tp_dealloc, asend_dealloc},
    {Py_tp_methods, asend_methods},
    {Py_tp_getset, asend_getset},
    {Py_tp_doc, "A message sent by Notifier.send(), until a receiver takes it."},
    {0, NULL},
};

static PyType_Spec ic_asend_spec = {
    .name = "interpcli.AsyncSend",
    .basicsize = sizeof(ASendObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = asend_slots,
};

/* ---------------- Notifier ---------------- */

typedef struct {
    PyObject_HEAD
    ic_notifier *n;             /* NULL once closed */
} NotifierObject;

static ic_modstate *nstate(PyObject *self)
{
    return (ic_modstate *)PyType_GetModuleState(Py_TYPE(self));
}

static ic_notifier *live(NotifierObject *self)
{
    if (self->n == NULL) {
        PyErr_SetString(PyExc_ValueError, "the notifier is closed");
    }
    return self->n;
}

static int parse_token(PyObject *obj, uint64_t *token)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    *token = (uint64_t)v;
    return 0;
}

static PyObject *notifier_tp_new(PyTypeObject *tp, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Notifier() takes no arguments");
        return NULL;
    }
    NotifierObject *self = (NotifierObject *)tp->tp_alloc(tp, 0);
    if (self == NULL) {
        return NULL;
    }
    self->n = ic_notifier_new();
    if (self->n == NULL) {
        Py_DECREF(self);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return (PyObject *)self;
}

static void notifier_close_ref(NotifierObject *self)
{
    ic_notifier *n = self->n;
    if (n == NULL) {
        return;
    }
    self->n = NULL;
    pthread_mutex_lock(&n->mu);
    n->closed = 1;
    free(n->ready);
    n->ready = NULL;
    n->nready = n->cap = 0;
    pthread_mutex_unlock(&n->mu);
    ic_notifier_decref(n);
}

static void notifier_tp_dealloc(NotifierObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    notifier_close_ref(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *notifier_fileno(NotifierObject *self, PyObject *Py_UNUSED(ignored))
{
    ic_notifier *n = live(self);
    return n != NULL ? PyLong_FromLong(ic_wake_fd(&n->wake)) : NULL;
}

static PyObject *notifier_watch(NotifierObject *self, PyObject *args)
{
    PyObject *end, *tok;
    if (!PyArg_ParseTuple(args, "OO:watch", &end, &tok)) {
        return NULL;
    }
    ic_notifier *n = live(self);
    int mode;
    ic_chan *ch = n != NULL ? ic_end_chan(nstate((PyObject *)self), end, &mode) : NULL;
    uint64_t token;
    if (ch == NULL || parse_token(tok, &token) < 0) {
        return NULL;
    }
    ic_watch *w = malloc(sizeof(*w));
    if (w == NULL) {
        return PyErr_NoMemory();
    }
    ic_notifier_incref(n);
    w->n = n;
    w->token = token;
    atomic_fetch_add(&ic_live_watches, 1);
    pthread_mutex_lock(&ch->mu);
    w->next = atomic_load(&ch->watches);
    atomic_store(&ch->watches, w);
    pthread_mutex_unlock(&ch->mu);
    Py_RETURN_NONE;
}

static PyObject *notifier_unwatch(NotifierObject *self, PyObject *args)
{
    PyObject *end, *tok;
    if (!PyArg_ParseTuple(args, "OO:unwatch", &end, &tok)) {
        return NULL;
    }
    int mode;
    ic_chan *ch = ic_end_chan(nstate((PyObject *)self), end, &mode);
    uint64_t token;
    if (ch == NULL || parse_token(tok, &token) < 0) {
        return NULL;
    }
    ic_notifier *n = self->n;
    if (n == NULL) {
        Py_RETURN_FALSE;
    }
    ic_watch *found = NULL;
    pthread_mutex_lock(&ch->mu);
    ic_watch *prev = NULL;
    for (ic_watch *w = atomic_load(&ch->watches); w != NULL; prev = w, w = w->next) {
        if (w->n == n && w->token == token) {
            if (prev != NULL) {
                prev->next = w->next;
            }
            else {
                atomic_store(&ch->watches, w->next);
            }
            found = w;
            break;
        }
    }
    pthread_mutex_unlock(&ch->mu);
    if (found == NULL) {
        Py_RETURN_FALSE;        /* fired already: its token is (or was) in the ready list */
    }
    ic_watch_free(found);
    Py_RETURN_TRUE;
}

static PyObject *notifier_drain(NotifierObject *self, PyObject *Py_UNUSED(ignored))
{
    ic_notifier *n = live(self);
    if (n == NULL) {
        return NULL;
    }
    /* drain the wake fd first: a post after the list is taken writes it again */
    ic_wake_drain(&n->wake);
    pthread_mutex_lock(&n->mu);
    uint64_t *ready = n->ready;
    size_t count = n->nready;
    int overflow = n->overflow;
    n->ready = NULL;
    n->nready = n->cap = 0;
    n->pending = 0;
    n->overflow = 0;
    pthread_mutex_unlock(&n->mu);
    if (overflow) {
        free(ready);
        Py_RETURN_NONE;         /* some tokens were lost: every waiter must look again */
    }
    PyObject *list = PyList_New((Py_ssize_t)count);
    if (list == NULL) {
        free(ready);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        PyObject *t = PyLong_FromUnsignedLongLong(ready[i]);
        if (t == NULL) {
            free(ready);
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    free(ready);
    return list;
}

static PyObject *notifier_post_py(NotifierObject *self, PyObject *tok)
{
    uint64_t token;
    if (parse_token(tok, &token) < 0) {
        return NULL;
    }
    if (self->n == NULL) {
        Py_RETURN_FALSE;        /* closed: nobody waits any more */
    }
    ic_notifier_post(self->n, token);
    Py_RETURN_TRUE;
}

static PyObject *notifier_send(NotifierObject *self, PyObject *args)
{
    PyObject *end, *obj, *tok;
    if (!PyArg_ParseTuple(args, "OOO:send", &end, &obj, &tok)) {
        return NULL;
    }
    ic_modstate *st = nstate((PyObject *)self);
    ic_notifier *n = live(self);
    int mode;
    ic_chan *ch = n != NULL ? ic_end_chan(st, end, &mode) : NULL;
    uint64_t token;
    if (ch == NULL || parse_token(tok, &token) < 0) {
        return NULL;
    }
    if (!(mode & IC_MODE_SEND)) {
        PyErr_SetString(PyExc_TypeError, "a receiving end cannot send");
        return NULL;
    }
    if (ic_send_prepare(st, obj) < 0) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    ASendObject *a = PyObject_New(ASendObject, st->asend_type);
    ic_item *it = a != NULL ? ic_item_copy(view.buf, view.len) : NULL;
    if (it == NULL) {
        PyBuffer_Release(&view);
        if (a != NULL) {
            a->it = NULL;
            a->end = NULL;
            Py_DECREF(a);
            return PyErr_NoMemory();
        }
        return NULL;
    }
    PyBuffer_Release(&view);
    it->heap = IC_HEAP_ASYNC;
    ic_notifier_incref(n);
    it->notify = n;
    it->token = token;
    atomic_init(&it->owners, 2);
    atomic_fetch_add(&ic_live_items, 1);
    a->it = it;
    a->ch = ch;
    a->end = Py_NewRef(end);
    if (ic_chan_put(ch, it) != IC_CH_OK) {
        atomic_store(&it->state, IC_ITEM_WITHDRAWN);    /* so the dealloc withdraws nothing */
        ic_async_item_unref(it);         /* never queued: the channel's share */
        Py_DECREF(a);           /* and the sender's */
        PyErr_Format(st->ChannelClosedError, "channel %lld is closed", (long long)ch->id);
        return NULL;
    }
    return (PyObject *)a;
}

static PyObject *notifier_close(NotifierObject *self, PyObject *Py_UNUSED(ignored))
{
    notifier_close_ref(self);
    Py_RETURN_NONE;
}

static PyMethodDef notifier_methods[] = {
    {"fileno", (PyCFunction)notifier_fileno, METH_NOARGS,
     "fileno()\n--\n\nThe fd to watch for readability (loop.add_reader)."},
    {"watch", (PyCFunction)notifier_watch, METH_VARARGS,
     "watch(end, token)\n--\n\nPost token on the next change of end's channel (once)."},
    {"unwatch", (PyCFunction)notifier_unwatch, METH_VARARGS,
     "unwatch(end, token)\n--\n\nRemove a watch that has not fired (True) or do nothing."},
    {"drain", (PyCFunction)notifier_drain, METH_NOARGS,
     "drain()\n--\n\nThe tokens posted since the last drain (a list), or None when some "
     "could not be stored (every waiter must look again)."},
    {"post", (PyCFunction)notifier_post_py, METH_O,
     "post(token)\n--\n\nPost token from any thread (False once closed)."},
    {"send", (PyCFunction)notifier_send, METH_VARARGS,
     "send(end, obj, token)\n--\n\nQueue a copy of obj; token is posted when a receiver "
     "has taken it or a close dropped it. Returns the AsyncSend."},
    {"close", (PyCFunction)notifier_close, METH_NOARGS,
     "close()\n--\n\nStop posting; its fd closes once no watch or message refers to it."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot notifier_slots[] = {
    {Py_tp_new, notifier_tp_new},
    {Py_tp_dealloc, notifier_tp_dealloc},
    {Py_tp_methods, notifier_methods},
    {Py_tp_doc, "Notifier()\n--\n\nWakes one event loop: channel watches and awaiting "
                "sends post tokens to it (see interpcli.aio)."},
    {0, NULL},
};

static PyType_Spec notifier_spec = {
    .name = "interpcli.Notifier",
    .basicsize = sizeof(NotifierObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = notifier_slots,
};

/* ---------------- module level ---------------- */

static PyObject *mod_aio_counts(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("(lll)", (long)atomic_load(&ic_live_notifiers),
                         (long)atomic_load(&ic_live_watches), (long)atomic_load(&ic_live_items));
}

static PyMethodDef notify_functions[] = {
    {"_aio_counts", mod_aio_counts, METH_NOARGS,
     "(notifiers, watches, awaiting sends) alive in the process (for tests)."},
    {NULL, NULL, 0, NULL},
};

int ic_notify_init(PyObject *module)
{
    ic_modstate *st = PyModule_GetState(module);
    st->notifier_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &notifier_spec, NULL);
    if (st->notifier_type == NULL || PyModule_AddType(module, st->notifier_type) < 0) {
        return -1;
    }
    st->asend_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &ic_asend_spec, NULL);
    if (st->asend_type == NULL || PyModule_AddType(module, st->asend_type) < 0) {
        return -1;
    }
    if (PyModule_AddFunctions(module, notify_functions) < 0
        || PyModule_AddIntConstant(module, "ITEM_QUEUED", IC_ITEM_QUEUED) < 0
        || PyModule_AddIntConstant(module, "ITEM_INFLIGHT", IC_ITEM_INFLIGHT) < 0
        || PyModule_AddIntConstant(module, "ITEM_DONE", IC_ITEM_DONE) < 0
        || PyModule_AddIntConstant(module, "ITEM_WITHDRAWN", IC_ITEM_WITHDRAWN) < 0) {
        return -1;
    }
    return 0;
}
