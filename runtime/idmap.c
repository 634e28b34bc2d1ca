/* Subordinate ID ranges and user-namespace ID maps. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_LIBSUBID
#include <dlfcn.h>
#include <shadow/subid.h>

/* True when nsswitch.conf names a "subid:" source other than files. */
static bool nsswitch_has_subid_provider(void)
{
        FILE *f = fopen("/etc/nsswitch.conf", "re");
        char line[512];
        bool found = false;

        if (f == NULL)
                return false;
        while (!found && fgets(line, sizeof(line), f)) {
                char *p = line;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (strncmp(p, "subid:", 6) != 0)
                        continue;
                for (char *tok = strtok(p + 6, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
                        if (!STREQ(tok, "files"))
                                found = true;
        }
        fclose(f);
        return found;
}

/* subid_get_{uid,gid}_ranges from libsubid, loaded on first use. */
static int subid_call(enum runtime_subid_kind kind, const char *user, struct subid_range **ret)
{
        static void *lib;
        int (*fn)(const char *, struct subid_range **);

        if (lib == NULL)
                lib = dlopen("libsubid.so.4", RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL)
                return -1;
        *(void **) (&fn) = dlsym(lib, kind == RUNTIME_SUBUID ? "subid_get_uid_ranges" : "subid_get_gid_ranges");
        return fn ? fn(user, ret) : -1;
}
#endif

#define SUBID_FILE_MAX (4u << 20)
/* how a refused range is fixed: shadow cannot be asked to map it */
#define SUBID_FIX                                                                                         \
        " (an administrator must change that: a user's ranges hold neither 0 nor the user's own ID, and " \
        "do not overlap)"

static bool range_overlaps(unsigned long start, unsigned long count, unsigned long id)
{
        return id >= start && id - start < count;
}

int runtime_subid_parse(const char *text, const char *user, unsigned long id, struct runtime_subid_range **ret_ranges,
                        size_t *ret_n, struct hutch_error **err)
{
        _cleanup_free_ struct runtime_subid_range *ranges = NULL;
        char idstr[32];
        size_t n = 0;
        const char *line = text;

        snprintf(idstr, sizeof(idstr), "%lu", id);
        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                char buf[512];

                if (len > 0 && len < sizeof(buf) && line[0] != '#') {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        char *owner = buf, *start_s = strchr(buf, ':'), *count_s = NULL;
                        if (start_s) {
                                *start_s++ = '\0';
                                count_s = strchr(start_s, ':');
                        }
                        if (count_s) {
                                *count_s++ = '\0';
                                uint64_t start, count;
                                if ((STREQ(owner, user ? user : "") || STREQ(owner, idstr)) &&
                                    hutch_parse_u64(start_s, UINT32_MAX, &start) == 0 &&
                                    hutch_parse_u64(count_s, UINT32_MAX, &count) == 0 && count > 0 &&
                                    start + count - 1 <= UINT32_MAX) {
                                        if (range_overlaps(start, count, 0) || range_overlaps(start, count, id))
                                                return hutch_error_set(err, 0,
                                                                       "subordinate range '%s:%s:%s' includes ID 0 or "
                                                                       "the user's own ID %lu" SUBID_FIX,
                                                                       owner, start_s, count_s, id);
                                        ranges = xreallocarray(ranges, n + 1, sizeof(*ranges));
                                        ranges[n].start = (unsigned long) start;
                                        ranges[n].count = (unsigned long) count;
                                        n++;
                                }
                        }
                }
                line = end ? end + 1 : NULL;
        }
        /* Overlapping ranges would map two container IDs to one host ID. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (ranges[i].start < ranges[j].start + ranges[j].count &&
                            ranges[j].start < ranges[i].start + ranges[i].count)
                                return hutch_error_set(
                                        err, 0, "subordinate ranges %lu+%lu and %lu+%lu overlap" SUBID_FIX,
                                        ranges[i].start, ranges[i].count, ranges[j].start, ranges[j].count);
        *ret_ranges = steal_ptr(&ranges);
        *ret_n = n;
        return 0;
}

int runtime_subid_lookup(enum runtime_subid_kind kind, const char *user, unsigned long id,
                         struct runtime_subid_range **ret_ranges, size_t *ret_n, const char **ret_source,
                         struct hutch_error **err)
{
        const char *file = kind == RUNTIME_SUBUID ? "/etc/subuid" : "/etc/subgid";
        _cleanup_free_ char *text = NULL;
        int r;

#ifdef HAVE_LIBSUBID
        /* Ranges from a "subid:" provider in nsswitch.conf (LDAP, SSSD) come
         * through libsubid, loaded only then: it drags PAM, SELinux and
         * audit libraries into every hutch command otherwise.  Without a
         * provider libsubid would read the same files we do. */
        if (user != NULL && getenv("HUTCH_SUBID_FILES") == NULL && nsswitch_has_subid_provider()) {
                struct subid_range *sr = NULL;
                int cnt = subid_call(kind, user, &sr);
                if (cnt >= 0) {
                        struct runtime_subid_range *ranges = xcalloc((size_t) cnt + 1, sizeof(*ranges));
                        size_t n = 0;
                        for (int i = 0; i < cnt; i++) {
                                if (sr[i].count == 0)
                                        continue;
                                if (range_overlaps(sr[i].start, sr[i].count, 0) ||
                                    range_overlaps(sr[i].start, sr[i].count, id)) {
                                        free(sr);
                                        free(ranges);
                                        return hutch_error_set(err, 0,
                                                               "subordinate range %lu+%lu (libsubid) includes ID 0 or "
                                                               "the user's own ID %lu" SUBID_FIX,
                                                               sr[i].start, sr[i].count, id);
                                }
                                ranges[n].start = sr[i].start;
                                ranges[n].count = sr[i].count;
                                n++;
                        }
                        free(sr);
                        *ret_ranges = ranges;
                        *ret_n = n;
                        *ret_source = "libsubid";
                        return 0;
                }
                log_debug("libsubid lookup for '%s' failed, reading %s", user, file);
        }
#endif
        const char *override = getenv(kind == RUNTIME_SUBUID ? "HUTCH_SUBUID_FILE" : "HUTCH_SUBGID_FILE");
        if (override)
                file = override;
        r = hutch_read_file_at(AT_FDCWD, file, SUBID_FILE_MAX, &text, NULL, err);
        if (r < 0) {
                if (err && *err && (*err)->errnum == ENOENT) {
                        hutch_error_clear(err);
                        *ret_ranges = NULL;
                        *ret_n = 0;
                        *ret_source = file;
                        return 0;
                }
                return r;
        }
        r = runtime_subid_parse(text, user, id, ret_ranges, ret_n, err);
        if (r < 0)
                return hutch_error_prefix(err, "%s", file);
        *ret_source = file;
        return 0;
}

void runtime_idmap_build(unsigned long host_id, const struct runtime_subid_range *ranges, size_t n,
                         struct runtime_idmap *ret)
{
        uint64_t next = 1;

        memset(ret, 0, sizeof(*ret));
        ret->e[0] = (struct runtime_idmap_entry){ 0, (uint32_t) host_id, 1 };
        ret->n = 1;
        for (size_t i = 0; i < n && ret->n < RUNTIME_IDMAP_MAX; i++) {
                uint64_t count = ranges[i].count;
                /* Container IDs stop at 2^32-2 (-1 is "no ID"). */
                if (next + count > UINT32_MAX)
                        count = UINT32_MAX - next;
                if (count == 0)
                        break;
                ret->e[ret->n++] =
                        (struct runtime_idmap_entry){ (uint32_t) next, (uint32_t) ranges[i].start, (uint32_t) count };
                next += count;
        }
}

int runtime_idmap_parse(const char *s, struct runtime_idmap *ret, struct hutch_error **err)
{
        struct runtime_idmap map;
        const char *p = s;

        memset(&map, 0, sizeof(map));
        if (s == NULL || *s == '\0')
                return hutch_error_set(err, EINVAL, "empty ID map");
        while (*p) {
                char field[3][16];
                uint64_t v[3];
                for (int k = 0; k < 3; k++) {
                        size_t n = strcspn(p, k < 2 ? ":" : ",");
                        if (n == 0 || n >= sizeof(field[k]))
                                return hutch_error_set(err, EINVAL, "invalid ID map '%s': expected ctr:host:size", s);
                        memcpy(field[k], p, n);
                        field[k][n] = '\0';
                        if (hutch_parse_u64(field[k], UINT32_MAX, &v[k]) < 0)
                                return hutch_error_set(err, EINVAL, "invalid ID map '%s': '%s' is not an ID", s,
                                                       field[k]);
                        p += n;
                        if (k < 2) {
                                if (*p != ':')
                                        return hutch_error_set(err, EINVAL,
                                                               "invalid ID map '%s': expected ctr:host:size", s);
                                p++;
                        }
                }
                if (v[2] == 0 || v[0] + v[2] > (uint64_t) UINT32_MAX || v[1] + v[2] > (uint64_t) UINT32_MAX)
                        return hutch_error_set(err, EINVAL, "invalid ID map '%s': size out of range", s);
                if (map.n >= RUNTIME_IDMAP_MAX)
                        return hutch_error_set(err, E2BIG, "invalid ID map '%s': more than %d ranges", s,
                                               RUNTIME_IDMAP_MAX);
                for (size_t i = 0; i < map.n; i++) {
                        const struct runtime_idmap_entry *o = &map.e[i];
                        if ((v[0] < (uint64_t) o->container_id + o->size && o->container_id < v[0] + v[2]) ||
                            (v[1] < (uint64_t) o->host_id + o->size && o->host_id < v[1] + v[2]))
                                return hutch_error_set(err, EINVAL, "invalid ID map '%s': ranges overlap", s);
                }
                map.e[map.n++] = (struct runtime_idmap_entry){ (uint32_t) v[0], (uint32_t) v[1], (uint32_t) v[2] };
                if (*p == ',' && p[1] != '\0')
                        p++;
                else if (*p)
                        return hutch_error_set(err, EINVAL, "invalid ID map '%s'", s);
        }
        *ret = map;
        return 0;
}

size_t runtime_idmap_format(const struct runtime_idmap *map, char *buf, size_t size)
{
        size_t len = 0;
        if (size > 0)
                buf[0] = '\0';
        for (size_t i = 0; i < map->n && len < size; i++) {
                int n = snprintf(buf + len, size - len, "%u %u %u\n", map->e[i].container_id, map->e[i].host_id,
                                 map->e[i].size);
                if (n < 0)
                        break;
                len += (size_t) n;
        }
        return len < size ? len : size;
}

int runtime_idmap_to_host(const struct runtime_idmap *map, uint32_t container_id, uint32_t *ret_host)
{
        for (size_t i = 0; i < map->n; i++) {
                const struct runtime_idmap_entry *e = &map->e[i];
                if (container_id >= e->container_id && container_id - e->container_id < e->size) {
                        *ret_host = e->host_id + (container_id - e->container_id);
                        return 0;
                }
        }
        return -ERANGE;
}

uint32_t runtime_idmap_span(const struct runtime_idmap *map)
{
        uint64_t next = 0;
        bool progress = true;
        while (progress) {
                progress = false;
                for (size_t i = 0; i < map->n; i++)
                        if (map->e[i].container_id == next) {
                                next += map->e[i].size;
                                progress = true;
                        }
        }
        return next > UINT32_MAX ? UINT32_MAX : (uint32_t) next;
}

int runtime_idmap_parse_proc(const char *text, struct runtime_idmap *ret)
{
        memset(ret, 0, sizeof(*ret));
        for (const char *p = text; *p;) {
                unsigned long v[3];
                for (int k = 0; k < 3; k++) {
                        char *end;
                        while (*p == ' ' || *p == '\t')
                                p++;
                        if (*p < '0' || *p > '9')
                                return -EINVAL;
                        errno = 0;
                        v[k] = strtoul(p, &end, 10);
                        if (errno != 0 || v[k] > UINT32_MAX)
                                return -EINVAL;
                        p = end;
                }
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p != '\n' && *p != '\0')
                        return -EINVAL;
                if (*p == '\n')
                        p++;
                if (ret->n == RUNTIME_IDMAP_MAX || v[2] == 0)
                        return -EINVAL;
                ret->e[ret->n++] = (struct runtime_idmap_entry){ (uint32_t) v[0], (uint32_t) v[1], (uint32_t) v[2] };
        }
        return 0;
}

