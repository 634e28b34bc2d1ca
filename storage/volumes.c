#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *storage_volume_path(const char *root, const char *name)
{
        return xasprintf("%s/volumes/%s", root, name);
}

char *storage_volume_data_path(const char *root, const char *name)
{
        return xasprintf("%s/volumes/%s/_data", root, name);
}

bool storage_volume_exists(const char *root, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/volumes/%s/volume.json", root, name);
        return access(p, F_OK) == 0;
}

int storage_volume_create(const char *root, const char *name, bool *ret_created, struct hutch_error **err)
{
        _cleanup_free_ char *vols = xasprintf("%s/volumes", root);
        _cleanup_free_ char *dir = storage_volume_path(root, name);
        _cleanup_free_ char *data = storage_volume_data_path(root, name);
        _cleanup_close_ int dfd = -1;
        char json[512];

        if (mkdir(vols, 0700) < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "create '%s'", vols);
        /* mkdir is the lock: whoever makes the directory creates the volume */
        if (mkdir(dir, 0700) < 0) {
                if (errno != EEXIST)
                        return hutch_error_set(err, errno, "create volume '%s'", name);
                if (ret_created)
                        *ret_created = false;
                for (int i = 0; i < 100 && !storage_volume_exists(root, name); i++)
                        usleep(10000); /* being created by another command */
                return 0;
        }
        if (mkdir(data, 0755) < 0)
                return hutch_error_set(err, errno, "create '%s'", data);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return hutch_error_set(err, errno, "open '%s'", dir);
        snprintf(json, sizeof(json), "{\"Name\":\"%s\",\"Driver\":\"local\",\"Created\":%lld}\n", name,
                 (long long) time(NULL));
        if (hutch_write_file_atomic(dfd, "volume.json", json, strlen(json), 0600, err) < 0)
                return -1;
        if (ret_created)
                *ret_created = true;
        return 0;
}

int64_t storage_volume_created(const char *root, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/volumes/%s/volume.json", root, name);
        _cleanup_free_ char *buf = NULL;
        struct hutch_error *e = NULL;
        size_t len;
        int64_t t = 0;

        if (hutch_read_file_at(AT_FDCWD, p, 4096, &buf, &len, &e) < 0) {
                hutch_error_free(e);
                return 0;
        }
        yajl_val v = hutch_json_parse(buf, len, &e);
        hutch_error_free(e);
        if (v && hutch_json_get_int(v, "Created", &t) < 0)
                t = 0;
        yajl_tree_free(v);
        return t;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int storage_volume_list(const char *root, char ***ret_names, struct hutch_error **err)
{
        _cleanup_free_ char *vols = xasprintf("%s/volumes", root);
        _cleanup_dir_ DIR *d = opendir(vols);
        char **names = xcalloc(1, sizeof(char *));
        struct dirent *de;

        if (d == NULL) {
                if (errno != ENOENT) {
                        hutch_strv_free(names);
                        return hutch_error_set(err, errno, "open '%s'", vols);
                }
                *ret_names = names;
                return 0;
        }
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.' && storage_volume_exists(root, de->d_name))
                        hutch_strv_append(&names, de->d_name);
        qsort(names, hutch_strv_length(names), sizeof(char *), cmp_str);
        *ret_names = names;
        return 0;
}
