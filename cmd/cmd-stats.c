/* hutch stats: a live table of containers' resource use, as Docker's.
 *
 * The numbers come from the container's own cgroup v2 (hutch-<id>) when it
 * has one, and otherwise from /proc, which needs no cgroup at all: the
 * processes in the container's PID namespace (CPU time, PSS or RSS,
 * threads, block I/O), and its network namespace's interfaces through its
 * init.  Every process is read through an fd on its /proc directory, and
 * the init only after its start time matched the record: a reused PID is
 * never read as the container's. */
#include "config.h"

#include "cmd/cgroup.h"
#include "cmd/cmd-containers.h"
#include "cmd/paths.h"
#include "cmd/procstat.h"
#include "cmd/run.h"
#include "cmd/template.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

enum { OPT_ALL = 'a', OPT_NO_STREAM = 0x100, OPT_NO_TRUNC, OPT_FORMAT };

const struct cmd_option cmd_stats_options[] = {
        { "all", 'a', no_argument, NULL, "show every container (default: running ones)", OPT_ALL },
        { "no-stream", 0, no_argument, NULL, "print one sample and exit (default: redraw every second)",
          OPT_NO_STREAM },
        { "no-trunc", 0, no_argument, NULL, "do not shorten IDs", OPT_NO_TRUNC },
        { "format", 0, required_argument, "FORMAT",
          "json, table, or a Go template over .ID .Name .Container .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO "
          ".PIDs ('table TEMPLATE' adds a header)",
          OPT_FORMAT },
        { 0 },
};

#define DEFAULT_TABLE                                                                                      \
        "{{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t" \
        "{{.PIDs}}"
/* The first CPU reading is this long before the sample (CPU % is a rate). */
#define FIRST_INTERVAL_MS 500
#define INTERVAL_MS       1000
/* a text file of /proc or a cgroup is never larger */
#define MAX_TEXT (1u << 20)

struct sample {
        bool valid; /* it ran and was read; otherwise all zeros */
        uint64_t cpu_ns, mem, mem_limit, net_rx, net_tx, blk_read, blk_write, pids;
};

struct entry {
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        char *name;
        uint64_t memory_opt; /* --memory, 0: none */
        struct sample prev, cur;
        bool listed; /* still there at the last listing */
};

struct stats_ctx {
        const char *root;
        bool all, json, no_trunc;
        const char *tmpl; /* a row */
        bool header;      /* "table": a header line and aligned columns */
        char **names;     /* the containers asked for, or NULL for all */
        struct entry *v;
        size_t n;
        uint64_t sys_prev, sys_cur; /* the host's CPU time */
        uint64_t mem_total;
        unsigned cpus;
        long page_size, hz;
};

static char *read_text(int dirfd, const char *path, size_t *ret_len)
{
        char *buf = NULL;
        struct hutch_error *e = NULL;
        if (hutch_read_file_at(dirfd, path, MAX_TEXT, &buf, ret_len, &e) < 0) {
                hutch_error_free(e);
                return NULL;
        }
        return buf;
}

static bool read_key(int dirfd, const char *path, const char *key, uint64_t *ret)
{
        size_t len = 0;
        _cleanup_free_ char *text = read_text(dirfd, path, &len);
        return text && cmd_keyed_value(text, len, key, ret) == 0;
}

static uint64_t host_cpu_ns(long hz)
{
        size_t len = 0;
        _cleanup_free_ char *text = read_text(AT_FDCWD, "/proc/stat", &len);
        uint64_t ns = 0;
        if (text)
                (void) cmd_cpustat_parse(text, len, hz, &ns);
        return ns;
}

/* One process of the container, added to the sample. */
struct proc_sum {
        struct sample *s;
        long page_size;
        long hz;
};

