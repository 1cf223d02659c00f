/* ThreadSanitizer stress driver for interpcli's channels and interpreter registry.
 *
 * Plain C: compiled with -fsanitize=thread together with channel.c, registry.c, lent.c and
 * errors.c (tools/tsan.sh). No libpython: the few CPython functions those files call are
 * defined here (see "CPython stand-ins"), so Python never runs and TSan sees only
 * instrumented code. Many threads at once, for a bounded time, hammer:
 *   - delivery rounds: channels with several producers (send_nowait-style heap items of
 *     both layouts, blocking sends with stack items and ic_chan_wait_taken, blocking sends
 *     withdrawn with ic_chan_withdraw) and several consumers (blocking, polling and timed
 *     gets), some with a wait context that an interrupter thread interrupts or "ends";
 *     the producers' ends detach at the round's end and the last one closes the send side;
 *   - channel churn: ic_chan_new, attach/detach of every mode, ic_chan_lookup from other
 *     threads, closes of either side, puts, gets and withdrawn blocking sends;
 *   - ic_close_all_channels, ic_chan_wake_all and ic_chan_copy_lent_of from the side;
 *   - the registry: ic_rec_new/incref/decref, ic_reg_add_locked, ic_reg_remove_locked,
 *     ic_reg_find_locked, ic_reg_name_taken_locked and list walks under ic_reg_lock;
 *   - lent buffers (send_buffer) between simulated interpreters, each a GIL (a mutex):
 *     lent, received as "memoryviews", released in the receiver (queued for the owner,
 *     drained there), taken back from blocking sends, and their owners ended
 *     (ic_lent_end_of: queued ones copied, seen ones orphaned) while others still read;
 *   - asyncio wake-ups (notify.c over platform_wake.h): posters append tokens to a shared
 *     notifier while a drainer blocks on its wake fd and takes the ready list, as the
 *     event loop's reader does; every token must arrive exactly once, none may be left
 *     waiting for a wake-up that never comes.
 * The waits and wake-ups are the platform layer's that tools/tsan.sh builds (futex or
 * portable, INTERPCLI_WAIT).
 * Invariants checked: a message whose send was accepted (put OK for a heap item, wait OK for
 * a blocking one) is received exactly once, one that was refused (closed, interrupted,
 * withdrawn) never; each consumer sees each producer's messages in order; payloads arrive
 * intact; receivers of a closed channel end; every channel is freed once all its ends are
 * gone; the registry is empty at the end; a lent object is only touched (buffer taken and
 * released, reference dropped, freed) with its owner's GIL, never twice, and its memory
 * stays intact while any reader holds it. Exit status: 0 clean, 1 invariant failure,
 * 3 hang; ThreadSanitizer's own (TSAN_OPTIONS exitcode) on any report.
 *
 *   driver [SECONDS]     (default 20; TSAN_DRIVER_SECONDS also sets it)
 */
#include "common.h"
#include "notify.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GROUPS 3            /* channels per delivery round */
#define PRODUCERS 3         /* per channel */
#define CONSUMERS 2         /* per channel */
#define NWORKERS (GROUPS * (PRODUCERS + CONSUMERS))
#define CAP 8192            /* messages per producer per round, at most */
#define ROUND_S 0.25
#define CHURNERS 2
#define LOOKUPERS 2
#define REG_ADDERS 2
#define REG_FINDERS 2
#define LENDERS 3
#define RING 64
#define MAGIC 0x1C0FFEE5u
#define MAXPAD 48
#define HANG_S 60.0

/* ---------------- small helpers ---------------- */

static _Atomic int g_stop;
static _Atomic long g_progress;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tsan driver: INVARIANT FAILED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    _exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t rng_seed(uint64_t salt)
{
    uint64_t s = (uint64_t)ic_now() * 1000003u ^ (salt * 0x9E3779B97F4A7C15ull)
                 ^ (uint64_t)(uintptr_t)&salt;
    return s != 0 ? s : 88172645463325252ull;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(t, NULL, fn, arg) != 0) {
        fail("pthread_create failed");
    }
}

static unsigned long self_tid(void)
{
    return (unsigned long)pthread_self();     /* what PyThread_get_thread_ident returns */
}

/* ---------------- messages ---------------- */

typedef struct {
    uint32_t magic;
    uint32_t round;
    uint16_t group;
    uint16_t producer;
    uint32_t seq;
} msg_hdr;

static size_t build_msg(char *buf, uint32_t round, int group, int producer, uint32_t seq,
                        uint64_t *rng)
{
    msg_hdr h = {MAGIC, round, (uint16_t)group, (uint16_t)producer, seq};
    size_t pad = rng_next(rng) % (MAXPAD + 1);
    memcpy(buf, &h, sizeof(h));
    for (size_t i = 0; i < pad; i++) {
        buf[sizeof(h) + i] = (char)(seq * 31u + (uint32_t)i);
    }
    return sizeof(h) + pad;
}

static msg_hdr check_msg(const char *data, Py_ssize_t len)
{
    msg_hdr h;
    if (len < (Py_ssize_t)sizeof(h) || len > (Py_ssize_t)(sizeof(h) + MAXPAD)) {
        fail("message of %zd bytes", len);
    }
    memcpy(&h, data, sizeof(h));
    if (h.magic != MAGIC) {
        fail("message with a bad magic number %#x", h.magic);
    }
    for (Py_ssize_t i = 0; i < len - (Py_ssize_t)sizeof(h); i++) {
        if (data[sizeof(h) + i] != (char)(h.seq * 31u + (uint32_t)i)) {
            fail("message %u of producer %u: payload byte %zd corrupted", h.seq, h.producer, i);
        }
    }
    return h;
}

/* A heap item as send_nowait makes it: layout 1 (data after the item) or 2 (data apart). */
static ic_item *heap_item(const char *buf, size_t len, int layout)
{
    ic_item *it;
    if (layout == 1) {
        it = malloc(sizeof(*it) + len);
        if (it == NULL) {
            fail("out of memory");
        }
        memset(it, 0, sizeof(*it));
        memcpy((char *)(it + 1), buf, len);
        it->data = (char *)(it + 1);
    }
    else {
        it = calloc(1, sizeof(*it));
        char *d = malloc(len > 0 ? len : 1);
        if (it == NULL || d == NULL) {
            fail("out of memory");
        }
        memcpy(d, buf, len);
        it->data = d;
    }
    it->len = (Py_ssize_t)len;
    it->heap = layout;
    return it;
}

