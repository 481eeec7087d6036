/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A unit's Emulator (memqosd's own reclaim, standing bounds and priority
 * kill): its settings from the unit's policy, and what it reports back. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>

#include "basic/log.h"
#include "daemon/apply.h"
#include "daemon/events.h"
#include "daemon/manager.h"
#include "daemon/manager-internal.h"

/* --- what the unit's Emulator reports ------------------------------------------------ */

unsigned manager_cgroup_priority(const char *cgroup, void *userdata) {
        Manager *m = userdata;
        Unit *owner = unit_table_deepest_for_cgroup(&m->units, cgroup);

        if (owner && streq_ptr(owner->control_group, cgroup) && policy_has(&owner->policy, POLICY_MEMORY_PRIORITY))
                return owner->policy.memory_priority;
        return 0; /* the kernel's default, the lowest */
}

static unsigned on_emulator_priority_of(const char *cgroup, void *userdata) {
        Unit *u = userdata;
        return manager_cgroup_priority(cgroup, u->manager);
}

static uint64_t on_emulator_reserve_of(const char *cgroup, uint64_t parent_limit, void *userdata) {
        Unit *u = userdata;
        Unit *owner = unit_table_deepest_for_cgroup(&u->manager->units, cgroup);

        if (owner && streq_ptr(owner->control_group, cgroup) && policy_has(&owner->policy, POLICY_MEMORY_RESERVE))
                return policy_reserve_bytes(&owner->policy.memory_reserve, parent_limit);
        return 0;
}

static bool on_emulator_reclaimed(const EmulatorReclaim *ev, void *userdata) {
        Unit *u = userdata;
        /* Every pass counts, said on its own or folded. */
        u->stats.reclaim_passes++;
        if (ev->usage_before > ev->usage_after)
                u->stats.reclaimed_bytes += ev->usage_before - ev->usage_after;
        return event_reclaim(u->manager->ratelimit, u, ev);
}

static void on_emulator_reclaim_folded(const char *cgroup, uint64_t reclaimed, uint64_t duration_usec,
                                       uint64_t usage_after, void *userdata) {
        Unit *u = userdata;
        event_reclaim_folded(u->manager->ratelimit, u, cgroup, reclaimed, duration_usec, usage_after);
}

static void on_emulator_killed(const EmulatorKill *ev, void *userdata) {
        Unit *u = userdata;
        u->stats.priority_kills++;
        event_priority_kill(&u->manager->units, u, ev);
}

/* The ladder's notices (emulate/ladder.h): each cgroup's clients get the
 * line, in the order given (the lowest priority first), a client below two
 * of them once. The event goes to the followed unit that owns the cgroup
 * told (so that `journalctl -u` of it shows it), else to u. */
static size_t on_emulator_notify(const EmulatorNoticeBatch *b, LadderNotice *notices, size_t n, void *userdata) {
        Unit *u = userdata;
        Manager *m = u->manager;
        uint64_t round = pressure_server_new_round(m->pressure);
        NoticeLevel level = notice_level_from_ladder(b->level);
        size_t all = 0;

        for (size_t i = 0; i < n; i++) {
                char line[NOTICE_LINE_MAX];
                size_t len = notice_format_line(line, sizeof(line), level, b->usage, b->limit, b->threshold,
                                                notices[i].want);
                notices[i].told = pressure_server_tell(m->pressure, notices[i].cgroup, round, line, len);
                if (notices[i].told == 0)
                        continue;
                Unit *owner = unit_table_deepest_for_cgroup(&m->units, notices[i].cgroup) ?: u;
                owner->stats.notices_sent += notices[i].told;
                event_notified(m->ratelimit, owner,
                               &(NoticeEvent) {
                                       .cgroup = notices[i].cgroup,
                                       .level = notice_level_to_string(level),
                                       .told = notices[i].told,
                                       .want = notices[i].want,
                                       .usage = b->usage,
                                       .limit = b->limit,
                                       .threshold = b->threshold,
                                       .grace_usec = b->grace_usec,
                               });
                all += notices[i].told;
        }
        return all;
}

static void on_emulator_grace_ended(const EmulatorGraceEnd *ev, void *userdata) {
        event_grace_ended(userdata, ev);
}

static void on_emulator_removed(void *userdata) {
        unit_watched_cgroup_removed(userdata);
}

/* memqosd's own reclaim (WatermarkRatio= where memqos.conf and the kernel
 * leave it to us) and pre-emptive kill (use_priority_oom in force). */
void unit_update_emulation(Manager *m, Unit *u) {
        const ApplyContext ctx = {
                .config = &m->config,
                .reclaim_mode = m->reclaim_mode,
                .oom_mode = m->oom_mode,
                .page_size = m->page_size,
        };
        EmulatorSettings s;
        static const EmulatorCallbacks callbacks = {
                .priority_of = on_emulator_priority_of,
                .reserve_of = on_emulator_reserve_of,
                .reclaimed = on_emulator_reclaimed,
                .reclaim_folded = on_emulator_reclaim_folded,
                .killed = on_emulator_killed,
                .notify = on_emulator_notify,
                .grace_ended = on_emulator_grace_ended,
                .removed = on_emulator_removed,
        };
        int r;

        /* The unit's watch (set up just before) passes its OOMs on. */
        apply_emulator_settings(&ctx, &u->policy, &u->desired, u->watch && memcg_watch_oom_enabled(u->watch), &s);
        s.squeeze_fd = m->squeeze_fd;
        s.squeeze_dir = m->squeeze_dir;

        if (!m->memcg_root || isempty_str(u->control_group) || !apply_wants_emulator(&s)) {
                u->emulator = emulator_free(u->emulator);
                return;
        }
        if (!u->emulator) {
                r = emulator_new(m->event, unit_object(u), &callbacks, u, &u->emulator);
                if (r < 0) {
                        log_oom();
                        return;
                }
        }
        r = emulator_configure(u->emulator, m->memcg_root, u->control_group, &s);
        if (r < 0 && r != -ENOENT)
                log_unit_warning_errno(unit_object(u), u->control_group, r,
                                       "Cannot watch the memory cgroup for reclaim and kill: %m");
}

