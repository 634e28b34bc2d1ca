/* Manifest, index and config parsing (see manifest.h). */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* yajl_tree_free returns void; wrap it for DEFINE_CLEANUP. */
static inline int yajl_tree_free_ret(yajl_val v)
{
        yajl_tree_free(v);
        return 0;
}
DEFINE_CLEANUP(yajl_val, yajl_tree_free_ret)
#define _cleanup_yajl_ _cleanup_(yajl_tree_free_ret_cleanup)

#define MAX_STRING 65536 /* any single string we keep */
#define MAX_LIST   65536 /* entries of Env, Cmd, ports, labels, ... */

static int bad(struct hutch_error **err, const char *what, const char *why)
{
        return hutch_error_set(err, 0, "%s: %s", what, why);
}

/* Refuses an object with a key twice: other parsers might take the other one. */
static int check_unique_keys(yajl_val obj, const char *what, struct hutch_error **err)
{
        size_t n = obj->u.object.len;

        if (n > MAX_LIST)
                return bad(err, what, "too many keys");
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(obj->u.object.keys[i], obj->u.object.keys[j]) == 0)
                                return hutch_error_set(err, 0, "%s: duplicate key '%s'", what, obj->u.object.keys[i]);
        return 0;
}

static bool string_ok(const char *s)
{
        return strlen(s) <= MAX_STRING;
}

/* Absent or null leaves *ret NULL; a string is copied; anything else fails. */
static int get_opt_string(yajl_val obj, const char *key, const char *what, char **ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_STRING(v))
                return hutch_error_set(err, 0, "%s: '%s' is not a string", what, key);
        if (!string_ok(v->u.string))
                return hutch_error_set(err, 0, "%s: '%s' is too long", what, key);
        *ret = xstrdup(v->u.string);
        return 0;
}

static int get_opt_strv(yajl_val obj, const char *key, const char *what, char ***ret, bool *ret_present,
                        struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);
        _cleanup_strv_ char **l = NULL;

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_ARRAY(v))
                return hutch_error_set(err, 0, "%s: '%s' is not a list of strings", what, key);
        if (v->u.array.len > MAX_LIST)
                return hutch_error_set(err, 0, "%s: '%s' has too many entries", what, key);
        l = xcalloc(v->u.array.len + 1, sizeof(char *));
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                if (!YAJL_IS_STRING(e))
                        return hutch_error_set(err, 0, "%s: '%s' is not a list of strings", what, key);
                if (!string_ok(e->u.string))
                        return hutch_error_set(err, 0, "%s: an entry of '%s' is too long", what, key);
                l[i] = xstrdup(e->u.string);
        }
        *ret = steal_ptr(&l);
        if (ret_present)
                *ret_present = true;
        return 0;
}

/* An object used as a set ({"80/tcp": {}}): its keys. */
static int get_opt_keys(yajl_val obj, const char *key, const char *what, char ***ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);
        _cleanup_strv_ char **l = NULL;

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_OBJECT(v))
                return hutch_error_set(err, 0, "%s: '%s' is not an object", what, key);
        if (check_unique_keys(v, what, err) < 0)
                return -EINVAL;
        l = xcalloc(v->u.object.len + 1, sizeof(char *));
        for (size_t i = 0; i < v->u.object.len; i++) {
                if (!string_ok(v->u.object.keys[i]) || *v->u.object.keys[i] == '\0')
                        return hutch_error_set(err, 0, "%s: bad key in '%s'", what, key);
                l[i] = xstrdup(v->u.object.keys[i]);
        }
        *ret = steal_ptr(&l);
        return 0;
}

static void descriptor_clear(struct storage_descriptor *d)
{
        free(d->media_type);
        free(d->ref_name);
        free(d->platform_os);
        free(d->platform_arch);
        free(d->platform_variant);
        *d = (struct storage_descriptor){ 0 };
}

