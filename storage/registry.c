/* The OCI distribution client (see registry.h). */
#include "config.h"

#include "storage/registry.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/manifest.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ERROR_BODY_MAX (64u << 10)

struct registry_client {
        char *host;     /* as the user named it: "docker.io", "127.0.0.1:5000" */
        char *api_host; /* where we talk to: "registry-1.docker.io" */
        char *base;     /* "https://api_host" once probed */
        char *username, *password;
        bool tls_verify, force_http, push;
        char *cert_dir;
        char *ca_blob; /* system CAs + the certificate directory's, or NULL */
        size_t ca_blob_len;
        char *client_cert, *client_key;

        /* connections, TLS sessions and DNS shared by every request (and thread) */
        CURLSH *share;
        pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

        pthread_mutex_t lock; /* protects what follows */
        bool probed;
        char *challenge_scheme, *realm, *service;
        char *authorization; /* "Authorization: ..." header, or NULL */
        char *token_scope;   /* the scope the token was given for */
};

static void curl_init(void)
{
        (void) curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void curl_init_once(void)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        (void) pthread_once(&once, curl_init);
}

static bool is_http_origin(const char *origin)
{
        return strncmp(origin, "https://", 8) == 0 || strncmp(origin, "http://", 7) == 0;
}

char *registry_cert_dir(const char *host)
{
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        _cleanup_free_ char *user = NULL;
        const char *dirs[3];
        size_t n = 0;
        struct stat st;

        if (xdg && *xdg == '/')
                user = xasprintf("%s/containers/certs.d", xdg);
        else if (home && *home == '/')
                user = xasprintf("%s/.config/containers/certs.d", home);
        if (user)
                dirs[n++] = user;
        dirs[n++] = "/etc/containers/certs.d";
        dirs[n++] = "/etc/docker/certs.d";
        for (size_t i = 0; i < n; i++) {
                char *p = xasprintf("%s/%s", dirs[i], host);
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        return p;
                free(p);
        }
        return NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && STREQ(s + a - b, suffix);
}

/* The system bundle plus the directory's *.crt; client certificate pairs
 * (NAME.cert + NAME.key). */
static int load_cert_dir(struct registry_client *c, struct hutch_error **err)
{
        _cleanup_dir_ DIR *d = NULL;
        struct dirent *de;
        char *bundle = NULL;
        size_t len = 0;
        const char *sys = NULL;
        CURL *probe;

        if (c->cert_dir == NULL)
                return 0;
        d = opendir(c->cert_dir);
        if (d == NULL)
                return hutch_error_set(err, errno, "certificate directory '%s'", c->cert_dir);
        probe = curl_easy_init();
        if (probe) {
                char *p = NULL;
                if (curl_easy_getinfo(probe, CURLINFO_CAINFO, &p) == CURLE_OK && p)
                        sys = p;
                if (sys) {
                        char *buf = NULL;
                        size_t blen = 0;
                        if (hutch_read_file_at(AT_FDCWD, sys, 16u << 20, &buf, &blen, NULL) == 0) {
                                bundle = buf;
                                len = blen;
                        }
                }
                curl_easy_cleanup(probe);
        }
        while ((de = readdir(d)) != NULL) {
                _cleanup_free_ char *path = NULL;
                if (de->d_name[0] == '.')
                        continue;
                path = xasprintf("%s/%s", c->cert_dir, de->d_name);
                if (has_suffix(de->d_name, ".crt")) {
                        char *buf = NULL;
                        size_t blen = 0;
                        if (hutch_read_file_at(AT_FDCWD, path, 4u << 20, &buf, &blen, err) < 0) {
                                free(bundle);
                                return hutch_error_prefix(err, "CA certificate");
                        }
                        bundle = xrealloc(bundle, len + blen + 2);
                        bundle[len++] = '\n';
                        memcpy(bundle + len, buf, blen);
                        len += blen;
                        bundle[len] = '\0';
                        free(buf);
                } else if (has_suffix(de->d_name, ".cert")) {
                        _cleanup_free_ char *key = xasprintf("%.*s.key", (int) (strlen(path) - 5), path);
                        if (access(key, R_OK) != 0) {
                                free(bundle);
                                return hutch_error_set(err, errno, "client certificate '%s' has no key '%s'", path,
                                                       key);
                        }
                        free(c->client_cert);
                        free(c->client_key);
                        c->client_cert = xstrdup(path);
                        c->client_key = steal_ptr(&key);
                }
        }
        c->ca_blob = bundle;
        c->ca_blob_len = len;
        return 0;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
        struct registry_client *c = ud;

        (void) h;
        (void) access;
        if ((int) data >= 0 && data < CURL_LOCK_DATA_LAST)
                pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
        struct registry_client *c = ud;

        (void) h;
        if ((int) data >= 0 && data < CURL_LOCK_DATA_LAST)
                pthread_mutex_unlock(&c->share_locks[data]);
}

int registry_client_new(const char *host, const struct registry_options *opts, struct registry_client **ret,
                        struct hutch_error **err)
{
        struct registry_client *c;
        int r;

