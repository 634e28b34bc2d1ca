/* hutch images, tag, rmi, image prune, image inspect, and the `hutch image`
 * group. */
#include "config.h"

#include "cmd/build-container.h"
#include "cmd/build-image.h"
#include "cmd/build.h"
#include "cmd/cmd-storage.h"
#include "cmd/commit.h"
#include "cmd/template.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/reference.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_QUIET = 'q', OPT_ALL = 'a', OPT_FORCE = 'f', OPT_FORMAT = 0x100, OPT_FILTER, OPT_NOTRUNC, OPT_NOHEADING };

/* ---- formatting ---- */

static int64_t created_unix(const char *created)
{
        struct tm tm = { 0 };
        const char *end;

        if (created == NULL)
                return 0;
        end = strptime(created, "%Y-%m-%dT%H:%M:%S", &tm);
        if (end == NULL)
                return 0;
        return (int64_t) timegm(&tm);
}

static char *human_since(int64_t t)
{
        int64_t d = (int64_t) time(NULL) - t;

        if (t <= 0)
                return xstrdup("N/A");
        if (d < 1)
                return xstrdup("Less than a second ago");
        if (d < 60)
                return xasprintf("%lld second%s ago", (long long) d, d == 1 ? "" : "s");
        if (d < 3600)
                return xasprintf("%lld minute%s ago", (long long) (d / 60), d / 60 == 1 ? "" : "s");
        if (d < 86400)
                return xasprintf("%lld hour%s ago", (long long) (d / 3600), d / 3600 == 1 ? "" : "s");
        if (d < 86400 * 14)
                return xasprintf("%lld day%s ago", (long long) (d / 86400), d / 86400 == 1 ? "" : "s");
        if (d < 86400 * 60)
                return xasprintf("%lld weeks ago", (long long) (d / (86400 * 7)));
        if (d < 86400 * 365 * 2)
                return xasprintf("%lld months ago", (long long) (d / (86400 * 30)));
        return xasprintf("%lld years ago", (long long) (d / (86400 * 365)));
}

static char *human_size(int64_t n)
{
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
        double v = (double) n;
        size_t u = 0;

        while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
                v /= 1000;
                u++;
        }
        if (u == 0)
                return xasprintf("%lld B", (long long) n);
        return xasprintf("%.3g %s", v, units[u]);
}

static void print_json(yajl_gen g)
{
        const unsigned char *buf;
        size_t len;

        yajl_gen_get_buf(g, &buf, &len);
        fwrite(buf, 1, len, stdout);
        if (len && buf[len - 1] != '\n')
                fputc('\n', stdout);
}

/* "repo@digest" once per repository. */
static void gen_repo_digests(yajl_gen g, const struct storage_image *img)
{
        _cleanup_strv_ char **done = NULL;

        yajl_gen_array_open(g);
        for (char **n = img->names; *n; n++) {
                _cleanup_free_ char *repo = NULL, *tag = NULL, *rd = NULL;
                storage_reference_split(*n, &repo, &tag);
                rd = xasprintf("%s@%s", repo, img->manifest);
                if (hutch_strv_contains(done, rd))
                        continue;
                hutch_json_gen_string(g, rd);
                hutch_strv_append(&done, rd);
        }
        yajl_gen_array_close(g);
}

/* ---- images ---- */

const struct cmd_option cmd_images_options[] = {
        { "all", 'a', no_argument, NULL, "show all images (also the intermediate images of builds)", OPT_ALL },
        { "quiet", 'q', no_argument, NULL, "show only image IDs", OPT_QUIET },
        { "format", 0, required_argument, "FORMAT",
          "json, table, or a Go template over .Repository .Tag .ID .Digest .CreatedAt .CreatedSince .Size",
          OPT_FORMAT },
        { "filter", 0, required_argument, "FILTER", "reference=PATTERN or dangling=true|false (repeatable)",
          OPT_FILTER },
        { "no-trunc", 0, no_argument, NULL, "show full image IDs", OPT_NOTRUNC },
        { "noheading", 'n', no_argument, NULL, "do not print the header", OPT_NOHEADING },
        { 0 },
};

