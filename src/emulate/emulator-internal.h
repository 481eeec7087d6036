/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Emulator's insides, shared by its files: emulator.c (the pressure
 * zone, reclaim, the owner's API), emulator-kill.c (the pre-emptive kill
 * and the kill order) and emulator-bound.c (the standing bounds). Not for
 * anything outside emulate/. */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup/memcg-watch.h"
#include "emulate/emulator.h"
#include "emulate/ladder.h"
#include "emulate/plan.h"

#define RECLAIM_STEPS_MAX 64
#define KILL_PICK_ROUNDS 4
#define KILL_LEAVES_MAX 16 /* leaves tried per kill */
#define EMU_BACKOFF_MAX_USEC (5 * 1000 * 1000ULL)
#define EMU_RECLAIM_MARGIN (256 * 1024ULL)
/* The standing bounds (bound.h): looked at this often while a bound is
 * held or the parent's usage is above half its wmark_high, else every
 * EMU_BOUND_IDLE_INTERVAL_USEC (a unit whose children all have one
 * priority costs a look of its directory that often); a child's peak
 * halves its distance to its usage in this time; a child may sit this many
 * steps (StepSize=) above what it cannot give (at most an eighth of
 * wmark_high), and is brought down by at most this many steps a look. */
#define EMU_BOUND_INTERVAL_USEC (100 * 1000ULL)
#define EMU_BOUND_IDLE_INTERVAL_USEC (5 * 1000 * 1000ULL)
/* How late a look "at once" may come (usage reached bound_start): as late
 * as a busy look may, a tenth of its interval. */
#define EMU_BOUND_ACCURACY_USEC (EMU_BOUND_INTERVAL_USEC / 10)
#define EMU_BOUND_HALF_LIFE_USEC (120 * 1000 * 1000ULL)
#define EMU_BOUND_MARGIN_STEPS 4
#define EMU_BOUND_MAX_DOWN_STEPS 4
#define EMU_BOUND_CHILDREN_MAX 64

typedef struct EmuBoundChild {
        char *cgroup;
        unsigned priority;
        uint64_t peak;       /* decayed high-water mark; UINT64_MAX before the first look */
        uint64_t peak_usec;  /* when it was updated */
        uint64_t held;       /* the limit memqosd holds it at; 0 for none */
        int peak_fd;         /* v2: its memory.peak, reset at each look (6.12 and later) */
        uint64_t lifetime_peak; /* v2 without the reset: memory.peak at the last look */
        uint64_t put_back;   /* the limit from before the hold */
        bool seen;           /* found at this look */
        /* v1, while held: an eventfd on its memory.oom_control, so that a
         * task waiting at the bound (the kernel's OOM kill is off, squeeze.h)
         * brings the next look at once, not up to a look's interval later. */
        int wait_efd;
        sd_event_source *wait_source;
        unsigned raises;     /* raised for a wait during this hold */
} EmuBoundChild;

/* One grace of the ladder (ladder.h): while its timer runs, no action of
 * its level (reclaim pass, kill) is started for this unit. */
typedef struct EmuGrace {
        sd_event_source *timer;  /* runs during the grace */
        bool given;              /* given for this episode (reclaim) or decision (kill) */
        char *cgroups[LADDER_NOTICES_MAX]; /* those whose clients were told */
        uint64_t usage_told[LADDER_NOTICES_MAX];
        size_t n_cgroups, told;
        uint64_t want, usage_before, start_usec;
} EmuGrace;

struct Emulator {
        sd_event *event;
        char *unit_object;       /* OBJECT_SYSTEMD_UNIT= of its log messages, NULL for groups */
        EmulatorCallbacks callbacks;
        void *userdata;
        const MemcgRoot *root;   /* the owner's, as given to emulator_configure() */
        char *cgroup;
        EmulatorSettings s;

        MemcgWatch *watch;       /* wakes us when usage enters the zone; its dirfd is ours to read */
        uint64_t entry;          /* the zone's start registered with the watch */
        sd_event_source *tick;   /* runs while in the zone */
        uint64_t backoff_until;  /* no reclaim pass before (a pass found nothing to take) */
        uint64_t backoff_usec;   /* doubles while passes find nothing, up to EMU_BACKOFF_MAX_USEC */
        bool reclaiming;         /* crossed wmark_high, not yet below wmark_low */
        sd_event_source *summary_timer; /* says the folded passes, once an interval */
        /* What the passes without an event of their own took, in sum (how
         * many there were is the rate limiter's count). */
        uint64_t folded_reclaimed, folded_usec;
        uint64_t folded_usage_after; /* usage after the last folded pass: where the episode ended */

        int victim_pidfd;        /* the last victim until it is gone */
        sd_event_source *victim_source;
        uint64_t victim_killed_usec;

        sd_event_source *bound_timer;   /* runs while bounds may be held: usage above bound_start */
        uint64_t bound_start;           /* the usage at which the bounds start: half of wmark_high */
        EmuBoundChild *bounds;          /* the children looked at, held or not */
        size_t n_bounds;

        EmuGrace reclaim_grace, kill_grace;

        unsigned n_passes, n_kills;
        bool nothing_killable_said;
        bool too_large_said;     /* a decision needed more of the subtree than EMU_TREE_NODES_MAX */
};

typedef struct TreeReader {
        Emulator *e;
        bool for_kill; /* the kill needs processes, reclaim memory.stat */
} TreeReader;

/* emulator.c */
/* Reads the unit and acts as the pressure zone says (reclaim, kill, bounds). */
void emulator_check(Emulator *e);
/* Arms the pressure tick (the next check, one PressureIntervalSec= from now),
 * or moves it there: the pace of reclaim passes and kill checks in the zone. */
int emulator_arm_tick(Emulator *e);
int emulator_dirfd(const Emulator *e);
unsigned emulator_priority_of(const Emulator *e, const char *cgroup);
uint64_t emulator_reserve_of(const Emulator *e, const char *cgroup, uint64_t parent_limit);
int emulator_tree_open(Emulator *e, TreeReader *tr, EmuTree **ret);
void emulator_say_too_large(Emulator *e, const char *what, const EmuTree *t);
bool emulator_have_swap(void);

/* A grace of level, for the cgroups of notices that were told: 0 when
 * armed (the action waits), negative when not (the action goes on now). */
int emulator_grace_start(Emulator *e, LadderLevel level, const LadderNotice *notices, size_t n, uint64_t usage,
                         uint64_t grace_usec);
/* Before a reclaim pass of plan[0..n) over t: tells the clients of the
 * cgroups it takes from, when a notice is due; true when somebody was told
 * and the pass waits for the grace. */
bool emulator_reclaim_announce(Emulator *e, const EmuTree *t, const EmuReclaimStep *plan, size_t n,
                               uint64_t usage, uint64_t limit, uint64_t high);
/* Ends a grace without a word (the cgroup changed or went away). */
void emulator_grace_clear(EmuGrace *g);
/* Tells the clients of notices[0..n) what level brings; returns how many were told. */
size_t emulator_notify(Emulator *e, LadderLevel level, LadderNotice *notices, size_t n, uint64_t usage,
                       uint64_t limit, uint64_t threshold, uint64_t grace_usec);

/* emulator-kill.c */
void emulator_kill(Emulator *e, uint64_t usage, uint64_t unreclaimable, uint64_t limit, uint64_t kill_wm);

/* emulator-bound.c */
bool emulator_wants_bounds(const Emulator *e);
void emulator_arm_bounds(Emulator *e, uint64_t usage);
void emulator_bounds_clear(Emulator *e, bool release);