        if (host == NULL || *host == '\0' || strpbrk(host, "/@?# \t\r\n\\"))
                return hutch_error_set(err, 0, "invalid registry '%s'", host ? host : "");
        curl_init_once();
        c = xzalloc(sizeof(*c));
        pthread_mutex_init(&c->lock, NULL);
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_init(&c->share_locks[i], NULL);
        c->share = curl_share_init();
        if (c->share) {
                curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
                curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
                curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
                curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
                curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
                curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        }
        c->host = xstrdup(host);
        c->api_host = xstrdup(STREQ(host, "docker.io") ? "registry-1.docker.io" : host);
        c->tls_verify = opts->tls_verify;
        c->force_http = opts->force_http;
        c->push = opts->push;
        if (opts->username) {
                c->username = xstrdup(opts->username);
                c->password = xstrdup(opts->password ? opts->password : "");
        }
        c->cert_dir = opts->cert_dir ? xstrdup(opts->cert_dir) : registry_cert_dir(host);
        r = load_cert_dir(c, err);
        if (r < 0) {
                registry_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

struct registry_client *registry_client_free(struct registry_client *c)
{
        if (c == NULL)
                return NULL;
        free(c->host);
        free(c->api_host);
        free(c->base);
        free(c->username);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->cert_dir);
        free(c->ca_blob);
        free(c->client_cert);
        free(c->client_key);
        free(c->challenge_scheme);
        free(c->realm);
        free(c->service);
        if (c->authorization)
                explicit_bzero(c->authorization, strlen(c->authorization));
        free(c->authorization);
        free(c->token_scope);
        if (c->share)
                curl_share_cleanup(c->share);
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
                pthread_mutex_destroy(&c->share_locks[i]);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

/* ---- WWW-Authenticate ---- */

int registry_parse_challenge(const char *h, char **ret_scheme, char **ret_realm, char **ret_service, char **ret_scope)
{
        _cleanup_free_ char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL;
        const char *p = h;
        size_t n;

        while (*p == ' ' || *p == '\t')
                p++;
        n = strcspn(p, " \t");
        if (n == 0 || n > 32)
                return -EINVAL;
        scheme = xstrndup(p, n);
        for (char *q = scheme; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        p += n;
        while (*p) {
                char key[32];
                _cleanup_free_ char *val = NULL;
                size_t vl = 0, cap = 0;

                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (*p == '\0')
                        break;
                n = strcspn(p, "= \t,");
                if (n == 0 || n >= sizeof(key) || p[n] != '=')
                        return -EINVAL;
                for (size_t i = 0; i < n; i++)
                        key[i] = (char) tolower((unsigned char) p[i]);
                key[n] = '\0';
                p += n + 1;
                if (*p == '"') {
                        p++;
                        cap = strlen(p) + 1;
                        val = xmalloc(cap);
                        while (*p && *p != '"') {
                                if (*p == '\\' && p[1])
                                        p++;
                                val[vl++] = *p++;
                        }
                        if (*p != '"')
                                return -EINVAL;
                        p++;
                        val[vl] = '\0';
                } else {
                        n = strcspn(p, ", \t");
                        val = xstrndup(p, n);
                        p += n;
                }
                if (STREQ(key, "realm")) {
                        free(realm);
                        realm = steal_ptr(&val);
                } else if (STREQ(key, "service")) {
                        free(service);
                        service = steal_ptr(&val);
                } else if (STREQ(key, "scope")) {
                        free(scope);
                        scope = steal_ptr(&val);
                }
        }
        *ret_scheme = steal_ptr(&scheme);
        *ret_realm = steal_ptr(&realm);
        *ret_service = steal_ptr(&service);
        *ret_scope = steal_ptr(&scope);
        return 0;
}

/* ---- one HTTP exchange ---- */

struct xfer {
        CURL *h;
        long status;
        /* headers of the current response */
        char *content_type, *www_authenticate;
        uint64_t content_range_start;
        bool has_content_range;
        bool started; /* the body of this response began */
        /* the body of a 2xx answer goes to the sink; others to err_body */
        char *buf;
        size_t len, max;
        registry_write_fn write;
        void *data;
        struct storage_sha256 *sha;
        uint64_t delivered; /* bytes given to the sink (and hashed) in all attempts */
        uint64_t skip;      /* bytes of this response already delivered earlier */
        int64_t limit;      /* most bytes the sink may get, -1: max */
        int sink_r;
        struct hutch_error *sink_err;
        char *err_body;
        size_t err_len;
        /* the request: GET unless method says otherwise; a PUT sends
         * upload_len bytes of upload_buf, or upload_size bytes of upload_fd */
        const char *method;
        const char *upload_type;
        const char *upload_buf;
        size_t upload_len;
        int upload_fd;
        uint64_t upload_size, upload_off;
        registry_progress_fn progress;
        void *progress_data;
        char *location;      /* Location of the last response */
        char *last_modified; /* its Last-Modified */
};

static void xfer_reset_response(struct xfer *x)
{
        free(x->content_type);
        free(x->www_authenticate);
        free(x->location);
        free(x->last_modified);
        x->content_type = x->www_authenticate = x->location = x->last_modified = NULL;
        x->has_content_range = false;
        x->started = false;
        x->status = 0;
        free(x->err_body);
        x->err_body = NULL;
        x->err_len = 0;
}

static char *header_value(const char *line, size_t len, const char *name)
{
        size_t n = strlen(name);
        const char *v, *end = line + len;

        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return NULL;
        v = line + n + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return xstrndup(v, (size_t) (end - v));
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        size_t len = size * nmemb;
        char *v;

        if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
                xfer_reset_response(x);
                return len;
        }
        if ((v = header_value(p, len, "Content-Type"))) {
                free(x->content_type);
                x->content_type = v;
        } else if ((v = header_value(p, len, "Location"))) {
                free(x->location);
                x->location = v;
        } else if ((v = header_value(p, len, "Last-Modified"))) {
                free(x->last_modified);
                x->last_modified = v;
        } else if ((v = header_value(p, len, "WWW-Authenticate"))) {
                free(x->www_authenticate);
                x->www_authenticate = v;
        } else if ((v = header_value(p, len, "Content-Range"))) {
                unsigned long long a;
                if (sscanf(v, "bytes %llu-", &a) == 1) {
                        x->content_range_start = a;
                        x->has_content_range = true;
                }
                free(v);
        }
        return len;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        size_t len = size * nmemb;
        long code = 0;

        (void) curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code >= 300) {
                size_t keep = x->err_len < ERROR_BODY_MAX ? ERROR_BODY_MAX - x->err_len : 0;
                if (keep > len)
                        keep = len;
                x->err_body = xrealloc(x->err_body, x->err_len + keep + 1);
                memcpy(x->err_body + x->err_len, p, keep);
                x->err_len += keep;
                x->err_body[x->err_len] = '\0';
                return len;
        }
        if (!x->started) {
                x->started = true;
                /* a server that ignored our Range starts again from byte 0 */
                x->skip = code == 200 ? x->delivered : 0;
                if (code == 206 && (!x->has_content_range || x->content_range_start != x->delivered)) {
                        x->sink_r = hutch_error_set(&x->sink_err, 0, "the registry resumed at the wrong offset");
                        return 0;
                }
        }
        if (x->skip) {
                size_t s = x->skip < len ? (size_t) x->skip : len;
                p += s;
                x->skip -= s;
                if (s == len)
                        return size * nmemb;
                len -= s;
        }
        if (x->limit >= 0 && x->delivered + len > (uint64_t) x->limit) {
                x->sink_r = hutch_error_set(&x->sink_err, 0, "the registry sent more bytes than the descriptor's %lld",
                                            (long long) x->limit);
                return 0;
        }
        if (x->sha)
                storage_sha256_update(x->sha, p, len);
        if (x->write) {
                int r = x->write(x->data, p, len, &x->sink_err);
                if (r < 0) {
                        x->sink_r = r;
                        return 0;
                }
        } else {
                if (x->len + len > x->max) {
                        x->sink_r = hutch_error_set(&x->sink_err, EFBIG, "document larger than %zu bytes", x->max);
                        return 0;
                }
                x->buf = xrealloc(x->buf, x->len + len + 1);
                memcpy(x->buf + x->len, p, len);
                x->len += len;
                x->buf[x->len] = '\0';
        }
        x->delivered += len;
        return size * nmemb;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
        struct xfer *x = ud;
        size_t want = size * nmemb;
        uint64_t total = x->upload_buf ? x->upload_len : x->upload_size;
        ssize_t n;

        if (x->upload_off >= total)
                return 0;
        if (want > total - x->upload_off)
                want = (size_t) (total - x->upload_off);
        if (x->upload_buf) {
                memcpy(p, x->upload_buf + x->upload_off, want);
                n = (ssize_t) want;
        } else {
                n = pread(x->upload_fd, p, want, (off_t) x->upload_off);
                if (n <= 0)
                        return CURL_READFUNC_ABORT;
        }
        x->upload_off += (uint64_t) n;
        if (x->progress)
                x->progress(x->progress_data, x->upload_off);
        return (size_t) n;
}

static void xfer_clear(struct xfer *x)
{
        xfer_reset_response(x);
        free(x->buf);
        x->buf = NULL;
        storage_sha256_free(x->sha);
        x->sha = NULL;
        hutch_error_free(x->sink_err);
        x->sink_err = NULL;
}

/* scheme://host[:port] of url, lowercase, with the default port made explicit. */
static char *url_origin(const char *url)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *ret = NULL;

