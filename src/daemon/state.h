/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state file of a unit: /run/memqos/units/<unit>, what memqos wants and
 * what it found, so that operators and tests can see it without a patched
 * kernel. One KEY=value per line (env-file syntax, see memqosd(8)):
 *
 *   UNIT=offline.slice
 *   CGROUP=/offline.slice
 *   ACTIVE=yes
 *   STOPPED_AT=
 *   SOURCES=/etc/memqos/memqos.conf:4 /etc/.../50-memqos.conf:7 /etc/.../50-memqos.conf:10
 *   MEMORY_PRIORITY=2
 *   MEMORY_PRIORITY_STATE=unsupported
 *   USE_PRIORITY_OOM=1
 *   ...
 *   USAGE_BYTES=104857600
 *   LAST_EVENT=threshold
 *   LAST_EVENT_AT=2026-11-30T20:40:00Z
 *
 * A knob that is not wanted has an empty value and STATE=unset.
 *
 * ACTIVE=yes: memqosd runs and the cgroup exists, the policy is in force.
 * When memqosd stops, every file is marked ACTIVE=no with STOPPED_AT= the
 * time of the stop (UTC, ISO 8601) and kept, as a record of what was last
 * in force; the next memqosd removes them all at its start and writes anew
 * what it follows. The files live in directories opened by state-dir.h. */

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cgroup/memcg.h"
#include "conf/policy.h"

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
        uint64_t usage;       /* when written; MEMCG_UNLIMITED when unknown */
        uint64_t last_event_usec; /* CLOCK_REALTIME of the unit's last event, 0 for none */
        const char *last_event;   /* its kind (event_kind()), NULL for none */
} UnitState;

/* Pure: the file's text. */
int state_format(const UnitState *s, FILE *f);

/* Pure: text (a state file) marked as memqosd stopped at realtime_usec
 * (CLOCK_REALTIME): ACTIVE=no and STOPPED_AT= that time, every other line
 * as it was (a file without STOPPED_AT= gets it after ACTIVE=). */
int state_text_mark_stopped(const char *text, uint64_t realtime_usec, char **ret);

/* Writes <dirfd>/<name> atomically (temporary ".#<name>" + renameat), never
 * through a symlink. -EINVAL for a name with "/", ".", ".." or a leading ".". */
int state_write(int dirfd, const char *name, const UnitState *s);
int state_remove(int dirfd, const char *name);
/* Every state file in dirfd marked stopped (state_text_mark_stopped());
 * returns the number that could not be, or a negative errno. */
int state_mark_all_stopped(int dirfd, uint64_t realtime_usec);
/* Removes every state file (and leftover temporary file) in dirfd. */
int state_remove_all(int dirfd);
