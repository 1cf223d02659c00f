/* The core's platform layer: everything the core needs from the OS, one file per concern,
 * each behind a small interface. Two builds of it exist:
 *
 *   futex     (Linux, the default there): waits on futex words (wait_futex.c), asyncio and
 *             signal wake-ups through an eventfd (wake.c).
 *   portable  (every other POSIX system; on Linux when built with INTERPCLI_WAIT=portable):
 *             an address-keyed table of waiter lists under pthread mutexes, each waiting
 *             thread parked in poll() on its own wake pipe (wait_portable.c); wake-ups
 *             through a pipe (wake.c).
 *
 * Both: thread-locals (IC_THREAD_LOCAL below) and a monotonic clock (clock.c).
 *
 * What other ports would add behind the same interfaces:
 *   macOS 14.4+: os_sync_wait_on_address / os_sync_wake_by_address_all in a wait_*.c of
 *                their own (an address wait like the futex; a signal ends it with EINTR).
 *   Windows:     WaitOnAddress / WakeByAddressAll for the waits (an alertable wait so
 *                Ctrl-C can end one), an event object (CreateEvent) in wake.c for asyncio's
 *                proactor loop instead of a readable fd, __declspec(thread) thread-locals
 *                and QueryPerformanceCounter for the clock.
 * The Python side's platform assumptions live in interpcli/_platform.py. */
#ifndef IC_PLATFORM_H
#define IC_PLATFORM_H

#include "platform_wait.h"
#include "platform_wake.h"

/* A per-thread variable. */
#if defined(_MSC_VER)
#define IC_THREAD_LOCAL __declspec(thread)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define IC_THREAD_LOCAL _Thread_local
#else
#define IC_THREAD_LOCAL __thread
#endif

/* Seconds on a monotonic clock (clock.c); only differences mean anything. */
double ic_now(void);

#endif