static bool reference_matches(const char *pattern, const char *name)
{
        _cleanup_free_ char *repo = NULL, *tag = NULL;
        const char *slash;

        storage_reference_split(name, &repo, &tag);
        if (fnmatch(pattern, name, 0) == 0 || fnmatch(pattern, repo, 0) == 0)
                return true;
        /* without the registry: "app", "app:latest", "library/busybox" */
        slash = strchr(name, '/');
        if (slash && (fnmatch(pattern, slash + 1, 0) == 0 || fnmatch(pattern, strchr(repo, '/') + 1, 0) == 0))
                return true;
        slash = strrchr(repo, '/');
        if (slash) {
                _cleanup_free_ char *last = xasprintf("%s:%s", slash + 1, tag);
                if (fnmatch(pattern, slash + 1, 0) == 0 || fnmatch(pattern, last, 0) == 0)
                        return true;
        }
        return false;
}

struct image_filter {
        char **references;
        int dangling; /* -1 any */
};

static int filter_parse(struct image_filter *f, const char *s, const struct cmd_command *cmd, struct hutch_error **err)
{
        const char *eq = strchr(s, '=');

        if (eq == NULL)
                return cmd_usage_error(cmd, err, "invalid --filter '%s': expected KEY=VALUE", s);
        if (strncmp(s, "reference=", 10) == 0 && eq[1]) {
                hutch_strv_append(&f->references, eq + 1);
                return 0;
        }
        if (STREQ(s, "dangling=true") || STREQ(s, "dangling=1")) {
                f->dangling = 1;
                return 0;
        }
        if (STREQ(s, "dangling=false") || STREQ(s, "dangling=0")) {
                f->dangling = 0;
                return 0;
        }
        return cmd_usage_error(cmd, err, "invalid --filter '%s' (reference=PATTERN or dangling=true|false)", s);
}

/* Which names of img pass the filter (all when none is given); false when
 * the image does not pass. */
static bool filter_image(const struct image_filter *f, const struct storage_image *img, char ***ret_names)
{
        bool dangling = img->names[0] == NULL;

        if (f->dangling >= 0 && dangling != (f->dangling == 1))
                return false;
        if (f->references == NULL) {
                *ret_names = hutch_strv_copy(img->names);
                return true;
        }
        for (char **n = img->names; *n; n++)
                for (char **p = f->references; *p; p++)
                        if (reference_matches(*p, *n)) {
                                hutch_strv_append(ret_names, *n);
                                break;
                        }
        return *ret_names != NULL;
}

/* One line per name (or one <none> line) rendered through tmpl. */
static int print_template_rows(const char *tmpl, const struct storage_image *img, char **names, const char *since,
                               const char *size, struct hutch_error **err)
{
        char *none[] = { NULL, NULL };
        char **list = names && names[0] ? names : none;

        for (char **n = list; n == list || *n; n++) {
                _cleanup_free_ char *repo = NULL, *tag = NULL, *text = NULL, *out = NULL;
                yajl_gen g = yajl_gen_alloc(NULL);
                yajl_val doc;
                size_t len;

                if (*n)
                        storage_reference_split(*n, &repo, &tag);
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "Repository", repo ? repo : "<none>");
                hutch_json_gen_kv_string(g, "Tag", tag ? tag : "<none>");
                {
                        char shortid[13];
                        snprintf(shortid, sizeof(shortid), "%.12s", img->id);
                        hutch_json_gen_kv_string(g, "ID", shortid);
                }
                hutch_json_gen_kv_string(g, "Id", img->id);
                hutch_json_gen_kv_string(g, "Digest", img->manifest);
                hutch_json_gen_kv_string(g, "CreatedAt", img->created ? img->created : "");
                hutch_json_gen_kv_string(g, "CreatedSince", since);
                hutch_json_gen_kv_string(g, "Size", size);
                yajl_gen_map_close(g);
                text = hutch_json_gen_steal(g, &len);
                yajl_gen_free(g);
                doc = hutch_json_parse(text, len, err);
                if (doc == NULL)
                        return -EINVAL;
                out = cmd_template_render(tmpl, doc, err);
                yajl_tree_free(doc);
                if (out == NULL)
                        return hutch_error_prefix(err, "--format");
                printf("%s\n", out);
                if (*n == NULL)
                        break;
        }
        return 0;
}

static int compare_loaded(const void *a, const void *b)
{
        const struct storage_image *x = *(const struct storage_image *const *) a;
        const struct storage_image *y = *(const struct storage_image *const *) b;
        int64_t cx = created_unix(x->created), cy = created_unix(y->created);

        if (cx != cy)
                return cx < cy ? 1 : -1;
        return x->loaded < y->loaded ? 1 : x->loaded > y->loaded ? -1 : 0;
}

