/* Unit tests for storage/diff.c (a container's changes against its image)
 * and the config history that commit appends to. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "storage/diff.h"
#include "storage/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_whiteout_names(void **state)
{
        (void) state;
        assert_string_equal(storage_whiteout_target(".wh.foo"), "foo");
        assert_string_equal(storage_whiteout_target(".wh..hidden"), ".hidden");
        assert_null(storage_whiteout_target(".wh..wh..opq"));
        assert_null(storage_whiteout_target(".wh."));
        assert_null(storage_whiteout_target(".wh.."));
        assert_null(storage_whiteout_target(".wh..."));
        assert_null(storage_whiteout_target("foo"));
        assert_null(storage_whiteout_target(".whfoo"));

        static const char *const cases[][3] = {
                /* path, whiteout entry, opaque entry */
                { "/a", ".wh.a", "a/.wh..wh..opq" },
                { "/a/b", "a/.wh.b", "a/b/.wh..wh..opq" },
                { "/a/b/c d", "a/b/.wh.c d", "a/b/c d/.wh..wh..opq" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *wh = storage_whiteout_entry(cases[i][0]);
                _cleanup_free_ char *op = storage_opaque_entry(cases[i][0]);
                assert_string_equal(wh, cases[i][1]);
                assert_string_equal(op, cases[i][2]);
        }
}

/* ---- trees ---- */

static void put(const char *root, const char *rel, const char *content)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(content, f);
        assert_int_equal(fclose(f), 0);
}

static void mk(const char *root, const char *rel)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

static char *changes_text(const struct storage_changes *c)
{
        char *s = xstrdup("");
        for (size_t i = 0; i < c->n; i++) {
                char *n = xasprintf("%s%c %s%s\n", s, c->v[i].kind, c->v[i].path,
                                    c->v[i].covered  ? " (covered)"
                                    : c->v[i].opaque ? " (opaque)"
                                                     : "");
                free(s);
                s = n;
        }
        return s;
}

struct trees {
        char root[64];
        char *lower, *upper;
};

static int trees_setup(void **state)
{
        struct trees *t = xzalloc(sizeof(*t));
        snprintf(t->root, sizeof(t->root), "/tmp/test-diff-XXXXXX");
        assert_non_null(mkdtemp(t->root));
        t->lower = xasprintf("%s/lower", t->root);
        t->upper = xasprintf("%s/upper", t->root);
        assert_int_equal(mkdir(t->lower, 0755), 0);
        assert_int_equal(mkdir(t->upper, 0755), 0);
        /* the image: /keep, /etc/{a,b}, /data/{x,sub/y} */
        put(t->lower, "keep", "k");
        mk(t->lower, "etc");
        put(t->lower, "etc/a", "a");
        put(t->lower, "etc/b", "b");
        mk(t->lower, "data");
        put(t->lower, "data/x", "x");
        mk(t->lower, "data/sub");
        put(t->lower, "data/sub/y", "y");
        *state = t;
        return 0;
}

static int trees_teardown(void **state)
{
        struct trees *t = *state;
        _cleanup_close_ int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        (void) hutch_rm_rf_at(fd, t->root + strlen("/tmp/"));
        free(t->lower);
        free(t->upper);
        free(t);
        return 0;
}

