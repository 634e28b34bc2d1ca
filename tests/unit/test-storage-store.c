/* Unit tests for the image store: references, manifests and configs, image
 * records, blobs, locks and leftover cleaning. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/digest.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* ---- references ---- */

static char *parse_fmt(const char *s)
{
        struct storage_reference r = { 0 };
        struct hutch_error *err = NULL;
        char *out;

        if (storage_reference_parse(s, &r, &err) < 0) {
                assert_non_null(err);
                assert_non_null(strstr(err->msg, "image reference"));
                hutch_error_free(err);
                return NULL;
        }
        assert_null(err);
        out = storage_reference_format(&r);
        storage_reference_clear(&r);
        return out;
}

static void expect_ref(const char *in, const char *want)
{
        _cleanup_free_ char *got = parse_fmt(in);
        if (want == NULL) {
                if (got)
                        fail_msg("'%s' was accepted as '%s'", in, got);
                return;
        }
        if (got == NULL)
                fail_msg("'%s' was refused", in);
        assert_string_equal(got, want);
}

static void test_reference_valid(void **state)
{
        (void) state;
        expect_ref("busybox", "localhost/busybox:latest");
        expect_ref("app:1.0", "localhost/app:1.0");
        expect_ref("library/busybox:latest", "localhost/library/busybox:latest");
        expect_ref("localhost/app", "localhost/app:latest");
        expect_ref("localhost:5000/a/b/c:v_1-x.y", "localhost:5000/a/b/c:v_1-x.y");
        expect_ref("quay.io/podman/stable", "quay.io/podman/stable:latest");
        expect_ref("docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36");
        expect_ref("docker.io/busybox", "docker.io/library/busybox:latest");
        expect_ref("index.docker.io/busybox:1", "docker.io/library/busybox:1");
        expect_ref("Registry.Example.COM/x", "Registry.Example.COM/x:latest");
        expect_ref("[::1]:5000/x:y", "[::1]:5000/x:y");
        expect_ref("x/a.b-c__d---e", "localhost/x/a.b-c__d---e:latest");
        expect_ref("a.b-c__d---e/f", NULL); /* the first component is a host name here */
        expect_ref("x@" D1, "localhost/x@" D1);
        expect_ref("x:t@" D1, "localhost/x:t@" D1);
        expect_ref("host:1/x", "host:1/x:latest");
}

static void test_reference_invalid(void **state)
{
        static const char *const bad[] = {
                "",
                "UPPER",
                "app:",
                ":tag",
                "/app",
                "app/",
                "a//b",
                "a/-b",
                "a_",
                "a..b",
                "a___b",
                "app:t@sha256:12",
                "app@sha512:"
                "1111111111111111111111111111111111111111111111111111111111111111",
                "app@sha256:../../x",
                "app:-tag",
                "app:t g",
                "a b",
                "app\n",
                "host:99999/x",
                "host:/x",
                "-host.com/x",
                "1111111111111111111111111111111111111111111111111111111111111111",
                "app:"
                "toolongtagtoolongtagtoolongtagtoolongtagtoolongtagtoolongtagtoolongtagtoolongtagtoolongtag"
                "toolongtagtoolongtagtoolongtagtoolongtag",
                "app@" D1 "@" D2,
                "a:b:c",
                "[zz]:5/x",
        };
        (void) state;
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                expect_ref(bad[i], NULL);
}

static void test_reference_length(void **state)
{
        char name[300];
        (void) state;
        /* "localhost/" is 10 bytes: 245 + 10 = 255 */
        memset(name, 'a', 245);
        name[245] = '\0';
        _cleanup_free_ char *want = xasprintf("localhost/%s:latest", name);
        expect_ref(name, want);
        memset(name, 'a', 246);
        name[246] = '\0';
        expect_ref(name, NULL);
}

static void test_reference_split(void **state)
{
        char *repo = NULL, *tag = NULL;
        (void) state;
        storage_reference_split("localhost:5000/a/b:v1", &repo, &tag);
        assert_string_equal(repo, "localhost:5000/a/b");
        assert_string_equal(tag, "v1");
        free(repo);
        free(tag);
        storage_reference_split("localhost:5000/a/b", &repo, &tag);
        assert_string_equal(repo, "localhost:5000/a/b");
        assert_string_equal(tag, "<none>");
        free(repo);
        free(tag);
        assert_true(storage_reference_tag_valid("_a.b-C"));
        assert_false(storage_reference_tag_valid(".a"));
}

/* ---- manifests ---- */

#define OCI_MANIFEST                                                                                                \
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","                        \
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":7}," \
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2               \
        "\",\"size\":100},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D3               \
        "\",\"size\":0}]}"

static int manifest_try(const char *doc, const char *mt)
{
        struct storage_manifest *m = NULL;
        struct hutch_error *err = NULL;
        int r = storage_manifest_parse(doc, strlen(doc), mt, &m, &err);

        if (r < 0) {
                assert_non_null(err);
                assert_null(m);
                hutch_error_free(err);
        } else {
                assert_null(err);
                storage_manifest_free(m);
        }
        return r;
}