static int parse_descriptor(yajl_val v, const char *what, struct storage_descriptor *ret, struct hutch_error **err)
{
        struct storage_descriptor d = { 0 };
        const char *digest;
        yajl_val ann, plat;
        int64_t size;
        int r;

        if (!YAJL_IS_OBJECT(v))
                return bad(err, what, "not an object");
        if (check_unique_keys(v, what, err) < 0)
                return -EINVAL;
        digest = hutch_json_get_string(v, "digest");
        if (digest == NULL)
                return bad(err, what, "missing 'digest'");
        if (!storage_digest_valid(digest))
                return bad(err, what, "'digest' is not 'sha256:' and 64 lowercase hex digits");
        r = hutch_json_get_int(v, "size", &size);
        if (r == -ENOENT)
                return bad(err, what, "missing 'size'");
        if (r < 0 || size < 0)
                return bad(err, what, "'size' is not a non-negative integer");
        if (get_opt_string(v, "mediaType", what, &d.media_type, err) < 0)
                goto fail;
        if (d.media_type == NULL) {
                bad(err, what, "missing 'mediaType'");
                goto fail;
        }
        ann = hutch_json_get(v, "annotations");
        if (ann && !YAJL_IS_NULL(ann)) {
                if (!YAJL_IS_OBJECT(ann)) {
                        bad(err, what, "'annotations' is not an object");
                        goto fail;
                }
                if (check_unique_keys(ann, what, err) < 0)
                        goto fail;
                for (size_t i = 0; i < ann->u.object.len; i++)
                        if (!YAJL_IS_STRING(ann->u.object.values[i])) {
                                bad(err, what, "an annotation is not a string");
                                goto fail;
                        }
                if (get_opt_string(ann, STORAGE_ANNOTATION_REF_NAME, what, &d.ref_name, err) < 0)
                        goto fail;
        }
        plat = hutch_json_get(v, "platform");
        if (plat && !YAJL_IS_NULL(plat)) {
                if (!YAJL_IS_OBJECT(plat)) {
                        bad(err, what, "'platform' is not an object");
                        goto fail;
                }
                if (get_opt_string(plat, "os", what, &d.platform_os, err) < 0 ||
                    get_opt_string(plat, "architecture", what, &d.platform_arch, err) < 0 ||
                    get_opt_string(plat, "variant", what, &d.platform_variant, err) < 0)
                        goto fail;
        }
        if (hutch_json_get(v, "urls")) {
                /* Foreign layers would send us somewhere else for content. */
                bad(err, what, "descriptors with 'urls' (foreign layers) are not supported");
                goto fail;
        }
        memcpy(d.digest, digest, STORAGE_DIGEST_BUFSIZE);
        d.size = size;
        *ret = d;
        return 0;
fail:
        descriptor_clear(&d);
        return -EINVAL;
}

static int schema_version_check(yajl_val root, const char *what, struct hutch_error **err)
{
        int64_t v;
        int r = hutch_json_get_int(root, "schemaVersion", &v);

        if (r == -ENOENT)
                return bad(err, what, "missing 'schemaVersion'");
        if (r < 0 || v != 2)
                return bad(err, what, "'schemaVersion' is not 2");
        return 0;
}

bool storage_media_type_is_layer(const char *mt)
{
        return mt && (STREQ(mt, STORAGE_MEDIA_OCI_LAYER) || STREQ(mt, STORAGE_MEDIA_OCI_LAYER_GZIP) ||
                      STREQ(mt, STORAGE_MEDIA_OCI_LAYER_ZSTD) || STREQ(mt, STORAGE_MEDIA_DOCKER_LAYER) ||
                      STREQ(mt, STORAGE_MEDIA_DOCKER_LAYER_GZIP));
}

static yajl_val parse_root(const char *buf, size_t len, size_t max, const char *what, struct hutch_error **err)
{
        yajl_val root;

        if (len > max) {
                hutch_error_set(err, 0, "%s: larger than %zu bytes", what, max);
                return NULL;
        }
        root = hutch_json_parse(buf, len, err);
        if (root == NULL) {
                hutch_error_prefix(err, "%s", what);
                return NULL;
        }
        if (!YAJL_IS_OBJECT(root)) {
                yajl_tree_free(root);
                bad(err, what, "not a JSON object");
                return NULL;
        }
        if (check_unique_keys(root, what, err) < 0) {
                yajl_tree_free(root);
                return NULL;
        }
        return root;
}

int storage_manifest_parse(const char *buf, size_t len, const char *media_type, struct storage_manifest **ret,
                           struct hutch_error **err)
{
        static const char what[] = "image manifest";
        _cleanup_yajl_ yajl_val root = NULL;
        _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *m = NULL;
        yajl_val mt, layers;
        const char *doc_type = NULL;