/* ---------------- worker records (wait contexts) ---------------- */

static ic_interp *worker_rec[NWORKERS];
static _Atomic unsigned long worker_tid[NWORKERS];
/* guards a worker's life for a signal sent to it (pthread_kill of a gone thread is UB) */
static pthread_mutex_t worker_mu[NWORKERS];
static _Atomic long st_signals, st_eintr;

static void worker_enter(int slot)
{
    pthread_mutex_lock(&worker_mu[slot]);
    atomic_store(&worker_tid[slot], self_tid());
    pthread_mutex_unlock(&worker_mu[slot]);
}

static void worker_leave(int slot)
{
    pthread_mutex_lock(&worker_mu[slot]);
    atomic_store(&worker_tid[slot], 0);
    pthread_mutex_unlock(&worker_mu[slot]);
}

/* A signal interrupts a parked waiter (EINTR: IC_CH_SIGNAL), as Ctrl-C does Python's. */
static void on_signal(int sig)
{
    (void)sig;
}

static void signal_worker(int slot)
{
    pthread_mutex_lock(&worker_mu[slot]);
    unsigned long tid = atomic_load(&worker_tid[slot]);
    if (tid != 0) {
        pthread_kill((pthread_t)tid, SIGUSR1);
        atomic_fetch_add(&st_signals, 1);
    }
    pthread_mutex_unlock(&worker_mu[slot]);
}

static ic_waitctx *waitctx_for(ic_waitctx *w, int slot)
{
    if (slot % 2 == 0) {
        return NULL;            /* half of the workers wait with no context at all */
    }
    ic_interp *rec = worker_rec[slot];
    w->rec = rec;
    w->gen = atomic_load(&rec->intr_gen);
    w->tid = self_tid();
    w->ignore_intr = 0;
    return w;
}

/* ---------------- delivery rounds ---------------- */

static _Atomic int64_t chan_ring[RING];
static _Atomic int64_t max_chan_id;

static void note_chan_id(int64_t id)
{
    int64_t m = atomic_load(&max_chan_id);
    while (id > m && !atomic_compare_exchange_weak(&max_chan_id, &m, id)) {
    }
}

enum { ST_NONE = 0, ST_ACCEPTED = 1, ST_REFUSED = 2 };

typedef struct {
    ic_chan *ch;
    int64_t id;
    uint32_t round;
    int group;
    double deadline;
    _Atomic uint8_t status[PRODUCERS][CAP];
    _Atomic uint8_t received[PRODUCERS][CAP];
    _Atomic uint32_t attempted[PRODUCERS];
} group_t;

typedef struct {
    group_t *g;
    int index;                  /* producer or consumer index in the group */
    int slot;                   /* worker record slot */
} worker_arg;

static _Atomic long st_accepted, st_refused, st_intr, st_withdrawn, st_received, st_rounds,
    st_closed_early, st_lookups, st_lookup_hits, st_channels, st_recs;

/* A blocking send of buf: put a stack item, then wait until it is taken (or withdraw it
 * after a short spin, as a signalled sender does). 1 when delivered, 0 when refused;
 * *closed set when the channel refused because it is closed. */
static int blocking_send(ic_chan *ch, const char *buf, size_t len, int withdraw,
                         ic_waitctx *w, uint64_t *rng, int *closed)
{
    ic_item it;
    memset(&it, 0, sizeof(it));
    it.data = buf;
    it.len = (Py_ssize_t)len;
    it.heap = 0;
    if (ic_chan_put(ch, &it) != IC_CH_OK) {
        *closed = 1;
        return 0;
    }
    if (withdraw) {
        unsigned spins = (unsigned)(rng_next(rng) % 4000);
        for (unsigned i = 0; i < spins && atomic_load(&it.state) == IC_ITEM_QUEUED; i++) {
            if ((i & 63) == 63) {
                sched_yield();
            }
        }
        if (ic_chan_withdraw(ch, &it)) {
            atomic_fetch_add(&st_withdrawn, 1);
            return 0;
        }
        w = NULL;               /* a receiver has it (or a close withdrew it): wait it out */
    }
    for (;;) {
        int rc = ic_chan_wait_taken(ch, &it, w);
        switch (rc) {
        case IC_CH_OK:
            if (atomic_load(&it.state) != IC_ITEM_DONE) {
                fail("wait_taken said OK with the item in state %d", atomic_load(&it.state));
            }
            return 1;
        case IC_CH_CLOSED:
            if (atomic_load(&it.state) != IC_ITEM_WITHDRAWN) {
                fail("wait_taken said CLOSED with the item in state %d", atomic_load(&it.state));
            }
            *closed = 1;
            return 0;
        case IC_CH_INTR:
        case IC_CH_ENDING:
            if (atomic_load(&it.state) != IC_ITEM_WITHDRAWN) {
                fail("wait_taken stopped (%d) with the item in state %d", rc,
                     atomic_load(&it.state));
            }
            atomic_fetch_add(&st_intr, 1);
            return 0;
        case IC_CH_SIGNAL:
            atomic_fetch_add(&st_eintr, 1);
            /* as send does when the signal handler raised: take it back if still queued */
            if (ic_chan_withdraw(ch, &it)) {
                atomic_fetch_add(&st_intr, 1);
                return 0;
            }
            w = NULL;
            continue;
        default:
            fail("wait_taken returned %d", rc);
        }
    }
}