        if (u == NULL)
                return NULL;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
                for (char *q = host; *q; q++)
                        *q = (char) tolower((unsigned char) *q);
                ret = xasprintf("%s://%s:%s", scheme, host, port);
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return ret;
}

static void setup_tls(struct registry_client *c, CURL *h)
{
        if (!c->tls_verify) {
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (c->ca_blob) {
                struct curl_blob b = { .data = c->ca_blob, .len = c->ca_blob_len, .flags = CURL_BLOB_NOCOPY };
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
        }
        if (c->client_cert) {
                curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
                curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
        }
}

static bool curl_transient(CURLcode e)
{
        switch (e) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM: return true;
        default: return false;
        }
}

static void backoff(int attempt)
{
        const char *fast = getenv("HUTCH_REGISTRY_RETRY_DELAY_MS");
        long ms = fast ? atol(fast) : 250L << attempt;
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        if (ms > 8000)
                ts.tv_sec = 8, ts.tv_nsec = 0;
        (void) nanosleep(&ts, NULL);
}

enum { SEND_AUTH = 1, NO_RETRY = 2 };

/* Performs GET url (following redirects; credentials only to the
 * registry's origin) into x.  Returns the final HTTP status (retrying 5xx,
 * 429 and dropped connections), or < 0 with *err set. */