static void test_manifest_valid(void **state)
{
        struct storage_manifest *m = NULL;
        struct hutch_error *err = NULL;
        (void) state;

        assert_int_equal(
                storage_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST), STORAGE_MEDIA_OCI_MANIFEST, &m, &err), 0);
        assert_int_equal(m->kind, STORAGE_MANIFEST_OCI);
        assert_string_equal(m->config.digest, D1);
        assert_int_equal(m->config.size, 7);
        assert_int_equal(m->n_layers, 2);
        assert_string_equal(m->layers[0].media_type, STORAGE_MEDIA_OCI_LAYER_GZIP);
        assert_string_equal(m->layers[1].digest, D3);
        assert_string_equal(storage_manifest_media_type(m), STORAGE_MEDIA_OCI_MANIFEST);
        storage_manifest_free(m);

        /* Docker schema 2 */
        const char *docker = "{\"schemaVersion\":2,\"mediaType\":\"" STORAGE_MEDIA_DOCKER_MANIFEST "\","
                             "\"config\":{\"mediaType\":\"" STORAGE_MEDIA_DOCKER_CONFIG "\",\"digest\":\"" D1
                             "\",\"size\":1},\"layers\":[{\"mediaType\":\"" STORAGE_MEDIA_DOCKER_LAYER_GZIP
                             "\",\"digest\":\"" D2 "\",\"size\":1}]}";
        assert_int_equal(manifest_try(docker, NULL), 0);
        assert_int_equal(manifest_try(docker, STORAGE_MEDIA_DOCKER_MANIFEST), 0);
        /* OCI without mediaType */
        const char *nomt = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" STORAGE_MEDIA_OCI_CONFIG
                           "\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}";
        assert_int_equal(manifest_try(nomt, NULL), 0);
        assert_int_equal(manifest_try(nomt, STORAGE_MEDIA_OCI_MANIFEST), 0);
}

static char *replace(const char *s, const char *from, const char *to)
{
        const char *p = strstr(s, from);
        assert_non_null(p);
        return xasprintf("%.*s%s%s", (int) (p - s), s, to, p + strlen(from));
}

static void test_manifest_invalid(void **state)
{
        static const char *const edits[][2] = {
                { "\"schemaVersion\":2", "\"schemaVersion\":1" },
                { "\"schemaVersion\":2,", "" },
                { "\"size\":7", "\"size\":-7" },
                { "\"size\":7", "\"size\":7.5" },
                { "\"size\":7", "\"size\":\"7\"" },
                { "\"digest\":\"" D1, "\"digest\":\"sha256:../../etc/passwd" },
                { "\"digest\":\"" D1,
                  "\"digest\":\"SHA256:1111111111111111111111111111111111111111111111111111111111111111" },
                { "application/vnd.oci.image.layer.v1.tar+gzip", "application/x-foreign" },
                { "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json" },
                { "\"layers\":[", "\"manifests\":[],\"layers\":[" },
                { "\"size\":100}", "\"size\":100,\"urls\":[\"http://evil/\"]}" },
                { "\"schemaVersion\":2,", "\"schemaVersion\":2,\"schemaVersion\":2," },
                { "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"",
                  "\"mediaType\":\"application/vnd.oci.image.index.v1+json\"" },
                { "\"config\":{", "\"config\":[{" },
        };
        (void) state;
        assert_int_equal(manifest_try(OCI_MANIFEST, NULL), 0);
        for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
                _cleanup_free_ char *doc = replace(OCI_MANIFEST, edits[i][0], edits[i][1]);
                if (manifest_try(doc, NULL) >= 0)
                        fail_msg("manifest edit %zu accepted: %s", i, doc);
        }
        /* what the referrer said must agree */
        assert_true(manifest_try(OCI_MANIFEST, STORAGE_MEDIA_DOCKER_MANIFEST) < 0);
        assert_true(manifest_try(OCI_MANIFEST, STORAGE_MEDIA_OCI_INDEX) < 0);
        assert_true(manifest_try("[]", NULL) < 0);
        assert_true(manifest_try("{", NULL) < 0);
        /* too large */
        size_t big = STORAGE_MANIFEST_MAX_BYTES + 1;
        _cleanup_free_ char *huge = xmalloc(big + 1);
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        huge[big] = '\0';
        assert_true(manifest_try(huge, NULL) < 0);
}

static void test_index(void **state)
{
        struct storage_index *idx = NULL;
        struct hutch_error *err = NULL;
        const char *doc = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" STORAGE_MEDIA_OCI_MANIFEST
                          "\",\"digest\":\"" D1 "\",\"size\":5,\"annotations\":{\"" STORAGE_ANNOTATION_REF_NAME
                          "\":\"localhost/app:1\"},\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
        (void) state;

        assert_int_equal(storage_index_parse(doc, strlen(doc), NULL, &idx, &err), 0);
        assert_int_equal(idx->n_manifests, 1);
        assert_string_equal(idx->manifests[0].ref_name, "localhost/app:1");
        assert_string_equal(idx->manifests[0].platform_arch, "amd64");
        idx = storage_index_free(idx);

        _cleanup_free_ char *amb = replace(doc, "\"manifests\"", "\"layers\":[],\"manifests\"");
        assert_true(storage_index_parse(amb, strlen(amb), NULL, &idx, &err) < 0);
        assert_non_null(strstr(err->msg, "ambiguous"));
        hutch_error_clear(&err);
        _cleanup_free_ char *cfg = replace(doc, "\"manifests\"", "\"config\":{},\"manifests\"");
        assert_true(storage_index_parse(cfg, strlen(cfg), NULL, &idx, &err) < 0);
        hutch_error_clear(&err);
        _cleanup_free_ char *ann = replace(doc, "\"localhost/app:1\"", "5");
        assert_true(storage_index_parse(ann, strlen(ann), NULL, &idx, &err) < 0);
        hutch_error_clear(&err);
        assert_true(storage_index_parse(doc, strlen(doc), STORAGE_MEDIA_OCI_MANIFEST, &idx, &err) < 0);
        hutch_error_clear(&err);
        assert_null(idx);
}

#define CONFIG                                                                                                       \
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\",\"config\":{"             \
        "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],\"Env\":[\"PATH=/bin\",\"A=b=c\"],"               \
        "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\",\"StopSignal\":\"SIGINT\",\"ExposedPorts\":{\"80/tcp\":{}}," \
        "\"Labels\":{\"k\":\"v\"},\"Volumes\":{\"/data\":{}}},"                                                      \
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}"

