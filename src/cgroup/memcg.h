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
#include <stdio.h>
#include <sys/types.h>

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
/* An explicit root directory (tests, --cgroup-root); layout by filesystem magic.
 * On any other filesystem (test fixtures) the layout is told by the files of
 * the directory: cgroup.controllers listing "memory" -> v2,
 * memory.limit_in_bytes -> v1; -ENOMEDIUM for a hierarchy without memcg. */
int memcg_root_open(const char *path, MemcgRoot **ret);
void memcg_root_free(MemcgRoot *r);

/* Opens the cgroup's directory below the root without leaving the root and
 * without following symlinks (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
 * falling back to a component walk with O_NOFOLLOW). Returns an O_DIRECTORY
 * fd, -EINVAL for a bad path, -ENOENT when the cgroup does not exist.
 * Other errnos come from the kernel as they are: -ELOOP for a symlink on the
 * way, -ENOTDIR for a file, -EXDEV for a lookup that would leave the root. */
int memcg_open(const MemcgRoot *r, const char *cgroup);
/* The fallback walk of memcg_open() (for kernels without openat2(), or
 * seccomp filters that refuse it), exported so tests can run it directly. */
int memcg_open_walk(int rootfd, const char *cgroup);

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
 * file does not exist (feature missing), other negative errnos on error.
 * Values at or above the kernel's page-counter maximum in bytes
 * (PAGE_COUNTER_MAX * PAGE_SIZE: 9223372036854771712 with 4 KiB pages, which
 * v1 prints for "no limit") read as MEMCG_UNLIMITED too. Trailing whitespace
 * is accepted; an empty file, a sign, leading blanks or other text give
 * -EBADMSG, a number beyond uint64 -ERANGE.
 * Writing MEMCG_UNLIMITED writes "-1" on cgroup v1 and "max" elsewhere. The
 * kernel's errno of a refused write (EINVAL, EBUSY) is returned as is; a
 * missing file is never created. */
int memcg_read_u64(int dirfd, const char *file, uint64_t *ret);
/* Pure: the same on the text of such a file (NUL-terminated). */
int memcg_parse_u64(const char *text, uint64_t *ret);
/* The cgroup open at dirfd was removed (rmdir): its files are gone. */
bool memcg_is_removed(int dirfd);
int memcg_write_u64(int dirfd, const char *file, uint64_t value);

/* The limit the watermarks are relative to: v2 min(memory.high, memory.max),
 * v1 memory.limit_in_bytes. MEMCG_UNLIMITED when none. */
int memcg_read_limit(const MemcgRoot *r, int dirfd, uint64_t *ret);
/* Reads a whole small file below dirfd into buf (NUL-terminated); -EBADMSG
 * when it does not fit. Never follows a symlink. */
int memcg_read_small_file(int dirfd, const char *file, char *buf, size_t size);

int memcg_read_usage(const MemcgRoot *r, int dirfd, uint64_t *ret);

/* The OOM counters of a cgroup's memory.events(.local) (v2) or
 * memory.oom_control (v1). */
typedef struct MemcgOomCounters {
        uint64_t oom;      /* OOM situations (v1: notifications) */
        uint64_t oom_kill; /* tasks killed by the OOM killer */
        uint64_t max;      /* usage hit the limit (v1: memory.failcnt) */
} MemcgOomCounters;

/* Pure: the "key value" lines of memory.events(.local) or memory.oom_control
 * (NUL-terminated text): the counters "oom", "oom_kill" and "max" into *ret,
 * v1's "under_oom" and "oom_kill_disable" as true when not 0. A key counts
 * only when it is the whole key ("under_oom_x" is not "under_oom"); other
 * keys and empty lines are skipped, missing keys read as 0. -EBADMSG on a
 * line that is not a key, one space and a decimal number that fits in 64
 * bits; nothing is written then. Each of ret, ret_under_oom and
 * ret_kill_disabled may be NULL. */
int memcg_parse_oom_file(const char *text, MemcgOomCounters *ret, bool *ret_under_oom, bool *ret_kill_disabled);
/* v1: under_oom and oom_kill_disable of memory.oom_control, read from the
 * cgroup open at dirfd (memcg_parse_oom_file()). */
int memcg_read_oom_control(int dirfd, bool *ret_kill_disabled, bool *ret_under_oom);
/* v1: disables (true) or enables the kernel's OOM kill in the cgroup. With
 * it disabled, a task that meets the limit with nothing left to reclaim
 * waits (at the end of its page fault) until the limit is raised or memory
 * is freed; enabling it again wakes such tasks. */
int memcg_set_oom_kill_disabled(int dirfd, bool disabled);
/* v1: registers the eventfd efd for the cgroup's notifications on `file`
 * (memory.usage_in_bytes with args a threshold, memory.oom_control without)
 * through cgroup.event_control. The kernel keeps the registration until
 * efd is closed or the cgroup removed; each one costs the caller an RCU
 * grace period in the kernel. */
