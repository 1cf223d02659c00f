/* fd wake-ups (platform_wake.h): an eventfd on Linux, a pipe elsewhere and in the portable
 * build. */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__linux__) && !defined(IC_PORTABLE)
#include <sys/eventfd.h>
#define USE_EVENTFD 1
#else
#define USE_EVENTFD 0
#endif

#if !USE_EVENTFD
static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    return fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0
           || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0 ? -1 : 0;
}
#endif

int ic_wake_open(ic_wake *w)
{
#if USE_EVENTFD
    w->rfd = w->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return w->rfd < 0 ? -1 : 0;
#else
    int p[2];
    if (pipe(p) != 0) {
        w->rfd = w->wfd = -1;
        return -1;
    }
    if (set_flags(p[0]) != 0 || set_flags(p[1]) != 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        w->rfd = w->wfd = -1;
        errno = e;
        return -1;
    }
    w->rfd = p[0];
    w->wfd = p[1];
    return 0;
#endif
}

void ic_wake_post(ic_wake *w)
{
    int e = errno;
    ssize_t r;
#if USE_EVENTFD
    uint64_t one = 1;
    do {
        r = write(w->wfd, &one, sizeof(one));
    } while (r < 0 && errno == EINTR);
#else
    char one = 1;
    do {
        r = write(w->wfd, &one, 1);
    } while (r < 0 && errno == EINTR);
#endif
    /* EAGAIN: the counter or the pipe is full, so the fd is readable already */
    errno = e;
}

void ic_wake_drain(ic_wake *w)
{
    ssize_t r;
#if USE_EVENTFD
    uint64_t v;
    do {
        r = read(w->rfd, &v, sizeof(v));
    } while (r < 0 && errno == EINTR);
#else
    char buf[128];
    do {
        r = read(w->rfd, buf, sizeof(buf));
    } while (r > 0 || (r < 0 && errno == EINTR));
#endif
}

int ic_wake_wait(ic_wake *w)
{
    struct pollfd pfd = {w->rfd, POLLIN, 0};
    if (poll(&pfd, 1, -1) < 0) {
        return -1;
    }
    ic_wake_drain(w);
    return 0;
}

int ic_wake_fd(const ic_wake *w)
{
    return w->rfd;
}

void ic_wake_close(ic_wake *w)
{
    if (w->rfd >= 0) {
        close(w->rfd);
    }
    if (w->wfd >= 0 && w->wfd != w->rfd) {
        close(w->wfd);
    }
    w->rfd = w->wfd = -1;
}
