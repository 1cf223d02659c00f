/* asyncio support: a Notifier per event loop, woken by the core, never by polling.
 *
 * A Notifier is raw memory (reference counted) with a wake fd (an eventfd or a pipe) the event loop watches
 * (loop.add_reader) and a list of ready tokens. A waiter puts a one-shot watch (notifier,
 * token) on a channel; whoever changes the channel (channel.c's bump) takes the channel's
 * watches, appends their tokens to their notifiers' lists and posts each wake fd once per
 * batch. The loop's reader callback drains the list and the waiters retry their
 * non-blocking operation, re-arming if they lost a race. An awaiting send puts an
 * IC_HEAP_ASYNC item whose notifier is told when a receiver has taken it (or a close
 * dropped it). No Python object crosses interpreters: tokens are plain integers, and the
 * memory is malloc'd; each watch and each async item holds a reference to its notifier,
 * so the fd stays open until the last of them is gone, even after the loop closed. */
#include "common.h"
#include "notify.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Atomic long ic_live_notifiers, ic_live_watches, ic_live_items;

ic_notifier *ic_notifier_new(void)
{
    ic_notifier *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        return NULL;
    }
    if (ic_wake_open(&n->wake) != 0) {
        free(n);
        return NULL;
    }
    if (pthread_mutex_init(&n->mu, NULL) != 0) {
        ic_wake_close(&n->wake);
        free(n);
        return NULL;
    }
    atomic_init(&n->refs, 1);
    atomic_fetch_add(&ic_live_notifiers, 1);
    return n;
}

void ic_notifier_incref(ic_notifier *n)
{
    atomic_fetch_add(&n->refs, 1);
}

void ic_notifier_decref(ic_notifier *n)
{
    if (atomic_fetch_sub(&n->refs, 1) != 1) {
        return;
    }
    ic_wake_close(&n->wake);
    pthread_mutex_destroy(&n->mu);
    free(n->ready);
    free(n);
    atomic_fetch_sub(&ic_live_notifiers, 1);
}

/* Any thread, any lock but n->mu held (ch->mu may be). */
void ic_notifier_post(ic_notifier *n, uint64_t token)
{
    int wake = 0;
    pthread_mutex_lock(&n->mu);
    if (!n->closed) {
        if (n->nready == n->cap) {
            size_t cap = n->cap ? n->cap * 2 : 16;
            uint64_t *grown = realloc(n->ready, cap * sizeof(*grown));
            if (grown != NULL) {
                n->ready = grown;
                n->cap = cap;
            }
        }
        if (n->nready < n->cap) {
            n->ready[n->nready++] = token;
        }
        else {
            n->overflow = 1;    /* out of memory: never lose a wake-up, wake everyone */
        }
        if (!n->pending) {
            n->pending = 1;
            wake = 1;
        }
    }
    pthread_mutex_unlock(&n->mu);
    if (wake) {
        ic_wake_post(&n->wake);
    }
}

void ic_watch_free(ic_watch *w)
{
    ic_notifier_decref(w->n);
    free(w);
    atomic_fetch_sub(&ic_live_watches, 1);
}

void ic_notify_fire(ic_chan *ch)
{
    pthread_mutex_lock(&ch->mu);
    ic_watch *w = atomic_exchange(&ch->watches, NULL);
    pthread_mutex_unlock(&ch->mu);
    /* watches were pushed at the front: post the oldest first */
    ic_watch *fifo = NULL;
    while (w != NULL) {
        ic_watch *next = w->next;
        w->next = fifo;
        fifo = w;
        w = next;
    }
    while (fifo != NULL) {
        ic_watch *next = fifo->next;
        ic_notifier_post(fifo->n, fifo->token);
        ic_watch_free(fifo);
        fifo = next;
    }
}

void ic_notify_drop_watches(ic_chan *ch)
{
    ic_watch *w = atomic_exchange(&ch->watches, NULL);
    while (w != NULL) {
        ic_watch *next = w->next;
        ic_watch_free(w);
        w = next;
    }
}

void ic_async_item_unref(ic_item *it)
{
    if (atomic_fetch_sub(&it->owners, 1) != 1) {
        return;
    }
    ic_notifier_decref(it->notify);
    free(it);
    atomic_fetch_sub(&ic_live_items, 1);
}

void ic_async_item_settle(ic_item *it, int state)
{
    atomic_store(&it->state, state);
    ic_notifier_post(it->notify, it->token);
    ic_async_item_unref(it);             /* the channel's ownership */
}