        root = parse_root(buf, len, STORAGE_MANIFEST_MAX_BYTES, what, err);
        if (root == NULL)
                return -EINVAL;
        if (schema_version_check(root, what, err) < 0)
                return -EINVAL;
        mt = hutch_json_get(root, "mediaType");
        if (mt) {
                if (!YAJL_IS_STRING(mt))
                        return bad(err, what, "'mediaType' is not a string");
                doc_type = mt->u.string;
        }
        if (hutch_json_get(root, "manifests"))
                return bad(err, what, "has 'manifests' as well: ambiguous between a manifest and an index");
        m = xzalloc(sizeof(*m));
        if (doc_type == NULL) {
                /* OCI allows leaving it out; Docker schema 2 requires it. */
                if (media_type && !STREQ(media_type, STORAGE_MEDIA_OCI_MANIFEST))
                        return hutch_error_set(err, 0, "%s: has no mediaType but was served as '%s'", what, media_type);
                m->kind = STORAGE_MANIFEST_OCI;
        } else if (STREQ(doc_type, STORAGE_MEDIA_OCI_MANIFEST)) {
                m->kind = STORAGE_MANIFEST_OCI;
        } else if (STREQ(doc_type, STORAGE_MEDIA_DOCKER_MANIFEST)) {
                m->kind = STORAGE_MANIFEST_DOCKER_V2S2;
        } else {
                return hutch_error_set(err, 0, "%s: unsupported mediaType '%.100s'", what, doc_type);
        }
        if (doc_type && media_type && !STREQ(doc_type, media_type))
                return hutch_error_set(err, 0, "%s: mediaType '%.100s' does not match '%.100s'", what, doc_type,
                                       media_type);

        if (hutch_json_get(root, "config") == NULL)
                return bad(err, what, "missing 'config'");
        if (parse_descriptor(hutch_json_get(root, "config"), "manifest config", &m->config, err) < 0)
                return -EINVAL;
        if (!STREQ(m->config.media_type,
                   m->kind == STORAGE_MANIFEST_OCI ? STORAGE_MEDIA_OCI_CONFIG : STORAGE_MEDIA_DOCKER_CONFIG))
                return hutch_error_set(err, 0, "%s: unsupported config mediaType '%.100s'", what, m->config.media_type);
        layers = hutch_json_get(root, "layers");
        if (layers == NULL || !YAJL_IS_ARRAY(layers))
                return bad(err, what, "missing 'layers' list");
        if (layers->u.array.len > STORAGE_MANIFEST_MAX_LAYERS)
                return hutch_error_set(err, 0, "%s: more than %d layers", what, STORAGE_MANIFEST_MAX_LAYERS);
        m->layers = xcalloc(layers->u.array.len ? layers->u.array.len : 1, sizeof(*m->layers));
        for (size_t i = 0; i < layers->u.array.len; i++) {
                if (parse_descriptor(layers->u.array.values[i], "manifest layer", &m->layers[i], err) < 0)
                        return -EINVAL;
                m->n_layers++;
                if (!storage_media_type_is_layer(m->layers[i].media_type))
                        return hutch_error_set(err, 0, "%s: unsupported layer mediaType '%.100s'", what,
                                               m->layers[i].media_type);
        }
        *ret = steal_ptr(&m);
        return 0;
}

struct storage_manifest *storage_manifest_free(struct storage_manifest *m)
{
        if (m == NULL)
                return NULL;
        descriptor_clear(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                descriptor_clear(&m->layers[i]);
        free(m->layers);
        free(m);
        return NULL;
}

int storage_index_parse(const char *buf, size_t len, const char *media_type, struct storage_index **ret,
                        struct hutch_error **err)
{
        static const char what[] = "image index";
        _cleanup_yajl_ yajl_val root = NULL;
        _cleanup_(storage_index_free_cleanup) struct storage_index *idx = NULL;
        yajl_val mt, list;
        const char *doc_type = NULL;