static char *run_diff(struct trees *t, bool full_copy)
{
        _cleanup_close_ int up = open(t->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int low = open(t->lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct storage_diff_source src = { .upper_fd = up, .lower_fds = &low, .n_lower = 1, .full_copy = full_copy };
        struct storage_changes c = { 0 };
        struct hutch_error *err = NULL;
        char *text;

        assert_int_equal(storage_diff(&src, NULL, &c, &err), 0);
        (void) close(low);
        text = changes_text(&c);
        storage_changes_clear(&c);
        return text;
}

/* An overlay upper layer in the form fuse-overlayfs leaves where mknod is
 * refused: ".wh.NAME" files and a ".wh..wh..opq" marker. */
static void test_overlay_upper(void **state)
{
        struct trees *t = *state;

        mk(t->upper, "etc");
        put(t->upper, "etc/.wh.a", "");       /* deleted */
        put(t->upper, "etc/new", "n");        /* added */
        put(t->upper, "etc/.wh.nothere", ""); /* hides nothing: no change */
        mk(t->upper, "data");
        put(t->upper, "data/.wh..wh..opq", ""); /* opaque: x and sub hidden */
        put(t->upper, "data/x", "again");
        mk(t->upper, "fresh");
        put(t->upper, "fresh/f", "f");
        put(t->upper, "fresh/.wh.ignored", ""); /* nothing below to hide */
        /* the runtime's empty mount points are not the container's changes */
        mk(t->upper, "proc");
        put(t->upper, "etc/hosts", "");
        _cleanup_free_ char *text = run_diff(t, false);
        assert_string_equal(text, "C /data (opaque)\n"
                                  "D /data/sub (covered)\n"
                                  "C /data/x\n"
                                  "C /etc\n"
                                  "D /etc/a\n"
                                  "A /etc/new\n"
                                  "A /fresh\n"
                                  "A /fresh/f\n");
}

/* The copy driver: the whole tree, compared with the image. */
static void test_full_copy(void **state)
{
        struct trees *t = *state;

        put(t->upper, "keep", "k"); /* the same */
        mk(t->upper, "etc");
        put(t->upper, "etc/a", "A"); /* same size, other content */
        put(t->upper, "etc/b", "b");
        mk(t->upper, "data");
        _cleanup_free_ char *p = xasprintf("%s/data", t->upper);
        assert_int_equal(chmod(p, 0700), 0); /* metadata only */
        mk(t->upper, "data/sub");
        put(t->upper, "data/sub/y", "y");
        _cleanup_free_ char *l = xasprintf("%s/link", t->upper);
        assert_int_equal(symlink("keep", l), 0);
        _cleanup_free_ char *text = run_diff(t, true);
        assert_string_equal(text, "C /data\n"
                                  "D /data/x\n"
                                  "C /etc\n"
                                  "C /etc/a\n"
                                  "A /link\n");
}

/* An unchanged copy has no changes. */
static void test_full_copy_same(void **state)
{
        struct trees *t = *state;

        put(t->upper, "keep", "k");
        mk(t->upper, "etc");
        put(t->upper, "etc/a", "a");
        put(t->upper, "etc/b", "b");
        mk(t->upper, "data");
        put(t->upper, "data/x", "x");
        mk(t->upper, "data/sub");
        put(t->upper, "data/sub/y", "y");
        _cleanup_free_ char *text = run_diff(t, true);
        assert_string_equal(text, "");
}

/* ---- config history ---- */

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void test_history(void **state)
{
        static const char cfg[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                                  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]},"
                                  "\"history\":[{\"created\":\"2020-01-01T00:00:00Z\",\"created_by\":\"/bin/sh -c x\"},"
                                  "{\"created_by\":\"ENV A=b\",\"empty_layer\":true}]}";
        struct storage_image_config *c = NULL, *c2 = NULL;
        struct hutch_error *err = NULL;
        _cleanup_free_ char *gen = NULL;
        size_t len;

        (void) state;
        assert_int_equal(storage_config_parse(cfg, strlen(cfg), &c, &err), 0);
        assert_int_equal(c->n_history, 2);
        assert_string_equal(c->history[0].created_by, "/bin/sh -c x");
        assert_false(c->history[0].empty_layer);
        assert_true(c->history[1].empty_layer);
        assert_null(c->history[1].created);
        storage_config_add_history(c, "2026-01-01T00:00:00Z", "sh", "me", "msg", false);
        gen = storage_config_generate(c, &len);
        assert_int_equal(storage_config_parse(gen, len, &c2, &err), 0);
        assert_int_equal(c2->n_history, 3);
        assert_string_equal(c2->history[0].created, "2020-01-01T00:00:00Z");
        assert_true(c2->history[1].empty_layer);
        assert_string_equal(c2->history[2].author, "me");
        assert_string_equal(c2->history[2].comment, "msg");
        storage_image_config_free(c2);
        storage_image_config_free(c);

        static const char *const bad[] = {
                "\"history\":{}",
                "\"history\":[1]",
                "\"history\":[{\"created_by\":1}]",
                "\"history\":[{\"empty_layer\":\"yes\"}]",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_free_ char *doc =
                        xasprintf("{\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},%s}", bad[i]);
                c = NULL;
                assert_true(storage_config_parse(doc, strlen(doc), &c, &err) < 0);
                assert_null(c);
                hutch_error_free(err);
                err = NULL;
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_whiteout_names),
                cmocka_unit_test_setup_teardown(test_overlay_upper, trees_setup, trees_teardown),
                cmocka_unit_test_setup_teardown(test_full_copy, trees_setup, trees_teardown),
                cmocka_unit_test_setup_teardown(test_full_copy_same, trees_setup, trees_teardown),
                cmocka_unit_test(test_history),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
