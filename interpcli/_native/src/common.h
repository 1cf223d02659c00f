/* Internal declarations shared by the C files of the interpcli core.
 * Python.h comes first, before any system header (it sets _POSIX_C_SOURCE and friends). */
#ifndef IC_COMMON_H
#define IC_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef Py_GIL_DISABLED
#error "interpcli does not support free-threaded Python builds (3.13t, 3.14t) yet"
#endif
#if PY_VERSION_HEX < 0x030C0000
#error "interpcli needs Python 3.12 or newer (per-interpreter GIL)"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include "core.h"
#include "platform.h"

/* 3.12 cannot make a second thread state after deleting an interpreter's first one
 * (fatal: "init_threadstate: thread state already initialized"): keep the first for the
 * end. 3.13+ end with a fresh thread state made on the ending thread (3.14 caches C stack
 * bounds per thread state). docs/design.md lists these pitfalls. */
#if PY_VERSION_HEX < 0x030D0000
#define IC_KEEP_HOME 1
#else
#define IC_KEEP_HOME 0
#endif

/* ---- errors (errors.c) ---- */
int ic_fail(int code, const char *fmt, ...);
/* str(obj) as a malloc'd UTF-8 string ("<unprintable>" when str() fails); clears errors */
char *ic_dup_str(PyObject *obj);
char *ic_dup_text(const char *s, size_t n);
/* The Python error now set, as ic_errmsg() text prefixed by what; clears it. */
int ic_fail_from_python(int code, const char *what);

/* ---- interpreter records (registry.c) ---- */
typedef struct ic_lent ic_lent;

enum { IC_KIND_MAIN = 0, IC_KIND_OWNED = 1, IC_KIND_FOREIGN = 2 };

/* One interpreter the core knows. Reference counted: the registry holds one reference
 * while the record is listed, the core module's state in that interpreter one, and each
 * live lent buffer one; the record is freed when the last goes, never under a user. */
typedef struct ic_interp {
    struct ic_interp *next;     /* registry list, guarded by the registry lock */
    _Atomic long refs;
    int64_t id;                 /* CPython's interpreter id: never reused in a process */
    PyInterpreterState *interp; /* valid while the interpreter lives */
    PyThreadState *home;        /* IC_KEEP_HOME: the first thread state; else NULL */
    char *name;                 /* malloc'd */
    int isolated;
    int kind;                   /* IC_KIND_*: only OWNED ones are ever ended by the core */
    /* guarded by the registry lock */
    int listed;
    int modules;                /* FOREIGN: core modules alive in it (unlisted at 0) */
    int starting;               /* being created: not visible to lookups by others */
    int spare;                  /* a warm spare (spare.c): unlisted, its name reserves
                                   nothing, until ic_take_spare names it */
    int running;
    int pins;                   /* interrupters attached right now */
    int closing;
    int64_t runs;
    /* held around every thread state the core makes or deletes in it (tstate.c) */
    pthread_mutex_t ts_mu;
    /* guarded by the interpreter's own GIL: the run whose code is being evaluated */
    int eval_active;
    ic_cancel *eval_token;
    unsigned long eval_tid;
    int intr_armed;             /* ic_interrupt set an asynchronous exception in this run */
    /* interrupt delivery to a channel wait */
    _Atomic unsigned long intr_tid;
    _Atomic int intr_kind;
    _Atomic uint64_t intr_gen;
    _Atomic int ending;         /* being closed: channel waits inside it end */
    /* send_buffer bookkeeping, guarded by ic_lent_mu */
    ic_lent *lent_live;         /* every live lent buffer owned by this interpreter */
    ic_lent *pending;           /* lents released elsewhere, waiting for this GIL */
    _Atomic long npending;
    long exported;              /* lents currently seen as memoryviews by a receiver */
} ic_interp;

/* A new record with one reference (the caller's); NULL when out of memory. */
ic_interp *ic_rec_new(int64_t id, PyInterpreterState *interp, const char *name,
                      int isolated, int kind);
void ic_rec_incref(ic_interp *rec);
void ic_rec_decref(ic_interp *rec);

void ic_reg_lock(void);
void ic_reg_unlock(void);
/* A listed record that is neither starting nor a spare (no new reference). */
ic_interp *ic_reg_find_locked(int64_t id);
/* List rec (the registry takes a reference). */
void ic_reg_add_locked(ic_interp *rec);
/* Unlist rec and drop the registry's reference (rec stays valid while the caller has one). */
void ic_reg_remove_locked(ic_interp *rec);
ic_interp *ic_reg_head_locked(void);
/* Drop a pin the caller took on rec (rec->pins++ under the registry lock) and wake a close
 * waiting for it. Registry lock not held. */
