/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "squeeze.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "policy.h"
#include "state.h"
#include "util.h"

#define LIMIT_FILE "memory.limit_in_bytes"

void squeeze_record_done(SqueezeRecord *r) {
        r->cgroup = mfree(r->cgroup);
}

static const char *u64_str(char *buf, size_t size, uint64_t v) {
        if (v == MEMCG_UNLIMITED)
                return "max";
        snprintf(buf, size, "%" PRIu64, v);
        return buf;
}

int squeeze_record_format(const SqueezeRecord *r, char **ret) {
        char a[32], b[32];
        if (asprintf(ret, "CGROUP=%s\nLIMIT=%s\nSQUEEZED=%s\n", r->cgroup, u64_str(a, sizeof(a), r->limit),
                     u64_str(b, sizeof(b), r->squeezed)) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_limit(const char *s, uint64_t *ret) {
        char *end;
        if (streq(s, "max")) {
                *ret = MEMCG_UNLIMITED;
                return 0;
        }
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int squeeze_record_parse(const char *text, SqueezeRecord *ret) {
        _cleanup_free_ char *copy = strdup(text), *cgroup = NULL;
        bool have_limit = false, have_squeezed = false;
        uint64_t limit = 0, squeezed = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EINVAL;
                *eq = 0;
                const char *value = eq + 1;
                if (streq(line, "CGROUP")) {
                        if (memcg_path_validate(value) < 0 || streq(value, "/"))
                                return -EINVAL;
                        free(cgroup);
                        cgroup = strdup(value);
                        if (!cgroup)
                                return -ENOMEM;
                } else if (streq(line, "LIMIT")) {
                        if (parse_limit(value, &limit) < 0)
                                return -EINVAL;
                        have_limit = true;
                } else if (streq(line, "SQUEEZED")) {
                        if (parse_limit(value, &squeezed) < 0)
                                return -EINVAL;
                        have_squeezed = true;
                }
        }
        if (!cgroup || !have_limit || !have_squeezed)
                return -EINVAL;
        *ret = (SqueezeRecord) { .cgroup = TAKE_PTR(cgroup), .limit = limit, .squeezed = squeezed };
        return 0;
}

static int record_path(const char *dir, const char *cgroup, char **ret) {
        _cleanup_free_ char *name = NULL;
        int r = state_name_for_cgroup(cgroup, &name);
        if (r < 0)
                return r;
        if (asprintf(ret, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return 0;
}

static int record_write(const char *dir, const SqueezeRecord *rec) {
        _cleanup_free_ char *path = NULL, *tmp = NULL, *text = NULL;
        _cleanup_(closep) int fd = -1;
        int r;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        r = record_path(dir, rec->cgroup, &path);
        if (r < 0)
                return r;
        r = squeeze_record_format(rec, &text);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t) len) {
                r = errno ? -errno : -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static void record_remove(const char *dir, const char *cgroup) {
        _cleanup_free_ char *path = NULL;
        if (record_path(dir, cgroup, &path) >= 0)
                (void) unlink(path);
}

int squeeze_run(const char *dir, int dirfd, const char *cgroup, uint64_t squeezed, uint64_t *ret_old) {
        SqueezeRecord rec = { .cgroup = (char *) cgroup, .squeezed = squeezed };
        uint64_t now;
        int r, k;

        r = memcg_read_u64(dirfd, LIMIT_FILE, &rec.limit);
        if (r < 0)
                return r;
        *ret_old = rec.limit;
        if (squeezed >= rec.limit)
                return 0; /* the limit is lower already: the kernel holds it there */

        /* No squeeze without a record: a crash between the writes must not
         * leave the limit low with nobody knowing what it was. */
        r = record_write(dir, &rec);
        if (r < 0)
                return r;

        k = memcg_write_u64(dirfd, LIMIT_FILE, squeezed);

        /* Put it back unless somebody else wrote a limit meanwhile. */
        r = memcg_read_u64(dirfd, LIMIT_FILE, &now);
        if (r >= 0 && now == squeezed) {
                for (int attempt = 0; attempt < 3; attempt++) {
                        r = memcg_write_u64(dirfd, LIMIT_FILE, rec.limit);
                        if (r != -EINTR)
                                break;
                }
                if (r < 0)
                        return -EIO; /* the record stays: the next start puts it back */
        } else if (r == -ENOENT || r == -ENODEV)
                r = 0; /* the cgroup went away */
        else if (r < 0)
                return -EIO;
        record_remove(dir, cgroup);

        if (k < 0 && k != -EBUSY)
                return k;
        return 0;
}

int squeeze_restore_all(const MemcgRoot *root, const char *dir, squeeze_restored_t cb, void *userdata) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        int failed = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;

        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_(squeeze_record_done) SqueezeRecord rec = {};
                _cleanup_free_ char *path = NULL, *text = NULL;
                _cleanup_(closep) int fd = -1;
                size_t size;
                uint64_t now;
                int r;

                if (de->d_name[0] == '.' || de->d_type != DT_REG)
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (endswith(de->d_name, ".tmp")) {
                        /* A record never completed: the squeeze never began. */
                        (void) unlink(path);
                        continue;
                }
                r = policy_read_file(path, &text, &size);
                if (r >= 0)
                        r = squeeze_record_parse(text, &rec);
                if (r < 0) {
                        if (cb) {
                                SqueezeRecord bad = { .cgroup = de->d_name };
                                cb(&bad, r, userdata);
                        }
                        (void) unlink(path); /* nothing in it can be acted on */
                        continue;
                }

                fd = root ? memcg_open(root, rec.cgroup) : -ENOMEDIUM;
                if (fd == -ENOENT) {
                        r = 0;
                } else if (fd < 0) {
                        r = fd;
                } else if ((r = memcg_read_u64(fd, LIMIT_FILE, &now)) >= 0) {
                        if (now == rec.squeezed) {
                                r = memcg_write_u64(fd, LIMIT_FILE, rec.limit);
                                r = r < 0 ? r : 1;
                        } else
                                r = 0;
                }
                if (cb)
                        cb(&rec, r, userdata);
                if (r < 0)
                        failed++;
                else
                        (void) unlink(path);
        }
        return failed;
}