int cmd_images(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_images imgs = { 0 };
        struct image_filter f = { .dangling = -1 };
        _cleanup_free_ const struct storage_image **order = NULL;
        bool quiet = false, json = false, notrunc = false, noheading = false, all = false;
        _cleanup_strv_ char **intermediate = NULL;
        const char *tmpl = NULL;
        bool tmpl_header = false;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: r = -1; goto out;
                case OPT_QUIET: quiet = true; break;
                case OPT_NOTRUNC: notrunc = true; break;
                case OPT_NOHEADING: noheading = true; break;
                case OPT_ALL: all = true; break;
                case OPT_FORMAT:
                        if (STREQ(optval, "json"))
                                json = true;
                        else if (strncmp(optval, "table ", 6) == 0) {
                                tmpl = optval + 6;
                                tmpl_header = true;
                        } else if (!STREQ(optval, "table"))
                                tmpl = optval;
                        break;
                case OPT_FILTER:
                        r = filter_parse(&f, optval, cmd, err);
                        if (r < 0)
                                goto out;
                        break;
                }
        }
        if (optind + 1 < argc) {
                r = cmd_usage_error(cmd, err, "'%s' takes at most one REPOSITORY argument", cmd->full_name);
                goto out;
        }
        if (optind < argc)
                hutch_strv_append(&f.references, argv[optind]);
        r = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (r < 0)
                goto out;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                goto out;
        if (!all)
                intermediate = build_cache_parents(s, &imgs); /* hidden as Docker hides them */
        order = xcalloc(imgs.n + 1, sizeof(*order));
        for (size_t i = 0; i < imgs.n; i++)
                order[i] = &imgs.v[i];
        qsort(order, imgs.n, sizeof(*order), compare_loaded);

        yajl_gen g = NULL;
        if (json) {
                g = yajl_gen_alloc(NULL);
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_array_open(g);
        } else if (!quiet && !noheading && tmpl == NULL) {
                printf("%-40s %-14s %-*s %-22s %s\n", "REPOSITORY", "TAG", notrunc ? 71 : 13, "IMAGE ID", "CREATED",
                       "SIZE");
        }
        if (!quiet && !json && !noheading && tmpl && tmpl_header) {
                static const char *const renames[] = { "ID", "IMAGE ID", "CreatedSince", "CREATED", NULL };
                _cleanup_free_ char *header = cmd_template_header(tmpl, renames);
                printf("%s\n", header);
        }
        for (size_t i = 0; i < imgs.n; i++) {
                const struct storage_image *img = order[i];
                _cleanup_strv_ char **names = NULL;
                if (!filter_image(&f, img, &names))
                        continue;
                if (!img->names[0] && hutch_strv_contains(intermediate, img->id))
                        continue;
                if (quiet) {
                        printf("%.*s\n", notrunc ? 64 : 12, img->id);
                        continue;
                }
                int64_t created = created_unix(img->created);
                if (json) {
                        yajl_gen_map_open(g);
                        hutch_json_gen_kv_string(g, "Id", img->id);
                        hutch_json_gen_kv_string(g, "Digest", img->manifest);
                        hutch_json_gen_string(g, "Names");
                        yajl_gen_array_open(g);
                        for (char **n = img->names; *n; n++)
                                hutch_json_gen_string(g, *n);
                        yajl_gen_array_close(g);
                        hutch_json_gen_string(g, "RepoTags");
                        yajl_gen_array_open(g);
                        for (char **n = img->names; *n; n++)
                                hutch_json_gen_string(g, *n);
                        yajl_gen_array_close(g);
                        hutch_json_gen_string(g, "RepoDigests");
                        gen_repo_digests(g, img);
                        hutch_json_gen_kv_int(g, "Created", created);
                        hutch_json_gen_kv_string(g, "CreatedAt", img->created);
                        hutch_json_gen_kv_int(g, "Size", storage_image_size(img));
                        hutch_json_gen_kv_bool(g, "Dangling", img->names[0] == NULL);
                        yajl_gen_map_close(g);
                        continue;
                }
                _cleanup_free_ char *since = human_since(created), *size = human_size(storage_image_size(img));
                if (tmpl) {
                        r = print_template_rows(tmpl, img, names, since, size, err);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (names == NULL || names[0] == NULL) {
                        printf("%-40s %-14s %-*.*s %-22s %s\n", "<none>", "<none>", notrunc ? 71 : 13,
                               notrunc ? 64 : 12, img->id, since, size);
                        continue;
                }
                for (char **n = names; *n; n++) {
                        _cleanup_free_ char *repo = NULL, *tag = NULL;
                        storage_reference_split(*n, &repo, &tag);
                        printf("%-40s %-14s %-*.*s %-22s %s\n", repo, tag, notrunc ? 71 : 13, notrunc ? 64 : 12,
                               img->id, since, size);
                }
        }
        if (json) {
                yajl_gen_array_close(g);
                print_json(g);
                yajl_gen_free(g);
        }
        r = 0;
out:
        hutch_strv_free(f.references);
        storage_images_clear(&imgs);
        return r;
}

