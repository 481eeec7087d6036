/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* memqosd's own background reclaim and pre-emptive priority kill for one
 * unit (or [Group]) cgroup: the I/O around the decisions of plan.h.
 *
 * Idle, an Emulator holds one watch on the cgroup (memcg-watch.c): on v1 an
 * eventfd threshold at the start of its pressure zone, on v2 a sample of
 * memory.current every 5 pressure intervals plus memory.events. Inside the
 * zone (usage at or above wmark_high, or above 90% of the kill watermark) it
 * re-reads usage and memory.stat every PressureIntervalSec= and
 *   - kills in the lowest-priority leaf when what reclaim cannot take has
 *     reached the kill watermark (one victim at a time: the next only when
 *     the last is gone or a second has passed);
 *   - otherwise reclaims, at usage >= wmark_high, down to wmark_low, in
 *     priority order: v2 memory.reclaim on each child, v1 a squeeze of the
 *     child's limit (squeeze.h), in steps of StepSize=, for at most
 *     EMU_PASS_BUDGET_USEC per tick so that the event loop stays responsive.
 * Everything it does is reported to its owner through EmulatorCallbacks
 * (memqosd makes journal events of them). It never touches a cgroup outside
 * the unit's subtree. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgroup/memcg.h"
#include "emulate/ladder.h"

typedef struct Emulator Emulator;

#define EMU_PASS_BUDGET_USEC (50 * 1000ULL)
#define EMU_KILL_WAIT_USEC (1000 * 1000ULL)

typedef struct EmulatorSettings {
        bool reclaim;                /* memqosd's own reclaim for WatermarkRatio= */
        bool standing_bounds;        /* hold lower-priority children under their bounds (bound.h; v1) */
        unsigned wmark_ratio;        /* 1..100 */
        unsigned wmark_scale_factor; /* 1..1000 */
        bool ahead_of_kernel;        /* the kernel reclaims too: start one gap below its wmark_high */
        bool kill;                   /* the pre-emptive priority kill */
        unsigned kill_ratio;         /* KillWatermarkRatio= */
        uint64_t step_size;          /* StepSize= */
        uint64_t interval_usec;      /* PressureIntervalSec= */
        uint64_t page_size;          /* the kernel's: limits are whole pages of it */
        bool watch_oom;              /* watch OOMs itself (else the caller passes them on) */
        uint64_t summary_interval_usec; /* folded reclaim passes are said at most this late */
        int squeeze_fd;              /* v1: the directory of squeeze records (squeeze.h), -1 for none */
        const char *squeeze_dir;     /* its path, for messages; the owner's, outlives the Emulator */
        /* The ladder (ladder.h): how long the clients told have before a
         * reclaim pass and before a kill; 0: they are not told. */
        uint64_t reclaim_grace_usec, kill_grace_usec;
} EmulatorSettings;

/* The watermarks memqosd reclaims at for a limit (plan.h's arithmetic over
 * memcg_watermarks()): one gap lower when ahead of the kernel. Pure. */
void emulator_watermarks(const EmulatorSettings *s, uint64_t limit, uint64_t *ret_high, uint64_t *ret_low);

/* The usage at which a unit enters its pressure zone. Pure. */
uint64_t emulator_zone_entry(const EmulatorSettings *s, uint64_t limit);

/* One pass of memqosd's own background reclaim, as reported to the owner. */
typedef struct EmulatorReclaimStep {
        const char *cgroup;
        unsigned priority;
        uint64_t bytes; /* what its usage fell by */
} EmulatorReclaimStep;

typedef struct EmulatorReclaim {
        const char *cgroup;
        uint64_t usage_before, usage_after;
        uint64_t wmark_high, wmark_low;
        uint64_t duration_usec;
        const char *method;              /* "memory.reclaim" or "limit-squeeze" */
        size_t n_steps;                  /* writes made */
        const EmulatorReclaimStep *steps;   /* per cgroup, in the order taken */
        size_t n_taken;
        /* The passes folded since the last event that passed, in sum. */
        uint64_t folded_reclaimed, folded_duration_usec;
} EmulatorReclaim;

/* What a pass reclaimed: the sum of what its steps took (steps[].bytes,
 * each a child's usage fall over its own writes). Not the unit's usage
 * fall over the pass (usage_before - usage_after): the workload charges
 * and frees meanwhile, and a process that unmapped 32 MB during a 64 KB
 * step made that read as 32 MB reclaimed. Pure. */
uint64_t emulator_reclaim_bytes(const EmulatorReclaim *ev);

/* One pre-emptive priority kill, as reported to the owner. */
typedef struct EmulatorKill {
        const char *cgroup;        /* the unit under pressure */
        const char *victim_cgroup; /* the leaf chosen */
        const char *victim_branch; /* the unit's child it is in: the priority that decided */
        unsigned victim_priority;  /* of victim_branch */
        pid_t pid;                 /* 0 with cgroup.kill */
        char comm[32];
        uint64_t rss;
        uint64_t usage, unreclaimable, limit, kill_watermark;
        uint64_t duration_usec;    /* from the decision to the signal */
        const char *method;        /* "SIGKILL" or "cgroup.kill" */
} EmulatorKill;

/* What the notices of one step of the ladder (ladder.h) are about: the
 * unit under pressure, as the notice line says it. */
typedef struct EmulatorNoticeBatch {
        const char *cgroup;  /* the unit under pressure */
        LadderLevel level;
        uint64_t usage, limit;
        uint64_t threshold;  /* wmark_high (reclaim) or the kill watermark (kill) */
        uint64_t grace_usec; /* how long the clients told have */
} EmulatorNoticeBatch;

