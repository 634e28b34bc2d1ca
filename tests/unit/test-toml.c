/* Unit tests for the TOML parser, registries.conf, auth.json and the
 * WWW-Authenticate parser of the registry client. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/auth.h"
#include "storage/reference.h"
#include "storage/registries.h"
#include "storage/registry.h"
#include "storage/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct toml_value *parse_ok(const char *text)
{
        struct hutch_error *err = NULL;
        struct toml_value *v = NULL;
        int r = toml_parse(text, strlen(text), &v, &err);

        if (r < 0)
                fail_msg("'%s': %s", text, err ? err->msg : "?");
        return v;
}

static void parse_bad(const char *text, const char *needle)
{
        struct hutch_error *err = NULL;
        struct toml_value *v = NULL;
        int r = toml_parse(text, strlen(text), &v, &err);

        if (r >= 0)
                fail_msg("accepted: '%s'", text);
        assert_null(v);
        assert_non_null(err);
        if (needle && strstr(err->msg, needle) == NULL)
                fail_msg("'%s': error '%s' lacks '%s'", text, err->msg, needle);
        hutch_error_free(err);
}

static void test_toml_values(void **state)
{
        (void) state;
        struct toml_value *v = parse_ok("# comment\n"
                                        "a = \"x\\ty\\u00e9\\\"\" # trailing\n"
                                        "b = 'C:\\path'\n"
                                        "c = true\n"
                                        "d = false\n"
                                        "e = -1_000\n"
                                        "f = [ \"one\", 'two', # c\n  \"three\", ]\n"
                                        "\"quoted key\" = 9223372036854775807\n"
                                        "g.h = 1\n"
                                        "i = { j = \"k\", l = [1, 2] }\n"
                                        "m = []\n");
        const struct toml_value *x;

        assert_string_equal(toml_get(v, "a")->s, "x\ty\xc3\xa9\"");
        assert_string_equal(toml_get(v, "b")->s, "C:\\path");
        assert_true(toml_get(v, "c")->b);
        assert_false(toml_get(v, "d")->b);
        assert_int_equal(toml_get(v, "e")->i, -1000);
        x = toml_get(v, "f");
        assert_int_equal(x->type, TOML_ARRAY);
        assert_int_equal(x->n, 3);
        assert_string_equal(x->values[2]->s, "three");
        assert_int_equal(toml_get(v, "quoted key")->i, INT64_MAX);
        assert_int_equal(toml_get(toml_get(v, "g"), "h")->i, 1);
        x = toml_get(v, "i");
        assert_string_equal(toml_get(x, "j")->s, "k");
        assert_int_equal(toml_get(x, "l")->values[1]->i, 2);
        assert_int_equal(toml_get(v, "m")->n, 0);
        assert_null(toml_get(v, "missing"));
        toml_free(v);

        v = parse_ok("n = -9223372036854775808\r\n");
        assert_int_equal(toml_get(v, "n")->i, INT64_MIN);
        toml_free(v);
        v = parse_ok("");
        assert_int_equal(v->n, 0);
        toml_free(v);
}

static void test_toml_tables(void **state)
{
        (void) state;
        struct toml_value *v = parse_ok("top = 1\n"
                                        "[[registry]]\n"
                                        "location = \"a\"\n"
                                        "[[registry.mirror]]\n"
                                        "location = \"m1\"\n"
                                        "[[registry.mirror]]\n"
                                        "location = \"m2\"\n"
                                        "[[registry]]\n"
                                        "location = \"b\"\n"
                                        "[x.y]\n"
                                        "z = 1\n"
                                        "[x]\n"
                                        "w = 2\n");
        const struct toml_value *r = toml_get(v, "registry"), *m;

        assert_int_equal(toml_get(v, "top")->i, 1);
        assert_int_equal(r->type, TOML_ARRAY);
        assert_int_equal(r->n, 2);
        assert_string_equal(toml_get(r->values[0], "location")->s, "a");
        m = toml_get(r->values[0], "mirror");
        assert_int_equal(m->n, 2);
        assert_string_equal(toml_get(m->values[1], "location")->s, "m2");
        assert_null(toml_get(r->values[1], "mirror"));
        assert_int_equal(toml_get(toml_get(toml_get(v, "x"), "y"), "z")->i, 1);
        assert_int_equal(toml_get(toml_get(v, "x"), "w")->i, 2);
        toml_free(v);
}

static void test_toml_refused(void **state)
{
        (void) state;
        parse_bad("a = 1\na = 2\n", "duplicate key");
        parse_bad("[t]\n[t]\n", "defined twice");
        parse_bad("a = 1\n[a]\n", "defined twice");
        parse_bad("a = 1\n[a.b]\n", "not a table");
        parse_bad("a = 1\n[[a]]\n", "not an array of tables");
        parse_bad("[[a]]\n[a]\n", "defined twice");
        parse_bad("a = \"unterminated\n", "unterminated");
        parse_bad("a = \"\"\"multi\"\"\"\n", "multi-line");
        parse_bad("a = 1.5\n", "floats");
        parse_bad("a = 1979-05-27\n", NULL);
        parse_bad("a = 0x10\n", "hexadecimal");
        parse_bad("a = 9223372036854775808\n", "out of range");
        parse_bad("a = 1__0\n", "'_'");
        parse_bad("a = \"\\q\"\n", "invalid escape");
        parse_bad("a = \"\\ud800\"\n", "Unicode");
        parse_bad("a = \"x\x01\"\n", "control character");
        parse_bad("a = 1 b = 2\n", "after a value");
        parse_bad("a\n", "expected '='");
        parse_bad("= 1\n", "expected a key");
        parse_bad("a = [1, 2\n", "expected");
        parse_bad("a = nope\n", "invalid value");
        parse_bad("a = {b = 1}\na.c = 2\n", "already defined");
        parse_bad("[a\n", "expected ']'");
        parse_bad("line1 = 1\nline2 = @\n", "line 2");
        {
                /* NUL bytes and nesting */
                struct hutch_error *err = NULL;
                struct toml_value *v = NULL;
                assert_true(toml_parse("a = 1\0", 6, &v, &err) < 0);
                hutch_error_free(err);
                err = NULL;
                char deep[200];
                size_t n = 0;
                n += (size_t) snprintf(deep, sizeof(deep), "a = ");
                for (int i = 0; i < 40; i++)
                        deep[n++] = '[';
                deep[n] = '\0';
                assert_true(toml_parse(deep, strlen(deep), &v, &err) < 0);
                assert_non_null(strstr(err->msg, "deeply"));
                hutch_error_free(err);
        }
        {
                /* a string over the cap */
                size_t len = TOML_MAX_STRING + 16;
                char *big = xmalloc(len + 8);
                struct hutch_error *err = NULL;
                struct toml_value *v = NULL;
                memcpy(big, "a = \"", 5);
                memset(big + 5, 'x', len - 5);
                memcpy(big + len, "\"\n", 3);
                assert_true(toml_parse(big, strlen(big), &v, &err) < 0);
                assert_non_null(strstr(err->msg, "longer"));
                hutch_error_free(err);
                free(big);
        }
}