static void *producer_main(void *p)
{
    worker_arg *a = p;
    group_t *g = a->g;
    ic_chan *ch = g->ch;
    uint64_t rng = rng_seed((uint64_t)a->slot * 7919u + g->round);
    worker_enter(a->slot);
    char buf[sizeof(msg_hdr) + MAXPAD];
    int closed = 0;
    uint32_t seq;
    for (seq = 0; seq < CAP && !closed && ic_now() < g->deadline; seq++) {
        atomic_store(&g->attempted[a->index], seq + 1);
        size_t len = build_msg(buf, g->round, g->group, a->index, seq, &rng);
        int kind = (int)(rng_next(&rng) % 8);
        int ok;
        if (kind < 4) {         /* send_nowait, both layouts */
            ic_item *it = heap_item(buf, len, 1 + (kind & 1));
            ok = ic_chan_put(ch, it) == IC_CH_OK;
            if (!ok) {
                ic_item_free(it);
                closed = 1;
            }
        }
        else {
            ic_waitctx w;
            ok = blocking_send(ch, buf, len, kind >= 6, waitctx_for(&w, a->slot), &rng,
                               &closed);
        }
        atomic_store(&g->status[a->index][seq], ok ? ST_ACCEPTED : ST_REFUSED);
        atomic_fetch_add(ok ? &st_accepted : &st_refused, 1);
    }
    if (closed && ic_now() < g->deadline) {
        atomic_fetch_add(&st_closed_early, 1);
    }
    worker_leave(a->slot);
    ic_chan_detach(ch, IC_MODE_SEND);   /* the last producer's detach closes the send side */
    return NULL;
}

static void *consumer_main(void *p)
{
    worker_arg *a = p;
    group_t *g = a->g;
    ic_chan *ch = g->ch;
    uint64_t rng = rng_seed((uint64_t)a->slot * 104729u + g->round);
    worker_enter(a->slot);
    int64_t last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        last[i] = -1;
    }
    for (;;) {
        static const double timeouts[] = {-1, -1, 0, 0.0005, 0.003};
        double timeout = timeouts[rng_next(&rng) % 5];
        ic_waitctx w;
        ic_item *it = NULL;
        int rc = ic_chan_get(ch, &it, timeout, waitctx_for(&w, a->slot));
        if (rc == IC_CH_OK) {
            if (atomic_load(&it->state) != IC_ITEM_INFLIGHT) {
                fail("a received item is in state %d", atomic_load(&it->state));
            }
            msg_hdr h = check_msg(it->data, it->len);
            if (h.round != g->round || h.group != g->group || h.producer >= PRODUCERS
                || h.seq >= CAP) {
                fail("message from elsewhere: round %u group %u producer %u seq %u "
                     "(expected round %u group %d)", h.round, h.group, h.producer, h.seq,
                     g->round, g->group);
            }
            if ((int64_t)h.seq <= last[h.producer]) {
                fail("round %u group %d: consumer %d got producer %u's message %u after %lld",
                     g->round, g->group, a->index, h.producer, h.seq,
                     (long long)last[h.producer]);
            }
            last[h.producer] = h.seq;
            if (atomic_fetch_add(&g->received[h.producer][h.seq], 1) != 0) {
                fail("round %u group %d: producer %u's message %u received twice", g->round,
                     g->group, h.producer, h.seq);
            }
            atomic_fetch_add(&st_received, 1);
            ic_chan_finish(ch, it);     /* frees a heap item; releases a blocking sender */
        }
        else if (rc == IC_CH_CLOSED) {
            break;
        }
        else if (rc == IC_CH_EMPTY || rc == IC_CH_ENDING) {
            sched_yield();
        }
        else if (rc == IC_CH_SIGNAL) {
            atomic_fetch_add(&st_eintr, 1);
        }
        else if (rc != IC_CH_INTR) {
            fail("ic_chan_get returned %d", rc);
        }
    }
    worker_leave(a->slot);
    ic_chan_detach(ch, IC_MODE_RECV);
    return NULL;
}

static void run_round(uint32_t round)
{
    static group_t groups[GROUPS];
    worker_arg args[NWORKERS];
    pthread_t threads[NWORKERS];
    double deadline = ic_now() + ROUND_S;
    int n = 0;
    for (int gi = 0; gi < GROUPS; gi++) {
        group_t *g = &groups[gi];
        memset(g, 0, sizeof(*g));
        g->ch = ic_chan_new();
        if (g->ch == NULL) {
            fail("ic_chan_new failed");
        }
        atomic_fetch_add(&st_channels, 1);
        g->id = g->ch->id;
        note_chan_id(g->id);
        g->round = round;
        g->group = gi;
        g->deadline = deadline;
        /* the ends, as create_channel and _end make them: one per worker */
        for (int i = 0; i < PRODUCERS; i++) {
            ic_chan_attach(g->ch, IC_MODE_SEND);
        }
        for (int i = 0; i < CONSUMERS; i++) {
            ic_chan_attach(g->ch, IC_MODE_RECV);
        }
        ic_chan_detach(g->ch, 0);
    }
    for (int gi = 0; gi < GROUPS; gi++) {
        for (int i = 0; i < CONSUMERS; i++, n++) {
            args[n] = (worker_arg){&groups[gi], i, n};
            start(&threads[n], consumer_main, &args[n]);
        }
        for (int i = 0; i < PRODUCERS; i++, n++) {
            args[n] = (worker_arg){&groups[gi], i, n};
            start(&threads[n], producer_main, &args[n]);
        }
    }
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
    }
    for (int gi = 0; gi < GROUPS; gi++) {
        group_t *g = &groups[gi];
        for (int p = 0; p < PRODUCERS; p++) {
            uint32_t tried = atomic_load(&g->attempted[p]);
            for (uint32_t s = 0; s < tried; s++) {
                int st = atomic_load(&g->status[p][s]);
                int got = atomic_load(&g->received[p][s]);
                if (st == ST_ACCEPTED && got != 1) {
                    fail("round %u group %d: producer %d's message %u was accepted and "
                         "received %d times", round, gi, p, s, got);
                }
                if (st == ST_REFUSED && got != 0) {
                    fail("round %u group %d: producer %d's message %u was refused but "
                         "received", round, gi, p, s);
                }
                if (st == ST_NONE) {
                    fail("round %u group %d: producer %d's message %u has no outcome",
                         round, gi, p, s);
                }
            }
        }
        /* every end is gone: the channel must be gone too */
        ic_chan *left = ic_chan_lookup(g->id);
        if (left != NULL) {
            fail("round %u: channel %lld outlived all its ends (refs %ld, senders %ld)",
                 round, (long long)g->id, left->refs, left->senders);
        }
    }
    atomic_fetch_add(&st_rounds, 1);
    atomic_fetch_add(&g_progress, 1);
}

/* ---------------- channel churn ---------------- */


