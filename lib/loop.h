/* The event loop (epoll) that the monitor's parts register their fds on:
 * the container's pidfd, a signalfd, terminals, log pipes, slirp and the
 * port forwarders.  Single-threaded; callbacks must not block. */
#ifndef HUTCH_LOOP_H
#define HUTCH_LOOP_H

#include <stdint.h>

struct hutch_loop;

/* Returns < 0 to stop the loop with that value, 0 to go on. */
typedef int (*hutch_loop_fd_fn)(struct hutch_loop *loop, int fd, uint32_t events, void *data);
/* Called before every wait; may lower *timeout_ms (slirp's timers, etc). */
typedef void (*hutch_loop_prepare_fn)(struct hutch_loop *loop, int *timeout_ms, void *data);

struct hutch_loop *hutch_loop_new(void);
struct hutch_loop *hutch_loop_free(struct hutch_loop *loop);

int hutch_loop_add(struct hutch_loop *loop, int fd, uint32_t events, hutch_loop_fd_fn fn, void *data);
int hutch_loop_modify(struct hutch_loop *loop, int fd, uint32_t events);
int hutch_loop_remove(struct hutch_loop *loop, int fd);
void hutch_loop_set_prepare(struct hutch_loop *loop, hutch_loop_prepare_fn fn, void *data);

/* Runs until hutch_loop_quit() or a callback returns < 0; returns that value. */
int hutch_loop_run(struct hutch_loop *loop);
void hutch_loop_quit(struct hutch_loop *loop, int value);

#endif
