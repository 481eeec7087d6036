/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The decisions of memqosd's own background reclaim and pre-emptive priority
 * kill (emulator.c does the I/O). Pure: a snapshot of a cgroup subtree in,
 * plain answers out, so that the rules below are tested without root.
 *
 * The rules (docs: memqos.conf(5) [Reclaim] and [OOM]):
 * - Only the subtree under pressure is ever touched: the snapshot is that
 *   subtree, node 0 its root.
 * - Priorities compare siblings, as in the kernel ABI (kernel-abi.md): a
 *   child of a low-priority slice is below every child of a higher one.
 * - Reclaim takes from the lowest-priority child first, page cache before
 *   anonymous memory (anonymous only with swap), recursively; a higher
 *   priority gives only when every lower sibling has nothing left to give.
 *   No cgroup is taken below its floor (what it may keep: memory.min or
 *   memory.low on v2; its unreclaimable part everywhere).
 * - The kill walks down from the root to the lowest-priority child that has
 *   something killable (ties: the larger usage), to a leaf, as the patched
 *   kernel's priority OOM does. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EMU_NODES_MAX 512
#define EMU_NO_PARENT SIZE_MAX

typedef struct EmuNode {
        const char *cgroup;  /* for messages; not used by the decisions */
        size_t parent;       /* index of the parent node; EMU_NO_PARENT for node 0 */
        unsigned priority;   /* MemoryPriority= (0 when unset, the kernel's default) */
        uint64_t usage;      /* hierarchical, bytes */
        uint64_t file;       /* reclaimable page cache (file LRUs), hierarchical */
        uint64_t anon;       /* anonymous memory, hierarchical */
        uint64_t protection; /* bytes reclaim must leave (v2 max(memory.min, memory.low)) */
        size_t n_procs;      /* killable processes in this cgroup itself */
} EmuNode;

/* --- background reclaim --- */

typedef struct EmuReclaimStep {
        size_t node;    /* the cgroup to reclaim from (its whole subtree) */
        uint64_t bytes; /* how much */
} EmuReclaimStep;

/* How much reclaim should free for a cgroup at usage with the watermarks
 * high/low: 0 below high, else usage - low (rounded up to a page of
 * page_size bytes, the kernel's: sysconf(_SC_PAGESIZE)). */
uint64_t emu_reclaim_target(uint64_t usage, uint64_t high, uint64_t low, uint64_t page_size);

/* The steps that free `need` bytes from nodes[0..n) in the order of the
 * rules above, at most max_steps of them, into ret. Returns the number of
 * steps; *ret_planned gets the bytes they add up to (less than need when
 * the subtree cannot give more). With swap false anonymous memory is never
 * planned. -EINVAL for a malformed snapshot (a parent index not before its
 * child, n == 0 or above EMU_NODES_MAX). */
int emu_reclaim_plan(const EmuNode *nodes, size_t n, uint64_t need, bool swap, EmuReclaimStep *ret,
                     size_t max_steps, uint64_t *ret_planned);

/* v1 has no memory.reclaim: the child's memory.limit_in_bytes is lowered to
 * make the kernel reclaim in our context, then put back. The squeezed limit
 * for taking `bytes` from a cgroup at `usage`: usage - bytes, never below
 * floor, rounded down to a page of page_size bytes (the kernel's: it keeps
 * limits in whole pages, so the value reads back as written), and never
 * above usage (0 when there is nothing to take: no squeeze). */
uint64_t emu_squeeze_limit(uint64_t usage, uint64_t bytes, uint64_t floor, uint64_t page_size);

/* --- pre-emptive kill --- */

/* limit * ratio / 100, rounded down to a page of page_size bytes;
 * MEMCG_UNLIMITED (UINT64_MAX) when the limit is unlimited or ratio is 0 (off). */
uint64_t emu_kill_watermark(uint64_t limit, unsigned ratio, uint64_t page_size);

/* True when what reclaim cannot take (usage - file; with swap the anonymous
 * memory counts as reclaimable too) has reached the kill watermark. */
bool emu_kill_needed(uint64_t usage, uint64_t file, uint64_t anon, bool swap, uint64_t kill_watermark);

/* The leaf to kill in: the walk above over nodes[0..n), skipping nodes whose
 * skip[i] is true (tried and found nothing killable; skip may be NULL).
 * Returns the node index, or -ESRCH when nothing in the subtree is
 * killable, -EINVAL for a malformed snapshot. */
int emu_kill_pick_node(const EmuNode *nodes, size_t n, const bool *skip);

typedef struct EmuProc {
        pid_t pid;
        uint64_t rss;      /* bytes */
        int oom_score_adj; /* -1000..1000 */
} EmuProc;

/* The process to kill among procs[0..n) of the chosen leaf: the largest by
 * RSS adjusted as the kernel does (rss + oom_score_adj/1000 of total);
 * never oom_score_adj -1000, never `self` (memqosd). Returns the index, or
 * -ESRCH when none qualifies. */
int emu_kill_pick_process(const EmuProc *procs, size_t n, uint64_t total, pid_t self);
