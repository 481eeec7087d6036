/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Emulator's ladder (ladder.h): the notices before a reclaim pass and
 * before a kill, and the grace timers. The grace is a timer, never a wait:
 * the event loop runs on, and while it runs no second action of its level
 * starts for the unit (emulator_check() looks at the timer). */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/util.h"
#include "emulate/emulator-internal.h"
#include "emulate/ladder.h"

static EmuGrace *grace_of(Emulator *e, LadderLevel level) {
        return level == LADDER_KILL ? &e->kill_grace : &e->reclaim_grace;
}

void emulator_grace_clear(EmuGrace *g) {
        assert(g);

        g->timer = sd_event_source_disable_unref(g->timer);
        for (size_t i = 0; i < g->n_cgroups; i++)
                g->cgroups[i] = mfree(g->cgroups[i]);
        g->n_cgroups = g->told = 0;
        g->want = 0;
        g->given = false;
}

size_t emulator_notify(Emulator *e, LadderLevel level, LadderNotice *notices, size_t n, uint64_t usage,
                       uint64_t limit, uint64_t threshold, uint64_t grace_usec) {
        assert(e);
        assert(notices || n == 0);

        if (!e->callbacks.notify || n == 0)
                return 0;
        EmulatorNoticeBatch b = {
                .cgroup = e->cgroup,
                .level = level,
                .usage = usage,
                .limit = limit,
                .threshold = threshold,
                .grace_usec = grace_usec,
        };
        return e->callbacks.notify(&b, notices, n, e->userdata);
}

/* What the cgroups told gave back since, in sum; a cgroup gone reads as 0. */
static uint64_t grace_given_back(Emulator *e, const EmuGrace *g) {
        uint64_t sum = 0;

        for (size_t i = 0; i < g->n_cgroups; i++) {
                _cleanup_(closep) int fd = memcg_open(e->root, g->cgroups[i]);
                uint64_t now = 0;
                if (fd >= 0)
                        (void) memcg_read_usage(e->root, fd, &now);
                sum += ladder_given_back(g->usage_told[i], now);
        }
        return sum;
}

static void grace_say(Emulator *e, EmuGrace *g, LadderLevel level, uint64_t usage, uint64_t limit, LadderNext next) {
        EmulatorGraceEnd ev = {
                .cgroup = e->cgroup,
                .level = level,
                .told = g->told,
                .n_cgroups = g->n_cgroups,
                .want = g->want,
                .given_back = grace_given_back(e, g),
                .usage_before = g->usage_before,
                .usage_after = usage,
                .limit = limit,
                .grace_usec = clock_usec(CLOCK_MONOTONIC) - g->start_usec,
                .next = next,
        };
        if (e->callbacks.grace_ended)
                e->callbacks.grace_ended(&ev, e->userdata);
}

/* The reclaim grace ended: say what was given back, then the pass takes
 * only what is still needed (emulator_check() reads usage afresh). */
static int on_reclaim_grace_end(sd_event_source *s, uint64_t usec, void *userdata) {
        Emulator *e = userdata;
        EmuGrace *g = &e->reclaim_grace;
        uint64_t usage = 0, limit = MEMCG_UNLIMITED, high, low;
        int dirfd = emulator_dirfd(e);

        g->timer = sd_event_source_disable_unref(g->timer);
        if (dirfd >= 0 && memcg_read_usage(e->root, dirfd, &usage) >= 0 &&
            memcg_read_limit(e->root, dirfd, &limit) >= 0) {
                emulator_watermarks(&e->s, limit, &high, &low);
                LadderNext next = ladder_after_reclaim_grace(usage, low, 0, e->s.page_size, NULL);
                grace_say(e, g, LADDER_RECLAIM, usage, limit, next);
        }
        emulator_grace_clear(g);
        g->given = true; /* the passes of this episode go on without another notice */
        emulator_check(e);
        return 0;
}

/* The kill grace ended: nobody is killed when the kill is no longer
 * needed; else it goes ahead now, on the same fresh readings' verdict. */