/* A few operations on ch through an end of `mode` (churners and lookupers alike). */
static void churn_ops(ic_chan *ch, int mode, int nops, uint64_t *rng)
{
    char buf[sizeof(msg_hdr) + MAXPAD];
    for (int k = 0; k < nops; k++) {
        int op = (int)(rng_next(rng) % 10);
        if (op < 3 && (mode & IC_MODE_SEND)) {
            size_t len = build_msg(buf, 0, 0, 0, (uint32_t)k, rng);
            ic_item *it = heap_item(buf, len, 1 + (int)(rng_next(rng) % 2));
            if (ic_chan_put(ch, it) != IC_CH_OK) {
                ic_item_free(it);
            }
        }
        else if (op < 4 && (mode & IC_MODE_SEND)) {
            size_t len = build_msg(buf, 0, 0, 0, (uint32_t)k, rng);
            int closed = 0;
            blocking_send(ch, buf, len, 1, NULL, rng, &closed);
        }
        else if (op < 8 && (mode & IC_MODE_RECV)) {
            ic_item *it = NULL;
            double timeout = op == 7 ? 0.0002 : 0;
            if (ic_chan_get(ch, &it, timeout, NULL) == IC_CH_OK) {
                check_msg(it->data, it->len);
                ic_chan_finish(ch, it);
            }
        }
        else if (op == 8 && rng_next(rng) % 8 == 0) {
            int how = mode == IC_MODE_RECV ? IC_CLOSED_RECV : IC_CLOSED_SEND;
            ic_item_free_list(ic_chan_close(ch, how));
        }
        else if (op == 9) {
            ic_chan *again = ic_chan_lookup(ch->id);
            if (again != ch) {
                fail("lookup of a live channel %lld found %p, not %p", (long long)ch->id,
                     (void *)again, (void *)ch);
            }
            ic_chan_detach(again, 0);
        }
    }
}

static void *churner_main(void *p)
{
    uint64_t rng = rng_seed((uint64_t)(uintptr_t)p + 11);
    while (!atomic_load(&g_stop)) {
        ic_chan *ch = ic_chan_new();
        if (ch == NULL) {
            fail("ic_chan_new failed");
        }
        atomic_fetch_add(&st_channels, 1);
        ic_chan_attach(ch, IC_MODE_RECV);
        ic_chan_attach(ch, IC_MODE_SEND);
        int64_t id = ch->id;
        note_chan_id(id);
        ic_chan_detach(ch, 0);
        atomic_store(&chan_ring[rng_next(&rng) % RING], id);
        churn_ops(ch, IC_MODE_BOTH, (int)(rng_next(&rng) % 32), &rng);
        if (rng_next(&rng) % 2) {
            ic_chan_detach(ch, IC_MODE_SEND);
            ic_chan_detach(ch, IC_MODE_RECV);
        }
        else {
            ic_chan_detach(ch, IC_MODE_RECV);
            ic_chan_detach(ch, IC_MODE_SEND);
        }
    }
    return NULL;
}

static void *lookuper_main(void *p)
{
    uint64_t rng = rng_seed((uint64_t)(uintptr_t)p + 23);
    while (!atomic_load(&g_stop)) {
        int64_t id = atomic_load(&chan_ring[rng_next(&rng) % RING]);
        if (id == 0) {
            sched_yield();
            continue;
        }
        atomic_fetch_add(&st_lookups, 1);
        ic_chan *ch = ic_chan_lookup(id);
        if (ch == NULL) {
            continue;
        }
        atomic_fetch_add(&st_lookup_hits, 1);
        if (ch->id != id) {
            fail("lookup of channel %lld found channel %lld", (long long)id, (long long)ch->id);
        }
        int mode = 1 + (int)(rng_next(&rng) % 3);
        ic_chan_attach(ch, mode);       /* an end rebuilt by id, as _end does */
        ic_chan_detach(ch, 0);
        churn_ops(ch, mode, (int)(rng_next(&rng) % 8), &rng);
        if (mode == IC_MODE_RECV && rng_next(&rng) % 4 == 0) {
            ic_item *it = NULL;
            if (ic_chan_get(ch, &it, 0.005, NULL) == IC_CH_OK) {
                check_msg(it->data, it->len);
                ic_chan_finish(ch, it);
            }
        }
        ic_chan_detach(ch, mode);
    }
    return NULL;
}

/* ---------------- CPython stand-ins ----------------
 * The core's channel, registry, lent and error code calls a handful of CPython functions.
 * The driver defines them itself, so no libpython is linked and Python never runs: the
 * ones the driver's paths reach simulate interpreters (a thread "attached" to one holds
 * its GIL, a mutex) and objects (lent buffers' owners); the rest must never be called. */

#define NLI 3               /* simulated interpreters for lent buffers */
#define LENT_LEN 40
#define OBJ_MAGIC 0x0B1EC7u

typedef struct {
    int64_t id;
} fake_interp;

typedef struct {
    PyObject ob;
    uint32_t magic;
    int64_t owner_id;
    char buf[LENT_LEN];
} fake_obj;

static fake_interp finterp[NLI];
static pthread_mutex_t gil[NLI];
static __thread fake_interp *cur_fi;
static _Atomic long st_objs, st_objs_freed, st_lents_sent, st_lents_seen, st_lents_copied,
    st_lent_ends;

static void never(const char *what)
{
    fail("the core called %s, which the driver's paths never should", what);
}

static int64_t cur_id(const char *what)
{
    if (cur_fi == NULL) {
        fail("%s with no interpreter attached (no GIL held)", what);
    }
    return cur_fi->id;
}

PyInterpreterState *PyInterpreterState_Get(void)
{
    cur_id("PyInterpreterState_Get");
    return (PyInterpreterState *)cur_fi;
}

int64_t PyInterpreterState_GetID(PyInterpreterState *interp)
{
    return ((fake_interp *)interp)->id;
}

static fake_obj *as_fake(PyObject *o, const char *what)
{
    fake_obj *fo = (fake_obj *)o;
    if (fo->magic != OBJ_MAGIC) {
        fail("%s on an object that is not alive (magic %#x)", what, fo->magic);
    }
    if (fo->owner_id != cur_id(what)) {
        fail("%s on interpreter %lld's object with interpreter %lld's GIL", what,
             (long long)fo->owner_id, (long long)cur_fi->id);
    }
    return fo;
}