/* ---- registries.conf ---- */

static struct registries_conf *conf_ok(const char *text)
{
        struct registries_conf *c = registries_conf_new();
        struct hutch_error *err = NULL;

        if (registries_conf_parse(c, text, strlen(text), "test.conf", &err) < 0)
                fail_msg("%s", err->msg);
        return c;
}

static void resolve(struct registries_conf *c, const char *input, const char *expect_joined)
{
        struct storage_reference ref = { 0 };
        struct hutch_error *err = NULL;
        _cleanup_strv_ char **l = NULL;
        _cleanup_free_ char *j = NULL;

        assert_int_equal(storage_reference_parse(input, &ref, &err), 0);
        if (registries_conf_resolve(c, input, &ref, &l, &err) < 0) {
                storage_reference_clear(&ref);
                if (expect_joined != NULL)
                        fail_msg("%s: %s", input, err->msg);
                hutch_error_free(err);
                return;
        }
        storage_reference_clear(&ref);
        assert_non_null(expect_joined);
        j = hutch_strv_join(l, " ");
        assert_string_equal(j, expect_joined);
}

static void endpoints(struct registries_conf *c, const char *input, const char *expect_joined)
{
        struct storage_reference ref = { 0 };
        struct hutch_error *err = NULL;
        _cleanup_strv_ char **l = NULL;
        _cleanup_free_ char *j = NULL;
        int r;

        assert_int_equal(storage_reference_parse(input, &ref, &err), 0);
        r = registries_conf_endpoints(c, &ref, &l, &err);
        storage_reference_clear(&ref);
        if (expect_joined == NULL) {
                assert_true(r < 0);
                hutch_error_free(err);
                return;
        }
        if (r < 0)
                fail_msg("%s: %s", input, err->msg);
        j = hutch_strv_join(l, " ");
        assert_string_equal(j, expect_joined);
}

