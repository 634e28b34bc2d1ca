/* Blob progress on standard error (see progress.h). */
#include "config.h"

#include "cmd/progress.h"

#include "lib/xalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_NS 100000000LL /* at most ten redraws a second */

struct line {
        char what[8];
        char digest[20]; /* "sha256:" + 12 hex digits */
        int64_t total;
        uint64_t done;
        int64_t start_ns, end_ns;
        char *status; /* NULL while copying */
};

struct progress {
        pthread_mutex_t lock;
        bool quiet, tty;
        unsigned cols, rows;
        struct line *v;
        size_t n;
        size_t first_live; /* lines before it are on the screen for good */
        size_t drawn;      /* live lines on the screen now */
        int64_t last_draw_ns;
};

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void progress_format_size(uint64_t n, char *buf, size_t len)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double) n;
        size_t u = 0;

        while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, len, "%lluB", (unsigned long long) n);
        else
                snprintf(buf, len, "%.1f%s", v, units[u]);
}

struct progress *progress_new(bool quiet, int tty)
{
        struct progress *p = xzalloc(sizeof(*p));
        const char *term = getenv("TERM");
        struct winsize ws;

        pthread_mutex_init(&p->lock, NULL);
        p->quiet = quiet;
        if (tty < 0)
                tty = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
        p->tty = tty > 0;
        p->cols = 80;
        p->rows = 24;
        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
                p->cols = ws.ws_col;
                p->rows = ws.ws_row > 2 ? ws.ws_row : 24;
        }
        return p;
}

static void format_line(const struct progress *p, const struct line *l, int64_t now, char *buf, size_t len)
{
        char done[32], total[32], rate[32];

        progress_format_size(l->done, done, sizeof(done));
        if (l->total >= 0)
                progress_format_size((uint64_t) l->total, total, sizeof(total));
        else
                snprintf(total, sizeof(total), "?");
        if (l->status && strncmp(l->status, "skipped", 7) == 0) {
                snprintf(buf, len, "Copying %s %s %s", l->what, l->digest, l->status);
        } else {
                int64_t t = (l->status ? l->end_ns : now) - l->start_ns;
                double secs = t > 0 ? (double) t / 1e9 : 0;
                if (secs > 0.05) {
                        progress_format_size((uint64_t) ((double) l->done / secs), rate, sizeof(rate));
                        strcat(rate, "/s");
                } else {
                        snprintf(rate, sizeof(rate), "-");
                }
                snprintf(buf, len, "Copying %s %s %9s / %-9s %10s  %s", l->what, l->digest, done, total, rate,
                         l->status ? l->status : "");
        }
        /* one screen row each, or moving the cursor up miscounts */
        if (p->cols > 1 && strlen(buf) >= p->cols)
                buf[p->cols - 1] = '\0';
        while (*buf && buf[strlen(buf) - 1] == ' ')
                buf[strlen(buf) - 1] = '\0';
}

/* Called with the lock held. */
static void redraw(struct progress *p, bool force)
{
        int64_t now = now_ns();
        char buf[512];

        if (!force && now - p->last_draw_ns < REDRAW_NS)
                return;
        p->last_draw_ns = now;
        if (p->drawn > 0)
                fprintf(stderr, "\033[%zuA", p->drawn);
        for (size_t i = p->first_live; i < p->n; i++) {
                format_line(p, &p->v[i], now, buf, sizeof(buf));
                fprintf(stderr, "\r\033[K%s\n", buf);
        }
        p->drawn = p->n - p->first_live;
        /* The cursor cannot move above the screen: finished lines at the top
         * of a region taller than the screen stay as just drawn. */
        while (p->drawn + 2 > p->rows && p->v[p->first_live].status) {
                p->first_live++;
                p->drawn--;
        }
        fflush(stderr);
}

size_t progress_add(struct progress *p, const char *what, const char *digest, int64_t total)
{
        struct line *l;
        size_t i;

        pthread_mutex_lock(&p->lock);
        p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
        i = p->n++;
        l = &p->v[i];
        *l = (struct line){ .total = total, .start_ns = now_ns() };
        snprintf(l->what, sizeof(l->what), "%s", what);
        snprintf(l->digest, sizeof(l->digest), "%.19s", digest);
        if (p->tty && !p->quiet)
                redraw(p, true);
        pthread_mutex_unlock(&p->lock);
        return i;
}

void progress_set(struct progress *p, size_t i, uint64_t done)
{
        pthread_mutex_lock(&p->lock);
        if (i < p->n) {
                p->v[i].done = done;
                if (p->tty && !p->quiet)
                        redraw(p, false);
        }
        pthread_mutex_unlock(&p->lock);
}

void progress_done(struct progress *p, size_t i, const char *status)
{
        pthread_mutex_lock(&p->lock);
        if (i < p->n && p->v[i].status == NULL) {
                struct line *l = &p->v[i];
                l->status = xstrdup(status);
                l->end_ns = now_ns();
                if (strcmp(status, "done") == 0 && l->total >= 0)
                        l->done = (uint64_t) l->total;
                if (p->quiet) {
                        /* nothing */
                } else if (p->tty) {
                        redraw(p, true);
                } else {
                        fprintf(stderr, "Copying %s %s %s\n", l->what, l->digest, status);
                        fflush(stderr);
                }
        }
        pthread_mutex_unlock(&p->lock);
}

void progress_message(struct progress *p, const char *fmt, ...)
{
        va_list ap;

        if (p->quiet)
                return;
        pthread_mutex_lock(&p->lock);
        if (p->tty && p->drawn > 0)
                redraw(p, true);
        p->first_live = p->n;
        p->drawn = 0;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(stderr);
        pthread_mutex_unlock(&p->lock);
}

struct progress *progress_free(struct progress *p)
{
        if (p == NULL)
                return NULL;
        pthread_mutex_lock(&p->lock);
        if (p->tty && !p->quiet && p->drawn > 0)
                redraw(p, true);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < p->n; i++)
                free(p->v[i].status);
        free(p->v);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}