        root = parse_root(buf, len, STORAGE_MANIFEST_MAX_BYTES, what, err);
        if (root == NULL)
                return -EINVAL;
        if (schema_version_check(root, what, err) < 0)
                return -EINVAL;
        mt = hutch_json_get(root, "mediaType");
        if (mt) {
                if (!YAJL_IS_STRING(mt))
                        return bad(err, what, "'mediaType' is not a string");
                doc_type = mt->u.string;
                if (!STREQ(doc_type, STORAGE_MEDIA_OCI_INDEX) && !STREQ(doc_type, STORAGE_MEDIA_DOCKER_LIST))
                        return hutch_error_set(err, 0, "%s: unsupported mediaType '%.100s'", what, doc_type);
        }
        if (media_type && !STREQ(doc_type ? doc_type : STORAGE_MEDIA_OCI_INDEX, media_type))
                return hutch_error_set(err, 0, "%s: mediaType '%.100s' does not match '%.100s'", what,
                                       doc_type ? doc_type : "(none)", media_type);
        if (hutch_json_get(root, "layers") || hutch_json_get(root, "config"))
                return bad(err, what, "has 'layers' or 'config' as well: ambiguous between a manifest and an index");
        list = hutch_json_get(root, "manifests");
        if (list == NULL || !YAJL_IS_ARRAY(list))
                return bad(err, what, "missing 'manifests' list");
        if (list->u.array.len > STORAGE_INDEX_MAX_MANIFESTS)
                return hutch_error_set(err, 0, "%s: more than %d manifests", what, STORAGE_INDEX_MAX_MANIFESTS);
        idx = xzalloc(sizeof(*idx));
        idx->manifests = xcalloc(list->u.array.len ? list->u.array.len : 1, sizeof(*idx->manifests));
        for (size_t i = 0; i < list->u.array.len; i++) {
                if (parse_descriptor(list->u.array.values[i], "index entry", &idx->manifests[i], err) < 0)
                        return -EINVAL;
                idx->n_manifests++;
        }
        *ret = steal_ptr(&idx);
        return 0;
}

struct storage_index *storage_index_free(struct storage_index *idx)
{
        if (idx == NULL)
                return NULL;
        for (size_t i = 0; i < idx->n_manifests; i++)
                descriptor_clear(&idx->manifests[i]);
        free(idx->manifests);
        free(idx);
        return NULL;
}

static int parse_labels(yajl_val cfg, const char *what, char ***ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(cfg, "Labels");
        _cleanup_strv_ char **l = NULL;

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_OBJECT(v))
                return bad(err, what, "'Labels' is not an object");
        if (check_unique_keys(v, what, err) < 0)
                return -EINVAL;
        l = xcalloc(v->u.object.len + 1, sizeof(char *));
        for (size_t i = 0; i < v->u.object.len; i++) {
                yajl_val val = v->u.object.values[i];
                if (!YAJL_IS_STRING(val))
                        return bad(err, what, "a label value is not a string");
                if (!string_ok(v->u.object.keys[i]) || !string_ok(val->u.string) || *v->u.object.keys[i] == '\0' ||
                    strchr(v->u.object.keys[i], '='))
                        return bad(err, what, "bad label");
                l[i] = xasprintf("%s=%s", v->u.object.keys[i], val->u.string);
        }
        *ret = steal_ptr(&l);
        return 0;
}

/* The members storage_config_generate writes itself: never copied from the
 * kept document, so a modelled field that was changed or removed wins. */
static const char *const modelled_top[] = { "architecture", "os",     "variant", "created",
                                            "author",       "config", "rootfs",  "history" };
static const char *const modelled_config[] = { "Entrypoint", "Cmd",         "Env",          "WorkingDir",
                                               "User",       "StopSignal",  "ExposedPorts", "Volumes",
                                               "Labels",     "Healthcheck", "Shell",        "OnBuild" };

static bool is_modelled(const char *key, const char *const *names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (STREQ(key, names[i]))
                        return true;
        return false;
}

static int get_duration(yajl_val obj, const char *key, const char *what, int64_t *ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0)
                return hutch_error_set(err, 0, "%s: 'Healthcheck.%s' is not a non-negative integer", what, key);
        *ret = YAJL_GET_INTEGER(v);
        return 0;
}

static struct storage_healthcheck *healthcheck_free(struct storage_healthcheck *h)
{
        if (h) {
                hutch_strv_free(h->test);
                free(h);
        }
        return NULL;
}
DEFINE_CLEANUP(struct storage_healthcheck *, healthcheck_free)

