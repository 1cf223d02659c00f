/* The plain-C interface of the interpcli core: what cffi sees (this file is the cdef).
 * Only plain C types cross this line; no PyObject*. Every function that can fail returns
 * an IC_ERR_* code and leaves a message for ic_errmsg(). */

#define IC_OK 0
#define IC_ERR_NOTFOUND 1
#define IC_ERR_BUSY 2
#define IC_ERR_CREATE 3
#define IC_ERR_NOMEM 4
#define IC_ERR_INTERNAL 5
#define IC_ERR_LENT 6
#define IC_ERR_MAIN 7

#define IC_RUN_COMPLETED 0
#define IC_RUN_EXCEPTION 1
#define IC_RUN_EXIT 2

#define IC_INTR_KEYBOARD 1
#define IC_INTR_TIMEOUT 2

#define IC_NAME_MAX 200

typedef struct {
    int status;          /* IC_RUN_* */
    int exit_code;       /* SystemExit's code (IC_RUN_EXIT), 1 for an exception, else 0 */
    char *exc_type;      /* qualified name of the uncaught exception's type, or NULL */
    char *exc_message;   /* str() of the exception, or NULL */
    char *traceback;     /* formatted traceback text, or NULL */
    char *out;           /* captured sys.stdout (UTF-8), when capture was asked */
    size_t out_len;
    char *err;           /* captured sys.stderr (UTF-8) */
    size_t err_len;
    double duration;     /* seconds spent running (prelude + source) */
} ic_result;

typedef struct {
    int64_t id;
    int isolated;
    int running;
    int64_t runs;
    char name[201];
} ic_info;

/* Install the core module into the main interpreter and register it; idempotent. */
int ic_init(void);
/* Create an interpreter: own GIL when isolated, else the legacy shared-GIL preset. */
int ic_create(int isolated, const char *name, int64_t *id_out);
/* End an interpreter: joins its threads, converts its queued send_buffer items to copies.
 * Refuses (IC_ERR_LENT) while memoryviews onto its memory are alive, unless force. */
int ic_destroy(int64_t id, int force);
/* Run prelude then source in the interpreter's __main__ from the calling OS thread.
 * cancel (may be NULL): the caller stores an IC_INTR_* kind there to stop a run that has
 * not begun yet; a run that has begun is stopped with ic_interrupt(). */
int ic_run(int64_t id, const char *source, const char *filename, const char *prelude,
           int capture, const int *cancel, ic_result *res);
void ic_result_clear(ic_result *res);
/* Raise KeyboardInterrupt or TimeoutError in the interpreter's running script, waking it
 * from a channel wait. Returns IC_OK also when nothing was running. */
int ic_interrupt(int64_t id, int kind);
/* Fill at most max records; returns the number of interpreters (may exceed max). */
int ic_list(ic_info *out, int max);
int ic_get_info(int64_t id, ic_info *out);
int64_t ic_main_id(void);
/* Close the send side of every channel: blocked senders and receivers, in any interpreter
 * and thread, wake with ChannelClosedError; queued send_nowait data stays receivable.
 * For process exit, so no thread stays blocked on a channel nobody will feed. */
void ic_close_all_channels(void);
const char *ic_errmsg(void);