static int http_get(struct registry_client *c, const char *url0, const char *accept, const char *authorization,
                    unsigned flags, struct xfer *x, struct hutch_error **err)
{
        _cleanup_free_ char *origin = c->base ? url_origin(c->base) : NULL;
        int attempts = (flags & NO_RETRY) ? 1 : REGISTRY_MAX_ATTEMPTS;

        for (int attempt = 0;; attempt++) {
                _cleanup_free_ char *url = xstrdup(url0);
                CURLcode e = CURLE_OK;
                long code = 0;

                for (int hop = 0;; hop++) {
                        struct curl_slist *hdrs = NULL;
                        _cleanup_free_ char *here = url_origin(url), *range = NULL, *acc = NULL;
                        char errbuf[CURL_ERROR_SIZE] = "";
                        CURL *h;

                        if (here == NULL)
                                return hutch_error_set(err, 0, "invalid URL '%s'", url);
                        if (!is_http_origin(here))
                                return hutch_error_set(err, 0, "refusing to follow a redirect to '%s'", url);
                        h = curl_easy_init();
                        if (h == NULL)
                                return hutch_error_set(err, ENOMEM, "curl");
                        x->h = h;
                        x->skip = 0;
                        curl_easy_setopt(h, CURLOPT_URL, url);
                        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
                        curl_easy_setopt(h, CURLOPT_USERAGENT, "hutch/" PACKAGE_VERSION);
                        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
                        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
                        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
                        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
                        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
                        /* HTTP/2 where the server offers it over TLS: one
                         * connection carries the token, manifest and blob
                         * requests without new handshakes */
                        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
                        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
                        if (c->share)
                                curl_easy_setopt(h, CURLOPT_SHARE, c->share);
                        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
                        curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
                        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
                        curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
                        setup_tls(c, h);
                        if (accept) {
                                acc = xasprintf("Accept: %s", accept);
                                hdrs = curl_slist_append(hdrs, acc);
                        }
                        /* never to another origin (redirects to blob storage) */
                        if (authorization && (flags & SEND_AUTH) && origin && STREQ(origin, here))
                                hdrs = curl_slist_append(hdrs, authorization);
                        else if (authorization && !(flags & SEND_AUTH) && hop == 0)
                                hdrs = curl_slist_append(hdrs, authorization); /* token realm: first hop only */
                        if (x->delivered > 0) {
                                range = xasprintf("Range: bytes=%llu-", (unsigned long long) x->delivered);
                                hdrs = curl_slist_append(hdrs, range);
                        }
                        if (x->method && STREQ(x->method, "HEAD")) {
                                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
                        } else if (x->method && STREQ(x->method, "POST")) {
                                curl_easy_setopt(h, CURLOPT_POST, 1L);
                                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
                        } else if (x->method && STREQ(x->method, "PUT")) {
                                x->upload_off = 0;
                                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                                curl_easy_setopt(h, CURLOPT_READDATA, x);
                                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                                                 (curl_off_t) (x->upload_buf ? x->upload_len : x->upload_size));
                                free(acc);
                                acc = xasprintf("Content-Type: %s",
                                                x->upload_type ? x->upload_type : "application/octet-stream");
                                hdrs = curl_slist_append(hdrs, acc);
                                hdrs = curl_slist_append(hdrs, "Expect:");
                        }
                        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
                        e = curl_easy_perform(h);
                        (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                        if (e == CURLE_OK) {
                                /* for tests and for telling why a pull is slow
                                 * (no query: upload URLs carry state) */
                                long ver = 0, conns = 0;
                                (void) curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &ver);
                                (void) curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
                                log_debug("%s %.*s: HTTP/%s %ld, %s connection", x->method ? x->method : "GET",
                                          (int) strcspn(url, "?"), url, ver == CURL_HTTP_VERSION_2_0 ? "2" : "1.1",
                                          code, conns > 0 ? "new" : "reused");
                        }
                        if (e == CURLE_OK && code >= 300 && code < 400 && code != 304 &&
                            (x->method == NULL || STREQ(x->method, "HEAD"))) {
                                char *loc = NULL;
                                (void) curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
                                if (loc && hop < REGISTRY_MAX_REDIRECTS) {
                                        free(url);
                                        url = xstrdup(loc);
                                        curl_slist_free_all(hdrs);
                                        curl_easy_cleanup(h);
                                        x->h = NULL;
                                        continue;
                                }
                                curl_slist_free_all(hdrs);
                                curl_easy_cleanup(h);
                                x->h = NULL;
                                return hutch_error_set(err, 0, "%s: too many redirects", url0);
                        }
                        curl_slist_free_all(hdrs);
                        curl_easy_cleanup(h);
                        x->h = NULL;
                        if (e == CURLE_WRITE_ERROR && x->sink_r < 0) {
                                int r = x->sink_r;
                                *err = steal_ptr(&x->sink_err);
                                return r;
                        }
                        if (e != CURLE_OK) {
                                if (curl_transient(e) && attempt + 1 < attempts) {
                                        log_debug("%s: %s, retrying", url, errbuf[0] ? errbuf : curl_easy_strerror(e));
                                        break;
                                }
                                return hutch_error_set(err, 0, "%s: %s", url0,
                                                       errbuf[0] ? errbuf : curl_easy_strerror(e));
                        }
                        if ((code >= 500 || code == 429) && attempt + 1 < attempts) {
                                log_debug("%s: HTTP %ld, retrying", url, code);
                                break;
                        }
                        x->status = code;
                        return (int) code;
                }
                backoff(attempt);
        }
}

static const char *error_detail(const struct xfer *x)
{
        static __thread char msg[256];
        yajl_val j, errs, e0;
        const char *m;

        if (x->err_body == NULL)
                return "";
        j = hutch_json_parse(x->err_body, x->err_len, NULL);
        if (j == NULL)
                return "";
        errs = hutch_json_get_array(j, "errors");
        e0 = errs && errs->u.array.len ? errs->u.array.values[0] : NULL;
        m = e0 ? hutch_json_get_string(e0, "message") : NULL;
        if (m == NULL) {
                yajl_tree_free(j);
                return "";
        }
        snprintf(msg, sizeof(msg), ": %s", m);
        for (char *p = msg; *p; p++)
                if ((unsigned char) *p < 0x20)
                        *p = '?';
        yajl_tree_free(j);
        return msg;
}