static int parse_healthcheck(yajl_val cfg, const char *what, struct storage_healthcheck **ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(cfg, "Healthcheck");
        _cleanup_(healthcheck_free_cleanup) struct storage_healthcheck *h = NULL;

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_OBJECT(v))
                return bad(err, what, "'Healthcheck' is not an object");
        if (check_unique_keys(v, what, err) < 0)
                return -EINVAL;
        h = xzalloc(sizeof(*h));
        if (get_opt_strv(v, "Test", what, &h->test, NULL, err) < 0 ||
            get_duration(v, "Interval", what, &h->interval, err) < 0 ||
            get_duration(v, "Timeout", what, &h->timeout, err) < 0 ||
            get_duration(v, "StartPeriod", what, &h->start_period, err) < 0 ||
            get_duration(v, "StartInterval", what, &h->start_interval, err) < 0 ||
            get_duration(v, "Retries", what, &h->retries, err) < 0)
                return -EINVAL;
        *ret = steal_ptr(&h);
        return 0;
}

void storage_config_set_healthcheck(struct storage_image_config *c, const struct storage_healthcheck *h)
{
        c->healthcheck = healthcheck_free(c->healthcheck);
        if (h == NULL)
                return;
        c->healthcheck = xmalloc(sizeof(*h));
        *c->healthcheck = *h;
        c->healthcheck->test = hutch_strv_copy(h->test);
}

static int parse_history(yajl_val root, const char *what, struct storage_image_config *c, struct hutch_error **err)
{
        yajl_val h = hutch_json_get(root, "history");

        if (h == NULL || YAJL_IS_NULL(h))
                return 0;
        if (!YAJL_IS_ARRAY(h))
                return bad(err, what, "'history' is not a list");
        if (h->u.array.len > STORAGE_CONFIG_MAX_HISTORY)
                return hutch_error_set(err, 0, "%s: more than %d history entries", what, STORAGE_CONFIG_MAX_HISTORY);
        c->history = xcalloc(h->u.array.len + 1, sizeof(*c->history));
        for (size_t i = 0; i < h->u.array.len; i++) {
                yajl_val e = h->u.array.values[i];
                struct storage_history *x = &c->history[c->n_history++];
                yajl_val empty;
                if (!YAJL_IS_OBJECT(e))
                        return bad(err, what, "a 'history' entry is not an object");
                if (get_opt_string(e, "created", what, &x->created, err) < 0 ||
                    get_opt_string(e, "created_by", what, &x->created_by, err) < 0 ||
                    get_opt_string(e, "author", what, &x->author, err) < 0 ||
                    get_opt_string(e, "comment", what, &x->comment, err) < 0)
                        return -EINVAL;
                empty = hutch_json_get(e, "empty_layer");
                if (empty && !YAJL_IS_NULL(empty)) {
                        if (!YAJL_IS_TRUE(empty) && !YAJL_IS_FALSE(empty))
                                return bad(err, what, "'history.empty_layer' is not a boolean");
                        x->empty_layer = YAJL_IS_TRUE(empty);
                }
        }
        return 0;
}

void storage_config_add_history(struct storage_image_config *c, const char *created, const char *created_by,
                                const char *author, const char *comment, bool empty_layer)
{
        struct storage_history *x;

        c->history = xreallocarray(c->history, c->n_history + 1, sizeof(*c->history));
        x = &c->history[c->n_history++];
        *x = (struct storage_history){
                .created = created ? xstrdup(created) : NULL,
                .created_by = created_by ? xstrdup(created_by) : NULL,
                .author = author ? xstrdup(author) : NULL,
                .comment = comment ? xstrdup(comment) : NULL,
                .empty_layer = empty_layer,
        };
}

