#include "config.h"

#include "cmd/procstat.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A decimal number at *p (before end), after any blanks; moves *p past it.
 * Saturates rather than wraps: the text is not ours. */
static bool take_u64(const char **p, const char *end, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;

        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        if (s >= end || *s < '0' || *s > '9')
                return false;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                unsigned d = (unsigned) (*s - '0');
                v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        }
        *p = s;
        *ret = v;
        return true;
}

/* Skips one blank-separated token (signed numbers of fields we ignore). */
static bool skip_token(const char **p, const char *end)
{
        const char *s = *p;
        while (s < end && *s == ' ')
                s++;
        if (s >= end || *s == '\n')
                return false;
        while (s < end && *s != ' ' && *s != '\n')
                s++;
        *p = s;
        return true;
}

int cmd_procstat_parse(const char *buf, size_t len, struct cmd_procstat *ret)
{
        const char *end = buf + len, *open_paren = memchr(buf, '(', len), *close_paren = NULL;
        struct cmd_procstat st = { 0 };

        /* comm may hold spaces and parens: fields count from the last ')' */
        for (const char *q = end; q > buf; q--)
                if (q[-1] == ')') {
                        close_paren = q - 1;
                        break;
                }
        if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
                return -EINVAL;
        size_t clen = (size_t) (close_paren - open_paren - 1);
        if (clen >= sizeof(st.comm))
                clen = sizeof(st.comm) - 1;
        memcpy(st.comm, open_paren + 1, clen);
        st.comm[clen] = '\0';

        const char *p = close_paren + 1;
        if (end - p < 2 || p[0] != ' ')
                return -EINVAL;
        st.state = p[1];
        p += 2;
        /* fields 4..24; the ones we keep are unsigned */
        for (int field = 4; field <= 24; field++) {
                uint64_t *want = NULL;
                switch (field) {
                case 14: want = &st.utime; break;
                case 15: want = &st.stime; break;
                case 16: want = &st.cutime; break;
                case 17: want = &st.cstime; break;
                case 20: want = &st.num_threads; break;
                case 22: want = &st.starttime; break;
                case 24: want = &st.rss_pages; break;
                }
                if (want ? !take_u64(&p, end, want) : !skip_token(&p, end))
                        return -EINVAL;
                if (p < end && *p != ' ' && *p != '\n')
                        return -EINVAL;
        }
        *ret = st;
        return 0;
}

/* The next line of [*p, end) as [line, eol); false at the end. */
static bool next_line(const char **p, const char *end, const char **ret_line, const char **ret_eol)
{
        if (*p >= end)
                return false;
        const char *eol = memchr(*p, '\n', (size_t) (end - *p));
        if (eol == NULL)
                eol = end;
        *ret_line = *p;
        *ret_eol = eol;
        *p = eol < end ? eol + 1 : end;
        return true;
}

int cmd_netdev_parse(const char *buf, size_t len, uint64_t *ret_rx, uint64_t *ret_tx)
{
        const char *p = buf, *end = buf + len, *line, *eol;
        uint64_t rx = 0, tx = 0;
        bool any = false;

        while (next_line(&p, end, &line, &eol)) {
                /* "  eth0: RXBYTES packets errs drop fifo frame compressed multicast TXBYTES ..." */
                const char *colon = memchr(line, ':', (size_t) (eol - line));
                if (colon == NULL)
                        continue; /* the two header lines */
                const char *name = line;
                while (name < colon && *name == ' ')
                        name++;
                const char *q = colon + 1;
                uint64_t v[9];
                bool ok = true;
                for (int i = 0; i < 9 && ok; i++)
                        ok = take_u64(&q, eol, &v[i]);
                if (!ok)
                        continue;
                any = true;
                if (colon - name == 2 && memcmp(name, "lo", 2) == 0)
                        continue;
                rx = rx > UINT64_MAX - v[0] ? UINT64_MAX : rx + v[0];
                tx = tx > UINT64_MAX - v[8] ? UINT64_MAX : tx + v[8];
        }
        if (!any)
                return -EINVAL;
        *ret_rx = rx;
        *ret_tx = tx;
        return 0;
}

int cmd_keyed_value(const char *buf, size_t len, const char *key, uint64_t *ret)
{
        const char *p = buf, *end = buf + len, *line, *eol;
        size_t klen = strlen(key);

        while (next_line(&p, end, &line, &eol)) {
                if ((size_t) (eol - line) <= klen || memcmp(line, key, klen) != 0)
                        continue;
                const char *q = line + klen;
                if (*q == ':')
                        q++;
                else if (*q != ' ' && *q != '\t')
                        continue;
                uint64_t v;
                if (!take_u64(&q, eol, &v))
                        return -EINVAL;
                while (q < eol && *q == ' ')
                        q++;
                if (eol - q >= 2 && memcmp(q, "kB", 2) == 0)
                        v = v > UINT64_MAX / 1024 ? UINT64_MAX : v * 1024;
                *ret = v;
                return 0;
        }
        return -ENOENT;
}

