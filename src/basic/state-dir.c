/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/state-dir.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "basic/util.h"

static const char *const problem_names[_STATE_DIR_PROBLEM_MAX] = {
        [STATE_DIR_OK] = "fine",
        [STATE_DIR_FOREIGN_OWNER] = "owned by another user",
        [STATE_DIR_OTHERS_WRITE] = "writable by other users",
        [STATE_DIR_NOT_DIRECTORY] = "not a directory",
};

DEFINE_STRING_TABLE_TO_STRING(state_dir_problem, StateDirProblem, problem_names)

StateDirProblem state_dir_check(uid_t owner, mode_t mode, uid_t euid, bool ancestor) {
        if (!S_ISDIR(mode))
                return STATE_DIR_NOT_DIRECTORY;
        if (owner != euid && !(ancestor && owner == 0))
                return STATE_DIR_FOREIGN_OWNER;
        /* Above the state directory, a sticky directory writable by all (/tmp)
         * is fine: nobody else may rename or remove what memqosd owns there. */
        if ((mode & (S_IWGRP | S_IWOTH)) && !(ancestor && (mode & S_ISVTX)))
                return STATE_DIR_OTHERS_WRITE;
        return STATE_DIR_OK;
}

static int open_nofollow(int dirfd, const char *name, int flags) {
        int fd = openat(dirfd, name, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Opens (making it when missing) the directory name below dirfd without
 * following a symlink, and checks what it opened. */
static int open_checked(int dirfd, const char *name, uid_t euid, bool ancestor, int flags,
                        StateDirProblem *ret_problem) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = open_nofollow(dirfd, name, flags);
        if (fd == -ENOENT) {
                if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
                        return -errno;
                fd = open_nofollow(dirfd, name, flags);
        }
        if (fd < 0) {
                /* A symlink gives ELOOP or (O_PATH) ENOTDIR: say which it is. */
                if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                        return S_ISLNK(st.st_mode) ? -ELOOP : S_ISDIR(st.st_mode) ? fd : -ENOTDIR;
                return fd;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret_problem = state_dir_check(st.st_uid, st.st_mode, euid, ancestor);
        if (*ret_problem != STATE_DIR_OK)
                return -EPERM;
        return TAKE_FD(fd);
}

int state_dir_open(const char *path, uid_t euid, StateDirProblem *ret_problem, char **ret_component) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -1;
        StateDirProblem problem = STATE_DIR_OK;
        struct stat st;
        char *save = NULL;

        assert(path);
        assert(ret_problem);
        *ret_problem = STATE_DIR_OK;
        if (ret_component)
                *ret_component = NULL;
        if (path[0] != '/')
                return -EINVAL;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;

        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        problem = state_dir_check(st.st_uid, st.st_mode, euid, true);

        char *next = strtok_r(copy, "/", &save);
        if (!next)
                return -EINVAL; /* "/" itself */
        if (problem != STATE_DIR_OK) {
                *ret_problem = problem;
                if (ret_component)
                        *ret_component = strdup("/");
                return -EPERM;
        }

        for (char *name = next; name; name = next) {
                next = strtok_r(NULL, "/", &save);
                if (streq(name, "."))
                        continue;
                if (streq(name, ".."))
                        return -EINVAL;
                bool last = !next;
                int k = open_checked(fd, name, euid, !last, last ? O_RDONLY : O_PATH, ret_problem);
                if (k < 0) {
                        if (ret_component) {
                                /* the path up to and with this component */
                                size_t len = (size_t) (name - copy) + strlen(name);
                                *ret_component = strndup(path, len);
                        }
                        return k;
                }
                safe_close(fd);
                fd = k;
        }
        return TAKE_FD(fd);
}

int state_dir_open_sub(int dirfd, const char *name, uid_t euid, StateDirProblem *ret_problem) {
        assert(dirfd >= 0);
        assert(name);
        assert(ret_problem);
        *ret_problem = STATE_DIR_OK;
        if (strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        return open_checked(dirfd, name, euid, false, O_RDONLY, ret_problem);
}

int state_dir_read_file(int dirfd, const char *name, size_t size_max, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        assert(name);
        assert(ret);
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > size_max)
                return -EFBIG;
        buf = malloc(size_max + 1);
        if (!buf)
                return -ENOMEM;
        n = read(fd, buf, size_max);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        if (strlen(buf) != (size_t) n)
                return -EBADMSG; /* a NUL byte: not text */
        *ret = TAKE_PTR(buf);
        return 0;
}

int state_dir_opendir(int dirfd, DIR **ret) {
        int fd;

        assert(ret);
        if (dirfd < 0)
                return -EBADF;
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret = fdopendir(fd);
        if (!*ret) {
                int r = -errno;
                close(fd);
                return r;
        }
        return 0;
}
