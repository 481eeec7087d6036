/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One inotify instance for every watch of an event loop (memcg-watch.c's
 * v2 memory.events watches).
 *
 * An instance per watch would cost each followed cgroup an fd, and the
 * kernel gives a user only fs.inotify.max_user_instances of them (128 by
 * default, root included): past that many units, inotify_init1() fails with
 * EMFILE. Watches (inotify's, max_user_watches) are plentiful. Two owners
 * watching one file get the same wd from the kernel, so the hub keeps one
 * entry per (wd, owner) and removes a wd from the kernel only when no entry
 * holds it any more. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct InotifyHub InotifyHub;

/* Called once per owner after one read of the instance, when any of its
 * files changed (or the kernel's queue overflowed: everyone's may have);
 * dropped: the kernel dropped a watch of the owner (IN_IGNORED or
 * IN_DELETE_SELF: the file went, with its cgroup). The handler may remove
 * any owner from the hub, itself included. */
typedef void (*InotifyHubHandler)(void *owner, bool dropped);

/* The hub of event loop e, made when it has none. 0 or a negative errno. */
int inotify_hub_get(sd_event *e, InotifyHub **ret);

/* Watches path (mask, as inotify_add_watch()) for owner. 0, or a negative
 * errno (that of inotify_add_watch(), or -ENOMEM); on error nothing of this
 * call stays. */
int inotify_hub_add(InotifyHub *h, const char *path, uint32_t mask, void *owner, InotifyHubHandler handler);

/* Forgets every watch of owner. The hub is freed when no owner is left
 * (after its dispatch, when called from a handler). */
void inotify_hub_remove(InotifyHub *h, void *owner);
