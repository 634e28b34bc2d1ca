#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX  (1u << 20)
#define RECORD_NAME "container.json"

void storage_container_clear(struct storage_container *c)
{
        free(c->name);
        free(c->image);
        free(c->image_id);
        free(c->stop_signal);
        hutch_strv_free(c->args);
        hutch_strv_free(c->command);
        hutch_strv_free(c->anon_volumes);
        memset(c, 0, sizeof(*c));
}

const char *storage_container_status_name(enum storage_container_status s)
{
        switch (s) {
        case STORAGE_CONTAINER_CREATED: return "created";
        case STORAGE_CONTAINER_RUNNING: return "running";
        case STORAGE_CONTAINER_EXITED: return "exited";
        }
        return "unknown";
}

bool storage_container_id_valid(const char *id)
{
        size_t n = 0;
        for (; id && id[n]; n++)
                if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
                        return false;
        return n == STORAGE_CONTAINER_ID_LEN;
}

bool storage_container_name_valid(const char *name)
{
        size_t n = 0;
        if (name == NULL || !isalnum((unsigned char) name[0]))
                return false;
        for (; name[n]; n++)
                if (!isalnum((unsigned char) name[n]) && name[n] != '_' && name[n] != '.' && name[n] != '-')
                        return false;
        return n <= 128;
}

static void gen_strv(yajl_gen g, const char *key, char *const *v)
{
        hutch_json_gen_string(g, key);
        yajl_gen_array_open(g);
        for (size_t i = 0; v && v[i]; i++)
                hutch_json_gen_string(g, v[i]);
        yajl_gen_array_close(g);
}

char *storage_container_to_json(const struct storage_container *c)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        char *out;

        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Id", c->id);
        hutch_json_gen_kv_string(g, "Name", c->name);
        hutch_json_gen_kv_string(g, "Image", c->image);
        hutch_json_gen_kv_string(g, "ImageID", c->image_id);
        gen_strv(g, "Args", c->args);
        gen_strv(g, "Command", c->command);
        hutch_json_gen_kv_int(g, "Created", c->created);
        hutch_json_gen_kv_bool(g, "AutoRemove", c->auto_remove);
        hutch_json_gen_kv_string(g, "StopSignal", c->stop_signal);
        hutch_json_gen_kv_int(g, "RestartCount", c->restart_count);
        hutch_json_gen_kv_bool(g, "StopRequested", c->stop_requested);
        if (c->anon_volumes)
                gen_strv(g, "AnonVolumes", c->anon_volumes);
        hutch_json_gen_string(g, "State");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Status", storage_container_status_name(c->status));
        hutch_json_gen_kv_int(g, "ExitCode", c->exit_code);
        hutch_json_gen_kv_int(g, "Pid", c->pid);
        hutch_json_gen_kv_int(g, "PidStart", (long long) c->pid_start);
        hutch_json_gen_kv_int(g, "StartedAt", c->started_at);
        hutch_json_gen_kv_int(g, "FinishedAt", c->finished_at);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        out = hutch_json_gen_steal(g, NULL);
        yajl_gen_free(g);
        return out;
}

bool storage_container_anon_volume_split(const char *entry, char **ret_name, char **ret_dest)
{
        const char *colon = entry ? strchr(entry, ':') : NULL;
        size_t n = colon ? (size_t) (colon - entry) : 0;

        if (n != 64 || colon[1] != '/' || strlen(colon) > 4096)
                return false;
        for (const char *p = colon + 1; (p = strstr(p, "/..")) != NULL; p += 3)
                if (p[3] == '/' || p[3] == '\0')
                        return false;
        for (size_t i = 0; i < n; i++)
                if (!((entry[i] >= '0' && entry[i] <= '9') || (entry[i] >= 'a' && entry[i] <= 'f')))
                        return false;
        if (ret_name)
                *ret_name = xstrndup(entry, n);
        if (ret_dest)
                *ret_dest = xstrdup(colon + 1);
        return true;
}

