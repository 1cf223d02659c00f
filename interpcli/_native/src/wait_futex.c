/* Word waits on Linux futexes (process-private). */
#include "common.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

const char ic_wait_layer[] = "futex";

int ic_word_wait(_Atomic unsigned int *word, unsigned int expected,
                 const struct timespec *rel)
{
    long r = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, rel, NULL, 0);
    if (r == 0) {
        return 0;
    }
    if (errno == EINTR || errno == ETIMEDOUT) {
        return errno;
    }
    return 0;   /* EAGAIN: the word had moved already */
}

void ic_word_wake_all(_Atomic unsigned int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
