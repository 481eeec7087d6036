/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/log.h"
#include "daemon/desired.h"
#include "daemon/events.h"

/* The rate-limit key of a unit's events of one kind: "<unit>\n<what>". A
 * newline is in neither a unit name nor a cgroup path (a [Group] unit's
 * name), so that one unit's prefix never matches another unit's keys (a
 * group "/a" and its child "/a/b"). NULL when out of memory. */
static char *event_key(const char *unit, const char *what) {
        char *key;
        return asprintf(&key, "%s\n%s", unit, what) < 0 ? NULL : key;
}

void events_forget_unit(Manager *m, const Unit *u) {
        _cleanup_free_ char *prefix = event_key(u->name, "");

        if (m->ratelimit && prefix)
                ratelimit_forget_prefix(m->ratelimit, prefix);
}

/* 1 to emit (with *folded set), 0 to fold. Out of memory: emit. */
static int event_pass(Manager *m, const char *unit, const char *what, unsigned *folded) {
        _cleanup_free_ char *key = NULL;
        int r;

        *folded = 0;
        if (!m->ratelimit || !(key = event_key(unit, what)))
                return 1;
        r = ratelimit_test(m->ratelimit, key, clock_usec(CLOCK_MONOTONIC), folded);
        return r != 0;
}

static void add_priority(Fields *f, const Unit *u) {
        if (u && policy_has(&u->policy, POLICY_MEMORY_PRIORITY))
                (void) fields_add(f, "MEMQOS_PRIORITY", "%u", u->policy.memory_priority);
}

void event_threshold(Manager *m, Unit *u, const MemcgWatchEvent *ev) {
        _cleanup_(fields_done) Fields f = {};
        char what[64], b1[FORMAT_SIZE_MAX], b2[FORMAT_SHARE_MAX];
        unsigned folded;

        snprintf(what, sizeof(what), "threshold-%" PRIu64, ev->threshold);
        if (!event_pass(m, u->name, what, &folded))
                return;

        fields_add_bytes(&f, "MEMQOS_USAGE_BYTES", ev->usage);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", ev->limit);
        fields_add_bytes(&f, "MEMQOS_THRESHOLD_BYTES", ev->threshold);
        (void) fields_add(&f, "MEMQOS_DIRECTION", "%s", threshold_direction_to_string(ev->direction));
        (void) fields_add(&f, "MEMQOS_FOLDED", "%u", folded);
        add_priority(&f, u);

        log_full(LOG_NOTICE, 0, unit_object(u), ev->cgroup, MEMQOS_MESSAGE_THRESHOLD, f.v,
                 "Memory usage went %s across %s: %s.%s",
                 ev->direction == THRESHOLD_UP ? "up" : "down", format_size(b1, ev->threshold),
                 format_share(b2, ev->usage, ev->limit),
                 folded > 0 ? " (more crossings were folded, see MEMQOS_FOLDED)" : "");
}

void event_oom(Manager *m, Unit *u, const MemcgWatchEvent *ev) {
        _cleanup_(fields_done) Fields f = {};
        char b[FORMAT_SHARE_MAX];
        unsigned folded;

        if (!event_pass(m, u->name, "oom", &folded))
                return;

        fields_add_bytes(&f, "MEMQOS_USAGE_BYTES", ev->usage);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", ev->limit);
        (void) fields_add(&f, "MEMQOS_OOM_COUNT", "%" PRIu64, ev->oom_total.oom);
        (void) fields_add(&f, "MEMQOS_OOM_KILL_COUNT", "%" PRIu64, ev->oom_total.oom_kill);
        (void) fields_add(&f, "MEMQOS_OOM_KILLS", "%" PRIu64, ev->oom_delta.oom_kill);
        (void) fields_add(&f, "MEMQOS_FOLDED", "%u", folded);
        add_priority(&f, u);

        log_full(LOG_WARNING, 0, unit_object(u), ev->cgroup, MEMQOS_MESSAGE_OOM, f.v,
                 "Out of memory: usage %s; %" PRIu64 " %s killed.", format_share(b, ev->usage, ev->limit),
                 ev->oom_delta.oom_kill, plural(ev->oom_delta.oom_kill, "process", "processes"));
}