int PyObject_GetBuffer(PyObject *obj, Py_buffer *view, int flags)
{
    fake_obj *fo = as_fake(obj, "PyObject_GetBuffer");
    memset(view, 0, sizeof(*view));
    view->buf = fo->buf;
    view->len = LENT_LEN;
    view->readonly = 1;
    view->itemsize = 1;
    view->obj = obj;            /* not a reference: the lent holds one */
    return 0;
}

void PyBuffer_Release(Py_buffer *view)
{
    if (view->obj == NULL) {
        fail("PyBuffer_Release of a released view");
    }
    as_fake(view->obj, "PyBuffer_Release");
    view->obj = NULL;
    view->buf = NULL;
}

void _Py_Dealloc(PyObject *o)
{
    fake_obj *fo = as_fake(o, "_Py_Dealloc");
    fo->magic = 0xDEADu;
    memset(fo->buf, 0xDD, sizeof(fo->buf));
    free(fo);
    atomic_fetch_add(&st_objs_freed, 1);
}

PyObject *PyErr_NoMemory(void)
{
    fail("out of memory");
    return NULL;
}

unsigned long PyThread_get_thread_ident(void) { return self_tid(); }
PyInterpreterState *PyInterpreterState_Main(void) { never("PyInterpreterState_Main"); return NULL; }
void PyErr_Clear(void) { never("PyErr_Clear"); }
PyObject *PyErr_GetRaisedException(void) { never("PyErr_GetRaisedException"); return NULL; }
PyObject *PyObject_Str(PyObject *o) { never("PyObject_Str"); return NULL; }
PyObject *PyType_GetName(PyTypeObject *t) { never("PyType_GetName"); return NULL; }
const char *PyUnicode_AsUTF8AndSize(PyObject *o, Py_ssize_t *n) { never("PyUnicode_AsUTF8AndSize"); return NULL; }

/* ---------------- lent buffers (send_buffer) across simulated interpreters ---------------- */

static ic_interp *lrec[NLI];         /* guarded by gil[i] */
static int lblocked[NLI];            /* blocking send_buffers of interpreter i in progress */
static _Atomic int64_t next_interp_id = 5000;
#define LCH 2
static ic_chan *lch[LCH];           /* guarded by lch_mu; replaced when closed */
static pthread_mutex_t lch_mu = PTHREAD_MUTEX_INITIALIZER;

static ic_chan *lent_chan(int c)
{
    pthread_mutex_lock(&lch_mu);
    ic_chan *ch = lch[c];
    ic_chan_attach(ch, 0);
    pthread_mutex_unlock(&lch_mu);
    return ch;
}

/* ch was closed (ic_close_all_channels): a new channel takes its place. Some GIL held. */
static void renew_lent_chan(int c, ic_chan *ch)
{
    ic_chan *fresh = ic_chan_new();
    if (fresh == NULL) {
        fail("ic_chan_new failed");
    }
    atomic_fetch_add(&st_channels, 1);
    note_chan_id(fresh->id);
    pthread_mutex_lock(&lch_mu);
    ic_chan *old = lch[c] == ch ? ch : NULL;
    if (old != NULL) {
        lch[c] = fresh;
        fresh = NULL;
    }
    pthread_mutex_unlock(&lch_mu);
    ic_chan_detach(old != NULL ? old : fresh, 0);
}
#define MAXVIEWS 16
typedef struct {
    ic_lent *l;
    char first;
} held_view;
static held_view views[NLI][MAXVIEWS];   /* memoryviews alive in interpreter i: gil[i] */
static int nviews[NLI];

static void attach_interp(int i)
{
    pthread_mutex_lock(&gil[i]);
    cur_fi = &finterp[i];
}

static void detach_interp(int i)
{
    cur_fi = NULL;
    pthread_mutex_unlock(&gil[i]);
}

static ic_lent *new_lent(int i, char fill)
{
    fake_obj *fo = malloc(sizeof(*fo));
    if (fo == NULL) {
        fail("out of memory");
    }
    memset(fo, 0, sizeof(*fo));
    Py_SET_REFCNT(&fo->ob, 1);
    fo->magic = OBJ_MAGIC;
    fo->owner_id = finterp[i].id;
    memset(fo->buf, fill, sizeof(fo->buf));
    atomic_fetch_add(&st_objs, 1);
    ic_lent *l = ic_lent_new(lrec[i], &fo->ob);
    if (l == NULL) {
        fail("ic_lent_new failed");
    }
    Py_DECREF(&fo->ob);         /* the sender's own reference: the lent keeps it alive */
    return l;
}

static void check_fill(const char *data, Py_ssize_t len, const char *what)
{
    if (len != LENT_LEN) {
        fail("%s: %zd bytes", what, len);
    }
    for (Py_ssize_t k = 1; k < len; k++) {
        if (data[k] != data[0]) {
            fail("%s: byte %zd is %#x, not %#x (memory freed or reused under a reader?)",
                 what, k, (unsigned char)data[k], (unsigned char)data[0]);
        }
    }
}

/* release a memoryview held in interpreter i (its GIL held), as lent_dealloc does */
static void release_view(int i, int v)
{
    held_view hv = views[i][v];
    views[i][v] = views[i][--nviews[i]];
    check_fill(hv.l->view.buf, hv.l->view.len, "a held memoryview");
    if (((const char *)hv.l->view.buf)[0] != hv.first) {
        fail("a held memoryview changed under its reader");
    }
    ic_lent_export(hv.l, -1);
    ic_lent_decref(hv.l);
}

/* interpreter i ends (its GIL held), as a foreign one does: its memoryviews go, what it
 * lent is settled (queued ones copied, seen ones orphaned), and a new interpreter takes
 * its place */
