/* Unit tests for the Dockerfile parser and word expansion (cmd/dockerfile.c). */
#include "config.h"

#include "cmd/dockerfile.h"
#include "cmd/dockerignore.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct dockerfile *parse_ok(const char *text)
{
        struct dockerfile *df = NULL;
        struct hutch_error *err = NULL;
        int r = dockerfile_parse(text, strlen(text), &df, &err);
        if (r < 0)
                fail_msg("parse failed: %s", err ? err->msg : "?");
        assert_non_null(df);
        return df;
}

static void parse_fails(const char *text, const char *msg)
{
        struct dockerfile *df = NULL;
        struct hutch_error *err = NULL;
        assert_true(dockerfile_parse(text, strlen(text), &df, &err) < 0);
        assert_null(df);
        assert_non_null(err);
        if (!strstr(err->msg, msg))
                fail_msg("'%s' lacks '%s'", err->msg, msg);
        hutch_error_free(err);
}

static void assert_strv(char **v, const char *const *want)
{
        size_t n = 0;
        for (; want[n]; n++) {
                if (!v || !v[n])
                        fail_msg("missing element %zu '%s'", n, want[n]);
                assert_string_equal(v[n], want[n]);
        }
        assert_null(v[n]);
}

static void test_basic(void **state)
{
        (void) state;
        struct dockerfile *df = parse_ok("# comment\n"
                                         "from busybox AS Build\n"
                                         "run echo hi\n"
                                         "CMD [\"sh\", \"-c\", \"echo \\\"x\\\"\"]\n"
                                         "ENTRYPOINT top -b\n"
                                         "\n"
                                         "FROM scratch\n"
                                         "COPY --from=build --chown=1:2 /a /b /dest/\n"
                                         "ADD [\"a b\", \"c\"]\n");
        assert_int_equal(df->n_stages, 2);
        struct df_stage *st = &df->stages[0];
        assert_int_equal(st->line, 2);
        assert_string_equal(st->name, "build");
        assert_string_equal(st->from->args[0], "busybox");
        assert_int_equal(st->n_instrs, 3);
        assert_int_equal(st->instrs[0].kind, DF_RUN);
        assert_int_equal(st->instrs[0].line, 3);
        assert_string_equal(st->instrs[0].keyword, "RUN");
        assert_false(st->instrs[0].json);
        assert_string_equal(st->instrs[0].rest, "echo hi");
        assert_true(st->instrs[1].json);
        assert_strv(st->instrs[1].args, (const char *[]){ "sh", "-c", "echo \"x\"", NULL });
        assert_false(st->instrs[2].json);
        assert_string_equal(st->instrs[2].rest, "top -b");

        st = &df->stages[1];
        assert_null(st->name);
        assert_int_equal(st->line, 7);
        assert_int_equal(st->instrs[0].kind, DF_COPY);
        assert_string_equal(dockerfile_flag(&st->instrs[0], "from"), "build");
        assert_string_equal(dockerfile_flag(&st->instrs[0], "chown"), "1:2");
        assert_null(dockerfile_flag(&st->instrs[0], "chmod"));
        assert_string_equal(st->instrs[0].rest, "/a /b /dest/");
        assert_true(st->instrs[1].json);
        assert_strv(st->instrs[1].args, (const char *[]){ "a b", "c", NULL });
        dockerfile_free(df);
}

static void test_continuations(void **state)
{
        (void) state;
        struct dockerfile *df = parse_ok("FROM a\n"
                                         "RUN echo one \\\n"
                                         "# a comment inside\n"
                                         "\n"
                                         "   two \\  \n"
                                         "three\n"
                                         "RUN last \\\n");
        struct df_stage *st = &df->stages[0];
        assert_int_equal(st->n_instrs, 2);
        assert_string_equal(st->instrs[0].rest, "echo one    two three");
        assert_int_equal(st->instrs[0].line, 2);
        assert_string_equal(st->instrs[1].rest, "last");
        assert_int_equal(st->instrs[1].line, 7);
        dockerfile_free(df);

        /* CRLF line ends */
        df = parse_ok("FROM a\r\nRUN x \\\r\n y\r\n");
        assert_string_equal(df->stages[0].instrs[0].rest, "x  y");
        dockerfile_free(df);
}