int storage_config_parse(const char *buf, size_t len, struct storage_image_config **ret, struct hutch_error **err)
{
        static const char what[] = "image config";
        _cleanup_yajl_ yajl_val root = NULL;
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *c = NULL;
        yajl_val cfg, rootfs, ids;
        const char *type;

        root = parse_root(buf, len, STORAGE_CONFIG_MAX_BYTES, what, err);
        if (root == NULL)
                return -EINVAL;
        c = xzalloc(sizeof(*c));
        if (get_opt_string(root, "architecture", what, &c->architecture, err) < 0 ||
            get_opt_string(root, "os", what, &c->os, err) < 0 ||
            get_opt_string(root, "variant", what, &c->variant, err) < 0 ||
            get_opt_string(root, "created", what, &c->created, err) < 0 ||
            get_opt_string(root, "author", what, &c->author, err) < 0)
                return -EINVAL;
        cfg = hutch_json_get(root, "config");
        if (cfg && !YAJL_IS_NULL(cfg)) {
                if (!YAJL_IS_OBJECT(cfg))
                        return bad(err, what, "'config' is not an object");
                if (check_unique_keys(cfg, what, err) < 0)
                        return -EINVAL;
                if (get_opt_strv(cfg, "Entrypoint", what, &c->entrypoint, &c->has_entrypoint, err) < 0 ||
                    get_opt_strv(cfg, "Cmd", what, &c->cmd, &c->has_cmd, err) < 0 ||
                    get_opt_strv(cfg, "Env", what, &c->env, NULL, err) < 0 ||
                    get_opt_string(cfg, "WorkingDir", what, &c->working_dir, err) < 0 ||
                    get_opt_string(cfg, "User", what, &c->user, err) < 0 ||
                    get_opt_string(cfg, "StopSignal", what, &c->stop_signal, err) < 0 ||
                    get_opt_keys(cfg, "ExposedPorts", what, &c->exposed_ports, err) < 0 ||
                    get_opt_keys(cfg, "Volumes", what, &c->volumes, err) < 0 ||
                    parse_labels(cfg, what, &c->labels, err) < 0 ||
                    parse_healthcheck(cfg, what, &c->healthcheck, err) < 0 ||
                    get_opt_strv(cfg, "Shell", what, &c->shell, NULL, err) < 0 ||
                    get_opt_strv(cfg, "OnBuild", what, &c->on_build, NULL, err) < 0)
                        return -EINVAL;
                for (char **e = c->env; e && *e; e++)
                        if (strchr(*e, '=') == NULL || **e == '=')
                                return hutch_error_set(err, 0, "%s: Env entry '%.100s' is not NAME=VALUE", what, *e);
                if (c->working_dir && *c->working_dir && *c->working_dir != '/')
                        return hutch_error_set(err, 0, "%s: WorkingDir '%.100s' is not an absolute path", what,
                                               c->working_dir);
        }
        rootfs = hutch_json_get(root, "rootfs");
        if (rootfs == NULL || !YAJL_IS_OBJECT(rootfs))
                return bad(err, what, "missing 'rootfs'");
        if (check_unique_keys(rootfs, what, err) < 0)
                return -EINVAL;
        type = hutch_json_get_string(rootfs, "type");
        if (type == NULL || !STREQ(type, "layers"))
                return bad(err, what, "'rootfs.type' is not \"layers\"");
        ids = hutch_json_get(rootfs, "diff_ids");
        if (ids == NULL || !YAJL_IS_ARRAY(ids))
                return bad(err, what, "missing 'rootfs.diff_ids' list");
        if (ids->u.array.len > STORAGE_MANIFEST_MAX_LAYERS)
                return hutch_error_set(err, 0, "%s: more than %d layers", what, STORAGE_MANIFEST_MAX_LAYERS);
        c->diff_ids = xcalloc(ids->u.array.len + 1, sizeof(char *));
        for (size_t i = 0; i < ids->u.array.len; i++) {
                yajl_val e = ids->u.array.values[i];
                if (!YAJL_IS_STRING(e) || !storage_digest_valid(e->u.string))
                        return bad(err, what, "a diff_id is not 'sha256:' and 64 lowercase hex digits");
                c->diff_ids[i] = xstrdup(e->u.string);
                c->n_diff_ids++;
        }
        if (parse_history(root, what, c, err) < 0)
                return -EINVAL;
        /* its depth and size were bounded by parse_root */
        c->kept = steal_ptr(&root);
        *ret = steal_ptr(&c);
        return 0;
}

struct storage_image_config *storage_image_config_free(struct storage_image_config *c)
{
        if (c == NULL)
                return NULL;
        free(c->architecture);
        free(c->os);
        free(c->variant);
        free(c->created);
        free(c->author);
        hutch_strv_free(c->entrypoint);
        hutch_strv_free(c->cmd);
        hutch_strv_free(c->env);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        hutch_strv_free(c->exposed_ports);
        hutch_strv_free(c->volumes);
        hutch_strv_free(c->labels);
        healthcheck_free(c->healthcheck);
        hutch_strv_free(c->shell);
        hutch_strv_free(c->on_build);
        hutch_strv_free(c->diff_ids);
        for (size_t i = 0; i < c->n_history; i++) {
                free(c->history[i].created);
                free(c->history[i].created_by);
                free(c->history[i].author);
                free(c->history[i].comment);
        }
        free(c->history);
        if (c->kept)
                yajl_tree_free(c->kept);
        free(c);
        return NULL;
}