static int get_strv(yajl_val obj, const char *key, char ***ret, struct hutch_error **err)
{
        yajl_val a = hutch_json_get_array(obj, key);
        char **v = xcalloc(1, sizeof(char *));
        if (a == NULL) {
                hutch_strv_free(v);
                return hutch_error_set(err, EINVAL, "'%s' is missing or not an array", key);
        }
        for (size_t i = 0; i < a->u.array.len; i++) {
                yajl_val s = a->u.array.values[i];
                if (!YAJL_IS_STRING(s)) {
                        hutch_strv_free(v);
                        return hutch_error_set(err, EINVAL, "'%s' holds a non-string", key);
                }
                hutch_strv_append(&v, s->u.string);
        }
        *ret = v;
        return 0;
}

int storage_container_from_json(const char *json, size_t len, struct storage_container *ret, struct hutch_error **err)
{
        struct storage_container c = { 0 };
        yajl_val root, state;
        const char *s;
        int64_t v;
        int r = -1;

        root = hutch_json_parse(json, len, err);
        if (root == NULL)
                return -1;
        s = hutch_json_get_string(root, "Id");
        if (!storage_container_id_valid(s)) {
                hutch_error_set(err, EINVAL, "invalid container ID");
                goto out;
        }
        memcpy(c.id, s, STORAGE_CONTAINER_ID_LEN + 1);
        s = hutch_json_get_string(root, "Name");
        if (!storage_container_name_valid(s)) {
                hutch_error_set(err, EINVAL, "invalid container name");
                goto out;
        }
        c.name = xstrdup(s);
        s = hutch_json_get_string(root, "Image");
        c.image = xstrdup(s ? s : "");
        s = hutch_json_get_string(root, "ImageID");
        c.image_id = s ? xstrdup(s) : NULL;
        if (get_strv(root, "Args", &c.args, err) < 0 || get_strv(root, "Command", &c.command, err) < 0)
                goto out;
        if (hutch_json_get_int(root, "Created", &c.created) < 0) {
                hutch_error_set(err, EINVAL, "'Created' is missing");
                goto out;
        }
        (void) hutch_json_get_bool(root, "AutoRemove", &c.auto_remove);
        c.restart_count =
                hutch_json_get_int(root, "RestartCount", &v) == 0 && v >= 0 && v < (1 << 30) ? (unsigned) v : 0;
        (void) hutch_json_get_bool(root, "StopRequested", &c.stop_requested);
        s = hutch_json_get_string(root, "StopSignal");
        c.stop_signal = s && strlen(s) < 32 ? xstrdup(s) : NULL;
        if (hutch_json_get_array(root, "AnonVolumes")) {
                if (get_strv(root, "AnonVolumes", &c.anon_volumes, err) < 0)
                        goto out;
                for (size_t i = 0; c.anon_volumes[i]; i++)
                        if (!storage_container_anon_volume_split(c.anon_volumes[i], NULL, NULL)) {
                                hutch_error_set(err, EINVAL, "invalid anonymous volume '%s'", c.anon_volumes[i]);
                                goto out;
                        }
        }
        state = hutch_json_get_object(root, "State");
        s = hutch_json_get_string(state, "Status");
        if (s == NULL) {
                hutch_error_set(err, EINVAL, "'State.Status' is missing");
                goto out;
        }
        if (STREQ(s, "created"))
                c.status = STORAGE_CONTAINER_CREATED;
        else if (STREQ(s, "running"))
                c.status = STORAGE_CONTAINER_RUNNING;
        else if (STREQ(s, "exited"))
                c.status = STORAGE_CONTAINER_EXITED;
        else {
                hutch_error_set(err, EINVAL, "unknown status '%s'", s);
                goto out;
        }
        c.exit_code = hutch_json_get_int(state, "ExitCode", &v) == 0 && v >= -1 && v <= 255 ? (int) v : -1;
        c.pid = hutch_json_get_int(state, "Pid", &v) == 0 && v > 0 && v < (1 << 22) ? (pid_t) v : 0;
        c.pid_start = hutch_json_get_int(state, "PidStart", &v) == 0 && v > 0 ? (uint64_t) v : 0;
        c.started_at = hutch_json_get_int(state, "StartedAt", &v) == 0 ? v : 0;
        c.finished_at = hutch_json_get_int(state, "FinishedAt", &v) == 0 ? v : 0;
        *ret = c;
        memset(&c, 0, sizeof(c));
        r = 0;
out:
        storage_container_clear(&c);
        yajl_tree_free(root);
        return r;
}

