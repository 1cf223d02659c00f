/* Wake-ups that an event loop or a thread waits for on a file descriptor: the asyncio
 * Notifier's (the loop watches it with add_reader) and the signal forwarder's. Linux: one
 * eventfd; elsewhere (and in the portable build): a pipe. A Windows port would use an
 * event object here, which asyncio's proactor loop waits on instead of a readable fd. */
#ifndef IC_PLATFORM_WAKE_H
#define IC_PLATFORM_WAKE_H

typedef struct {
    int rfd;        /* becomes readable once posted; -1 when closed */
    int wfd;        /* the end ic_wake_post writes (== rfd for an eventfd) */
} ic_wake;

/* Open w (both ends non-blocking, close-on-exec). 0, or -1 with errno set. */
int ic_wake_open(ic_wake *w);
/* Make w's fd readable. Async-signal-safe; a post to an already readable w is a no-op. */
void ic_wake_post(ic_wake *w);
/* Take every post so far (w's fd stops being readable until the next post). */
void ic_wake_drain(ic_wake *w);
/* Block until w is posted, then drain it. 0, or -1 with errno set (EINTR included). */
int ic_wake_wait(ic_wake *w);
/* The fd an event loop watches for readability. */
int ic_wake_fd(const ic_wake *w);
void ic_wake_close(ic_wake *w);

#endif
