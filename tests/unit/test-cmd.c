/* Unit tests for command-line formats: env files, -e, -v, paths, getopt. */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/attach-proto.h"
#include "cmd/cgroup.h"
#include "cmd/ctrlog.h"
#include "cmd/parse-opts.h"
#include "cmd/keepid.h"
#include "cmd/template.h"
#include "lib/json.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

        assert_int_equal(cmd_parse_volume("data:/var/lib/data", &v, &err), 0);
        assert_int_equal(v.kind, CMD_VOLUME_NAMED);
        assert_string_equal(v.source, "data");
        cmd_volume_clear(&v);

        static const char *const bad[] = {
                "",           "/src",   "/src:", ":/dst",     "../x:/dst", "/src:dst", "/s:/d:xx", "/s:/d:ro,rw",
                "/s:/d:ro:x", "/s::/d", "/s:/",  "/s:/../..", "/s:/d:",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (cmd_parse_volume(bad[i], &v, &err) == 0)
                        fail_msg("volume spec '%s' was accepted", bad[i]);
                assert_non_null(err);
                hutch_error_clear(&err);
        }
}

static void test_mount_and_tmpfs(void **state)
{
        struct hutch_error *err = NULL;
        struct cmd_volume v;
        (void) state;

        assert_int_equal(cmd_parse_mount("type=bind,source=/s,target=/t,readonly", &v, &err), 0);
        assert_int_equal(v.kind, CMD_VOLUME_BIND);
        assert_true(v.readonly);
        assert_string_equal(v.destination, "/t");
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_mount("type=volume,src=cache,dst=/c", &v, &err), 0);
        assert_int_equal(v.kind, CMD_VOLUME_NAMED);
        assert_string_equal(v.source, "cache");
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_mount("type=tmpfs,target=/scratch,tmpfs-size=1m", &v, &err), 0);
        assert_string_equal(v.options, "mode=1777,size=1m");
        cmd_volume_clear(&v);
        static const char *const bad[] = {
                "",
                "type=bind",
                "target=/x",
                "type=nfs,target=/x",
                "type=bind,source=rel,target=/x",
                "type=volume,source=/abs,target=/x",
                "type=tmpfs,source=/a,target=/x",
                "type=bind,source=/a,target=/",
                "type=bind,source=/a,source=/b,target=/x",
                "type=bind,source=/a,target=/x,bogus=1",
                "type=bind,source=/a,target=/x,readonly=maybe",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (cmd_parse_mount(bad[i], &v, &err) == 0)
                        fail_msg("--mount '%s' was accepted", bad[i]);
                hutch_error_clear(&err);
        }
        assert_int_equal(cmd_parse_tmpfs("/run:size=64m,mode=755", &v, &err), 0);
        assert_string_equal(v.options, "size=64m,mode=755");
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_tmpfs("/tmp", &v, &err), 0);
        assert_string_equal(v.options, "mode=1777");
        cmd_volume_clear(&v);
        assert_true(cmd_parse_tmpfs("/x:exec,suid", &v, &err) < 0);
        hutch_error_clear(&err);
        assert_true(cmd_parse_tmpfs("rel", &v, &err) < 0);
        hutch_error_clear(&err);
}

static void test_device(void **state)
{
        struct hutch_error *err = NULL;
        struct cmd_volume v;
        (void) state;
        assert_int_equal(cmd_parse_device("/dev/fuse", &v, &err), 0);
        assert_string_equal(v.source, "/dev/fuse");
        assert_string_equal(v.destination, "/dev/fuse");
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_device("/dev/null:/dev/n2:rw", &v, &err), 0);
        assert_string_equal(v.destination, "/dev/n2");
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_device("/dev/null:r", &v, &err), 0);
        assert_string_equal(v.destination, "/dev/null");
        cmd_volume_clear(&v);
        static const char *const bad[] = { "",           "dev/null",         "/dev/null:x",      "/dev/null:rel:rw",
                                           "/a:/b:rw:x", "/dev/null:/../..", "/dev/null:/dev/x:" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (cmd_parse_device(bad[i], &v, &err) == 0)
                        fail_msg("--device '%s' was accepted", bad[i]);
                hutch_error_clear(&err);
        }
}