static void test_escape_directive(void **state)
{
        (void) state;
        struct dockerfile *df = parse_ok("# syntax=docker/dockerfile:1\n"
                                         "# escape=`\n"
                                         "FROM a\n"
                                         "COPY c:\\src `\n"
                                         "  c:\\dst\n");
        assert_int_equal(df->escape, '`');
        assert_string_equal(df->stages[0].instrs[0].rest, "c:\\src   c:\\dst");
        dockerfile_free(df);

        /* after an instruction it is an ordinary comment */
        df = parse_ok("FROM a\n# escape=`\nRUN a \\\n b\n");
        assert_int_equal(df->escape, '\\');
        assert_string_equal(df->stages[0].instrs[0].rest, "a  b");
        dockerfile_free(df);

        /* an unknown directive is a comment and ends the directives */
        df = parse_ok("# foo=bar\n# escape=`\nFROM a\nRUN a \\\n b\n");
        assert_int_equal(df->escape, '\\');
        dockerfile_free(df);

        parse_fails("# escape=x\nFROM a\n", "invalid escape token");
        parse_fails("# escape=`\n# escape=\\\nFROM a\n", "only one escape");
}

static void test_env_label_arg(void **state)
{
        (void) state;
        struct dockerfile *df = parse_ok("ARG BASE=busybox\n"
                                         "ARG V\n"
                                         "FROM $BASE\n"
                                         "ENV A=1 B=\"two words\" C='x y' D=a\\ b\n"
                                         "ENV LEGACY value with  spaces\n"
                                         "LABEL \"com.x\"=\"v\" other=1\n"
                                         "ARG a=1 b\n");
        assert_int_equal(df->n_meta_args, 2);
        assert_strv(df->meta_args[0].args, (const char *[]){ "BASE=busybox", NULL });
        assert_strv(df->meta_args[1].args, (const char *[]){ "V", NULL });
        struct df_stage *st = &df->stages[0];
        assert_strv(st->instrs[0].args,
                    (const char *[]){ "A", "1", "B", "\"two words\"", "C", "'x y'", "D", "a\\ b", NULL });
        assert_strv(st->instrs[1].args, (const char *[]){ "LEGACY", "value with  spaces", NULL });
        assert_strv(st->instrs[2].args, (const char *[]){ "\"com.x\"", "\"v\"", "other", "1", NULL });
        assert_strv(st->instrs[3].args, (const char *[]){ "a=1", "b", NULL });
        dockerfile_free(df);

        parse_fails("FROM a\nENV A=1 B\n", "line 2: ENV: can't find '='");
        parse_fails("FROM a\nENV A\n", "line 2: ENV must have two arguments");
        parse_fails("FROM a\nLABEL =x\n", "line 2");
        parse_fails("FROM a\nARG\n", "ARG requires");
}

static void test_forms(void **state)
{
        (void) state;
        struct dockerfile *df = parse_ok("FROM a\n"
                                         "SHELL [\"/bin/bash\", \"-c\"]\n"
                                         "VOLUME [\"/data\", \"/x\"]\n"
                                         "VOLUME /a /b\n"
                                         "EXPOSE 80/tcp 53/udp\n"
                                         "CMD [ \"bad\", ]\n"
                                         "RUN [\"/bin/echo\", \"\\u00e9\\ud83d\\ude00\"]\n"
                                         "HEALTHCHECK --interval=5s CMD [\"true\"]\n"
                                         "HEALTHCHECK NONE\n"
                                         "ONBUILD RUN echo hi\n"
                                         "RUN --mount=type=bind,source=/,target=/x --network=none cat /x\n"
                                         "MAINTAINER me <me@x>\n"
                                         "STOPSIGNAL SIGTERM\n"
                                         "USER 1:2\n"
                                         "WORKDIR /w\n");
        struct df_instruction *in = df->stages[0].instrs;
        assert_true(in[0].json);
        assert_strv(in[0].args, (const char *[]){ "/bin/bash", "-c", NULL });
        assert_true(in[1].json);
        assert_false(in[2].json);
        assert_string_equal(in[3].rest, "80/tcp 53/udp");
        /* not valid JSON: the shell form, as Docker does */
        assert_false(in[4].json);
        assert_string_equal(in[4].rest, "[ \"bad\", ]");
        assert_strv(in[5].args, (const char *[]){ "/bin/echo", "\xc3\xa9\xf0\x9f\x98\x80", NULL });
        assert_int_equal(in[6].kind, DF_HEALTHCHECK);
        assert_string_equal(dockerfile_flag(&in[6], "interval"), "5s");
        assert_non_null(in[6].sub);
        assert_true(in[6].sub->json);
        assert_null(in[7].sub);
        assert_int_equal(in[8].kind, DF_ONBUILD);
        assert_int_equal(in[8].sub->kind, DF_RUN);
        assert_string_equal(dockerfile_flag(&in[9], "mount"), "type=bind,source=/,target=/x");
        assert_string_equal(dockerfile_flag(&in[9], "network"), "none");
        assert_string_equal(in[9].rest, "cat /x");
        struct hutch_error *err = NULL;
        assert_true(dockerfile_check_flags(&in[9], (const char *[]){ "network", NULL }, &err) < 0);
        assert_non_null(strstr(err->msg, "line 11: RUN: unknown flag '--mount'"));
        hutch_error_clear(&err);
        assert_int_equal(dockerfile_check_flags(&in[9], (const char *[]){ "network", "mount", NULL }, &err), 0);
        assert_int_equal(in[10].kind, DF_MAINTAINER);
        assert_string_equal(in[10].rest, "me <me@x>");
        dockerfile_free(df);
}