static void end_interp(int i)
{
    while (nviews[i] > 0) {
        release_view(i, nviews[i] - 1);
    }
    ic_interp *old = lrec[i];
    ic_lent_end_of(old);
    pthread_mutex_lock(&ic_lent_mu);
    int clean = old->lent_live == NULL && old->pending == NULL && old->exported == 0;
    pthread_mutex_unlock(&ic_lent_mu);
    if (!clean) {
        fail("interpreter %lld ended with lents still listed", (long long)old->id);
    }
    int64_t id = atomic_fetch_add(&next_interp_id, 1);
    lrec[i] = ic_rec_new(id, NULL, "lender", 1, IC_KIND_FOREIGN);
    if (lrec[i] == NULL) {
        fail("ic_rec_new failed");
    }
    finterp[i].id = id;
    cur_fi = &finterp[i];
    ic_rec_decref(old);
    atomic_fetch_add(&st_lent_ends, 1);
}

static void *lender_main(void *p)
{
    uint64_t rng = rng_seed((uint64_t)(uintptr_t)p + 53);
    while (!atomic_load(&g_stop)) {
        int i = (int)(rng_next(&rng) % NLI);
        int c = (int)(rng_next(&rng) % LCH);
        ic_chan *ch = lent_chan(c);
        int closed = 0;
        attach_interp(i);
        ic_lent_drain(lrec[i]);          /* as every channel operation does */
        int op = (int)(rng_next(&rng) % 16);
        char fill = (char)('a' + rng_next(&rng) % 26);
        if (op < 3) {                    /* send_buffer_nowait */
            ic_lent *l = new_lent(i, fill);
            ic_item *it = calloc(1, sizeof(*it));
            if (it == NULL) {
                fail("out of memory");
            }
            it->data = l->view.buf;
            it->len = l->view.len;
            it->lent = l;
            it->heap = 1;
            if (ic_chan_put(ch, it) != IC_CH_OK) {
                ic_item_free(it);
                closed = 1;
            }
            atomic_fetch_add(&st_lents_sent, 1);
        }
        else if (op < 5) {               /* send_buffer: blocking, with the GIL released */
            ic_lent *l = new_lent(i, fill);
            ic_item it;
            memset(&it, 0, sizeof(it));
            it.data = l->view.buf;
            it.len = l->view.len;
            it.lent = l;
            if (ic_chan_put(ch, &it) == IC_CH_OK) {
                lblocked[i]++;
                detach_interp(i);
                for (int k = (int)(rng_next(&rng) % 200); k > 0 && atomic_load(&it.state) == IC_ITEM_QUEUED; k--) {
                    sched_yield();
                }
                attach_interp(i);
                if (!ic_chan_withdraw(ch, &it)) {
                    detach_interp(i);
                    ic_chan_wait_taken(ch, &it, NULL);
                    attach_interp(i);
                }
                lblocked[i]--;
            }
            else {
                closed = 1;
            }
            if (it.lent != NULL) {       /* not taken by a receiver: still ours */
                ic_lent_decref(it.lent);
            }
            atomic_fetch_add(&st_lents_sent, 1);
        }
        else if (op < 11) {              /* recv_nowait */
            ic_item *it = NULL;
            if (ic_chan_get(ch, &it, 0, NULL) == IC_CH_OK) {
                if (it->lent != NULL) {
                    ic_lent *l = it->lent;
                    it->lent = NULL;
                    ic_lent_export(l, 1);
                    ic_chan_finish(ch, it);
                    check_fill(l->view.buf, l->view.len, "a received memoryview");
                    if (nviews[i] < MAXVIEWS) {
                        views[i][nviews[i]++] = (held_view){l, ((const char *)l->view.buf)[0]};
                    }
                    else {
                        ic_lent_export(l, -1);
                        ic_lent_decref(l);
                    }
                    atomic_fetch_add(&st_lents_seen, 1);
                }
                else {
                    check_fill(it->data, it->len, "a lent turned copy");
                    ic_chan_finish(ch, it);
                    atomic_fetch_add(&st_lents_copied, 1);
                }
            }
        }
        else if (op < 15) {
            if (nviews[i] > 0) {
                release_view(i, (int)(rng_next(&rng) % (uint64_t)nviews[i]));
            }
        }
        else if (lblocked[i] == 0 && rng_next(&rng) % 4 == 0) {
            end_interp(i);
        }
        if (closed) {
            renew_lent_chan(c, ch);
        }
        ic_chan_detach(ch, 0);          /* may free queued items: with a GIL held */
        detach_interp(i);
    }
    return NULL;
}

static void lent_setup(void)
{
    for (int i = 0; i < NLI; i++) {
        pthread_mutex_init(&gil[i], NULL);
        finterp[i].id = atomic_fetch_add(&next_interp_id, 1);
        lrec[i] = ic_rec_new(finterp[i].id, NULL, "lender", 1, IC_KIND_FOREIGN);
        if (lrec[i] == NULL) {
            fail("ic_rec_new failed");
        }
    }
    for (int c = 0; c < LCH; c++) {
        lch[c] = ic_chan_new();
        if (lch[c] == NULL) {
            fail("ic_chan_new failed");
        }
        atomic_fetch_add(&st_channels, 1);
        note_chan_id(lch[c]->id);
    }
}

/* after the lenders stopped: the channels go (queued lents released or queued for their
 * owners), every interpreter ends; every object not orphaned is freed, none twice */
static void lent_teardown(void)
{
    attach_interp(0);
    for (int c = 0; c < LCH; c++) {
        ic_chan_detach(lch[c], 0);       /* the last reference: queued items are freed */
    }
    detach_interp(0);
    for (int i = 0; i < NLI; i++) {
        attach_interp(i);
        end_interp(i);
        detach_interp(i);
    }
    for (int i = 0; i < NLI; i++) {
        attach_interp(i);
        ic_lent_drain(lrec[i]);
        ic_rec_decref(lrec[i]);
        lrec[i] = NULL;
        detach_interp(i);
    }
    if (atomic_load(&st_objs_freed) > atomic_load(&st_objs)) {
        fail("more objects freed than made");
    }
}

/* ---------------- side effects: close all, wake all, interrupts, lent copies ---------------- */

static void *closer_main(void *p)
{
    uint64_t rng = rng_seed(31);
    ic_interp *nobody = ic_rec_new(-7, NULL, "nobody", 0, IC_KIND_OWNED);
    if (nobody == NULL) {
        fail("ic_rec_new failed");
    }
    while (!atomic_load(&g_stop)) {
        sleep_us(200 + (long)(rng_next(&rng) % 800));
        int op = (int)(rng_next(&rng) % 1000);
        if (op < 2) {           /* about twice a second: half the rounds end this way */
            ic_close_all_channels();
        }
        else if (op < 600) {
            ic_chan_wake_all();
        }
        else {
            ic_chan_copy_lent_of(nobody);       /* walks every channel; no lents here */
        }
    }
    ic_rec_decref(nobody);
    return NULL;
}

