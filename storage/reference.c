/* Image reference parsing (see reference.h for the grammar). */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/digest.h"
#include "storage/reference.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool storage_reference_tag_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > STORAGE_REFERENCE_MAX_TAG)
                return false;
        if (!is_alnum(s[0]) && s[0] != '_')
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*  */
static bool path_component_valid(const char *s, size_t n)
{
        size_t i = 0;

        if (n == 0 || !is_lower_alnum(s[0]))
                return false;
        while (i < n) {
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == n)
                        return true;
                /* a separator, then at least one alphanumeric */
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i++;
                        if (i < n && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else {
                        return false;
                }
                if (i == n || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

/* A host name label: [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static bool domain_label_valid(const char *s, size_t n)
{
        if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool port_valid(const char *s, size_t n)
{
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        return v <= 65535;
}

/* host(.label)*[:port] or [ipv6]:port */
static bool domain_valid(const char *s, size_t n)
{
        const char *colon = NULL;
        size_t host_len = n;

        if (n == 0)
                return false;
        if (s[0] == '[') {
                const char *end = memchr(s, ']', n);
                if (end == NULL || end == s + 1)
                        return false;
                for (const char *p = s + 1; p < end; p++)
                        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
                              *p == ':'))
                                return false;
                host_len = (size_t) (end - s) + 1;
                if (host_len == n)
                        return true;
                if (s[host_len] != ':')
                        return false;
                return port_valid(s + host_len + 1, n - host_len - 1);
        }
        colon = memchr(s, ':', n);
        if (colon) {
                host_len = (size_t) (colon - s);
                if (!port_valid(colon + 1, n - host_len - 1))
                        return false;
        }
        for (size_t start = 0; start <= host_len;) {
                const char *dot = memchr(s + start, '.', host_len - start);
                size_t end = dot ? (size_t) (dot - s) : host_len;
                if (!domain_label_valid(s + start, end - start))
                        return false;
                start = end + 1;
        }
        return true;
}

static int invalid(struct hutch_error **err, const char *s, const char *why)
{
        return hutch_error_set(err, 0, "invalid image reference '%s': %s", s, why);
}

int storage_reference_parse(const char *s, struct storage_reference *ret, struct hutch_error **err)
{
        _cleanup_free_ char *name = NULL, *domain = NULL, *tag = NULL, *digest = NULL, *full_path = NULL;
        const char *at, *slash, *path, *colon;
        size_t len;
        bool short_name = false;

        if (s == NULL || *s == '\0')
                return hutch_error_set(err, 0, "invalid image reference: empty name");
        len = strlen(s);
        if (len > 1024)
                return hutch_error_set(err, 0, "invalid image reference: longer than 1024 bytes");
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f)
                        return hutch_error_set(err, 0,
                                               "invalid image reference: contains spaces or control characters");

        at = strchr(s, '@');
        if (at) {
                if (!storage_digest_valid(at + 1))
                        return invalid(err, s, "the digest must be 'sha256:' followed by 64 lowercase hex digits");
                digest = xstrdup(at + 1);
                name = xstrndup(s, (size_t) (at - s));
        } else {
                name = xstrdup(s);
        }
        /* The tag follows the last ':' after the last '/'. */
        slash = strrchr(name, '/');
        colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                if (!storage_reference_tag_valid(colon + 1))
                        return invalid(err, s, "invalid tag (letters, digits, '_', '.' and '-', at most 128)");
                tag = xstrdup(colon + 1);
                name[colon - name] = '\0';
        }
        if (*name == '\0')
                return invalid(err, s, "empty repository name");

        slash = strchr(name, '/');
        if (slash && (memchr(name, '.', (size_t) (slash - name)) || memchr(name, ':', (size_t) (slash - name)) ||
                      (slash - name == 9 && strncmp(name, "localhost", 9) == 0) ||
                      /* uppercase only occurs in host names */
                      strcspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < (size_t) (slash - name))) {
                if (!domain_valid(name, (size_t) (slash - name)))
                        return invalid(err, s, "invalid registry host name");
                domain = xstrndup(name, (size_t) (slash - name));
                path = slash + 1;
        } else {
                domain = xstrdup(STORAGE_REFERENCE_DEFAULT_DOMAIN);
                path = name;
                short_name = true;
        }
        if (*path == '\0')
                return invalid(err, s, "empty repository name");
        for (const char *p = path;;) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t) (e - p) : strlen(p);
                for (size_t i = 0; i < n; i++)
                        if (p[i] >= 'A' && p[i] <= 'Z')
                                return invalid(err, s, "repository name must be lowercase");
                if (!path_component_valid(p, n))
                        return invalid(err, s,
                                       "repository name components are lowercase letters and digits separated by "
                                       "'.', '_', '__' or '-'");
                if (e == NULL)
                        break;
                p = e + 1;
        }
        if (short_name && storage_digest_hex_valid_n(path, strlen(path)))
                return invalid(err, s, "a repository name cannot be 64 hexadecimal digits (that is an image ID)");
        /* Docker Hub's official images live under library/ */
        if (STREQ(domain, "index.docker.io")) {
                free(domain);
                domain = xstrdup("docker.io");
        }
        full_path =
                STREQ(domain, "docker.io") && strchr(path, '/') == NULL ? xasprintf("library/%s", path) : xstrdup(path);
        if (strlen(domain) + 1 + strlen(full_path) > STORAGE_REFERENCE_MAX_NAME)
                return invalid(err, s, "repository name longer than 255 bytes");

        ret->path = steal_ptr(&full_path);
        ret->domain = steal_ptr(&domain);
        ret->tag = tag ? steal_ptr(&tag) : digest ? NULL : xstrdup("latest");
        ret->digest = steal_ptr(&digest);
        ret->short_name = short_name;
        return 0;
}

void storage_reference_clear(struct storage_reference *r)
{
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        *r = (struct storage_reference){ 0 };
}

char *storage_reference_repository(const struct storage_reference *r)
{
        return xasprintf("%s/%s", r->domain, r->path);
}

char *storage_reference_format(const struct storage_reference *r)
{
        return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                         r->digest ? "@" : "", r->digest ? r->digest : "");
}

void storage_reference_split(const char *name, char **ret_repo, char **ret_tag)
{
        const char *slash = strrchr(name, '/');
        const char *at = strchr(slash ? slash : name, '@');
        size_t end = at ? (size_t) (at - name) : strlen(name);
        const char *colon = memrchr(slash ? slash : name, ':', (size_t) (name + end - (slash ? slash : name)));

        if (colon) {
                *ret_repo = xstrndup(name, (size_t) (colon - name));
                *ret_tag = xstrndup(colon + 1, (size_t) (name + end - colon - 1));
        } else {
                *ret_repo = xstrndup(name, end);
                *ret_tag = xstrdup("<none>");
        }
}
