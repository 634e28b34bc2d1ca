#include "config.h"

#include "cmd/ctrlog.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/parse.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_BUF 16384

struct cmd_log_writer {
        int fd;
        char *path;
        uint64_t size, max;
        char buf[3][LINE_BUF];
        size_t len[3];
};

static int open_log(struct cmd_log_writer *w)
{
        struct stat st;
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (w->fd < 0)
                return -errno;
        w->size = fstat(w->fd, &st) == 0 ? (uint64_t) st.st_size : 0;
        return 0;
}

int cmd_log_writer_open(const char *path, uint64_t max_size, struct cmd_log_writer **ret, struct hutch_error **err)
{
        struct cmd_log_writer *w = xzalloc(sizeof(*w));
        int r;

        w->path = xstrdup(path);
        w->max = max_size ? max_size : CMD_LOG_DEFAULT_MAX;
        r = open_log(w);
        if (r < 0) {
                free(w->path);
                free(w);
                return hutch_error_set(err, -r, "open the container log '%s'", path);
        }
        *ret = w;
        return 0;
}

static void emit(struct cmd_log_writer *w, int stream, bool partial, const char *msg, size_t len)
{
        char head[96];
        struct timespec ts;
        struct tm tm;
        char when[32];

        if (w->fd < 0)
                return;
        if (w->size >= w->max) {
                _cleanup_free_ char *old = xasprintf("%s.1", w->path);
                (void) close(w->fd);
                (void) rename(w->path, old);
                if (open_log(w) < 0)
                        return;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        int n = snprintf(head, sizeof(head), "%s.%09ldZ %s %c ", when, ts.tv_nsec, stream == 2 ? "stderr" : "stdout",
                         partial ? 'P' : 'F');
        struct iovec_like {
                const void *p;
                size_t n;
        } parts[3] = { { head, (size_t) n }, { msg, len }, { "\n", 1 } };
        for (int i = 0; i < 3; i++)
                if (hutch_write_all(w->fd, parts[i].p, parts[i].n) < 0)
                        return;
        w->size += (uint64_t) n + len + 1;
}

void cmd_log_writer_add(struct cmd_log_writer *w, int stream, const char *data, size_t len)
{
        int s = stream == 2 ? 2 : 1;

        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t take = nl ? (size_t) (nl - data) : len;
                /* a line longer than the buffer goes out in partial pieces */
                while (w->len[s] + take > LINE_BUF) {
                        size_t room = LINE_BUF - w->len[s];
                        memcpy(w->buf[s] + w->len[s], data, room);
                        emit(w, s, true, w->buf[s], LINE_BUF);
                        w->len[s] = 0;
                        data += room;
                        len -= room;
                        take -= room;
                }
                memcpy(w->buf[s] + w->len[s], data, take);
                w->len[s] += take;
                data += take;
                len -= take;
                if (nl) {
                        emit(w, s, false, w->buf[s], w->len[s]);
                        w->len[s] = 0;
                        data++;
                        len--;
                }
        }
}

void cmd_log_writer_flush(struct cmd_log_writer *w)
{
        for (int s = 1; s <= 2; s++)
                if (w->len[s] > 0) {
                        emit(w, s, true, w->buf[s], w->len[s]);
                        w->len[s] = 0;
                }
}

struct cmd_log_writer *cmd_log_writer_free(struct cmd_log_writer *w)
{
        if (w == NULL)
                return NULL;
        cmd_log_writer_flush(w);
        if (w->fd >= 0)
                (void) close(w->fd);
        free(w->path);
        free(w);
        return NULL;
}

static int64_t parse_rfc3339_ns(const char *s, size_t len)
{
        struct tm tm = { 0 };
        char buf[64];
        const char *frac;
        int64_t ns = 0;

        if (len >= sizeof(buf))
                return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        frac = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
        if (frac == NULL)
                return -1;
        if (*frac == '.') {
                int digits = 0;
                for (frac++; *frac >= '0' && *frac <= '9'; frac++, digits++)
                        if (digits < 9)
                                ns = ns * 10 + (*frac - '0');
                for (; digits < 9; digits++)
                        ns *= 10;
        }
        if (*frac != 'Z' && *frac != '\0' && strncmp(frac, "+00:00", 6) != 0)
                return -1;
        return (int64_t) timegm(&tm) * 1000000000 + ns;
}

bool cmd_log_parse_line(const char *line, size_t len, int64_t *ret_ns, int *ret_stream, bool *ret_partial,
                        const char **ret_msg, size_t *ret_msg_len)
{
        const char *sp1 = memchr(line, ' ', len);
        if (sp1 == NULL)
                return false;
        const char *rest = sp1 + 1;
        size_t left = len - (size_t) (rest - line);
        int stream;
        if (left >= 7 && memcmp(rest, "stdout ", 7) == 0)
                stream = 1;
        else if (left >= 7 && memcmp(rest, "stderr ", 7) == 0)
                stream = 2;
        else
                return false;
        rest += 7;
        left -= 7;
        if (left < 2 || (rest[0] != 'F' && rest[0] != 'P') || rest[1] != ' ')
                return false;
        int64_t ns = parse_rfc3339_ns(line, (size_t) (sp1 - line));
        if (ns < 0)
                return false;
        *ret_ns = ns;
        *ret_stream = stream;
        *ret_partial = rest[0] == 'P';
        *ret_msg = rest + 2;
        *ret_msg_len = left - 2;
        return true;
}