void event_oom_kill(Manager *m, const KmsgOomReport *r) {
        _cleanup_(fields_done) Fields f = {};
        const char *oom_cgroup = r->oom_memcg ?: "/";
        Unit *victim = unit_table_deepest_for_cgroup(&m->units, r->task_memcg);
        Unit *oom = unit_table_deepest_for_cgroup(&m->units, oom_cgroup);
        uint64_t usage = MEMCG_UNLIMITED, limit = MEMCG_UNLIMITED;
        char b[FORMAT_SHARE_MAX];

        /* Only what memqosd follows: the victim's memcg, or the one that ran
         * out, at or below a followed unit or group. The second contains the
         * first, so it matters only when the summary record was lost: then
         * the kill is placed at "/", which only a unit or group at the root
         * (systemd's -.slice) contains. */
        if (!victim && !oom) {
                log_debug("OOM kill of process %d (%s) in %s, which no unit or group followed contains: not reported.",
                          (int) r->pid, r->comm, r->task_memcg ?: "an unknown cgroup");
                return;
        }

        if (m->memcg_root) {
                _cleanup_close_ int fd = memcg_open(m->memcg_root, oom_cgroup);
                if (fd >= 0) {
                        (void) memcg_read_usage(m->memcg_root, fd, &usage);
                        (void) memcg_read_limit(m->memcg_root, fd, &limit);
                }
        }

        (void) fields_add(&f, "MEMQOS_VICTIM_PID", "%d", (int) r->pid);
        (void) fields_add(&f, "MEMQOS_VICTIM_COMM", "%s", r->comm);
        if (unit_object(victim))
                (void) fields_add(&f, "MEMQOS_VICTIM_UNIT", "%s", victim->name);
        if (r->task_memcg)
                (void) fields_add(&f, "MEMQOS_VICTIM_CGROUP", "%s", r->task_memcg);
        (void) fields_add(&f, "MEMQOS_OOM_CGROUP", "%s", oom_cgroup);
        if (unit_object(oom))
                (void) fields_add(&f, "MEMQOS_OOM_UNIT", "%s", oom->name);
        if (r->constraint)
                (void) fields_add(&f, "MEMQOS_CONSTRAINT", "%s", r->constraint);
        (void) fields_add(&f, "MEMQOS_VICTIM_ANON_RSS_KB", "%" PRIu64, r->anon_rss_kb);
        (void) fields_add(&f, "MEMQOS_VICTIM_FILE_RSS_KB", "%" PRIu64, r->file_rss_kb);
        fields_add_bytes(&f, "MEMQOS_USAGE_BYTES", usage);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", limit);
        add_priority(&f, victim);
        /* A second OBJECT_SYSTEMD_UNIT= (the journal keeps both values) makes the
         * kill show up under the unit that ran out of memory too. */
        if (unit_object(oom) && oom != victim)
                (void) fields_add(&f, "OBJECT_SYSTEMD_UNIT", "%s", oom->name);

        log_full(LOG_WARNING, 0, unit_object(victim), r->task_memcg, MEMQOS_MESSAGE_OOM_KILL, f.v,
                 "The OOM killer killed process %d (%s) of %s: %s ran out of memory (usage %s).",
                 (int) r->pid, r->comm, victim ? victim->name : (r->task_memcg ?: "an unknown cgroup"),
                 oom ? oom->name : oom_cgroup, format_share(b, usage, limit));
}