/* A grace ended (ladder.h): what the cgroups told gave back, what follows. */
typedef struct EmulatorGraceEnd {
        const char *cgroup;   /* the unit under pressure */
        LadderLevel level;
        size_t told;          /* clients told */
        size_t n_cgroups;     /* cgroups whose clients were told */
        uint64_t want;        /* asked of them, in sum */
        uint64_t given_back;  /* how far their usage fell within the grace, in sum */
        uint64_t usage_before, usage_after; /* of the unit under pressure */
        uint64_t limit;
        uint64_t grace_usec;  /* from the notices to now */
        LadderNext next;
} EmulatorGraceEnd;

/* How an Emulator reports to its owner; userdata is the owner's. Any may be NULL. */
typedef struct EmulatorCallbacks {
        /* MemoryPriority= of the cgroup when it is a followed unit's own; 0
         * (the kernel's default, the lowest) otherwise. */
        unsigned (*priority_of)(const char *cgroup, void *userdata);
        /* MemoryReserve= of the cgroup when it is a followed unit's own, in
         * bytes for its parent's limit parent_limit; 0 otherwise. */
        uint64_t (*reserve_of)(const char *cgroup, uint64_t parent_limit, void *userdata);
        /* A reclaim pass. True when it was said on its own, false when the
         * owner folded it: the Emulator then adds it to its folded sum. */
        bool (*reclaimed)(const EmulatorReclaim *ev, void *userdata);
        /* The folded passes not yet said, in sum, and the usage after the
         * last of them: one rate-limit interval (summary_interval_usec) after
         * the first at the latest, and at emulator_free(). */
        void (*reclaim_folded)(const char *cgroup, uint64_t reclaimed, uint64_t duration_usec, uint64_t usage_after,
                               void *userdata);
        /* A victim was killed. */
        void (*killed)(const EmulatorKill *ev, void *userdata);
        /* Tells the clients of notices[i].cgroup (its processes and those
         * below it), in the array's order (the lowest priority first), what
         * b says is coming; sets notices[i].told. Returns how many clients
         * were told in all: with none the action does not wait. A client
         * below two of the cgroups is told once. */
        size_t (*notify)(const EmulatorNoticeBatch *b, LadderNotice *notices, size_t n, void *userdata);
        /* The grace after a notice ended; the action follows at once. */
        void (*grace_ended)(const EmulatorGraceEnd *ev, void *userdata);
        /* The cgroup was removed under the Emulator's watch: a stop may have
         * been missed, and the Emulator is idle until configured again.
         * Called last: the owner may free the Emulator in it. */
        void (*removed)(void *userdata);
} EmulatorCallbacks;

/* unit_object: OBJECT_SYSTEMD_UNIT= of its log messages (copied), NULL for
 * none. The callbacks are copied. */
int emulator_new(sd_event *event, const char *unit_object, const EmulatorCallbacks *callbacks, void *userdata,
                 Emulator **ret);
Emulator *emulator_free(Emulator *e);

/* (Re)configures for cgroup below root and checks at once. -ENOENT when
 * root is NULL, cgroup empty, or the cgroup gone. */
int emulator_configure(Emulator *e, const MemcgRoot *root, const char *cgroup, const EmulatorSettings *s);

/* An OOM in the cgroup, heard by the caller's own watch: checks at once,
 * so that the next victim is the lowest priority. NULL is fine. */
void emulator_notify_oom(Emulator *e);

/* For the state file and tests: passes and kills so far. */
unsigned emulator_n_passes(const Emulator *e);
unsigned emulator_n_kills(const Emulator *e);

/* ---- the kill order, as a dry run (memqosctl kill-order) ---- */

typedef struct EmulatorKillProcess {
        pid_t pid;
        char comm[32];
        uint64_t rss;
        int oom_score_adj;
} EmulatorKillProcess;

typedef struct EmulatorKillLeaf {
        char *cgroup;             /* the leaf */
        char *branch;             /* the child of the top whose priority decided */
        unsigned branch_priority;
        unsigned priority;        /* the leaf's own */
        uint64_t usage;
        bool oom_group;           /* memory.oom.group: the whole leaf at once (cgroup.kill) */
        EmulatorKillProcess *procs; /* in the order the kill picks them */
        size_t n_procs;
} EmulatorKillLeaf;

typedef struct EmulatorKillOrder {
        EmulatorKillLeaf *leaves;  /* in kill order */
        size_t n_leaves;
        size_t n_read;             /* cgroups read */
} EmulatorKillOrder;

void emulator_kill_order_done(EmulatorKillOrder *o);

/* Which leaves and processes below cgroup the priority kill would take now,
 * in order: the kill's own walk (plan.h emu_tree_kill_walk()) over the same
 * reading of the subtree, each leaf with its candidates ranked by the
 * kill's own pick, the next leaf being the one the walk takes once the
 * last is empty. Kills nothing. priority_of as in EmulatorCallbacks (may
 * be NULL). -ENOENT when the cgroup is not there, -E2BIG when the subtree
 * is beyond the kill's bound (the kill would not act either). */
int emulator_kill_order(const MemcgRoot *root, const char *cgroup,
                        unsigned (*priority_fn)(const char *cgroup, void *userdata), void *userdata,
                        unsigned max_leaves, EmulatorKillOrder *ret);