int cmd_log_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns)
{
        size_t n = strlen(s);
        uint64_t v;

        if (n >= 2 && strchr("smhd", s[n - 1]) != NULL) {
                _cleanup_free_ char *num = xstrndup(s, n - 1);
                if (hutch_parse_u64(num, UINT32_MAX, &v) < 0)
                        return -EINVAL;
                int64_t mul = s[n - 1] == 's' ? 1 : s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : 86400;
                *ret_ns = now_ns - (int64_t) v * mul * 1000000000;
                return 0;
        }
        if (hutch_parse_u64(s, UINT32_MAX, &v) == 0) {
                *ret_ns = (int64_t) v * 1000000000;
                return 0;
        }
        int64_t t = parse_rfc3339_ns(s, n);
        if (t < 0)
                return -EINVAL;
        *ret_ns = t;
        return 0;
}

static bool in_window(const struct cmd_log_read_options *o, int64_t ns)
{
        return (o->since_ns == 0 || ns >= o->since_ns) && (o->until_ns == 0 || ns <= o->until_ns);
}

static void print_entry(const struct cmd_log_read_options *o, const char *line, size_t len, FILE *out, FILE *errout)
{
        int64_t ns;
        int stream;
        bool partial;
        const char *msg;
        size_t mlen;

        if (!cmd_log_parse_line(line, len, &ns, &stream, &partial, &msg, &mlen) || !in_window(o, ns))
                return;
        FILE *f = stream == 2 ? errout : out;
        if (o->timestamps)
                fprintf(f, "%.*s ", (int) (strchr(line, ' ') - line), line);
        fwrite(msg, 1, mlen, f);
        if (!partial)
                fputc('\n', f);
}

/* Prints complete lines of buf; returns the bytes consumed. */
static size_t print_lines(const struct cmd_log_read_options *o, const char *buf, size_t len, long skip, FILE *out,
                          FILE *errout)
{
        size_t pos = 0;
        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                if (nl == NULL)
                        break;
                size_t l = (size_t) (nl - (buf + pos));
                if (skip > 0)
                        skip--;
                else
                        print_entry(o, buf + pos, l, out, errout);
                pos += l + 1;
        }
        return pos;
}

static long count_lines(const char *buf, size_t len)
{
        long n = 0;
        for (size_t i = 0; i < len; i++)
                n += buf[i] == '\n';
        return n;
}

int cmd_log_print(const char *path, const struct cmd_log_read_options *o, FILE *out, FILE *errout, uint64_t *ret_offset,
                  struct hutch_error **err)
{
        _cleanup_free_ char *old_path = xasprintf("%s.1", path);
        _cleanup_free_ char *old = NULL, *cur = NULL;
        size_t old_len = 0, cur_len = 0;
        struct hutch_error *e = NULL;

        if (hutch_read_file_at(AT_FDCWD, old_path, 64u << 20, &old, &old_len, &e) < 0) {
                hutch_error_free(e);
                e = NULL;
                old = NULL;
                old_len = 0;
        }
        if (hutch_read_file_at(AT_FDCWD, path, 64u << 20, &cur, &cur_len, &e) < 0) {
                if (e->errnum != ENOENT) {
                        hutch_error_set(err, e->errnum, "read the container log: %s", e->msg);
                        hutch_error_free(e);
                        return -1;
                }
                hutch_error_free(e);
                cur = NULL;
                cur_len = 0;
        }
        long total = count_lines(old ? old : "", old_len) + count_lines(cur ? cur : "", cur_len);
        long skip = o->tail >= 0 && total > o->tail ? total - o->tail : 0;
        long old_lines = count_lines(old ? old : "", old_len);
        if (old)
                print_lines(o, old, old_len, skip, out, errout);
        skip = skip > old_lines ? skip - old_lines : 0;
        size_t used = cur ? print_lines(o, cur, cur_len, skip, out, errout) : 0;
        fflush(out);
        fflush(errout);
        *ret_offset = used;
        return 0;
}

int cmd_log_follow_step(const char *path, const struct cmd_log_read_options *o, FILE *out, FILE *errout,
                        uint64_t *offset)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char buf[65536];

        if (fd < 0 || fstat(fd, &st) < 0)
                return 0;
        if ((uint64_t) st.st_size < *offset)
                *offset = 0; /* rotated: start over in the new file */
        for (;;) {
                ssize_t n = pread(fd, buf, sizeof(buf), (off_t) *offset);
                if (n <= 0)
                        break;
                size_t used = print_lines(o, buf, (size_t) n, 0, out, errout);
                if (used == 0)
                        break; /* a line still being written */
                *offset += used;
        }
        fflush(out);
        fflush(errout);
        return 0;
}