void ic_rec_unpin(ic_interp *rec);
/* A count that moves each time a pin goes: read it under the registry lock, then (lock
 * released, no thread state attached) ic_reg_wait_unpin(seen, s) sleeps until it moves,
 * s seconds at most. */
unsigned int ic_reg_unpins_locked(void);
void ic_reg_wait_unpin(unsigned int seen, double seconds);
/* A listed record that the core may drive (main or its own, not closing), in *out;
 * IC_ERR_NOTFOUND or IC_ERR_MAIN (made by someone else) with ic_errmsg() text otherwise. */
int ic_reg_usable_locked(int64_t id, ic_interp **out);
int ic_reg_name_taken_locked(const char *name);
/* A spare record (made, not taken, not closing) with that id, or NULL. */
ic_interp *ic_reg_spare_locked(int64_t id);
/* The record of the interpreter whose GIL the caller holds, for its core module's state,
 * with a new reference: the listed one (main, one the core is creating, or a FOREIGN one
 * adopted before), else a new listed FOREIGN one for an interpreter someone else made.
 * NULL with an exception set on failure. */
ic_interp *ic_reg_adopt_current(void);
/* A core module of rec's interpreter is freed (its GIL held): a FOREIGN record whose last
 * module goes settles what it lent and is unlisted. Drops the module's reference. */
void ic_reg_release_module(ic_interp *rec);

/* ---- the core's thread states (tstate.c) ---- */
/* A new thread state of rec's interpreter, not attached (no GIL needed); NULL when out of
 * memory. */
PyThreadState *ic_tstate_new(ic_interp *rec);
/* Clear ts, the current thread state (rec's interpreter's GIL held), delete it and
 * release that GIL. */
void ic_tstate_delete_current(ic_interp *rec, PyThreadState *ts);
/* Take back an asynchronous exception set on thread tid (run.c); no exception set. */
void ic_take_async_exc(unsigned long tid);
/* The raised exception (the interpreter's GIL held) into res: outcome.c */
void ic_capture_exception(ic_result *res);

/* ---- the close's steps before Py_EndInterpreter (exitsteps.c); ts current ---- */
/* Run threading's exit callbacks and join its threads for up to timeout seconds (< 0: no
 * limit); how many callbacks ran and threads were joined. */
int ic_join_threads(double timeout);
/* Thread states of ts's interpreter other than ts. */
int ic_other_threads(PyThreadState *ts);
/* Wait until deadline (ic_now() time; < 0: none) for them to be gone; the count left. */
int ic_settle_threads(PyThreadState *ts, double deadline);
/* The interpreter's exit steps, repeated until none is left: IC_OK with the collector off
 * (ready for Py_EndInterpreter), or a refusal's error code (IC_ERR_THREADS, IC_ERR_LENT). */
int ic_end_steps(ic_interp *rec, PyThreadState *ts, double deadline, int force);

/* ---- threading's main thread (mainthread.c) ---- */
/* Make the calling thread threading's main thread in rec's interpreter (its GIL held;
 * only for interpreters the core made). Never fails; an exception set stays set. */
void ic_adopt_main_thread(ic_interp *rec);
/* At a run's end, before its thread state is deleted (its GIL held): 3.12 keeps threading's
 * main thread alive past that deletion. Never fails. */
void ic_main_thread_run_end(ic_interp *rec);
/* Once, from the main interpreter (3.13+): threading's main thread in interpreters the core
 * did not make is the thread that imports threading there. -1 with an exception set. */
int ic_nested_main_thread_init(void);

