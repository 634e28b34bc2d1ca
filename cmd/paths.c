#include "config.h"

#include "cmd/cmd.h"
#include "cmd/paths.h"
#include "lib/fs.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_LOCK ".lock"

static char *home_dir(void)
{
        const char *h = getenv("HOME");
        if (h && *h == '/')
                return xstrdup(h);
        struct passwd *pw = getpwuid(getuid());
        return xstrdup(pw && pw->pw_dir ? pw->pw_dir : "/");
}

char *cmd_storage_root(void)
{
        const char *x = getenv("XDG_DATA_HOME");
        if (arg_global.root)
                return xstrdup(arg_global.root);
        if (x && *x == '/')
                return xasprintf("%s/hutch", x);
        char *h = home_dir();
        char *r = xasprintf("%s/.local/share/hutch", h);
        free(h);
        return r;
}

char *cmd_cache_dir(void)
{
        const char *x = getenv("XDG_CACHE_HOME");
        if (x && *x == '/')
                return xasprintf("%s/hutch", x);
        char *h = home_dir();
        char *r = xasprintf("%s/.cache/hutch", h);
        free(h);
        return r;
}

char *cmd_run_root(void)
{
        const char *x = getenv("XDG_RUNTIME_DIR");
        struct stat st;

        if (arg_global.runroot)
                return xstrdup(arg_global.runroot);
        /* su/sudo sessions often carry another user's XDG_RUNTIME_DIR. */
        if (x && *x == '/' && stat(x, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() && access(x, W_OK) == 0)
                return xasprintf("%s/hutch", x);
        return xasprintf("/tmp/hutch-run-%u", (unsigned) getuid());
}

int cmd_ensure_private_dir(const char *dir, struct hutch_error **err)
{
        struct stat st;
        int r = hutch_mkdir_p(dir, 0700);

        if (r < 0)
                return hutch_error_set(err, -r, "create directory '%s'", dir);
        if (lstat(dir, &st) < 0)
                return hutch_error_set(err, errno, "stat '%s'", dir);
        if (!S_ISDIR(st.st_mode))
                return hutch_error_set(err, ENOTDIR, "'%s' is not a directory", dir);
        if (st.st_uid != getuid())
                return hutch_error_set(err, EPERM, "'%s' is owned by UID %u, not by you (UID %u)", dir,
                                       (unsigned) st.st_uid, (unsigned) getuid());
        if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0)
                return hutch_error_set(err, errno, "chmod 0700 '%s'", dir);
        return 0;
}

char *cmd_user_name(void)
{
        struct passwd *pw = getpwuid(getuid());
        if (pw && pw->pw_name)
                return xstrdup(pw->pw_name);
        const char *u = getenv("USER");
        return u ? xstrdup(u) : NULL;
}

/* ~/.config/hutch/hutch.conf (or $HUTCH_CONFIG):
 *   [storage]
 *   root = "/path"        # as --root
 *   runroot = "/path"     # as --runroot
 *   driver = "overlay"    # as --storage-driver
 * Command-line options win over the file. */
int cmd_load_config(struct hutch_error **err)
{
        static char *root, *runroot, *driver;
        const char *env = getenv("HUTCH_CONFIG");
        const char *x = getenv("XDG_CONFIG_HOME");
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct toml_value *doc = NULL;
        struct hutch_error *e = NULL;
        size_t len;

        if (env)
                path = xstrdup(env);
        else if (x && *x == '/')
                path = xasprintf("%s/hutch/hutch.conf", x);
        else {
                _cleanup_free_ char *h = home_dir();
                path = xasprintf("%s/.config/hutch/hutch.conf", h);
        }
        if (hutch_read_file_at(AT_FDCWD, path, 1 << 20, &text, &len, &e) < 0) {
                bool missing = e->errnum == ENOENT && env == NULL;
                if (missing) {
                        hutch_error_free(e);
                        return 0;
                }
                hutch_error_set(err, 0, "config file: %s", e->msg);
                hutch_error_free(e);
                return -1;
        }
        if (toml_parse(text, len, &doc, err) < 0)
                return hutch_error_prefix(err, "config file '%s'", path);
        const struct toml_value *storage = toml_get(doc, "storage");
        for (size_t i = 0; doc && i < doc->n; i++)
                if (!STREQ(doc->keys[i], "storage")) {
                        hutch_error_set(err, 0, "config file '%s': unknown table '%s'", path, doc->keys[i]);
                        toml_free(doc);
                        return -1;
                }
        for (size_t i = 0; storage && storage->type == TOML_TABLE && i < storage->n; i++) {
                const char *k = storage->keys[i];
                const struct toml_value *v = storage->values[i];
                char **slot = STREQ(k, "root")      ? &root
                              : STREQ(k, "runroot") ? &runroot
                              : STREQ(k, "driver")  ? &driver
                                                    : NULL;
                if (slot == NULL || v->type != TOML_STRING || v->s[0] == '\0' || (slot != &driver && v->s[0] != '/') ||
                    (slot == &driver && !STREQ(v->s, "overlay") && !STREQ(v->s, "fuse-overlayfs") &&
                     !STREQ(v->s, "copy"))) {
                        hutch_error_set(err, 0, "config file '%s': invalid [storage] %s", path, k);
                        toml_free(doc);
                        return -1;
                }
                free(*slot);
                *slot = xstrdup(v->s);
        }
        toml_free(doc);
        if (!arg_global.root && root)
                arg_global.root = root;
        if (!arg_global.runroot && runroot)
                arg_global.runroot = runroot;
        if (!arg_global.storage_driver && driver)
                arg_global.storage_driver = driver;
        return 0;
}

/* Opens dir's lock and tries to take it: the fd, -EWOULDBLOCK when
 * another process holds it, or another -errno. */
static int state_lock_take(const char *dir)
{
        _cleanup_free_ char *path = xasprintf("%s/" STATE_LOCK, dir);
        int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                (void) close(fd);
                return -e;
        }
        return fd;
}

int cmd_state_dir_make(const char *dir, int *ret_lock, struct hutch_error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", dir);
        _cleanup_close_ int lock = -1;
        int r;

        /* Made and locked under a temporary name, then renamed into place:
         * a directory under the final name always has its lock taken. */
        if (mkdtemp(tmp) == NULL)
                return hutch_error_set(err, errno, "create '%s'", tmp);
        lock = state_lock_take(tmp);
        if (lock < 0) {
                r = -lock;
                (void) hutch_rm_rf_at(AT_FDCWD, tmp);
                return hutch_error_set(err, r, "lock '%s'", tmp);
        }
        for (int attempt = 0; rename(tmp, dir) < 0; attempt++) {
                _cleanup_close_ int old = -1;
                if ((errno != EEXIST && errno != ENOTEMPTY) || attempt > 0) {
                        r = errno;
                        (void) hutch_rm_rf_at(AT_FDCWD, tmp);
                        return hutch_error_set(err, r, "create '%s'", dir);
                }
                old = state_lock_take(dir);
                if (old == -EWOULDBLOCK) {
                        (void) hutch_rm_rf_at(AT_FDCWD, tmp);
                        return hutch_error_set(err, EBUSY, "'%s' is in use: the container is starting or running", dir);
                }
                /* nobody's: left by a hutch that was killed */
                r = hutch_rm_rf_at(AT_FDCWD, dir);
                if (r < 0) {
                        (void) hutch_rm_rf_at(AT_FDCWD, tmp);
                        return hutch_error_set(err, -r, "remove the stale '%s'", dir);
                }
        }
        *ret_lock = steal_fd(&lock);
        return 0;
}