static void test_errors(void **state)
{
        (void) state;
        parse_fails("", "no FROM");
        parse_fails("# only a comment\n", "no FROM");
        parse_fails("RUN x\n", "line 1: RUN before the first FROM");
        parse_fails("FROM a\nFOO bar\n", "line 2: unknown instruction: FOO");
        parse_fails("FROM a\n\nRUN\n", "line 3: RUN requires at least one argument");
        parse_fails("FROM a\nRUN []\n", "line 2: RUN requires");
        parse_fails("FROM a\nSHELL /bin/sh -c\n", "line 2: SHELL requires the arguments to be in JSON form");
        parse_fails("FROM a\nSHELL []\n", "SHELL requires at least one");
        parse_fails("FROM a\nCOPY onlyone\n", "line 2: COPY requires at least two arguments");
        parse_fails("FROM a\nADD [\"x\"]\n", "ADD requires at least two");
        parse_fails("FROM\n", "FROM requires either one or three");
        parse_fails("FROM a b\n", "FROM requires either one or three");
        parse_fails("FROM a AS 9x\n", "invalid stage name");
        parse_fails("FROM a AS x\nFROM b AS X\n", "line 2: duplicate stage name 'x'");
        parse_fails("FROM a\nRUN <<EOF\necho\nEOF\n", "line 2: heredocs");
        parse_fails("FROM a\nCOPY <<EOF /x\nEOF\n", "line 2: heredocs");
        parse_fails("FROM a\nONBUILD ONBUILD RUN x\n", "isn't allowed as an ONBUILD trigger");
        parse_fails("FROM a\nONBUILD FROM x\n", "isn't allowed");
        parse_fails("FROM a\nHEALTHCHECK echo\n", "HEALTHCHECK requires NONE or CMD");
        parse_fails("FROM a\nWORKDIR\n", "line 2: WORKDIR requires an argument");
        parse_fails("FROM a\nRUN -- x\n", "flag name is missing");
        struct dockerfile *nul = NULL;
        struct hutch_error *err = NULL;
        assert_true(dockerfile_parse("FROM a\nRUN a\0b\n", 13, &nul, &err) < 0);
        assert_non_null(strstr(err->msg, "NUL"));
        hutch_error_clear(&err);

        /* not a heredoc: a shift */
        struct dockerfile *df = parse_ok("FROM a\nRUN echo $((1<<2))\n");
        dockerfile_free(df);
}

static void test_limits(void **state)
{
        (void) state;
        /* a line over the limit */
        size_t n = DOCKERFILE_MAX_LINE + 64;
        char *big = xmalloc(n + 32);
        strcpy(big, "FROM a\nRUN ");
        memset(big + 11, 'x', n);
        big[11 + n] = '\0';
        parse_fails(big, "line 2: instruction is longer than");
        free(big);

        /* too many instructions */
        size_t count = DOCKERFILE_MAX_INSTRUCTIONS + 2;
        big = xmalloc(count * 8 + 16);
        char *p = big;
        p += sprintf(p, "FROM a\n");
        for (size_t i = 0; i < count; i++)
                p += sprintf(p, "USER x\n");
        parse_fails(big, "more than");
        free(big);
}

