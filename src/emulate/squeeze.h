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
 * write, and the record is removed only once the limit is known not to be
 * squeezed any more. squeeze_restore_all() runs at every start and as
 * `memqosd --restore-limits` (the unit's ExecStopPost=): every recorded
 * limit still at its squeezed value is put back; one that somebody else
 * changed since is left as they wrote it.
 *
 * The kernel keeps a limit in whole pages of its own size (4 KiB, 16 KiB,
 * 64 KiB): a written value reads back rounded down to a page. Every
 * comparison here takes the page size as an argument (sysconf(_SC_PAGESIZE)
 * in the daemon) so that a squeezed limit is recognised on any kernel.
 *
 * The directory is opened by state-dir.h (nobody else can write there), and
 * records are still checked before they are acted on: a record must be one
 * memqosd could have written (the squeezed limit below the one to put back,
 * whole 4 KiB pages), its file named after its cgroup, and its cgroup
 * inside the memory hierarchy; a restore never lowers a limit. A record
 * that fails a check is named in the journal and kept for the operator. */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup/memcg.h"

typedef struct SqueezeRecord {
        char *cgroup;
        uint64_t limit;    /* the limit to put back (MEMCG_UNLIMITED: none) */
        uint64_t squeezed; /* the value memqosd wrote */
        /* A standing bound (squeeze_hold()) being moved: the value before
         * `squeezed`, which the limit may still read if memqosd stopped
         * between the record and the write; 0 for none. */
        uint64_t previous;
        /* The file held: NULL for memory.limit_in_bytes (v1; every squeeze),
         * or SQUEEZE_FILE_V2_HIGH (a v2 hold). Points to a constant. */
        const char *file;
        /* A v1 hold: memqosd disabled the kernel's OOM kill in the cgroup
         * (it was enabled) and enables it again when the hold ends. */
        bool oom_kill_disabled;
} SqueezeRecord;

#define SQUEEZE_FILE_V1_LIMIT "memory.limit_in_bytes"
#define SQUEEZE_FILE_V2_HIGH "memory.high"

void squeeze_record_done(SqueezeRecord *r);

/* Pure: the record's text ("CGROUP=...\nLIMIT=...\nSQUEEZED=...\n", and
 * "PREVIOUS=...\n" when set, "FILE=memory.high\n" for a v2 hold,
 * "OOM_KILL_DISABLED=1\n" for a v1 hold that disabled the kernel's OOM
 * kill; limits as numbers or "max") and back; FILE= takes only the two
 * files above. Parsing: -EINVAL when a key is missing or malformed, or the
 * cgroup path is invalid. */
int squeeze_record_format(const SqueezeRecord *r, char **ret);
int squeeze_record_parse(const char *text, SqueezeRecord *ret);

/* Pure: the file name of a cgroup's record, cgroup_path_escape()'s
 * escaped path, which never starts with "."; a record being written is
 * ".#<name>" until it is renamed into place, so no cgroup name (not even
 * "x.tmp") can look like an unfinished record. */
int squeeze_record_name(const char *cgroup, char **ret);

/* Pure: whether memqosd could have written the record: the squeezed limit
 * is whole 4 KiB pages (the smallest page size), above 0 and below the
 * limit to put back (a squeeze only lowers); so is `previous` when set;
 * OOM_KILL_DISABLED= only on a v1 limit. */
bool squeeze_record_plausible(const SqueezeRecord *r);

typedef enum SqueezeVerdict {
        SQUEEZE_PUT_BACK,     /* the limit is still the squeezed one: write the record's */
        SQUEEZE_NOT_SQUEEZED, /* the limit is the record's own (the squeeze never took, or was undone) */
        SQUEEZE_CHANGED,      /* somebody else wrote a limit since: theirs stays */
        SQUEEZE_GONE,         /* the cgroup is gone */
} SqueezeVerdict;

/* Pure: what to do with a plausible record when the cgroup's limit reads
 * `current` on a kernel of page_size pages: the squeezed value and the
 * record's limit are compared as the kernel keeps them, rounded down to a
 * page; the limit reading `previous` counts as squeezed too. -EINVAL for a record that is not plausible or a page_size that is
 * not a power of two of at least 4096. Never SQUEEZE_PUT_BACK when that
 * would lower the limit. */
int squeeze_record_verdict(const SqueezeRecord *r, uint64_t current, uint64_t page_size);

/* Squeezes the child cgroup open at cgroup_fd (path cgroup below the root)
 * to `squeezed` and restores its limit, with the record in the directory
 * records_fd around it. *ret_old gets the limit found. -EBUSY from the
 * kernel (it could not get below) still counts as done: what it reclaimed
 * is reclaimed. Returns 0, or a negative errno when the limit could not be
 * read or squeezed. The record stays for the next start whenever the limit
 * is not known to be unsqueezed: -EIO when the restore failed, -ESTALE when
 * the limit read back is neither the squeezed one nor the old one. A limit
 * held by squeeze_hold() is squeezed below the hold and put back to it;
 * the hold's record (and its limit to put back) stays. */
int squeeze_run(int records_fd, int cgroup_fd, const char *cgroup, uint64_t squeezed, uint64_t page_size,
                uint64_t *ret_old);

/* The standing bound of #13: a squeeze that stays. Holds the limit of the
 * child open at cgroup_fd at `bound` (rounded down to a page) with its
 * record, until squeeze_release() or the next start. On v1 (a limit, where
 * the kernel OOM-kills in the child when it cannot reclaim below it) the
 * kernel's OOM kill in the child is disabled before the first hold, its
 * record saying so, and enabled again when the hold ends: an allocation at
 * the bound with nothing left to reclaim waits for the caller to raise the
 * bound (memory.oom_control's under_oom says one does), or for the
 * priority kill, instead of being killed by the kernel. A child whose kill
 * was disabled already (by its owner) is left as it is. The limit to put back
 * is the one found before the first hold; a limit somebody else wrote
 * while the hold was in force becomes the one to put back (and the hold
 * goes on below it). A bound at or above that limit releases the hold.
 * file: SQUEEZE_FILE_V1_LIMIT, or SQUEEZE_FILE_V2_HIGH on cgroup v2 (where
 * the kernel throttles and reclaims in the child's context above it, and
 * never kills for it).
 * *ret_limit: the limit to put back. -EBUSY when the kernel could not get
 * the child below `bound` (the hold stays where it was, its record true);
 * -EBADF without a records directory; other negative errnos of the I/O. */
int squeeze_hold(int records_fd, int cgroup_fd, const char *cgroup, const char *file, uint64_t bound,
                 uint64_t page_size, uint64_t *ret_limit);

/* Ends a hold: the limit to put back is written (unless somebody else
 * wrote one meanwhile), then the kernel's OOM kill enabled again where the
 * hold disabled it (after the limit: a task waiting at the bound must find
 * the old limit when it wakes), and the record removed. 0 also when there
 * was none. */
int squeeze_release(int records_fd, int cgroup_fd, const char *cgroup, uint64_t page_size);

/* The record of cgroup in records_fd: 0 and *ret filled, -ENOENT for none,
 * -EBADMSG when it cannot be parsed or is not plausible. */
int squeeze_record_load(int records_fd, const char *cgroup, SqueezeRecord *ret);

/* Called once per record: name is its file name; r is NULL when the file
 * could not be read or parsed. result is a SqueezeVerdict (SQUEEZE_PUT_BACK:
 * put back) and the record was removed, or a negative errno and the record
 * stays: -EBADMSG not a record, -EINVAL a record memqosd could not have
 * written (or named after another cgroup, or outside the hierarchy),
 * -ELOOP/-EBADFD not a regular file, others: the limit could not be
 * read or put back. */
typedef void (*squeeze_restored_t)(const char *name, const SqueezeRecord *r, int result, void *userdata);

/* Puts back every recorded limit in the directory records_fd (see above).
 * Returns the number of records left (each one a negative result above),
 * or a negative errno when the directory cannot be read. */
int squeeze_restore_all(const MemcgRoot *root, int records_fd, uint64_t page_size, squeeze_restored_t cb,
                        void *userdata);