void cmd_iostat_parse(const char *buf, size_t len, uint64_t *ret_read, uint64_t *ret_write)
{
        const char *p = buf, *end = buf + len;
        uint64_t rd = 0, wr = 0;

        /* "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per device */
        while (p < end) {
                while (p < end && (*p == ' ' || *p == '\n'))
                        p++;
                const char *tok = p;
                while (p < end && *p != ' ' && *p != '\n')
                        p++;
                size_t tlen = (size_t) (p - tok);
                uint64_t *sum = NULL;
                if (tlen > 7 && memcmp(tok, "rbytes=", 7) == 0)
                        sum = &rd;
                else if (tlen > 7 && memcmp(tok, "wbytes=", 7) == 0)
                        sum = &wr;
                const char *q = tok + 7;
                uint64_t v;
                if (sum && take_u64(&q, p, &v) && q == p)
                        *sum = *sum > UINT64_MAX - v ? UINT64_MAX : *sum + v;
        }
        *ret_read = rd;
        *ret_write = wr;
}

int cmd_cpustat_parse(const char *buf, size_t len, long ticks_per_sec, uint64_t *ret_ns)
{
        const char *p = buf, *end = buf + len, *line, *eol;

        if (ticks_per_sec <= 0)
                return -EINVAL;
        while (next_line(&p, end, &line, &eol)) {
                if (eol - line < 4 || memcmp(line, "cpu ", 4) != 0)
                        continue;
                const char *q = line + 4;
                uint64_t total = 0, v;
                for (int i = 0; i < 7; i++) {
                        if (!take_u64(&q, eol, &v))
                                return -EINVAL;
                        total = total > UINT64_MAX - v ? UINT64_MAX : total + v;
                }
                uint64_t per = 1000000000ull / (uint64_t) ticks_per_sec;
                *ret_ns = total > UINT64_MAX / per ? UINT64_MAX : total * per;
                return 0;
        }
        return -EINVAL;
}

double cmd_stats_cpu_percent(uint64_t cpu_prev_ns, uint64_t cpu_now_ns, uint64_t sys_prev_ns, uint64_t sys_now_ns,
                             unsigned online_cpus)
{
        /* a counter that went back (a process left between readings) is no use */
        if (cpu_now_ns <= cpu_prev_ns || sys_now_ns <= sys_prev_ns || online_cpus == 0)
                return 0.0;
        return (double) (cpu_now_ns - cpu_prev_ns) / (double) (sys_now_ns - sys_prev_ns) * online_cpus * 100.0;
}

static void human_size(uint64_t n, double base, const char *const *units, size_t n_units, int precision, char *buf,
                       size_t size)
{
        double v = (double) n;
        size_t i = 0;
        while (v >= base && i + 1 < n_units) {
                v /= base;
                i++;
        }
        snprintf(buf, size, "%.*g%s", precision, v, units[i]);
}

void cmd_stats_bytes_binary(uint64_t n, char *buf, size_t size)
{
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB" };
        human_size(n, 1024.0, units, ARRAY_SIZE(units), 4, buf, size);
}

void cmd_stats_bytes_decimal(uint64_t n, char *buf, size_t size)
{
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };
        human_size(n, 1000.0, units, ARRAY_SIZE(units), 3, buf, size);
}

int cmd_proc_read_stat(int procfd, struct cmd_procstat *ret, uid_t *ret_uid)
{
        char buf[2048];
        struct stat st;
        _cleanup_close_ int fd = openat(procfd, "stat", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return -ESRCH;
        ssize_t n = hutch_read_full(fd, buf, sizeof(buf));
        if (n <= 0)
                return -ESRCH;
        if (cmd_procstat_parse(buf, (size_t) n, ret) < 0)
                return -EINVAL;
        if (ret_uid)
                *ret_uid = st.st_uid;
        return 0;
}

int cmd_proc_open(pid_t pid, uint64_t start_time, struct cmd_procstat *ret)
{
        char path[64];
        struct cmd_procstat st;

        if (pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%d", (int) pid);
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -ESRCH;
        /* read through the fd: a PID reused after this open fails here */
        if (cmd_proc_read_stat(fd, &st, NULL) < 0 || (start_time && st.starttime != start_time))
                return -ESRCH;
        if (ret)
                *ret = st;
        return steal_fd(&fd);
}

void cmd_pidns_each(const struct stat *ns, cmd_pidns_fn fn, void *data)
{
        _cleanup_dir_ DIR *d = opendir("/proc");
        struct dirent *de;

        while (d && (de = readdir(d)) != NULL) {
                unsigned int pid;
                struct stat st;
                if (hutch_parse_uint(de->d_name, 1u << 22, &pid) < 0)
                        continue;
                _cleanup_close_ int fd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
                /* a process of another user's fails here: not ours to show */
                if (fd < 0 || fstatat(fd, "ns/pid", &st, 0) < 0 || st.st_ino != ns->st_ino || st.st_dev != ns->st_dev)
                        continue;
                fn((pid_t) pid, fd, data);
        }
}