/* ---- tag ---- */

const struct cmd_option cmd_tag_options[] = {
        { 0 },
};

static int normalize_target(const char *s, char **ret, struct hutch_error **err)
{
        struct storage_reference ref = { 0 };

        if (storage_reference_parse(s, &ref, err) < 0)
                return -EINVAL;
        if (ref.digest) {
                storage_reference_clear(&ref);
                return hutch_error_set(err, 0, "'%s': a tag cannot carry a digest", s);
        }
        *ret = storage_reference_format(&ref);
        storage_reference_clear(&ref);
        return 0;
}

int cmd_tag(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_close_ int lock = -1;
        _cleanup_strv_ char **targets = NULL;
        struct storage_images imgs = { 0 };
        char *optval = NULL;
        int c, r, k;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
        }
        if (argc - optind < 2)
                return cmd_usage_error(cmd, err, "'%s' needs an IMAGE and at least one TARGET_NAME", cmd->full_name);
        for (int i = optind + 1; i < argc; i++) {
                char *t = NULL;
                r = normalize_target(argv[i], &t, err);
                if (r < 0)
                        return r;
                hutch_strv_push(&targets, t);
        }
        r = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (r < 0)
                return r;
        lock = storage_store_lock_records(s, err);
        if (lock < 0)
                return lock;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        k = storage_images_find(&imgs, argv[optind], err);
        if (k < 0) {
                r = k;
                goto out;
        }
        for (char **t = targets; *t; t++)
                storage_images_set_name(&imgs, (size_t) k, *t);
        r = storage_images_write(s, &imgs, err);
out:
        storage_images_clear(&imgs);
        return r < 0 ? r : 0;
}

/* ---- rmi, image prune ---- */

const struct cmd_option cmd_rmi_options[] = {
        { "force", 'f', no_argument, NULL, "remove images that have several names, with all their names", OPT_FORCE },
        { "all", 'a', no_argument, NULL, "remove all images", OPT_ALL },
        { 0 },
};

const struct cmd_option cmd_image_prune_options[] = {
        { "all", 'a', no_argument, NULL, "remove all unused images, not only those without a name", OPT_ALL },
        { "force", 'f', no_argument, NULL, "do not ask for confirmation (hutch never asks)", OPT_FORCE },
        { 0 },
};

struct rmi_job {
        char **refs;
        bool force, all, prune;
};

static void print_removed(const struct storage_image *img)
{
        for (char **n = img->names; *n; n++)
                printf("Untagged: %s\n", *n);
        printf("Deleted: %s\n", img->id);
}

static bool image_in_use(struct storage_store *s, const char *id)
{
        struct storage_container *list = NULL;
        struct hutch_error *e = NULL;
        size_t n = 0;
        bool used = false;

        if (storage_container_list(s->root, &list, &n, &e) < 0) {
                hutch_error_free(e);
                return true; /* when in doubt, keep it */
        }
        for (size_t i = 0; i < n; i++)
                if (list[i].image_id && STREQ(list[i].image_id, id))
                        used = true;
        storage_container_list_free(list, n);
        return used;
}

/* With force, removes the stopped containers of the images in ids, else
 * refuses when there are any; running containers always refuse. */
