/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Cgroup paths as text ("/a.slice/b.scope", relative to the hierarchy's
 * root): pure string functions, no I/O. */

#include <stdbool.h>
#include <stddef.h>

/* Pure. 0 when cgroup is an absolute path with no ".", ".." or empty
 * components (a single "/" is the root), no control characters, and at most
 * PATH_MAX; -EINVAL otherwise. */
int cgroup_path_validate(const char *cgroup);

/* The cgroup path of the parent of cgroup ("/a/b" -> "/a", "/a" -> "/"),
 * into buf; -EINVAL for "/" or an invalid path, -ENOBUFS if too small. */
int cgroup_parent(const char *cgroup, char *buf, size_t size);

/* True when cgroup is ancestor or below it ("/a" contains "/a" and "/a/b",
 * not "/ab"; "/" contains everything). */
bool cgroup_contains(const char *ancestor, const char *cgroup);

/* True when parent is the direct parent of child. */
bool cgroup_is_direct_child(const char *parent, const char *child);

/* A sorted copy of the cgroup paths without duplicates and without paths
 * below another one of the list. 0 or -ENOMEM. */
int cgroup_paths_minimize(char *const *paths, size_t n, char ***ret);

/* A file name for a cgroup (a group's state file, a squeeze record): the
 * cgroup path escaped as
 * `systemd-escape --path` does ("/kubepods/besteffort/pod1" ->
 * "kubepods-besteffort-pod1", "-" -> "\x2d", "/" -> "-"). */
int cgroup_path_escape(const char *cgroup, char **ret);

/* Pure. The cgroup of a process in the memory hierarchy, from the text of
 * /proc/PID/cgroup: with v1 the line whose controller list has "memory"
 * ("4:memory:/a/b"), otherwise the unified line ("0::/a/b"). A copy of the
 * path (validated by cgroup_path_validate())
 * into *ret. -ENOENT when there is no such line, -EINVAL when its path is
 * invalid, -ENOMEM. */
int cgroup_from_proc_text(const char *text, bool v1, char **ret);