static char *expand(const char *word, char *const *env)
{
        char *out = NULL;
        struct hutch_error *err = NULL;
        if (dockerfile_expand_word(word, env, '\\', &out, &err) < 0)
                fail_msg("'%s': %s", word, err->msg);
        return out;
}

static void expect(const char *word, char *const *env, const char *want)
{
        _cleanup_free_ char *got = expand(word, env);
        if (!STREQ(got, want))
                fail_msg("'%s' gave '%s', expected '%s'", word, got, want);
}

static void test_expand_word(void **state)
{
        (void) state;
        char *env[] = { "A=aaa", "EMPTY=", "SP=x y", "A2=second", "A=last", NULL };
        expect("$A", env, "last");
        expect("${A}", env, "last");
        expect("pre${A}post", env, "prelastpost");
        expect("$A2", env, "second");
        expect("$UNSET", env, "");
        expect("${UNSET:-def}", env, "def");
        expect("${EMPTY:-def}", env, "def");
        expect("${EMPTY-def}", env, "");
        expect("${UNSET-def}", env, "def");
        expect("${A:-def}", env, "last");
        expect("${A:+alt}", env, "alt");
        expect("${EMPTY:+alt}", env, "");
        expect("${EMPTY+alt}", env, "alt");
        expect("${UNSET:+alt}", env, "");
        expect("${UNSET:-${A}}", env, "last");
        expect("${UNSET:-'q }'}", env, "q }");
        expect("\\$A", env, "$A");
        expect("'$A'", env, "$A");
        expect("\"$A\"", env, "last");
        expect("\"a\\\"b\\$c\\\\d\\e\"", env, "a\"b$c\\d\\e");
        expect("a\\ b", env, "a b");
        expect("$", env, "$");
        expect("a$", env, "a$");
        expect("$-x", env, "$-x");
        expect("trailing\\", env, "trailing");
        expect("$SP", env, "x y");
        expect("${A}${A}", env, "lastlast");

        struct hutch_error *err = NULL;
        char *out = NULL;
        assert_true(dockerfile_expand_word("${A", env, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "missing '}'"));
        hutch_error_clear(&err);
        assert_true(dockerfile_expand_word("${A/x/y}", env, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "unsupported modifier"));
        hutch_error_clear(&err);
        assert_true(dockerfile_expand_word("${}", env, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "bad substitution"));
        hutch_error_clear(&err);
        assert_true(dockerfile_expand_word("'open", env, '\\', &out, &err) < 0);
        hutch_error_clear(&err);
        assert_true(dockerfile_expand_word("\"open", env, '\\', &out, &err) < 0);
        hutch_error_clear(&err);
        assert_true(dockerfile_expand_word("${UNSET:?must be set}", env, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "UNSET: must be set"));
        hutch_error_clear(&err);
        assert_null(out);

        /* backtick escape */
        char *res = NULL;
        assert_int_equal(dockerfile_expand_word("c:\\x`$A", env, '`', &res, &err), 0);
        assert_string_equal(res, "c:\\x$A");
        free(res);
}

static void test_expand_words(void **state)
{
        (void) state;
        char *env[] = { "SP=x y", "F=file", NULL };
        char **w = NULL;
        struct hutch_error *err = NULL;

        assert_int_equal(
                dockerfile_expand_words("  a \"b c\" 'd e' $SP \"$SP\" f\\ g ${F}.txt \"\"  ", env, '\\', &w, &err), 0);
        assert_strv(w, (const char *[]){ "a", "b c", "d e", "x", "y", "x y", "f g", "file.txt", "", NULL });
        hutch_strv_free(w);

        assert_int_equal(dockerfile_expand_words("   ", env, '\\', &w, &err), 0);
        assert_null(w[0]);
        hutch_strv_free(w);
}

