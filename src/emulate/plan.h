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
 *   kernel's priority OOM does; but it is pre-emptive, so it takes a leaf
 *   only when a sibling of higher priority with memory in use stands beside
 *   the leaf or one of its parents below the root: the highest priority in
 *   use is left to the kernel's OOM killer at the limit.
 *
 * A decision reads the subtree lazily (EmuTree): a node's children are read
 * only when the decision descends into it, so that the kill reads one path
 * down plus the siblings along it, and reclaim only the branches it takes
 * from, whatever the size of the rest. Nothing is ever left out silently:
 * a decision that would need more than the tree's bound of nodes (or depth)
 * fails with -E2BIG, and the caller says so and does nothing rather than
 * decide on part of the tree. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EMU_NO_PARENT SIZE_MAX
/* The most cgroups one decision reads: about 160 bytes each (node, path),
 * so 2.5 MiB at most; 5,000 cgroups cost a kill 6 ms (bench/README.md). */
#define EMU_TREE_NODES_MAX 16384
/* Deeper than any real hierarchy (systemd's deepest are ~10 levels); the
 * walks recurse. */
#define EMU_TREE_DEPTH_MAX 256

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

/* --- the lazily read subtree --- */

typedef struct EmuTree EmuTree;

/* Adds the children of `node` with emu_tree_add_child(t, node, ...), in any
 * order, each once. Called at most once per node, the first time a decision
 * needs them. A node that went away meanwhile simply has no children (return
 * 0); a negative errno ends the decision with it. */
typedef int (*EmuTreeExpand)(EmuTree *t, size_t node, void *userdata);

/* A tree of `root` (copied, parent set to EMU_NO_PARENT) holding at most
 * max_nodes nodes (0: EMU_TREE_NODES_MAX). -ENOMEM. */
int emu_tree_new(const EmuNode *root, EmuTreeExpand expand, void *userdata, size_t max_nodes, EmuTree **ret);
EmuTree *emu_tree_free(EmuTree *t);
static inline void emu_tree_freep(EmuTree **t) {
        emu_tree_free(*t);
}

/* Only from expand(t, parent): adds child (copied, its cgroup string too;
 * its parent field is set to parent). Returns its index, -E2BIG beyond
 * max_nodes or EMU_TREE_DEPTH_MAX, -EINVAL outside expand(parent). */
int emu_tree_add_child(EmuTree *t, size_t parent, const EmuNode *child);

/* A tree over an array snapshot nodes[0..n) (every parent before its
 * children, node 0 the top), rooted at nodes[root] (the subtree under
 * pressure), with skip[i] marked (skip may be NULL); nodes and skip must
 * outlive the tree. For the array API below, tests, the fuzzer and the
 * benchmark. -EINVAL for a malformed snapshot, -E2BIG above
 * EMU_TREE_NODES_MAX. */
typedef struct EmuArraySource EmuArraySource;
int emu_tree_new_array(const EmuNode *nodes, size_t n, const bool *skip, size_t root, EmuTree **ret);
/* The array index of tree node i of a tree made by emu_tree_new_array(). */
size_t emu_tree_array_index(const EmuTree *t, size_t i);

/* Node i (valid until the next add) and the number of nodes read so far. */
const EmuNode *emu_tree_node(const EmuTree *t, size_t i);
size_t emu_tree_size(const EmuTree *t);

/* Marks node i as tried and found with nothing killable (the kill walk then
 * passes it by, as the kernel does). */
void emu_tree_skip(EmuTree *t, size_t i);

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

/* The same over a lazily read tree; steps name tree indices. Reads only the
 * children of nodes it takes from. -E2BIG when that needs more nodes than
 * the tree may hold (then nothing is planned), or what expand returned. */
int emu_tree_reclaim_plan(EmuTree *t, uint64_t need, bool swap, EmuReclaimStep *ret, size_t max_steps,
                          uint64_t *ret_planned);

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

/* Where memqosd starts watching a unit closely for a kill: 90% of its kill
 * watermark (MEMCG_UNLIMITED for none). */
uint64_t emu_kill_watch_start(uint64_t kill_watermark);

/* True when what reclaim cannot take (usage - file; with swap the anonymous
 * memory counts as reclaimable too) has reached the kill watermark. */
bool emu_kill_needed(uint64_t usage, uint64_t file, uint64_t anon, bool swap, uint64_t kill_watermark);

/* The leaf to kill in: the walk above over nodes[0..n), skipping nodes whose
 * skip[i] is true (tried and found nothing killable; skip may be NULL).
 * Returns the node index, or -ESRCH when nothing in the subtree below a
 * higher priority is killable, -EINVAL for a malformed snapshot. */
int emu_kill_pick_node(const EmuNode *nodes, size_t n, const bool *skip);

/* The same over a lazily read tree (skips: emu_tree_skip()): descends into
 * the lowest-priority child first and reads a sibling's subtree only when
 * everything before it had nothing killable. Returns the tree index,
 * -ESRCH, -E2BIG when the walk needs more nodes than the tree may hold (no
 * answer then: the caller must not kill), or what expand returned. */
int emu_tree_kill_pick(EmuTree *t);

/* The first leaf with processes that a pick passed by because nothing of a
 * higher priority uses memory beside it or its parents (the highest
 * priority in use), as a tree index; -ESRCH when none was. For the journal:
 * "only the highest priority is left" is not "nothing killable". */
int emu_tree_kill_spared(const EmuTree *t);

/* The kill's walk, shared by the kill itself (emulator.c) and the dry run
 * of memqosctl kill-order, so that the order shown is the order taken.
 * visit(t, leaf, userdata) is called for each leaf in kill order
 * (emu_tree_kill_pick()); it returns 1 when done (the kill took a victim
 * there; the dry run has seen enough), 0 to go on: the leaf is then
 * skipped (emu_tree_skip(), nothing killable there, or for the dry run
 * "once that is gone") and the walk picks again, or a negative errno to
 * stop with it. At most max_leaves leaves are visited. Returns 1 when
 * visit said done, -ESRCH when no (further) leaf has anything killable or
 * max_leaves were visited, -E2BIG (no answer: the caller must not kill),
 * or the error of expand or visit. */
typedef int (*EmuKillVisit)(EmuTree *t, size_t leaf, void *userdata);
int emu_tree_kill_walk(EmuTree *t, unsigned max_leaves, EmuKillVisit visit, void *userdata);

/* The node whose priority decided that the walk went down to node i: the
 * root's child on the path to i (siblings compare), or 0 for the root. */
size_t emu_tree_branch(const EmuTree *t, size_t i);

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

/* procs[0..n) reordered in place into the order the kill picks them:
 * emu_kill_pick_process() over those left, again and again, so that the
 * first is the kill's pick. Returns how many are candidates (they come
 * first; the rest, never picked, follow in any order). */
size_t emu_kill_order_processes(EmuProc *procs, size_t n, uint64_t total, pid_t self);

/* Whether a pidfd opened for the chosen pid holds the process chosen in the
 * leaf. The caller opens the pidfd, then reads the leaf's cgroup.procs again
 * (procs[0..n)), then asks the pidfd whether its process lives (alive:
 * pidfd_send_signal(pidfd, 0) succeeded). A pid the list still holds then
 * cannot be another process's: a pid is not reused while the process the
 * pidfd names exists. False (it died, or it moved, or its pid now names a
 * process elsewhere): pick again. */
bool emu_kill_victim_confirmed(pid_t pid, const pid_t *procs, size_t n, bool alive);