static void *interrupter_main(void *p)
{
    uint64_t rng = rng_seed(37);
    while (!atomic_load(&g_stop)) {
        sleep_us(50 + (long)(rng_next(&rng) % 300));
        int slot = (int)(rng_next(&rng) % NWORKERS);
        ic_interp *rec = worker_rec[slot];
        unsigned long tid = atomic_load(&worker_tid[slot]);
        if (tid == 0) {
            continue;
        }
        int what = (int)(rng_next(&rng) % 10);
        if (what < 3) {
            signal_worker(slot);
        }
        else if (what == 3) {
            /* its interpreter is being closed for a moment (a close that was refused) */
            atomic_store(&rec->ending, 1);
            ic_chan_wake_all();
            sleep_us(100);
            atomic_store(&rec->ending, 0);
        }
        else {
            /* as ic_interrupt delivers one */
            atomic_store(&rec->intr_kind, IC_INTR_KEYBOARD);
            atomic_store(&rec->intr_tid, tid);
            atomic_fetch_add(&rec->intr_gen, 1);
            ic_chan_wake_all();
        }
    }
    return NULL;
}

/* ---------------- registry ---------------- */

static _Atomic int64_t next_rec_id = 1000000;
static _Atomic int64_t rec_ring[RING];

static void remove_rec(int64_t id)
{
    ic_reg_lock();
    ic_interp *r = ic_reg_find_locked(id);
    if (r == NULL) {
        ic_reg_unlock();
        fail("record %lld vanished from the registry", (long long)id);
    }
    ic_reg_remove_locked(r);
    ic_reg_unlock();
}

static void *reg_adder_main(void *p)
{
    uint64_t rng = rng_seed((uint64_t)(uintptr_t)p + 41);
    while (!atomic_load(&g_stop)) {
        int64_t id = atomic_fetch_add(&next_rec_id, 1);
        char name[32];
        snprintf(name, sizeof(name), "r-%lld", (long long)id);
        ic_interp *rec = ic_rec_new(id, NULL, name, (int)(id & 1), IC_KIND_OWNED);
        if (rec == NULL) {
            fail("ic_rec_new failed");
        }
        atomic_fetch_add(&st_recs, 1);
        int starting = rng_next(&rng) % 4 == 0;
        rec->starting = starting;       /* as ic_create reserves a name */
        ic_reg_lock();
        if (ic_reg_name_taken_locked(name)) {
            ic_reg_unlock();
            fail("name %s taken before it was added", name);
        }
        ic_reg_add_locked(rec);
        ic_reg_unlock();
        if (starting) {
            sched_yield();
            ic_reg_lock();
            rec->starting = 0;
            ic_reg_unlock();
        }
        ic_rec_decref(rec);             /* the registry keeps its own reference */
        int64_t old = atomic_exchange(&rec_ring[rng_next(&rng) % RING], id);
        if (old != 0) {
            remove_rec(old);
        }
    }
    return NULL;
}

static void *reg_finder_main(void *p)
{
    uint64_t rng = rng_seed((uint64_t)(uintptr_t)p + 43);
    long iter = 0;
    while (!atomic_load(&g_stop)) {
        iter++;
        int64_t id = atomic_load(&rec_ring[rng_next(&rng) % RING]);
        ic_reg_lock();
        ic_interp *r = id != 0 ? ic_reg_find_locked(id) : NULL;
        if (r != NULL) {
            if (r->id != id || !r->listed || r->starting) {
                fail("find %lld gave record %lld (listed %d, starting %d)", (long long)id,
                     (long long)r->id, r->listed, r->starting);
            }
            ic_rec_incref(r);
            r->runs++;
            r->pins++;
        }
        if (iter % 16 == 0) {           /* list_interpreters' walk */
            int64_t prev = 0;
            for (ic_interp *x = ic_reg_head_locked(); x != NULL; x = x->next) {
                if (x->id <= 0 || !x->listed || x->name == NULL) {
                    fail("bad record %lld in the registry", (long long)x->id);
                }
                (void)prev;
                prev = x->id;
            }
        }
        ic_reg_unlock();
        if (r != NULL) {
            char expect[32];
            snprintf(expect, sizeof(expect), "r-%lld", (long long)id);
            if (strcmp(r->name, expect) != 0) {
                fail("record %lld is named %s", (long long)id, r->name);
            }
            atomic_fetch_add(&r->intr_gen, 1);
            ic_reg_lock();
            r->pins--;
            ic_reg_unlock();
            ic_rec_decref(r);
        }
    }
    return NULL;
}

/* ---------------- asyncio wake-ups ---------------- */

#define WAKE_POSTERS 3
#define WAKE_TOKENS 2000

static _Atomic long st_wake_rounds, st_wake_tokens, st_wake_waits;

typedef struct {
    ic_notifier *n;
    uint64_t poster;
} wake_arg;

static void *wake_poster_main(void *p)
{
    wake_arg *a = p;
    for (uint64_t i = 0; i < WAKE_TOKENS; i++) {
        ic_notifier_post(a->n, a->poster << 32 | i);
        if ((i & 63) == 0) {
            sched_yield();
        }
    }
    return NULL;
}

