/* Unit tests for lib/: parsing, strv, errors, JSON bounds, safe paths. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/loop.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_random_hex(void **state)
{
        (void) state;
        _cleanup_free_ char *a = hutch_random_hex(32), *b = hutch_random_hex(32), *c = hutch_random_hex(6);
        assert_int_equal(strlen(a), 64);
        assert_int_equal(strspn(a, "0123456789abcdef"), 64);
        assert_int_equal(strlen(c), 12);
        assert_int_equal(strspn(c, "0123456789abcdef"), 12);
        assert_string_not_equal(a, b);
}

static void test_parse_u64(void **state)
{
        uint64_t v;
        (void) state;
        assert_int_equal(hutch_parse_u64("0", 10, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(hutch_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(hutch_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
        assert_int_equal(hutch_parse_u64("11", 10, &v), -ERANGE);
        assert_int_equal(hutch_parse_u64("", 10, &v), -EINVAL);
        assert_int_equal(hutch_parse_u64("-1", 10, &v), -EINVAL);
        assert_int_equal(hutch_parse_u64(" 1", 10, &v), -EINVAL);
        assert_int_equal(hutch_parse_u64("1x", 10, &v), -EINVAL);
}

static void test_parse_int_and_size(void **state)
{
        int i;
        uint64_t v;
        (void) state;
        assert_int_equal(hutch_parse_int("-5", -10, 10, &i), 0);
        assert_int_equal(i, -5);
        assert_int_equal(hutch_parse_int("-11", -10, 10, &i), -ERANGE);
        assert_int_equal(hutch_parse_size("64k", &v), 0);
        assert_true(v == 65536);
        assert_int_equal(hutch_parse_size("10M", &v), 0);
        assert_true(v == 10ULL << 20);
        assert_int_equal(hutch_parse_size("2gib", &v), 0);
        assert_true(v == 2ULL << 30);
        assert_int_equal(hutch_parse_size("512", &v), 0);
        assert_true(v == 512);
        assert_int_equal(hutch_parse_size("1x", &v), -EINVAL);
        assert_int_equal(hutch_parse_size("k", &v), -EINVAL);
        assert_int_equal(hutch_parse_size("99999999999999999t", &v), -ERANGE);
}

static void test_parse_bool_signal(void **state)
{
        bool b;
        int s;
        (void) state;
        assert_int_equal(hutch_parse_bool("TRUE", &b), 0);
        assert_true(b);
        assert_int_equal(hutch_parse_bool("off", &b), 0);
        assert_false(b);
        assert_int_equal(hutch_parse_bool("maybe", &b), -EINVAL);
        assert_int_equal(hutch_parse_signal("TERM", &s), 0);
        assert_int_equal(s, SIGTERM);
        assert_int_equal(hutch_parse_signal("sigkill", &s), 0);
        assert_int_equal(s, SIGKILL);
        assert_int_equal(hutch_parse_signal("9", &s), 0);
        assert_int_equal(s, 9);
        assert_int_equal(hutch_parse_signal("RTMIN+2", &s), 0);
        assert_int_equal(s, SIGRTMIN + 2);
        assert_int_equal(hutch_parse_signal("0", &s), -EINVAL);
        assert_int_equal(hutch_parse_signal("NOPE", &s), -EINVAL);
        assert_string_equal(hutch_signal_name(SIGHUP), "HUP");
}

static void test_strv(void **state)
{
        _cleanup_strv_ char **v = NULL;
        _cleanup_strv_ char **s = NULL;
        _cleanup_free_ char *j = NULL;
        (void) state;
        hutch_strv_append(&v, "a");
        hutch_strv_append(&v, "b");
        assert_int_equal(hutch_strv_length(v), 2);
        assert_true(hutch_strv_contains(v, "b"));
        assert_false(hutch_strv_contains(v, "c"));
        j = hutch_strv_join(v, ",");
        assert_string_equal(j, "a,b");
        s = hutch_strv_split("::x:y::z", ":");
        assert_int_equal(hutch_strv_length(s), 3);
        assert_string_equal(s[2], "z");
}

static int fail_inner(struct hutch_error **err)
{
        return hutch_error_set(err, ENOENT, "open '%s'", "x");
}

static void test_error_chain(void **state)
{
        struct hutch_error *err = NULL;
        (void) state;
        int r = fail_inner(&err);
        assert_int_equal(r, -ENOENT);
        r = hutch_error_prefix(&err, "layer %d", 3);
        assert_int_equal(r, -ENOENT);
        assert_string_equal(err->msg, "layer 3: open 'x': No such file or directory");
        /* the first error wins */
        hutch_error_set(&err, EPERM, "later");
        assert_int_equal(err->errnum, ENOENT);
        hutch_error_clear(&err);
        assert_null(err);
        assert_int_equal(hutch_error_set_status(&err, 127, 0, "nope"), -1);
        assert_int_equal(err->exit_status, 127);
        assert_string_equal(err->msg, "nope");
        hutch_error_clear(&err);
}

