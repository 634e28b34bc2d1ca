/* Registry credentials (see auth.h). */
#include "config.h"

#include "storage/auth.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *registry_auth_file(const char *authfile)
{
        const char *env = getenv("REGISTRY_AUTH_FILE"), *run = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");

        if (authfile && *authfile)
                return xstrdup(authfile);
        if (env && *env)
                return xstrdup(env);
        if (run && *run == '/')
                return xasprintf("%s/containers/auth.json", run);
        if (home && *home == '/')
                return xasprintf("%s/.config/containers/auth.json", home);
        return xasprintf("/run/user/%u/containers/auth.json", (unsigned) getuid());
}

int registry_auth_decode(const char *b64, char **ret_user, char **ret_password)
{
        size_t n = strlen(b64), pad = 0;
        _cleanup_free_ unsigned char *out = NULL;
        char *colon;
        int len;

        if (n == 0 || n % 4 != 0 || n > 65536)
                return -EINVAL;
        out = xmalloc(n / 4 * 3 + 1);
        len = EVP_DecodeBlock(out, (const unsigned char *) b64, (int) n);
        if (len < 0)
                return -EINVAL;
        if (b64[n - 1] == '=')
                pad++;
        if (b64[n - 2] == '=')
                pad++;
        len -= (int) pad;
        out[len] = '\0';
        if (memchr(out, '\0', (size_t) len))
                return -EINVAL;
        colon = strchr((char *) out, ':');
        if (colon == NULL || colon == (char *) out)
                return -EINVAL;
        *ret_user = xstrndup((char *) out, (size_t) (colon - (char *) out));
        *ret_password = xstrdup(colon + 1);
        explicit_bzero(out, (size_t) len);
        return 0;
}

static int read_doc(const char *file, yajl_val *ret, struct hutch_error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct hutch_error *e = NULL;
        yajl_val j;
        int r;

        r = hutch_read_file_at(AT_FDCWD, file, REGISTRY_AUTH_MAX_BYTES, &buf, &len, &e);
        if (r < 0) {
                if (e && e->errnum == ENOENT) {
                        hutch_error_free(e);
                        *ret = NULL;
                        return 0;
                }
                *err = e;
                return hutch_error_prefix(err, "credentials file '%s'", file);
        }
        j = hutch_json_parse(buf, len, err);
        explicit_bzero(buf, len);
        if (j == NULL)
                return hutch_error_prefix(err, "credentials file '%s'", file);
        if (!YAJL_IS_OBJECT(j)) {
                yajl_tree_free(j);
                return hutch_error_set(err, 0, "credentials file '%s': not a JSON object", file);
        }
        *ret = j;
        return 0;
}

/* Normalizes a key as Docker and Podman read them ("https://quay.io/v1/" -> "quay.io"). */
static char *normalize_key(const char *k)
{
        const char *p = k;
        size_t n;

        if (strncmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncmp(p, "http://", 7) == 0)
                p += 7;
        if (p != k) {
                n = strcspn(p, "/");
                if (n == 0)
                        return xstrdup(k);
                if (strncmp(p, "index.docker.io", n) == 0 && n == strlen("index.docker.io"))
                        return xstrdup("docker.io");
                return xstrndup(p, n);
        }
        return xstrdup(k);
}

static int lookup_in(const char *file, const char *host, const char *repository, char **ret_user, char **ret_password,
                     struct hutch_error **err)
{
        yajl_val doc = NULL, auths;
        _cleanup_free_ char *full = repository ? xasprintf("%s/%s", host, repository) : xstrdup(host);
        size_t best_len = 0;
        const char *best = NULL, *best_key = NULL;
        int r;

        r = read_doc(file, &doc, err);
        if (r < 0 || doc == NULL)
                return r;
        auths = hutch_json_get_object(doc, "auths");
        for (size_t i = 0; auths && i < auths->u.object.len; i++) {
                _cleanup_free_ char *k = normalize_key(auths->u.object.keys[i]);
                size_t kl = strlen(k);
                const char *a;

                /* "host" or "host/repo..." on a component boundary */
                if (strncmp(full, k, kl) != 0 || (full[kl] != '\0' && full[kl] != '/'))
                        continue;
                if (kl < strlen(host))
                        continue;
                a = hutch_json_get_string(auths->u.object.values[i], "auth");
                if (a == NULL || *a == '\0')
                        continue;
                if (kl > best_len) {
                        best_len = kl;
                        best = a;
                        best_key = auths->u.object.keys[i];
                }
        }
        if (best == NULL) {
                yajl_tree_free(doc);
                return 0;
        }
        if (registry_auth_decode(best, ret_user, ret_password) < 0) {
                r = hutch_error_set(err, 0, "credentials file '%s': malformed \"auth\" for '%s'", file, best_key);
                yajl_tree_free(doc);
                return r;
        }
        yajl_tree_free(doc);
        return 1;
}