static void test_expand_bounds(void **state)
{
        (void) state;
        /* deep nesting is refused, not recursed into without end */
        size_t depth = 5000;
        char *s = xmalloc(depth * 10 + 16);
        char *p = s;
        for (size_t i = 0; i < depth; i++)
                p += sprintf(p, "${X:-");
        for (size_t i = 0; i < depth; i++)
                *p++ = '}';
        *p = '\0';
        char *out = NULL;
        struct hutch_error *err = NULL;
        assert_true(dockerfile_expand_word(s, NULL, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "nested"));
        hutch_error_clear(&err);
        free(s);

        /* many references are refused (each one scans the environment) */
        size_t nrefs = DOCKERFILE_MAX_REFERENCES + 1;
        s = xmalloc(nrefs * 2 + 1);
        for (size_t i = 0; i < nrefs; i++)
                memcpy(s + 2 * i, "$X", 2);
        s[nrefs * 2] = '\0';
        assert_true(dockerfile_expand_word(s, NULL, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "variable references"));
        hutch_error_clear(&err);
        free(s);

        /* a long value repeated is capped */
        size_t vn = 300000;
        char *v = xmalloc(vn + 8);
        memcpy(v, "V=", 2);
        memset(v + 2, 'v', vn);
        v[vn + 2] = '\0';
        char *env[] = { v, NULL };
        assert_true(dockerfile_expand_word("$V$V$V$V$V", env, '\\', &out, &err) < 0);
        assert_non_null(strstr(err->msg, "longer than"));
        hutch_error_clear(&err);
        free(v);
}

static struct dockerignore *ignore_ok(const char *text)
{
        struct dockerignore *di = NULL;
        struct hutch_error *err = NULL;
        if (dockerignore_parse(text, strlen(text), &di, &err) < 0)
                fail_msg("%s", err->msg);
        return di;
}

static void test_duration(void **state)
{
        static const struct {
                const char *in;
                int64_t ns;
        } good[] = {
                { "0", 0 },
                { "30s", 30000000000LL },
                { "1m30s", 90000000000LL },
                { "500ms", 500000000 },
                { "1.5s", 1500000000 },
                { ".5m", 30000000000LL },
                { "1h", 3600000000000LL },
                { "2us", 2000 },
                { "2\xc2\xb5s", 2000 },
                { "3ns", 3 },
                { "+1s", 1000000000 },
                { "-1s", -1000000000 },
                { "1h2m3s4ms5us6ns", 3723004005006LL },
                { "2562047h", 2562047LL * 3600000000000LL },
        };
        static const char *const bad[] = { "", "s", "30", "1x", "1.s.", "1 s", "30S", "--1s", "1m30", ".s", "0s0" };
        int64_t ns;
        (void) state;

        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                if (dockerfile_parse_duration(good[i].in, &ns) < 0)
                        fail_msg("'%s' refused", good[i].in);
                assert_int_equal(ns, good[i].ns);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                if (dockerfile_parse_duration(bad[i], &ns) == 0)
                        fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(dockerfile_parse_duration("2562048h", &ns), -ERANGE);
        assert_int_equal(dockerfile_parse_duration("99999999999999999999s", &ns), -ERANGE);
}

static void test_dockerignore_patterns(void **state)
{
        (void) state;
        assert_true(dockerignore_pattern_match("*.txt", "a.txt"));
        assert_false(dockerignore_pattern_match("*.txt", "d/a.txt"));
        assert_true(dockerignore_pattern_match("*/*.txt", "d/a.txt"));
        assert_true(dockerignore_pattern_match("**/*.txt", "a.txt"));
        assert_true(dockerignore_pattern_match("**/*.txt", "x/y/z/a.txt"));
        assert_true(dockerignore_pattern_match("**", "x/y"));
        assert_true(dockerignore_pattern_match("a/**", "a/b/c"));
        assert_true(dockerignore_pattern_match("a/**/c", "a/c"));
        assert_true(dockerignore_pattern_match("a/**/c", "a/b/b/c"));
        assert_false(dockerignore_pattern_match("a/**/c", "a/b/cd"));
        assert_true(dockerignore_pattern_match("?.md", "x.md"));
        assert_false(dockerignore_pattern_match("?.md", "/.md"));
        assert_true(dockerignore_pattern_match("[a-c]x", "bx"));
        assert_false(dockerignore_pattern_match("[^a-c]x", "bx"));
        assert_true(dockerignore_pattern_match("[^a-c]x", "dx"));
        assert_true(dockerignore_pattern_match("\\*", "*"));
        assert_false(dockerignore_pattern_match("\\*", "a"));
        assert_false(dockerignore_pattern_match("[ab", "a"));

        bool above;
        char *c = dockerignore_clean_path("./a//b/../c/", &above);
        assert_string_equal(c, "a/c");
        assert_false(above);
        free(c);
        c = dockerignore_clean_path("/../x", &above);
        assert_string_equal(c, "x");
        assert_true(above);
        free(c);
        c = dockerignore_clean_path("/", &above);
        assert_string_equal(c, ".");
        free(c);
}