void storage_chain_ids(char *const *diff_ids, size_t n, char (*ret)[STORAGE_DIGEST_BUFSIZE])
{
        for (size_t i = 0; i < n; i++) {
                if (i == 0) {
                        memcpy(ret[0], diff_ids[0], STORAGE_DIGEST_BUFSIZE);
                } else {
                        _cleanup_free_ char *s = xasprintf("%s %s", ret[i - 1], diff_ids[i]);
                        storage_digest_buffer(s, strlen(s), ret[i]);
                }
        }
}

static void gen_descriptor(yajl_gen g, const struct storage_descriptor *d)
{
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "mediaType", d->media_type);
        hutch_json_gen_kv_string(g, "digest", d->digest);
        hutch_json_gen_kv_int(g, "size", d->size);
        yajl_gen_map_close(g);
}

char *storage_manifest_generate(const struct storage_descriptor *config, const struct storage_descriptor *layers,
                                size_t n_layers, size_t *ret_len)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        char *text;

        yajl_gen_map_open(g);
        hutch_json_gen_kv_int(g, "schemaVersion", 2);
        hutch_json_gen_kv_string(g, "mediaType", STORAGE_MEDIA_OCI_MANIFEST);
        hutch_json_gen_string(g, "config");
        gen_descriptor(g, config);
        hutch_json_gen_string(g, "layers");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n_layers; i++)
                gen_descriptor(g, &layers[i]);
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        text = hutch_json_gen_steal(g, ret_len);
        yajl_gen_free(g);
        return text;
}

static void gen_strv(yajl_gen g, const char *key, char **v)
{
        hutch_json_gen_string(g, key);
        yajl_gen_array_open(g);
        for (; v && *v; v++)
                hutch_json_gen_string(g, *v);
        yajl_gen_array_close(g);
}

static void gen_set(yajl_gen g, const char *key, char **v)
{
        hutch_json_gen_string(g, key);
        yajl_gen_map_open(g);
        for (; v && *v; v++) {
                hutch_json_gen_string(g, *v);
                yajl_gen_map_open(g);
                yajl_gen_map_close(g);
        }
        yajl_gen_map_close(g);
}

/* The members of obj (an object, or NULL) that generate does not write. */
static void gen_kept(yajl_gen g, yajl_val obj, const char *const *modelled, size_t n_modelled)
{
        if (obj == NULL || !YAJL_IS_OBJECT(obj))
                return;
        for (size_t i = 0; i < obj->u.object.len; i++) {
                if (is_modelled(obj->u.object.keys[i], modelled, n_modelled))
                        continue;
                hutch_json_gen_string(g, obj->u.object.keys[i]);
                hutch_json_gen_value(g, obj->u.object.values[i]);
        }
}

static yajl_val kept_config(const struct storage_image_config *c)
{
        return c->kept ? hutch_json_get_object(c->kept, "config") : NULL;
}

void storage_config_gen_kept_config(const struct storage_image_config *c, struct yajl_gen_t *g)
{
        gen_kept(g, kept_config(c), modelled_config, ARRAY_SIZE(modelled_config));
}

void storage_config_gen_healthcheck(struct yajl_gen_t *g, const struct storage_healthcheck *h)
{
        hutch_json_gen_string(g, "Healthcheck");
        yajl_gen_map_open(g);
        if (h->test)
                gen_strv(g, "Test", h->test);
        /* Docker leaves the zero ones out */
        if (h->interval)
                hutch_json_gen_kv_int(g, "Interval", h->interval);
        if (h->timeout)
                hutch_json_gen_kv_int(g, "Timeout", h->timeout);
        if (h->start_period)
                hutch_json_gen_kv_int(g, "StartPeriod", h->start_period);
        if (h->start_interval)
                hutch_json_gen_kv_int(g, "StartInterval", h->start_interval);
        if (h->retries)
                hutch_json_gen_kv_int(g, "Retries", h->retries);
        yajl_gen_map_close(g);
}