int memcg_register_event(int dirfd, int efd, const char *file, const char *args);

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
        APPLY_EMULATED,    /* not written: memqosd does what the knob would (memqos.conf Backend=) */
        _APPLY_STATE_MAX,
} ApplyState;

const char *apply_state_to_string(ApplyState s); /* "unset", "written", "in-place", "unsupported", "failed", "emulated" */

typedef struct MemcgApplied {
        ApplyState state[_MEMCG_KNOB_MAX];
        uint64_t current[_MEMCG_KNOB_MAX]; /* value read back (valid for WRITTEN/IN_PLACE/FAILED-with-read) */
        int error[_MEMCG_KNOB_MAX];        /* negative errno for FAILED */
} MemcgApplied;

/* Pure: what to do for one knob given the desired value and what was read
 * (read_error 0 with current, or a negative errno). Returns
 * APPLY_UNSET (not wanted), APPLY_IN_PLACE (equal), APPLY_UNSUPPORTED
 * (read_error == -ENOENT) or APPLY_WRITTEN meaning "needs a write";
 * APPLY_FAILED for any other read error. */
ApplyState memcg_plan_knob(bool want, uint64_t desired, int read_error, uint64_t current);

/* Applies desired to the cgroup open at dirfd: for each wanted knob read,
 * write only if it differs, read back. Never fails as a whole: the
 * per-knob outcome is in *ret. A missing file is APPLY_UNSUPPORTED only while
 * the cgroup itself still exists (has cgroup.procs); for a cgroup removed
 * under us each wanted knob is APPLY_FAILED with -ENOENT. A value read back
 * different from the one written is APPLY_FAILED with -EIO. */
void memcg_apply(int dirfd, const MemcgDesired *d, MemcgApplied *ret);

/* Pure: the watermarks of kernel-abi.md, computed in whole pages of
 * page_size bytes (the kernel's, sysconf(_SC_PAGESIZE)) as the kernel keeps
 * its page counters (the limit, wmark_high and the gap each rounded down to
 * pages), so that the values are the ones a patched kernel prints. ratio 0
 * -> both MEMCG_UNLIMITED; limit MEMCG_UNLIMITED or page_size 0 -> both
 * MEMCG_UNLIMITED. Exact for any limit (no intermediate product
 * overflows); ratio above 100 counts as 100, scale_factor above 10000 as
 * 10000; wmark_low never goes below 0. */
void memcg_watermarks(uint64_t limit, unsigned ratio, unsigned scale_factor, uint64_t page_size,
                      uint64_t *ret_high, uint64_t *ret_low);

/* ---- for memqosd's own reclaim and kill (src/emulate/) ---- */

/* What memory.stat says of a cgroup's subtree, in bytes. */
typedef struct MemcgStat {
        uint64_t file; /* page cache on the file LRUs: what reclaim can drop (v1 total_*_file, v2 *_file) */
        uint64_t anon; /* anonymous memory and shmem (v1 total_rss + total_shmem, v2 anon + shmem) */
        /* The part of `file` that is dirty or under writeback (v1 total_dirty
         * + total_writeback, v2 file_dirty + file_writeback): reclaim cannot
         * take it before the disk has it, so a limit squeezed or held below
         * it makes the kernel OOM-kill in the child, not reclaim. */
        uint64_t dirty;
} MemcgStat;

/* Pure: parses the text of memory.stat; missing keys read as 0. -EINVAL on
 * a malformed line. */
int memcg_parse_stat(MemcgLayout layout, const char *text, MemcgStat *ret);
int memcg_read_stat(const MemcgRoot *r, int dirfd, MemcgStat *ret);

/* What reclaim must leave: v2 max(memory.min, memory.low); 0 on v1. */
int memcg_read_protection(const MemcgRoot *r, int dirfd, uint64_t *ret);

/* v2: asks the kernel to reclaim bytes from the subtree (memory.reclaim).
 * -EAGAIN when it could not reclaim all of it, -ENOENT where the kernel has
 * no memory.reclaim (before 5.19), -EOPNOTSUPP on v1. */
int memcg_reclaim(const MemcgRoot *r, int dirfd, uint64_t bytes);

/* The pids in the cgroup itself (cgroup.procs), into a new array. */
int memcg_read_procs(int dirfd, pid_t **ret, size_t *ret_n);
/* The same on an open cgroup.procs (or any text of it): the pids > 0 that
 * fit a pid_t, in order. */
int memcg_parse_procs(FILE *f, pid_t **ret, size_t *ret_n);

/* v2: kills every process of the subtree at once (cgroup.kill, 5.14+).
 * -ENOENT where the kernel has none. */
int memcg_kill_all(int dirfd);

/* True when the cgroup's OOMs kill it as a whole (v2 memory.oom.group=1). */
bool memcg_oom_group(const MemcgRoot *r, int dirfd);

/* The names of the cgroup's child cgroups, sorted, NULL-terminated. */
int memcg_list_children(int dirfd, char ***ret);
