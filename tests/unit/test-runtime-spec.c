/* Unit tests for runtime/spec.c: an OCI bundle's config.json. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/spec.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* A small valid config; %s is spliced into "linux" and %s at the top. */
#define BASE_FMT                                                                                          \
        "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"                                       \
        "\"process\":{\"args\":[\"sh\",\"-c\",\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0}%s}," \
        "\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"mount\"},{\"type\":\"pid\"}]%s}%s}"

static char *doc(const char *process_extra, const char *linux_extra, const char *top_extra)
{
        return xasprintf(BASE_FMT, process_extra, linux_extra, top_extra);
}

static int parse(const char *text, struct runtime_spec *s, struct hutch_error **err)
{
        return runtime_spec_parse(text, strlen(text), s, err);
}

/* Parses and expects failure with msg containing want. */
static void expect_error(const char *text, const char *want)
{
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;

        assert_true(parse(text, &s, &err) < 0);
        assert_non_null(err);
        if (strstr(err->msg, want) == NULL)
                fail_msg("error '%s' lacks '%s'", err->msg, want);
        assert_null(s.args); /* untouched on failure */
        hutch_error_free(err);
}

static void test_minimal(void **state)
{
        _cleanup_free_ char *t = doc("", "", "");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        assert_int_equal(parse(t, &s, &err), 0);
        assert_string_equal(s.oci_version, "1.0.2");
        assert_string_equal(s.root_path, "rootfs");
        assert_false(s.root_readonly);
        assert_true(s.has_process);
        assert_string_equal(s.args[0], "sh");
        assert_string_equal(s.args[2], "true");
        assert_string_equal(s.cwd, "/");
        assert_int_equal(s.namespaces, CLONE_NEWPID);
        assert_false(s.has_caps);
        assert_false(s.terminal);
        assert_null(s.seccomp_json);
        assert_null(s.ignored);
        runtime_spec_clear(&s);
}

static void test_full_process(void **state)
{
        _cleanup_free_ char *t =
                doc(",\"terminal\":true,\"env\":[\"A=1\",\"PATH=/bin\"],\"noNewPrivileges\":true,"
                    "\"consoleSize\":{\"height\":24,\"width\":80},\"oomScoreAdj\":100,"
                    "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"effective\":[\"CAP_KILL\","
                    "\"CAP_CHOWN\"],\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\"],\"inheritable\":[],\"ambient\":[]},"
                    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":4096},"
                    "{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615}]",
                    ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1},{\"containerID\":1,\"hostID\":"
                    "100000,\"size\":65536}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
                    "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],\"cgroupsPath\":\"/x\","
                    "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}",
                    ",\"hostname\":\"box\",\"annotations\":{\"org.example\":\"v\"},\"hooks\":{}");
        /* the uts namespace the hostname needs */
        char *p = strstr(t, "{\"type\":\"pid\"}");
        assert_non_null(p);
        memcpy(p, "{\"type\":\"uts\"}", 14);
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        if (parse(t, &s, &err) < 0)
                fail_msg("%s", err->msg);
        assert_true(s.terminal);
        assert_true(s.no_new_privileges);
        assert_string_equal(s.env[1], "PATH=/bin");
        assert_true(s.has_console_size);
        assert_int_equal(s.console_height, 24);
        assert_int_equal(s.console_width, 80);
        assert_true(s.has_oom_score_adj);
        assert_int_equal(s.oom_score_adj, 100);
        assert_true(s.has_caps);
        assert_int_equal(s.caps, (1ULL << 5) | (1ULL << 0)); /* KILL, CHOWN */
        assert_int_equal(s.n_rlimits, 2);
        assert_int_equal(s.rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(s.rlimits[0].soft, 1024);
        assert_int_equal(s.rlimits[0].hard, 4096);
        assert_true(s.rlimits[1].hard == UINT64_MAX);
        assert_true(s.has_uidmap);
        assert_int_equal(s.uidmap.n, 2);
        assert_int_equal(s.uidmap.e[1].host_id, 100000);
        assert_int_equal(s.uidmap.e[1].size, 65536);
        assert_int_equal(s.gidmap.n, 1);
        assert_string_equal(s.masked_paths[0], "/proc/kcore");
        assert_string_equal(s.readonly_paths[0], "/proc/sys");
        assert_string_equal(s.hostname, "box");
        assert_int_equal(s.namespaces, CLONE_NEWUTS);
        assert_string_equal(s.annotations[0], "org.example");
        assert_string_equal(s.annotations[1], "v");
        runtime_spec_clear(&s);
}

static void test_user(void **state)
{
        _cleanup_free_ char *t = xasprintf(BASE_FMT, "", "", "");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        /* replace the user */
        char *u = strstr(t, "\"user\":{\"uid\":0,\"gid\":0}");
        assert_non_null(u);
        _cleanup_free_ char *t2 = xasprintf("%.*s\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,\"additionalGids\":[5,"
                                            "6]}%s",
                                            (int) (u - t), t, u + strlen("\"user\":{\"uid\":0,\"gid\":0}"));
        assert_int_equal(parse(t2, &s, &err), 0);
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.gid, 100);
        assert_true(s.has_umask);
        assert_int_equal(s.umask, 022);
        assert_int_equal(s.n_additional_gids, 2);
        assert_int_equal(s.additional_gids[1], 6);
        runtime_spec_clear(&s);

        _cleanup_free_ char *t3 =
                xasprintf("%.*s\"user\":{\"gid\":0}%s", (int) (u - t), t, u + strlen("\"user\":{\"uid\":0,\"gid\":0}"));
        expect_error(t3, "'process.user.uid' is required");
        _cleanup_free_ char *t4 = xasprintf("%.*s\"user\":{\"uid\":-1,\"gid\":0}%s", (int) (u - t), t,
                                            u + strlen("\"user\":{\"uid\":0,\"gid\":0}"));
        expect_error(t4, "'process.user.uid' must be an integer");
        _cleanup_free_ char *t5 = xasprintf("%.*s\"user\":{\"uid\":0,\"gid\":0,\"username\":\"x\"}%s", (int) (u - t), t,
                                            u + strlen("\"user\":{\"uid\":0,\"gid\":0}"));
        expect_error(t5, "'process.user.username' is not supported");
}