static void test_dockerignore_rules(void **state)
{
        (void) state;
        struct dockerignore *di = ignore_ok("# comment\n"
                                            "  *.log  \n"
                                            "/secret\n"
                                            "build/\n"
                                            "docs/**\n"
                                            "!docs/keep.md\n"
                                            "**/tmp\n");
        assert_true(dockerignore_has_exceptions(di));
        assert_true(dockerignore_excluded(di, "x.log"));
        assert_false(dockerignore_excluded(di, "d/x.log"));
        assert_true(dockerignore_excluded(di, "secret"));
        assert_true(dockerignore_excluded(di, "secret/inner/file"));
        assert_true(dockerignore_excluded(di, "build"));
        assert_true(dockerignore_excluded(di, "build/a.o"));
        assert_true(dockerignore_excluded(di, "docs/a.md"));
        assert_false(dockerignore_excluded(di, "docs/keep.md"));
        assert_true(dockerignore_excluded(di, "a/b/tmp/x"));
        assert_true(dockerignore_excluded(di, "tmp"));
        assert_false(dockerignore_excluded(di, "src/main.c"));
        assert_false(dockerignore_excluded(di, "# comment"));
        dockerignore_free(di);

        /* the last match wins */
        di = ignore_ok("!a\na\n");
        assert_true(dockerignore_excluded(di, "a"));
        dockerignore_free(di);
        di = ignore_ok("*\n!src\n");
        assert_false(dockerignore_excluded(di, "src/x.c"));
        assert_true(dockerignore_excluded(di, "Dockerfile"));
        dockerignore_free(di);

        struct dockerignore *bad = NULL;
        struct hutch_error *err = NULL;
        assert_true(dockerignore_parse("ok\n[x\n", 6, &bad, &err) < 0);
        assert_non_null(strstr(err->msg, "line 2: syntax error"));
        hutch_error_clear(&err);
        assert_true(dockerignore_parse("!\n", 2, &bad, &err) < 0);
        hutch_error_clear(&err);
}

/* ONBUILD: the trigger is parsed as its own instruction; ONBUILD, FROM and
 * MAINTAINER are refused (any case), and triggers read back from an image
 * config follow the same rules, on one line. */
static void test_onbuild(void **state)
{
        (void) state;
        struct dockerfile *df = parse_ok("FROM a\nonbuild  copy --chown=1:2 x /y\nONBUILD RUN [\"echo\", \"hi\"]\n");
        struct df_instruction *in = df->stages[0].instrs;
        assert_int_equal(in[0].kind, DF_ONBUILD);
        assert_non_null(in[0].sub);
        assert_int_equal(in[0].sub->kind, DF_COPY);
        assert_int_equal(in[0].sub->line, 2);
        assert_string_equal(in[0].sub->original, "copy --chown=1:2 x /y");
        assert_string_equal(dockerfile_flag(in[0].sub, "chown"), "1:2");
        assert_true(in[1].sub->json);
        assert_string_equal(in[1].sub->args[1], "hi");

        parse_fails("FROM a\nONBUILD maintainer me\n", "line 2: maintainer isn't allowed as an ONBUILD trigger");
        parse_fails("FROM a\nONBUILD onbuild RUN x\n", "line 2: onbuild isn't allowed");
        parse_fails("FROM a\nONBUILD From x\n", "line 2: From isn't allowed");
        parse_fails("FROM a\nONBUILD\n", "line 2: ONBUILD requires an instruction");
        parse_fails("FROM a\nONBUILD RUN\n", "line 2: RUN requires at least one argument");
        parse_fails("FROM a\nONBUILD COPY x\n", "line 2: COPY requires at least two");
        parse_fails("FROM a\nONBUILD NOPE\n", "line 2: unknown instruction: NOPE");
        dockerfile_free(df);
}