static void add_process(pid_t pid, int procfd, void *data)
{
        struct proc_sum *sum = data;
        struct cmd_procstat st;
        uint64_t v;

        (void) pid;
        if (cmd_proc_read_stat(procfd, &st, NULL) < 0)
                return;
        /* reaped children's time stays counted, as a cgroup's does */
        uint64_t ticks = st.utime + st.stime + st.cutime + st.cstime;
        sum->s->cpu_ns += ticks * (1000000000ull / (uint64_t) sum->hz);
        sum->s->pids += st.num_threads;
        /* PSS shares pages between the processes that map them; RSS
         * (counted once per process) where smaps_rollup is not readable */
        if (read_key(procfd, "smaps_rollup", "Pss", &v))
                sum->s->mem += v;
        else
                sum->s->mem += st.rss_pages * (uint64_t) sum->page_size;
        /* bytes that went to (or came from) the storage layer, reaped
         * children's included */
        size_t len = 0;
        _cleanup_free_ char *io = read_text(procfd, "io", &len);
        if (io && cmd_keyed_value(io, len, "read_bytes", &v) == 0)
                sum->s->blk_read += v;
        if (io && cmd_keyed_value(io, len, "write_bytes", &v) == 0)
                sum->s->blk_write += v;
}

/* Overrides what the container's own cgroup v2 counts better: every
 * process it ever had, page cache and tmpfs, its limit. */
static void read_cgroup(const char *dir, struct sample *s)
{
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        uint64_t v, inactive;

        if (fd < 0)
                return;
        if (read_key(fd, "cpu.stat", "usage_usec", &v))
                s->cpu_ns = v * 1000;
        size_t len = 0;
        _cleanup_free_ char *pids = read_text(fd, "pids.current", &len);
        if (pids && sscanf(pids, "%" SCNu64, &v) == 1)
                s->pids = v;
        _cleanup_free_ char *current = read_text(fd, "memory.current", &len);
        if (current && sscanf(current, "%" SCNu64, &v) == 1) {
                /* Docker's usage: without the inactive page cache */
                if (read_key(fd, "memory.stat", "inactive_file", &inactive) && inactive < v)
                        v -= inactive;
                s->mem = v;
                _cleanup_free_ char *max = read_text(fd, "memory.max", &len);
                uint64_t limit;
                if (max && sscanf(max, "%" SCNu64, &limit) == 1)
                        s->mem_limit = limit;
        }
        _cleanup_free_ char *io = read_text(fd, "io.stat", &len);
        if (io)
                cmd_iostat_parse(io, len, &s->blk_read, &s->blk_write);
}

static void sample_container(struct stats_ctx *ctx, const struct storage_container *ct, struct entry *e)
{
        struct sample s = { 0 };
        struct stat ns;

        e->cur = s;
        if (ct->status != STORAGE_CONTAINER_RUNNING)
                return;
        _cleanup_close_ int procfd = cmd_proc_open(ct->pid, ct->pid_start, NULL);
        if (procfd < 0 || fstatat(procfd, "ns/pid", &ns, 0) < 0)
                return;
        struct proc_sum sum = { &s, ctx->page_size, ctx->hz };
        cmd_pidns_each(&ns, add_process, &sum);
        size_t len = 0;
        _cleanup_free_ char *dev = read_text(procfd, "net/dev", &len);
        if (dev)
                (void) cmd_netdev_parse(dev, len, &s.net_rx, &s.net_tx);
        _cleanup_free_ char *cg = cmd_cgroup_v2_dir(ct->pid, ct->id);
        if (cg)
                read_cgroup(cg, &s);
        if (s.mem_limit == 0)
                s.mem_limit = e->memory_opt ? e->memory_opt : ctx->mem_total;
        /* the init still the container's: all of the above was its */
        struct cmd_procstat st;
        if (cmd_proc_read_stat(procfd, &st, NULL) < 0)
                return;
        s.valid = true;
        e->cur = s;
}

static struct entry *find_entry(struct stats_ctx *ctx, const char *id)
{
        for (size_t i = 0; i < ctx->n; i++)
                if (STREQ(ctx->v[i].id, id))
                        return &ctx->v[i];
        return NULL;
}