/* ---- lent buffers (lent.c) ---- */
struct ic_lent {
    _Atomic long refs;
    PyObject *obj;              /* owned by `owner`; touched only with its GIL */
    Py_buffer view;
    ic_interp *owner;           /* holds a reference; NULL once the owner is gone */
    ic_lent *live_prev, *live_next;
    ic_lent *pending_next;
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
/* rec is ending (its GIL held): queued lents become copies, releases queued so far are
 * done, and lents still seen elsewhere are forgotten (their memory is kept, never freed
 * under a reader). */
void ic_lent_end_of(ic_interp *rec);
/* Forget the owner of rec's remaining lents. */
void ic_lent_orphan_all(ic_interp *rec);

/* ---- channels (channel.c) ---- */
enum { IC_ITEM_QUEUED = 0, IC_ITEM_INFLIGHT = 1, IC_ITEM_DONE = 2, IC_ITEM_WITHDRAWN = 3 };

struct ic_notifier;

typedef struct ic_item {
    struct ic_item *next;
    const char *data;
    Py_ssize_t len;
    ic_lent *lent;              /* send_buffer: the lent memory, NULL for a copy */
    int heap;                   /* 0: on a blocking sender's stack; 1: malloc'd with its data
                                   after it (send_nowait); 2: data malloc'd apart;
                                   IC_HEAP_ASYNC: an awaiting sender's (notify.c) */
    _Atomic int state;          /* blocking senders wait for DONE or WITHDRAWN */
    /* IC_HEAP_ASYNC only: told when taken or withdrawn; two owners (sender, channel) */
    struct ic_notifier *notify;
    uint64_t token;
    _Atomic int owners;
} ic_item;

#define IC_HEAP_ASYNC 3

enum { IC_OPEN = 0, IC_CLOSED_SEND = 1, IC_CLOSED_RECV = 2 };

/* channel end modes: bit 1 receives, bit 2 sends */
enum { IC_MODE_RECV = 1, IC_MODE_SEND = 2, IC_MODE_BOTH = 3 };

typedef struct ic_chan {
    struct ic_chan *next_all;
    int64_t id;
    long refs;                  /* guarded by the channel-list lock */
    long senders;               /* ends that can send; guarded by the channel-list lock */
    pthread_mutex_t mu;
    ic_item *head, *tail;
    Py_ssize_t count;
    int closed;
    _Atomic unsigned int seq;   /* waited-on word (platform_wait.h): bumped on every change (an event count) */
    _Atomic int sleepers;
    _Atomic int spin_ns;        /* adaptive spin budget before parking */
    _Atomic int kind;           /* what its maker made it for (0: plain); set once */
    /* asyncio waiters (notify.c): one-shot watches fired on the next change; guarded by
     * mu, read without it only to see whether there are any */
    struct ic_watch *_Atomic watches;
} ic_chan;

typedef struct {
    ic_interp *rec;             /* waiter's interpreter record (the module state's ref) */
    uint64_t gen;               /* interrupt generation at the start of the wait */
    unsigned long tid;
    int ignore_intr;
} ic_waitctx;

enum { IC_CH_OK = 0, IC_CH_CLOSED, IC_CH_EMPTY, IC_CH_INTR, IC_CH_SIGNAL, IC_CH_ENDING };

/* ---- waiting (wait.c) ---- */
/* the full spin budget before parking, in nanoseconds (adapts per channel) */
#define IC_SPIN_NS 40000
/* Why a wait must stop now: IC_CH_ENDING (its interpreter is being closed), IC_CH_INTR
 * (its run was interrupted) or 0. */
int ic_stop_reason(ic_waitctx *w);
/* Wait until ch->seq moves from snap (deadline: absolute ic_now() time, 0 for none).
 * Returns 0 (moved, or a stop reason appeared), ETIMEDOUT or EINTR. */
int ic_park(ic_chan *ch, unsigned int snap, double deadline, ic_waitctx *w);

ic_chan *ic_chan_new(void);
/* The channel with that id with a new reference, or NULL. */
ic_chan *ic_chan_lookup(int64_t id);
/* An end of mode `mode` takes a reference (and counts as a sender when it can send). */
void ic_chan_attach(ic_chan *ch, int mode);
/* Drop a reference taken by ic_chan_new, ic_chan_lookup or ic_chan_attach(mode); when the
 * last end that can send goes, the send side closes. Some GIL held (frees queued items). */
void ic_chan_detach(ic_chan *ch, int mode);
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
void ic_item_free_list(ic_item *it);
void ic_chan_wake_all(void);
void ic_chan_copy_lent_of(ic_interp *rec);  /* rec's GIL held */
void ic_waitctx_init(ic_waitctx *w, ic_interp *rec);

/* ---- asyncio notifiers (notify.c) ---- */
/* ch changed: fire its watches (each posts its token to its notifier). No lock held. */
void ic_notify_fire(ic_chan *ch);
/* ch is being freed: drop the watches left on it. */
void ic_notify_drop_watches(ic_chan *ch);
/* An IC_HEAP_ASYNC item was taken (DONE) or dropped by a close (WITHDRAWN): tell its
 * sender and drop the channel's ownership. May be called with ch->mu held. */
void ic_async_item_settle(ic_item *it, int state);
/* Add the Notifier and AsyncSend types to the module (its exec slot). */
int ic_notify_init(PyObject *module);
/* recv_async / send_async methods of the end types (they call interpcli.aio). */
PyObject *ic_end_recv_async(PyObject *self, PyObject *noargs);
PyObject *ic_end_send_async(PyObject *self, PyObject *obj);
#define IC_RECV_ASYNC_METHOD \
    {"recv_async", (PyCFunction)ic_end_recv_async, METH_NOARGS, \
     "recv_async()\n--\n\nAwaitable recv(): the next message, waking the event loop when it " \
     "comes (no thread, no polling). Cancelling it takes no message."}
#define IC_SEND_ASYNC_METHOD \
    {"send_async", (PyCFunction)ic_end_send_async, METH_O, \
     "send_async(obj)\n--\n\nAwaitable send(): completes when a receiver took the message. " \
     "Cancelling it withdraws a message not yet taken."}

/* ---- the core module (module.c, ends.c) ---- */
extern PyModuleDef ic_moduledef;
/* Install the core module into the interpreter whose GIL the caller holds, under its full
 * name and as `_interpcli`; -1 with an exception set. */
int ic_module_install(void);
/* Add the channel-end and lent-buffer types to the module (its exec slot). */
int ic_ends_init(PyObject *module);
/* Add RunToken and the lifecycle functions (calls.c) to the module (its exec slot). */
int ic_calls_init(PyObject *module);
/* signals forwarded to scripts (sigfwd.c) */
int ic_sigfwd_init(PyObject *module);
/* interpcli._signals_sub (a new reference) when the interpreter whose GIL the caller holds
 * runs an `interp run` script, else NULL with no exception set (sigfwd.c). */
PyObject *ic_signals_sub(void);
/* Add the warm-spare functions (spare.c) to the module (its exec slot). */
int ic_spare_init(PyObject *module);
/* Add the Lock and RLock types and their signal functions (lock.c) to the module. */
int ic_lock_init(PyObject *module);
/* The end types' per-module state */
typedef struct {
    PyTypeObject *recv_type, *send_type, *both_type, *lent_type, *cancel_type;
    PyTypeObject *notifier_type, *asend_type;   /* notify.c */
    PyObject *InterpError, *ChannelError, *ChannelClosedError, *ChannelEmptyError,
        *ChannelTimeoutError, *InterpreterError, *InterpreterNotFoundError,
        *InterpreterBusyError;
    PyObject *end_func;         /* the module's _end function, for pickling ends */
    ic_interp *rec;             /* this interpreter's record (a reference) */
    /* lock.c: the lock types, and the main thread's lock waits a signal ends */
    PyObject *lock_type, *rlock_type;
    PyObject *lock_hook;        /* called on the main thread when a signal ended its wait */
    _Atomic unsigned long lock_main_tid;    /* the script's main thread (0: none) */
    _Atomic(void *) lock_waiting;           /* the lock word it waits on, or NULL */
    _Atomic int lock_pending;               /* a signal came for it since it last looked */
} ic_modstate;
/* Raise the module's exception for an IC_ERR_* code with ic_errmsg() text; NULL. */
PyObject *ic_raise_core(ic_modstate *st, int rc);
/* -1 with InterpreterError set unless called in the main interpreter (what: the act). */
int ic_refuse_outside_main(ic_modstate *st, const char *what);
/* A new end of ch in the module whose state is st. */
PyObject *ic_end_new(ic_modstate *st, ic_chan *ch, int mode);
/* The channel of an end object of this module's types, or NULL with TypeError set. */
ic_chan *ic_end_chan(ic_modstate *st, PyObject *obj, int *mode);

/* channel ends and lent-buffer exporters (ends.c) */
typedef struct {
    PyObject_HEAD
    ic_chan *ch;
    int mode;
} EndObject;

typedef struct {
    PyObject_HEAD
    ic_lent *lent;
} LentObject;

static inline ic_modstate *state_of_type(PyTypeObject *tp)
{
    return (ic_modstate *)PyType_GetModuleState(tp);
}

/* send/recv on an end (transfer.c): block and lend as the method names say; timeout < 0
 * waits forever, 0 not at all; dflt is returned when empty (NULL: raise). */
PyObject *ic_send(EndObject *self, PyObject *obj, int lend, int block);
/* What every send does first (transfer.c, notifier.c's async send): the queued releases of
 * lent memory, then the bytes-like check. 0, or -1 with TypeError set. */
int ic_send_prepare(ic_modstate *st, PyObject *obj);
/* A heap item (heap = 0: the caller sets it) holding a copy of len bytes at data, its
 * header zeroed; NULL when out of memory (no exception set). */
ic_item *ic_item_copy(const char *data, Py_ssize_t len);
PyObject *ic_recv(EndObject *self, double timeout, PyObject *dflt);
PyObject *ic_raise_closed(ic_modstate *st, EndObject *self);

#endif