/* ---- probing and authentication ---- */

static char *basic_header(const char *user, const char *pass)
{
        _cleanup_free_ char *plain = xasprintf("%s:%s", user, pass);
        size_t n = strlen(plain);
        char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
        char *ret;

        EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, (int) n);
        ret = xasprintf("Authorization: Basic %s", b64);
        explicit_bzero(plain, n);
        explicit_bzero(b64, strlen(b64));
        free(b64);
        return ret;
}

static void set_challenge(struct registry_client *c, const char *h)
{
        char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL;

        if (h == NULL || registry_parse_challenge(h, &scheme, &realm, &service, &scope) < 0)
                return;
        free(c->challenge_scheme);
        free(c->realm);
        free(c->service);
        c->challenge_scheme = scheme;
        c->realm = realm;
        c->service = service;
        free(scope);
}

/* GET /v2/: learns the scheme and the challenge.  Called with c->lock held. */
static int probe_locked(struct registry_client *c, struct hutch_error **err)
{
        const char *schemes[2] = { "https", "http" };
        int r = 0;

        if (c->probed)
                return 0;
        for (int i = c->force_http ? 1 : 0; i < 2; i++) {
                struct xfer x = { .limit = -1, .max = ERROR_BODY_MAX };
                _cleanup_free_ char *url = xasprintf("%s://%s/v2/", schemes[i], c->api_host);
                struct hutch_error *e = NULL;

                free(c->base);
                c->base = xasprintf("%s://%s", schemes[i], c->api_host);
                r = http_get(c, url, NULL, NULL, 0, &x, &e);
                if (r < 0 && i == 0 && !c->tls_verify && !c->force_http) {
                        /* --tls-verify=false: a registry without TLS */
                        log_debug("%s: %s; trying plain HTTP", url, e->msg);
                        hutch_error_free(e);
                        xfer_clear(&x);
                        continue;
                }
                if (r < 0) {
                        *err = e;
                        xfer_clear(&x);
                        return hutch_error_prefix(err, "pinging registry %s", c->host);
                }
                if (r == 401)
                        set_challenge(c, x.www_authenticate);
                else if (r != 200) {
                        r = hutch_error_set(err, 0, "pinging registry %s: HTTP %d%s", c->host, r, error_detail(&x));
                        xfer_clear(&x);
                        return r;
                }
                xfer_clear(&x);
                c->probed = true;
                return 0;
        }
        return r;
}

/* Makes the Authorization header for scope; called with c->lock held. */
static int authenticate_locked(struct registry_client *c, const char *scope, struct hutch_error **err)
{
        _cleanup_free_ char *url = NULL, *esc_service = NULL, *esc_scope = NULL, *basic = NULL;
        _cleanup_free_ char *realm_origin = NULL, *base_origin = NULL;
        struct xfer x = { .limit = -1, .max = REGISTRY_MAX_TOKEN_BYTES };
        yajl_val j;
        const char *tok;
        CURL *esc;
        int r;

        r = probe_locked(c, err);
        if (r < 0)
                return r;
        if (c->challenge_scheme == NULL)
                return 0; /* open registry */
        if (STREQ(c->challenge_scheme, "basic")) {
                if (c->username == NULL)
                        return hutch_error_set(
                                err, 0, "registry %s requires authentication (use hutch login or --creds)", c->host);
                if (c->authorization == NULL)
                        c->authorization = basic_header(c->username, c->password);
                return 0;
        }
        if (!STREQ(c->challenge_scheme, "bearer") || c->realm == NULL)
                return hutch_error_set(err, 0, "registry %s: unsupported authentication '%s'", c->host,
                                       c->challenge_scheme);
        if (c->authorization && c->token_scope && STREQ(c->token_scope, scope ? scope : ""))
                return 0;
        realm_origin = url_origin(c->realm);
        base_origin = url_origin(c->base);
        if (realm_origin == NULL || !is_http_origin(realm_origin))
                return hutch_error_set(err, 0, "registry %s: invalid token realm", c->host);
        /* credentials over plain HTTP only to a registry that is itself plain HTTP */
        if (c->username && strncmp(realm_origin, "https:", 6) != 0 && strncmp(base_origin, "http:", 5) != 0)
                return hutch_error_set(err, 0, "registry %s: refusing to send credentials to '%s' without TLS", c->host,
                                       c->realm);
        esc = curl_easy_init();
        if (esc == NULL)
                return hutch_error_set(err, ENOMEM, "curl");
        if (c->service) {
                char *s = curl_easy_escape(esc, c->service, 0);
                esc_service = xstrdup(s);
                curl_free(s);
        }
        if (scope) {
                char *s = curl_easy_escape(esc, scope, 0);
                esc_scope = xstrdup(s);
                curl_free(s);
        }
        curl_easy_cleanup(esc);
        url = xasprintf("%s%s%s%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?", esc_service ? "service=" : "",
                        esc_service ? esc_service : "", esc_scope ? (esc_service ? "&scope=" : "scope=") : "",
                        esc_scope ? esc_scope : "");
        if (c->username)
                basic = basic_header(c->username, c->password);
        r = http_get(c, url, "application/json", basic, 0, &x, err);
        if (r < 0) {
                xfer_clear(&x);
                return hutch_error_prefix(err, "token from %s", c->realm);
        }
        if (r == 401 || r == 403) {
                xfer_clear(&x);
                return hutch_error_set(err, 0, "registry %s: authentication failed (%s)", c->host,
                                       c->username ? "wrong user name or password" : "anonymous access refused");
        }
        if (r != 200) {
                r = hutch_error_set(err, 0, "token from %s: HTTP %d%s", c->realm, r, error_detail(&x));
                xfer_clear(&x);
                return r;
        }
        j = hutch_json_parse(x.buf ? x.buf : "", x.len, err);
        xfer_clear(&x);
        if (j == NULL)
                return hutch_error_prefix(err, "token from %s", c->realm);
        tok = hutch_json_get_string(j, "token");
        if (tok == NULL || *tok == '\0')
                tok = hutch_json_get_string(j, "access_token");
        if (tok == NULL || *tok == '\0' || strpbrk(tok, "\r\n")) {
                yajl_tree_free(j);
                return hutch_error_set(err, 0, "token from %s: no token in the answer", c->realm);
        }
        free(c->authorization);
        c->authorization = xasprintf("Authorization: Bearer %s", tok);
        free(c->token_scope);
        c->token_scope = xstrdup(scope ? scope : "");
        yajl_tree_free(j);
        return 0;
}

