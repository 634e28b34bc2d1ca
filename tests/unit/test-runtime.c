/* Unit tests for runtime/ parsers: subordinate ranges, ID maps, users. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "runtime/mounts.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_subid_parse(void **state)
{
        struct hutch_error *err = NULL;
        struct runtime_subid_range *r = NULL;
        size_t n = 0;
        (void) state;

        const char *text = "# comment\n"
                           "alice:100000:65536\n"
                           "bob:165536:65536\n"
                           "1000:300000:1000\n"
                           "alice:bogus:5\n"
                           "alice:400000\n"
                           "alice:500000:0\n"
                           "\n"
                           "alice:600000:10";
        assert_int_equal(runtime_subid_parse(text, "alice", 1000, &r, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_int_equal(r[0].start, 100000);
        assert_int_equal(r[0].count, 65536);
        assert_int_equal(r[1].start, 300000); /* by numeric UID */
        assert_int_equal(r[2].start, 600000);
        free(r);

        assert_int_equal(runtime_subid_parse(text, "carol", 1001, &r, &n, &err), 0);
        assert_int_equal(n, 0);
        free(r);
        r = NULL;

        /* a range holding the user's own ID or 0 is refused */
        assert_true(runtime_subid_parse("alice:999:10\n", "alice", 1000, &r, &n, &err) < 0);
        assert_non_null(strstr(err->msg, "own ID"));
        hutch_error_clear(&err);
        assert_true(runtime_subid_parse("alice:0:10\n", "alice", 1000, &r, &n, &err) < 0);
        hutch_error_clear(&err);
        /* overlapping ranges are refused */
        assert_true(runtime_subid_parse("alice:100000:100\nalice:100050:100\n", "alice", 1000, &r, &n, &err) < 0);
        assert_non_null(strstr(err->msg, "overlap"));
        hutch_error_clear(&err);
        /* wrap-around past 2^32 is skipped */
        assert_int_equal(runtime_subid_parse("alice:4294967000:1000\n", "alice", 1000, &r, &n, &err), 0);
        assert_int_equal(n, 0);
        free(r);
}

static void test_idmap_build(void **state)
{
        struct runtime_subid_range ranges[] = { { 100000, 65536 }, { 300000, 10 } };
        struct runtime_idmap m;
        uint32_t host;
        char buf[256];
        (void) state;

        runtime_idmap_build(1000, ranges, 2, &m);
        assert_int_equal(m.n, 3);
        runtime_idmap_format(&m, buf, sizeof(buf));
        assert_string_equal(buf, "0 1000 1\n1 100000 65536\n65537 300000 10\n");
        assert_int_equal(runtime_idmap_to_host(&m, 0, &host), 0);
        assert_int_equal(host, 1000);
        assert_int_equal(runtime_idmap_to_host(&m, 1000, &host), 0);
        assert_int_equal(host, 100999);
        assert_int_equal(runtime_idmap_to_host(&m, 65540, &host), 0);
        assert_int_equal(host, 300003);
        assert_int_equal(runtime_idmap_to_host(&m, 65547, &host), -ERANGE);
        assert_int_equal(runtime_idmap_span(&m), 65547);

        runtime_idmap_build(1000, NULL, 0, &m);
        assert_int_equal(m.n, 1);
        assert_int_equal(runtime_idmap_span(&m), 1);
}