static void test_registries(void **state)
{
        (void) state;
        struct registries_conf *c = conf_ok("unqualified-search-registries = [\"quay.io\", \"docker.io\"]\n"
                                            "short-name-mode = \"enforcing\"\n"
                                            "[aliases]\n"
                                            "  \"app\" = \"example.com/team/app\"\n"
                                            "[[registry]]\n"
                                            "prefix = \"example.com/team\"\n"
                                            "location = \"internal.example.com:5000/mirrored\"\n"
                                            "insecure = true\n"
                                            "[[registry.mirror]]\n"
                                            "location = \"mirror.local/t\"\n"
                                            "[[registry]]\n"
                                            "location = \"bad.example.org\"\n"
                                            "blocked = true\n"
                                            "[[registry]]\n"
                                            "prefix = \"*.wild.test\"\n"
                                            "insecure = true\n");
        const struct registries_entry *e;

        resolve(c, "busybox", "quay.io/busybox:latest docker.io/library/busybox:latest");
        resolve(c, "org/tool:1.0", "quay.io/org/tool:1.0 docker.io/org/tool:1.0");
        resolve(c, "app:2", "example.com/team/app:2");
        resolve(c, "quay.io/x/y", "quay.io/x/y:latest");
        resolve(c, "localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

        endpoints(c, "example.com/team/app:2", "mirror.local/t/app internal.example.com:5000/mirrored/app");
        endpoints(c, "example.com/teamx/app", "example.com/teamx/app");
        endpoints(c, "bad.example.org/a/b", NULL);
        endpoints(c, "quay.io/a/b", "quay.io/a/b");
        endpoints(c, "r.wild.test/a", "r.wild.test/a");

        e = registries_conf_find(c, "example.com", "team/app");
        assert_non_null(e);
        assert_true(e->insecure);
        e = registries_conf_find(c, "internal.example.com:5000", "mirrored/app");
        assert_non_null(e);
        assert_true(e->insecure);
        e = registries_conf_find(c, "x.wild.test", "a");
        assert_non_null(e);
        assert_true(e->insecure);
        assert_null(registries_conf_find(c, "wild.test", "a"));
        assert_null(registries_conf_find(c, "quay.io", "a"));

        /* a later file overrides */
        {
                struct hutch_error *err = NULL;
                const char *more = "unqualified-search-registries = []\n"
                                   "[aliases]\n\"app\" = \"other.io/app\"\n"
                                   "[[registry]]\nlocation = \"bad.example.org\"\nblocked = false\n";
                assert_int_equal(registries_conf_parse(c, more, strlen(more), "drop-in.conf", &err), 0);
                resolve(c, "busybox", NULL);
                resolve(c, "app", "other.io/app:latest");
                endpoints(c, "bad.example.org/a/b", "bad.example.org/a/b");
        }
        registries_conf_free(c);
}

static void conf_bad(const char *text, const char *needle)
{
        struct registries_conf *c = registries_conf_new();
        struct hutch_error *err = NULL;

        if (registries_conf_parse(c, text, strlen(text), "bad.conf", &err) >= 0)
                fail_msg("accepted: %s", text);
        if (strstr(err->msg, needle) == NULL)
                fail_msg("'%s' lacks '%s'", err->msg, needle);
        hutch_error_free(err);
        registries_conf_free(c);
}

static void test_registries_refused(void **state)
{
        (void) state;
        conf_bad("[registries.search]\nregistries = [\"a\"]\n", "version 1");
        conf_bad("unqualified-search-registries = \"quay.io\"\n", "array");
        conf_bad("unqualified-search-registries = [\"https://quay.io\"]\n", "array of registries");
        conf_bad("[[registry]]\ninsecure = true\n", "prefix or a location");
        conf_bad("[[registry]]\nlocation = \"a b\"\n", "invalid");
        conf_bad("[[registry]]\nlocation = 5\n", "string");
        conf_bad("[[registry]]\nlocation = \"a\"\nblocked = \"yes\"\n", "true or false");
        conf_bad("[aliases]\n\"x\" = \"nohost\"\n", "alias");
        conf_bad("[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\ninsecure = true\n", "mirror");
        conf_bad("a = \n", "bad.conf: line 1");
}

static void test_registries_load(void **state)
{
        (void) state;
        char dir[] = "/tmp/test-toml-XXXXXX";
        _cleanup_free_ char *main_conf = NULL;
        struct registries_conf *c = NULL;
        struct hutch_error *err = NULL;
        const char *text = "unqualified-search-registries = [\"one.test\"]\n";

        assert_non_null(mkdtemp(dir));
        main_conf = xasprintf("%s/registries.conf", dir);
        assert_int_equal(hutch_write_file_atomic(AT_FDCWD, main_conf, text, strlen(text), 0644, NULL), 0);
        setenv("CONTAINERS_REGISTRIES_CONF", main_conf, 1);
        assert_int_equal(registries_conf_load(&c, &err), 0);
        assert_string_equal(c->search[0], "one.test");
        assert_null(c->search[1]);
        registries_conf_free(c);
        c = NULL;
        /* an explicit file must exist */
        unlink(main_conf);
        assert_true(registries_conf_load(&c, &err) < 0);
        assert_null(c);
        hutch_error_free(err);
        unsetenv("CONTAINERS_REGISTRIES_CONF");
        rmdir(dir);
}

/* ---- auth.json ---- */

static void test_auth(void **state)
{
        (void) state;
        char dir[] = "/tmp/test-auth-XXXXXX";
        _cleanup_free_ char *file = NULL, *user = NULL, *pass = NULL, *text = NULL;
        struct hutch_error *err = NULL;
        struct stat st;
        size_t len = 0;
        const char *seed = "{\"auths\": {\"quay.io\": {\"auth\": \"cXVheTpxcHc=\"},"
                           " \"quay.io/org/app\": {\"auth\": \"b3JnOm9wdw==\"},"
                           " \"https://index.docker.io/v1/\": {\"auth\": \"ZG9jazpkOnB3\"}},"
                           " \"credHelpers\": {\"x.io\": \"helper\"}}";

        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/sub/auth.json", dir);
        /* no file: nothing, no error */
        assert_int_equal(registry_auth_lookup(file, "quay.io", NULL, &user, &pass, &err), 0);

        text = xasprintf("%s/sub", dir);
        assert_int_equal(hutch_mkdir_p(text, 0700), 0);
        free(text);
        text = NULL;
        assert_int_equal(hutch_write_file_atomic(AT_FDCWD, file, seed, strlen(seed), 0600, NULL), 0);
        assert_int_equal(registry_auth_lookup(file, "quay.io", "other/x", &user, &pass, &err), 1);
        assert_string_equal(user, "quay");
        assert_string_equal(pass, "qpw");
        free(user);
        free(pass);
        /* the longest match wins, on component boundaries */
        assert_int_equal(registry_auth_lookup(file, "quay.io", "org/app", &user, &pass, &err), 1);
        assert_string_equal(user, "org");
        free(user);
        free(pass);
        assert_int_equal(registry_auth_lookup(file, "quay.io", "org/application", &user, &pass, &err), 1);
        assert_string_equal(user, "quay");
        free(user);
        free(pass);
        /* Docker's legacy key; a password with ':' */
        assert_int_equal(registry_auth_lookup(file, "docker.io", "library/x", &user, &pass, &err), 1);
        assert_string_equal(user, "dock");
        assert_string_equal(pass, "d:pw");
        free(user);
        free(pass);
        user = pass = NULL;
        assert_int_equal(registry_auth_lookup(file, "quay.io.evil", NULL, &user, &pass, &err), 0);
        assert_int_equal(registry_auth_lookup(file, "quay", NULL, &user, &pass, &err), 0);

        /* store keeps the other members; the file is 0600 */
        assert_int_equal(registry_auth_store(file, "127.0.0.1:5000", "me", "sec ret", &err), 0);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(registry_auth_lookup(file, "127.0.0.1:5000", "a/b", &user, &pass, &err), 1);
        assert_string_equal(user, "me");
        assert_string_equal(pass, "sec ret");
        free(user);
        free(pass);
        assert_int_equal(hutch_read_file_at(AT_FDCWD, file, 1 << 20, &text, &len, NULL), 0);
        assert_non_null(strstr(text, "credHelpers"));
        assert_non_null(strstr(text, "quay.io/org/app"));
        assert_int_equal(registry_auth_store(file, "bad", "a:b", "x", &err), -1);
        hutch_error_free(err);
        err = NULL;

        /* remove one, then all */
        assert_int_equal(registry_auth_remove(file, "127.0.0.1:5000", &err), 1);
        assert_int_equal(registry_auth_remove(file, "127.0.0.1:5000", &err), 0);
        assert_int_equal(registry_auth_remove(file, "docker.io", &err), 1);
        user = pass = NULL;
        assert_int_equal(registry_auth_lookup(file, "docker.io", NULL, &user, &pass, &err), 0);
        assert_int_equal(registry_auth_remove(file, NULL, &err), 1);
        assert_int_equal(registry_auth_lookup(file, "quay.io", NULL, &user, &pass, &err), 0);

        /* malformed */
        {
                const char *bad = "{\"auths\": {\"q.io\": {\"auth\": \"bm9jb2xvbg==\"}}}";
                assert_int_equal(hutch_write_file_atomic(AT_FDCWD, file, bad, strlen(bad), 0600, NULL), 0);
                assert_true(registry_auth_lookup(file, "q.io", NULL, &user, &pass, &err) < 0);
                hutch_error_free(err);
                err = NULL;
                assert_int_equal(hutch_write_file_atomic(AT_FDCWD, file, "[1]", 3, 0600, NULL), 0);
                assert_true(registry_auth_lookup(file, "q.io", NULL, &user, &pass, &err) < 0);
                hutch_error_free(err);
                err = NULL;
        }
        assert_int_equal(registry_auth_decode("!!!!", &user, &pass), -EINVAL);
        assert_int_equal(registry_auth_decode("YWJj", &user, &pass), -EINVAL); /* "abc": no colon */
        unlink(file);
        free(text);
        text = xasprintf("%s/sub", dir);
        rmdir(text);
        rmdir(dir);
}

static void test_challenge(void **state)
{
        (void) state;
        char *scheme, *realm, *service, *scope;

        assert_int_equal(registry_parse_challenge("Bearer realm=\"https://auth.example.com/token\",service=\"reg\","
                                                  "scope=\"repository:a/b:pull\"",
                                                  &scheme, &realm, &service, &scope),
                         0);
        assert_string_equal(scheme, "bearer");
        assert_string_equal(realm, "https://auth.example.com/token");
        assert_string_equal(service, "reg");
        assert_string_equal(scope, "repository:a/b:pull");
        free(scheme);
        free(realm);
        free(service);
        free(scope);
        assert_int_equal(registry_parse_challenge("Basic realm=\"Registry Realm\"", &scheme, &realm, &service, &scope),
                         0);
        assert_string_equal(scheme, "basic");
        assert_string_equal(realm, "Registry Realm");
        assert_null(service);
        assert_null(scope);
        free(scheme);
        free(realm);
        assert_int_equal(
                registry_parse_challenge("BEARER Realm=x , Service=\"a\\\"b\"", &scheme, &realm, &service, &scope), 0);
        assert_string_equal(realm, "x");
        assert_string_equal(service, "a\"b");
        free(scheme);
        free(realm);
        free(service);
        assert_true(registry_parse_challenge("Bearer realm=\"unterminated", &scheme, &realm, &service, &scope) < 0);
        assert_true(registry_parse_challenge("", &scheme, &realm, &service, &scope) < 0);
        assert_true(registry_parse_challenge("Bearer =x", &scheme, &realm, &service, &scope) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_toml_values),
                cmocka_unit_test(test_toml_tables),
                cmocka_unit_test(test_toml_refused),
                cmocka_unit_test(test_registries),
                cmocka_unit_test(test_registries_refused),
                cmocka_unit_test(test_registries_load),
                cmocka_unit_test(test_auth),
                cmocka_unit_test(test_challenge),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