static void test_bad_documents(void **state)
{
        (void) state;
        expect_error("", "invalid JSON");
        expect_error("{\"ociVersion\":", "invalid JSON");
        expect_error("[]", "must be a JSON object");
        expect_error("{\"root\":{\"path\":\"r\"}}", "'config.ociVersion' is required");
        expect_error("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "ociVersion '2.0.0' is not supported");
        expect_error("{\"ociVersion\":\"1.0.0\",\"linux\":{}}", "'root' is required");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"\"}}", "'root.path' is empty");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":5}}", "'root.path' must be a string");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"}}", "'linux' is required");
        expect_error("{\"ociVersion\":1}", "must be a string");
}

static void test_bounds(void **state)
{
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        /* oversized: refused before parsing */
        size_t big = RUNTIME_SPEC_MAX + 1;
        char *t = xmalloc(big + 1);
        memset(t, ' ', big);
        t[0] = '{';
        t[big - 1] = '}';
        t[big] = '\0';
        assert_true(runtime_spec_parse(t, big, &s, &err) < 0);
        assert_int_equal(err->errnum, EFBIG);
        hutch_error_clear(&err);
        free(t);

        /* nested deeper than the JSON depth cap */
        char deep[4096] = "{\"ociVersion\":\"1.0.0\",\"annotations\":";
        size_t n = strlen(deep);
        for (int i = 0; i < 200; i++)
                deep[n++] = '[';
        for (int i = 0; i < 200; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        expect_error(deep, "nested deeper");
}

static void test_process_checks(void **state)
{
        (void) state;
        _cleanup_free_ char *a = xstrdup(
                "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[],\"cwd\":\"/\",\"user\":{"
                "\"uid\":0,\"gid\":0}},\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"mount\"}]}}");
        expect_error(a, "'process.args' must name the program");
        _cleanup_free_ char *b = xstrdup(
                "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],\"cwd\":\"tmp\","
                "\"user\":{\"uid\":0,\"gid\":0}},\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"mount\"}]}"
                "}");
        expect_error(b, "'process.cwd' must be an absolute path");
        _cleanup_free_ char *c = doc(",\"env\":[\"NOEQUALS\"]", "", "");
        expect_error(c, "'process.env[0]' must be KEY=VALUE");
        _cleanup_free_ char *d = doc(",\"apparmorProfile\":\"docker-default\"", "", "");
        expect_error(d, "'process.apparmorProfile' is not supported");
        _cleanup_free_ char *e = doc(",\"selinuxLabel\":\"x\"", "", "");
        expect_error(e, "'process.selinuxLabel' is not supported");
        _cleanup_free_ char *f = doc(",\"oomScoreAdj\":5000", "", "");
        expect_error(f, "'process.oomScoreAdj'");
        _cleanup_free_ char *g = doc(",\"terminal\":\"yes\"", "", "");
        expect_error(g, "'process.terminal' must be true or false");
        /* an empty string is no value: accepted */
        _cleanup_free_ char *h = doc(",\"apparmorProfile\":\"\"", "", "");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        assert_int_equal(parse(h, &s, &err), 0);
        runtime_spec_clear(&s);
}

static void test_capabilities(void **state)
{
        (void) state;
        _cleanup_free_ char *a =
                doc(",\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"inheritable\":[\"CAP_KILL\"]}", "", "");
        expect_error(a, "'process.capabilities.inheritable' is not supported");
        _cleanup_free_ char *b =
                doc(",\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\"]}", "", "");
        expect_error(b, "'process.capabilities.ambient'");
        _cleanup_free_ char *c = doc(",\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"effective\":["
                                     "\"CAP_KILL\"]}",
                                     "", "");
        expect_error(c, "'process.capabilities.effective' differs from 'bounding'");
        _cleanup_free_ char *d = doc(",\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}", "", "");
        expect_error(d, "unknown capability 'CAP_NOPE'");
        _cleanup_free_ char *e = doc(",\"capabilities\":{\"bounding\":\"CAP_KILL\"}", "", "");
        expect_error(e, "must be an array of strings");
}

static void test_rlimits(void **state)
{
        (void) state;
        _cleanup_free_ char *a = doc(",\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]", "", "");
        expect_error(a, "unknown type 'RLIMIT_BOGUS'");
        _cleanup_free_ char *b = doc(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":1}]", "", "");
        expect_error(b, "soft limit above the hard one");
        _cleanup_free_ char *c = doc(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]", "", "");
        expect_error(c, "'soft' and 'hard' are required");
        _cleanup_free_ char *d = doc(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
                                     "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]",
                                     "", "");
        expect_error(d, "given twice");
        _cleanup_free_ char *e = doc(",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":1}]", "", "");
        expect_error(e, "must be an integer");
}