static struct entry *add_entry(struct stats_ctx *ctx, const struct storage_container *ct)
{
        struct entry *e = find_entry(ctx, ct->id);
        if (e == NULL) {
                ctx->v = xrealloc(ctx->v, (ctx->n + 1) * sizeof(*ctx->v));
                e = &ctx->v[ctx->n++];
                memset(e, 0, sizeof(*e));
                memcpy(e->id, ct->id, sizeof(e->id));
                e->name = xstrdup(ct->name);
                struct run_args ra = { 0 };
                struct hutch_error *err = NULL;
                if (cmd_run_container_args(ct, &ra, &err) == 0)
                        e->memory_opt = ra.limits.memory;
                hutch_error_free(err);
                cmd_run_args_clear(&ra);
        }
        e->listed = true;
        return e;
}

/* A record that says running whose init is gone is not running. */
static void refresh(struct storage_container *ct)
{
        if (ct->status == STORAGE_CONTAINER_RUNNING && !storage_container_pid_alive(ct->pid, ct->pid_start))
                ct->status = STORAGE_CONTAINER_EXITED;
}

/* Lists the containers to show and reads each: the named ones, else the
 * running ones (every one with -a), newest first as `ps` lists them. */
static int take_sample(struct stats_ctx *ctx, struct hutch_error **err)
{
        for (size_t i = 0; i < ctx->n; i++)
                ctx->v[i].listed = false;
        ctx->sys_prev = ctx->sys_cur;
        ctx->sys_cur = host_cpu_ns(ctx->hz);
        if (ctx->names) {
                for (size_t i = 0; ctx->names[i]; i++) {
                        struct storage_container ct = { 0 };
                        if (storage_container_find(ctx->root, ctx->names[i], &ct, err) < 0)
                                return -1;
                        refresh(&ct);
                        struct entry *e = add_entry(ctx, &ct);
                        e->prev = e->cur;
                        sample_container(ctx, &ct, e);
                        storage_container_clear(&ct);
                }
                return 0;
        }
        struct storage_container *list = NULL;
        size_t n = 0;
        if (storage_container_list(ctx->root, &list, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                refresh(&list[i]);
                if (!ctx->all && list[i].status != STORAGE_CONTAINER_RUNNING)
                        continue;
                struct entry *e = add_entry(ctx, &list[i]);
                e->prev = e->cur;
                sample_container(ctx, &list[i], e);
        }
        storage_container_list_free(list, n);
        /* gone since the last listing */
        size_t k = 0;
        for (size_t i = 0; i < ctx->n; i++) {
                if (ctx->v[i].listed)
                        ctx->v[k++] = ctx->v[i];
                else
                        free(ctx->v[i].name);
        }
        ctx->n = k;
        return 0;
}

/* The row's fields as Docker's stats formatter prints them. */
static yajl_gen row_json(const struct stats_ctx *ctx, const struct entry *e, yajl_gen g)
{
        char id[STORAGE_CONTAINER_ID_LEN + 1], cpu[32], memp[32], a[32], b[32], usage[80], net[80], blk[80], pids[32];
        const struct sample *s = &e->cur;
        double cpu_pct = 0.0, mem_pct = 0.0;

        snprintf(id, sizeof(id), "%.*s", ctx->no_trunc ? STORAGE_CONTAINER_ID_LEN : 12, e->id);
        if (s->valid && e->prev.valid)
                cpu_pct = cmd_stats_cpu_percent(e->prev.cpu_ns, s->cpu_ns, ctx->sys_prev, ctx->sys_cur, ctx->cpus);
        if (s->mem_limit)
                mem_pct = (double) s->mem / (double) s->mem_limit * 100.0;
        snprintf(cpu, sizeof(cpu), "%.2f%%", cpu_pct);
        snprintf(memp, sizeof(memp), "%.2f%%", mem_pct);
        cmd_stats_bytes_binary(s->mem, a, sizeof(a));
        cmd_stats_bytes_binary(s->mem_limit, b, sizeof(b));
        snprintf(usage, sizeof(usage), "%s / %s", a, b);
        cmd_stats_bytes_decimal(s->net_rx, a, sizeof(a));
        cmd_stats_bytes_decimal(s->net_tx, b, sizeof(b));
        snprintf(net, sizeof(net), "%s / %s", a, b);
        cmd_stats_bytes_decimal(s->blk_read, a, sizeof(a));
        cmd_stats_bytes_decimal(s->blk_write, b, sizeof(b));
        snprintf(blk, sizeof(blk), "%s / %s", a, b);
        snprintf(pids, sizeof(pids), "%llu", (unsigned long long) s->pids);

        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "ID", id);
        hutch_json_gen_kv_string(g, "Name", e->name);
        hutch_json_gen_kv_string(g, "Container", e->name);
        hutch_json_gen_kv_string(g, "CPUPerc", cpu);
        hutch_json_gen_kv_string(g, "MemUsage", usage);
        hutch_json_gen_kv_string(g, "MemPerc", memp);
        hutch_json_gen_kv_string(g, "NetIO", net);
        hutch_json_gen_kv_string(g, "BlockIO", blk);
        hutch_json_gen_kv_string(g, "PIDs", pids);
        yajl_gen_map_close(g);
        return g;
}

