/* Channels: a FIFO of items per channel, a mutex, and an event count (a word to wait on,
 * platform_wait.h, that works as the channel's condition variable). Waiters spin briefly on the event count,
 * then park in the kernel with no CPU use until a change, a timeout or a signal.
 * No Python objects here: items point at raw bytes. */
#include "common.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>


static pthread_mutex_t chans_mu = PTHREAD_MUTEX_INITIALIZER;
static ic_chan *chans_head;
static int64_t next_chan_id = 1;

static void bump(ic_chan *ch)
{
    atomic_fetch_add(&ch->seq, 1);
    if (atomic_load(&ch->sleepers) > 0) {
        ic_word_wake_all(&ch->seq);
    }
    if (atomic_load_explicit(&ch->watches, memory_order_acquire) != NULL) {
        ic_notify_fire(ch);     /* asyncio waiters (notify.c) */
    }
}

ic_chan *ic_chan_new(void)
{
    ic_chan *ch = calloc(1, sizeof(*ch));
    if (ch == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&ch->mu, NULL) != 0) {
        free(ch);
        return NULL;
    }
    ch->refs = 1;
    atomic_init(&ch->spin_ns, IC_SPIN_NS);
    pthread_mutex_lock(&chans_mu);
    ch->id = next_chan_id++;
    ch->next_all = chans_head;
    chans_head = ch;
    pthread_mutex_unlock(&chans_mu);
    return ch;
}

ic_chan *ic_chan_lookup(int64_t id)
{
    pthread_mutex_lock(&chans_mu);
    ic_chan *ch = chans_head;
    while (ch != NULL && ch->id != id) {
        ch = ch->next_all;
    }
    if (ch != NULL) {
        ch->refs++;
    }
    pthread_mutex_unlock(&chans_mu);
    return ch;
}

void ic_chan_attach(ic_chan *ch, int mode)
{
    pthread_mutex_lock(&chans_mu);
    ch->refs++;
    if (mode & IC_MODE_SEND) {
        ch->senders++;
    }
    pthread_mutex_unlock(&chans_mu);
}

void ic_item_free(ic_item *it)
{
    if (it->lent != NULL) {
        ic_lent_decref(it->lent);
    }
    if (it->heap == 2) {
        free((void *)it->data);
    }
    free(it);
}

void ic_item_free_list(ic_item *it)
{
    while (it != NULL) {
        ic_item *next = it->next;
        ic_item_free(it);
        it = next;
    }
}

void ic_chan_detach(ic_chan *ch, int mode)
{
    pthread_mutex_lock(&chans_mu);
    int last_sender = (mode & IC_MODE_SEND) && --ch->senders == 0;
    pthread_mutex_unlock(&chans_mu);
    if (last_sender) {
        /* the last end that can send is gone: nothing more can come, as with a pipe.
         * Closed while this reference still keeps the channel alive. */
        ic_item_free_list(ic_chan_close(ch, IC_CLOSED_SEND));
    }
    pthread_mutex_lock(&chans_mu);
    if (--ch->refs > 0) {
        pthread_mutex_unlock(&chans_mu);
        return;
    }
    for (ic_chan **p = &chans_head; *p != NULL; p = &(*p)->next_all) {
        if (*p == ch) {
            *p = ch->next_all;
            break;
        }
    }
    pthread_mutex_unlock(&chans_mu);
    /* No end is left, so no blocked sender: every queued item is a heap item. */
    ic_item_free_list(ch->head);
    ic_notify_drop_watches(ch);
    pthread_mutex_destroy(&ch->mu);
    free(ch);
}

int ic_chan_put(ic_chan *ch, ic_item *it)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->closed != IC_OPEN) {
        pthread_mutex_unlock(&ch->mu);
        return IC_CH_CLOSED;
    }
    it->next = NULL;
    atomic_store(&it->state, IC_ITEM_QUEUED);
    if (ch->tail != NULL) {
        ch->tail->next = it;
    }
    else {
        ch->head = it;
    }
    ch->tail = it;
    ch->count++;
    pthread_mutex_unlock(&ch->mu);
    bump(ch);
    return IC_CH_OK;
}

static void unlink_item_locked(ic_chan *ch, ic_item *it)
{
    ic_item *prev = NULL;
    for (ic_item *p = ch->head; p != NULL; prev = p, p = p->next) {
        if (p == it) {
            if (prev != NULL) {
                prev->next = it->next;
            }
            else {
                ch->head = it->next;
            }
            if (ch->tail == it) {
                ch->tail = prev;
            }
            ch->count--;
            return;
        }
    }
}

int ic_chan_get(ic_chan *ch, ic_item **out, double timeout, ic_waitctx *w)
{
    double deadline = timeout > 0 ? ic_now() + timeout : 0;
    for (;;) {
        unsigned int snap = atomic_load(&ch->seq);
        pthread_mutex_lock(&ch->mu);
        ic_item *it = ch->head;
        if (it != NULL) {
            ch->head = it->next;
            if (ch->head == NULL) {
                ch->tail = NULL;
            }
            ch->count--;
            atomic_store(&it->state, IC_ITEM_INFLIGHT);
            pthread_mutex_unlock(&ch->mu);
            *out = it;
            return IC_CH_OK;
        }
        int closed = ch->closed;
        pthread_mutex_unlock(&ch->mu);
        if (closed != IC_OPEN) {
            return IC_CH_CLOSED;
        }
        if (timeout == 0) {
            return IC_CH_EMPTY;
        }
        int stop = ic_stop_reason(w);
        if (stop) {
            return stop;
        }
        int r = ic_park(ch, snap, deadline, w);
        if (r == ETIMEDOUT) {
            timeout = 0;        /* one last look, then report empty */
        }
        else if (r == EINTR) {
            return IC_CH_SIGNAL;
        }
    }
}