static void test_namespaces(void **state)
{
        (void) state;
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":"
                     "\"mount\"}]}}",
                     "must include a user namespace");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":"
                     "\"user\"}]}}",
                     "must include a mount namespace");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":"
                     "\"user\"},{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}]}}",
                     "joining the network namespace at '/proc/1/ns/net' is not supported");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":"
                     "\"user\"},{\"type\":\"mount\"},{\"type\":\"time\"}]}}",
                     "type 'time' is not supported");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":"
                     "\"user\"},{\"type\":\"mount\"},{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
                     "'pid' given twice");
        expect_error("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"hostname\":\"h\",\"linux\":{"
                     "\"namespaces\":[{\"type\":\"user\"},{\"type\":\"mount\"}]}}",
                     "'hostname' needs a new uts namespace");
}

static void test_idmaps(void **state)
{
        (void) state;
        _cleanup_free_ char *a = doc("", ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]", "");
        expect_error(a, "go together");
        _cleanup_free_ char *b = doc("",
                                     ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":0}],"
                                     "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]",
                                     "");
        expect_error(b, "a size above 0");
        _cleanup_free_ char *c = doc("",
                                     ",\"uidMappings\":[{\"containerID\":4294967295,\"hostID\":1,\"size\":2}],"
                                     "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]",
                                     "");
        expect_error(c, "'linux.uidMappings[]");
        _cleanup_free_ char *d = doc("", ",\"uidMappings\":[],\"gidMappings\":[]", "");
        expect_error(d, "must be an array of 1 to");
}