static char *render_row(const struct stats_ctx *ctx, const struct entry *e, struct hutch_error **err)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        size_t len;
        row_json(ctx, e, g);
        _cleanup_free_ char *text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);
        yajl_val doc = hutch_json_parse(text, len, err);
        if (doc == NULL)
                return NULL;
        char *out = cmd_template_render(ctx->tmpl, doc, err);
        yajl_tree_free(doc);
        return out;
}

/* Pads tab-separated cells into columns, as Docker's tabwriter does
 * (each column as wide as its widest cell, plus 3 spaces). */
static void print_aligned(FILE *out, char **lines)
{
        size_t widths[64] = { 0 };

        for (size_t i = 0; lines[i]; i++) {
                size_t col = 0;
                for (const char *p = lines[i]; col < ARRAY_SIZE(widths);) {
                        const char *tab = strchr(p, '\t');
                        if (tab == NULL)
                                break;
                        if ((size_t) (tab - p) > widths[col])
                                widths[col] = (size_t) (tab - p);
                        col++;
                        p = tab + 1;
                }
        }
        for (size_t i = 0; lines[i]; i++) {
                size_t col = 0;
                const char *p = lines[i];
                for (const char *tab; col < ARRAY_SIZE(widths) && (tab = strchr(p, '\t')) != NULL; p = tab + 1) {
                        fprintf(out, "%-*.*s", (int) (widths[col] + 3), (int) (tab - p), p);
                        col++;
                }
                fprintf(out, "%s\n", p);
        }
}

/* One frame (the header and a row per container) into out. */
static int print_frame(const struct stats_ctx *ctx, FILE *out, struct hutch_error **err)
{
        if (ctx->json) {
                yajl_gen g = yajl_gen_alloc(NULL);
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_array_open(g);
                for (size_t i = 0; i < ctx->n; i++)
                        row_json(ctx, &ctx->v[i], g);
                yajl_gen_array_close(g);
                hutch_json_gen_print(g, out);
                yajl_gen_free(g);
                return 0;
        }
        _cleanup_strv_ char **lines = NULL;
        if (ctx->header) {
                static const char *const renames[] = {
                        "ID",       "CONTAINER ID",      "Name",    "NAME",  "CPUPerc",   "CPU %",
                        "MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %", "NetIO",     "NET I/O",
                        "BlockIO",  "BLOCK I/O",         "PIDs",    "PIDS",  "Container", "CONTAINER",
                        NULL,
                };
                char *header = cmd_template_header(ctx->tmpl, renames);
                hutch_strv_append(&lines, header);
                free(header);
        }
        for (size_t i = 0; i < ctx->n; i++) {
                char *row = render_row(ctx, &ctx->v[i], err);
                if (row == NULL)
                        return -1;
                hutch_strv_append(&lines, row);
                free(row);
        }
        if (lines == NULL)
                return 0;
        if (ctx->header) {
                print_aligned(out, lines);
        } else {
                for (size_t i = 0; lines[i]; i++)
                        fprintf(out, "%s\n", lines[i]);
        }
        return 0;
}

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Redraws until SIGINT, SIGTERM or SIGHUP (exit 0); on a terminal in
 * place, with the cursor hidden and given back at the end. */
