/* --userns=keep-id and :U volumes (see keepid.h). */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/cmd-storage.h"
#include "cmd/keepid.h"
#include "cmd/paths.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define ETC_FILE_MAX (4u << 20)

static int check_fuse(const char *fuse_overlayfs, const char *driver, struct hutch_error **err)
{
        if (driver && !STREQ(driver, "fuse-overlayfs"))
                return hutch_error_set(err, EINVAL,
                                       "--userns=keep-id needs the fuse-overlayfs storage driver to show the image's "
                                       "files with their owners (not --storage-driver %s)",
                                       driver);
        if (fuse_overlayfs == NULL)
                return hutch_error_set(err, ENOENT,
                                       "--userns=keep-id needs fuse-overlayfs: install it ('sudo apt-get install "
                                       "fuse-overlayfs')");
        if (access("/dev/fuse", R_OK | W_OK) < 0)
                return hutch_error_set(err, 0,
                                       "--userns=keep-id needs fuse-overlayfs, and /dev/fuse is not usable (%s): make "
                                       "it accessible as distributions ship it ('sudo chmod 0666 /dev/fuse')",
                                       strerror(errno));
        return 0;
}

int cmd_keepid_apply(struct cmd_userns *u, struct cmd_keepid *k, struct runtime_config *cfg, struct hutch_error **err)
{
        if (!k->uid_set)
                k->uid = (uint32_t) u->uid;
        if (!k->gid_set)
                k->gid = (uint32_t) u->gid;
        if (!u->full)
                return hutch_error_set(err, EINVAL, "--userns=keep-id needs subordinate IDs: %s",
                                       u->fallback_reason ? u->fallback_reason : "they are not available");
        /* before anything is recorded: `create` fails as `run` would */
        _cleanup_free_ char *fuse = hutch_find_in_path("fuse-overlayfs", getenv("PATH"));
        if (fuse == NULL)
                fuse = hutch_find_in_path("fuse-overlayfs", "/usr/bin:/bin:/usr/local/bin");
        if (check_fuse(fuse, arg_global.storage_driver, err) < 0)
                return -1;
        if (cmd_keepid_build_map("uid", u->uid, k->uid, u->uid_ranges, u->n_uid_ranges, &u->uidmap, err) < 0 ||
            cmd_keepid_build_map("gid", u->gid, k->gid, u->gid_ranges, u->n_gid_ranges, &u->gidmap, err) < 0)
                return -1;
        cfg->uidmap = u->uidmap;
        cfg->gidmap = u->gidmap;
        cfg->rootfs.fuse_uidmapping =
                cmd_keepid_fuse_mapping(k->uid, (uint32_t) cmd_subid_total(u->uid_ranges, u->n_uid_ranges));
        cfg->rootfs.fuse_gidmapping =
                cmd_keepid_fuse_mapping(k->gid, (uint32_t) cmd_subid_total(u->gid_ranges, u->n_gid_ranges));
        return 0;
}

/* ---- the image's /etc/passwd and /etc/group ---- */

/* In one layer: 1 and *ret when there, 0 when absent, 2 when a whiteout
 * (or an opaque parent) hides the layers below. */
static int layer_file(const char *dir, const char *path, char **ret, struct hutch_error **err)
{
        _cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *parent = xstrdup(path), *wh = NULL;
        char *slash = strrchr(parent, '/');
        const char *leaf = slash ? slash + 1 : parent;
        struct stat st;
        int fd;

        if (root < 0)
                return errno == ENOENT ? 0 : hutch_error_set(err, errno, "open '%s'", dir);
        if (slash)
                *slash = '\0';
        wh = xasprintf("%s/.wh.%s", slash ? parent : ".", leaf);
        fd = hutch_open_in_root(root, wh, O_PATH | O_NOFOLLOW, 0);
        if (fd >= 0) {
                (void) close(fd);
                return 2;
        }
        fd = hutch_open_in_root(root, path, O_PATH | O_NOFOLLOW, 0);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0)
                return hutch_error_set(err, -fd, "open '%s' in '%s'", path, dir);
        if (fstat(fd, &st) < 0 || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))) {
                (void) close(fd);
                return 2;
        }
        (void) close(fd);
        /* a symlink resolves inside this layer only: good enough for
         * /etc/passwd, and never outside the store */
        fd = hutch_open_in_root(root, path, O_RDONLY, 0);
        if (fd < 0)
                return hutch_error_set(err, -fd, "open '%s' in '%s'", path, dir);
        char buf[32];
        int r = hutch_read_file_at(AT_FDCWD, hutch_fd_path(fd, buf, sizeof(buf)), ETC_FILE_MAX, ret, NULL, err);
        (void) close(fd);
        return r < 0 ? r : 1;
}