int registry_auth_lookup(const char *authfile, const char *host, const char *repository, char **ret_user,
                         char **ret_password, struct hutch_error **err)
{
        _cleanup_strv_ char **files = NULL;
        const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME"), *env = getenv("REGISTRY_AUTH_FILE");
        int r;

        if (authfile && *authfile) {
                hutch_strv_append(&files, authfile);
        } else {
                if (env && *env)
                        hutch_strv_append(&files, env);
                hutch_strv_push(&files, registry_auth_file(NULL));
                if (xdg && *xdg == '/')
                        hutch_strv_push(&files, xasprintf("%s/containers/auth.json", xdg));
                else if (home && *home == '/')
                        hutch_strv_push(&files, xasprintf("%s/.config/containers/auth.json", home));
                if (home && *home == '/')
                        hutch_strv_push(&files, xasprintf("%s/.docker/config.json", home));
        }
        for (char **f = files; f && *f; f++) {
                r = lookup_in(*f, host, repository, ret_user, ret_password, err);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* ---- writing ---- */

static int write_doc(const char *file, yajl_val doc, const char *key, const char *auth, bool all,
                     struct hutch_error **err)
{
        _cleanup_free_ char *dir = xstrdup(file), *text = NULL;
        yajl_val auths = doc ? hutch_json_get_object(doc, "auths") : NULL;
        yajl_gen g = yajl_gen_alloc(NULL);
        size_t len = 0;
        int r;

        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_map_open(g);
        for (size_t i = 0; doc && i < doc->u.object.len; i++) {
                if (STREQ(doc->u.object.keys[i], "auths"))
                        continue;
                hutch_json_gen_string(g, doc->u.object.keys[i]);
                hutch_json_gen_value(g, doc->u.object.values[i]);
        }
        hutch_json_gen_string(g, "auths");
        yajl_gen_map_open(g);
        for (size_t i = 0; !all && auths && i < auths->u.object.len; i++) {
                _cleanup_free_ char *k = normalize_key(auths->u.object.keys[i]);
                if (key && (STREQ(k, key) || STREQ(auths->u.object.keys[i], key)))
                        continue;
                hutch_json_gen_string(g, auths->u.object.keys[i]);
                hutch_json_gen_value(g, auths->u.object.values[i]);
        }
        if (auth) {
                hutch_json_gen_string(g, key);
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "auth", auth);
                yajl_gen_map_close(g);
        }
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);

        r = hutch_mkdir_p(dirname(dir), 0700);
        if (r < 0) {
                explicit_bzero(text, len);
                return hutch_error_set(err, -r, "create the directory of '%s'", file);
        }
        r = hutch_write_file_atomic(AT_FDCWD, file, text, len, 0600, err);
        explicit_bzero(text, len);
        if (r < 0)
                return hutch_error_prefix(err, "write '%s'", file);
        return 0;
}

int registry_auth_store(const char *file, const char *key, const char *user, const char *password,
                        struct hutch_error **err)
{
        yajl_val doc = NULL;
        _cleanup_free_ char *plain = NULL, *b64 = NULL;
        size_t n;
        int r;

        if (strchr(user, ':'))
                return hutch_error_set(err, 0, "a user name cannot contain ':'");
        r = read_doc(file, &doc, err);
        if (r < 0)
                return r;
        plain = xasprintf("%s:%s", user, password);
        n = strlen(plain);
        b64 = xmalloc(4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, (int) n);
        explicit_bzero(plain, n);
        r = write_doc(file, doc, key, b64, false, err);
        explicit_bzero(b64, strlen(b64));
        yajl_tree_free(doc);
        return r;
}

int registry_auth_remove(const char *file, const char *key, struct hutch_error **err)
{
        yajl_val doc = NULL, auths;
        bool found = false;
        int r;

        r = read_doc(file, &doc, err);
        if (r < 0)
                return r;
        if (doc == NULL)
                return 0;
        auths = hutch_json_get_object(doc, "auths");
        for (size_t i = 0; auths && i < auths->u.object.len; i++) {
                _cleanup_free_ char *k = normalize_key(auths->u.object.keys[i]);
                if (key == NULL || STREQ(k, key) || STREQ(auths->u.object.keys[i], key))
                        found = true;
        }
        if (found)
                r = write_doc(file, doc, key, NULL, key == NULL, err);
        yajl_tree_free(doc);
        if (r < 0)
                return r;
        return found ? 1 : 0;
}
