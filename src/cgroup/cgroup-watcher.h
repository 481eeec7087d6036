/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgroups below some directories of the memory hierarchy, as they come
 * and go, without polling: the source of groups that systemd does not own
 * (kubelet's cgroupfs driver, container runtimes, plain trees).
 *
 * One inotify instance watches every directory at every depth below each
 * root (IN_CREATE, IN_DELETE, IN_MOVED_FROM/TO, IN_DELETE_SELF,
 * IN_MOVE_SELF, IN_ONLYDIR; vfs mkdir/rmdir/rename on cgroupfs notify like on
 * any filesystem). A new directory is watched first and read right after,
 * so that children made before its watch existed are found too. A root
 * that does not exist (yet) is waited for by watching its nearest existing
 * ancestor. When the kernel's event queue overflows (IN_Q_OVERFLOW), and on
 * cgroup_watcher_rescan() (SIGHUP), the trees are read again in full and
 * compared with what was known.
 *
 * Each cgroup is reported once when it appears (parents before children)
 * and once when it disappears (children before parents), with its path as
 * systemd spells it ("/kubepods/besteffort/pod1"), the roots themselves
 * included. A directory replaced by another of the same name between two
 * looks is reported gone and then appeared.
 *
 * Directories are opened below the MemcgRoot with memcg_open() and openat()
 * of single names with O_NOFOLLOW, and watched through /proc/self/fd: no
 * symlink is followed and nothing outside the root is ever watched. Names
 * that cgroup_path_validate() refuses (control characters) are skipped.
 *
 * Cost: one watch and one directory read per cgroup, plus one watch per
 * directory above the roots. Measured on 6.18 v1 (tests/host/
 * test-cgroupfs.c, 2 CPUs): 2,020 cgroups made by another process in a
 * tight mkdir loop (0.3-0.6 s) are all reported 0-50 ms after its last
 * mkdir, none lost; their removal likewise 0-6 ms after the last rmdir.
 * Each watch counts against fs.inotify.max_user_watches (192493 here);
 * running out is logged as a warning naming the directory, which is then
 * not followed. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "basic/util.h"
#include "cgroup/memcg.h"

typedef struct CgroupWatcher CgroupWatcher;

/* Called for every appearance and disappearance. It must not free the
 * watcher or call cgroup_watcher_rescan()/_set_roots() (defer those). */
typedef void (*cgroup_event_handler_t)(const char *cgroup, bool appeared, void *userdata);

/* Watches below roots (a NULL-terminated vector of cgroup paths; NULL or
 * empty: nothing; duplicates and roots below other roots are folded) in the
 * hierarchy of root, which must outlive the watcher. The first full scan
 * happens before this returns: the handler is called for every cgroup
 * present, from within this call. Events are read by an IO source on e.
 * 0, -EINVAL for a root cgroup_path_validate() refuses, -ENOMEM, or the
 * errno of inotify_init1() or sd_event_add_io(), -ENOSYS without /proc
 * (directories are watched through /proc/self/fd). */
int cgroup_watcher_new(sd_event *e, const MemcgRoot *root, char *const *roots, cgroup_event_handler_t handler,
                       void *userdata, CgroupWatcher **ret);

/* Reads every tree again and reports the difference with what was known:
 * what appeared, what vanished, what was replaced. For SIGHUP. 0, or a
 * negative errno of the first directory that could not be watched or read
 * (the rest is still scanned). */
int cgroup_watcher_rescan(CgroupWatcher *w);

/* New roots (after a reload of the rules), then a rescan: the cgroups no
 * longer below any root are reported as disappeared, although they still
 * exist (they are out of our sight); those newly below one as appeared;
 * those still below one are not reported again. Same returns as
 * cgroup_watcher_new() and cgroup_watcher_rescan(). */
int cgroup_watcher_set_roots(CgroupWatcher *w, char *const *roots);

/* inotify watches held: one per cgroup known, plus one per directory a
 * missing root is waited in. For tests and statistics. */
size_t cgroup_watcher_n_watched(const CgroupWatcher *w);
/* cgroups known (reported as appeared and not yet as disappeared). */
size_t cgroup_watcher_n_cgroups(const CgroupWatcher *w);

/* Calls f for every cgroup known, in path order (parents before children),
 * e.g. to look at all of them again after the rules changed: set_roots()
 * does not report again those it keeps. f must not change the watcher. */
void cgroup_watcher_foreach(CgroupWatcher *w, void (*f)(const char *cgroup, void *userdata), void *userdata);

/* Releases everything without reporting anything. Returns NULL. */
CgroupWatcher *cgroup_watcher_free(CgroupWatcher *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupWatcher *, cgroup_watcher_free);