static void test_config(void **state)
{
        struct storage_image_config *c = NULL;
        struct hutch_error *err = NULL;
        (void) state;

        assert_int_equal(storage_config_parse(CONFIG, strlen(CONFIG), &c, &err), 0);
        assert_string_equal(c->entrypoint[0], "/bin/sh");
        assert_string_equal(c->cmd[0], "echo hi");
        assert_string_equal(c->env[1], "A=b=c");
        assert_string_equal(c->working_dir, "/srv");
        assert_string_equal(c->user, "1000:1000");
        assert_string_equal(c->stop_signal, "SIGINT");
        assert_string_equal(c->exposed_ports[0], "80/tcp");
        assert_string_equal(c->labels[0], "k=v");
        assert_string_equal(c->volumes[0], "/data");
        assert_int_equal(c->n_diff_ids, 2);

        /* generate, parse again: the same settings */
        size_t len;
        _cleanup_free_ char *gen = storage_config_generate(c, &len);
        struct storage_image_config *c2 = NULL;
        assert_int_equal(storage_config_parse(gen, len, &c2, &err), 0);
        assert_string_equal(c2->cmd[0], "echo hi");
        assert_string_equal(c2->diff_ids[1], D2);
        assert_string_equal(c2->labels[0], "k=v");
        storage_image_config_free(c2);
        storage_image_config_free(c);

        static const char *const edits[][2] = {
                { "\"PATH=/bin\"", "\"NOEQUALS\"" },
                { "\"/srv\"", "\"relative\"" },
                { "\"Cmd\":[\"echo hi\"]", "\"Cmd\":\"echo hi\"" },
                { "\"Cmd\":[\"echo hi\"]", "\"Cmd\":[1]" },
                { "\"type\":\"layers\"", "\"type\":\"other\"" },
                { "\"diff_ids\":[\"" D1, "\"diff_ids\":[\"sha256:abc" },
                { "\"Labels\":{\"k\":\"v\"}", "\"Labels\":{\"k\":1}" },
                { "\"User\":\"1000:1000\"", "\"User\":\"a\",\"User\":\"b\"" },
                { "\"ExposedPorts\":{\"80/tcp\":{}}", "\"ExposedPorts\":[\"80/tcp\"]" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
                _cleanup_free_ char *doc = replace(CONFIG, edits[i][0], edits[i][1]);
                c = NULL;
                if (storage_config_parse(doc, strlen(doc), &c, &err) >= 0)
                        fail_msg("config edit %zu accepted: %s", i, doc);
                assert_null(c);
                hutch_error_clear(&err);
        }
        /* no rootfs */
        assert_true(storage_config_parse("{}", 2, &c, &err) < 0);
        hutch_error_clear(&err);
}

/* Every member Docker writes, and some no one models: a parse and a
 * generate keep them all, while the modelled fields still win. */
#define FULL_CONFIG                                                                                                    \
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.version\":\"10.0.1\",\"os.features\":[\"win32k\"],"         \
        "\"variant\":\"v8\",\"created\":\"2024-01-01T00:00:00Z\",\"author\":\"me\",\"comment\":\"hi\","                \
        "\"docker_version\":\"24.0.0\",\"container\":\"abc\",\"container_config\":{\"Hostname\":\"abc\"},"             \
        "\"x-vendor\":{\"deep\":[1,2.5,-3e10,true,null,\"s\"]},"                                                       \
        "\"config\":{\"Hostname\":\"\",\"Domainname\":\"example.org\",\"User\":\"u\",\"AttachStdin\":false,"           \
        "\"Tty\":false,\"Env\":[\"A=1\"],\"Cmd\":[\"sh\"],\"ArgsEscaped\":true,\"Image\":\"sha256:x\","                \
        "\"Volumes\":null,\"WorkingDir\":\"/w\",\"Entrypoint\":null,\"OnBuild\":[\"RUN echo child\"],"                 \
        "\"Labels\":{\"a\":\"b\"},\"StopSignal\":\"SIGTERM\",\"StopTimeout\":42,\"MacAddress\":\"02:42:ac:11:00:02\"," \
        "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":30000000000,\"Timeout\":5000000000,"          \
        "\"StartPeriod\":1000000,\"StartInterval\":2000000,\"Retries\":3},\"Shell\":[\"/bin/bash\",\"-c\"],"           \
        "\"x-unknown\":{\"n\":123456789012345678901234567890}},"                                                       \
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]},"                                                  \
        "\"history\":[{\"created_by\":\"x\"}]}"

static yajl_val gen_tree(const struct storage_image_config *c)
{
        struct hutch_error *err = NULL;
        size_t len;
        _cleanup_free_ char *gen = storage_config_generate(c, &len);
        yajl_val t = hutch_json_parse(gen, len, &err);
        assert_non_null(t);
        return t;
}

static const char *path_number(yajl_val t, const char **path)
{
        yajl_val v = yajl_tree_get(t, path, yajl_t_number);
        return v ? v->u.number.r : NULL;
}

