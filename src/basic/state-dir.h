/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>

/* memqosd's state directory (--state-dir, /run/memqos): state files and
 * squeeze records, written by root. Whoever else can write there can make
 * root overwrite any file (a planted symlink) or make memqosd "restore" a
 * limit it never squeezed (a planted record). So the directory is trusted
 * only when nobody but memqosd's own user can change it:
 *
 * - it, and its units/, groups/ and squeeze/, belong to memqosd's euid and
 *   are writable by nobody else (a missing one is made, mode 0755);
 * - every directory above it belongs to root or to memqosd's euid and, when
 *   others may write to it, has the sticky bit (/tmp), so nobody else can
 *   swap what lies below;
 * - no component is a symlink (each is opened with O_NOFOLLOW from an fd of
 *   the one above, as openat2 RESOLVE_NO_SYMLINKS would, and then checked by
 *   fstat on that fd, so what is checked is what is used).
 *
 * All file operations then go through the returned fd (openat(), renameat(),
 * unlinkat(), with O_NOFOLLOW), never through a path. */

#include <stdbool.h>
#include <sys/types.h>

typedef enum StateDirProblem {
        STATE_DIR_OK,
        STATE_DIR_FOREIGN_OWNER,  /* not owned by memqosd's euid (ancestors: nor root) */
        STATE_DIR_OTHERS_WRITE,   /* writable by group or others (ancestors: without sticky bit) */
        STATE_DIR_NOT_DIRECTORY,
        _STATE_DIR_PROBLEM_MAX,
} StateDirProblem;

/* Pure: what is wrong with a directory of this owner and mode, as the state
 * directory (or one of its subdirectories) itself (ancestor false), or as a
 * directory above it (ancestor true), for a daemon running as euid. */
StateDirProblem state_dir_check(uid_t owner, mode_t mode, uid_t euid, bool ancestor);
const char *state_dir_problem_to_string(StateDirProblem p);

/* Opens the absolute path as the state directory for euid, making it and
 * its missing parents (0755), every component checked as above. Returns an
 * O_DIRECTORY fd; -EPERM when a component fails a check (*ret_problem and
 * *ret_component, the path up to that component, say which), -EINVAL for
 * "/", a relative path or one with "..", -ELOOP for a symlink on the way,
 * -ENOTDIR for a file, else the errno of the failed call (the component in
 * *ret_component for these too). ret_component may be NULL. */
int state_dir_open(const char *path, uid_t euid, StateDirProblem *ret_problem, char **ret_component);

/* The same for the subdirectory `name` of an open state directory. */
int state_dir_open_sub(int dirfd, const char *name, uid_t euid, StateDirProblem *ret_problem);

/* Reads the text file name below dirfd (at most size_max bytes), never
 * through a symlink, never blocking on a FIFO: -ELOOP for a symlink,
 * -EBADFD for what is not a regular file, -EFBIG when larger, -EBADMSG for
 * a NUL byte. Also for squeeze records (emulate/squeeze.h). */
int state_dir_read_file(int dirfd, const char *name, size_t size_max, char **ret);
/* A listing of dirfd's directory with an fd of its own (dirfd stays open). */
int state_dir_opendir(int dirfd, DIR **ret);