bool event_reclaim(Manager *m, Unit *u, const EmulatorReclaim *ev) {
        _cleanup_(fields_done) Fields f = {};
        _cleanup_free_ char *steps = NULL;
        size_t len = 0;
        char b1[FORMAT_SIZE_MAX], b2[FORMAT_SIZE_MAX], b3[FORMAT_SIZE_MAX];
        unsigned folded;
        uint64_t reclaimed = ev->usage_before > ev->usage_after ? ev->usage_before - ev->usage_after : 0;

        /* Under a steady writer a pass runs each time usage climbs back over
         * wmark_high: the journal gets the first ones and the count of the rest. */
        if (!event_pass(m, u->name, "reclaim", &folded)) {
                log_debug("%s: reclaimed %s in %" PRIu64 " ms (%s), usage %s -> %s; event folded.", ev->cgroup,
                          format_size(b1, reclaimed), ev->duration_usec / 1000, ev->method,
                          format_size(b2, ev->usage_before), format_size(b3, ev->usage_after));
                return false;
        }

        FILE *s = open_memstream(&steps, &len);
        if (!s)
                return true; /* out of memory: the pass is lost, not the sum */
        for (size_t i = 0; i < ev->n_taken; i++)
                fprintf(s, "%s%s:%u:%" PRIu64, i ? " " : "", ev->steps[i].cgroup, ev->steps[i].priority,
                        ev->steps[i].bytes);
        fclose(s);

        fields_add_bytes(&f, "MEMQOS_USAGE_BEFORE_BYTES", ev->usage_before);
        fields_add_bytes(&f, "MEMQOS_USAGE_AFTER_BYTES", ev->usage_after);
        fields_add_bytes(&f, "MEMQOS_RECLAIMED_BYTES", reclaimed);
        fields_add_bytes(&f, "MEMQOS_WMARK_HIGH_BYTES", ev->wmark_high);
        fields_add_bytes(&f, "MEMQOS_WMARK_LOW_BYTES", ev->wmark_low);
        (void) fields_add(&f, "MEMQOS_DURATION_USEC", "%" PRIu64, ev->duration_usec);
        (void) fields_add(&f, "MEMQOS_METHOD", "%s", ev->method);
        (void) fields_add(&f, "MEMQOS_RECLAIM_STEPS", "%s", steps ?: "");
        (void) fields_add(&f, "MEMQOS_FOLDED", "%u", folded);
        if (folded > 0) {
                fields_add_bytes(&f, "MEMQOS_FOLDED_RECLAIMED_BYTES", ev->folded_reclaimed);
                (void) fields_add(&f, "MEMQOS_FOLDED_DURATION_USEC", "%" PRIu64, ev->folded_duration_usec);
        }

        log_full(LOG_INFO, 0, unit_object(u), ev->cgroup, MEMQOS_MESSAGE_RECLAIM, f.v,
                 "Reclaimed %s from %s in %zu step%s, %" PRIu64 " ms (%s): usage %s -> %s.%s",
                 format_size(b1, reclaimed), ev->n_taken > 0 ? ev->steps[0].cgroup : ev->cgroup,
                 ev->n_steps, plural(ev->n_steps, "", "s"), ev->duration_usec / 1000, ev->method, format_size(b2, ev->usage_before),
                 format_size(b3, ev->usage_after),
                 folded > 0 ? " (more passes were folded, see MEMQOS_FOLDED)" : "");
        return true;
}

void event_reclaim_folded(Manager *m, Unit *u, const char *cgroup, uint64_t reclaimed, uint64_t duration_usec,
                          uint64_t usage_after) {
        _cleanup_(fields_done) Fields f = {};
        _cleanup_free_ char *key = NULL;
        unsigned folded;
        char b[FORMAT_SIZE_MAX];

        if (!m->ratelimit || !(key = event_key(u->name, "reclaim")))
                return;
        folded = ratelimit_take_folded(m->ratelimit, key);
        if (folded == 0)
                return;

        (void) fields_add(&f, "MEMQOS_FOLDED", "%u", folded);
        fields_add_bytes(&f, "MEMQOS_FOLDED_RECLAIMED_BYTES", reclaimed);
        (void) fields_add(&f, "MEMQOS_FOLDED_DURATION_USEC", "%" PRIu64, duration_usec);
        /* Where the last of them left usage: whether the episode reached
         * wmark_low is otherwise lost when its last pass was folded. */
        fields_add_bytes(&f, "MEMQOS_USAGE_AFTER_BYTES", usage_after);
        log_full(LOG_INFO, 0, unit_object(u), cgroup, MEMQOS_MESSAGE_RECLAIM_FOLDED, f.v,
                 "%u more reclaim %s, folded: %s reclaimed in %" PRIu64 " ms in all.", folded,
                 plural(folded, "pass", "passes"), format_size(b, reclaimed), duration_usec / 1000);
}

