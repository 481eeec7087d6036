/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The ladder: what memqosd tells the applications before its own reclaim
 * and its pre-emptive priority kill act (memqos-pressure(7), levels
 * "reclaim" and "kill"), and what it does when their grace ends. Pure:
 * a plan and readings in, plain answers out (emulator.c does the timers and
 * the I/O, its owner writes the lines).
 *
 * The rules:
 * - Reclaim: the clients of each cgroup the reclaim plan (plan.h) takes
 *   from are told, in the plan's order (the lowest priority first; a higher
 *   priority only when the plan takes from it too, with what it takes),
 *   each asked for what the plan would take from it.
 * - Kill: the clients of the leaf the kill walk chose are told that they
 *   are next, asked for what brings what reclaim cannot take back to 90%
 *   of the kill watermark (ladder_kill_want()).
 * - The action waits for the grace only when somebody was told: nobody can
 *   act otherwise. One grace per reclaim episode (until usage is below
 *   wmark_low) and per kill decision; after it the action goes on, on fresh
 *   readings, without another notice.
 * - When the grace ends: reclaim takes only what is still needed (nothing
 *   when usage fell below wmark_low); the kill goes ahead only when it is
 *   still needed (emu_kill_needed()), else nobody is killed. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulate/plan.h"

/* The most cgroups told before one reclaim pass (a plan has at most
 * RECLAIM_STEPS_MAX steps; the first are the ones that matter). */
#define LADDER_NOTICES_MAX 16

typedef enum LadderLevel {
        LADDER_RECLAIM,
        LADDER_KILL,
} LadderLevel;

const char *ladder_level_to_string(LadderLevel l); /* "reclaim", "kill" */

/* One cgroup whose clients (the processes in it and below) are told. */
typedef struct LadderNotice {
        const char *cgroup; /* the tree node's, valid as long as the tree */
        unsigned priority;  /* of the unit's child it is in: the priority that orders it */
        uint64_t want;      /* bytes asked back from it */
        uint64_t usage;     /* its usage when told: what it gives back is measured from here */
        size_t told;        /* set by whoever tells: the clients told */
} LadderNotice;

/* The reclaim notices for plan[0..n) over tree t (emu_tree_reclaim_plan()),
 * in the plan's order, into ret[0..max): steps of 0 bytes left out, a
 * cgroup planned twice told once with the sum. Returns how many. */
size_t ladder_reclaim_notices(const EmuTree *t, const EmuReclaimStep *plan, size_t n, LadderNotice *ret,
                              size_t max);

/* The kill notice for leaf of tree t: want is ladder_kill_want(). */
LadderNotice ladder_kill_notice(const EmuTree *t, size_t leaf, uint64_t unreclaimable, uint64_t kill_watermark,
                                uint64_t page_size);

/* What the kill notice asks back: what reclaim cannot take, down to where
 * memqosd starts watching for a kill (emu_kill_watch_start(), 90% of the
 * kill watermark); 0 when it is below the watermark (no kill is due).
 * Not just what the kill needs (a page below the watermark): an
 * application that gave that much would be asked again by its next
 * allocations, each time with the limit a little closer. */
uint64_t ladder_kill_want(uint64_t unreclaimable, uint64_t kill_watermark, uint64_t page_size);

/* Whether a notice goes out before the action: a grace is configured
 * (grace_usec > 0), none was given for this episode or decision yet
 * (given), none runs now (pending). */
bool ladder_notice_due(uint64_t grace_usec, bool given, bool pending);

/* How long the action waits: grace_usec when somebody was told, 0 (not at
 * all) when nobody was: nobody can act then. */
uint64_t ladder_grace_usec(size_t told, uint64_t grace_usec);

/* What a cgroup told gave back within the grace: how far its usage fell
 * (0 when it grew). A cgroup gone meanwhile reads as usage 0. */
uint64_t ladder_given_back(uint64_t usage_told, uint64_t usage_now);

/* What happens when a grace ends. */
typedef enum LadderNext {
        LADDER_NEXT_RECLAIM_REST, /* reclaim takes what is still needed */
        LADDER_NEXT_NOTHING_LEFT, /* usage fell below wmark_low: no reclaim */
        LADDER_NEXT_KILL,         /* the kill is still needed: it goes ahead */
        LADDER_NEXT_NO_KILL,      /* it is not: nobody is killed */
} LadderNext;

const char *ladder_next_to_string(LadderNext n); /* "reclaim-rest", "nothing-left", "kill", "no-kill" */

/* When the reclaim grace ends, at usage: reclaim goes on while usage is at
 * or above wmark_low (the episode's end, as the passes' hysteresis),
 * taking *ret_need (may be NULL) bytes: usage down to aim (wmark_low less
 * the passes' margin), in whole pages. */
LadderNext ladder_after_reclaim_grace(uint64_t usage, uint64_t wmark_low, uint64_t aim, uint64_t page_size,
                                      uint64_t *ret_need);

/* When the kill grace ends, on fresh readings of the unit under pressure:
 * the kill goes ahead only while what reclaim cannot take is still at the
 * kill watermark (emu_kill_needed()). */
LadderNext ladder_after_kill_grace(uint64_t usage, uint64_t file, uint64_t anon, bool swap,
                                   uint64_t kill_watermark);