/* Rounds of posters against one drainer (this thread) until g_stop. */
static void *waker_main(void *p)
{
    while (!atomic_load(&g_stop)) {
        ic_notifier *n = ic_notifier_new();
        if (n == NULL) {
            fail("ic_notifier_new failed");
        }
        pthread_t th[WAKE_POSTERS];
        wake_arg args[WAKE_POSTERS];
        uint64_t next[WAKE_POSTERS] = {0};
        for (int i = 0; i < WAKE_POSTERS; i++) {
            args[i].n = n;
            args[i].poster = (uint64_t)i;
            start(&th[i], wake_poster_main, &args[i]);
        }
        long got = 0;
        while (got < WAKE_POSTERS * WAKE_TOKENS) {
            if (ic_wake_wait(&n->wake) < 0 && errno != EINTR) {
                fail("ic_wake_wait failed (errno %d)", errno);
            }
            atomic_fetch_add(&st_wake_waits, 1);
            pthread_mutex_lock(&n->mu);
            uint64_t *ready = n->ready;
            size_t count = n->nready;
            if (n->overflow) {
                fail("a notifier lost tokens (out of memory)");
            }
            n->ready = NULL;
            n->nready = n->cap = 0;
            n->pending = 0;
            pthread_mutex_unlock(&n->mu);
            for (size_t i = 0; i < count; i++) {
                uint64_t poster = ready[i] >> 32, seq = ready[i] & 0xffffffffu;
                if (poster >= WAKE_POSTERS || seq != next[poster]) {
                    fail("token %llu/%llu out of order or unknown", (unsigned long long)poster,
                         (unsigned long long)seq);
                }
                next[poster]++;
            }
            got += (long)count;
            free(ready);
        }
        for (int i = 0; i < WAKE_POSTERS; i++) {
            pthread_join(th[i], NULL);
        }
        atomic_fetch_add(&st_wake_tokens, got);
        atomic_fetch_add(&st_wake_rounds, 1);
        ic_notifier_decref(n);
    }
    return NULL;
}

/* ---------------- watchdog and main ---------------- */

static void *watchdog_main(void *p)
{
    long seen = atomic_load(&g_progress);
    double since = ic_now();
    while (!atomic_load(&g_stop)) {
        sleep_us(200000);
        long now = atomic_load(&g_progress);
        if (now != seen) {
            seen = now;
            since = ic_now();
        }
        else if (ic_now() - since > HANG_S) {
            fprintf(stderr, "tsan driver: HANG: no round finished in %.0f s (a receiver of a "
                    "closed channel or a blocking sender never returned)\n", HANG_S);
            fflush(stderr);
            _exit(3);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = 20;
    const char *env = getenv("TSAN_DRIVER_SECONDS");
    if (argc > 1) {
        seconds = atof(argv[1]);
    }
    else if (env != NULL) {
        seconds = atof(env);
    }
    if (!(seconds > 0)) {
        fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;      /* no SA_RESTART: a parked futex wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < NWORKERS; i++) {
        pthread_mutex_init(&worker_mu[i], NULL);
        worker_rec[i] = ic_rec_new(-100 - i, NULL, "worker", 1, IC_KIND_OWNED);
        if (worker_rec[i] == NULL) {
            fail("ic_rec_new failed");
        }
    }
    lent_setup();
    pthread_t bg[CHURNERS + LOOKUPERS + REG_ADDERS + REG_FINDERS + LENDERS + 4];
    int nbg = 0;
    for (intptr_t i = 0; i < LENDERS; i++) {
        start(&bg[nbg++], lender_main, (void *)i);
    }
    for (intptr_t i = 0; i < CHURNERS; i++) {
        start(&bg[nbg++], churner_main, (void *)i);
    }
    for (intptr_t i = 0; i < LOOKUPERS; i++) {
        start(&bg[nbg++], lookuper_main, (void *)i);
    }
    for (intptr_t i = 0; i < REG_ADDERS; i++) {
        start(&bg[nbg++], reg_adder_main, (void *)i);
    }
    for (intptr_t i = 0; i < REG_FINDERS; i++) {
        start(&bg[nbg++], reg_finder_main, (void *)i);
    }
    start(&bg[nbg++], closer_main, NULL);
    start(&bg[nbg++], interrupter_main, NULL);
    start(&bg[nbg++], watchdog_main, NULL);
    start(&bg[nbg++], waker_main, NULL);

    double end = ic_now() + seconds;
    uint32_t round = 1;
    while (ic_now() < end) {
        run_round(round++);
    }
    atomic_store(&g_stop, 1);
    for (int i = 0; i < nbg; i++) {
        pthread_join(bg[i], NULL);
    }
    lent_teardown();

    /* every end is gone: every channel must have been freed */
    int64_t top = atomic_load(&max_chan_id);
    long created = atomic_load(&st_channels);
    if (top < created) {
        top = created;
    }
    for (int64_t id = 1; id <= top; id++) {
        ic_chan *ch = ic_chan_lookup(id);
        if (ch != NULL) {
            fail("channel %lld outlived all its ends (refs %ld, senders %ld)", (long long)id,
                 ch->refs, ch->senders);
        }
    }
    /* the registry: remove what is left, then it must be empty */
    for (int i = 0; i < RING; i++) {
        int64_t id = atomic_exchange(&rec_ring[i], 0);
        if (id != 0) {
            remove_rec(id);
        }
    }
    ic_reg_lock();
    ic_interp *head = ic_reg_head_locked();
    ic_reg_unlock();
    if (head != NULL) {
        fail("record %lld left in the registry", (long long)head->id);
    }
    for (int i = 0; i < NWORKERS; i++) {
        ic_rec_decref(worker_rec[i]);
    }
    printf("tsan driver: %.0f s, %ld rounds (%ld producers stopped early by a close), "
           "%ld messages accepted, %ld refused (%ld interrupted), %ld received; %ld blocking "
           "sends withdrawn; %ld signals (%ld waits ended by one); %ld channels, %ld lookups "
           "(%ld found), %ld registry records; %ld buffers lent, %ld seen as memoryviews, "
           "%ld as copies, %ld lenders ended; %s waits; %ld wake-up rounds (%ld tokens, "
           "%ld wake-ups): all invariants held\n",
           seconds, atomic_load(&st_rounds), atomic_load(&st_closed_early),
           atomic_load(&st_accepted), atomic_load(&st_refused), atomic_load(&st_intr),
           atomic_load(&st_received), atomic_load(&st_withdrawn), atomic_load(&st_signals),
           atomic_load(&st_eintr), atomic_load(&st_channels), atomic_load(&st_lookups),
           atomic_load(&st_lookup_hits), atomic_load(&st_recs), atomic_load(&st_lents_sent),
           atomic_load(&st_lents_seen), atomic_load(&st_lents_copied),
           atomic_load(&st_lent_ends), ic_wait_layer, atomic_load(&st_wake_rounds),
           atomic_load(&st_wake_tokens), atomic_load(&st_wake_waits));
    return 0;
}