char *storage_container_path(const char *root, const char *id, const char *sub)
{
        return sub ? xasprintf("%s/containers/%s/%s", root, id, sub) : xasprintf("%s/containers/%s", root, id);
}

int storage_containers_lock(const char *root, struct hutch_error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/containers", root);
        _cleanup_free_ char *path = xasprintf("%s/containers.lock", dir);
        int fd;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "create '%s'", dir);
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s'", path);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        int e = errno;
                        (void) close(fd);
                        return hutch_error_set(err, e, "lock '%s'", path);
                }
        }
        return fd;
}

int storage_container_save(const char *root, const struct storage_container *c, struct hutch_error **err)
{
        _cleanup_free_ char *dir = storage_container_path(root, c->id, NULL);
        _cleanup_free_ char *json = storage_container_to_json(c);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return hutch_error_set(err, errno, "open '%s'", dir);
        return hutch_write_file_atomic(dfd, RECORD_NAME, json, strlen(json), 0600, err);
}

int storage_container_load(const char *root, const char *id, struct storage_container *ret, struct hutch_error **err)
{
        _cleanup_free_ char *path = storage_container_path(root, id, RECORD_NAME);
        _cleanup_free_ char *buf = NULL;
        size_t len;

        if (!storage_container_id_valid(id))
                return hutch_error_set(err, EINVAL, "invalid container ID '%s'", id);
        if (hutch_read_file_at(AT_FDCWD, path, RECORD_MAX, &buf, &len, err) < 0)
                return -1;
        if (storage_container_from_json(buf, len, ret, err) < 0)
                return hutch_error_prefix(err, "container record '%s'", path);
        if (!STREQ(ret->id, id)) {
                storage_container_clear(ret);
                return hutch_error_set(err, EINVAL, "container record '%s' names another ID", path);
        }
        return 0;
}

void storage_container_list_free(struct storage_container *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                storage_container_clear(&list[i]);
        free(list);
}

static int by_created_desc(const void *a, const void *b)
{
        const struct storage_container *x = a, *y = b;
        return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp(x->id, y->id);
}

int storage_container_list(const char *root, struct storage_container **ret, size_t *ret_n, struct hutch_error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/containers", root);
        _cleanup_dir_ DIR *d = opendir(dir);
        struct storage_container *list = NULL;
        struct dirent *de;
        size_t n = 0;

        if (d == NULL) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return hutch_error_set(err, errno, "open '%s'", dir);
        }
        while ((de = readdir(d)) != NULL) {
                struct storage_container c;
                struct hutch_error *e = NULL;
                if (!storage_container_id_valid(de->d_name))
                        continue;
                if (storage_container_load(root, de->d_name, &c, &e) < 0) {
                        /* a half-created container (killed mid-create) has no record yet */
                        hutch_error_free(e);
                        continue;
                }
                list = xreallocarray(list, n + 1, sizeof(*list));
                list[n++] = c;
        }
        if (n > 1)
                qsort(list, n, sizeof(*list), by_created_desc);
        *ret = list;
        *ret_n = n;
        return 0;
}

