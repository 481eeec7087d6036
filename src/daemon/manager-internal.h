/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the files of the Manager (manager.c: the unit table, setup and
 * lifecycle; manager-unit.c: a unit's policy put in force; manager-group.c:
 * [Group] cgroups), as one object spans them. Not for other modules. */

#include "basic/ini-file.h"
#include "conf/rules.h"
#include "daemon/unit.h"

typedef struct Manager Manager;

/* manager.c: the unit table and state files */
void manager_status_later(Manager *m);
int unit_state_fd(Manager *m, Unit *u);
const char *unit_state_name(Unit *u);
void unit_remove_state(Manager *m, Unit *u);

/* manager-unit.c */
void unit_apply(Manager *m, Unit *u);
/* The thresholds that u's pressure-socket clients registered changed: its
 * watch follows. */
void unit_notice_thresholds_changed(Manager *m, Unit *u);
/* Writes u's state file anew (usage, last event); sources NULL: computed. */
void unit_write_state(Manager *m, Unit *u, char *const *sources);
/* The watermarks in force for u: read from the kernel (true) or computed. */
bool unit_watermarks(Manager *m, Unit *u, int dirfd, uint64_t *high, uint64_t *low);
/* MemoryPriority= of the followed unit or group whose cgroup is cgroup, 0
 * otherwise (the kernel's default); userdata is the Manager. What the
 * Emulators' kill walk and the KillOrder dry run weigh. */
unsigned manager_cgroup_priority(const char *cgroup, void *userdata);
/* The cgroup went away under one of u's watches: ask systemd again. */
void unit_watched_cgroup_removed(Unit *u);

/* manager-emulation.c: u's Emulator set up, reconfigured or freed as its
 * policy and desired state say (its watch, set up before, passes OOMs on). */
void unit_update_emulation(Manager *m, Unit *u);

/* manager.c: the time from a unit's cgroup seen to its policy in force. */
void manager_observe_policy_latency(Manager *m, uint64_t usec);
/* The key of group announcements in m->ratelimit: no unit name or cgroup
 * path starts with a space, so no unit's ratelimit_forget_prefix() drops it. */
#define GROUPS_ANNOUNCED_KEY " [Group] policies"
void manager_say_groups_folded(Manager *m, unsigned n);

/* manager-group.c */
void manager_group_update(Manager *m, const char *cgroup);
/* Reads the [Group] rules of memqos.conf and its drop-ins into *ret. */
int manager_read_rules(Manager *m, RuleSet *ret, Diagnostics *diags);
int manager_setup_groups(Manager *m);