static void test_cpus(void **state)
{
        uint64_t q;
        (void) state;
        assert_int_equal(cmd_parse_cpus("1.5", &q), 0);
        assert_true(q == 150000);
        assert_int_equal(cmd_parse_cpus("2", &q), 0);
        assert_true(q == 200000);
        assert_int_equal(cmd_parse_cpus("0.25", &q), 0);
        assert_true(q == 25000);
        static const char *const bad[] = { "", ".5", "1.", "1.2345", "-1", "abc", "0.001", "99999" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_true(cmd_parse_cpus(bad[i], &q) < 0);
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

static void test_template_header(void **state)
{
        static const char *const renames[] = { "ID", "CONTAINER ID", NULL };
        char *h;
        (void) state;
        h = cmd_template_header("{{.ID}}\\t{{.Names}} {{ json .State.RunningFor }}|{{.x_y}}", renames);
        assert_string_equal(h, "CONTAINER ID\tNAMES RUNNING FOR|X_Y");
        free(h);
        h = cmd_template_header("plain {{", NULL);
        assert_string_equal(h, "plain {{");
        free(h);
        h = cmd_template_header("", NULL);
        assert_string_equal(h, "");
        free(h);
}

static void test_template(void **state)
{
        struct hutch_error *err = NULL;
        const char *doc_text = "{\"State\":{\"Status\":\"running\",\"Pid\":42,\"Running\":true},"
                               "\"Names\":[\"a\"],\"Ports\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]},\"N\":null}";
        yajl_val doc = hutch_json_parse(doc_text, strlen(doc_text), &err);
        char *out;
        (void) state;

        assert_non_null(doc);
        out = cmd_template_render("{{.State.Status}}/{{ .State.Pid }}/{{.State.Running}}\\n", doc, &err);
        assert_string_equal(out, "running/42/true\n");
        free(out);
        out = cmd_template_render("{{json .Names}} {{index .Ports \"80/tcp\"}} {{.Missing.X}} {{.N}}", doc, &err);
        assert_string_equal(out, "[\"a\"] [{\"HostPort\":\"8080\"}] <no value> <nil>");
        free(out);
        out = cmd_template_render("plain {{.}}", doc, &err);
        assert_non_null(strstr(out, "\"Status\":\"running\""));
        free(out);
        static const char *const bad[] = { "{{.State", "{{range .Names}}", "{{index .Ports}}", "{{State}}" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_null(cmd_template_render(bad[i], doc, &err));
                assert_non_null(err);
                hutch_error_clear(&err);
        }
        yajl_tree_free(doc);
}

static void test_log_lines(void **state)
{
        int64_t ns, now = (int64_t) 1795300000 * 1000000000;
        int stream;
        bool partial;
        const char *msg;
        size_t len;
        (void) state;

        const char *l = "2026-11-22T06:44:08.469548364Z stderr P half a line";
        assert_true(cmd_log_parse_line(l, strlen(l), &ns, &stream, &partial, &msg, &len));
        assert_int_equal(stream, 2);
        assert_true(partial);
        assert_int_equal(len, strlen("half a line"));
        assert_true(ns % 1000000000 == 469548364);
        static const char *const bad[] = { "", "nonsense", "2026-11-22T06:44:08Z stdin F x",
                                           "2026-11-22T06:44:08Z stdout X x", "notatime stdout F x" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(cmd_log_parse_line(bad[i], strlen(bad[i]), &ns, &stream, &partial, &msg, &len));
        assert_int_equal(cmd_log_parse_time("10m", now, &ns), 0);
        assert_true(ns == now - (int64_t) 600 * 1000000000);
        assert_int_equal(cmd_log_parse_time("1795300000", now, &ns), 0);
        assert_true(ns == now);
        assert_int_equal(cmd_log_parse_time("2026-11-22T06:44:08Z", now, &ns), 0);
        assert_true(cmd_log_parse_time("yesterday", now, &ns) < 0);
}

static void test_log_writer_roundtrip(void **state)
{
        struct hutch_error *err = NULL;
        struct cmd_log_writer *w = NULL;
        char dir[] = "/tmp/hutch-test-log-XXXXXX";
        uint64_t off = 0;
        (void) state;

        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *path = xasprintf("%s/ctr.log", dir);
        /* a tiny limit: the log rotates while we write */
        assert_int_equal(cmd_log_writer_open(path, 200, &w, &err), 0);
        for (int i = 0; i < 20; i++) {
                char line[32];
                int n = snprintf(line, sizeof(line), "line %d\n", i);
                cmd_log_writer_add(w, i % 2 ? 2 : 1, line, (size_t) n);
        }
        cmd_log_writer_add(w, 1, "no newline", 10);
        w = cmd_log_writer_free(w);

        struct cmd_log_read_options o = { .tail = 3 };
        char *out_buf = NULL, *err_buf = NULL;
        size_t out_len = 0, err_len = 0;
        FILE *out = open_memstream(&out_buf, &out_len), *errf = open_memstream(&err_buf, &err_len);
        assert_int_equal(cmd_log_print(path, &o, out, errf, &off, &err), 0);
        fclose(out);
        fclose(errf);
        assert_string_equal(out_buf, "line 18\nno newline");
        assert_string_equal(err_buf, "line 19\n");
        free(out_buf);
        free(err_buf);
        _cleanup_free_ char *old = xasprintf("%s.1", path);
        assert_int_equal(access(old, F_OK), 0);
        (void) unlink(old);
        (void) unlink(path);
        (void) rmdir(dir);
}

/* The host ID of a container ID (-1: unmapped), and how many IDs from 0 the
 * map covers without a gap (runtime/ has its own; not linked here). */
static long host_of(const struct runtime_idmap *m, uint32_t id)
{
        for (size_t i = 0; i < m->n; i++)
                if (id >= m->e[i].container_id && id - m->e[i].container_id < m->e[i].size)
                        return (long) (m->e[i].host_id + (id - m->e[i].container_id));
        return -1;
}

static uint32_t span_of(const struct runtime_idmap *m)
{
        uint32_t next = 0;
        while (host_of(m, next) >= 0)
                next++;
        return next;
}

static void test_keepid(void **state)
{
        struct hutch_error *err = NULL;
        struct cmd_keepid k;
        struct runtime_idmap m;
        (void) state;

        assert_int_equal(cmd_userns_mode_parse("keep-id", &k, &err), 0);
        assert_true(k.on);
        assert_false(k.uid_set);
        assert_int_equal(cmd_userns_mode_parse("keep-id:uid=1000,gid=50", &k, &err), 0);
        assert_true(k.uid_set && k.gid_set);
        assert_int_equal(k.uid, 1000);
        assert_int_equal(k.gid, 50);
        assert_int_equal(cmd_userns_mode_parse("host", &k, &err), 0);
        assert_false(k.on);
        static const char *const bad[] = {
                "keep-idx", "keep-id:", "keep-id:uid=",         "keep-id:uid=-1",        "keep-id:size=1",
                "auto",     "nomap",    "keep-id:uid=1,,gid=2", "keep-id:uid=4294967295"
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (cmd_userns_mode_parse(bad[i], &k, &err) == 0)
                        fail_msg("--userns '%s' was accepted", bad[i]);
                hutch_error_clear(&err);
        }

        /* two ranges; the user (host 1000) is 5 inside: 0..4 from the first
         * range, 5 the user, then the rest of the first and the second */
        const struct runtime_subid_range r[] = { { 100000, 8 }, { 200000, 4 } };
        assert_int_equal(cmd_subid_total(r, 2), 12);
        assert_int_equal(cmd_keepid_build_map("uid", 1000, 5, r, 2, &m, &err), 0);
        assert_int_equal(m.n, 4);
        assert_int_equal(host_of(&m, 0), 100000);
        assert_int_equal(host_of(&m, 4), 100004);
        assert_int_equal(host_of(&m, 5), 1000);
        assert_int_equal(host_of(&m, 6), 100005);
        assert_int_equal(host_of(&m, 9), 200000);
        assert_int_equal(host_of(&m, 12), 200003);
        assert_int_equal(host_of(&m, 13), -1);
        assert_int_equal(span_of(&m), 13);
        /* the user first, or past the first range */
        assert_int_equal(cmd_keepid_build_map("uid", 1000, 0, r, 2, &m, &err), 0);
        assert_int_equal(m.e[0].container_id, 0);
        assert_int_equal(m.e[0].host_id, 1000);
        assert_int_equal(span_of(&m), 13);
        assert_int_equal(cmd_keepid_build_map("uid", 1000, 12, r, 2, &m, &err), 0);
        assert_int_equal(span_of(&m), 13);
        assert_true(cmd_keepid_build_map("uid", 1000, 13, r, 2, &m, &err) < 0);
        assert_non_null(strstr(err->msg, "beyond the 12 subordinate uids"));
        hutch_error_clear(&err);

        _cleanup_free_ char *f = cmd_keepid_fuse_mapping(1000, 65536);
        assert_string_equal(f, "1000:0:1:0:1:1000:1001:1001:64536");
        _cleanup_free_ char *f0 = cmd_keepid_fuse_mapping(0, 10);
        assert_string_equal(f0, "0:0:1:1:1:10");
        _cleanup_free_ char *fend = cmd_keepid_fuse_mapping(10, 10);
        assert_string_equal(fend, "10:0:1:0:1:10");

        const char *pw = "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\nbad\nx:y\n";
        assert_true(cmd_keepid_has_id(pw, 0));
        assert_true(cmd_keepid_has_id(pw, 1000));
        assert_false(cmd_keepid_has_id(pw, 100));
        assert_false(cmd_keepid_has_id(pw, 10000));
        assert_false(cmd_keepid_has_id("", 0));
        assert_true(cmd_keepid_has_id("g:x:5", 5));

        struct cmd_volume v;
        assert_int_equal(cmd_parse_volume("/s:/d:ro,U", &v, &err), 0);
        assert_true(v.chown && v.readonly);
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_mount("type=bind,src=/s,dst=/d,U", &v, &err), 0);
        assert_true(v.chown);
        cmd_volume_clear(&v);
        assert_int_equal(cmd_parse_mount("type=volume,src=n,dst=/d,chown=false", &v, &err), 0);
        assert_false(v.chown);
        cmd_volume_clear(&v);
        assert_true(cmd_parse_mount("type=tmpfs,dst=/d,U", &v, &err) < 0);
        hutch_error_clear(&err);
        assert_true(cmd_parse_mount("type=bind,src=/s,dst=/d,U=maybe", &v, &err) < 0);
        hutch_error_clear(&err);
        assert_true(cmd_parse_volume("/s:/d:u", &v, &err) < 0);
        hutch_error_clear(&err);
}

static void check_keys(const char *spec, const char *want, size_t n_want)
{
        struct hutch_error *err = NULL;
        uint8_t keys[CMD_DETACH_KEYS_MAX];
        size_t n = 99;

        assert_int_equal(cmd_detach_keys_parse(spec, keys, &n, &err), 0);
        assert_null(err);
        assert_int_equal(n, n_want);
        assert_memory_equal(keys, want, n);
}

static void test_detach_keys_parse(void **state)
{
        struct hutch_error *err = NULL;
        uint8_t keys[CMD_DETACH_KEYS_MAX];
        size_t n = 7;

        check_keys("ctrl-p,ctrl-q", "\x10\x11", 2);
        check_keys(CMD_DETACH_KEYS_DEFAULT, "\x10\x11", 2);
        check_keys("ctrl-x,y", "\x18y", 2);
        check_keys("CTRL-A", "\x01", 1);
        check_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", "\x00\x1b\x1c\x1d\x1e\x1f", 6);
        check_keys("a,b,c", "abc", 3);
        /* "" turns detaching off */
        assert_int_equal(cmd_detach_keys_parse("", keys, &n, &err), 0);
        assert_int_equal(n, 0);

        const char *bad[] = { "ctrl-", "ctrl-1", "ctrl-pp", "ab",     ",",      "a,",
                              ",a",    "a,,b",   "ctrl-p,", "ctrl+p", "ctrl-~", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                n = 7;
                assert_true(cmd_detach_keys_parse(bad[i], keys, &n, &err) < 0);
                assert_non_null(err);
                assert_non_null(strstr(err->msg, "invalid detach keys"));
                assert_int_equal(n, 7); /* untouched on failure */
                hutch_error_clear(&err);
        }
}

/* Feeds in one byte at a time (as a slow typist) or all at once. */
static size_t feed(struct cmd_detach_state *st, const char *in, bool bytewise, char *out, bool *detach)
{
        size_t o = 0, n = strlen(in);
        *detach = false;
        if (!bytewise)
                return cmd_detach_feed(st, (const uint8_t *) in, n, (uint8_t *) out, detach);
        for (size_t i = 0; i < n && !*detach; i++)
                o += cmd_detach_feed(st, (const uint8_t *) in + i, 1, (uint8_t *) out + o, detach);
        return o;
}

static void test_detach_feed(void **state)
{
        char out[256];
        bool detach;

        for (int bytewise = 0; bytewise < 2; bytewise++) {
                struct cmd_detach_state st = { .keys = { 0x10, 0x11 }, .n_keys = 2 };
                size_t o = feed(&st, "ls\r", bytewise, out, &detach);
                assert_int_equal(o, 3);
                assert_memory_equal(out, "ls\r", 3);
                assert_false(detach);
                /* ctrl-p alone is held back, then given out when no ctrl-q follows */
                o = feed(&st, "\x10", bytewise, out, &detach);
                assert_int_equal(o, 0);
                o = feed(&st, "x", bytewise, out, &detach);
                assert_int_equal(o, 2);
                assert_memory_equal(out, "\x10x", 2);
                /* the sequence detaches; what follows it is not sent */
                o = feed(&st,
                         "ab\x10\x11"
                         "cd",
                         bytewise, out, &detach);
                assert_true(detach);
                assert_int_equal(o, 2);
                assert_memory_equal(out, "ab", 2);
                /* ctrl-p ctrl-p ctrl-q: the first goes out, the rest detaches */
                st.matched = 0;
                o = feed(&st, "\x10\x10\x11", bytewise, out, &detach);
                assert_true(detach);
                assert_int_equal(o, 1);
                assert_memory_equal(out, "\x10", 1);

                /* a repeated prefix: a,a,b typed as aaab detaches after one a */
                struct cmd_detach_state rep = { .keys = { 'a', 'a', 'b' }, .n_keys = 3 };
                o = feed(&rep, "aaab", bytewise, out, &detach);
                assert_true(detach);
                assert_int_equal(o, 1);
                assert_memory_equal(out, "a", 1);

                /* no keys: everything passes */
                struct cmd_detach_state none = { .n_keys = 0 };
                o = feed(&none, "\x10\x11", bytewise, out, &detach);
                assert_false(detach);
                assert_int_equal(o, 2);
        }
}

static void test_attach_frames(void **state)
{
        uint8_t buf[CMD_ATTACH_HEADER_LEN + 8];
        struct cmd_attach_frame f;

        cmd_attach_frame_header(buf, CMD_ATTACH_STDIN, 3);
        memcpy(buf + CMD_ATTACH_HEADER_LEN, "abc", 3);
        for (size_t len = 0; len < CMD_ATTACH_HEADER_LEN + 3; len++)
                assert_int_equal(cmd_attach_frame_parse(buf, len, &f), 0); /* incomplete */
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN + 3, &f), CMD_ATTACH_HEADER_LEN + 3);
        assert_int_equal(f.type, CMD_ATTACH_STDIN);
        assert_int_equal(f.len, 3);
        assert_memory_equal(f.payload, "abc", 3);

        /* fixed sizes are enforced as soon as the header is there */
        cmd_attach_frame_header(buf, CMD_ATTACH_RESIZE, 3);
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN, &f), -EBADMSG);
        cmd_attach_frame_header(buf, CMD_ATTACH_EXIT, 4);
        memcpy(buf + CMD_ATTACH_HEADER_LEN, "\0\0\0\x03", 4);
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN + 4, &f), CMD_ATTACH_HEADER_LEN + 4);
        cmd_attach_frame_header(buf, CMD_ATTACH_STDOUT, CMD_ATTACH_MAX_PAYLOAD + 1);
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN, &f), -EBADMSG);
        buf[0] = 0;
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN, &f), -EBADMSG);
        buf[0] = 0xff;
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN, &f), -EBADMSG);
        /* a length near 4 GiB never wraps */
        memcpy(buf, "\x02\xff\xff\xff\xff", 5);
        assert_int_equal(cmd_attach_frame_parse(buf, CMD_ATTACH_HEADER_LEN, &f), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_file),
                cmocka_unit_test(test_env_arg),
                cmocka_unit_test(test_volume),
                cmocka_unit_test(test_keepid),
                cmocka_unit_test(test_clean_path),
                cmocka_unit_test(test_getopt),
                cmocka_unit_test(test_template),
                cmocka_unit_test(test_template_header),
                cmocka_unit_test(test_mount_and_tmpfs),
                cmocka_unit_test(test_cpus),
                cmocka_unit_test(test_device),
                cmocka_unit_test(test_log_lines),
                cmocka_unit_test(test_log_writer_roundtrip),
                cmocka_unit_test(test_detach_keys_parse),
                cmocka_unit_test(test_detach_feed),
                cmocka_unit_test(test_attach_frames),
        };
        return cmocka_run_group_tests_name("cmd", tests, NULL, NULL);
}
