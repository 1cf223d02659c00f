/* Waiting on a channel's event count: spin briefly (an idle core on these machines takes
 * tens of microseconds to wake, so a quick peer is caught without any wake-up), then park
 * on the event count (platform_wait.h) with no CPU use until a change, a timeout, a signal,
 * an interrupt of the waiter's run or the close of its interpreter. */
#include "common.h"
#include <errno.h>
#include <sched.h>
#include <time.h>

/* Spin budget before parking: an idle core on these machines takes tens of microseconds
 * to wake, so a short spin answers a quick peer without any wake-up at all. */
#define IC_SPIN_MIN_NS 1000
/* pause instructions before the spin starts yielding the core instead */
#define IC_SPIN_PAUSES 64
/* longest single park: a longer timeout (1e300, inf) parks again, never overflows time_t */
#define IC_PARK_MAX_S 86400.0

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void ic_waitctx_init(ic_waitctx *w, ic_interp *rec)
{
    w->rec = rec;
    w->gen = rec != NULL ? atomic_load(&rec->intr_gen) : 0;
    w->tid = PyThread_get_thread_ident();
    w->ignore_intr = 0;
}

/* Why this wait must stop now: IC_CH_ENDING when its interpreter is being closed,
 * IC_CH_INTR when its run was interrupted, else 0. */
int ic_stop_reason(ic_waitctx *w)
{
    if (w == NULL || w->rec == NULL || w->ignore_intr) {
        return 0;
    }
    if (atomic_load(&w->rec->ending)) {
        return IC_CH_ENDING;
    }
    if (atomic_load(&w->rec->intr_gen) != w->gen && atomic_load(&w->rec->intr_tid) == w->tid) {
        return IC_CH_INTR;
    }
    return 0;
}

/* Learn from how long a wait took: had the change come within the spin limit, spinning
 * would have caught it without a wake-up, so spin fully next time; a long wait (an idle
 * channel) halves the budget, so an idle waiter soon parks almost at once. */
static void note_wait(ic_chan *ch, double started)
{
    double waited_ns = (ic_now() - started) * 1e9;
    int budget = atomic_load_explicit(&ch->spin_ns, memory_order_relaxed);
    int next = waited_ns <= IC_SPIN_NS ? IC_SPIN_NS
             : budget / 2 > IC_SPIN_MIN_NS ? budget / 2 : IC_SPIN_MIN_NS;
    if (next != budget) {
        atomic_store_explicit(&ch->spin_ns, next, memory_order_relaxed);
    }
}

/* Wait until ch->seq moves from snap. Returns 0, ETIMEDOUT or EINTR. */
int ic_park(ic_chan *ch, unsigned int snap, double deadline, ic_waitctx *w)
{
    double started = ic_now();
    double spin_until = started + atomic_load_explicit(&ch->spin_ns, memory_order_relaxed) * 1e-9;
    for (unsigned int i = 1;; i++) {
        if (atomic_load_explicit(&ch->seq, memory_order_acquire) != snap) {
            note_wait(ch, started);
            return 0;
        }
        if (i < IC_SPIN_PAUSES) {
            cpu_relax();
        }
        else {
            /* the peer may be waiting for this very core (a busy machine): let it run */
            sched_yield();
        }
        if ((i & 15) == 0 && ic_now() > spin_until) {
            break;
        }
    }
    if (ic_stop_reason(w)) {
        return 0;
    }
    struct timespec rel, *relp = NULL;
    int clamped = 0;
    if (deadline > 0) {
        double left = deadline - ic_now();
        if (left <= 0) {
            return ETIMEDOUT;
        }
        if (!(left <= IC_PARK_MAX_S)) {
            left = IC_PARK_MAX_S;
            clamped = 1;
        }
        rel.tv_sec = (time_t)left;
        rel.tv_nsec = (long)((left - (double)rel.tv_sec) * 1e9);
        relp = &rel;
    }
    atomic_fetch_add(&ch->sleepers, 1);
    int err = ic_word_wait(&ch->seq, snap, relp);
    atomic_fetch_sub(&ch->sleepers, 1);
    if (err == ETIMEDOUT && clamped) {
        return 0;       /* the caller looks again and parks for the rest */
    }
    if (err == EINTR || err == ETIMEDOUT) {
        return err;
    }
    note_wait(ch, started);
    return 0;   /* woken, or EAGAIN: the word had already moved */
}

