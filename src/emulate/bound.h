/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The standing bound (issue #13): the decisions, pure.
 *
 * Reclaiming after the parent crossed wmark_high makes online pay: an
 * unthrottled offline writer refills the gap between the watermarks within
 * milliseconds and online's next burst meets the parent's limit. So each
 * lower-priority child is held, all the time, under a bound that leaves
 * room below the parent's wmark_high for everything above it:
 *
 *   bound(C) = wmark_high - sum over siblings S of C of what S keeps:
 *       S of a higher priority:   max(its reserve, its usage, what it declared)
 *       S of the same priority:   its usage
 *       S of a lower priority:    what it cannot give (anonymous without swap)
 *
 * A child's reserve is its high-water mark (the kernel's peak since the last
 * look, so a burst between two looks counts), decaying towards its usage
 * with a half-life: online's bursts are remembered, a peak of long ago is
 * not. What a learned peak cannot know, the first burst larger than any
 * before, a child declares (MemoryReserve=): that room is kept for it from
 * the start, whether it uses it yet or not. The bound never goes below what the child cannot give plus a
 * margin: there the pre-emptive priority kill decides, by the priority
 * rules, not the kernel's OOM in the child. The highest priority among
 * the siblings is never bounded. The child pays for its own reclaim: the
 * kernel reclaims in its context when it meets the bound. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct BoundChild {
        unsigned priority;
        uint64_t usage;         /* hierarchical, now */
        uint64_t reserve;       /* its decayed high-water mark */
        uint64_t declared;      /* the room it asked for (MemoryReserve=), 0 for none */
        uint64_t unreclaimable; /* what reclaim can never take from it (anonymous without swap) */
} BoundChild;

/* The bound of children[i] below wmark_high `high`, in whole pages, or
 * UINT64_MAX for none (no higher-priority sibling, or no wmark_high). Never
 * below children[i].unreclaimable + margin (rounded up to a page). */
uint64_t bound_of_child(const BoundChild *children, size_t n, size_t i, uint64_t high, uint64_t margin,
                        uint64_t page_size);

/* What a limit must leave a child of `usage` bytes right now: its
 * anonymous memory without swap, and its dirty and writeback page cache
 * (`dirty`, part of `file`) in any case: reclaim cannot take that before
 * the disk has it. The floor of a squeeze, and of a bound moving down. */
uint64_t bound_stuck_now(uint64_t usage, uint64_t file, uint64_t dirty, bool swap);

/* Where to hold a child now, for the bound `target`: a child whose usage
 * is above it is brought down by at most max_step a look (the kernel
 * reclaims the difference in memqosd's context when the limit is written:
 * a small step keeps one write short), and never below `stuck`, what it
 * cannot give right now (anonymous memory without swap, and dirty or
 * writeback page cache: a limit written below that makes the kernel
 * OOM-kill in the child instead of reclaiming). When even that is above
 * the target, the child is held at its usage: it grows no further, and
 * reclaims in its own context, waiting for its writeback. In whole pages;
 * UINT64_MAX when the target is. */
uint64_t bound_next_step(uint64_t target, uint64_t usage, uint64_t stuck, uint64_t max_step, uint64_t page_size);

/* A high-water mark `peak` (UINT64_MAX: none yet) seen elapsed_usec ago,
 * decayed towards `usage` with half_life_usec, then raised to `seen` (the
 * highest usage since the last look). Never below usage or seen. */
uint64_t bound_peak_update(uint64_t peak, uint64_t usage, uint64_t seen, uint64_t elapsed_usec,
                           uint64_t half_life_usec);

/* v1: whether a held child waits at its bound: memory.oom_control says
 * under_oom (with the kernel's OOM kill disabled, squeeze.h) and its usage
 * is within BOUND_WAIT_SLACK of the bound. under_oom alone is not enough:
 * the kernel marks every cgroup below one that is out of memory, so a
 * parent at its own limit makes its children read under_oom too. */
#define BOUND_WAIT_SLACK (4ULL * 1024 * 1024)
bool bound_child_waits(bool under_oom, uint64_t usage, uint64_t held);

/* The bound of a child that waits at it: nothing is left to reclaim below
 * it, and the kernel kills no one, so it goes to usage + margin at least
 * (whole pages; `step` when that is higher): the waiting allocation and
 * the next ones get through. The room it takes from the higher priorities
 * is the priority kill's to give back, by the priority rules. */
uint64_t bound_raise_waiting(uint64_t step, uint64_t usage, uint64_t margin, uint64_t page_size);