char *storage_config_generate(const struct storage_image_config *c, size_t *ret_len)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        char *text;

        yajl_gen_map_open(g);
        if (c->created)
                hutch_json_gen_kv_string(g, "created", c->created);
        if (c->author)
                hutch_json_gen_kv_string(g, "author", c->author);
        hutch_json_gen_kv_string(g, "architecture", c->architecture ? c->architecture : storage_host_arch());
        hutch_json_gen_kv_string(g, "os", c->os ? c->os : "linux");
        if (c->variant)
                hutch_json_gen_kv_string(g, "variant", c->variant);
        hutch_json_gen_string(g, "config");
        yajl_gen_map_open(g);
        if (c->user)
                hutch_json_gen_kv_string(g, "User", c->user);
        if (c->exposed_ports)
                gen_set(g, "ExposedPorts", c->exposed_ports);
        if (c->env)
                gen_strv(g, "Env", c->env);
        if (c->has_entrypoint || c->entrypoint)
                gen_strv(g, "Entrypoint", c->entrypoint);
        if (c->has_cmd || c->cmd)
                gen_strv(g, "Cmd", c->cmd);
        if (c->volumes)
                gen_set(g, "Volumes", c->volumes);
        if (c->working_dir)
                hutch_json_gen_kv_string(g, "WorkingDir", c->working_dir);
        if (c->labels) {
                hutch_json_gen_string(g, "Labels");
                yajl_gen_map_open(g);
                for (char **l = c->labels; *l; l++) {
                        const char *eq = strchr(*l, '=');
                        _cleanup_free_ char *k = eq ? xstrndup(*l, (size_t) (eq - *l)) : xstrdup(*l);
                        hutch_json_gen_kv_string(g, k, eq ? eq + 1 : "");
                }
                yajl_gen_map_close(g);
        }
        if (c->stop_signal)
                hutch_json_gen_kv_string(g, "StopSignal", c->stop_signal);
        if (c->healthcheck)
                storage_config_gen_healthcheck(g, c->healthcheck);
        if (c->shell)
                gen_strv(g, "Shell", c->shell);
        if (c->on_build)
                gen_strv(g, "OnBuild", c->on_build);
        storage_config_gen_kept_config(c, g);
        yajl_gen_map_close(g);
        hutch_json_gen_string(g, "rootfs");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "type", "layers");
        gen_strv(g, "diff_ids", c->diff_ids);
        yajl_gen_map_close(g);
        if (c->n_history) {
                hutch_json_gen_string(g, "history");
                yajl_gen_array_open(g);
                for (size_t i = 0; i < c->n_history; i++) {
                        const struct storage_history *x = &c->history[i];
                        yajl_gen_map_open(g);
                        if (x->created)
                                hutch_json_gen_kv_string(g, "created", x->created);
                        if (x->created_by)
                                hutch_json_gen_kv_string(g, "created_by", x->created_by);
                        if (x->author)
                                hutch_json_gen_kv_string(g, "author", x->author);
                        if (x->comment)
                                hutch_json_gen_kv_string(g, "comment", x->comment);
                        if (x->empty_layer) {
                                hutch_json_gen_string(g, "empty_layer");
                                yajl_gen_bool(g, 1);
                        }
                        yajl_gen_map_close(g);
                }
                yajl_gen_array_close(g);
        } else if (c->created) {
                hutch_json_gen_string(g, "history");
                yajl_gen_array_open(g);
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "created", c->created);
                hutch_json_gen_kv_string(g, "created_by", "hutch import");
                yajl_gen_map_close(g);
                yajl_gen_array_close(g);
        }
        gen_kept(g, c->kept, modelled_top, ARRAY_SIZE(modelled_top));
        yajl_gen_map_close(g);
        text = hutch_json_gen_steal(g, ret_len);
        yajl_gen_free(g);
        return text;
}

const char *storage_manifest_media_type(const struct storage_manifest *m)
{
        return m->kind == STORAGE_MANIFEST_DOCKER_V2S2 ? STORAGE_MEDIA_DOCKER_MANIFEST : STORAGE_MEDIA_OCI_MANIFEST;
}

const char *storage_host_arch(void)
{
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#elif defined(__arm__)
        return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64le";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#else
        return "unknown";
#endif
}

char *storage_now_rfc3339(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        (void) gmtime_r(&ts.tv_sec, &tm);
        (void) strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, (long) ts.tv_nsec);
}