static void test_idmap_parse_proc(void **state)
{
        struct runtime_idmap k, built, other;
        struct runtime_subid_range ranges[] = { { 100000, 65536 } };
        (void) state;

        /* the kernel's layout: right-aligned columns */
        assert_int_equal(runtime_idmap_parse_proc("         0       1000          1\n"
                                                  "         1     100000      65536\n",
                                                  &k),
                         0);
        assert_int_equal(k.n, 2);
        runtime_idmap_build(1000, ranges, 1, &built);
        assert_true(runtime_idmap_equal(&k, &built));
        /* order of the extents does not matter, their values do */
        assert_int_equal(runtime_idmap_parse_proc("1 100000 65536\n0 1000 1", &other), 0);
        assert_true(runtime_idmap_equal(&other, &built));
        assert_int_equal(runtime_idmap_parse_proc("0 1000 1\n", &other), 0);
        assert_false(runtime_idmap_equal(&other, &built));
        assert_int_equal(runtime_idmap_parse_proc("0 1000 1\n1 100000 65535\n", &other), 0);
        assert_false(runtime_idmap_equal(&other, &built));
        assert_int_equal(runtime_idmap_parse_proc("", &other), 0);
        assert_int_equal(other.n, 0);
        static const char *const bad[] = { "0 1000\n",         "0 1000 1 4\n", "a b c\n",     "0 1000 0\n",
                                           "0 4294967296 1\n", "-1 0 1\n",     "0 1000 1\n\n" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(runtime_idmap_parse_proc(bad[i], &other), -EINVAL);
}

static void test_idmap_parse(void **state)
{
        struct hutch_error *err = NULL;
        struct runtime_idmap m;
        (void) state;

        assert_int_equal(runtime_idmap_parse("0:1000:1,1:100000:65536", &m, &err), 0);
        assert_int_equal(m.n, 2);
        assert_int_equal(m.e[1].host_id, 100000);
        static const char *const bad[] = {
                "",
                "0:1000",
                "0:1000:0",
                "a:1:1",
                "0:1:1,",
                "0:1:1;",
                "0:1:1,0:5:1",
                "0:1:5,5:3:1",
                "0:4294967295:2",
                "0::1",
                "-1:0:1",
                "0:1:1,,1:2:1",
                "00000000000000000001:1:1",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_true(runtime_idmap_parse(bad[i], &m, &err) < 0);
                assert_non_null(err);
                hutch_error_clear(&err);
        }
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment\n"
                             "broken line\n"
                             "tester:x:1000:1000:Test:/home/tester:/bin/sh\n"
                             "nohome:x:1001:1001:::/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "testers:x:1000:tester\n"
                            "extra:x:1500:someone,tester\n"
                            "other:x:1600:someone\n";

static void test_user_resolve(void **state)
{
        struct hutch_error *err = NULL;
        struct runtime_user u;
        (void) state;

        assert_int_equal(runtime_user_resolve(NULL, passwd, group, &u, &err), 0);
        assert_int_equal(u.uid, 0);
        assert_string_equal(u.home, "/root");
        runtime_user_clear(&u);

        assert_int_equal(runtime_user_resolve("tester", passwd, group, &u, &err), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1000);
        assert_int_equal(u.n_groups, 2);
        assert_int_equal(u.groups[0], 1000);
        assert_int_equal(u.groups[1], 1500);
        assert_string_equal(u.home, "/home/tester");
        runtime_user_clear(&u);

        /* numeric user found in passwd gets its groups too */
        assert_int_equal(runtime_user_resolve("1000", passwd, group, &u, &err), 0);
        assert_int_equal(u.n_groups, 2);
        runtime_user_clear(&u);

        /* an unknown numeric ID is fine, with gid 0 */
        assert_int_equal(runtime_user_resolve("4242", passwd, group, &u, &err), 0);
        assert_int_equal(u.uid, 4242);
        assert_int_equal(u.gid, 0);
        assert_string_equal(u.home, "/");
        runtime_user_clear(&u);

        assert_int_equal(runtime_user_resolve("tester:extra", passwd, group, &u, &err), 0);
        assert_int_equal(u.gid, 1500);
        assert_int_equal(u.n_groups, 1);
        runtime_user_clear(&u);

        assert_int_equal(runtime_user_resolve("1000:1600", NULL, NULL, &u, &err), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1600);
        runtime_user_clear(&u);

        assert_int_equal(runtime_user_resolve("nohome", passwd, group, &u, &err), 0);
        assert_string_equal(u.home, "/");
        runtime_user_clear(&u);

        static const char *const bad[] = { "nobody", "tester:nogroup", ":", "tester:", ":1000", "a:b:c", "../x" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_true(runtime_user_resolve(bad[i], passwd, group, &u, &err) < 0);
                assert_non_null(err);
                hutch_error_clear(&err);
        }
        assert_true(runtime_user_resolve("tester", NULL, NULL, &u, &err) < 0);
        hutch_error_clear(&err);
}

static void test_overlay_escape(void **state)
{
        _cleanup_free_ char *e = runtime_overlay_escape("/a,b:c\\d");
        (void) state;
        assert_string_equal(e, "/a\\,b\\:c\\\\d");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_subid_parse),  cmocka_unit_test(test_idmap_build),
                cmocka_unit_test(test_idmap_parse),  cmocka_unit_test(test_idmap_parse_proc),
                cmocka_unit_test(test_user_resolve), cmocka_unit_test(test_overlay_escape),
        };
        return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
