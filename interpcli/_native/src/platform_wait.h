/* Waits on a 32-bit word (the channel's event count): the one blocking primitive of the
 * core. A waiter sleeps while the word still holds the value it saw; whoever changes the
 * word changes it first, then wakes its waiters. Wake-ups may be spurious: a waiter
 * always looks at the word again.
 *
 * Implementations: wait_futex.c (Linux futexes) and wait_portable.c (any POSIX system).
 * A macOS 14.4+ one would call os_sync_wait_on_address / os_sync_wake_by_address_all, a
 * Windows one WaitOnAddress / WakeByAddressAll (see platform.h). */
#ifndef IC_PLATFORM_WAIT_H
#define IC_PLATFORM_WAIT_H

#include <stdatomic.h>
#include <time.h>

/* "futex" or "portable": the implementation this build carries. */
extern const char ic_wait_layer[];

/* Sleep while *word == expected, for at most rel (NULL: no limit). Returns 0 (woken, the
 * word had moved already, or spuriously), ETIMEDOUT, or EINTR (a signal arrived: the
 * caller lets Python run its handlers). No lock held, no thread state attached. */
int ic_word_wait(_Atomic unsigned int *word, unsigned int expected,
                 const struct timespec *rel);

/* Wake every waiter on word (the caller changed it first). Any thread; never fails. */
void ic_word_wake_all(_Atomic unsigned int *word);

#endif