int ic_chan_wait_taken(ic_chan *ch, ic_item *it, ic_waitctx *w)
{
    for (;;) {
        unsigned int snap = atomic_load(&ch->seq);
        int st = atomic_load(&it->state);
        if (st == IC_ITEM_DONE) {
            return IC_CH_OK;
        }
        if (st == IC_ITEM_WITHDRAWN) {
            return IC_CH_CLOSED;
        }
        int stop = ic_stop_reason(w);
        if (stop) {
            pthread_mutex_lock(&ch->mu);
            if (atomic_load(&it->state) == IC_ITEM_QUEUED) {
                unlink_item_locked(ch, it);
                atomic_store(&it->state, IC_ITEM_WITHDRAWN);
                pthread_mutex_unlock(&ch->mu);
                return stop;
            }
            pthread_mutex_unlock(&ch->mu);
            /* a receiver holds it already: wait for it to finish, it will soon */
            w->ignore_intr = 1;
            continue;
        }
        if (ic_park(ch, snap, 0, w) == EINTR) {
            return IC_CH_SIGNAL;
        }
    }
}

int ic_chan_withdraw(ic_chan *ch, ic_item *it)
{
    int withdrawn = 0;
    pthread_mutex_lock(&ch->mu);
    if (atomic_load(&it->state) == IC_ITEM_QUEUED) {
        unlink_item_locked(ch, it);
        atomic_store(&it->state, IC_ITEM_WITHDRAWN);
        withdrawn = 1;
    }
    pthread_mutex_unlock(&ch->mu);
    return withdrawn;
}

void ic_chan_finish(ic_chan *ch, ic_item *it)
{
    if (it->heap == IC_HEAP_ASYNC) {
        ic_async_item_settle(it, IC_ITEM_DONE);     /* an awaiting sender (notify.c) */
        return;
    }
    if (it->heap) {
        ic_item_free(it);
        return;
    }
    /* a blocking sender waits on this item (on its stack): after the store it may return */
    atomic_store(&it->state, IC_ITEM_DONE);
    bump(ch);
}

ic_item *ic_chan_close(ic_chan *ch, int how)
{
    ic_item *dropped = NULL, **dtail = &dropped;
    pthread_mutex_lock(&ch->mu);
    if (how > ch->closed) {
        ch->closed = how;
    }
    ic_item *prev = NULL, *it = ch->head;
    while (it != NULL) {
        ic_item *next = it->next;
        /* blocking senders are told the channel closed; queued send_nowait data stays
         * receivable after a close of the send side, and is dropped with the receive side */
        int drop = !it->heap || it->heap == IC_HEAP_ASYNC || ch->closed == IC_CLOSED_RECV;
        if (drop) {
            if (prev != NULL) {
                prev->next = next;
            }
            else {
                ch->head = next;
            }
            if (ch->tail == it) {
                ch->tail = prev;
            }
            ch->count--;
            if (it->heap == IC_HEAP_ASYNC) {
                ic_async_item_settle(it, IC_ITEM_WITHDRAWN);   /* its sender is told */
            }
            else if (it->heap) {
                it->next = NULL;
                *dtail = it;
                dtail = &it->next;
            }
            else {
                atomic_store(&it->state, IC_ITEM_WITHDRAWN);
            }
        }
        else {
            prev = it;
        }
        it = next;
    }
    pthread_mutex_unlock(&ch->mu);
    bump(ch);
    return dropped;
}

void ic_chan_wake_all(void)
{
    pthread_mutex_lock(&chans_mu);
    for (ic_chan *ch = chans_head; ch != NULL; ch = ch->next_all) {
        atomic_fetch_add(&ch->seq, 1);
        ic_word_wake_all(&ch->seq);
        if (atomic_load(&ch->watches) != NULL) {
            ic_notify_fire(ch);     /* asyncio waiters look again (an interrupt may be due) */
        }
    }
    pthread_mutex_unlock(&chans_mu);
}

void ic_close_all_channels(void)
{
    pthread_mutex_lock(&chans_mu);
    for (ic_chan *ch = chans_head; ch != NULL; ch = ch->next_all) {
        /* closing the send side drops only blocking senders' items (not heap ones) */
        ic_item *dropped = ic_chan_close(ch, IC_CLOSED_SEND);
        (void)dropped;          /* always NULL: heap items stay receivable */
    }
    pthread_mutex_unlock(&chans_mu);
}

void ic_chan_copy_lent_of(ic_interp *rec)
{
    ic_lent *release = NULL;
    pthread_mutex_lock(&chans_mu);
    for (ic_chan *ch = chans_head; ch != NULL; ch = ch->next_all) {
        pthread_mutex_lock(&ch->mu);
        for (ic_item *it = ch->head; it != NULL; it = it->next) {
            if (it->lent == NULL || !it->heap || it->lent->owner != rec) {
                continue;
            }
            char *copy = malloc(it->len > 0 ? (size_t)it->len : 1);
            if (copy == NULL) {
                continue;       /* keep the lent; the owner's end orphans it */
            }
            memcpy(copy, it->data, (size_t)it->len);
            ic_lent *l = it->lent;
            it->lent = NULL;
            it->data = copy;
            it->heap = 2;       /* data malloc'd separately */
            l->pending_next = release;
            release = l;
        }
        pthread_mutex_unlock(&ch->mu);
    }
    pthread_mutex_unlock(&chans_mu);
    /* Release outside the locks: dropping the object may drop channel ends, whose
     * cleanup takes the channel-list lock. We hold the owner's GIL: released right here. */
    while (release != NULL) {
        ic_lent *next = release->pending_next;
        release->pending_next = NULL;
        ic_lent_decref(release);
        release = next;
    }
}
