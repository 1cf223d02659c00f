/* Buffers lent by send_buffer: the sender's object stays alive, owned by the sending
 * interpreter, while receivers read its memory. The object is only touched (buffer
 * release, decref) with the owner's GIL held: a release from another interpreter is
 * queued and done at the owner's next channel operation, run or end. */
#include "common.h"
#include <stdlib.h>

pthread_mutex_t ic_lent_mu = PTHREAD_MUTEX_INITIALIZER;

ic_lent *ic_lent_new(ic_interp *owner, PyObject *obj)
{
    ic_lent *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (PyObject_GetBuffer(obj, &l->view, PyBUF_SIMPLE) < 0) {
        free(l);
        return NULL;
    }
    l->obj = Py_NewRef(obj);
    atomic_init(&l->refs, 1);
    ic_rec_incref(owner);
    pthread_mutex_lock(&ic_lent_mu);
    l->owner = owner;
    l->live_next = owner->lent_live;
    if (owner->lent_live != NULL) {
        owner->lent_live->live_prev = l;
    }
    owner->lent_live = l;
    pthread_mutex_unlock(&ic_lent_mu);
    return l;
}

static void unlink_live_locked(ic_lent *l)
{
    if (l->live_prev != NULL) {
        l->live_prev->live_next = l->live_next;
    }
    else {
        l->owner->lent_live = l->live_next;
    }
    if (l->live_next != NULL) {
        l->live_next->live_prev = l->live_prev;
    }
    l->live_prev = l->live_next = NULL;
}

/* The owner's GIL is held; l is unlinked from every list. */
static void release_now(ic_lent *l)
{
    ic_interp *owner = l->owner;
    PyBuffer_Release(&l->view);
    Py_DECREF(l->obj);
    free(l);
    ic_rec_decref(owner);
}

void ic_lent_decref(ic_lent *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1) {
        return;
    }
    pthread_mutex_lock(&ic_lent_mu);
    ic_interp *owner = l->owner;
    if (owner == NULL) {
        /* the owner ended while this memory was still seen: it was kept, and stays so */
        pthread_mutex_unlock(&ic_lent_mu);
        free(l);
        return;
    }
    unlink_live_locked(l);
    /* compare ids, not pointers: an ended interpreter's address can be reused */
    if (owner->id == PyInterpreterState_GetID(PyInterpreterState_Get())) {
        pthread_mutex_unlock(&ic_lent_mu);
        release_now(l);
        return;
    }
    l->pending_next = owner->pending;
    owner->pending = l;
    atomic_fetch_add(&owner->npending, 1);
    pthread_mutex_unlock(&ic_lent_mu);
}

void ic_lent_export(ic_lent *l, int delta)
{
    pthread_mutex_lock(&ic_lent_mu);
    if (l->owner != NULL) {
        l->owner->exported += delta;
    }
    pthread_mutex_unlock(&ic_lent_mu);
}

void ic_lent_drain(ic_interp *rec)
{
    if (rec == NULL || atomic_load(&rec->npending) == 0) {
        return;
    }
    pthread_mutex_lock(&ic_lent_mu);
    ic_lent *l = rec->pending;
    rec->pending = NULL;
    atomic_store(&rec->npending, 0);
    pthread_mutex_unlock(&ic_lent_mu);
    while (l != NULL) {
        ic_lent *next = l->pending_next;
        release_now(l);
        l = next;
    }
}

void ic_lent_orphan_all(ic_interp *rec)
{
    pthread_mutex_lock(&ic_lent_mu);
    ic_lent *l = rec->lent_live;
    while (l != NULL) {
        ic_lent *next = l->live_next;
        l->owner = NULL;
        l->live_prev = l->live_next = NULL;
        ic_rec_decref(rec);     /* the caller holds another reference */
        l = next;
    }
    rec->lent_live = NULL;
    rec->exported = 0;
    pthread_mutex_unlock(&ic_lent_mu);
}

void ic_lent_end_of(ic_interp *rec)
{
    ic_lent_drain(rec);
    ic_chan_copy_lent_of(rec);
    /* after the orphaning no release can be queued on rec any more: drain what was */
    ic_lent_orphan_all(rec);
    ic_lent_drain(rec);
}
