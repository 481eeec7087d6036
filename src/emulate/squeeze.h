/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The v1 limit squeeze and its crash safety.
 *
 * cgroup v1 has no memory.reclaim, so memqosd reclaims from a child by
 * lowering its memory.limit_in_bytes below its usage (the kernel reclaims in
 * memqosd's context to get under it, or gives up with EBUSY; it never kills
 * for it) and putting the old limit back at once. Between the two writes
 * the child's own allocations meet the lower limit, so the window is kept to
 * the one write, and the squeezed limit never goes below what the child
 * cannot give (its unreclaimable memory).
 *
 * So that no squeezed limit outlives memqosd, the old limit goes to a record
 * file in <state dir>/squeeze/ (a tmpfs: /run/memqos) before the first
 * write, and the record is removed after the restore. squeeze_restore_all()
 * runs at every start and as `memqosd --restore-limits` (the unit's
 * ExecStopPost=): every recorded limit still at its squeezed value is put
 * back; one that somebody else changed since is left as they wrote it. */

#include <stdbool.h>
#include <stdint.h>

#include "memcg.h"

typedef struct SqueezeRecord {
        char *cgroup;
        uint64_t limit;    /* the limit to put back (MEMCG_UNLIMITED: none) */
        uint64_t squeezed; /* the value memqosd wrote */
} SqueezeRecord;

void squeeze_record_done(SqueezeRecord *r);

/* Pure: the record's text ("CGROUP=...\nLIMIT=...\nSQUEEZED=...\n", limits
 * as numbers or "max") and back. Parsing: -EINVAL when a key is missing or
 * malformed, or the cgroup path is invalid. */
int squeeze_record_format(const SqueezeRecord *r, char **ret);
int squeeze_record_parse(const char *text, SqueezeRecord *ret);

/* Squeezes the child cgroup open at dirfd (path cgroup below r) to
 * `squeezed` and restores its limit, with the record in dir around it.
 * *ret_old gets the limit found. -EBUSY from the kernel (it could not get
 * below) still counts as done: what it reclaimed is reclaimed. Returns 0,
 * or a negative errno when the limit could not be read or squeezed; a
 * failed restore returns -EIO and leaves the record for the next start. */
int squeeze_run(const char *dir, int dirfd, const char *cgroup, uint64_t squeezed, uint64_t *ret_old);

typedef void (*squeeze_restored_t)(const SqueezeRecord *r, int result, void *userdata);

/* Puts back every recorded limit in dir (see above). For each record the
 * callback gets 1 (restored), 0 (nothing to do: the cgroup is gone or its
 * limit was changed by someone else) or a negative errno (the record stays).
 * Returns the number of records that could not be restored, or a negative
 * errno when dir cannot be read (a missing dir is no records: 0). */
int squeeze_restore_all(const MemcgRoot *root, const char *dir, squeeze_restored_t cb, void *userdata);