static int check_containers(struct storage_store *s, char **ids, bool force, struct hutch_error **err)
{
        struct storage_container *list = NULL;
        _cleanup_close_ int lock = -1;
        size_t n = 0;
        int r;

        if (ids == NULL)
                return 0;
        lock = storage_containers_lock(s->root, err);
        if (lock < 0)
                return lock;
        r = storage_container_list(s->root, &list, &n, err);
        if (r < 0)
                return r;
        for (int pass = 0; pass < 2 && r >= 0; pass++)
                for (size_t i = 0; i < n && r >= 0; i++) {
                        const struct storage_container *c = &list[i];
                        bool running;
                        if (c->image_id == NULL || !hutch_strv_contains(ids, c->image_id))
                                continue;
                        running = c->status == STORAGE_CONTAINER_RUNNING &&
                                  storage_container_pid_alive(c->pid, c->pid_start);
                        if (pass == 0 && (running || !force)) {
                                r = hutch_error_set(err, 0, "image %.12s is in use by %s container '%s': %s",
                                                    c->image_id, running ? "the running" : "the",
                                                    c->name ? c->name : c->id,
                                                    running ? "stop and remove it first"
                                                            : "remove it first, or use -f to remove it too");
                        } else if (pass == 1) {
                                _cleanup_free_ char *rel = xasprintf("containers/%s", c->id);
                                int k = hutch_rm_rf_at(s->root_fd, rel);
                                if (k < 0)
                                        r = hutch_error_set(err, -k, "remove container %.12s", c->id);
                                else
                                        printf("Removed container: %s\n", c->id);
                        }
                }
        storage_container_list_free(list, n);
        return r;
}

static int rmi_apply(struct rmi_job *j, struct storage_store *s, struct hutch_error **err)
{
        _cleanup_close_ int lock = -1;
        struct storage_images imgs = { 0 };
        _cleanup_strv_ char **untag = NULL, **remove = NULL;
        int r = 0;

        lock = storage_store_lock_records(s, err);
        if (lock < 0)
                return lock;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        /* prune spares what running builds use (cmd/build-container.h) */
        _cleanup_strv_ char **building = NULL;
        int64_t build_start = INT64_MAX;
        if (j->prune)
                build_live_images(&building, &build_start);
        /* Work out everything first: a bad argument changes nothing. */
        for (size_t i = 0; j->all && i < imgs.n; i++)
                if ((!j->prune || imgs.v[i].names[0] == NULL || j->force) &&
                    !(j->prune && (image_in_use(s, imgs.v[i].id) || hutch_strv_contains(building, imgs.v[i].id) ||
                                   imgs.v[i].loaded >= build_start)))
                        hutch_strv_append(&remove, imgs.v[i].id);
        for (char **ref = j->refs; ref && *ref; ref++) {
                int k = storage_images_find(&imgs, *ref, err);
                const char *name;
                if (k < 0) {
                        r = k;
                        goto out;
                }
                name = storage_images_matched_name(&imgs.v[k], *ref);
                if (name && hutch_strv_length(imgs.v[k].names) > 1) {
                        _cleanup_free_ char *key = xasprintf("%s\n%s", imgs.v[k].id, name);
                        if (!hutch_strv_contains(untag, key))
                                hutch_strv_append(&untag, key);
                        continue;
                }
                if (name == NULL && hutch_strv_length(imgs.v[k].names) > 1 && !j->force) {
                        r = hutch_error_set(err, 0,
                                            "image %.12s has %zu names (%s, ...): remove them one by one, or use -f",
                                            imgs.v[k].id, hutch_strv_length(imgs.v[k].names), imgs.v[k].names[0]);
                        goto out;
                }
                if (!hutch_strv_contains(remove, imgs.v[k].id))
                        hutch_strv_append(&remove, imgs.v[k].id);
        }
        /* Images containers were made from stay, unless -f removes those
         * containers (never running ones) too. */
        r = check_containers(s, remove, j->force && !j->prune, err);
        if (r < 0)
                goto out;
        for (char **u = untag; u && *u; u++) {
                char *nl = strchr(*u, '\n');
                int k;
                *nl = '\0';
                k = storage_images_find_id(&imgs, *u);
                if (k < 0 || hutch_strv_contains(remove, *u))
                        continue;
                if (storage_images_drop_name(&imgs, (size_t) k, nl + 1))
                        printf("Untagged: %s\n", nl + 1);
                if (imgs.v[k].names[0] == NULL) {
                        printf("Deleted: %s\n", imgs.v[k].id);
                        storage_images_delete(&imgs, (size_t) k);
                }
        }
        for (char **id = remove; id && *id; id++) {
                int k = storage_images_find_id(&imgs, *id);
                if (k < 0)
                        continue;
                print_removed(&imgs.v[k]);
                storage_images_delete(&imgs, (size_t) k);
        }
        r = storage_images_write(s, &imgs, err);
out:
        storage_images_clear(&imgs);
        return r;
}