static bool idmap_has(const struct runtime_idmap *m, const struct runtime_idmap_entry *e)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->e[i].container_id == e->container_id && m->e[i].host_id == e->host_id && m->e[i].size == e->size)
                        return true;
        return false;
}

bool runtime_idmap_equal(const struct runtime_idmap *a, const struct runtime_idmap *b)
{
        /* A valid map has no overlapping extents, so equal counts and each
         * extent of a in b make them equal. */
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!idmap_has(b, &a->e[i]))
                        return false;
        return true;
}

static int write_proc_file(pid_t pid, const char *name, const char *content, struct hutch_error **err)
{
        char path[64];
        _cleanup_close_ int fd = -1;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s'", path);
        r = hutch_write_all(fd, content, strlen(content));
        if (r < 0)
                return hutch_error_set(err, -r, "write '%s'", path);
        return 0;
}

/* argv for newuidmap/newgidmap: "helper PID ctr host size ...". */
struct helper_argv {
        char *argv[3 + 3 * RUNTIME_IDMAP_MAX + 1];
        char nums[3 * RUNTIME_IDMAP_MAX + 1][16];
};

static void helper_argv_fill(struct helper_argv *h, const char *helper, pid_t pid, const struct runtime_idmap *map)
{
        size_t a = 0, k = 0;

        h->argv[a++] = (char *) helper;
        snprintf(h->nums[k], sizeof(h->nums[k]), "%d", (int) pid);
        h->argv[a++] = h->nums[k++];
        for (size_t i = 0; i < map->n; i++) {
                snprintf(h->nums[k], sizeof(h->nums[k]), "%u", map->e[i].container_id);
                h->argv[a++] = h->nums[k++];
                snprintf(h->nums[k], sizeof(h->nums[k]), "%u", map->e[i].host_id);
                h->argv[a++] = h->nums[k++];
                snprintf(h->nums[k], sizeof(h->nums[k]), "%u", map->e[i].size);
                h->argv[a++] = h->nums[k++];
        }
        h->argv[a] = NULL;
}

