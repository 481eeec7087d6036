/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state file of a unit: /run/memqos/units/<unit>, what memqos wants and
 * what it found, so that operators and tests can see it without a patched
 * kernel. One KEY=value per line (env-file syntax, see memqosd(8)):
 *
 *   UNIT=offline.slice
 *   CGROUP=/offline.slice
 *   ACTIVE=yes
 *   SOURCES=/etc/systemd/system/offline.slice /etc/.../50-memqos.conf
 *   MEMORY_PRIORITY=2
 *   MEMORY_PRIORITY_STATE=unsupported
 *   USE_PRIORITY_OOM=1
 *   ...
 *
 * A knob that is not wanted has an empty value and STATE=unset. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "memcg.h"
#include "policy.h"

typedef struct UnitState {
        const char *unit;    /* may be NULL for groups without a unit */
        const char *cgroup;  /* may be NULL when inactive */
        bool active;
        char *const *sources; /* NULL-terminated, may be NULL */
        const Policy *policy;
        const MemcgDesired *desired;
        const MemcgApplied *applied;
        uint64_t limit;       /* MEMCG_UNLIMITED when none */
        uint64_t wmark_high, wmark_low;
        bool wmark_from_kernel; /* read from memory.wmark_*, else computed */
} UnitState;

/* Pure: the file name of a group's state file: the cgroup path escaped as
 * `systemd-escape --path` does ("/kubepods/besteffort/pod1" ->
 * "kubepods-besteffort-pod1", "-" -> "\x2d", "/" -> "-"). */
int state_name_for_cgroup(const char *cgroup, char **ret);

/* Pure: the file's text. */
int state_format(const UnitState *s, FILE *f);

/* Writes dir/<name> atomically (temporary file + rename). */
int state_write(const char *dir, const char *name, const UnitState *s);
int state_remove(const char *dir, const char *name);