static int authenticate(struct registry_client *c, const char *scope, bool force, char **ret_auth,
                        struct hutch_error **err)
{
        int r;

        pthread_mutex_lock(&c->lock);
        if (force && c->challenge_scheme && STREQ(c->challenge_scheme, "bearer")) {
                free(c->token_scope);
                c->token_scope = NULL;
        }
        r = authenticate_locked(c, scope, err);
        *ret_auth = r >= 0 && c->authorization ? xstrdup(c->authorization) : NULL;
        pthread_mutex_unlock(&c->lock);
        return r;
}

static bool repository_valid(const char *repo)
{
        if (repo == NULL || *repo == '\0' || strlen(repo) > 255)
                return false;
        for (const char *p = repo; *p; p++)
                if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || strchr("._-/", *p)))
                        return false;
        return strstr(repo, "..") == NULL && repo[0] != '/';
}

/* A GET on the registry with authentication: retries once with a fresh
 * token on 401. */
static int registry_request(struct registry_client *c, const char *repository, const char *path, const char *full_url,
                            const char *accept, struct xfer *x, struct hutch_error **err)
{
        _cleanup_free_ char *scope = NULL, *url = NULL;
        int r;

        if (!repository_valid(repository))
                return hutch_error_set(err, 0, "invalid repository name '%s'", repository);
        scope = xasprintf("repository:%s:%s", repository, c->push ? "pull,push" : "pull");
        for (int round = 0; round < 2; round++) {
                _cleanup_free_ char *auth = NULL;
                r = authenticate(c, scope, round > 0, &auth, err);
                if (r < 0)
                        return r;
                free(url);
                url = full_url ? xstrdup(full_url) : xasprintf("%s/v2/%s/%s", c->base, repository, path);
                r = http_get(c, url, accept, auth, SEND_AUTH, x, err);
                if (auth)
                        explicit_bzero(auth, strlen(auth));
                if (r != 401)
                        return r;
                pthread_mutex_lock(&c->lock);
                set_challenge(c, x->www_authenticate);
                pthread_mutex_unlock(&c->lock);
                if (c->challenge_scheme == NULL)
                        break;
        }
        return hutch_error_set(err, 0, "%s/%s: unauthorized%s", c->host, repository,
                               c->username ? " (wrong user name or password?)" : " (use hutch login or --creds)");
}

static int registry_get(struct registry_client *c, const char *repository, const char *path, const char *accept,
                        struct xfer *x, struct hutch_error **err)
{
        return registry_request(c, repository, path, NULL, accept, x, err);
}

int registry_client_check(struct registry_client *c, const char *repository, struct hutch_error **err)
{
        _cleanup_free_ char *auth = NULL;
        struct xfer x = { .limit = -1, .max = ERROR_BODY_MAX };
        _cleanup_free_ char *url = NULL;
        int r;

        r = authenticate(c, repository ? repository : NULL, false, &auth, err);
        if (r < 0)
                return r;
        url = xasprintf("%s/v2/", c->base);
        r = http_get(c, url, NULL, auth, SEND_AUTH, &x, err);
        xfer_clear(&x);
        if (r < 0)
                return r;
        if (r == 401 || r == 403)
                return hutch_error_set(err, 0, "login to %s: wrong user name or password", c->host);
        if (r != 200)
                return hutch_error_set(err, 0, "login to %s: HTTP %d", c->host, r);
        return 0;
}

static const char MANIFEST_ACCEPT[] = STORAGE_MEDIA_OCI_MANIFEST
        ", " STORAGE_MEDIA_OCI_INDEX ", " STORAGE_MEDIA_DOCKER_MANIFEST ", " STORAGE_MEDIA_DOCKER_LIST;

static bool reference_valid(const char *ref)
{
        if (storage_digest_valid(ref))
                return true;
        if (*ref == '\0' || strlen(ref) > 128)
                return false;
        for (const char *p = ref; *p; p++)
                if (!(isalnum((unsigned char) *p) || strchr("_.-", *p)))
                        return false;
        return ref[0] != '.' && ref[0] != '-';
}