static void test_config_kept(void **state)
{
        struct storage_image_config *c = NULL, *c2 = NULL;
        struct hutch_error *err = NULL;
        yajl_val t;
        (void) state;

        assert_int_equal(storage_config_parse(FULL_CONFIG, strlen(FULL_CONFIG), &c, &err), 0);
        assert_non_null(c->healthcheck);
        assert_string_equal(c->healthcheck->test[0], "CMD-SHELL");
        assert_int_equal(c->healthcheck->interval, 30000000000LL);
        assert_int_equal(c->healthcheck->timeout, 5000000000LL);
        assert_int_equal(c->healthcheck->start_period, 1000000);
        assert_int_equal(c->healthcheck->start_interval, 2000000);
        assert_int_equal(c->healthcheck->retries, 3);
        assert_string_equal(c->shell[0], "/bin/bash");

        t = gen_tree(c);
        {
                const char *p1[] = { "os.version", NULL }, *p2[] = { "comment", NULL },
                           *p3[] = { "config", "OnBuild", NULL }, *p4[] = { "config", "StopTimeout", NULL },
                           *p5[] = { "config", "x-unknown", "n", NULL }, *p6[] = { "config", "Domainname", NULL },
                           *p7[] = { "config", "MacAddress", NULL },
                           *p8[] = { "config", "Healthcheck", "Interval", NULL }, *p9[] = { "config", "Shell", NULL },
                           *p10[] = { "x-vendor", "deep", NULL }, *p11[] = { "container_config", "Hostname", NULL },
                           *p12[] = { "config", "ArgsEscaped", NULL }, *p13[] = { "os.features", NULL };
                assert_string_equal(YAJL_GET_STRING(yajl_tree_get(t, p1, yajl_t_string)), "10.0.1");
                assert_string_equal(YAJL_GET_STRING(yajl_tree_get(t, p2, yajl_t_string)), "hi");
                yajl_val ob = yajl_tree_get(t, p3, yajl_t_array);
                assert_non_null(ob);
                assert_string_equal(YAJL_GET_STRING(ob->u.array.values[0]), "RUN echo child");
                assert_string_equal(path_number(t, p4), "42");
                /* a number no C type holds comes back as written */
                assert_string_equal(path_number(t, p5), "123456789012345678901234567890");
                assert_string_equal(YAJL_GET_STRING(yajl_tree_get(t, p6, yajl_t_string)), "example.org");
                assert_string_equal(YAJL_GET_STRING(yajl_tree_get(t, p7, yajl_t_string)), "02:42:ac:11:00:02");
                assert_string_equal(path_number(t, p8), "30000000000");
                assert_int_equal(yajl_tree_get(t, p9, yajl_t_array)->u.array.len, 2);
                yajl_val deep = yajl_tree_get(t, p10, yajl_t_array);
                assert_int_equal(deep->u.array.len, 6);
                assert_string_equal(deep->u.array.values[2]->u.number.r, "-3e10");
                assert_true(YAJL_IS_NULL(deep->u.array.values[4]));
                assert_string_equal(YAJL_GET_STRING(yajl_tree_get(t, p11, yajl_t_string)), "abc");
                assert_true(YAJL_IS_TRUE(yajl_tree_get(t, p12, yajl_t_any)));
                assert_non_null(yajl_tree_get(t, p13, yajl_t_array));
        }
        yajl_tree_free(t);

        /* modelled changes win over what was kept */
        hutch_strv_free(c->shell);
        c->shell = NULL;
        hutch_strv_append(&c->shell, "/bin/zsh");
        storage_config_set_healthcheck(c, &(struct storage_healthcheck){ .test = (char *[]){ "NONE", NULL } });
        free(c->user);
        c->user = NULL;
        hutch_strv_free(c->labels);
        c->labels = NULL;
        t = gen_tree(c);
        {
                const char *p1[] = { "config", "User", NULL }, *p2[] = { "config", "Labels", NULL },
                           *p3[] = { "config", "Healthcheck", NULL }, *p4[] = { "config", "Shell", NULL },
                           *p5[] = { "config", "OnBuild", NULL };
                assert_null(yajl_tree_get(t, p1, yajl_t_any));
                assert_null(yajl_tree_get(t, p2, yajl_t_any));
                yajl_val h = yajl_tree_get(t, p3, yajl_t_object);
                assert_int_equal(h->u.object.len, 1); /* {"Test":["NONE"]} */
                assert_string_equal(YAJL_GET_STRING(hutch_json_get_array(h, "Test")->u.array.values[0]), "NONE");
                yajl_val sh = yajl_tree_get(t, p4, yajl_t_array);
                assert_int_equal(sh->u.array.len, 1);
                assert_string_equal(YAJL_GET_STRING(sh->u.array.values[0]), "/bin/zsh");
                assert_non_null(yajl_tree_get(t, p5, yajl_t_array));
        }
        yajl_tree_free(t);

        /* generate → parse → generate is a fixed point */
        {
                size_t l1, l2;
                _cleanup_free_ char *g1 = storage_config_generate(c, &l1);
                assert_int_equal(storage_config_parse(g1, l1, &c2, &err), 0);
                _cleanup_free_ char *g2 = storage_config_generate(c2, &l2);
                assert_int_equal(l1, l2);
                assert_memory_equal(g1, g2, l1);
        }
        storage_image_config_free(c2);
        storage_image_config_free(c);

        /* no health check, no kept document: nothing made up */
        c = xzalloc(sizeof(*c));
        t = gen_tree(c);
        {
                const char *p1[] = { "config", NULL };
                assert_int_equal(yajl_tree_get(t, p1, yajl_t_object)->u.object.len, 0);
        }
        yajl_tree_free(t);
        storage_image_config_free(c);

        static const char *const edits[][2] = {
                { "\"Interval\":30000000000", "\"Interval\":-1" },
                { "\"Interval\":30000000000", "\"Interval\":\"30s\"" },
                { "\"Retries\":3", "\"Retries\":1.5" },
                { "\"Test\":[\"CMD-SHELL\",\"true\"]", "\"Test\":\"true\"" },
                { "\"Retries\":3", "\"Retries\":3,\"Retries\":4" },
                { "\"Shell\":[\"/bin/bash\",\"-c\"]", "\"Shell\":\"/bin/bash\"" },
                { "\"Healthcheck\":{", "\"Healthcheck\":[{" },
                /* a kept member is never read twice either */
                { "\"StopTimeout\":42", "\"StopTimeout\":42,\"StopTimeout\":43" },
                { "\"comment\":\"hi\"", "\"comment\":\"hi\",\"comment\":\"ho\"" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
                _cleanup_free_ char *doc = replace(FULL_CONFIG, edits[i][0], edits[i][1]);
                c = NULL;
                if (storage_config_parse(doc, strlen(doc), &c, &err) >= 0)
                        fail_msg("config edit %zu accepted: %s", i, doc);
                assert_null(c);
                hutch_error_clear(&err);
        }

        /* bounds: nesting inside a kept member, and size */
        {
                _cleanup_free_ char *deep = xmalloc(200), *doc = NULL, *big = NULL;
                memset(deep, '[', 70);
                memset(deep + 70, ']', 70);
                deep[140] = '\0';
                _cleanup_free_ char *member = xasprintf("\"x-deep\":%s,\"os\"", deep);
                doc = replace(FULL_CONFIG, "\"os\"", member);
                assert_true(storage_config_parse(doc, strlen(doc), &c, &err) < 0);
                assert_non_null(strstr(err->msg, "nested"));
                hutch_error_clear(&err);
                size_t n = STORAGE_CONFIG_MAX_BYTES + 16;
                big = xmalloc(n + 1);
                memset(big, ' ', n);
                memcpy(big, FULL_CONFIG, strlen(FULL_CONFIG));
                big[n] = '\0';
                assert_true(storage_config_parse(big, n, &c, &err) < 0);
                assert_non_null(strstr(err->msg, "larger than"));
                hutch_error_clear(&err);
        }
}

static void test_chain_ids(void **state)
{
        char *ids[] = { (char *) D1, (char *) D2, (char *) D3, NULL };
        char chain[3][STORAGE_DIGEST_BUFSIZE], want[STORAGE_DIGEST_BUFSIZE];
        (void) state;

        storage_chain_ids(ids, 3, chain);
        assert_string_equal(chain[0], D1);
        const char *s1 = D1 " " D2;
        storage_digest_buffer(s1, strlen(s1), want);
        assert_string_equal(chain[1], want);
        _cleanup_free_ char *s2 = xasprintf("%s %s", want, D3);
        storage_digest_buffer(s2, strlen(s2), want);
        assert_string_equal(chain[2], want);
}

/* ---- store, blobs, records, locks ---- */

struct tmp {
        char dir[64];
        char *root;
};

static int setup_store(void **state)
{
        struct tmp *t = xzalloc(sizeof(*t));
        strcpy(t->dir, "/tmp/hutch-test-store-XXXXXX");
        if (mkdtemp(t->dir) == NULL)
                return -1;
        t->root = xasprintf("%s/root", t->dir);
        if (mkdir(t->root, 0700) < 0)
                return -1;
        *state = t;
        return 0;
}

static int teardown_store(void **state)
{
        struct tmp *t = *state;
        (void) hutch_rm_rf_at(AT_FDCWD, t->dir);
        free(t->root);
        free(t);
        return 0;
}

static struct storage_store *open_store(const char *root, enum storage_store_mode mode)
{
        struct storage_store *s = NULL;
        struct hutch_error *err = NULL;
        int r = storage_store_open(root, mode, &s, &err);
        if (r < 0)
                fail_msg("open store: %s", err->msg);
        return s;
}

static void test_store_layout_and_mode(void **state)
{
        struct tmp *t = *state;
        struct storage_store *s = NULL;
        struct hutch_error *err = NULL;
        struct stat st;

        s = open_store(t->root, STORAGE_STORE_READ);
        for (const char *const *d =
                     (const char *const[]){ "blobs/sha256", "layers", "images", "containers", "tmp", NULL };
             *d; d++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", t->root, *d);
                assert_int_equal(stat(p, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_int_equal(st.st_mode & 0777, 0700);
        }
        storage_store_free(s);
        /* a store other users can enter is refused */
        assert_int_equal(chmod(t->root, 0755), 0);
        s = NULL;
        assert_true(storage_store_open(t->root, STORAGE_STORE_READ, &s, &err) < 0);
        assert_non_null(strstr(err->msg, "accessible by other users"));
        hutch_error_free(err);
        err = NULL;
        assert_true(storage_store_open("relative/path", STORAGE_STORE_READ, &s, &err) < 0);
        hutch_error_free(err);
}

static void test_blobs(void **state)
{
        struct tmp *t = *state;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = open_store(t->root, STORAGE_STORE_WRITE);
        struct storage_blob_writer *w = NULL;
        struct hutch_error *err = NULL;
        char d[STORAGE_DIGEST_BUFSIZE], want[STORAGE_DIGEST_BUFSIZE];
        char *buf = NULL;
        size_t len;

        storage_digest_buffer("hello", 5, want);
        assert_int_equal(storage_blob_put(s, "hello", 5, d, &err), 0);
        assert_string_equal(d, want);
        assert_true(storage_blob_exists(s, d));
        assert_int_equal(storage_blob_read(s, d, 100, &buf, &len, &err), 0);
        assert_int_equal(len, 5);
        assert_memory_equal(buf, "hello", 5);
        free(buf);
        /* too large for the caller's cap */
        assert_true(storage_blob_read(s, d, 4, &buf, &len, &err) < 0);
        hutch_error_clear(&err);

        /* a wrong expected digest: nothing is stored */
        storage_digest_buffer("other", 5, want);
        assert_int_equal(storage_blob_writer_new(s, want, &w, &err), 0);
        assert_int_equal(storage_blob_writer_write(w, "wrong", 5, &err), 0);
        assert_true(storage_blob_writer_finish(w, &err) < 0);
        assert_non_null(strstr(err->msg, "digest mismatch"));
        hutch_error_clear(&err);
        assert_true(storage_blob_writer_commit(w, &err) < 0);
        hutch_error_clear(&err);
        w = storage_blob_writer_free(w);
        storage_digest_buffer("wrong", 5, want);
        assert_false(storage_blob_exists(s, want));
        assert_false(storage_blob_exists(s, "sha256:../../etc/passwd"));

        /* a blob corrupted on disk is caught when read */
        _cleanup_free_ char *p = xasprintf("%s/blobs/sha256/%s", t->root, storage_digest_hex(d));
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs("HELLO", f);
        fclose(f);
        assert_true(storage_blob_read(s, d, 100, &buf, &len, &err) < 0);
        assert_non_null(strstr(err->msg, "corrupt"));
        hutch_error_clear(&err);
        assert_int_equal(storage_blob_remove(s, d), 0);
        assert_false(storage_blob_exists(s, d));
}

static void make_image(struct storage_image *img, const char *id_digest, const char *name)
{
        memset(img, 0, sizeof(*img));
        memcpy(img->config, id_digest, STORAGE_DIGEST_BUFSIZE);
        memcpy(img->id, storage_digest_hex(id_digest), sizeof(img->id));
        memcpy(img->manifest, D3, STORAGE_DIGEST_BUFSIZE);
        img->names = xcalloc(1, sizeof(char *));
        if (name)
                hutch_strv_append(&img->names, name);
        img->created = xstrdup("2024-01-01T00:00:00Z");
        img->n_layers = 1;
        img->layers = xcalloc(1, sizeof(*img->layers));
        memcpy(img->layers[0].chain_id, D3, STORAGE_DIGEST_BUFSIZE);
        memcpy(img->layers[0].diff_id, D3, STORAGE_DIGEST_BUFSIZE);
        memcpy(img->layers[0].blob, D3, STORAGE_DIGEST_BUFSIZE);
        img->layers[0].media_type = xstrdup(STORAGE_MEDIA_OCI_LAYER);
        img->layers[0].size = 42;
}

static int find(const struct storage_images *imgs, const char *ref)
{
        struct hutch_error *err = NULL;
        int k = storage_images_find(imgs, ref, &err);
        if (k < 0)
                hutch_error_free(err);
        return k;
}

static void test_records(void **state)
{
        struct tmp *t = *state;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = open_store(t->root, STORAGE_STORE_WRITE);
        struct storage_images imgs = { 0 }, again = { 0 };
        struct storage_image a, b;
        struct hutch_error *err = NULL;
        int lock;

        make_image(&a, D1, "localhost/app:latest");
        make_image(&b, D2, "docker.io/library/busybox:latest");
        hutch_strv_append(&b.names, "localhost/app:v2");
        assert_int_equal(storage_images_add(&imgs, &a), 0);
        assert_int_equal(storage_images_add(&imgs, &b), 1);
        /* adding the same ID again merges names */
        storage_image_clear(&a);
        make_image(&a, D1, "localhost/other:1");
        assert_int_equal(storage_images_add(&imgs, &a), 0);
        assert_int_equal(hutch_strv_length(imgs.v[0].names), 2);

        assert_int_equal(find(&imgs, "app"), 0);
        assert_int_equal(find(&imgs, "app:latest"), 0);
        assert_int_equal(find(&imgs, "localhost/app:v2"), 1);
        assert_int_equal(find(&imgs, "busybox"), 1); /* short name, other registry */
        assert_int_equal(find(&imgs, "library/busybox"), 1);
        assert_int_equal(find(&imgs, "1111"), 0); /* ID prefix */
        assert_int_equal(find(&imgs, D2), 1);     /* sha256:ID */
        assert_int_equal(find(&imgs, storage_digest_hex(D1)), 0);
        assert_int_equal(find(&imgs, "app@" D3), 0); /* digest (both have D3: first match) */
        assert_int_equal(find(&imgs, "nope"), -ENOENT);
        assert_int_equal(find(&imgs, "quay.io/app"), -ENOENT); /* a full name never matches another registry */
        assert_int_equal(find(&imgs, "BAD NAME"), -EINVAL);
        assert_string_equal(storage_images_matched_name(&imgs.v[1], "busybox"), "docker.io/library/busybox:latest");
        assert_null(storage_images_matched_name(&imgs.v[1], "2222"));

        /* a tag moves between images */
        storage_images_set_name(&imgs, 1, "localhost/app:latest");
        assert_int_equal(find(&imgs, "app"), 1);
        assert_false(hutch_strv_contains(imgs.v[0].names, "localhost/app:latest"));
        assert_true(storage_images_drop_name(&imgs, 1, "localhost/app:latest"));
        assert_false(storage_images_drop_name(&imgs, 1, "localhost/app:latest"));

        /* round trip through the file */
        lock = storage_store_lock_records(s, &err);
        assert_true(lock >= 0);
        assert_int_equal(storage_images_write(s, &imgs, &err), 0);
        close(lock);
        assert_int_equal(storage_images_read(s, &again, &err), 0);
        assert_int_equal(again.n, 2);
        assert_string_equal(again.v[1].id, storage_digest_hex(D2));
        assert_string_equal(again.v[1].names[0], "docker.io/library/busybox:latest");
        assert_int_equal(again.v[0].layers[0].size, 42);
        assert_int_equal(storage_image_size(&again.v[0]), 42);
        storage_images_delete(&again, 0);
        assert_int_equal(again.n, 1);
        assert_int_equal(find(&again, "busybox"), 0);
        storage_images_clear(&again);

        /* a damaged records file is an error, not an empty store */
        _cleanup_free_ char *p = xasprintf("%s/images/images.json", t->root);
        FILE *f = fopen(p, "w");
        fputs("{\"images\":[{\"id\":\"../x\"}]}", f);
        fclose(f);
        assert_true(storage_images_read(s, &again, &err) < 0);
        hutch_error_clear(&err);

        storage_image_clear(&a);
        storage_image_clear(&b);
        storage_images_clear(&imgs);
}

/* A damaged records file: whatever is whole is kept, the names of the rest
 * are told, and no cut point crashes or invents a record. */
static void test_records_salvage(void **state)
{
        struct tmp *t = *state;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = open_store(t->root, STORAGE_STORE_WRITE);
        static const char *const digests[] = {
                D1, D2, "sha256:4444444444444444444444444444444444444444444444444444444444444444"
        };
        static const char *const names[] = { "localhost/a:1", "localhost/b:1", "localhost/c:1" };
        struct storage_images imgs = { 0 }, got = { 0 };
        struct hutch_error *err = NULL;
        _cleanup_free_ char *text = NULL, *bad = NULL;
        size_t len, end_of_second;
        const char *p;

        for (size_t i = 0; i < 3; i++) {
                struct storage_image img;
                make_image(&img, digests[i], names[i]);
                storage_images_add(&imgs, &img);
                storage_image_clear(&img);
        }
        assert_int_equal(storage_images_write(s, &imgs, &err), 0);
        assert_int_equal(hutch_read_file_at(s->images_fd, "images.json", 1 << 20, &text, &len, &err), 0);

        /* whole: nothing to salvage */
        char **lost = NULL;
        assert_int_equal(storage_images_salvage(text, len, &got, &lost), 0);
        assert_int_equal(got.n, 3);
        assert_null(lost);
        storage_images_clear(&got);

        /* cut right after the second record: two kept, the third's name told */
        p = strstr(text, names[2]);
        assert_non_null(p);
        while (p > text && *p != '{')
                p--; /* the third record's "{" */
        while (p > text && *p != '}')
                p--; /* the second's "}" */
        end_of_second = (size_t) (p - text) + 1;
        assert_true(storage_images_salvage(text, end_of_second + 5, &got, &lost) >= 1);
        assert_int_equal(got.n, 2);
        assert_string_equal(got.v[1].names[0], names[1]);
        assert_null(lost);
        storage_images_clear(&got);
        assert_true(storage_images_salvage(text, len - 40, &got, &lost) >= 1);
        assert_int_equal(got.n, 2);
        assert_non_null(lost);
        assert_string_equal(lost[0], names[2]);
        assert_null(lost[1]);
        hutch_strv_free(lost);
        lost = NULL;
        storage_images_clear(&got);

        /* every cut: a prefix of the records, never more */
        size_t whole = len;
        while (whole > 0 && (text[whole - 1] == '\n' || text[whole - 1] == ' '))
                whole--;
        for (size_t cut = 0; cut < whole; cut++) {
                size_t before = 0;
                assert_int_equal(storage_images_parse(text, cut, &got, &err), -EUCLEAN);
                hutch_error_clear(&err);
                assert_true(storage_images_salvage(text, cut, &got, &lost) >= 1);
                assert_true(got.n <= 3);
                for (size_t i = 0; i < got.n; i++)
                        assert_string_equal(got.v[i].id, imgs.v[i].id);
                before = got.n;
                assert_true(before < 3 || cut >= end_of_second);
                storage_images_clear(&got);
                hutch_strv_free(lost);
                lost = NULL;
        }

        /* whole, but one record invalid: the others are kept */
        bad = xstrdup(text);
        char *id = strstr(bad, storage_digest_hex(D2));
        assert_non_null(id);
        id[0] = 'X';
        assert_true(storage_images_parse(bad, len, &got, &err) < 0);
        hutch_error_clear(&err);
        assert_int_equal(storage_images_salvage(bad, len, &got, &lost), 1);
        assert_int_equal(got.n, 2);
        assert_string_equal(got.v[0].names[0], names[0]);
        assert_string_equal(got.v[1].names[0], names[2]);
        storage_images_clear(&got);
        hutch_strv_free(lost);
        lost = NULL;

        /* not JSON at all: nothing kept */
        assert_int_equal(storage_images_salvage("\0\0\0", 3, &got, &lost), 1);
        assert_int_equal(got.n, 0);
        storage_images_clear(&got);
        storage_images_clear(&imgs);
}

/* Callers that only want to know (cmd_image_run_resolve(..., NULL)) pass no error. */
static void test_null_err(void **state)
{
        struct tmp *t = *state;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = open_store(t->root, STORAGE_STORE_READ);
        struct storage_images imgs = { 0 };
        struct storage_reference r = { 0 };

        assert_int_equal(storage_images_read(s, &imgs, NULL), 0);
        assert_int_equal(imgs.n, 0);
        assert_int_equal(storage_images_find(&imgs, "nope", NULL), -ENOENT);
        assert_true(storage_images_find(&imgs, "BAD", NULL) < 0);
        assert_true(storage_reference_parse("BAD", &r, NULL) < 0);
        assert_true(storage_blob_open(s, D1, NULL, NULL) < 0);
}

static void test_ambiguous_short_name(void **state)
{
        struct storage_images imgs = { 0 };
        struct storage_image a, b;
        struct hutch_error *err = NULL;
        (void) state;

        make_image(&a, D1, "quay.io/x/app:latest");
        make_image(&b, D2, "docker.io/y/app:latest");
        storage_images_add(&imgs, &a);
        storage_images_add(&imgs, &b);
        assert_true(storage_images_find(&imgs, "app", &err) < 0);
        assert_non_null(strstr(err->msg, "ambiguous"));
        hutch_error_clear(&err);
        assert_int_equal(find(&imgs, "quay.io/x/app"), 0);
        /* an ambiguous ID prefix */
        storage_image_clear(&b);
        make_image(&b, "sha256:1111111111111111111111111111111111111111111111111111111111111112", NULL);
        storage_images_add(&imgs, &b);
        assert_true(storage_images_find(&imgs, "111111", &err) < 0);
        assert_non_null(strstr(err->msg, "ambiguous"));
        hutch_error_clear(&err);
        storage_image_clear(&a);
        storage_image_clear(&b);
        storage_images_clear(&imgs);
}

/* In a child: can we take the store lock exclusively right now? */
static bool child_can_lock_exclusive(const char *root)
{
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *p = xasprintf("%s/storage.lock", root);
                int fd = open(p, O_RDWR | O_CLOEXEC);
                if (fd < 0)
                        _exit(2);
                _exit(flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) != 2);
        return WEXITSTATUS(status) == 0;
}

static void test_locks(void **state)
{
        struct tmp *t = *state;
        struct storage_store *s;
        int pipefd[2];
        pid_t pid;
        char c;

        storage_store_free(open_store(t->root, STORAGE_STORE_READ)); /* makes the lock file */
        assert_true(child_can_lock_exclusive(t->root));
        s = open_store(t->root, STORAGE_STORE_READ);
        assert_false(child_can_lock_exclusive(t->root)); /* our shared lock keeps writers out */
        /* and it keeps our own exclusive attempt from succeeding */
        {
                struct storage_store *s2 = open_store(t->root, STORAGE_STORE_READ);
                struct hutch_error *e = NULL;
                assert_int_equal(storage_store_lock_exclusive(s2, false, &e), 0);
                assert_false(s2->exclusive);
                storage_store_free(s2);
        }
        storage_store_free(s);
        assert_true(child_can_lock_exclusive(t->root));
        s = open_store(t->root, STORAGE_STORE_WRITE); /* alone: cleaned, then shared */
        assert_false(s->exclusive);
        assert_false(child_can_lock_exclusive(t->root));
        storage_store_free(s);

        /* a holder killed with SIGKILL releases its lock */
        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct storage_store *cs = NULL;
                struct hutch_error *err = NULL;
                if (storage_store_open(t->root, STORAGE_STORE_EXCLUSIVE, &cs, &err) < 0)
                        _exit(1);
                (void) !write(pipefd[1], "x", 1);
                pause();
                _exit(0);
        }
        close(pipefd[1]);
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        close(pipefd[0]);
        assert_false(child_can_lock_exclusive(t->root));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        assert_true(child_can_lock_exclusive(t->root));
}

static void test_leftovers_and_gc(void **state)
{
        struct tmp *t = *state;
        struct storage_store *s, *other;
        struct hutch_error *err = NULL;
        struct storage_images imgs = { 0 };
        struct storage_image a;
        struct stat st;
        int lock;

        s = open_store(t->root, STORAGE_STORE_READ);
        /* what killed commands leave behind */
        _cleanup_free_ char *tmpdir = xasprintf("%s/tmp/load-abcdef", t->root);
        _cleanup_free_ char *half = xasprintf("%s/layers/%s.tmp-Ab12Cd", t->root, storage_digest_hex(D1));
        _cleanup_free_ char *kept = xasprintf("%s/layers/%s", t->root, storage_digest_hex(D3));
        _cleanup_free_ char *unused = xasprintf("%s/layers/%s", t->root, storage_digest_hex(D2));
        _cleanup_free_ char *blobtmp = xasprintf("%s/blobs/sha256/.tmp-x", t->root);
        assert_int_equal(mkdir(tmpdir, 0700), 0);
        assert_int_equal(mkdir(half, 0700), 0);
        assert_int_equal(mkdir(kept, 0755), 0);
        assert_int_equal(mkdir(unused, 0755), 0);
        close(open(blobtmp, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        make_image(&a, D1, "localhost/a:1"); /* references layer D3 */
        storage_images_add(&imgs, &a);
        lock = storage_store_lock_records(s, &err);
        assert_int_equal(storage_images_write(s, &imgs, &err), 0);
        close(lock);

        /* while another command holds the store, nothing is removed */
        other = open_store(t->root, STORAGE_STORE_READ);
        assert_int_equal(storage_images_gc(s, &err), 0);
        assert_int_equal(stat(unused, &st), 0);
        assert_int_equal(stat(tmpdir, &st), 0);
        storage_store_free(other);

        assert_int_equal(storage_images_gc(s, &err), 1);
        assert_true(stat(unused, &st) < 0);
        assert_true(stat(half, &st) < 0);
        assert_true(stat(tmpdir, &st) < 0);
        assert_true(stat(blobtmp, &st) < 0);
        assert_int_equal(stat(kept, &st), 0);
        storage_store_free(s);

        /* leftovers also go when a writer finds the store idle */
        assert_int_equal(mkdir(tmpdir, 0700), 0);
        s = open_store(t->root, STORAGE_STORE_WRITE);
        assert_true(stat(tmpdir, &st) < 0);
        storage_store_free(s);
        storage_image_clear(&a);
        storage_images_clear(&imgs);
}

/* A container record's anonymous volumes: kept through JSON, and a record
 * naming a path that climbs out, or a name that is no volume ID, refused. */
static void test_container_anon_volumes(void **state)
{
        struct storage_container c = { 0 }, back = { 0 };
        struct hutch_error *err = NULL;
        const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        (void) state;

        memcpy(c.id, hex, 65);
        c.name = xstrdup("c1");
        c.image = xstrdup("img");
        c.args = xcalloc(1, sizeof(char *));
        c.command = xcalloc(1, sizeof(char *));
        hutch_strv_push(&c.anon_volumes, xasprintf("%s:/data", hex));
        _cleanup_free_ char *json = storage_container_to_json(&c);
        assert_int_equal(storage_container_from_json(json, strlen(json), &back, &err), 0);
        assert_int_equal(hutch_strv_length(back.anon_volumes), 1);
        _cleanup_free_ char *name = NULL, *dest = NULL;
        assert_true(storage_container_anon_volume_split(back.anon_volumes[0], &name, &dest));
        assert_string_equal(name, hex);
        assert_string_equal(dest, "/data");
        storage_container_clear(&back);

        /* prefix before the ID, how much of the ID, what follows it */
        static const struct {
                const char *pre;
                int n;
                const char *post;
        } bad[] = { { "", 64, ":data" }, { "", 64, ":/a/../../etc" }, { "", 64, ":/.." },
                    { "x", 64, ":/d" },  { "", 63, ":/d" },           { "", 64, "" },
                    { "", 64, ":" } };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                free(c.anon_volumes[0]);
                c.anon_volumes[0] = xasprintf("%s%.*s%s", bad[i].pre, bad[i].n, hex, bad[i].post);
                assert_false(storage_container_anon_volume_split(c.anon_volumes[0], NULL, NULL));
                _cleanup_free_ char *j = storage_container_to_json(&c);
                if (storage_container_from_json(j, strlen(j), &back, &err) == 0)
                        fail_msg("anonymous volume '%s' was accepted", c.anon_volumes[0]);
                hutch_error_clear(&err);
        }
        storage_container_clear(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reference_valid),
                cmocka_unit_test(test_reference_invalid),
                cmocka_unit_test(test_reference_length),
                cmocka_unit_test(test_reference_split),
                cmocka_unit_test(test_manifest_valid),
                cmocka_unit_test(test_manifest_invalid),
                cmocka_unit_test(test_index),
                cmocka_unit_test(test_config),
                cmocka_unit_test(test_config_kept),
                cmocka_unit_test(test_chain_ids),
                cmocka_unit_test(test_container_anon_volumes),
                cmocka_unit_test(test_ambiguous_short_name),
                cmocka_unit_test_setup_teardown(test_store_layout_and_mode, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_blobs, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_records, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_records_salvage, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_locks, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_null_err, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_leftovers_and_gc, setup_store, teardown_store),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