static int rmi_in_userns(void *p)
{
        struct rmi_job *j = p;
        struct hutch_error *err = NULL;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        int r;

        r = cmd_storage_open(STORAGE_STORE_READ, &s, &err);
        if (r >= 0)
                r = rmi_apply(j, s, &err);
        if (r >= 0)
                r = storage_images_gc(s, &err);
        if (r < 0)
                return cmd_storage_report(err);
        cmd_build_cache_prune(s); /* the build cache entries of removed images */
        return 0;
}

int cmd_rmi(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct rmi_job j = { 0 };
        char *optval = NULL;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORCE)
                        j.force = true;
                else if (c == OPT_ALL)
                        j.all = true;
        }
        if (optind >= argc && !j.all)
                return cmd_usage_error(cmd, err, "'%s' needs at least one IMAGE (or --all)", cmd->full_name);
        j.refs = argv + optind;
        return cmd_storage_in_userns(rmi_in_userns, &j, false, err);
}

int cmd_image_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct rmi_job j = { .all = true, .prune = true };
        char *optval = NULL;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_ALL)
                        j.force = true; /* prune: named images too */
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' takes no arguments", cmd->full_name);
        return cmd_storage_in_userns(rmi_in_userns, &j, false, err);
}

/* ---- image inspect ---- */

const struct cmd_option cmd_image_inspect_options[] = {
        { "format", 'f', required_argument, "FORMAT", "json (default) or a Go template such as '{{.Config.Cmd}}'",
          OPT_FORMAT },
        { 0 },
};

static void gen_strv(yajl_gen g, const char *key, char **v, bool null_when_empty)
{
        hutch_json_gen_string(g, key);
        if (v == NULL && null_when_empty) {
                yajl_gen_null(g);
                return;
        }
        yajl_gen_array_open(g);
        for (; v && *v; v++)
                hutch_json_gen_string(g, *v);
        yajl_gen_array_close(g);
}

static int inspect_one(struct storage_store *s, const struct storage_image *img, yajl_gen g, struct hutch_error **err)
{
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = storage_blob_read(s, img->config, STORAGE_CONFIG_MAX_BYTES, &buf, &len, err);
        if (r < 0)
                return r;
        r = storage_config_parse(buf, len, &cfg, err);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Id", img->id);
        hutch_json_gen_kv_string(g, "Digest", img->manifest);
        gen_strv(g, "RepoTags", img->names, false);
        hutch_json_gen_string(g, "RepoDigests");
        gen_repo_digests(g, img);
        hutch_json_gen_kv_string(g, "Created", cfg->created);
        hutch_json_gen_kv_string(g, "Author", cfg->author ? cfg->author : "");
        hutch_json_gen_kv_string(g, "Architecture", cfg->architecture);
        hutch_json_gen_kv_string(g, "Os", cfg->os);
        hutch_json_gen_kv_int(g, "Size", storage_image_size(img));
        hutch_json_gen_string(g, "Config");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "User", cfg->user ? cfg->user : "");
        gen_strv(g, "Env", cfg->env, true);
        gen_strv(g, "Entrypoint", cfg->entrypoint, true);
        gen_strv(g, "Cmd", cfg->cmd, true);
        hutch_json_gen_kv_string(g, "WorkingDir", cfg->working_dir ? cfg->working_dir : "");
        hutch_json_gen_kv_string(g, "StopSignal", cfg->stop_signal);
        gen_strv(g, "ExposedPorts", cfg->exposed_ports, true);
        gen_strv(g, "Volumes", cfg->volumes, true);
        hutch_json_gen_string(g, "Labels");
        if (cfg->labels == NULL) {
                yajl_gen_null(g);
        } else {
                yajl_gen_map_open(g);
                for (char **l = cfg->labels; *l; l++) {
                        char *eq = strchr(*l, '=');
                        _cleanup_free_ char *k = xstrndup(*l, (size_t) (eq - *l));
                        hutch_json_gen_kv_string(g, k, eq + 1);
                }
                yajl_gen_map_close(g);
        }
        if (cfg->healthcheck)
                storage_config_gen_healthcheck(g, cfg->healthcheck);
        if (cfg->shell)
                gen_strv(g, "Shell", cfg->shell, false);
        gen_strv(g, "OnBuild", cfg->on_build, true);
        /* StopTimeout, ...: what the image has, as it has it */
        storage_config_gen_kept_config(cfg, g);
        yajl_gen_map_close(g);
        hutch_json_gen_string(g, "RootFS");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Type", "layers");
        gen_strv(g, "Layers", cfg->diff_ids, false);
        yajl_gen_map_close(g);
        hutch_json_gen_string(g, "Layers");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < img->n_layers; i++) {
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "Digest", img->layers[i].blob);
                hutch_json_gen_kv_string(g, "DiffID", img->layers[i].diff_id);
                hutch_json_gen_kv_string(g, "ChainID", img->layers[i].chain_id);
                hutch_json_gen_kv_string(g, "MediaType", img->layers[i].media_type);
                hutch_json_gen_kv_int(g, "Size", img->layers[i].size);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        return 0;
}

