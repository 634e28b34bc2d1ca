/* Unit tests for image locations (cmd/transport.c) and progress sizes. */
#include "config.h"

#include "cmd/progress.h"
#include "cmd/transport.h"
#include "lib/cleanup.h"

#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void check(const char *in, enum cmd_transport t, const char *path, const char *ref)
{
        struct cmd_image_location l;
        struct hutch_error *err = NULL;

        assert_int_equal(cmd_image_location_parse(in, &l, &err), 0);
        assert_null(err);
        assert_int_equal(l.transport, t);
        if (path)
                assert_string_equal(l.path, path);
        else
                assert_null(l.path);
        if (ref)
                assert_string_equal(l.ref, ref);
        else
                assert_null(l.ref);
        cmd_image_location_clear(&l);
}

static void refuse(const char *in, const char *msg)
{
        struct cmd_image_location l;
        struct hutch_error *err = NULL;

        assert_true(cmd_image_location_parse(in, &l, &err) < 0);
        assert_non_null(err);
        if (strstr(err->msg, msg) == NULL)
                fail_msg("'%s': '%s' lacks '%s'", in, err->msg, msg);
        assert_null(l.path);
        assert_null(l.ref);
        hutch_error_free(err);
}

static void test_locations(void **state)
{
        (void) state;
        check("busybox", CMD_TRANSPORT_REGISTRY, NULL, "busybox");
        check("busybox:latest", CMD_TRANSPORT_REGISTRY, NULL, "busybox:latest");
        check("localhost:5000/a/b:1", CMD_TRANSPORT_REGISTRY, NULL, "localhost:5000/a/b:1");
        check("127.0.0.1:5000/a", CMD_TRANSPORT_REGISTRY, NULL, "127.0.0.1:5000/a");
        check("docker://quay.io/x/y:z", CMD_TRANSPORT_REGISTRY, NULL, "quay.io/x/y:z");
        check("oci:/tmp/lay", CMD_TRANSPORT_OCI, "/tmp/lay", NULL);
        check("oci:rel/lay:v1.0", CMD_TRANSPORT_OCI, "rel/lay", "v1.0");
        check("oci:lay:example.com/app:2", CMD_TRANSPORT_OCI, "lay", "example.com/app:2");
        check("oci-archive:/tmp/o.tar:t", CMD_TRANSPORT_OCI_ARCHIVE, "/tmp/o.tar", "t");
        check("docker-archive:d.tar", CMD_TRANSPORT_DOCKER_ARCHIVE, "d.tar", NULL);
        check("docker-archive:d.tar:ex/app:2", CMD_TRANSPORT_DOCKER_ARCHIVE, "d.tar", "ex/app:2");

        refuse("docker://", "no image reference");
        refuse("oci:", "no PATH");
        refuse("oci::tag", "no PATH");
        refuse("oci-archive:", "no PATH");
        refuse("oci:lay:", "invalid tag");
        refuse("oci:lay:a b", "invalid tag");
        refuse("oci:lay:t\n", "invalid tag");
        refuse("docker-archive:d.tar:x y", "invalid NAME:TAG");
        check("dir:/tmp/x:y", CMD_TRANSPORT_DIR, "/tmp/x:y", NULL);
        refuse("dir:", "no PATH");
        refuse("ostree:/tmp/x", "ostree: transport is not supported");
        refuse("containers-storage:x", "not supported");
        refuse("foo:/x", "unknown transport 'foo:'");
        refuse("http://example.com/x", "unknown transport 'http:'");
        refuse("x:", "unknown transport");
}

static void test_sizes(void **state)
{
        char buf[32];
        (void) state;

        progress_format_size(0, buf, sizeof(buf));
        assert_string_equal(buf, "0B");
        progress_format_size(1023, buf, sizeof(buf));
        assert_string_equal(buf, "1023B");
        progress_format_size(1536, buf, sizeof(buf));
        assert_string_equal(buf, "1.5KiB");
        progress_format_size(5ull << 30, buf, sizeof(buf));
        assert_string_equal(buf, "5.0GiB");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_locations),
                cmocka_unit_test(test_sizes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
