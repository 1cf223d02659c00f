/* A lock word (lockwait.c): what the core's Lock and RLock (lock.c) are made of. One
 * 32-bit word (bit 0: held; the rest a count that only grows, bumped to end a wait on the
 * word) and a count of sleepers, so that an uncontended release makes no system call. */
#ifndef IC_LOCKWORD_H
#define IC_LOCKWORD_H

#include <stdatomic.h>

#define IC_LW_HELD 1u
#define IC_LW_BUMP 2u

typedef struct {
    _Atomic unsigned int word;
    _Atomic unsigned int sleepers;
} ic_lockword;

/* Take l if it is free: 1, else 0. */
static inline int ic_lw_try_take(ic_lockword *l)
{
    unsigned int v = atomic_load_explicit(&l->word, memory_order_relaxed);
    while (!(v & IC_LW_HELD)) {
        if (atomic_compare_exchange_weak_explicit(&l->word, &v, v | IC_LW_HELD,
                                                  memory_order_acquire, memory_order_relaxed)) {
            return 1;
        }
    }
    return 0;
}

/* Free l, waking its sleepers if there are any. */
static inline void ic_lw_give(ic_lockword *l)
{
    atomic_fetch_and(&l->word, ~IC_LW_HELD);
    if (atomic_load(&l->sleepers) != 0) {
        ic_word_wake_all(&l->word);
    }
}

static inline int ic_lw_held(ic_lockword *l)
{
    return (atomic_load_explicit(&l->word, memory_order_relaxed) & IC_LW_HELD) != 0;
}

/* Take l, waiting at most timeout seconds (< 0: no limit; 0: not at all), the GIL released
 * meanwhile. On the script's main thread (_lock_setup) a signal ends the wait and runs the
 * hook, whose exception ends it (-1, set). 1 taken, 0 not. self: the lock object. */
int ic_lw_take(PyObject *self, ic_lockword *l, double timeout);
/* Take l however long it takes, never interrupted (RLock._acquire_restore). */
void ic_lw_take_uninterrupted(ic_lockword *l);
/* acquire(blocking=True, timeout=-1)'s arguments as CPython reads them: the timeout in
 * seconds (< 0: none, 0: do not block); -1 with an exception set. */
int ic_lw_acquire_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                       const char *fname, double *timeout);
/* Add _lock_setup and _lock_interrupt (lockwait.c) to the module. */
int ic_lockwait_init(PyObject *module);

#endif
