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
 * Everything it does is a journal event (events.h). It never touches a
 * cgroup outside the unit's subtree. */

#include <stdbool.h>
#include <stdint.h>

typedef struct Manager Manager;
typedef struct Unit Unit;
typedef struct Emulator Emulator;

#define EMU_PASS_BUDGET_USEC (50 * 1000ULL)
#define EMU_KILL_WAIT_USEC (1000 * 1000ULL)

typedef struct EmulatorSettings {
        bool reclaim;                /* memqosd's own reclaim for WatermarkRatio= */
        unsigned wmark_ratio;        /* 1..100 */
        unsigned wmark_scale_factor; /* 1..1000 */
        bool ahead_of_kernel;        /* the kernel reclaims too: start one gap below its wmark_high */
        bool kill;                   /* the pre-emptive priority kill */
        unsigned kill_ratio;         /* KillWatermarkRatio= */
        uint64_t step_size;          /* StepSize= */
        uint64_t interval_usec;      /* PressureIntervalSec= */
        uint64_t page_size;          /* the kernel's: limits are whole pages of it */
        bool watch_oom;              /* watch OOMs itself (else the caller passes them on) */
} EmulatorSettings;

/* The watermarks memqosd reclaims at for a limit (plan.h's arithmetic over
 * memcg_watermarks()): one gap lower when ahead of the kernel. Pure. */
void emulator_watermarks(const EmulatorSettings *s, uint64_t limit, uint64_t *ret_high, uint64_t *ret_low);

/* The usage at which a unit enters its pressure zone. Pure. */
uint64_t emulator_zone_entry(const EmulatorSettings *s, uint64_t limit);

/* Called when the cgroup was removed under the Emulator's watch: a stop
 * may have been missed, and the Emulator is idle until configured again. */
typedef void (*EmulatorRemovedCallback)(Unit *u);

int emulator_new(Manager *m, Unit *u, EmulatorRemovedCallback removed, Emulator **ret);
Emulator *emulator_free(Emulator *e);

/* (Re)configures and checks at once. -ENOENT when the cgroup is gone. */
int emulator_configure(Emulator *e, const EmulatorSettings *s);

/* An OOM in the cgroup, heard by the caller's own watch: checks at once,
 * so that the next victim is the lowest priority. NULL is fine. */
void emulator_notify_oom(Emulator *e);

/* For the state file and tests: passes and kills so far. */
unsigned emulator_n_passes(const Emulator *e);
unsigned emulator_n_kills(const Emulator *e);
