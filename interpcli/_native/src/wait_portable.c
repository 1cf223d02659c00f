/* Word waits for any POSIX system: an address-keyed table of buckets, each a pthread mutex,
 * a list of the threads waiting on words that hash to it, and a condition variable.
 *
 * A waiting thread parks in poll() on its own wake pipe (made on its first wait, closed
 * when the thread exits), so that a signal ends the wait with EINTR as it ends a futex
 * wait: CPython runs Python signal handlers only once the main thread returns from C, and
 * pthread_cond_wait never returns for a signal. A thread that cannot get a pipe (out of
 * file descriptors) waits on its bucket's condition variable instead, which only a
 * timeout or a wake-up ends. The waiter checks the word under the bucket's mutex and the
 * waker takes that mutex after changing the word, so no wake-up is lost.
 *
 * fork(): the buckets are locked around it; the child starts with empty lists (the other
 * threads are gone) and the forking thread drops its pipe, which the parent still uses. */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

const char ic_wait_layer[] = "portable";

#define NBUCKETS 64     /* a power of two */

typedef struct waiter {
    struct waiter *next, *prev;
    _Atomic unsigned int *word;
    int wfd;            /* the waiting thread's wake pipe */
} waiter;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* waiters without a pipe */
    waiter *head;
    int cv_waiters;
} bucket;

static bucket buckets[NBUCKETS];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_failed;
static pthread_key_t pipe_key;
static int have_key;

/* the calling thread's wake pipe: [0] read, [1] write; -1 until made */
static IC_THREAD_LOCAL int my_pipe[2] = {-1, -1};
static IC_THREAD_LOCAL int my_pipe_failed;

static void close_pipe(void *unused)
{
    (void)unused;
    if (my_pipe[0] >= 0) {
        close(my_pipe[0]);
        close(my_pipe[1]);
        my_pipe[0] = my_pipe[1] = -1;
    }
}

static void before_fork(void)
{
    for (int i = 0; i < NBUCKETS; i++) {
        pthread_mutex_lock(&buckets[i].mu);
    }
}

static void after_fork_in_parent(void)
{
    for (int i = NBUCKETS - 1; i >= 0; i--) {
        pthread_mutex_unlock(&buckets[i].mu);
    }
}

static void after_fork_in_child(void)
{
    for (int i = NBUCKETS - 1; i >= 0; i--) {
        buckets[i].head = NULL;
        buckets[i].cv_waiters = 0;
        pthread_mutex_unlock(&buckets[i].mu);
    }
    if (my_pipe[0] >= 0) {
        close(my_pipe[0]);
        close(my_pipe[1]);
        my_pipe[0] = my_pipe[1] = -1;
    }
}

static void init_buckets(void)
{
    pthread_condattr_t attr;
    int have_attr = pthread_condattr_init(&attr) == 0;
#if !defined(__APPLE__)
    if (have_attr && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0) {
        init_failed = 1;
    }
#endif
    for (int i = 0; i < NBUCKETS && !init_failed; i++) {
        if (pthread_mutex_init(&buckets[i].mu, NULL) != 0
            || pthread_cond_init(&buckets[i].cv, have_attr ? &attr : NULL) != 0) {
            init_failed = 1;
        }
    }
    if (have_attr) {
        pthread_condattr_destroy(&attr);
    }
    else {
        init_failed = 1;
    }
    have_key = pthread_key_create(&pipe_key, close_pipe) == 0;
    if (!init_failed
        && pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child) != 0) {
        init_failed = 1;
    }
}

static bucket *bucket_of(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    a ^= a >> 17;
    a *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return &buckets[(a >> 7) & (NBUCKETS - 1)];
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    return fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0
           || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0 ? -1 : 0;
}