static void test_json_bounds(void **state)
{
        struct hutch_error *err = NULL;
        char deep[400];
        yajl_val v;
        int64_t i;
        bool b;
        (void) state;

        v = hutch_json_parse("{\"a\":\"x\",\"n\":5,\"t\":true,\"o\":{}}", 31, &err);
        assert_non_null(v);
        assert_string_equal(hutch_json_get_string(v, "a"), "x");
        assert_null(hutch_json_get_string(v, "n"));
        assert_int_equal(hutch_json_get_int(v, "n", &i), 0);
        assert_int_equal(i, 5);
        assert_int_equal(hutch_json_get_bool(v, "t", &b), 0);
        assert_true(b);
        assert_non_null(hutch_json_get_object(v, "o"));
        assert_int_equal(hutch_json_get_int(v, "missing", &i), -ENOENT);
        yajl_tree_free(v);

        memset(deep, '[', 200);
        memset(deep + 200, ']', 200);
        v = hutch_json_parse(deep, sizeof(deep), &err);
        assert_null(v);
        assert_non_null(strstr(err->msg, "nested deeper"));
        hutch_error_clear(&err);

        /* brackets inside strings don't count */
        char s[300] = "\"";
        memset(s + 1, '[', 200);
        s[201] = '"';
        v = hutch_json_parse(s, 202, &err);
        assert_non_null(v);
        yajl_tree_free(v);

        v = hutch_json_parse("{\"a\":1", 6, &err);
        assert_null(v);
        assert_non_null(err);
        hutch_error_clear(&err);
        v = hutch_json_parse("{\"a\":\"\0\"}", 9, &err);
        assert_null(v);
        hutch_error_clear(&err);
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
        (void) state;
        strcpy(tmpdir, "/tmp/hutch-test-lib-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
        (void) state;
        return hutch_rm_rf_at(AT_FDCWD, tmpdir);
}

static void check_in_root(bool use_openat2)
{
        _cleanup_close_ int root = -1;
        _cleanup_free_ char *r = xasprintf("%s/root", tmpdir), *outside = xasprintf("%s/outside", tmpdir);
        char buf[64];
        int fd;

        hutch_fs_disable_openat2(!use_openat2);
        assert_int_equal(hutch_mkdir_p(r, 0755), 0);
        assert_int_equal(hutch_mkdir_p(outside, 0755), 0);
        root = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(root >= 0);

        /* an absolute symlink and a ../ symlink both stay inside */
        (void) symlinkat("/", root, "abs");
        (void) symlinkat("../../..", root, "up");
        assert_int_equal(mkdirat(root, "etc", 0755), 0);
        fd = hutch_open_in_root(root, "/abs/etc", O_PATH | O_DIRECTORY, 0);
        assert_true(fd >= 0);
        close(fd);
        fd = hutch_open_in_root(root, "up/outside", O_PATH, 0);
        assert_int_equal(fd, -ENOENT); /* "outside" exists only outside the root */
        fd = hutch_open_in_root(root, "../../outside", O_PATH, 0);
        assert_int_equal(fd, -ENOENT);

        /* mkdir -p through a symlink creates inside the root */
        fd = hutch_mkdir_p_in_root(root, "/up/a/b", 0755);
        assert_true(fd >= 0);
        close(fd);
        struct stat st;
        assert_int_equal(fstatat(root, "a/b", &st, 0), 0);
        _cleanup_free_ char *escaped = xasprintf("%s/a", tmpdir);
        assert_int_equal(stat(escaped, &st), -1);

        /* a link to nothing gets its target made inside the root (an
         * absolute target, a relative one that climbs out, and a loop) */
        _cleanup_free_ char *host_target = xasprintf("%s/made", outside);
        (void) symlinkat(host_target, root, "dangling");
        fd = hutch_mkdir_p_in_root(root, "/dangling/x", 0755);
        assert_true(fd >= 0);
        close(fd);
        _cleanup_free_ char *inside_target = xasprintf("%s/x", host_target + 1);
        assert_int_equal(fstatat(root, inside_target, &st, 0), 0);
        assert_int_equal(stat(host_target, &st), -1);
        (void) symlinkat("../../../../rel-made", root, "dangling-rel");
        fd = hutch_mkdir_p_in_root(root, "dangling-rel", 0755);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(fstatat(root, "rel-made", &st, 0), 0);
        (void) symlinkat("loop-b", root, "loop-a");
        (void) symlinkat("loop-a", root, "loop-b");
        assert_true(hutch_mkdir_p_in_root(root, "/loop-a/x", 0755) < 0);

        /* O_NOFOLLOW on the last component refuses the link */
        fd = hutch_open_in_root(root, "abs", O_RDONLY | O_NOFOLLOW, 0);
        assert_true(fd < 0);
        (void) buf;
        hutch_fs_disable_openat2(false);
        assert_int_equal(hutch_rm_rf_at(AT_FDCWD, r), 0);
}

static void test_open_in_root_openat2(void **state)
{
        (void) state;
        check_in_root(true);
}

static void test_open_in_root_walk(void **state)
{
        (void) state;
        check_in_root(false);
}

static void test_atomic_write_and_read(void **state)
{
        struct hutch_error *err = NULL;
        _cleanup_close_ int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        (void) state;

        assert_int_equal(hutch_write_file_atomic(dfd, "state.json", "{\"a\":1}", 7, 0600, &err), 0);
        assert_int_equal(hutch_read_file_at(dfd, "state.json", 100, &buf, &len, &err), 0);
        assert_int_equal(len, 7);
        assert_string_equal(buf, "{\"a\":1}");
        free(buf);
        buf = NULL;
        assert_true(hutch_read_file_at(dfd, "state.json", 3, &buf, &len, &err) < 0);
        assert_int_equal(err->errnum, EFBIG);
        hutch_error_clear(&err);
        /* devices are refused, so /etc/passwd -> /dev/zero can't hang us */
        assert_true(hutch_read_file_at(AT_FDCWD, "/dev/zero", 100, &buf, &len, &err) < 0);
        hutch_error_clear(&err);
}

static void test_send_recv_fd(void **state)
{
        int sp[2], fd;
        struct stat a, b;
        (void) state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(hutch_send_fd(sp[0], STDIN_FILENO), 0);
        fd = hutch_recv_fd(sp[1]);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(fstat(STDIN_FILENO, &b), 0);
        assert_true(a.st_ino == b.st_ino);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
        close(sp[0]);
        assert_true(hutch_recv_fd(sp[1]) < 0);
        close(sp[1]);
}

static void test_run_wait(void **state)
{
        struct hutch_error *err = NULL;
        char *ok[] = { "/bin/sh", "-c", "exit 0", NULL };
        char *bad[] = { "/bin/sh", "-c", "echo boom >&2; exit 3", NULL };
        (void) state;
        assert_int_equal(hutch_run_wait(ok, &err), 0);
        assert_true(hutch_run_wait(bad, &err) < 0);
        assert_non_null(strstr(err->msg, "exit status 3"));
        assert_non_null(strstr(err->msg, "boom"));
        hutch_error_clear(&err);
        assert_int_equal(hutch_wait_status_to_exit(9), 137); /* killed by SIGKILL */
        assert_int_equal(hutch_wait_status_to_exit(42 << 8), 42);
}

static int count_cb(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        char c;
        int *n = data;
        if (read(fd, &c, 1) == 1 && ++*n == 3)
                hutch_loop_quit(loop, 7);
        return 0;
}

static void test_loop(void **state)
{
        struct hutch_loop *loop = hutch_loop_new();
        int p[2], n = 0;
        (void) state;
        assert_non_null(loop);
        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        assert_int_equal(hutch_loop_add(loop, p[0], 1 /* EPOLLIN */, count_cb, &n), 0);
        assert_int_equal(write(p[1], "abc", 3), 3);
        assert_int_equal(hutch_loop_run(loop), 7);
        assert_int_equal(n, 3);
        assert_int_equal(hutch_loop_remove(loop, p[0]), 0);
        assert_int_equal(hutch_loop_remove(loop, p[0]), -ENOENT);
        hutch_loop_free(loop);
        close(p[0]);
        close(p[1]);
}

/* What the monitor gives back must never change what it holds: a private
 * file mapping written to (copied on write) and then made read-only, as the
 * dynamic loader does with relocated data, keeps its writes; clean pages of
 * a read-only mapping read back the file's content. */
static void test_release_inherited_memory(void **state)
{
        char path[] = "/tmp/hutch-test-mem-XXXXXX";
        long page = sysconf(_SC_PAGESIZE);
        size_t len = (size_t) page * 8;
        char *buf = xmalloc(len);
        int fd = mkstemp(path);
        (void) state;

        assert_true(fd >= 0);
        (void) unlink(path);
        memset(buf, 'f', len);
        assert_int_equal(write(fd, buf, len), (ssize_t) len);
        char *relro = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        char *text = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        assert_true(relro != MAP_FAILED && text != MAP_FAILED);
        for (size_t i = 0; i < len; i += (size_t) page) {
                relro[i] = 'w';                 /* copied on write */
                assert_int_equal(text[i], 'f'); /* faulted in, clean */
        }
        assert_int_equal(mprotect(relro, len, PROT_READ), 0);

        assert_true(hutch_release_inherited_memory() > 0);
        for (size_t i = 0; i < len; i += (size_t) page) {
                assert_int_equal(relro[i], 'w');
                assert_int_equal(relro[i + 1], 'f');
                assert_int_equal(text[i], 'f');
        }
        munmap(relro, len);
        munmap(text, len);
        close(fd);
        free(buf);
}

/* The monitors' start-up word: OK with data, ERR with its status, and
 * a writer gone without a word. */
static void test_report(void **state)
{
        struct hutch_error *err = NULL;
        char data[32];
        int p[2];

        (void) state;
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        hutch_report_ok(p[1], "4242");
        assert_int_equal(hutch_report_read(p[0], data, sizeof(data), 99, "none", &err), 0);
        assert_string_equal(data, "4242");
        hutch_report_ok(p[1], NULL);
        assert_int_equal(hutch_report_read(p[0], data, sizeof(data), 99, "none", &err), 0);
        assert_string_equal(data, "");
        hutch_report_error(p[1], 126, "cannot run: boom");
        assert_true(hutch_report_read(p[0], NULL, 0, 99, "none", &err) < 0);
        assert_int_equal(err->exit_status, 126);
        assert_string_equal(err->msg, "cannot run: boom");
        hutch_error_free(err);
        err = NULL;
        (void) close(p[1]);
        assert_true(hutch_report_read(p[0], data, sizeof(data), 99, "the monitor died", &err) < 0);
        assert_int_equal(err->exit_status, 99);
        assert_string_equal(err->msg, "the monitor died");
        hutch_error_free(err);
        (void) close(p[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random_hex),
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_parse_int_and_size),
                cmocka_unit_test(test_parse_bool_signal),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_error_chain),
                cmocka_unit_test(test_json_bounds),
                cmocka_unit_test_setup_teardown(test_open_in_root_openat2, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_open_in_root_walk, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_atomic_write_and_read, setup_tmp, teardown_tmp),
                cmocka_unit_test(test_send_recv_fd),
                cmocka_unit_test(test_run_wait),
                cmocka_unit_test(test_report),
                cmocka_unit_test(test_loop),
                cmocka_unit_test(test_release_inherited_memory),
        };
        return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