int storage_container_create(const char *root, const struct storage_container *c, struct hutch_error **err)
{
        struct storage_container *list = NULL;
        size_t n = 0;
        int r;

        if (!storage_container_id_valid(c->id) || !storage_container_name_valid(c->name))
                return hutch_error_set(err, EINVAL, "invalid container ID or name");
        r = storage_container_list(root, &list, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (STREQ(list[i].name, c->name)) {
                        hutch_error_set(err, 0,
                                        "the container name '%s' is already in use by %.12s: remove that container "
                                        "or choose another name",
                                        c->name, list[i].id);
                        storage_container_list_free(list, n);
                        return -EEXIST;
                }
        storage_container_list_free(list, n);

        _cleanup_free_ char *dir = storage_container_path(root, c->id, NULL);
        _cleanup_free_ char *upper = storage_container_path(root, c->id, "upper");
        _cleanup_free_ char *work = storage_container_path(root, c->id, "work");
        if (mkdir(dir, 0700) < 0)
                return hutch_error_set(err, errno, "create '%s'", dir);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
                r = errno;
                (void) hutch_rm_rf_at(AT_FDCWD, dir);
                return hutch_error_set(err, r, "create the container layer in '%s'", dir);
        }
        r = storage_container_save(root, c, err);
        if (r < 0) {
                (void) hutch_rm_rf_at(AT_FDCWD, dir);
                return hutch_error_prefix(err, "create the record of container '%s' in '%s'", c->name, dir);
        }
        return 0;
}

/* The index in list of the container name_or_id names (a name, a full ID
 * or a unique ID prefix), or -1 with err set. */
static ssize_t find_index(const struct storage_container *list, size_t n, const char *name_or_id,
                          struct hutch_error **err)
{
        size_t len = strlen(name_or_id), matches = 0;
        ssize_t found = -1;

        for (size_t i = 0; i < n; i++)
                if (STREQ(list[i].name, name_or_id) || STREQ(list[i].id, name_or_id))
                        return (ssize_t) i;
        for (size_t i = 0; i < n && len > 0 && len < STORAGE_CONTAINER_ID_LEN; i++)
                if (strncmp(list[i].id, name_or_id, len) == 0) {
                        found = (ssize_t) i;
                        matches++;
                }
        if (matches == 1)
                return found;
        if (matches > 1)
                hutch_error_set_status(err, 125, 0, "container ID prefix '%s' is ambiguous", name_or_id);
        else
                hutch_error_set_status(err, 125, 0, "no such container '%s'", name_or_id);
        return -1;
}

int storage_container_lookup(const char *root, const char *name_or_id, char ret_id[STORAGE_CONTAINER_ID_LEN + 1],
                             struct hutch_error **err)
{
        struct storage_container *list = NULL;
        size_t n = 0;
        int r = storage_container_list(root, &list, &n, err);
        if (r < 0)
                return r;
        ssize_t i = find_index(list, n, name_or_id, err);
        if (i >= 0)
                memcpy(ret_id, list[i].id, STORAGE_CONTAINER_ID_LEN + 1);
        storage_container_list_free(list, n);
        return i >= 0 ? 0 : -1;
}

int storage_container_find(const char *root, const char *name_or_id, struct storage_container *ret,
                           struct hutch_error **err)
{
        struct storage_container *list = NULL;
        size_t n = 0;
        int r = storage_container_list(root, &list, &n, err);
        if (r < 0)
                return r;
        ssize_t i = find_index(list, n, name_or_id, err);
        if (i >= 0) {
                *ret = list[i];
                list[i] = (struct storage_container){ 0 };
        }
        storage_container_list_free(list, n);
        return i >= 0 ? 0 : -1;
}

uint64_t storage_process_start_time(pid_t pid)
{
        char path[64], buf[1024];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = hutch_read_full(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* comm may hold spaces and parens: fields count from the last ')' */
        char *p = strrchr(buf, ')');
        if (p == NULL)
                return 0;
        p++;
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p + 1, ' ');
        }
        return p ? strtoull(p + 1, NULL, 10) : 0;
}

bool storage_container_pid_alive(pid_t pid, uint64_t pid_start)
{
        if (pid <= 0 || pid_start == 0)
                return false;
        return storage_process_start_time(pid) == pid_start;
}

int storage_container_set_stop_requested(const char *root, const char *id, bool value, struct hutch_error **err)
{
        struct storage_container c = { 0 };
        int r = storage_container_load(root, id, &c, err);
        if (r < 0)
                return r;
        if (c.stop_requested != value) {
                c.stop_requested = value;
                r = storage_container_save(root, &c, err);
        }
        storage_container_clear(&c);
        return r;
}