static void trigger_fails(const char *text, const char *msg)
{
        struct df_instruction *in = NULL;
        struct hutch_error *err = NULL;
        assert_true(dockerfile_parse_trigger(text, 3, '\\', &in, &err) < 0);
        assert_null(in);
        assert_non_null(err);
        if (!strstr(err->msg, msg))
                fail_msg("'%s' lacks '%s'", err->msg, msg);
        hutch_error_free(err);
}

static void test_onbuild_trigger(void **state)
{
        (void) state;
        struct df_instruction *in = NULL;
        struct hutch_error *err = NULL;
        assert_int_equal(dockerfile_parse_trigger("RUN echo \"$X\" >> /log", 7, '\\', &in, &err), 0);
        assert_int_equal(in->kind, DF_RUN);
        assert_int_equal(in->line, 7);
        assert_string_equal(in->rest, "echo \"$X\" >> /log");
        in = dockerfile_instruction_free(in);
        assert_int_equal(dockerfile_parse_trigger("env A=1 B=\"2 3\"", 1, '\\', &in, &err), 0);
        assert_int_equal(in->kind, DF_ENV);
        assert_string_equal(in->args[3], "\"2 3\"");
        in = dockerfile_instruction_free(in);

        trigger_fails("ONBUILD RUN x", "line 3: ONBUILD isn't allowed as an ONBUILD trigger");
        trigger_fails("FROM x", "line 3: FROM isn't allowed");
        trigger_fails("MAINTAINER x", "MAINTAINER isn't allowed");
        /* the keyword ends at any blank parse_instruction() splits on (fuzz-dockerfile found \f) */
        trigger_fails("FROM\fx", "line 3: FROM isn't allowed");
        trigger_fails("onbuild\vRUN x", "onbuild isn't allowed");
        trigger_fails("", "line 3: ONBUILD requires an instruction");
        trigger_fails("RUN a\nRUN b", "line 3: the ONBUILD trigger is not a single instruction");
        trigger_fails("BOGUS", "line 3: unknown instruction: BOGUS");
        _cleanup_free_ char *big = xmalloc(DOCKERFILE_MAX_LINE + 16);
        memset(big, 'x', DOCKERFILE_MAX_LINE + 15);
        memcpy(big, "RUN ", 4);
        big[DOCKERFILE_MAX_LINE + 15] = '\0';
        trigger_fails(big, "longer than");
}

static void url_name_is(const char *url, const char *want)
{
        _cleanup_free_ char *got = dockerfile_url_file_name(url);
        if (want == NULL)
                assert_null(got);
        else
                assert_string_equal(got, want);
}

/* ADD URL: which sources are URLs, and the name the file gets in a directory. */
static void test_url_names(void **state)
{
        (void) state;
        assert_true(dockerfile_is_url("https://h/x"));
        assert_true(dockerfile_is_url("http://h/x"));
        assert_false(dockerfile_is_url("ftp://h/x"));
        assert_false(dockerfile_is_url("http:/x"));
        assert_false(dockerfile_is_url("HTTPS://h/x")); /* Docker matches the scheme as written */
        url_name_is("https://example.com/a/b/file.tar.gz", "file.tar.gz");
        url_name_is("https://example.com/a/b/file.txt?x=1&y=/z#frag", "file.txt");
        url_name_is("http://127.0.0.1:8080/dir/", "dir");
        url_name_is("https://example.com", NULL);
        url_name_is("https://example.com/", NULL);
        url_name_is("https://example.com/?q=/name", NULL);
        url_name_is("https://example.com/a/..", NULL);
        url_name_is("https://example.com/a/.", NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basic),
                cmocka_unit_test(test_continuations),
                cmocka_unit_test(test_escape_directive),
                cmocka_unit_test(test_env_label_arg),
                cmocka_unit_test(test_forms),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_expand_word),
                cmocka_unit_test(test_expand_words),
                cmocka_unit_test(test_expand_bounds),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_onbuild),
                cmocka_unit_test(test_onbuild_trigger),
                cmocka_unit_test(test_url_names),
                cmocka_unit_test(test_dockerignore_patterns),
                cmocka_unit_test(test_dockerignore_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
