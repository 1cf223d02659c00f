/* The plain-C interface of the interpcli core: what calls.c (and spare.c) wrap as the
 * module's functions. Only plain C types cross this line; no PyObject*. Every function
 * that can fail returns an IC_ERR_* code and leaves a message for ic_errmsg(). */
#ifndef IC_CORE_H
#define IC_CORE_H

#include <stddef.h>
#include <stdint.h>

#define IC_OK 0
#define IC_ERR_NOTFOUND 1
#define IC_ERR_BUSY 2
#define IC_ERR_CREATE 3
#define IC_ERR_NOMEM 4
#define IC_ERR_INTERNAL 5
#define IC_ERR_LENT 6
#define IC_ERR_MAIN 7
#define IC_ERR_THREADS 8

#define IC_INTR_KEYBOARD 1
#define IC_INTR_TIMEOUT 2

#define IC_NAME_MAX 200

typedef struct {
    int exit_code;       /* SystemExit's code, 1 for another exception, else 0 */
    char *exc_type;      /* qualified name of the uncaught exception's type, or NULL */
    char *exc_message;   /* str() of the exception, or NULL */
    char *traceback;     /* formatted traceback text, or NULL */
    char *out;           /* captured sys.stdout (UTF-8), when capture was asked */
    size_t out_len;
    char *err;           /* captured sys.stderr (UTF-8) */
    size_t err_len;
    double duration;     /* seconds spent running (prelude + source) */
} ic_result;

/* One run's stop request, owned by the caller (raw memory, never a Python object). The
 * caller stores an IC_INTR_* kind in `kind` to stop the run before it begins; the address
 * is the run's token: ic_interrupt() with it reaches that run and nothing else. */
typedef struct {
    _Atomic int kind;
} ic_cancel;

/* Create an interpreter: own GIL when isolated, else the legacy shared-GIL one; daemon
 * threads and os.exec*() allowed unless strict (CPython's isolated restrictions); never fork.
 * Called with the main interpreter's thread state attached; returns with it attached.
 * A spare is unlisted and its name reserves nothing until ic_take_spare names it. */
int ic_create(int isolated, int strict, const char *name, int spare, int64_t *id_out);
/* Make spare `id` an ordinary listed interpreter named `name`: IC_ERR_BUSY when the name
 * is taken (it stays a spare), IC_ERR_NOTFOUND when it is no spare (any more). */
int ic_take_spare(int64_t id, const char *name);
/* End an interpreter made by ic_create. Channel waits inside it wake with
 * ChannelClosedError; its threading threads are joined for up to join_timeout seconds
 * (< 0: no limit); then its exit steps (atexit callbacks, the release of what it lent,
 * threading's exit callbacks and joins) run until none is left, within the same time;
 * queued send_buffer items become copies. Refused (IC_ERR_LENT) while memoryviews onto
 * its memory are alive, unless force, and (IC_ERR_THREADS) while any of its threads is
 * still alive afterwards. Called with no thread state attached. Creation (ic_create)
 * fails with IC_ERR_NOMEM when memory is short. */
int ic_destroy(int64_t id, int force, double join_timeout);
/* ic_destroy for a spare (never taken): IC_ERR_NOTFOUND when id is no spare. */
int ic_destroy_spare(int64_t id);
/* Run prelude then source in the interpreter's __main__ from the calling OS thread.
 * Called with no thread state attached. cancel may be NULL. */
int ic_run(int64_t id, const char *source, const char *filename, const char *prelude,
           int capture, ic_cancel *cancel, ic_result *res);
void ic_result_clear(ic_result *res);
/* Raise KeyboardInterrupt or TimeoutError in the interpreter's running code, waking it
 * from a channel wait. With cancel, only the run started with that token is reached.
 * Returns IC_OK also when nothing (or another run) was running. No thread state attached. */
int ic_interrupt(int64_t id, int kind, ic_cancel *cancel);
/* Close the send side of every channel: blocked senders and receivers, in any interpreter
 * and thread, wake with ChannelClosedError; queued send_nowait data stays receivable. */
void ic_close_all_channels(void);
const char *ic_errmsg(void);

#endif
