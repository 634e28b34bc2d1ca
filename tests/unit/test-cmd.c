/* Unit tests for command-line formats: env files, -e, -v, paths, getopt. */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/parse-opts.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char *fake_env(const char *k)
{
        if (strcmp(k, "HOSTVAR") == 0)
                return "from-host";
        return NULL;
}

static void test_env_file(void **state)
{
        struct hutch_error *err = NULL;
        _cleanup_strv_ char **env = NULL;
        (void) state;

        const char *text = "# comment\n"
                           "\n"
                           "A=1\r\n"
                           "  B=two words  \n"
                           "HOSTVAR\n"
                           "UNSET_ON_HOST\n"
                           "A=3\n"
                           "EMPTY=\n"
                           "URL=http://x/?a=b";
        assert_int_equal(cmd_parse_env_file(text, "f.env", fake_env, &env, &err), 0);
        assert_int_equal(hutch_strv_length(env), 5);
        assert_string_equal(env[0], "A=3");
        assert_string_equal(env[1], "B=two words  ");
        assert_string_equal(env[2], "HOSTVAR=from-host");
        assert_string_equal(env[3], "EMPTY=");
        assert_string_equal(env[4], "URL=http://x/?a=b");

        assert_true(cmd_parse_env_file("GOOD=1\n=bad\n", "f.env", fake_env, &env, &err) < 0);
        assert_non_null(strstr(err->msg, "f.env:2"));
        hutch_error_clear(&err);
        assert_true(cmd_parse_env_file("BAD NAME=1\n", "f.env", fake_env, &env, &err) < 0);
        hutch_error_clear(&err);
}

static void test_env_arg(void **state)
{
        struct hutch_error *err = NULL;
        _cleanup_strv_ char **env = NULL;
        (void) state;
        assert_int_equal(cmd_parse_env_arg("X=1", fake_env, &env, &err), 0);
        assert_int_equal(cmd_parse_env_arg("HOSTVAR", fake_env, &env, &err), 0);
        assert_int_equal(cmd_parse_env_arg("NOPE", fake_env, &env, &err), 0);
        assert_int_equal(cmd_parse_env_arg("X=2=3", fake_env, &env, &err), 0);
        assert_int_equal(hutch_strv_length(env), 2);
        assert_string_equal(env[0], "X=2=3");
        assert_string_equal(env[1], "HOSTVAR=from-host");
        assert_true(cmd_parse_env_arg("=x", fake_env, &env, &err) < 0);
        hutch_error_clear(&err);
        assert_true(cmd_parse_env_arg("", fake_env, &env, &err) < 0);
        hutch_error_clear(&err);
}

static void test_volume(void **state)
{
        struct hutch_error *err = NULL;
        struct cmd_volume v;
        (void) state;

        assert_int_equal(cmd_parse_volume("/src:/dst", &v, &err), 0);
        assert_string_equal(v.source, "/src");
        assert_string_equal(v.destination, "/dst");
        assert_false(v.readonly);
        cmd_volume_clear(&v);

        assert_int_equal(cmd_parse_volume("/src:/a/./b//c/../d:ro,z", &v, &err), 0);
        assert_string_equal(v.destination, "/a/b/d");
        assert_true(v.readonly);
        cmd_volume_clear(&v);

        static const char *const bad[] = {
                "",           "/src",   "/src:", ":/dst",     "src:/dst", "/src:dst", "/s:/d:xx", "/s:/d:ro,rw",
                "/s:/d:ro:x", "/s::/d", "/s:/",  "/s:/../..", "/s:/d:",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (cmd_parse_volume(bad[i], &v, &err) == 0)
                        fail_msg("volume spec '%s' was accepted", bad[i]);
                assert_non_null(err);
                hutch_error_clear(&err);
        }
}

static void test_clean_path(void **state)
{
        struct hutch_error *err = NULL;
        char *p = NULL;
        (void) state;
        assert_int_equal(cmd_clean_container_path("/", &p, &err), 0);
        assert_string_equal(p, "/");
        free(p);
        assert_int_equal(cmd_clean_container_path("/a/../b/", &p, &err), 0);
        assert_string_equal(p, "/b");
        free(p);
        assert_true(cmd_clean_container_path("/..", &p, &err) < 0);
        hutch_error_clear(&err);
        assert_true(cmd_clean_container_path("rel", &p, &err) < 0);
        hutch_error_clear(&err);
}

enum { OPT_LONG = 0x100 };
static const struct cmd_option opts[] = {
        { "long", 0, required_argument, "X", "a long option", OPT_LONG },
        { "flag", 'f', no_argument, NULL, "a flag", 'f' },
        { 0 },
};
static const struct cmd_command testcmd = { "t", "[OPTIONS]", "test", NULL, opts, NULL, "hutch t" };

static void test_getopt(void **state)
{
        struct hutch_error *err = NULL;
        char *arg = NULL;
        (void) state;

        char *argv1[] = { "t", "--long", "v", "-f", "cmd", "--long", NULL };
        optind = 0;
        assert_int_equal(cmd_getopt(&testcmd, 6, argv1, &arg, &err), OPT_LONG);
        assert_string_equal(arg, "v");
        assert_int_equal(cmd_getopt(&testcmd, 6, argv1, &arg, &err), 'f');
        /* stops at the first operand: the container's flags are its own */
        assert_int_equal(cmd_getopt(&testcmd, 6, argv1, &arg, &err), -1);
        assert_int_equal(optind, 4);

        char *argv2[] = { "t", "--bogus", NULL };
        optind = 0;
        assert_int_equal(cmd_getopt(&testcmd, 2, argv2, &arg, &err), -3);
        assert_non_null(strstr(err->msg, "unknown flag: '--bogus'"));
        assert_non_null(strstr(err->msg, "See 'hutch t --help'"));
        assert_int_equal(err->exit_status, 125);
        hutch_error_clear(&err);

        char *argv3[] = { "t", "--long", NULL };
        optind = 0;
        assert_int_equal(cmd_getopt(&testcmd, 2, argv3, &arg, &err), -3);
        assert_non_null(strstr(err->msg, "needs an argument"));
        hutch_error_clear(&err);

        char *argv4[] = { "t", "-x", NULL };
        optind = 0;
        assert_int_equal(cmd_getopt(&testcmd, 2, argv4, &arg, &err), -3);
        assert_non_null(strstr(err->msg, "unknown shorthand flag: 'x'"));
        hutch_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_file),   cmocka_unit_test(test_env_arg), cmocka_unit_test(test_volume),
                cmocka_unit_test(test_clean_path), cmocka_unit_test(test_getopt),
        };
        return cmocka_run_group_tests_name("cmd", tests, NULL, NULL);
}
