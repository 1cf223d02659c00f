/* Sending and receiving on a channel end: the copying, lending (send_buffer) and
 * blocking forms, waits with the GIL released that wake on signals, interrupts of the
 * waiter's run and the close of its interpreter. */
#include "common.h"
#include <stdlib.h>
#include <string.h>

PyObject *ic_raise_closed(ic_modstate *st, EndObject *self)
{
    PyErr_Format(st->ChannelClosedError, "channel %lld is closed", (long long)self->ch->id);
    return NULL;
}

static PyObject *raise_ending(ic_modstate *st, EndObject *self)
{
    PyErr_Format(st->ChannelClosedError, "channel %lld: this interpreter is being closed",
                 (long long)self->ch->id);
    return NULL;
}

static PyObject *raise_interrupt(ic_waitctx *w)
{
    /* the interrupter also set an asynchronous exception: take it back, raise it here */
    ic_take_async_exc(w->tid);
    if (PyErr_Occurred()) {
        return NULL;        /* a signal handler's exception, raised meanwhile */
    }
    if (atomic_load(&w->rec->intr_kind) == IC_INTR_TIMEOUT) {
        PyErr_SetString(PyExc_TimeoutError, "run timed out");
    }
    else {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
    return NULL;
}

int ic_send_prepare(ic_modstate *st, PyObject *obj)
{
    ic_lent_drain(st->rec);
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "channels carry bytes-like objects, not '%.200s'", Py_TYPE(obj)->tp_name);
        return -1;
    }
    return 0;
}

ic_item *ic_item_copy(const char *data, Py_ssize_t len)
{
    ic_item *it = malloc(sizeof(*it) + (size_t)len);
    if (it != NULL) {
        memset(it, 0, sizeof(*it));
        memcpy((char *)(it + 1), data, (size_t)len);
        it->data = (char *)(it + 1);
        it->len = len;
    }
    return it;
}

PyObject *ic_send(EndObject *self, PyObject *obj, int lend, int block)
{
    ic_modstate *st = state_of_type(Py_TYPE(self));
    if (ic_send_prepare(st, obj) < 0) {
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
            it = ic_item_copy(data, len);
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
            return ic_raise_closed(st, self);
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
        result = ic_raise_closed(st, self);
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
                result = ic_raise_closed(st, self);
            }
            else if (rc == IC_CH_INTR) {
                result = raise_interrupt(&w);
            }
            else if (rc == IC_CH_ENDING) {
                result = raise_ending(st, self);
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

static PyObject *item_to_object(ic_modstate *st, EndObject *self, ic_item *it)
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
PyObject *ic_recv(EndObject *self, double timeout, PyObject *dflt)
{
    ic_modstate *st = state_of_type(Py_TYPE(self));
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
        return ic_raise_closed(st, self);
    case IC_CH_INTR:
        return raise_interrupt(&w);
    case IC_CH_ENDING:
        return raise_ending(st, self);
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

