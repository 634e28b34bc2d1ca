#include "config.h"

#include "cmd/cmd.h"
#include "cmd/paths.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