static int on_kill_grace_end(sd_event_source *s, uint64_t usec, void *userdata) {
        Emulator *e = userdata;
        EmuGrace *g = &e->kill_grace;
        uint64_t usage = 0, limit = MEMCG_UNLIMITED;
        int dirfd = emulator_dirfd(e);
        MemcgStat st;
        LadderNext next = LADDER_NEXT_NO_KILL;

        g->timer = sd_event_source_disable_unref(g->timer);
        if (dirfd >= 0 && memcg_read_usage(e->root, dirfd, &usage) >= 0 &&
            memcg_read_limit(e->root, dirfd, &limit) >= 0 && memcg_read_stat(e->root, dirfd, &st) >= 0) {
                uint64_t kill_wm = emu_kill_watermark(limit, e->s.kill_ratio, e->s.page_size);
                next = ladder_after_kill_grace(usage, st.file, st.anon, emulator_have_swap(), kill_wm);
                grace_say(e, g, LADDER_KILL, usage, limit, next);
        }
        emulator_grace_clear(g);
        /* Given: the kill that follows, if any, does not tell again. */
        g->given = next == LADDER_NEXT_KILL;
        emulator_check(e);
        return 0;
}

int emulator_grace_start(Emulator *e, LadderLevel level, const LadderNotice *notices, size_t n, uint64_t usage,
                         uint64_t grace_usec) {
        assert(e);
        assert(notices || n == 0);

        EmuGrace *g = grace_of(e, level);
        int r;

        emulator_grace_clear(g);
        if (grace_usec == 0)
                return -EAGAIN;
        for (size_t i = 0; i < n && g->n_cgroups < LADDER_NOTICES_MAX; i++) {
                if (notices[i].told == 0)
                        continue; /* nobody there can give: not counted as given back */
                g->cgroups[g->n_cgroups] = strdup(notices[i].cgroup);
                if (!g->cgroups[g->n_cgroups]) {
                        emulator_grace_clear(g);
                        return -ENOMEM;
                }
                g->usage_told[g->n_cgroups++] = notices[i].usage;
                g->told += notices[i].told;
                g->want += notices[i].want;
        }
        g->usage_before = usage;
        g->start_usec = clock_usec(CLOCK_MONOTONIC);
        /* Counted from now, when the clients have just been told (grace_usec
         * is at most 10 s: no overflow); a relative timer counts from the
         * loop's last wake-up, and a pass that took 150 ms under load before
         * telling left 47 ms of a 200 ms grace. Accuracy 1 ms, the finest:
         * the graces are tens of ms, and with 0, sd-event's default of
         * 250 ms, a 50 ms grace would end anywhere up to 300 ms (seen: a 1 s
         * grace took 1.09-1.24 s). */
        r = sd_event_add_time(e->event, &g->timer, CLOCK_MONOTONIC, g->start_usec + grace_usec,
                              EVENT_TIMER_FINE_USEC, level == LADDER_KILL ? on_kill_grace_end : on_reclaim_grace_end,
                              e);
        if (r < 0) {
                log_unit_warning_errno(e->unit_object, e->cgroup, r, "Cannot arm the grace timer, acting now: %m");
                emulator_grace_clear(g);
                return r;
        }
        (void) sd_event_source_set_description(g->timer, level == LADDER_KILL ? "emulator-kill-grace"
                                                                              : "emulator-reclaim-grace");
        return 0;
}

bool emulator_reclaim_announce(Emulator *e, const EmuTree *t, const EmuReclaimStep *plan, size_t n,
                               uint64_t usage, uint64_t limit, uint64_t high) {
        assert(e);
        assert(t);

        LadderNotice notices[LADDER_NOTICES_MAX];

        if (!ladder_notice_due(e->s.reclaim_grace_usec, e->reclaim_grace.given, e->reclaim_grace.timer))
                return false;
        size_t k = ladder_reclaim_notices(t, plan, n, notices, ELEMENTSOF(notices));
        size_t told = emulator_notify(e, LADDER_RECLAIM, notices, k, usage, limit, high, e->s.reclaim_grace_usec);
        return emulator_grace_start(e, LADDER_RECLAIM, notices, k, usage,
                                    ladder_grace_usec(told, e->s.reclaim_grace_usec)) >= 0;
}
