/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The only code that touches /sys/fs/cgroup.
 *
 * A MemcgRoot is the root of the memory controller's hierarchy: /sys/fs/cgroup
 * on the unified (v2) layout, /sys/fs/cgroup/memory on the legacy and hybrid
 * (v1) layouts, or any directory given on the command line. A cgroup is named
 * by its path below that root as systemd's ControlGroup property spells it
 * ("/offline.slice/x.scope"); the same path is valid in every hierarchy. */

#include <stdbool.h>
#include <stdint.h>

#define MEMCG_UNLIMITED UINT64_MAX

typedef enum MemcgLayout {
        MEMCG_LAYOUT_V1,
        MEMCG_LAYOUT_V2,
} MemcgLayout;

const char *memcg_layout_to_string(MemcgLayout l); /* "v1", "v2" */

typedef struct MemcgRoot {
        MemcgLayout layout;
        char *path; /* absolute, no trailing slash */
        int fd;     /* O_PATH|O_DIRECTORY of path */
} MemcgRoot;

/* Finds the memory hierarchy below sysfs_cgroup (normally "/sys/fs/cgroup"):
 * cgroup2 with "memory" in cgroup.controllers -> v2; else <sysfs_cgroup>/memory
 * mounted as cgroup v1 -> v1. -ENOENT/-ENOMEDIUM when there is none. */
int memcg_root_detect(const char *sysfs_cgroup, MemcgRoot **ret);
/* An explicit root directory (tests, --cgroup-root); layout by filesystem magic. */
int memcg_root_open(const char *path, MemcgRoot **ret);
void memcg_root_free(MemcgRoot *r);

/* Pure. 0 when cgroup is an absolute path with no ".", ".." or empty
 * components (a single "/" is the root), no control characters, and at most
 * PATH_MAX; -EINVAL otherwise. */
int memcg_path_validate(const char *cgroup);

/* Opens the cgroup's directory below the root without leaving the root and
 * without following symlinks (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
 * falling back to a component walk with O_NOFOLLOW). Returns an O_DIRECTORY
 * fd, -EINVAL for a bad path, -ENOENT when the cgroup does not exist. */
int memcg_open(const MemcgRoot *r, const char *cgroup);

/* The files memqos programs (shared/docs/kernel-abi.md). */
typedef enum MemcgKnob {
        MEMCG_PRIORITY,             /* memory.priority 0..12 */
        MEMCG_USE_PRIORITY_OOM,     /* memory.use_priority_oom 0/1 */
        MEMCG_WMARK_RATIO,          /* memory.wmark_ratio 0..100 */
        MEMCG_WMARK_SCALE_FACTOR,   /* memory.wmark_scale_factor 1..1000 */
        _MEMCG_KNOB_MAX,
} MemcgKnob;

const char *memcg_knob_file(MemcgKnob k);       /* "memory.priority" */
uint64_t memcg_knob_default(MemcgKnob k);       /* the kernel's default */

/* Reads one integer file; "max" reads as MEMCG_UNLIMITED. -ENOENT when the
 * file does not exist (feature missing), other negative errnos on error. */
int memcg_read_u64(int dirfd, const char *file, uint64_t *ret);
int memcg_write_u64(int dirfd, const char *file, uint64_t value);

/* The limit the watermarks are relative to: v2 min(memory.high, memory.max),
 * v1 memory.limit_in_bytes. MEMCG_UNLIMITED when none. */
int memcg_read_limit(const MemcgRoot *r, int dirfd, uint64_t *ret);
int memcg_read_usage(const MemcgRoot *r, int dirfd, uint64_t *ret);

/* Desired and applied state of one cgroup's knobs. */
typedef struct MemcgDesired {
        bool want[_MEMCG_KNOB_MAX];
        uint64_t value[_MEMCG_KNOB_MAX];
} MemcgDesired;

typedef enum ApplyState {
        APPLY_UNSET,       /* not wanted: left alone */
        APPLY_WRITTEN,     /* differed, written and read back equal */
        APPLY_IN_PLACE,    /* already had the desired value */
        APPLY_UNSUPPORTED, /* the kernel has no such file on this cgroup */
        APPLY_FAILED,      /* write failed or read back a different value */
        _APPLY_STATE_MAX,
} ApplyState;

const char *apply_state_to_string(ApplyState s); /* "unset", "written", "in-place", "unsupported", "failed" */

typedef struct MemcgApplied {
        ApplyState state[_MEMCG_KNOB_MAX];
        uint64_t current[_MEMCG_KNOB_MAX]; /* value read back (valid for WRITTEN/IN_PLACE/FAILED-with-read) */
        int error[_MEMCG_KNOB_MAX];        /* negative errno for FAILED */
} MemcgApplied;

/* Pure: what to do for one knob given the desired value and what was read
 * (read_error 0 with current, or a negative errno). Returns
 * APPLY_UNSET (not wanted), APPLY_IN_PLACE (equal), APPLY_UNSUPPORTED
 * (read_error == -ENOENT) or APPLY_WRITTEN meaning "needs a write". */
ApplyState memcg_plan_knob(bool want, uint64_t desired, int read_error, uint64_t current);

/* Applies desired to the cgroup open at dirfd: for each wanted knob read,
 * write only if it differs, read back. Never fails as a whole: the
 * per-knob outcome is in *ret. */
void memcg_apply(int dirfd, const MemcgDesired *d, MemcgApplied *ret);

/* Pure: the watermarks of kernel-abi.md. ratio 0 -> both MEMCG_UNLIMITED;
 * limit MEMCG_UNLIMITED -> both MEMCG_UNLIMITED. */
void memcg_watermarks(uint64_t limit, unsigned ratio, unsigned scale_factor,
                      uint64_t *ret_high, uint64_t *ret_low);