int cmd_image_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_images imgs = { 0 };
        const char *tmpl = NULL;
        yajl_gen g = NULL;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORMAT && !STREQ(optval, "json"))
                        tmpl = optval;
        }
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one IMAGE", cmd->full_name);
        r = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (r < 0)
                return r;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        g = yajl_gen_alloc(NULL);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_array_open(g);
        for (int i = optind; i < argc; i++) {
                int k = storage_images_find(&imgs, argv[i], err);
                if (k < 0) {
                        r = k;
                        goto out;
                }
                r = inspect_one(s, &imgs.v[k], g, err);
                if (r < 0)
                        goto out;
        }
        yajl_gen_array_close(g);
        if (tmpl) {
                const unsigned char *buf;
                size_t len;
                yajl_val doc;
                yajl_gen_get_buf(g, &buf, &len);
                doc = hutch_json_parse((const char *) buf, len, err);
                if (doc == NULL) {
                        r = -EINVAL;
                        goto out;
                }
                for (size_t i = 0; i < doc->u.array.len; i++) {
                        _cleanup_free_ char *text = cmd_template_render(tmpl, doc->u.array.values[i], err);
                        if (text == NULL) {
                                yajl_tree_free(doc);
                                r = hutch_error_prefix(err, "--format");
                                goto out;
                        }
                        printf("%s\n", text);
                }
                yajl_tree_free(doc);
        } else {
                print_json(g);
        }
        r = 0;
out:
        yajl_gen_free(g);
        storage_images_clear(&imgs);
        return r;
}

/* ---- hutch image ... ---- */

const struct cmd_command cmd_image_subcommands[] = {
        CMD_BUILD_COMMAND,
        { "ls", "[OPTIONS] [REPOSITORY]", "List images", cmd_images, cmd_images_options, NULL, NULL },
        { "list", "[OPTIONS] [REPOSITORY]", "List images", cmd_images, cmd_images_options, NULL, NULL },
        { "rm", "[OPTIONS] IMAGE...", "Remove images", cmd_rmi, cmd_rmi_options, NULL, NULL },
        { "tag", "IMAGE TARGET_NAME...", "Add names to an image", cmd_tag, cmd_tag_options, NULL, NULL },
        { "prune", "[OPTIONS]", "Remove images without a name (-a: all unused images)", cmd_image_prune,
          cmd_image_prune_options, NULL, NULL },
        { "inspect", "[OPTIONS] IMAGE...", "Show an image's details as JSON", cmd_image_inspect,
          cmd_image_inspect_options, NULL, NULL },
        { "load", "[OPTIONS]", "Load images from a docker-archive or oci-archive", cmd_load, cmd_load_options, NULL,
          NULL },
        { "save", "[OPTIONS] IMAGE...", "Save images to an archive", cmd_save, cmd_save_options, NULL, NULL },
        { "import", "[OPTIONS] TARBALL [NAME]", "Make an image from a root filesystem tarball", cmd_import,
          cmd_import_options, NULL, NULL },
        { "history", "[OPTIONS] IMAGE", "Show how an image's layers were made (newest first)", cmd_history,
          cmd_history_options, NULL, NULL },
        { 0 },
};
