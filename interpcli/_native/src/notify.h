/* What notify.c (the notifier's memory, watches and async items) and notifier.c (the
 * Notifier and AsyncSend types) share. */
#ifndef IC_NOTIFY_H
#define IC_NOTIFY_H

#include "common.h"

typedef struct ic_notifier {
    _Atomic long refs;
    ic_wake wake;               /* the fd the event loop watches (platform_wake.h) */
    pthread_mutex_t mu;
    /* guarded by mu */
    uint64_t *ready;
    size_t nready, cap;
    int pending;                /* the wake fd was posted since the last drain */
    int overflow;               /* a token could not be stored: every waiter looks again */
    int closed;
} ic_notifier;

typedef struct ic_watch {
    struct ic_watch *next;
    ic_notifier *n;             /* a reference */
    uint64_t token;
} ic_watch;

typedef struct {
    PyObject_HEAD
    ic_item *it;                /* the sender's ownership */
    ic_chan *ch;
    PyObject *end;              /* keeps the channel alive while the item may be queued */
} ASendObject;

extern _Atomic long ic_live_notifiers, ic_live_watches, ic_live_items;

/* A new notifier with one reference and its wake fd; NULL with errno set. */
ic_notifier *ic_notifier_new(void);
void ic_notifier_incref(ic_notifier *n);
void ic_notifier_decref(ic_notifier *n);
/* Append token to n's ready list and post its wake fd (once per drain). */
void ic_notifier_post(ic_notifier *n, uint64_t token);
void ic_watch_free(ic_watch *w);
/* Drop one of an async item's two references (the sender's or the channel's). */
void ic_async_item_unref(ic_item *it);

#endif
