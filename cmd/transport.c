/* Image locations with a transport prefix (see transport.h). */
#include "config.h"

#include "cmd/transport.h"

#include "lib/cleanup.h"
#include "lib/xalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <string.h>

static const struct {
        const char *name;
        enum cmd_transport t;
} transports[] = {
        { "oci", CMD_TRANSPORT_OCI },
        { "oci-archive", CMD_TRANSPORT_OCI_ARCHIVE },
        { "docker-archive", CMD_TRANSPORT_DOCKER_ARCHIVE },
        { "dir", CMD_TRANSPORT_DIR },
};

/* containers/image transports hutch does not have */
static const char *const unsupported[] = { "containers-storage", "docker-daemon", "ostree", "sif", "tarball" };

/* An OCI ref.name: the annotation's characters, at most 255. */
static bool ref_name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 255)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._-/:@+", *p))
                        return false;
        return true;
}

int cmd_image_location_parse(const char *s, struct cmd_image_location *ret, struct hutch_error **err)
{
        size_t plen = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");
        const char *rest;

        *ret = (struct cmd_image_location){ 0 };
        if (strncmp(s, "docker://", 9) == 0) {
                if (s[9] == '\0')
                        return hutch_error_set(err, 0, "'%s': no image reference after docker://", s);
                ret->ref = xstrdup(s + 9);
                return 0;
        }
        if (plen == 0 || s[plen] != ':') {
                ret->ref = xstrdup(s);
                return 0;
        }
        rest = s + plen + 1;
        for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
                const char *colon;
                if (strlen(transports[i].name) != plen || strncmp(s, transports[i].name, plen) != 0)
                        continue;
                colon = transports[i].t == CMD_TRANSPORT_DIR ? NULL : strchr(rest, ':');
                ret->transport = transports[i].t;
                ret->path = colon ? xstrndup(rest, (size_t) (colon - rest)) : xstrdup(rest);
                if (*ret->path == '\0') {
                        cmd_image_location_clear(ret);
                        return hutch_error_set(err, 0, "'%s': no PATH after '%s:'", s, transports[i].name);
                }
                if (colon) {
                        ret->ref = xstrdup(colon + 1);
                        if (!ref_name_valid(ret->ref)) {
                                cmd_image_location_clear(ret);
                                return hutch_error_set(err, 0, "'%s': invalid %s '%s'", s,
                                                       transports[i].t == CMD_TRANSPORT_DOCKER_ARCHIVE ? "NAME:TAG"
                                                                                                       : "tag",
                                                       colon + 1);
                        }
                }
                return 0;
        }
        for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
                if (strlen(unsupported[i]) == plen && strncmp(s, unsupported[i], plen) == 0)
                        return hutch_error_set(err, 0,
                                               "'%s': the %.*s: transport is not supported (docker://, oci:, "
                                               "oci-archive:, docker-archive: or dir:)",
                                               s, (int) plen, s);
        /* "host:5000/name" and "name:tag" are references; "x:/path" and
         * "x://..." are not */
        if (*rest == '/' || *rest == '.' || *rest == '\0')
                return hutch_error_set(err, 0,
                                       "'%s': unknown transport '%.*s:' (docker://, oci:, oci-archive:, "
                                       "docker-archive: or dir:)",
                                       s, (int) plen, s);
        ret->ref = xstrdup(s);
        return 0;
}

void cmd_image_location_clear(struct cmd_image_location *l)
{
        free(l->path);
        free(l->ref);
        *l = (struct cmd_image_location){ 0 };
}
