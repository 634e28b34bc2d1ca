/* Unit tests for lib/sealed-exe.c: the sealed copy really is sealed, holds
 * the same bytes and can be executed; who counts as able to change a file. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/sealed-exe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#ifndef F_GET_SEALS
#define F_GET_SEALS   1034
#define F_SEAL_SEAL   0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW   0x0004
#define F_SEAL_WRITE  0x0008
#endif

static int make_temp(char *path, const char *content)
{
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        return fd;
}

static void test_copy_is_sealed(void **state)
{
        (void) state;
        char path[] = "/tmp/test-sealed-XXXXXX", buf[64] = { 0 }, p[64];
        _cleanup_close_ int src = make_temp(path, "hutch bytes\n");
        _cleanup_close_ int ro = hutch_sealed_copy(src, "test");

        (void) unlink(path);
        assert_true(ro >= 0);
        assert_int_equal(pread(ro, buf, sizeof(buf) - 1, 0), 12);
        assert_string_equal(buf, "hutch bytes\n");
        int seals = fcntl(ro, F_GET_SEALS);
        assert_int_equal(seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE),
                         F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
        assert_int_equal(fcntl(ro, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        assert_int_equal(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
        /* what a container would try through /proc/PID/exe */
        snprintf(p, sizeof(p), "/proc/self/fd/%d", ro);
        _cleanup_close_ int w = open(p, O_WRONLY | O_CLOEXEC);
        if (w >= 0) {
                assert_int_equal(write(w, "x", 1), -1);
                assert_int_equal(errno, EPERM);
                assert_int_equal(ftruncate(w, 0), -1);
                assert_int_equal(errno, EPERM);
        }
}

static void test_copy_runs(void **state)
{
        (void) state;
        _cleanup_close_ int src = open("/bin/true", O_RDONLY | O_CLOEXEC);
        if (src < 0)
                skip();
        int ro = hutch_sealed_copy(src, "true");
        assert_true(ro >= 0);
        pid_t pid = fork();
        if (pid == 0) {
                char *argv[] = { (char *) "true", NULL }, *envp[] = { NULL };
                fexecve(ro, argv, envp);
                _exit(errno == EACCES ? 77 : 99);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(ro);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
                skip(); /* vm.memfd_noexec=2 */
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_copy_refuses_directories(void **state)
{
        (void) state;
        _cleanup_close_ int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(hutch_sealed_copy(dir, "dir"), -EINVAL);
}

static void test_user_writable(void **state)
{
        (void) state;
        char path[] = "/tmp/test-sealed-XXXXXX";
        _cleanup_close_ int fd = make_temp(path, "x");

        assert_true(hutch_file_user_writable(fd));
        /* its owner may chmod it back: still ours to change */
        assert_int_equal(fchmod(fd, 0555), 0);
        assert_true(hutch_file_user_writable(fd));
        (void) unlink(path);
        if (getuid() == 0)
                return; /* root may change any file */
        _cleanup_close_ int sys = open("/bin/sh", O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (sys < 0 || fstat(sys, &st) < 0 || st.st_uid == getuid())
                skip();
        assert_false(hutch_file_user_writable(sys));
}

static void test_copy_fd(void **state)
{
        (void) state;
        char a[] = "/tmp/test-sealed-XXXXXX", b[] = "/tmp/test-sealed-XXXXXX", buf[16] = { 0 };
        _cleanup_close_ int src = make_temp(a, "0123456789");
        _cleanup_close_ int dst = mkstemp(b);

        (void) unlink(a);
        (void) unlink(b);
        assert_true(dst >= 0);
        assert_int_equal(hutch_copy_fd(dst, src, 10), 0);
        assert_int_equal(pread(dst, buf, sizeof(buf) - 1, 0), 10);
        assert_string_equal(buf, "0123456789");
        /* the source is shorter than asked: an error, not a short copy */
        assert_int_equal(hutch_copy_fd(dst, src, 20), -EIO);
}

static void test_exe_path_unsealed(void **state)
{
        (void) state;
        char a[PATH_MAX] = { 0 }, b[PATH_MAX] = { 0 };

        assert_false(hutch_exe_sealed());
        ssize_t n = hutch_exe_path(a, sizeof(a) - 1);
        assert_true(n > 0);
        assert_int_equal(readlink("/proc/self/exe", b, sizeof(b) - 1), n);
        assert_string_equal(a, b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_copy_is_sealed),
                cmocka_unit_test(test_copy_runs),
                cmocka_unit_test(test_copy_refuses_directories),
                cmocka_unit_test(test_user_writable),
                cmocka_unit_test(test_copy_fd),
                cmocka_unit_test(test_exe_path_unsealed),
        };
        return cmocka_run_group_tests_name("sealed-exe", tests, NULL, NULL);
}