static void test_mounts(void **state)
{
        _cleanup_free_ char *t =
                doc("", "",
                    ",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
                    "\"strictatime\",\"mode=755\",\"size=65536k\"]},"
                    "{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\",\"options\":[\"rbind\",\"nosuid\","
                    "\"noexec\",\"nodev\",\"ro\"]},"
                    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\",\"options\":[\"ro\",\"nosuid\","
                    "\"nodev\",\"noexec\",\"rprivate\"]},"
                    "{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"size=1m\","
                    "\"mode=1777\",\"noexec\"]},"
                    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\"},"
                    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"size=2m\"]}]");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        if (parse(t, &s, &err) < 0)
                fail_msg("%s", err->msg);
        assert_int_equal(s.n_mounts, 3); /* /proc, /dev, /dev/mqueue and /sys are hutch's own */
        assert_int_equal(s.mounts[0].kind, RUNTIME_MOUNT_BIND);
        assert_string_equal(s.mounts[0].source, "data");
        assert_string_equal(s.mounts[0].destination, "/data");
        assert_true(s.mounts[0].readonly);
        assert_int_equal(s.mounts[0].flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
        assert_int_equal(s.mounts[1].kind, RUNTIME_MOUNT_TMPFS);
        assert_string_equal(s.mounts[1].options, "size=1m,mode=1777");
        assert_int_equal(s.mounts[1].flags, MS_NOEXEC);
        /* a tmpfs at /dev/shm is mounted over hutch's own, with its options */
        assert_string_equal(s.mounts[2].destination, "/dev/shm");
        assert_string_equal(s.mounts[2].options, "size=2m");
        runtime_spec_clear(&s);

        _cleanup_free_ char *a = doc("", "", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"proc\"}]");
        expect_error(a, "mount type 'proc' at '/x' is not supported");
        _cleanup_free_ char *b = doc("", "", ",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"tmpfs\"}]");
        expect_error(b, "hutch mounts /proc itself");
        _cleanup_free_ char *c = doc("", "",
                                     ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/a\","
                                     "\"options\":[\"rshared\"]}]");
        expect_error(c, "'rshared' is not supported");
        _cleanup_free_ char *d = doc("", "",
                                     ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/a\","
                                     "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}]");
        expect_error(d, "no idmapped mounts");
        _cleanup_free_ char *e = doc("", "", ",\"mounts\":[{\"destination\":\"x\",\"type\":\"tmpfs\"}]");
        expect_error(e, "must be an absolute path");
        _cleanup_free_ char *f = doc("", "", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]");
        expect_error(f, "'mounts[0].source' is required");
        _cleanup_free_ char *g = doc("", "",
                                     ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":["
                                     "\"size=1m,uid=0\"]}]");
        expect_error(g, "is not supported");
        _cleanup_free_ char *h = doc("", "", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"nfs\"}]");
        expect_error(h, "mount type 'nfs'");
        /* hutch's own mounts: asking for more than they have is refused */
        _cleanup_free_ char *i = doc("", "",
                                     ",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"options\":[\"ro\"]}"
                                     "]");
        expect_error(i, "hutch mounts /proc itself, without 'ro'");
        _cleanup_free_ char *j = doc("", "",
                                     ",\"mounts\":[{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"options\":["
                                     "\"nosuid\",\"noexec\"]}]");
        expect_error(j, "hutch mounts /dev itself, without 'noexec'");
        _cleanup_free_ char *k = doc("", "",
                                     ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":["
                                     "\"ptmxmode=0666\"]}]");
        expect_error(k, "'ptmxmode=0666' is not a tmpfs option");
}

static void test_refused_fields(void **state)
{
        (void) state;
        _cleanup_free_ char *a = doc("", "", ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}");
        expect_error(a, "'hooks.prestart' is not supported by hutch: hutch runs no hooks");
        _cleanup_free_ char *b = doc("", ",\"resources\":{\"memory\":{\"limit\":1000}}", "");
        expect_error(b, "'linux.resources.memory' is not supported");
        _cleanup_free_ char *c = doc("", ",\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}", "");
        expect_error(c, "'linux.sysctl' is not supported");
        _cleanup_free_ char *d = doc("", ",\"rootfsPropagation\":\"shared\"", "");
        expect_error(d, "'linux.rootfsPropagation' 'shared' is not supported");
        _cleanup_free_ char *e = doc("", "", ",\"windows\":{\"layerFolders\":[\"x\"]}");
        expect_error(e, "'config.windows' is not supported");
        _cleanup_free_ char *f = doc("", ",\"mountLabel\":\"system_u:object_r:x\"", "");
        expect_error(f, "'linux.mountLabel' is not supported");
        _cleanup_free_ char *g = doc("", "", ",\"domainname\":\"example.org\"");
        expect_error(g, "'config.domainname' is not supported");
}

static void test_unknown_fields_listed(void **state)
{
        _cleanup_free_ char *t = doc(",\"futureThing\":1", ",\"newKnob\":true", ",\"extension\":{}");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        assert_int_equal(parse(t, &s, &err), 0);
        assert_true(hutch_strv_contains(s.ignored, "process.futureThing"));
        assert_true(hutch_strv_contains(s.ignored, "linux.newKnob"));
        assert_true(hutch_strv_contains(s.ignored, "extension"));
        runtime_spec_clear(&s);
}

static void test_devices(void **state)
{
        _cleanup_free_ char *t = doc("",
                                     ",\"devices\":[{\"type\":\"c\",\"path\":\"/dev/null\",\"major\":1,\"minor\":3},"
                                     "{\"type\":\"c\",\"path\":\"/dev/fuse\",\"major\":10,\"minor\":229,"
                                     "\"fileMode\":438}]",
                                     "");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        if (parse(t, &s, &err) < 0)
                fail_msg("%s", err->msg);
        assert_int_equal(s.n_devices, 1); /* /dev/null is hutch's own */
        assert_string_equal(s.devices[0].path, "/dev/fuse");
        assert_int_equal(s.devices[0].type, 'c');
        assert_true(s.devices[0].has_numbers);
        assert_int_equal(s.devices[0].major, 10);
        assert_int_equal(s.devices[0].minor, 229);
        runtime_spec_clear(&s);

        _cleanup_free_ char *a = doc("", ",\"devices\":[{\"type\":\"c\",\"path\":\"/dev/../etc/x\"}]", "");
        expect_error(a, "only nodes directly in /dev");
        _cleanup_free_ char *b = doc("", ",\"devices\":[{\"type\":\"c\",\"path\":\"/dev/x\",\"major\":1}]", "");
        expect_error(b, "needs both major and minor");
        _cleanup_free_ char *c = doc("", ",\"devices\":[{\"type\":\"z\",\"path\":\"/dev/x\"}]", "");
        expect_error(c, "type 'z'");
}

static void test_seccomp(void **state)
{
        _cleanup_free_ char *t = doc("",
                                     ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":["
                                     "\"SCMP_ARCH_X86_64\"],\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
                                     "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}",
                                     "");
        struct runtime_spec s = { 0 };
        struct hutch_error *err = NULL;
        (void) state;

        if (parse(t, &s, &err) < 0)
                fail_msg("%s", err->msg);
        assert_non_null(s.seccomp_json);
        assert_non_null(strstr(s.seccomp_json, "\"mkdirat\""));
        assert_int_equal(s.seccomp_len, strlen(s.seccomp_json));
        runtime_spec_clear(&s);

        _cleanup_free_ char *a =
                doc("", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/s\"}", "");
        expect_error(a, "'linux.seccomp.listenerPath' is not supported");
        _cleanup_free_ char *b = doc("", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_BOGUS\"}", "");
        expect_error(b, "'linux.seccomp'");
        _cleanup_free_ char *c = doc(
                "", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"]}", "");
        expect_error(c, "'linux.seccomp.flags' is not supported");
}

static void test_ids(void **state)
{
        struct hutch_error *err = NULL;
        (void) state;

        assert_int_equal(runtime_spec_check_id("abc-1.2_x+y", &err), 0);
        assert_true(runtime_spec_check_id("", &err) < 0);
        hutch_error_clear(&err);
        assert_true(runtime_spec_check_id(".", &err) < 0);
        hutch_error_clear(&err);
        assert_true(runtime_spec_check_id("..", &err) < 0);
        hutch_error_clear(&err);
        assert_true(runtime_spec_check_id("a/b", &err) < 0);
        assert_non_null(strstr(err->msg, "only letters"));
        hutch_error_clear(&err);
        assert_true(runtime_spec_check_id("../x", &err) < 0);
        hutch_error_clear(&err);
        char longid[300];
        memset(longid, 'a', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        assert_true(runtime_spec_check_id(longid, &err) < 0);
        hutch_error_clear(&err);
        longid[255] = '\0';
        assert_int_equal(runtime_spec_check_id(longid, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal),
                cmocka_unit_test(test_full_process),
                cmocka_unit_test(test_user),
                cmocka_unit_test(test_bad_documents),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_process_checks),
                cmocka_unit_test(test_capabilities),
                cmocka_unit_test(test_rlimits),
                cmocka_unit_test(test_namespaces),
                cmocka_unit_test(test_idmaps),
                cmocka_unit_test(test_mounts),
                cmocka_unit_test(test_refused_fields),
                cmocka_unit_test(test_unknown_fields_listed),
                cmocka_unit_test(test_devices),
                cmocka_unit_test(test_seccomp),
                cmocka_unit_test(test_ids),
        };
        return cmocka_run_group_tests_name("runtime-spec", tests, NULL, NULL);
}
