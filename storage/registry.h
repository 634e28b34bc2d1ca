/* A client of the OCI distribution API (registries) on libcurl.
 *
 * One client talks to one registry host.  It probes GET /v2/, follows the
 * challenge the registry gives (WWW-Authenticate: Bearer realm, service,
 * scope -> a token from the realm, or Basic), and fetches manifests and
 * blobs, verifying every digest while the bytes stream.  Credentials
 * (Basic or Bearer) are only ever sent to the registry's own origin
 * (scheme, host and port): redirects to blob storage elsewhere are followed
 * without them.  5xx answers and dropped connections are retried with
 * backoff; an interrupted blob resumes with a Range request.
 *
 * TLS uses the system CAs plus every *.crt in the certificate directory of
 * the registry (--cert-dir, or certs.d/HOST[:PORT]/ in
 * ~/.config/containers and /etc/containers).  With tls_verify off,
 * certificates are not checked and plain HTTP is used when the registry
 * does not speak TLS. */
#ifndef HUTCH_STORAGE_REGISTRY_H
#define HUTCH_STORAGE_REGISTRY_H

#include "lib/cleanup.h"
#include "lib/error.h"
#include "storage/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Retries of one request (5xx, dropped connections), with backoff. */
#define REGISTRY_MAX_ATTEMPTS    5
#define REGISTRY_MAX_REDIRECTS   5
#define REGISTRY_MAX_TOKEN_BYTES (1u << 20)

struct registry_options {
        const char *username; /* NULL: anonymous (or a token without credentials) */
        const char *password;
        bool tls_verify;      /* default true */
        const char *cert_dir; /* NULL: the certs.d directories */
        bool force_http;      /* registries.conf insecure = true for a plain-HTTP registry */
        bool push;            /* ask for tokens that allow pushing too */
};

struct registry_client;

/* host is "quay.io", "127.0.0.1:5000" ("docker.io" talks to
 * registry-1.docker.io).  Nothing is sent yet. */
int registry_client_new(const char *host, const struct registry_options *opts, struct registry_client **ret,
                        struct hutch_error **err);
struct registry_client *registry_client_free(struct registry_client *c);
DEFINE_CLEANUP(struct registry_client *, registry_client_free)

/* GET /v2/ with the credentials (for login): 0 when the registry accepts
 * them, < 0 with *err set when it does not. */
int registry_client_check(struct registry_client *c, const char *repository, struct hutch_error **err);

/* Fetches the manifest (or index) repository:reference (a tag or a digest).
 * *ret_media_type is the Content-Type the registry gave (or the document's
 * mediaType when it gave none); *ret_digest the sha256 of the bytes, which
 * must equal reference when that is a digest. */
int registry_manifest_get(struct registry_client *c, const char *repository, const char *reference, char **ret_buf,
                          size_t *ret_len, char **ret_media_type, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                          struct hutch_error **err);

/* Streams blob digest of repository to write(data, buf, len), which returns
 * 0 or < 0 (with *err set by it) to stop.  The digest is checked at the end
 * (-EBADMSG on a mismatch) and size, when >= 0, bounds the bytes read.  A
 * transfer cut midway resumes where it stopped: write() never sees a byte
 * twice. */
typedef int (*registry_write_fn)(void *data, const void *buf, size_t len, struct hutch_error **err);
int registry_blob_fetch(struct registry_client *c, const char *repository, const char *digest, int64_t size,
                        registry_write_fn write, void *data, struct hutch_error **err);

/* A whole blob of at most max bytes, verified, into a buffer. */
int registry_blob_get(struct registry_client *c, const char *repository, const char *digest, size_t max, char **ret_buf,
                      size_t *ret_len, struct hutch_error **err);

/* Push (the client made with push set): 1 when the registry has the blob,
 * 0 when not. */
int registry_blob_exists(struct registry_client *c, const char *repository, const char *digest,
                         struct hutch_error **err);
/* Uploads size bytes of fd (read with pread from offset 0) as blob digest,
 * in one PUT; the upload location must be on the registry's origin.
 * progress, when not NULL, is told the bytes read so far (they restart from
 * 0 when the PUT is retried). */
typedef void (*registry_progress_fn)(void *data, uint64_t done);
int registry_blob_upload(struct registry_client *c, const char *repository, const char *digest, int fd, uint64_t size,
                         registry_progress_fn progress, void *progress_data, struct hutch_error **err);
/* Stores a manifest under reference (a tag or its digest). */
int registry_manifest_put(struct registry_client *c, const char *repository, const char *reference, const char *buf,
                          size_t len, const char *media_type, struct hutch_error **err);

/* GET of any http(s) URL (build's ADD URL) with the registry client's TLS
 * settings (system CAs plus the certs.d directory of the URL's host[:port],
 * proxies from the environment as libcurl reads them), redirects followed,
 * never with credentials.  The body streams to write() (which bounds its size);
 * ret_digest gets its sha256, ret_mtime (if not NULL) the Last-Modified time
 * or -1.  Anything but a 2xx answer is an error naming
 * the URL and the status. */
int registry_url_fetch(const char *url, registry_write_fn write, void *data, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                       int64_t *ret_mtime, struct hutch_error **err);

/* Parses a WWW-Authenticate header (exposed for tests): *ret_scheme
 * "bearer" or "basic" (lowercase), realm/service/scope or NULL. */
int registry_parse_challenge(const char *header, char **ret_scheme, char **ret_realm, char **ret_service,
                             char **ret_scope);

/* The certificate directory for host, or NULL when none exists. */
char *registry_cert_dir(const char *host);

#endif