int cmd_image_file_read(const char *upper, char *const *layers, const char *path, char **ret, struct hutch_error **err)
{
        *ret = NULL;
        if (upper) {
                int r = layer_file(upper, path, ret, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        for (size_t i = 0; layers && layers[i]; i++) {
                int r = layer_file(layers[i], path, ret, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return 0;
}

static int add_file(const char *state_dir, const char *name, const char *dest, const char *text, const char *line,
                    struct cmd_volume **vols, size_t *n_vols, struct hutch_error **err)
{
        _cleanup_close_ int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *content = NULL;
        size_t len = text ? strlen(text) : 0;

        if (dfd < 0)
                return hutch_error_set(err, errno, "open '%s'", state_dir);
        content = xasprintf("%s%s%s", text ? text : "", len > 0 && text[len - 1] != '\n' ? "\n" : "", line);
        if (hutch_write_file_atomic(dfd, name, content, strlen(content), 0644, err) < 0)
                return -1;
        *vols = xreallocarray(*vols, *n_vols + 1, sizeof(**vols));
        (*vols)[(*n_vols)++] = (struct cmd_volume){
                .kind = CMD_VOLUME_BIND,
                .source = xasprintf("%s/%s", state_dir, name),
                .destination = xstrdup(dest),
        };
        return 0;
}

int cmd_keepid_passwd(const struct cmd_keepid *k, const char *state_dir, const char *upper, char *const *layers,
                      struct cmd_volume **vols, size_t *n_vols, struct hutch_error **err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL, *name = cmd_user_name(), *line = NULL;
        const char *home = getenv("HOME");
        struct passwd *pw = getpwuid(getuid());

        if (cmd_image_file_read(upper, layers, "etc/passwd", &passwd, err) < 0 ||
            cmd_image_file_read(upper, layers, "etc/group", &group, err) < 0)
                return hutch_error_prefix(err, "--userns=keep-id: read the image's users");
        if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
                home = pw->pw_dir;
        if (home == NULL || home[0] != '/' || strchr(home, ':') || strchr(home, '\n'))
                home = "/";
        if (name == NULL || strchr(name, ':') || strchr(name, '\n'))
                name = xasprintf("user%u", k->uid);
        if (passwd == NULL || !cmd_keepid_has_id(passwd, k->uid)) {
                line = xasprintf("%s:*:%u:%u:%s:%s:/bin/sh\n", name, k->uid, k->gid, name, home);
                if (add_file(state_dir, "passwd", "/etc/passwd", passwd, line, vols, n_vols, err) < 0)
                        return -1;
                free(line);
                line = NULL;
        }
        if (group == NULL || !cmd_keepid_has_id(group, k->gid)) {
                line = xasprintf("%s:x:%u:\n", name, k->gid);
                if (add_file(state_dir, "group", "/etc/group", group, line, vols, n_vols, err) < 0)
                        return -1;
        }
        return 0;
}

/* ---- :U ---- */

struct chown_job {
        const char *source;
        uid_t uid;
        gid_t gid;
};

static int chown_tree(int dfd, uid_t uid, gid_t gid, int depth)
{
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        int r = 0;

        if (depth > 512)
                return -ELOOP;
        if (d == NULL) {
                r = -errno;
                if (fd >= 0)
                        (void) close(fd);
                return r;
        }
        while (r == 0 && (de = readdir(d)) != NULL) {
                struct stat st;
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                /* the link itself, never what it points to */
                if (fchownat(dfd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = -errno;
                                break;
                        }
                        r = chown_tree(sub, uid, gid, depth + 1);
                        (void) close(sub);
                }
        }
        (void) closedir(d);
        return r;
}

static int chown_in_userns(void *data)
{
        struct chown_job *j = data;
        /* the path the user named may be a link; nothing below it is followed */
        _cleanup_close_ int fd = open(j->source, O_RDONLY | O_CLOEXEC);
        struct stat st;
        int r = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                r = -errno;
        else if (fchown(fd, j->uid, j->gid) < 0)
                r = -errno;
        else if (S_ISDIR(st.st_mode))
                r = chown_tree(fd, j->uid, j->gid, 0);
        if (r < 0) {
                fprintf(stderr, "Error: chown '%s' for :U: %s\n", j->source, strerror(-r));
                return EXIT_HUTCH_FAILED;
        }
        return 0;
}

static int to_storage_id(const struct runtime_idmap *ctr, const struct runtime_idmap *storage, uint32_t id,
                         uint32_t *ret)
{
        uint32_t host;
        if (runtime_idmap_to_host(ctr, id, &host) < 0)
                return -ERANGE;
        for (size_t i = 0; i < storage->n; i++) {
                const struct runtime_idmap_entry *e = &storage->e[i];
                if (host >= e->host_id && host - e->host_id < e->size) {
                        *ret = e->container_id + (host - e->host_id);
                        return 0;
                }
        }
        return -ERANGE;
}

int cmd_volume_chown(const char *source, uint32_t uid, uint32_t gid, const struct runtime_config *cfg,
                     struct hutch_error **err)
{
        struct cmd_userns def = { 0 };
        uint32_t su, sg;
        int r;

        r = cmd_userns_load(&def, err);
        if (r < 0)
                return r;
        /* the storage namespace has the default map: the container's IDs
         * go through the host's to the storage namespace's */
        if (to_storage_id(&cfg->uidmap, &def.uidmap, uid, &su) < 0 ||
            to_storage_id(&cfg->gidmap, &def.gidmap, gid, &sg) < 0) {
                cmd_userns_clear(&def);
                return hutch_error_set(err, ERANGE, "volume '%s' with :U: %u:%u is not in the container's ID map",
                                       source, uid, gid);
        }
        cmd_userns_clear(&def);
        struct chown_job j = { source, su, sg };
        r = cmd_storage_in_userns(chown_in_userns, &j, false, err);
        if (r > 0)
                return hutch_error_set(err, 0, "could not change the owner of '%s' for :U", source);
        return r;
}

int cmd_keepid_rootfs(struct runtime_rootfs *rootfs, const char *driver, struct hutch_error **err)
{
        if (check_fuse(rootfs->fuse_overlayfs, driver, err) < 0)
                return -1;
        rootfs->mode = RUNTIME_ROOTFS_FUSE_OVERLAYFS;
        rootfs->fallback = false;
        return 0;
}

int cmd_volumes_chown(const struct cmd_volume *vols, size_t n, const struct runtime_config *cfg,
                      struct hutch_error **err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        struct runtime_user user = { 0 };
        bool any = false;
        int r = 0;

        for (size_t i = 0; i < n; i++)
                any |= vols[i].chown;
        if (!any)
                return 0;
        if (cmd_image_file_read(cfg->rootfs.upperdir, cfg->rootfs.lowerdirs, "etc/passwd", &passwd, err) < 0 ||
            cmd_image_file_read(cfg->rootfs.upperdir, cfg->rootfs.lowerdirs, "etc/group", &group, err) < 0)
                return hutch_error_prefix(err, ":U: read the container's users");
        if (runtime_user_resolve(cfg->user, passwd, group, &user, err) < 0)
                return hutch_error_prefix(err, ":U");
        for (size_t i = 0; i < n && r == 0; i++)
                if (vols[i].chown)
                        r = cmd_volume_chown(vols[i].source, user.uid, user.gid, cfg, err);
        runtime_user_clear(&user);
        return r;
}