static int stream(struct stats_ctx *ctx, struct hutch_error **err)
{
        sigset_t mask, oldmask;
        bool tty = isatty(STDOUT_FILENO);
        int r = 0;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0)
                return hutch_error_set(err, errno, "block signals");
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0) {
                r = hutch_error_set(err, errno, "signalfd");
                goto out;
        }
        if (tty)
                fputs("\033[?25l", stdout);
        for (bool first = true;; first = false) {
                if (!first) {
                        r = take_sample(ctx, err);
                        if (r < 0)
                                break;
                }
                char *frame = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&frame, &len);
                if (f == NULL) {
                        r = hutch_error_set(err, errno, "open_memstream");
                        break;
                }
                if (tty)
                        fputs("\033[H\033[J", f);
                r = print_frame(ctx, f, err);
                fclose(f);
                if (r == 0) {
                        fwrite(frame, 1, len, stdout);
                        fflush(stdout);
                }
                free(frame);
                if (r < 0)
                        break;
                struct pollfd p = { sfd, POLLIN, 0 };
                int k = poll(&p, 1, INTERVAL_MS);
                if (k > 0) {
                        /* consumed, or it would kill us once unblocked */
                        struct signalfd_siginfo si;
                        (void) !read(sfd, &si, sizeof(si));
                        break; /* the user is done */
                }
                if (k < 0 && errno != EINTR) {
                        r = hutch_error_set(err, errno, "poll");
                        break;
                }
        }
        if (tty) {
                fputs("\033[?25h", stdout);
                fflush(stdout);
        }
out:
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
        return r;
}

int cmd_stats(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_strv_ char **names = NULL;
        struct stats_ctx ctx = { .root = root, .tmpl = DEFAULT_TABLE, .header = true };
        bool no_stream = false;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case OPT_ALL: ctx.all = true; break;
                case OPT_NO_STREAM: no_stream = true; break;
                case OPT_NO_TRUNC: ctx.no_trunc = true; break;
                case OPT_FORMAT:
                        ctx.json = STREQ(optval, "json");
                        ctx.header = STREQ(optval, "table") || strncmp(optval, "table ", 6) == 0;
                        if (STREQ(optval, "table") || ctx.json)
                                ctx.tmpl = DEFAULT_TABLE;
                        else
                                ctx.tmpl = ctx.header ? optval + 6 : optval;
                        if (strstr(ctx.tmpl, "{{") == NULL)
                                return cmd_usage_error(cmd, err, "unknown --format '%s' (json, table or a template)",
                                                       optval);
                        break;
                }
        }
        /* a malformed template fails now, not after the first sample */
        if (!ctx.json) {
                struct entry probe = { .name = (char *) "" };
                _cleanup_free_ char *out = render_row(&ctx, &probe, err);
                if (out == NULL)
                        return -1;
        }
        /* every named container must exist, as Docker requires */
        r = 0;
        for (int i = optind; i < argc; i++) {
                char id[STORAGE_CONTAINER_ID_LEN + 1];
                struct hutch_error *e = NULL;
                if (storage_container_lookup(root, argv[i], id, &e) < 0) {
                        if (r < 0)
                                fprintf(stderr, "Error: %s\n", (*err)->msg);
                        hutch_error_free(*err);
                        *err = e;
                        r = -1;
                }
                hutch_strv_append(&names, argv[i]);
        }
        if (r < 0)
                return r;
        ctx.names = names;
        ctx.hz = sysconf(_SC_CLK_TCK);
        ctx.page_size = sysconf(_SC_PAGESIZE);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        ctx.cpus = cpus > 0 ? (unsigned) cpus : 1;
        if (ctx.hz <= 0)
                ctx.hz = 100;
        (void) read_key(AT_FDCWD, "/proc/meminfo", "MemTotal", &ctx.mem_total);

        /* two readings: CPU % is the use between them */
        r = take_sample(&ctx, err);
        if (r == 0) {
                sleep_ms(FIRST_INTERVAL_MS);
                r = take_sample(&ctx, err);
        }
        if (r == 0)
                r = no_stream ? print_frame(&ctx, stdout, err) : stream(&ctx, err);
        for (size_t i = 0; i < ctx.n; i++)
                free(ctx.v[i].name);
        free(ctx.v);
        return r < 0 ? r : 0;
}
