/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The decisions of putting a unit's policy in force (the Manager's
 * unit_apply() acts on them). Pure: plain data in, answers out; no I/O, no
 * Manager. */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup/memcg.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "daemon/unit.h"
#include "emulate/emulator.h"

/* What of memqos.conf and this kernel the decisions depend on. */
typedef struct ApplyContext {
        const Config *config;
        FeatureMode reclaim_mode, oom_mode; /* config_feature_mode() of [Reclaim] and [OOM] */
        uint64_t page_size;
} ApplyContext;

/* Whether a unit of this kind programs its cgroup. A cgroup that a systemd
 * unit has is programmed through the unit, with the [Group] rules merged
 * under its own settings: a [Group] for the same cgroup steps back (also
 * when it came first: inotify can be quicker than systemd's answer). */
bool apply_unit_owns_cgroup(UnitKind kind, bool systemd_unit_has_cgroup);

/* Whether memqosd has anything to do for the cgroup: a policy, or a knob
 * it wants (also one to reset because a setting went). */
bool apply_unit_cares(const Policy *policy, const MemcgDesired *desired);

/* Whether to watch the cgroup's OOMs (memqos.conf WatchOOM=): groups, slices
 * and units with a policy; not every service and scope memqosd follows. */
bool apply_watch_oom(const Config *config, UnitKind kind, const char *name, const Policy *policy);

/* The knobs (1u << MemcgKnob) memqosd's emulation puts in force instead of
 * the kernel: the watermarks when the kernel does not reclaim for them, the
 * priorities when the kernel does not do the priority OOM. They are not
 * written; the state file and the policy event say "emulated". */
unsigned apply_emulated_knobs(FeatureMode reclaim_mode, FeatureMode oom_mode);

/* What to write to the kernel: desired without the emulated knobs. */
void apply_kernel_desired(const MemcgDesired *desired, unsigned emulated, MemcgDesired *ret);

/* After the kernel's knobs were applied: the emulated knobs that are
 * wanted are APPLY_EMULATED. */
void apply_mark_emulated(const MemcgDesired *desired, unsigned emulated, MemcgApplied *applied);

/* The knobs memqos wrote to this cgroup instance and must undo when their
 * setting goes, after an apply: each knob written joins; a knob back at the
 * kernel's default that the policy no longer sets leaves (it is no longer
 * ours to undo), unless writing it failed. *ret_wrote (may be NULL): any
 * knob was written. */
unsigned apply_written_mask(unsigned written_mask, const Policy *policy, const MemcgDesired *desired,
                            const MemcgApplied *applied, bool *ret_wrote);

/* The settings of the unit's Emulator: memqosd's own reclaim for
 * WatermarkRatio= where the reclaim mode emulates it, and the pre-emptive
 * kill where the priority OOM is emulated, KillWatermarkRatio= is not 0 and
 * use_priority_oom is wanted on. unit_watch_hears_oom: the unit's own watch
 * already hears OOMs and passes them on, so the Emulator need not. The
 * squeeze directory is left to the caller (-1, NULL). */
void apply_emulator_settings(const ApplyContext *ctx, const Policy *policy, const MemcgDesired *desired,
                             bool unit_watch_hears_oom, EmulatorSettings *ret);

/* A unit systemd says is active, whose cgroup is not there (yet): the
 * cgroup was removed and is being made again (a stop and start memqosd
 * missed, or a unit starting), and nothing may tell memqosd when it is
 * back, since it has no watch on it. It looks again after the delay this
 * returns for look number `attempt` (0, 1, ...): 1 s doubling to 30 s, and
 * 0 (give up until systemd reports a change) after APPLY_CGROUP_RETRIES
 * looks, about 3 minutes: a unit without a memory cgroup of its own (no
 * memory accounting on v1) would otherwise cost a question every 30 s. */
#define APPLY_CGROUP_RETRIES 10
uint64_t apply_cgroup_retry_delay_usec(unsigned attempt);

/* Whether those settings need an Emulator at all. */
static inline bool apply_wants_emulator(const EmulatorSettings *s) {
        return s->reclaim || s->kill;
}