/* The calling thread's wake pipe, made on first use; 0, or -1 when it cannot have one. */
static int my_wake_pipe(void)
{
    if (my_pipe[0] >= 0) {
        return 0;
    }
    if (my_pipe_failed || !have_key) {
        return -1;
    }
    int p[2];
    if (pipe(p) != 0) {
        my_pipe_failed = 1;
        return -1;
    }
    if (set_flags(p[0]) != 0 || set_flags(p[1]) != 0
        || pthread_setspecific(pipe_key, &my_pipe) != 0) {
        close(p[0]);
        close(p[1]);
        my_pipe_failed = 1;
        return -1;
    }
    my_pipe[0] = p[0];
    my_pipe[1] = p[1];
    return 0;
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

/* rel as poll()'s milliseconds, rounded up; -1 for no limit */
static int rel_ms(const struct timespec *rel)
{
    if (rel == NULL) {
        return -1;
    }
    double ms = (double)rel->tv_sec * 1e3 + (double)rel->tv_nsec / 1e6;
    if (ms >= (double)INT32_MAX) {
        return INT32_MAX;
    }
    int whole = (int)ms;
    return (double)whole < ms ? whole + 1 : whole;
}

static int cv_wait(bucket *b, const struct timespec *rel)
{
    if (rel == NULL) {
        return pthread_cond_wait(&b->cv, &b->mu);
    }
#if defined(__APPLE__)
    return pthread_cond_timedwait_relative_np(&b->cv, &b->mu, rel);
#else
    struct timespec abs;
    if (clock_gettime(CLOCK_MONOTONIC, &abs) != 0) {
        return errno;
    }
    abs.tv_sec += rel->tv_sec;
    abs.tv_nsec += rel->tv_nsec;
    if (abs.tv_nsec >= 1000000000L) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&b->cv, &b->mu, &abs);
#endif
}

int ic_word_wait(_Atomic unsigned int *word, unsigned int expected,
                 const struct timespec *rel)
{
    if (pthread_once(&once, init_buckets) != 0 || init_failed) {
        return 0;       /* cannot happen on a working pthread library: the caller looks again */
    }
    bucket *b = bucket_of(word);
    int rc = 0;
    if (my_wake_pipe() != 0) {
        /* no pipe: the bucket's condition variable */
        pthread_mutex_lock(&b->mu);
        if (atomic_load(word) == expected) {
            b->cv_waiters++;
            rc = cv_wait(b, rel);
            b->cv_waiters--;
        }
        pthread_mutex_unlock(&b->mu);
        return rc == ETIMEDOUT ? ETIMEDOUT : 0;
    }
    waiter me = {NULL, NULL, word, my_pipe[1]};
    pthread_mutex_lock(&b->mu);
    if (atomic_load(word) != expected) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    me.next = b->head;
    if (b->head != NULL) {
        b->head->prev = &me;
    }
    b->head = &me;
    pthread_mutex_unlock(&b->mu);

    struct pollfd pfd = {my_pipe[0], POLLIN, 0};
    int n = poll(&pfd, 1, rel_ms(rel));
    int err = n < 0 ? errno : 0;

    pthread_mutex_lock(&b->mu);
    if (me.prev != NULL) {
        me.prev->next = me.next;
    }
    else {
        b->head = me.next;
    }
    if (me.next != NULL) {
        me.next->prev = me.prev;
    }
    pthread_mutex_unlock(&b->mu);
    /* unlisted: no one writes any more; what was written is for this wait */
    drain(my_pipe[0]);
    if (n == 0) {
        return ETIMEDOUT;
    }
    if (n < 0) {
        return err == EINTR ? EINTR : 0;
    }
    return 0;
}

void ic_word_wake_all(_Atomic unsigned int *word)
{
    if (pthread_once(&once, init_buckets) != 0 || init_failed) {
        return;
    }
    bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->mu);
    for (waiter *w = b->head; w != NULL; w = w->next) {
        if (w->word == word) {
            char one = 1;
            ssize_t r;
            do {
                r = write(w->wfd, &one, 1);
            } while (r < 0 && errno == EINTR);
            /* EAGAIN: the pipe is full, so already readable */
        }
    }
    if (b->cv_waiters > 0) {
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
}
