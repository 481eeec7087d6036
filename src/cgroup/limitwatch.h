/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Changes of memory cgroup limits, without polling: the watermarks, the
 * kill watermark and the percent thresholds are relative to a limit that
 * anyone may write at any time (`echo 200M > memory.limit_in_bytes`, a
 * runtime, systemd's set-property).
 *
 * A write(2) to a cgroup file raises IN_MODIFY like on any file system
 * (vfs_write() -> fsnotify_modify(), kernfs included); measured on 6.18 v1:
 * one `echo 200M > memory.limit_in_bytes` gives two IN_MODIFY and one
 * IN_CLOSE_WRITE. So one inotify instance watches the limit files of the
 * cgroups whose limit matters (v1 memory.limit_in_bytes; v2 memory.max and
 * memory.high) for IN_MODIFY: an idle cgroup costs one inotify watch and no
 * wake-up at all, and no descriptor (the file is opened O_PATH to be
 * watched through /proc/self/fd, then closed). A change made by the kernel
 * itself would not be seen, but the kernel never changes a limit.
 *
 * The callback only says "written": it may be the same value again (memqosd's
 * own v1 squeeze writes a child's limit and puts it back), so the receiver
 * reads the limit and compares. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "basic/util.h"
#include "cgroup/memcg.h"

typedef struct LimitWatcher LimitWatcher;
typedef struct LimitWatch LimitWatch;

typedef void (*limit_written_t)(void *userdata);

/* One inotify instance, read by an IO source on e. 0, -ENOMEM, or the errno
 * of inotify_init1() or sd_event_add_io(). */
int limit_watcher_new(sd_event *e, LimitWatcher **ret);
/* Every watch must be freed before. */
LimitWatcher *limit_watcher_free(LimitWatcher *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(LimitWatcher *, limit_watcher_free);

/* Makes *watch follow the limit files of the cgroup open at dirfd, calling
 * cb(userdata) after each write to one of them: keeps *watch when it already
 * follows these very files (the same inodes), else replaces it (a cgroup
 * made again at the same path). Several watches may follow the same files.
 * 0; -ENOENT when the cgroup has no limit file (the v2 root) or is gone
 * (then *watch is freed); -ENOMEM; the errno of inotify_add_watch()
 * (-ENOSPC: fs.inotify.max_user_watches). The callback may free or refresh
 * any watch, its own included. */
int limit_watch_refresh(LimitWatcher *w, LimitWatch **watch, int dirfd, MemcgLayout layout, limit_written_t cb,
                        void *userdata);
LimitWatch *limit_watch_free(LimitWatch *lw);

/* inotify watches held (files followed), for tests and statistics. */
size_t limit_watcher_n_watched(const LimitWatcher *w);
