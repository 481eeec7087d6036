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
/* The key of group announcements in m->ratelimit: no unit name or cgroup
 * path starts with a space, so no unit's ratelimit_forget_prefix() drops it. */
#define GROUPS_ANNOUNCED_KEY " [Group] policies"
void manager_say_groups_folded(Manager *m, unsigned n);

/* manager-group.c */
void manager_group_update(Manager *m, const char *cgroup);
/* Reads the [Group] rules of memqos.conf and its drop-ins into *ret. */
int manager_read_rules(Manager *m, RuleSet *ret, Diagnostics *diags);
int manager_setup_groups(Manager *m);
