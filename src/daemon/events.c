/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/log.h"
#include "config-paths.h"
#include "daemon/desired.h"
#include "daemon/events.h"
#include "daemon/summary.h"

/* The rate-limit key of a unit's events of one kind: "<unit>\n<what>". A
 * newline is in neither a unit name nor a cgroup path (a [Group] unit's
 * name), so that one unit's prefix never matches another unit's keys (a
 * group "/a" and its child "/a/b"). NULL when out of memory. */
static char *event_key(const char *unit, const char *what) {
        char *key;
        return asprintf(&key, "%s\n%s", unit, what) < 0 ? NULL : key;
}

static const struct {
        const char *id, *kind;
} event_kinds[] = {
        { MEMQOS_MESSAGE_STARTED, "started" },
        { MEMQOS_MESSAGE_POLICY_APPLIED, "policy-applied" },
        { MEMQOS_MESSAGE_POLICY_INVALID, "policy-invalid" },
        { MEMQOS_MESSAGE_FEATURE_MISSING, "feature-missing" },
        { MEMQOS_MESSAGE_LIMIT_CHANGED, "limit-changed" },
        { MEMQOS_MESSAGE_THRESHOLD, "threshold" },
        { MEMQOS_MESSAGE_OOM, "oom" },
        { MEMQOS_MESSAGE_OOM_KILL, "oom-kill" },
        { MEMQOS_MESSAGE_CONFIG_INVALID, "config-invalid" },
        { MEMQOS_MESSAGE_APPLY_FAILED, "apply-failed" },
        { MEMQOS_MESSAGE_RECLAIM, "reclaim" },
        { MEMQOS_MESSAGE_PRIORITY_KILL, "priority-kill" },
        { MEMQOS_MESSAGE_BACKEND, "backend" },
        { MEMQOS_MESSAGE_LIMIT_RESTORED, "limit-restored" },
        { MEMQOS_MESSAGE_RECLAIM_FOLDED, "reclaim-folded" },
        { MEMQOS_MESSAGE_RELOADED, "reloaded" },
        { MEMQOS_MESSAGE_NOTIFIED, "notified" },
        { MEMQOS_MESSAGE_GRACE_ENDED, "grace-ended" },
};

const char *event_kind(const char *message_id) {
        for (size_t i = 0; message_id && i < ELEMENTSOF(event_kinds); i++)
                if (streq(event_kinds[i].id, message_id))
                        return event_kinds[i].kind;
        return NULL;
}

void events_forget_unit(RateLimit *rl, const Unit *u) {
        assert(u);

        _cleanup_free_ char *prefix = event_key(u->name, "");

        if (rl && prefix)
                ratelimit_forget_prefix(rl, prefix);
}

/* 1 to emit (with *folded set), 0 to fold. Out of memory: emit. */
static int event_pass(RateLimit *rl, const char *unit, const char *what, unsigned *folded) {
        _cleanup_free_ char *key = NULL;
        int r;

        *folded = 0;
        if (!rl || !(key = event_key(unit, what)))
                return 1;
        r = ratelimit_test(rl, key, clock_usec(CLOCK_MONOTONIC), folded);
        return r != 0;
}

static void add_priority(Fields *f, const Unit *u) {
        if (u && policy_has(&u->policy, POLICY_MEMORY_PRIORITY))
                (void) fields_add(f, "MEMQOS_PRIORITY", "%u", u->policy.memory_priority);
}

