/* The pure part of `hutch completion`: positional kinds from usage
 * strings, option value kinds, and the tables a script holds for a small
 * command tree. */
#include "config.h"

#include "cmd/completion.h"
#include "lib/cleanup.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int nop(const struct cmd_command *c, int argc, char **argv, struct hutch_error **err)
{
        (void) c, (void) argc, (void) argv, (void) err;
        return 0;
}

static void check_kinds(const char *path, const char *usage, const char *expected)
{
        _cleanup_free_ char *k = cmd_completion_positional_kinds(path, usage);
        assert_string_equal(k, expected);
}

static void test_positional_kinds(void **state)
{
        (void) state;
        check_kinds("rm", "[OPTIONS] CONTAINER...", "@container");
        check_kinds("start", "[-a] CONTAINER", "@container @none");
        check_kinds("export", "[-o FILE] CONTAINER", "@container @none");
        check_kinds("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "@container @image @none");
        check_kinds("import", "[OPTIONS] TARBALL [NAME]", "@file @none @none");
        check_kinds("pull", "[OPTIONS] IMAGE|docker://REF|oci:PATH[:TAG]", "@image @none");
        check_kinds("ps", "[OPTIONS]", "@none");
        check_kinds("build", "[OPTIONS] CONTEXT", "@file @none"); /* a new command needs no entry */
        check_kinds("x", NULL, "@none");
        check_kinds("x", "[-o FILE", "@none"); /* unbalanced: nothing read past it */
        /* the exceptions */
        check_kinds("stop", "[OPTIONS] CONTAINER...", "@running");
        check_kinds("container stop", "[OPTIONS] CONTAINER...", "@running");
        check_kinds("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "@running @none");
        check_kinds("volume rm", "[OPTIONS] NAME...", "@volume");
        check_kinds("cp", "[OPTIONS] CONTAINER:SRC DST | SRC CONTAINER:DST", "@cpsrc");
}

static void test_option_kinds(void **state)
{
        (void) state;
        assert_string_equal(cmd_completion_option_kind("", "log-level", "LEVEL"), "=error,warn,info,debug,trace");
        assert_string_equal(cmd_completion_option_kind("run", "restart", "POLICY"),
                            "=no,on-failure,always,unless-stopped");
        assert_string_equal(cmd_completion_option_kind("container create", "network", "MODE"),
                            "=slirp,none,host,container:");
        assert_string_equal(cmd_completion_option_kind("exec", "restart", "POLICY"), "@none");
        assert_string_equal(cmd_completion_option_kind("run", "env-file", "FILE"), "@file");
        assert_string_equal(cmd_completion_option_kind("run", "workdir", "DIR"), "@none");
        assert_string_equal(cmd_completion_option_kind("oci", "root", "DIR"), "@file");
        assert_string_equal(cmd_completion_option_kind("run", "log-level", "LEVEL"), "@none"); /* global only */
}

static const struct cmd_option opts_top[] = {
        { "root", 0, required_argument, "DIR", "storage", 0x100 },
        { "log-level", 0, required_argument, "LEVEL", "level", 0x101 },
        { "verbose", 'v', no_argument, NULL, "more", 'v' },
        { 0 },
};
static const struct cmd_option opts_run[] = {
        { "restart", 0, required_argument, "POLICY", "policy", 0x100 },
        { "hostname", 'h', required_argument, "NAME", "name", 'h' },
        { "volume", 'v', required_argument, "SRC:DST", "mount", 'v' },
        { 0 },
};
static const struct cmd_command sub_image[] = {
        { "rm", "[OPTIONS] IMAGE...", "remove", nop, NULL, NULL, NULL },
        { 0 },
};
static const struct cmd_command cmds[] = {
        { "run", "[OPTIONS] IMAGE|--rootfs DIR [COMMAND [ARG...]]", "run", nop, opts_run, NULL, NULL },
        { "image", "COMMAND", "images", nop, NULL, sub_image, NULL },
        { 0 },
};
static const struct cmd_command top = { "hutch", "", "top", NULL, opts_top, cmds, "hutch" };

static char *generate(enum cmd_completion_shell shell)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        assert_int_equal(cmd_completion_generate(f, &top, shell), 0);
        fclose(f);
        return buf;
}

static void test_bash_tables(void **state)
{
        _cleanup_free_ char *s = generate(CMD_COMPLETION_BASH);
        (void) state;
        assert_non_null(strstr(s, "\n        '') echo 'run image' ;;\n"));
        assert_non_null(strstr(s, "\n        'image') echo 'rm' ;;\n"));
        assert_non_null(strstr(s, "\n        '') echo '--root --log-level --verbose -v --help -h' ;;\n"));
        /* -h is run's --hostname: no -h for help there */
        assert_non_null(strstr(s, "\n        'run') echo '--restart --hostname -h --volume -v --help' ;;\n"));
        assert_non_null(strstr(s, "\n        'run') echo '--restart --hostname -h --volume -v' ;;\n"));
        assert_non_null(strstr(s, "\n        '|--root') echo '@file' ;;\n"));
        assert_non_null(strstr(s, "\n        '|--log-level') echo '=error,warn,info,debug,trace' ;;\n"));
        assert_non_null(strstr(s, "\n        'run|--restart') echo '=no,on-failure,always,unless-stopped' ;;\n"));
        assert_non_null(strstr(s, "\n        'run|-v') echo '@file' ;;\n"));
        assert_null(strstr(s, "'run|--hostname'"));
        assert_non_null(strstr(s, "\n        'run') echo '@image @none' ;;\n"));
        assert_non_null(strstr(s, "\n        'image rm') echo '@image' ;;\n"));
        assert_non_null(strstr(s, "\n        *) echo '@none' ;;\n"));
        assert_non_null(strstr(s, "\ncomplete -F _hutch hutch\n"));
}

static void test_zsh_fish(void **state)
{
        _cleanup_free_ char *z = generate(CMD_COMPLETION_ZSH);
        _cleanup_free_ char *f = generate(CMD_COMPLETION_FISH);
        (void) state;
        assert_int_equal(strncmp(z, "#compdef hutch\n", 15), 0);
        assert_non_null(strstr(z, "compdef _hutch hutch"));
        assert_non_null(strstr(f, "function __hutch_subs\n        switch $argv[1]\n        case ''\n"
                                  "                echo 'run image'\n"));
        assert_non_null(strstr(f, "        case 'run|--restart'\n"
                                  "                echo '=no,on-failure,always,unless-stopped'\n"));
        assert_non_null(strstr(f, "complete -c hutch -f -a '(__hutch_complete)'"));
}

static void test_parse_shell(void **state)
{
        enum cmd_completion_shell sh;
        (void) state;
        assert_int_equal(cmd_completion_parse_shell("zsh", &sh), 0);
        assert_int_equal(sh, CMD_COMPLETION_ZSH);
        assert_int_equal(cmd_completion_parse_shell("fish", &sh), 0);
        assert_int_equal(sh, CMD_COMPLETION_FISH);
        assert_true(cmd_completion_parse_shell("tcsh", &sh) < 0);
        assert_true(cmd_completion_parse_shell("", &sh) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_positional_kinds), cmocka_unit_test(test_option_kinds),
                cmocka_unit_test(test_bash_tables),      cmocka_unit_test(test_zsh_fish),
                cmocka_unit_test(test_parse_shell),
        };
        return cmocka_run_group_tests_name("completion", tests, NULL, NULL);
}
