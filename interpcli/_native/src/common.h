/* Internal declarations shared by the C files of the interpcli core. */
#ifndef IC_COMMON_H
#define IC_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include "capi.h"

/* ---- errors (errors.c) ---- */
int ic_fail(int code, const char *fmt, ...);

/* ---- interpreter records (registry.c) ---- */
typedef struct ic_lent ic_lent;

typedef struct ic_interp {
    struct ic_interp *next;
    int64_t id;
    PyInterpreterState *interp;
    PyThreadState *home;        /* first thread state, kept to end the interpreter; NULL for main */
    char *name;                 /* malloc'd */
    int isolated;
    /* guarded by the registry lock */
    int running;
    int pins;                   /* interrupters attached right now */
    int closing;
    int64_t runs;
    unsigned long run_tid;
    /* interrupt delivery to a channel wait */
    _Atomic unsigned long intr_tid;
    _Atomic int intr_kind;
    _Atomic uint64_t intr_gen;
    /* send_buffer bookkeeping, guarded by ic_lent_mu */
    ic_lent *lent_live;         /* every live lent buffer owned by this interpreter */
    ic_lent *pending;           /* lents released elsewhere, waiting for this GIL */
    _Atomic long npending;
    long exported;              /* lents currently seen as memoryviews by a receiver */
} ic_interp;

void ic_reg_lock(void);
void ic_reg_unlock(void);
ic_interp *ic_reg_find_locked(int64_t id);
ic_interp *ic_reg_add_locked(ic_interp *rec);
void ic_reg_remove_locked(ic_interp *rec);
ic_interp *ic_reg_head_locked(void);
int ic_reg_name_taken_locked(const char *name);
/* Record of the interpreter whose GIL the caller holds (NULL if not ours). */
ic_interp *ic_reg_current(void);

/* ---- lent buffers (lent.c) ---- */
struct ic_lent {
    _Atomic long refs;
    PyObject *obj;              /* owned by `owner`; touched only with its GIL */
    Py_buffer view;
    ic_interp *owner;           /* NULL once the owner is gone (forced exit) */
    ic_lent *live_prev, *live_next;
    ic_lent *pending_next;
    int exported;
};
extern pthread_mutex_t ic_lent_mu;
/* Take a buffer of obj in the current interpreter (GIL held); NULL + exception on error. */
ic_lent *ic_lent_new(ic_interp *owner, PyObject *obj);
/* Drop a reference; caller holds some interpreter's GIL. Releases now when that is the
 * owner, otherwise queues the release for the owner's next channel operation or run. */
void ic_lent_decref(ic_lent *l);
void ic_lent_export(ic_lent *l, int delta);
/* Release every queued lent of rec; caller holds rec's GIL. */
void ic_lent_drain(ic_interp *rec);
/* Forget the owner of rec's remaining lents (the owner is being ended). */
void ic_lent_orphan_all(ic_interp *rec);

/* ---- channels (channel.c) ---- */
enum { IC_ITEM_QUEUED = 0, IC_ITEM_INFLIGHT = 1, IC_ITEM_DONE = 2, IC_ITEM_WITHDRAWN = 3 };

typedef struct ic_item {
    struct ic_item *next;
    const char *data;
    Py_ssize_t len;
    ic_lent *lent;              /* send_buffer: the lent memory, NULL for a copy */
    int heap;                   /* 0: on a blocking sender's stack; 1: malloc'd with its data
                                   after it (send_nowait); 2: data malloc'd apart */
    _Atomic int state;          /* blocking senders wait for DONE or WITHDRAWN */
} ic_item;

enum { IC_OPEN = 0, IC_CLOSED_SEND = 1, IC_CLOSED_RECV = 2 };

typedef struct ic_chan {
    struct ic_chan *next_all;
    int64_t id;
    long refs;                  /* guarded by the channel-list lock */
    pthread_mutex_t mu;
    ic_item *head, *tail;
    Py_ssize_t count;
    int closed;
    _Atomic unsigned int seq;   /* futex word: bumped on every change (an event count) */
    _Atomic int sleepers;
    _Atomic int spin_ns;        /* adaptive spin budget before parking */
} ic_chan;

typedef struct {
    ic_interp *rec;             /* waiter's interpreter record (may be NULL) */
    uint64_t gen;               /* interrupt generation at the start of the wait */
    unsigned long tid;
    int ignore_intr;
} ic_waitctx;

enum { IC_CH_OK = 0, IC_CH_CLOSED, IC_CH_EMPTY, IC_CH_INTR, IC_CH_SIGNAL };

ic_chan *ic_chan_new(void);
ic_chan *ic_chan_lookup(int64_t id);
void ic_chan_incref(ic_chan *ch);
void ic_chan_decref(ic_chan *ch);           /* some GIL held (frees queued items) */
int ic_chan_put(ic_chan *ch, ic_item *it);
/* timeout: < 0 forever, 0 no wait, else seconds. Caller released its GIL (unless 0). */
int ic_chan_get(ic_chan *ch, ic_item **out, double timeout, ic_waitctx *w);
int ic_chan_wait_taken(ic_chan *ch, ic_item *it, ic_waitctx *w);
/* Take a still-queued item back (1), or 0 when a receiver has it already. */
int ic_chan_withdraw(ic_chan *ch, ic_item *it);
void ic_chan_finish(ic_chan *ch, ic_item *it);  /* receiver done with a popped item */
/* Close; returns the withdrawn heap items for the caller to free with its GIL held. */
ic_item *ic_chan_close(ic_chan *ch, int how);
void ic_item_free(ic_item *it);             /* heap item; some GIL held */
void ic_chan_wake_all(void);
void ic_chan_copy_lent_of(ic_interp *rec);  /* rec's GIL held */
void ic_waitctx_init(ic_waitctx *w, ic_interp *rec);

/* ---- the per-interpreter module (module.c) ---- */
int ic_module_install(ic_interp *rec);      /* rec's GIL held; -1 with exception */

double ic_now(void);

#endif