void event_threshold(RateLimit *rl, const Unit *u, const MemcgWatchEvent *ev) {
        assert(u);
        assert(ev);

        _cleanup_(fields_done) Fields f = {};
        char what[64], b1[FORMAT_SIZE_MAX], b2[FORMAT_SHARE_MAX];
        unsigned folded;

        snprintf(what, sizeof(what), "threshold-%" PRIu64, ev->threshold);
        if (!event_pass(rl, u->name, what, &folded))
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

/* What the notice's line is about, for the message. */
static void notice_describe(char *buf, size_t size, const NoticeEvent *n) {
        char b1[FORMAT_SIZE_MAX], b2[FORMAT_SHARE_MAX];

        if (streq(n->level, "reclaim"))
                snprintf(buf, size, "memqosd's reclaim is about to take from %s (usage %s)", n->cgroup,
                         format_share(b2, n->usage, n->limit));
        else if (streq(n->level, "kill"))
                snprintf(buf, size, "%s is next for memqosd's priority kill (usage %s, kill watermark %s)", n->cgroup,
                         format_share(b2, n->usage, n->limit), format_size(b1, n->threshold));
        else
                snprintf(buf, size, "Usage went up across %s (%s)", format_size(b1, n->threshold),
                         format_share(b2, n->usage, n->limit));
}

void event_notified(RateLimit *rl, const Unit *u, const NoticeEvent *n) {
        assert(u);
        assert(n);
        assert(n->cgroup);
        assert(n->level);

        _cleanup_(fields_done) Fields f = {};
        char what[96], about[PATH_MAX + 128], grace[64] = "", b[FORMAT_SIZE_MAX];
        unsigned folded;

        snprintf(what, sizeof(what), "notified-%s-%" PRIu64, n->level, n->threshold);
        if (!event_pass(rl, u->name, what, &folded))
                return;

        (void) fields_add(&f, "MEMQOS_NOTICE_LEVEL", "%s", n->level);
        (void) fields_add(&f, "MEMQOS_CLIENTS", "%zu", n->told);
        fields_add_bytes(&f, "MEMQOS_WANT_BYTES", n->want);
        fields_add_bytes(&f, "MEMQOS_USAGE_BYTES", n->usage);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", n->limit);
        fields_add_bytes(&f, "MEMQOS_THRESHOLD_BYTES", n->threshold);
        (void) fields_add(&f, "MEMQOS_GRACE_USEC", "%" PRIu64, n->grace_usec);
        (void) fields_add(&f, "MEMQOS_FOLDED", "%u", folded);
        add_priority(&f, u);

        notice_describe(about, sizeof(about), n);
        if (n->grace_usec > 0)
                snprintf(grace, sizeof(grace), " within %" PRIu64 " ms", n->grace_usec / 1000);
        log_full(LOG_INFO, 0, unit_object(u), n->cgroup, MEMQOS_MESSAGE_NOTIFIED, f.v,
                 "%s: told %zu %s on the pressure socket, asking %s back%s.%s", about, n->told,
                 plural(n->told, "client", "clients"), format_size(b, n->want), grace,
                 folded > 0 ? " (more notices were folded, see MEMQOS_FOLDED)" : "");
}

void event_grace_ended(const Unit *u, const EmulatorGraceEnd *ev) {
        assert(u);
        assert(ev);

        _cleanup_(fields_done) Fields f = {};
        char b1[FORMAT_SIZE_MAX], b2[FORMAT_SIZE_MAX], b3[FORMAT_SHARE_MAX];
        const char *next;

        (void) fields_add(&f, "MEMQOS_NOTICE_LEVEL", "%s", ladder_level_to_string(ev->level));
        (void) fields_add(&f, "MEMQOS_CLIENTS", "%zu", ev->told);
        fields_add_bytes(&f, "MEMQOS_WANT_BYTES", ev->want);
        fields_add_bytes(&f, "MEMQOS_GIVEN_BACK_BYTES", ev->given_back);
        fields_add_bytes(&f, "MEMQOS_USAGE_BEFORE_BYTES", ev->usage_before);
        fields_add_bytes(&f, "MEMQOS_USAGE_BYTES", ev->usage_after);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", ev->limit);
        (void) fields_add(&f, "MEMQOS_GRACE_USEC", "%" PRIu64, ev->grace_usec);
        (void) fields_add(&f, "MEMQOS_NEXT", "%s", ladder_next_to_string(ev->next));
        add_priority(&f, u);

        switch (ev->next) {
        case LADDER_NEXT_RECLAIM_REST:
                next = "reclaim takes what is still needed";
                break;
        case LADDER_NEXT_NOTHING_LEFT:
                next = "usage is below wmark_low, nothing to reclaim";
                break;
        case LADDER_NEXT_KILL:
                next = "the kill is still needed and goes ahead";
                break;
        default:
                next = "the kill is no longer needed: nobody is killed";
        }
        log_full(ev->level == LADDER_KILL ? LOG_NOTICE : LOG_INFO, 0, unit_object(u), ev->cgroup,
                 MEMQOS_MESSAGE_GRACE_ENDED, f.v,
                 "After %" PRIu64 " ms of grace the %zu %s told (%s) gave back %s of %s asked; usage %s: %s.",
                 ev->grace_usec / 1000, ev->told, plural(ev->told, "client", "clients"),
                 ladder_level_to_string(ev->level), format_size(b1, ev->given_back), format_size(b2, ev->want),
                 format_share(b3, ev->usage_after, ev->limit), next);
}

void event_oom(RateLimit *rl, const Unit *u, const MemcgWatchEvent *ev) {
        assert(u);
        assert(ev);

        _cleanup_(fields_done) Fields f = {};
        char b[FORMAT_SHARE_MAX];
        unsigned folded;

        if (!event_pass(rl, u->name, "oom", &folded))
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

void event_oom_kill(const UnitTable *units, const MemcgRoot *root, const KmsgOomReport *r) {
        assert(r);

        _cleanup_(fields_done) Fields f = {};
        const char *oom_cgroup = r->oom_memcg ?: "/";
        Unit *victim = unit_table_deepest_for_cgroup(units, r->task_memcg);
        Unit *oom = unit_table_deepest_for_cgroup(units, oom_cgroup);
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

        if (root) {
                _cleanup_close_ int fd = memcg_open(root, oom_cgroup);
                if (fd >= 0) {
                        (void) memcg_read_usage(root, fd, &usage);
                        (void) memcg_read_limit(root, fd, &limit);
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

bool event_reclaim(RateLimit *rl, const Unit *u, const EmulatorReclaim *ev) {
        assert(u);
        assert(ev);

        _cleanup_(fields_done) Fields f = {};
        _cleanup_free_ char *steps = NULL;
        size_t len = 0;
        char b1[FORMAT_SIZE_MAX], b2[FORMAT_SIZE_MAX], b3[FORMAT_SIZE_MAX];
        unsigned folded;
        uint64_t reclaimed = emulator_reclaim_bytes(ev);

        /* Under a steady writer a pass runs each time usage climbs back over
         * wmark_high: the journal gets the first ones and the count of the rest. */
        if (!event_pass(rl, u->name, "reclaim", &folded)) {
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

void event_reclaim_folded(RateLimit *rl, const Unit *u, const char *cgroup, uint64_t reclaimed,
                          uint64_t duration_usec, uint64_t usage_after) {
        assert(u);

        _cleanup_(fields_done) Fields f = {};
        _cleanup_free_ char *key = NULL;
        unsigned folded;
        char b[FORMAT_SIZE_MAX];

        if (!rl || !(key = event_key(u->name, "reclaim")))
                return;
        folded = ratelimit_take_folded(rl, key);
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

void event_priority_kill(const UnitTable *units, const Unit *u, const EmulatorKill *ev) {
        assert(ev);

        _cleanup_(fields_done) Fields f = {};
        Unit *victim = unit_table_deepest_for_cgroup(units, ev->victim_cgroup);
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

/* ---- a unit's policy ---- */

/* MemcgKnob and PolicyKey list the four programmable settings in the same order. */
static const char *const knob_policy_names[_MEMCG_KNOB_MAX] = {
        [MEMCG_PRIORITY] = "MemoryPriority",
        [MEMCG_USE_PRIORITY_OOM] = "UsePriorityOOM",
        [MEMCG_WMARK_RATIO] = "WatermarkRatio",
        [MEMCG_WMARK_SCALE_FACTOR] = "WatermarkScaleFactor",
};

static const char *const knob_field_names[_MEMCG_KNOB_MAX] = {
        [MEMCG_PRIORITY] = "MEMQOS_MEMORY_PRIORITY",
        [MEMCG_USE_PRIORITY_OOM] = "MEMQOS_USE_PRIORITY_OOM",
        [MEMCG_WMARK_RATIO] = "MEMQOS_WATERMARK_RATIO",
        [MEMCG_WMARK_SCALE_FACTOR] = "MEMQOS_WATERMARK_SCALE_FACTOR",
};

void event_policy_invalid(const Unit *u, const Diagnostic *x) {
        _cleanup_(fields_done) Fields fl = {};

        assert(u);
        assert(x);

        (void) fields_add(&fl, "MEMQOS_FILE", "%s", x->file);
        (void) fields_add(&fl, "MEMQOS_LINE", "%u", x->line);
        if (x->key)
                (void) fields_add(&fl, "MEMQOS_KEY", "%s", x->key);
        if (x->line > 0)
                log_full(LOG_WARNING, 0, unit_object(u), u->control_group, MEMQOS_MESSAGE_POLICY_INVALID, fl.v,
                         "%s:%u: %s", x->file, x->line, x->message);
        else
                log_full(LOG_WARNING, 0, unit_object(u), u->control_group, MEMQOS_MESSAGE_POLICY_INVALID, fl.v,
                         "%s: %s", x->file, x->message);
}

void event_policy_applied(const Unit *u, const char *limit_setting, uint64_t high, uint64_t low, char *const *sources) {
        _cleanup_(fields_done) Fields f = {};
        _cleanup_free_ char *summary = NULL, *joined = NULL;
        size_t joined_len = 0;
        FILE *j;

        assert(u);
        assert(limit_setting);

        j = open_memstream(&joined, &joined_len);
        if (!j)
                return (void) log_oom();
        for (size_t i = 0; sources && sources[i]; i++)
                fprintf(j, "%s%s", i ? " " : "", sources[i]);
        if (fclose(j) != 0 || !joined)
                return (void) log_oom();

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                _cleanup_free_ char *state_key = NULL;
                if (!u->desired.want[k])
                        continue;
                (void) fields_add(&f, knob_field_names[k], "%" PRIu64, u->desired.value[k]);
                if (asprintf(&state_key, "%s_STATE", knob_field_names[k]) >= 0)
                        (void) fields_add(&f, state_key, "%s", apply_state_to_string(u->applied.state[k]));
        }
        if (u->policy.n_thresholds > 0) {
                char t[32 * POLICY_THRESHOLDS_MAX];
                policy_format_thresholds(&u->policy, t, sizeof(t));
                (void) fields_add(&f, "MEMQOS_MEMORY_THRESHOLDS", "%s", t);
        }
        if (policy_has(&u->policy, POLICY_MEMORY_RESERVE)) {
                char t[32];
                policy_format_reserve(&u->policy, t, sizeof(t));
                (void) fields_add(&f, "MEMQOS_MEMORY_RESERVE", "%s", t);
        }
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", u->limit);
        fields_add_bytes(&f, "MEMQOS_WMARK_HIGH_BYTES", high);
        fields_add_bytes(&f, "MEMQOS_WMARK_LOW_BYTES", low);
        (void) fields_add(&f, "MEMQOS_SOURCES", "%s", joined);

        PolicySummary ps = {
                .name = u->name,
                .limit_setting = limit_setting,
                .policy = &u->policy, .desired = &u->desired, .applied = &u->applied,
                .limit = u->limit, .wmark_high = high, .wmark_low = low,
        };
        if (policy_summary_format(&ps, &summary) < 0)
                return (void) log_oom();

        log_full(LOG_INFO, 0, unit_object(u), u->control_group, MEMQOS_MESSAGE_POLICY_APPLIED, f.v, "%s", summary);
}

void event_limit_changed(const Unit *u, uint64_t old, uint64_t high, uint64_t low, bool from_kernel) {
        _cleanup_(fields_done) Fields f = {};
        char o[FORMAT_SIZE_MAX], n[FORMAT_SIZE_MAX], h[FORMAT_SHARE_MAX], l[FORMAT_SIZE_MAX];

        assert(u);

        fields_add_bytes(&f, "MEMQOS_OLD_LIMIT_BYTES", old);
        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", u->limit);
        fields_add_bytes(&f, "MEMQOS_WMARK_HIGH_BYTES", high);
        fields_add_bytes(&f, "MEMQOS_WMARK_LOW_BYTES", low);
        (void) fields_add(&f, "MEMQOS_WMARK_SOURCE", "%s", from_kernel ? "kernel" : "computed");

        if (u->limit == MEMCG_UNLIMITED || high == MEMCG_UNLIMITED) /* no watermarks to speak of */
                log_full(LOG_INFO, 0, unit_object(u), u->control_group, MEMQOS_MESSAGE_LIMIT_CHANGED, f.v,
                         "Memory limit changed from %s to %s.", format_size(o, old), format_size(n, u->limit));
        else
                log_full(LOG_INFO, 0, unit_object(u), u->control_group, MEMQOS_MESSAGE_LIMIT_CHANGED, f.v,
                         "Memory limit changed from %s to %s; watermarks now high %s, low %s (%s).",
                         format_size(o, old), format_size(n, u->limit), format_share(h, high, u->limit),
                         format_size(l, low), from_kernel ? "kernel" : "computed");
}

void event_apply_failed(const Unit *u, MemcgKnob k) {
        assert(u);

        /* -ENOENT: the cgroup went away under us (the unit is stopping);
         * its stop reaches us as a signal. */
        log_full(u->applied.error[k] == -ENOENT ? LOG_DEBUG : LOG_ERR, u->applied.error[k], unit_object(u),
                 u->control_group, MEMQOS_MESSAGE_APPLY_FAILED, NULL, "Could not set %s to %" PRIu64 ": %m",
                 memcg_knob_file(k), u->desired.value[k]);
}

void event_feature_missing(MemcgKnob k, const char *units, const char *state_dir) {
        _cleanup_(fields_done) Fields f = {};

        assert(units);

        (void) fields_add(&f, "MEMQOS_FEATURE", "%s", memcg_knob_file(k));
        (void) fields_add(&f, "MEMQOS_UNITS", "%s", units);
        log_full(LOG_WARNING, 0, NULL, NULL, MEMQOS_MESSAGE_FEATURE_MISSING, f.v,
                 "This kernel has no %s: %s= is not in force for %s. "
                 "The desired values are kept in %s.",
                 memcg_knob_file(k), knob_policy_names[k], units, state_dir);
}

/* ---- memqosd itself ---- */

void event_started(size_t n_units, const MemcgRoot *root, Backend backend) {
        log_full(LOG_INFO, 0, NULL, NULL, MEMQOS_MESSAGE_STARTED, NULL,
                 "memqosd " PACKAGE_VERSION " started: following %zu %s, memory cgroups %s%s%s, backend %s.",
                 n_units, plural(n_units, "unit or group", "units and groups"),
                 root ? memcg_layout_to_string(root->layout) : "not found", root ? " at " : "", root ? root->path : "",
                 backend_to_string(backend));
}

void event_config_invalid(const Diagnostics *d, int level, const char *suffix) {
        assert(d);
        assert(suffix);

        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(fields_done) Fields f = {};
                (void) fields_add(&f, "MEMQOS_FILE", "%s", d->items[i].file);
                (void) fields_add(&f, "MEMQOS_LINE", "%u", d->items[i].line);
                if (d->items[i].key)
                        (void) fields_add(&f, "MEMQOS_KEY", "%s", d->items[i].key);
                log_full(level, 0, NULL, NULL, MEMQOS_MESSAGE_CONFIG_INVALID, f.v, "%s:%u: %s%s",
                         d->items[i].file, d->items[i].line, d->items[i].message, suffix);
        }
}

void event_backend(int feature, const char *name, const char *backend, FeatureMode mode, const char *reason,
                   const char *file) {
        _cleanup_(fields_done) Fields f = {};

        assert(name);
        assert(backend);
        assert(reason);
        assert(file);

        (void) fields_add(&f, "MEMQOS_FEATURE", "%s", feature == 0 ? "reclaim" : "oom");
        (void) fields_add(&f, "MEMQOS_BACKEND", "%s", backend);
        (void) fields_add(&f, "MEMQOS_REASON", "%s (%s)", reason, file);
        log_full(LOG_INFO, 0, NULL, NULL, MEMQOS_MESSAGE_BACKEND, f.v, "%s: %s (%s, %s).", name,
                 mode.kernel && mode.emulate ? "the kernel's files, and memqosd's own work ahead of them" :
                 mode.kernel ? "the kernel's files" : mode.emulate ? "memqosd's own work" : "off",
                 reason, file);
}

void event_limit_restored(const SqueezeRecord *rec) {
        _cleanup_(fields_done) Fields f = {};
        char b[FORMAT_SIZE_MAX], s[FORMAT_SIZE_MAX];

        assert(rec);

        fields_add_bytes(&f, "MEMQOS_LIMIT_BYTES", rec->limit);
        fields_add_bytes(&f, "MEMQOS_SQUEEZED_BYTES", rec->squeezed);
        log_full(LOG_NOTICE, 0, NULL, rec->cgroup, MEMQOS_MESSAGE_LIMIT_RESTORED, f.v,
                 "Put the memory limit of %s back to %s: memqosd had squeezed it to %s and stopped before "
                 "restoring it.", rec->cgroup, format_size(b, rec->limit), format_size(s, rec->squeezed));
}

void event_reloaded(const char *config_path, size_t n_rules, size_t n_units, int r, const ConfigVerdict *v) {
        _cleanup_(fields_done) Fields f = {};

        assert(v);

        if (r < 0) {
                (void) fields_add(&f, "MEMQOS_RELOAD", "failed");
                log_full(LOG_ERR, r, NULL, NULL, MEMQOS_MESSAGE_RELOADED, f.v,
                         "Reload failed: %m; the configuration in force stays (%zu [Group] rule%s, following %zu unit%s and groups).",
                         n_rules, n_rules == 1 ? "" : "s", n_units, n_units == 1 ? "" : "s");
                return;
        }
        if (v->take) {
                (void) fields_add(&f, "MEMQOS_RELOAD", "taken");
                log_full(LOG_INFO, 0, NULL, NULL, MEMQOS_MESSAGE_RELOADED, f.v,
                         "Reloaded %s: %zu [Group] rule%s, following %zu unit%s and groups.", config_path,
                         n_rules, n_rules == 1 ? "" : "s", n_units, n_units == 1 ? "" : "s");
                return;
        }
        (void) fields_add(&f, "MEMQOS_RELOAD", "refused");
        (void) fields_add(&f, "MEMQOS_FILE", "%s", v->file);
        (void) fields_add(&f, "MEMQOS_LINE", "%u", v->line);
        log_full(LOG_WARNING, 0, NULL, NULL, MEMQOS_MESSAGE_RELOADED, f.v,
                 "Reload refused because of %s:%u%s: the configuration in force stays (%zu [Group] rule%s, following %zu unit%s and groups).",
                 v->file, v->line,
                 v->n_problems > 1 ? " and other problems" : "",
                 n_rules, n_rules == 1 ? "" : "s", n_units, n_units == 1 ? "" : "s");
}