int registry_manifest_get(struct registry_client *c, const char *repository, const char *reference, char **ret_buf,
                          size_t *ret_len, char **ret_media_type, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                          struct hutch_error **err)
{
        struct xfer x = { .limit = -1, .max = STORAGE_MANIFEST_MAX_BYTES };
        _cleanup_free_ char *path = NULL;
        char *mt;
        int r;

        if (!reference_valid(reference))
                return hutch_error_set(err, 0, "invalid tag or digest '%s'", reference);
        path = xasprintf("manifests/%s", reference);
        r = registry_get(c, repository, path, MANIFEST_ACCEPT, &x, err);
        if (r < 0) {
                xfer_clear(&x);
                return hutch_error_prefix(err, "manifest %s/%s:%s", c->host, repository, reference);
        }
        if (r == 404) {
                xfer_clear(&x);
                r = hutch_error_set(err, 0, "%s/%s:%s: manifest unknown", c->host, repository, reference);
                (void) r;
                (*err)->errnum = ENOENT; /* for the caller: try the next candidate; not in the message */
                return -ENOENT;
        }
        if (r != 200) {
                r = hutch_error_set(err, 0, "manifest %s/%s:%s: HTTP %d%s", c->host, repository, reference, r,
                                    error_detail(&x));
                xfer_clear(&x);
                return r;
        }
        if (x.buf == NULL)
                x.buf = xstrdup("");
        storage_digest_buffer(x.buf, x.len, ret_digest);
        if (storage_digest_valid(reference) && !STREQ(reference, ret_digest)) {
                xfer_clear(&x);
                return hutch_error_set(err, EBADMSG, "manifest %s/%s: digest mismatch (got %s)", c->host, repository,
                                       ret_digest);
        }
        mt = x.content_type ? xstrndup(x.content_type, strcspn(x.content_type, "; ")) : NULL;
        if (mt && (STREQ(mt, "application/json") || STREQ(mt, "text/plain") || *mt == '\0')) {
                free(mt);
                mt = NULL;
        }
        *ret_media_type = mt;
        *ret_buf = steal_ptr(&x.buf);
        *ret_len = x.len;
        xfer_clear(&x);
        return 0;
}

int registry_blob_fetch(struct registry_client *c, const char *repository, const char *digest, int64_t size,
                        registry_write_fn write, void *data, struct hutch_error **err)
{
        struct xfer x = { .limit = size, .write = write, .data = data };
        _cleanup_free_ char *path = NULL;
        char got[STORAGE_DIGEST_BUFSIZE];
        int r = 0;

        if (!storage_digest_valid(digest))
                return hutch_error_set(err, 0, "invalid blob digest '%s'", digest);
        x.sha = storage_sha256_new();
        path = xasprintf("blobs/%s", digest);
        for (int resume = 0; resume < REGISTRY_MAX_ATTEMPTS; resume++) {
                uint64_t before = x.delivered;
                r = registry_get(c, repository, path, NULL, &x, err);
                if (r < 0)
                        break;
                if (r == 404) {
                        r = hutch_error_set(err, 0, "blob %s/%s@%s: blob unknown", c->host, repository, digest);
                        break;
                }
                if (r == 416 && x.delivered > 0 && size >= 0 && x.delivered == (uint64_t) size) {
                        r = 0; /* we had it all already */
                        break;
                }
                if (r != 200 && r != 206) {
                        r = hutch_error_set(err, 0, "blob %s/%s@%s: HTTP %d%s", c->host, repository, digest, r,
                                            error_detail(&x));
                        break;
                }
                r = 0;
                if (size < 0 || x.delivered == (uint64_t) size)
                        break;
                /* the connection ended early: resume */
                log_debug("blob %s: got %llu of %lld bytes, resuming", digest, (unsigned long long) x.delivered,
                          (long long) size);
                if (x.delivered == before)
                        backoff(resume);
                r = hutch_error_set(err, 0, "blob %s/%s@%s: truncated (%llu of %lld bytes)", c->host, repository,
                                    digest, (unsigned long long) x.delivered, (long long) size);
                hutch_error_clear(err);
        }
        if (r == 0 && size >= 0 && x.delivered != (uint64_t) size)
                r = hutch_error_set(err, 0, "blob %s/%s@%s: truncated (%llu of %lld bytes)", c->host, repository,
                                    digest, (unsigned long long) x.delivered, (long long) size);
        if (r == 0) {
                storage_sha256_final_hex(x.sha, got);
                if (!STREQ(got, digest))
                        r = hutch_error_set(err, EBADMSG, "blob %s/%s@%s: digest mismatch (got %s)", c->host,
                                            repository, digest, got);
        }
        xfer_clear(&x);
        return r;
}

/* ---- a plain URL (build's ADD) ---- */

/* host[:port] of url as certs.d names it (the port only when written). */
static char *url_host(const char *url)
{
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *ret = NULL;

        if (u == NULL)
                return NULL;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
                if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
                        port = NULL;
                ret = port ? xasprintf("%s:%s", host, port) : xstrdup(host);
        }
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return ret;
}

int registry_url_fetch(const char *url, registry_write_fn write, void *data, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                       int64_t *ret_mtime, struct hutch_error **err)
{
        struct registry_options opts = { .tls_verify = true };
        _cleanup_(registry_client_free_cleanup) struct registry_client *c = NULL;
        struct xfer x = { .limit = -1, .write = write, .data = data };
        _cleanup_free_ char *origin = NULL, *host = NULL;
        int r;

        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
                return hutch_error_set(err, EINVAL, "'%s' is not an http:// or https:// URL", url);
        curl_init_once();
        origin = url_origin(url);
        host = url_host(url);
        if (origin == NULL || host == NULL)
                return hutch_error_set(err, EINVAL, "invalid URL '%s'", url);
        r = registry_client_new(host, &opts, &c, err);
        if (r < 0)
                return hutch_error_prefix(err, "%s", url);
        x.sha = storage_sha256_new();
        /* no credentials; a retry after a cut resumes with Range, and
         * on_body skips what a server ignoring it sends again */
        r = http_get(c, url, NULL, NULL, 0, &x, err);
        if (r >= 0 && (r < 200 || r >= 300)) {
                r = hutch_error_set(err, 0, "%s: HTTP %d%s", url, r, r == 404 ? " (not found)" : "");
        } else if (r >= 0) {
                storage_sha256_final_hex(x.sha, ret_digest);
                if (ret_mtime) {
                        time_t t = x.last_modified ? curl_getdate(x.last_modified, NULL) : (time_t) -1;
                        *ret_mtime = t >= 0 ? (int64_t) t : -1;
                }
                r = 0;
        }
        xfer_clear(&x);
        return r;
}