int runtime_userns_write_maps(pid_t pid, const struct runtime_idmap *uidmap, const struct runtime_idmap *gidmap,
                              const char *newuidmap, const char *newgidmap, struct hutch_error **err)
{
        char buf[RUNTIME_IDMAP_MAX * 40];
        int r;

        if (newuidmap && newgidmap) {
                /* newgidmap decides setgroups itself (deny for a self-only map,
                 * CVE-2018-7169); with subordinate GIDs groups stay usable. */
                /* the two helpers are independent: run them side by side */
                _cleanup_free_ struct helper_argv *u = xmalloc(sizeof(*u)), *g = xmalloc(sizeof(*g));
                helper_argv_fill(u, newuidmap, pid, uidmap);
                helper_argv_fill(g, newgidmap, pid, gidmap);
                return hutch_run_wait_both(u->argv, g->argv, err);
        }
        /* Without helpers an unprivileged process may map only itself, and
         * must give up setgroups first (real root may write any map). */
        runtime_idmap_format(uidmap, buf, sizeof(buf));
        r = write_proc_file(pid, "uid_map", buf, err);
        if (r < 0)
                return r;
        if (gidmap->n == 1 && gidmap->e[0].size == 1) {
                r = write_proc_file(pid, "setgroups", "deny", err);
                if (r < 0)
                        return r;
        }
        runtime_idmap_format(gidmap, buf, sizeof(buf));
        return write_proc_file(pid, "gid_map", buf, err);
}
