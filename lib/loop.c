#include "config.h"

#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct loop_source {
        int fd;
        hutch_loop_fd_fn fn;
        void *data;
        bool removed;
        struct loop_source *next;
};

struct hutch_loop {
        int epfd;
        bool quit;
        int value;
        struct loop_source *sources;
        hutch_loop_prepare_fn prepare;
        void *prepare_data;
};

struct hutch_loop *hutch_loop_new(void)
{
        struct hutch_loop *loop = xzalloc(sizeof(*loop));
        loop->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (loop->epfd < 0) {
                free(loop);
                return NULL;
        }
        return loop;
}

static void reap_removed(struct hutch_loop *loop)
{
        struct loop_source **pp = &loop->sources;
        while (*pp) {
                if ((*pp)->removed) {
                        struct loop_source *s = *pp;
                        *pp = s->next;
                        free(s);
                } else {
                        pp = &(*pp)->next;
                }
        }
}

struct hutch_loop *hutch_loop_free(struct hutch_loop *loop)
{
        if (loop == NULL)
                return NULL;
        for (struct loop_source *s = loop->sources; s; s = s->next)
                s->removed = true;
        reap_removed(loop);
        (void) close(loop->epfd);
        free(loop);
        return NULL;
}

int hutch_loop_add(struct hutch_loop *loop, int fd, uint32_t events, hutch_loop_fd_fn fn, void *data)
{
        struct loop_source *s = xzalloc(sizeof(*s));
        struct epoll_event ev = { .events = events, .data.ptr = s };

        s->fd = fd;
        s->fn = fn;
        s->data = data;
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int e = errno;
                free(s);
                return -e;
        }
        s->next = loop->sources;
        loop->sources = s;
        return 0;
}

static struct loop_source *find_source(struct hutch_loop *loop, int fd)
{
        for (struct loop_source *s = loop->sources; s; s = s->next)
                if (s->fd == fd && !s->removed)
                        return s;
        return NULL;
}

int hutch_loop_modify(struct hutch_loop *loop, int fd, uint32_t events)
{
        struct loop_source *s = find_source(loop, fd);
        struct epoll_event ev = { .events = events };

        if (s == NULL)
                return -ENOENT;
        ev.data.ptr = s;
        return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int hutch_loop_remove(struct hutch_loop *loop, int fd)
{
        struct loop_source *s = find_source(loop, fd);

        if (s == NULL)
                return -ENOENT;
        (void) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
        /* Freed after the current dispatch round: a later event in the same
         * batch may still point at it. */
        s->removed = true;
        return 0;
}

void hutch_loop_set_prepare(struct hutch_loop *loop, hutch_loop_prepare_fn fn, void *data)
{
        loop->prepare = fn;
        loop->prepare_data = data;
}

void hutch_loop_quit(struct hutch_loop *loop, int value)
{
        loop->quit = true;
        loop->value = value;
}

int hutch_loop_run(struct hutch_loop *loop)
{
        struct epoll_event events[32];

        loop->quit = false;
        while (!loop->quit) {
                int timeout = -1;
                if (loop->prepare)
                        loop->prepare(loop, &timeout, loop->prepare_data);
                int n = epoll_wait(loop->epfd, events, (int) (sizeof(events) / sizeof(events[0])), timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n && !loop->quit; i++) {
                        struct loop_source *s = events[i].data.ptr;
                        if (s->removed)
                                continue;
                        int r = s->fn(loop, s->fd, events[i].events, s->data);
                        if (r < 0)
                                hutch_loop_quit(loop, r);
                }
                reap_removed(loop);
        }
        return loop->value;
}