void event_priority_kill(Manager *m, Unit *u, const EmulatorKill *ev) {
        _cleanup_(fields_done) Fields f = {};
        Unit *victim = unit_table_deepest_for_cgroup(&m->units, ev->victim_cgroup);
        char b1[FORMAT_SHARE_MAX], b2[FORMAT_SIZE_MAX], where[512];

        if (streq(ev->victim_cgroup, ev->victim_branch))
                snprintf(where, sizeof(where), "%s (priority %u)", ev->victim_cgroup, ev->victim_priority);
        else
                snprintf(where, sizeof(where), "%s (in %s, priority %u)", ev->victim_cgroup, ev->victim_branch,
                         ev->victim_priority);

        if (ev->pid > 0)
                (void) fields_add(&f, "MEMQOS_VICTIM_PID", "%d", (int) ev->pid);
        (void) fields_add(&f, "MEMQOS_VICTIM_COMM", "%s", ev->comm);
        (void) fields_add(&f, "MEMQOS_VICTIM_CGROUP", "%s", ev->victim_cgroup);
        if (unit_object(victim))
                (void) fields_add(&f, "MEMQOS_VICTIM_UNIT", "%s", victim->name);
        (void) fields_add(&f, "MEMQOS_VICTIM_BRANCH", "%s", ev->victim_branch);
        (void) fields_add(&f, "MEMQOS_VICTIM_PRIORITY", "%u", ev->victim_priority);
        fields_add_bytes(&f, "MEMQOS_VICTIM_RSS_BYTES", ev->rss);
        fields_add_bytes(&f, "MEMQOS_USAGE_BYTES", ev->usage);
        fields_add_bytes(&f, "MEMQOS_UNRECLAIMABLE_BYTES", ev->unreclaimable);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", ev->limit);
        fields_add_bytes(&f, "MEMQOS_KILL_WATERMARK_BYTES", ev->kill_watermark);
        (void) fields_add(&f, "MEMQOS_DURATION_USEC", "%" PRIu64, ev->duration_usec);
        (void) fields_add(&f, "MEMQOS_METHOD", "%s", ev->method);
        /* Also under the victim's unit (a second OBJECT_SYSTEMD_UNIT=). */
        if (unit_object(victim) && victim != u)
                (void) fields_add(&f, "OBJECT_SYSTEMD_UNIT", "%s", victim->name);

        if (ev->pid > 0)
                log_full(LOG_WARNING, 0, unit_object(u), ev->cgroup, MEMQOS_MESSAGE_PRIORITY_KILL, f.v,
                         "Killed process %d (%s) in %s: unreclaimable memory (%s) reached the kill "
                         "watermark %s.",
                         (int) ev->pid, ev->comm, where, format_share(b1, ev->unreclaimable, ev->limit),
                         format_size(b2, ev->kill_watermark));
        else
                log_full(LOG_WARNING, 0, unit_object(u), ev->cgroup, MEMQOS_MESSAGE_PRIORITY_KILL, f.v,
                         "Killed every process of %s, memory.oom.group=1: unreclaimable memory (%s) "
                         "reached the kill watermark %s.",
                         where, format_share(b1, ev->unreclaimable, ev->limit), format_size(b2, ev->kill_watermark));
}