struct membuf {
        char *buf;
        size_t len, max;
};

static int membuf_write(void *data, const void *buf, size_t len, struct hutch_error **err)
{
        struct membuf *m = data;

        if (m->len + len > m->max)
                return hutch_error_set(err, EFBIG, "blob larger than %zu bytes", m->max);
        m->buf = xrealloc(m->buf, m->len + len + 1);
        memcpy(m->buf + m->len, buf, len);
        m->len += len;
        m->buf[m->len] = '\0';
        return 0;
}

int registry_blob_get(struct registry_client *c, const char *repository, const char *digest, size_t max, char **ret_buf,
                      size_t *ret_len, struct hutch_error **err)
{
        struct membuf m = { .max = max };
        int r;

        r = registry_blob_fetch(c, repository, digest, -1, membuf_write, &m, err);
        if (r < 0) {
                free(m.buf);
                return r;
        }
        *ret_buf = m.buf ? m.buf : xstrdup("");
        *ret_len = m.len;
        return 0;
}

/* ---- push ---- */

int registry_blob_exists(struct registry_client *c, const char *repository, const char *digest,
                         struct hutch_error **err)
{
        struct xfer x = { .limit = -1, .max = ERROR_BODY_MAX, .method = "HEAD" };
        _cleanup_free_ char *path = NULL;
        int r;

        if (!storage_digest_valid(digest))
                return hutch_error_set(err, 0, "invalid blob digest '%s'", digest);
        path = xasprintf("blobs/%s", digest);
        r = registry_get(c, repository, path, NULL, &x, err);
        xfer_clear(&x);
        if (r < 0)
                return r;
        if (r == 200)
                return 1;
        if (r == 404)
                return 0;
        return hutch_error_set(err, 0, "blob %s/%s@%s: HTTP %d", c->host, repository, digest, r);
}

/* A Location the registry gave, made absolute; only on the registry's own origin. */
static char *upload_url(struct registry_client *c, const char *loc)
{
        _cleanup_free_ char *origin = NULL, *base_origin = url_origin(c->base);
        char *u;

        if (loc == NULL || *loc == '\0')
                return NULL;
        u = loc[0] == '/' ? xasprintf("%s%s", c->base, loc) : xstrdup(loc);
        origin = url_origin(u);
        if (origin == NULL || base_origin == NULL || !STREQ(origin, base_origin)) {
                free(u);
                return NULL;
        }
        return u;
}

int registry_blob_upload(struct registry_client *c, const char *repository, const char *digest, int fd, uint64_t size,
                         registry_progress_fn progress, void *progress_data, struct hutch_error **err)
{
        struct xfer x = { .limit = -1, .max = ERROR_BODY_MAX, .method = "POST" };
        _cleanup_free_ char *loc = NULL, *put = NULL;
        int r;

        if (!storage_digest_valid(digest))
                return hutch_error_set(err, 0, "invalid blob digest '%s'", digest);
        r = registry_get(c, repository, "blobs/uploads/", NULL, &x, err);
        if (r >= 0 && r != 202) {
                r = hutch_error_set(err, 0, "upload to %s/%s: HTTP %d%s", c->host, repository, r, error_detail(&x));
        } else if (r >= 0) {
                loc = upload_url(c, x.location);
                if (loc == NULL)
                        r = hutch_error_set(err, 0, "upload to %s/%s: the registry gave no usable upload location",
                                            c->host, repository);
        }
        xfer_clear(&x);
        if (r < 0)
                return r;
        put = xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
        x = (struct xfer){ .limit = -1,
                           .max = ERROR_BODY_MAX,
                           .method = "PUT",
                           .upload_fd = fd,
                           .upload_size = size,
                           .progress = progress,
                           .progress_data = progress_data };
        r = registry_request(c, repository, NULL, put, NULL, &x, err);
        if (r >= 0 && r != 201 && r != 204)
                r = hutch_error_set(err, 0, "upload of %s to %s/%s: HTTP %d%s", digest, c->host, repository, r,
                                    error_detail(&x));
        xfer_clear(&x);
        return r < 0 ? r : 0;
}

int registry_manifest_put(struct registry_client *c, const char *repository, const char *reference, const char *buf,
                          size_t len, const char *media_type, struct hutch_error **err)
{
        struct xfer x = { .limit = -1,
                          .max = ERROR_BODY_MAX,
                          .method = "PUT",
                          .upload_buf = buf,
                          .upload_len = len,
                          .upload_type = media_type };
        _cleanup_free_ char *path = NULL;
        int r;

        if (!reference_valid(reference))
                return hutch_error_set(err, 0, "invalid tag or digest '%s'", reference);
        path = xasprintf("manifests/%s", reference);
        r = registry_get(c, repository, path, NULL, &x, err);
        if (r >= 0 && r != 201 && r != 200)
                r = hutch_error_set(err, 0, "manifest %s/%s:%s: HTTP %d%s", c->host, repository, reference, r,
                                    error_detail(&x));
        xfer_clear(&x);
        return r < 0 ? r : 0;
}
