/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <search.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/log.h"
#include "basic/state-dir.h"
#include "cgroup/memcg-watch.h"
#include "config-paths.h"
#include "daemon/apply.h"
#include "daemon/desired.h"
#include "daemon/events.h"
#include "daemon/manager.h"
#include "daemon/state.h"
#include "daemon/summary.h"
#include "daemon/systemd.h"
#include "emulate/squeeze.h"

#define FEATURE_REPORT_DELAY_USEC (2 * 1000 * 1000ULL)

/* --- the unit table --------------------------------------------------------------- */

static Unit *unit_free(Unit *u) {
        if (!u)
                return NULL;
        systemd_unit_cancel(u);
        memcg_watch_free(u->watch);
        limit_watch_free(u->limit_watch);
        emulator_free(u->emulator); /* may still say its folded passes */
        if (u->manager && u->name)
                events_forget_unit(u->manager->ratelimit, u);
        free(u->name);
        free(u->active_state);
        free(u->control_group);
        free(u->fragment_path);
        strv_free(u->dropin_paths);
        free(u->diagnostics_said);
        free(u->rule_source);
        free(u->state_name);
        free(u);
        return NULL;
}

/* STATUS= follows the number of units and groups, said at most once a
 * second: a start with thousands of units is one message, not thousands. */
#define STATUS_DELAY_USEC (1000 * 1000ULL)

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        char buf[96];

        m->status_source = sd_event_source_disable_unref(m->status_source);
        if (m->units.n == 1)
                snprintf(buf, sizeof(buf), "STATUS=Following 1 unit or group.");
        else
                snprintf(buf, sizeof(buf), "STATUS=Following %zu units and groups.", m->units.n);
        (void) sd_notify(false, buf);
        return 0;
}

static void manager_status_later(Manager *m) {
        if (!m->status_source && m->event)
                (void) sd_event_add_time_relative(m->event, &m->status_source, CLOCK_MONOTONIC, STATUS_DELAY_USEC,
                                                  0, on_status_timer, m);
}

Unit *manager_get_unit(Manager *m, const char *name) {
        assert(m);
        return unit_table_get(&m->units, name);
}

int manager_add_unit(Manager *m, const char *name, Unit **ret) {
        Unit *u = manager_get_unit(m, name);
        if (u) {
                *ret = u;
                return 0;
        }

        /* What the bus or the cgroup tree can make memqosd allocate is bounded;
         * past the bound, say so once and follow no more. */
        if (m->units.n >= MANAGER_UNITS_MAX) {
                if (!m->units_max_said)
                        log_warning("Following %zu units and groups already, the most memqosd follows: "
                                    "not following %s, nor any other new one.", m->units.n, name);
                m->units_max_said = true;
                return -E2BIG;
        }

        u = calloc(1, sizeof(Unit));
        if (!u)
                return -ENOMEM;
        u->manager = m;
        u->name = strdup(name);
        u->limit = MEMCG_UNLIMITED;
        if (!u->name || unit_table_add(&m->units, u) < 0) {
                unit_free(u);
                return -ENOMEM;
        }
        manager_status_later(m);
        *ret = u;
        return 1;
}

static int unit_state_fd(Manager *m, Unit *u) {
        return u->kind == UNIT_KIND_GROUP ? m->group_state_fd : m->unit_state_fd;
}

static const char *unit_state_name(Unit *u) {
        return u->state_name ?: u->name;
}

static void unit_remove_state(Manager *m, Unit *u) {
        if (!u->has_state_file)
                return;
        (void) state_remove(unit_state_fd(m, u), unit_state_name(u));
        u->has_state_file = false;
}

/* systemd unloaded the unit (stopped and collected, or gone after a reload).
 * A unit whose files had problems is kept, dormant, so that the same problem is
 * not said again when it is loaded again; every other unit is forgotten. */
void manager_unit_unloaded(Manager *m, Unit *u) {
        if (isempty_str(u->diagnostics_said)) {
                manager_unit_cgroup_gone(m, u);
                manager_remove_unit(m, u);
                return;
        }
        manager_unit_cgroup_gone(m, u);
        unit_remove_state(m, u);
}

void manager_remove_unit(Manager *m, Unit *u) {
        unit_remove_state(m, u);
        unit_table_remove(&m->units, u);
        /* Said again only after a real fall, not once per unit churning at the bound. */
        if (m->units.n < MANAGER_UNITS_MAX / 10 * 9)
                m->units_max_said = false;
        manager_status_later(m);
        unit_free(u);
}

/* --- policy and programming --------------------------------------------------------- */

/* Logs each diagnostic once: what was said for the unit's current files is
 * remembered, and only what is new is said again. */
static void unit_log_diagnostics(Unit *u, const Diagnostics *d) {
        _cleanup_free_ char *said = NULL;
        size_t said_len = 0;
        FILE *f = open_memstream(&said, &said_len);
        if (!f)
                return;

        for (size_t i = 0; i < d->n; i++) {
                const Diagnostic *x = &d->items[i];
                _cleanup_free_ char *sig = NULL;
                if (asprintf(&sig, "%s:%u:%s\n", x->file, x->line, x->message) < 0)
                        continue;
                fputs(sig, f);
                if (u->diagnostics_said && strstr(u->diagnostics_said, sig))
                        continue;

                event_policy_invalid(u, x);
        }
        fclose(f);
        free(u->diagnostics_said);
        u->diagnostics_said = TAKE_PTR(said);
}

/* The files of a unit's own policy, in the order they are read: the
 * fragment, then the drop-ins. The strings are the unit's. */
static char **unit_policy_paths(const Unit *u, size_t *ret_n) {
        size_t n = 0, n_dropins = strv_length(u->dropin_paths);
        char **paths = calloc(n_dropins + 2, sizeof(char *));

        if (!paths)
                return NULL;
        if (u->fragment_path)
                paths[n++] = u->fragment_path;
        for (size_t i = 0; i < n_dropins; i++)
                paths[n++] = u->dropin_paths[i];
        *ret_n = n;
        return paths;
}

static void unit_parse_own_policy(Unit *u) {
        size_t n = 0;
        _cleanup_free_ char **paths = unit_policy_paths(u, &n);
        Diagnostics d = {};
        Policy p;

        if (!paths)
                return;

        if (policy_parse_files(paths, n, u->own_policy_valid ? &u->own_policy : NULL, &p, &d) < 0) {
                log_unit_warning(unit_object(u), u->control_group, "Out of memory parsing the policy, keeping the old one.");
                return;
        }
        unit_log_diagnostics(u, &d);
        diagnostics_done(&d);
        u->own_policy = p;
        u->own_policy_valid = true;
}

/* The policy in force: a group's is what its rules say; a unit's own settings
 * win, key by key, over rules that match its cgroup (and the journal says so). */
static void unit_update_policy(Manager *m, Unit *u) {
        const GroupRule *last = NULL;
        Policy rule = {};
        int n;

        if (u->kind == UNIT_KIND_SYSTEMD)
                unit_parse_own_policy(u);

        n = rules_match(&m->rules, u->control_group, &rule, &last);
        free(u->rule_source);
        u->rule_source = NULL;
        if (n > 0 && last)
                (void) asprintf(&u->rule_source, "%s:%u", last->file, last->line);

        if (u->kind == UNIT_KIND_GROUP) {
                u->policy = n > 0 ? rule : (Policy) {};
                return;
        }
        if (n <= 0) {
                u->policy = u->own_policy;
                u->rule_overridden_said = 0;
                return;
        }

        unsigned overridden = 0;
        rules_policy_under_unit(&rule, &u->own_policy, &u->policy, &overridden);
        if (overridden != 0 && overridden != u->rule_overridden_said) {
                _cleanup_free_ char *keys = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&keys, &len);
                if (f) {
                        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                                if (overridden & POLICY_KEY_BIT(k))
                                        fprintf(f, "%s%s=", ftell(f) > 0 ? " " : "", policy_key_to_string(k));
                        fclose(f);
                        log_unit_info(unit_object(u), u->control_group,
                                      "The unit's own %s override%s the [Group %s] rule at %s.", keys,
                                      strchr(keys, ' ') ? "" : "s", last ? last->glob : "?",
                                      strna(u->rule_source));
                }
        }
        u->rule_overridden_said = overridden;
}

/* Says once per feature that the kernel lacks it, naming every unit that wanted
 * it by then; later units only see it in their state file and policy event. */
typedef struct MissingContext {
        MemcgKnob knob;
        FILE *names;
        unsigned n;
} MissingContext;

static void collect_missing(Unit *u, void *userdata) {
        MissingContext *c = userdata;
        if (u->desired.want[c->knob] && u->applied.state[c->knob] == APPLY_UNSUPPORTED) {
                fprintf(c->names, "%s%s", c->n ? " " : "", u->name);
                c->n++;
        }
}

static int on_feature_report(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                _cleanup_free_ char *names = NULL;
                size_t len = 0;
                if (!m->feature_missing_pending[k])
                        continue;
                m->feature_missing_pending[k] = false;

                MissingContext c = { .knob = k, .names = open_memstream(&names, &len) };
                if (!c.names)
                        continue;
                unit_table_foreach(&m->units, collect_missing, &c);
                fclose(c.names);
                if (c.n == 0)
                        continue;

                event_feature_missing(k, names, m->state_dir);
        }
        m->feature_report_source = sd_event_source_disable_unref(m->feature_report_source);
        m->groups_folded_source = sd_event_source_disable_unref(m->groups_folded_source);
        return 0;
}

static void note_missing_feature(Manager *m, MemcgKnob k) {
        if (m->feature_missing_said[k])
                return;
        m->feature_missing_said[k] = true;
        m->feature_missing_pending[k] = true;
        if (!m->feature_report_source)
                (void) sd_event_add_time_relative(m->event, &m->feature_report_source, CLOCK_MONOTONIC,
                                                  FEATURE_REPORT_DELAY_USEC, 0, on_feature_report, m);
}

/* Watermarks as the kernel reports them where it does the reclaim, computed
 * otherwise (memqosd's own reclaim uses the same arithmetic). */
static bool unit_watermarks(Manager *m, Unit *u, int dirfd, uint64_t *high, uint64_t *low) {
        if (dirfd >= 0 && m->reclaim_mode.kernel && memcg_read_u64(dirfd, "memory.wmark_high", high) >= 0 &&
            memcg_read_u64(dirfd, "memory.wmark_low", low) >= 0)
                return true;
        unsigned ratio = policy_has(&u->policy, POLICY_WATERMARK_RATIO) ? u->policy.watermark_ratio : 0;
        unsigned scale = policy_has(&u->policy, POLICY_WATERMARK_SCALE_FACTOR) ? u->policy.watermark_scale_factor
                                                                                : 50;
        memcg_watermarks(u->limit, ratio, scale, m->page_size, high, low);
        return false;
}

/* The key of group announcements in m->ratelimit: no unit name or cgroup
 * path starts with a space, so no unit's ratelimit_forget_prefix() drops it. */
#define GROUPS_ANNOUNCED_KEY " [Group] policies"

static void manager_say_groups_folded(Manager *m, unsigned n) {
        _cleanup_(fields_done) Fields f = {};

        if (n == 0)
                return;
        (void) fields_add(&f, "MEMQOS_FOLDED", "%u", n);
        log_full(LOG_INFO, 0, NULL, NULL, NULL, f.v,
                 "Policy in force for %u more %s matching [Group] rules, not said one by one (rate limited; each is in its state file).",
                 n, plural(n, "cgroup", "cgroups"));
}

static int on_groups_folded(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->ratelimit)
                manager_say_groups_folded(m, ratelimit_take_folded(m->ratelimit, GROUPS_ANNOUNCED_KEY));
        return 0;
}

/* Whether to say a group's policy now. Cgroups made and removed by the
 * thousand (pods, jobs) must give a bounded number of lines: past the event
 * rate limit ([Events] EventRateLimitIntervalSec=, EventRateLimitBurst=) they
 * are counted, and said as a sum at most one interval later. */
static bool manager_group_announce_passes(Manager *m) {
        unsigned folded = 0;
        uint64_t now;
        int r;

        if (!m->ratelimit || sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return true;
        r = ratelimit_test(m->ratelimit, GROUPS_ANNOUNCED_KEY, now, &folded);
        if (r != 0) {
                manager_say_groups_folded(m, folded);
                return true;
        }

        if (!m->groups_folded_source) {
                r = sd_event_add_time(m->event, &m->groups_folded_source, CLOCK_MONOTONIC,
                                      now + m->config.ratelimit_interval_usec, 0, on_groups_folded, m);
                if (r >= 0)
                        (void) sd_event_source_set_description(m->groups_folded_source, "memqos-groups-folded");
        } else {
                int enabled = SD_EVENT_OFF;

                (void) sd_event_source_get_enabled(m->groups_folded_source, &enabled);
                if (enabled == SD_EVENT_OFF) {
                        (void) sd_event_source_set_time(m->groups_folded_source, now + m->config.ratelimit_interval_usec);
                        (void) sd_event_source_set_enabled(m->groups_folded_source, SD_EVENT_ONESHOT);
                }
        }
        return false;
}

static void unit_announce(Manager *m, Unit *u, uint64_t high, uint64_t low, char *const *sources) {
        if (u->kind == UNIT_KIND_GROUP && !manager_group_announce_passes(m))
                return;
        event_policy_applied(u,
                             u->kind == UNIT_KIND_SYSTEMD ? "MemoryMax="
                             : m->memcg_root && m->memcg_root->layout == MEMCG_LAYOUT_V1 ? "memory.limit_in_bytes"
                                                                                            : "memory.max",
                             high, low, sources);
}

static void on_watch_threshold(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Unit *u = userdata;
        event_threshold(u->manager->ratelimit, u, ev);
}

static void on_watch_oom(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Unit *u = userdata;
        event_oom(u->manager->ratelimit, u, ev);
        emulator_notify_oom(u->emulator);
}

/* The cgroup went away under one of the unit's watches (its own, or its
 * Emulator's); a new one brings new watches. Normally systemd tells us of the
 * stop and the start; but a stop can be missed (while the bus restarts), so
 * ask it now whether the unit runs on in a new cgroup. */
static void unit_watched_cgroup_removed(Unit *u) {
        if (u->kind == UNIT_KIND_SYSTEMD && systemd_connected(u->manager->systemd))
                (void) systemd_refresh_unit(u->manager->systemd, u);
}

static void on_watch_removed(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Unit *u = userdata;
        u->watch = memcg_watch_free(u->watch);
        u->n_threshold_bytes = 0;
        unit_watched_cgroup_removed(u);
}

/* --- what the unit's Emulator reports ------------------------------------------------ */

static unsigned on_emulator_priority_of(const char *cgroup, void *userdata) {
        Unit *u = userdata;
        Unit *owner = unit_table_deepest_for_cgroup(&u->manager->units, cgroup);

        if (owner && streq_ptr(owner->control_group, cgroup) && policy_has(&owner->policy, POLICY_MEMORY_PRIORITY))
                return owner->policy.memory_priority;
        return 0; /* the kernel's default, the lowest */
}

static bool on_emulator_reclaimed(const EmulatorReclaim *ev, void *userdata) {
        Unit *u = userdata;
        return event_reclaim(u->manager->ratelimit, u, ev);
}

static void on_emulator_reclaim_folded(const char *cgroup, uint64_t reclaimed, uint64_t duration_usec,
                                       uint64_t usage_after, void *userdata) {
        Unit *u = userdata;
        event_reclaim_folded(u->manager->ratelimit, u, cgroup, reclaimed, duration_usec, usage_after);
}

static void on_emulator_killed(const EmulatorKill *ev, void *userdata) {
        Unit *u = userdata;
        event_priority_kill(&u->manager->units, u, ev);
}

static void on_emulator_removed(void *userdata) {
        unit_watched_cgroup_removed(userdata);
}

static void unit_drop_watch(Unit *u) {
        u->watch = memcg_watch_free(u->watch);
        u->n_threshold_bytes = 0;
        u->oom_watch_unavailable = false;
}

/* Thresholds of the unit (resolved against its limit) and, with WatchOOM=yes,
 * OOMs of every slice and of every unit with a policy. Units that need
 * neither hold no watch and cost nothing. */
static void unit_update_watch(Manager *m, Unit *u) {
        static const MemcgWatchCallbacks callbacks = {
                .threshold = on_watch_threshold,
                .oom = on_watch_oom,
                .removed = on_watch_removed,
        };
        uint64_t bytes[POLICY_THRESHOLDS_MAX];
        size_t n = 0;
        int r;

        bool want_oom = apply_watch_oom(&m->config, u->kind, u->name, &u->policy);
        threshold_resolve(u->policy.thresholds, u->policy.n_thresholds, u->limit, bytes, &n);

        if (!m->memcg_root || isempty_str(u->control_group) || (!want_oom && n == 0)) {
                unit_drop_watch(u);
                return;
        }

        /* A watch left from an earlier instance of the cgroup is of no use. */
        if (u->watch && (memcg_watch_is_removed(u->watch) || !streq(memcg_watch_cgroup(u->watch), u->control_group)))
                unit_drop_watch(u);

        if (!u->watch) {
                r = memcg_watch_new(m->event, m->memcg_root, u->control_group, &callbacks, u, &u->watch);
                if (r < 0) {
                        if (r != -ENOENT)
                                log_unit_warning_errno(unit_object(u), u->control_group, r,
                                                       "Cannot watch the memory cgroup: %m");
                        return;
                }
                (void) memcg_watch_set_sample_interval(u->watch, m->config.sample_interval_usec);
                u->n_threshold_bytes = 0;
        }

        if (n != u->n_threshold_bytes || memcmp(bytes, u->threshold_bytes, n * sizeof(uint64_t)) != 0) {
                r = memcg_watch_set_thresholds(u->watch, bytes, n);
                if (r < 0)
                        log_unit_warning_errno(unit_object(u), u->control_group, r,
                                               "Cannot register the memory thresholds: %m");
                else {
                        memcpy(u->threshold_bytes, bytes, n * sizeof(uint64_t));
                        u->n_threshold_bytes = n;
                }
        }

        if (want_oom && !u->oom_watch_unavailable) {
                r = memcg_watch_enable_oom(u->watch);
                if (r < 0) {
                        /* Tried once per cgroup instance. -ENODEV: no memory.events here (the
                         * v2 root, or memory not enabled for this subtree). */
                        u->oom_watch_unavailable = true;
                        log_full(r == -ENODEV ? LOG_DEBUG : LOG_WARNING, r, unit_object(u), u->control_group,
                                 NULL, NULL, "Cannot watch OOMs: %m");
                }
        }
}

static void unit_apply(Manager *m, Unit *u);

/* Somebody wrote the limit (or put it back as it was, as memqosd's own
 * squeeze does): the thresholds, watermarks and kill watermark follow a
 * changed one, as on a reload, without waiting for one. */
static void on_limit_written(void *userdata) {
        Unit *u = userdata;
        Manager *m = u->manager;
        _cleanup_close_ int fd = -1;
        uint64_t limit;

        if (isempty_str(u->control_group))
                return;
        fd = memcg_open(m->memcg_root, u->control_group);
        if (fd < 0 || memcg_read_limit(m->memcg_root, fd, &limit) < 0 || limit == u->limit)
                return;
        unit_apply(m, u);
}

/* Every unit whose policy is in force follows its limit: a percent
 * threshold, a watermark, the kill watermark and the LIMIT= of its state
 * file are relative to it. An inotify watch per cgroup, no wake-up when idle. */
static void unit_update_limit_watch(Manager *m, Unit *u, int fd) {
        int r;

        if (!m->limit_watcher || fd < 0) {
                u->limit_watch = limit_watch_free(u->limit_watch);
                return;
        }
        r = limit_watch_refresh(m->limit_watcher, &u->limit_watch, fd, m->memcg_root->layout, on_limit_written, u);
        if (r < 0 && r != -ENOENT)
                log_unit_warning_errno(unit_object(u), u->control_group, r,
                                       "Cannot watch the memory limit: %m; a change is seen at the next reload.");
}

/* memqosd's own reclaim (WatermarkRatio= where memqos.conf and the kernel
 * leave it to us) and pre-emptive kill (use_priority_oom in force). */
static void unit_update_emulation(Manager *m, Unit *u) {
        const ApplyContext ctx = {
                .config = &m->config,
                .reclaim_mode = m->reclaim_mode,
                .oom_mode = m->oom_mode,
                .page_size = m->page_size,
        };
        EmulatorSettings s;
        static const EmulatorCallbacks callbacks = {
                .priority_of = on_emulator_priority_of,
                .reclaimed = on_emulator_reclaimed,
                .reclaim_folded = on_emulator_reclaim_folded,
                .killed = on_emulator_killed,
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

/* Every file:line whose value is in force for the unit, for the state file:
 * the [Group] rules that give keys the unit does not set itself, then the
 * lines of its own files. NULL when out of memory. */
static char **unit_sources(Manager *m, Unit *u) {
        _cleanup_strv_free_ char **from_rules = NULL, **own = NULL;
        unsigned own_keys = u->kind == UNIT_KIND_SYSTEMD ? u->own_policy.set & u->policy.set : 0;
        size_t n = 0, n_rules, n_own;
        char **all;

        if (rules_sources(&m->rules, u->control_group, u->policy.set & ~own_keys, &from_rules) < 0)
                return NULL;
        if (own_keys != 0) {
                _cleanup_free_ char **paths = unit_policy_paths(u, &n);
                if (!paths || policy_sources(&u->own_policy, own_keys, paths, n, &own) < 0)
                        return NULL;
        }

        n_rules = strv_length(from_rules);
        n_own = strv_length(own);
        all = calloc(n_rules + n_own + 1, sizeof(char *));
        if (!all)
                return NULL;
        memcpy(all, from_rules, n_rules * sizeof(char *));
        if (own)
                memcpy(all + n_rules, own, n_own * sizeof(char *));
        /* the strings moved to all: free only the vectors */
        from_rules = mfree(from_rules);
        own = mfree(own);
        return all;
}

static void unit_apply(Manager *m, Unit *u) {
        _cleanup_close_ int fd = -1;
        uint64_t high = MEMCG_UNLIMITED, low = MEMCG_UNLIMITED, old_limit = u->limit;
        bool wrote = false, from_kernel = false;
        int r;

        if (isempty_str(u->control_group))
                return;

        /* A cgroup that a systemd unit owns is programmed through the unit, with
         * the rules merged under the unit's own settings. */
        if (!apply_unit_owns_cgroup(u->kind,
                                    unit_table_get_by_cgroup(&m->units, u->control_group, /* systemd_only= */ true))) {
                unit_remove_state(m, u);
                unit_drop_watch(u);
                u->limit_watch = limit_watch_free(u->limit_watch);
                u->emulator = emulator_free(u->emulator);
                return;
        }

        /* ...and a group that came first for this cgroup (inotify can be quicker than
         * systemd's answer) steps back. */
        if (u->kind == UNIT_KIND_SYSTEMD) {
                Unit *g = manager_get_unit(m, u->control_group);
                if (g && !apply_unit_owns_cgroup(g->kind, /* systemd_unit_has_cgroup= */ true)) {
                        unit_remove_state(m, g);
                        unit_drop_watch(g);
                        g->limit_watch = limit_watch_free(g->limit_watch);
                        g->emulator = emulator_free(g->emulator);
                }
        }

        DesiredInput in = {
                .policy = &u->policy,
                .has_prioritized_child = unit_table_prioritized_child(&m->units, u->control_group),
                .parent_use_priority_oom = m->config.parent_use_priority_oom,
                .written_mask = u->written_mask,
        };
        desired_compute(&in, &u->desired);
        if (!apply_unit_cares(&u->policy, &u->desired)) {
                u->limit_watch = limit_watch_free(u->limit_watch);
                unit_remove_state(m, u);
                unit_update_watch(m, u);
                unit_update_emulation(m, u);
                return;
        }

        if (m->memcg_root) {
                fd = memcg_open(m->memcg_root, u->control_group);
                if (fd < 0 && fd != -ENOENT)
                        log_unit_warning_errno(unit_object(u), u->control_group, fd, "Cannot open the memory cgroup: %m");
        }
        if (fd >= 0) {
                if (memcg_read_limit(m->memcg_root, fd, &u->limit) < 0)
                        u->limit = MEMCG_UNLIMITED;
                if (m->config.backend != BACKEND_OFF) {
                        unsigned emulated = apply_emulated_knobs(m->reclaim_mode, m->oom_mode);
                        MemcgDesired kernel;

                        apply_kernel_desired(&u->desired, emulated, &kernel);
                        memcg_apply(fd, &kernel, &u->applied);
                        apply_mark_emulated(&u->desired, emulated, &u->applied);
                }
        }

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                if (u->applied.state[k] == APPLY_UNSUPPORTED && u->desired.want[k])
                        note_missing_feature(m, k);
                else if (u->applied.state[k] == APPLY_FAILED)
                        event_apply_failed(u, k);
        u->written_mask = apply_written_mask(u->written_mask, &u->policy, &u->desired, &u->applied, &wrote);

        unit_update_limit_watch(m, u, fd);
        unit_update_watch(m, u);
        unit_update_emulation(m, u);
        from_kernel = unit_watermarks(m, u, fd, &high, &low);
        _cleanup_strv_free_ char **sources = unit_sources(m, u);
        if (u->announced && old_limit != u->limit)
                event_limit_changed(u, old_limit, high, low, from_kernel);
        if (!u->announced || wrote || !policy_equal(&u->announced_policy, &u->policy)) {
                unit_announce(m, u, high, low, sources);
                u->announced = true;
                u->announced_policy = u->policy;
        }

        UnitState st = {
                .unit = unit_object(u),
                .cgroup = u->control_group,
                .active = true,
                .policy = &u->policy,
                .desired = &u->desired,
                .applied = &u->applied,
                .limit = u->limit,
                .wmark_high = high,
                .wmark_low = low,
                .wmark_from_kernel = from_kernel,
        };
        st.sources = sources;
        r = state_write(unit_state_fd(m, u), unit_state_name(u), &st);
        if (r < 0)
                log_unit_warning_errno(unit_object(u), u->control_group, r, "Cannot write the state file: %m");
        else
                u->has_state_file = true;
}

/* The cgroup went away: its knobs went with it. Keep the policy (the unit may
 * start again) but forget what was written to the old instance. */
static void unit_cgroup_gone(Manager *m, Unit *u) {
        unit_drop_watch(u);
        u->limit_watch = limit_watch_free(u->limit_watch);
        u->emulator = emulator_free(u->emulator);
        u->written_mask = 0;
        u->announced = false;
        u->applied = (MemcgApplied) {};
        u->limit = MEMCG_UNLIMITED;
        if (!u->has_state_file)
                return;

        UnitState st = { .unit = unit_object(u), .active = false, .policy = &u->policy, .desired = &u->desired,
                         .applied = &u->applied, .limit = MEMCG_UNLIMITED, .wmark_high = MEMCG_UNLIMITED,
                         .wmark_low = MEMCG_UNLIMITED };
        (void) state_write(unit_state_fd(m, u), unit_state_name(u), &st);
}

static void manager_group_update(Manager *m, const char *cgroup);

static int on_parents_pending(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **pending = TAKE_PTR(m->parents_pending);

        m->parents_source = sd_event_source_disable_unref(m->parents_source);
        for (char **p = pending; p && *p; p++)
                manager_group_update(m, *p);
        return 0;
}

static void manager_group_update_later(Manager *m, const char *cgroup) {
        size_t n = strv_length(m->parents_pending);
        char **l;

        for (size_t i = 0; i < n; i++)
                if (streq(m->parents_pending[i], cgroup))
                        return;
        l = reallocarray(m->parents_pending, n + 2, sizeof(char *));
        if (!l) {
                log_oom();
                return;
        }
        m->parents_pending = l;
        l[n + 1] = NULL;
        l[n] = strdup(cgroup);
        if (!l[n]) {
                log_oom();
                return;
        }
        if (!m->parents_source && sd_event_add_defer(m->event, &m->parents_source, on_parents_pending, m) >= 0)
                (void) sd_event_source_set_description(m->parents_source, "group-parents");
}

/* The parent's use_priority_oom may depend on this child's priority. */
static void unit_reapply_parent(Manager *m, const char *cgroup) {
        char parent[4096];

        if (cgroup_parent(cgroup, parent, sizeof(parent)) < 0)
                return;
        /* A systemd unit owns its cgroup even where a group came first. */
        Unit *p = unit_table_get_by_cgroup(&m->units, parent, /* systemd_only= */ true) ?: unit_table_get_by_cgroup(&m->units, parent, /* systemd_only= */ false);
        if (p && !(p->kind == UNIT_KIND_GROUP && p->parent_only)) {
                unit_apply(m, p);
                return;
        }
        /* No unit, or a group followed only for its children: follow it, or
         * stop, as its children now say; later, as this may run inside a
         * walk of the unit table, which adding or removing a unit breaks. */
        manager_group_update_later(m, parent);
}

void manager_unit_changed(Manager *m, Unit *u) {
        bool had_priority = policy_has(&u->policy, POLICY_MEMORY_PRIORITY);

        if (isempty_str(u->control_group)) {
                manager_unit_cgroup_gone(m, u);
                return;
        }

        unit_update_policy(m, u);
        unit_apply(m, u);

        if (had_priority || policy_has(&u->policy, POLICY_MEMORY_PRIORITY))
                unit_reapply_parent(m, u->control_group);
}

void manager_unit_cgroup_gone(Manager *m, Unit *u) {
        _cleanup_free_ char *old = TAKE_PTR(u->control_group);

        unit_cgroup_gone(m, u);
        if (old && policy_has(&u->policy, POLICY_MEMORY_PRIORITY))
                unit_reapply_parent(m, old);
}

void manager_synced(Manager *m) {
        if (!m->ready_sent) {
                event_started(m->units.n, m->memcg_root, m->config.backend);
                (void) sd_notify(false, "READY=1\nSTATUS=Following systemd units.");
                m->ready_sent = true;
                manager_status_later(m);
        }
}

/* --- groups: cgroups that [Group] rules match ----------------------------------------------- */

/* Whether a cgroup that no rule matches is followed all the same, as the
 * parent of groups with MemoryPriority=: the priorities choose a victim only
 * where the OOM (or memqosd's pre-emptive kill) happens, and with the
 * README's [Group /batch/<glob>] MemoryPriority=1 that is /batch, at its limit.
 * As ParentUsePriorityOOM= does for a slice, it gets use_priority_oom and
 * memqosd's kill watch. Not the root: its limit is the machine's. */
static bool group_wanted_as_parent(Manager *m, const char *cgroup) {
        if (!m->config.parent_use_priority_oom || streq(cgroup, "/") ||
            unit_table_get_by_cgroup(&m->units, cgroup, /* systemd_only= */ true))
                return false;
        return unit_table_prioritized_child(&m->units, cgroup);
}

/* Once per parent: jobs that come and go make it followed and let go again. */
static void group_say_parent_only(Manager *m, Unit *g) {
        size_t n = strv_length(m->parents_said);
        char **l;

        for (size_t i = 0; i < n; i++)
                if (streq(m->parents_said[i], g->control_group))
                        return;
        l = reallocarray(m->parents_said, n + 2, sizeof(char *));
        if (!l)
                return;
        m->parents_said = l;
        l[n] = strdup(g->control_group);
        l[n + (l[n] ? 1 : 0)] = NULL;

        log_unit_info(NULL, g->control_group,
                      "No [Group] rule matches %s, but groups below it have MemoryPriority=: following it as their "
                      "parent (ParentUsePriorityOOM=), with use_priority_oom and the priority kill at its limit%s.",
                      g->control_group,
                      g->limit == MEMCG_UNLIMITED ? "; it has no limit yet, so the priorities take effect only once it has one" : "");
}

static void manager_group_update(Manager *m, const char *cgroup) {
        Unit *g = manager_get_unit(m, cgroup);
        bool parent_only = false, new_parent_only;
        Policy p;

        if (rules_match(&m->rules, cgroup, &p, NULL) <= 0) {
                parent_only = group_wanted_as_parent(m, cgroup);
                if (!parent_only) {
                        /* No rule (any more): leave the cgroup as it is, forget it;
                         * but a flag memqosd set of its own accord goes back first. */
                        if (g && g->kind == UNIT_KIND_GROUP) {
                                if (g->parent_only && g->written_mask != 0)
                                        unit_apply(m, g);
                                manager_unit_cgroup_gone(m, g);
                                manager_remove_unit(m, g);
                        }
                        return;
                }
        }

        if (!g) {
                if (manager_add_unit(m, cgroup, &g) < 0)
                        return;
                g->kind = UNIT_KIND_GROUP;
                if (cgroup_path_escape(cgroup, &g->state_name) < 0 ||
                    !(g->control_group = strdup(cgroup)) || !(g->active_state = strdup("active"))) {
                        manager_remove_unit(m, g);
                        return;
                }
        }
        new_parent_only = parent_only && !g->parent_only;
        g->parent_only = parent_only;
        manager_unit_changed(m, g);
        if (new_parent_only)
                group_say_parent_only(m, g);
}

static void on_cgroup_event(const char *cgroup, bool appeared, void *userdata) {
        Manager *m = userdata;
        Unit *g;

        if (appeared) {
                manager_group_update(m, cgroup);
                return;
        }
        g = manager_get_unit(m, cgroup);
        if (g && g->kind == UNIT_KIND_GROUP) {
                manager_unit_cgroup_gone(m, g);
                manager_remove_unit(m, g);
        }
}

static void group_rematch(const char *cgroup, void *userdata) {
        manager_group_update(userdata, cgroup);
}

/* Reads the [Group] rules of memqos.conf and its drop-ins into *ret. */
static int manager_read_rules(Manager *m, RuleSet *ret, Diagnostics *diags) {
        _cleanup_free_ char *dropin_dir = NULL;
        int r;

        if (asprintf(&dropin_dir, "%s.d", m->config_path) < 0)
                return -ENOMEM;
        r = rules_load(m->config_path, dropin_dir, ret, diags);
        if (r < 0)
                return log_error_errno(r, "Cannot load the [Group] rules: %m");
        return 0;
}

/* Loads the [Group] rules at start: the valid ones of every readable file. */
int manager_load_rules(Manager *m) {
        _cleanup_(diagnostics_done) Diagnostics d = {};
        RuleSet rs = {};
        int r;

        r = manager_read_rules(m, &rs, &d);
        event_config_invalid(&d, LOG_WARNING, "");
        if (r < 0)
                return r;
        ruleset_done(&m->rules);
        m->rules = rs;
        return 0;
}

/* Follows the cgroups below the rules' roots; after a reload, re-matches them. */
static int manager_setup_groups(Manager *m) {
        _cleanup_strv_free_ char **roots = NULL;
        int r;

        if (!m->memcg_root)
                return 0;
        r = rules_watch_roots(&m->rules, &roots);
        if (r < 0)
                return r;

        if (!m->cgroup_watcher) {
                if (strv_length(roots) == 0)
                        return 0;
                r = cgroup_watcher_new(m->event, m->memcg_root, roots, on_cgroup_event, m, &m->cgroup_watcher);
                if (r < 0)
                        return log_error_errno(r, "Cannot follow the cgroups of the [Group] rules: %m");
                log_info("Following the cgroups below %zu %s for %zu [Group] %s.", strv_length(roots),
                         plural(strv_length(roots), "root", "roots"), m->rules.n, plural(m->rules.n, "rule", "rules"));
                return 0;
        }

        r = cgroup_watcher_set_roots(m->cgroup_watcher, roots);
        if (r < 0)
                log_warning_errno(r, "Could not rescan the cgroups of the [Group] rules: %m");
        cgroup_watcher_foreach(m->cgroup_watcher, group_rematch, m);
        return 0;
}

/* --- configuration ---------------------------------------------------------------------- */

/* Reads memqos.conf and its drop-ins' settings into *ret (defaults when a
 * file cannot be read: its path in *ret_unreadable). */
static int manager_read_config(Manager *m, Config *ret, char **ret_unreadable, Diagnostics *diags) {
        _cleanup_free_ char *dropin_dir = NULL;
        int r;

        if (asprintf(&dropin_dir, "%s.d", m->config_path) < 0)
                return -ENOMEM;
        r = config_load(m->config_path, dropin_dir, ret, ret_unreadable, diags);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_error_errno(r, "Cannot read %s: %m", *ret_unreadable ?: m->config_path);
        return 0;
}

/* The settings at start (the rules follow in manager_start()): nothing to
 * keep, so a bad key is at its default and an unreadable file gives the
 * defaults, as config_verdict() says for the start. */
int manager_load_config(Manager *m) {
        _cleanup_(diagnostics_done) Diagnostics d = {};
        _cleanup_free_ char *unreadable = NULL;
        Config c;
        int r;

        r = manager_read_config(m, &c, &unreadable, &d);
        event_config_invalid(&d, LOG_ERR, "; using the default");
        if (r < 0)
                return r;
        m->config = c;
        log_set_max_level(c.log_level);
        return 0;
}

/* --- backends: the kernel's files or memqosd's own work --------------------------------------- */

/* True when a cgroup below the root has the file: the root itself never has
 * the patched files, and a kernel has them everywhere or nowhere. */
static bool kernel_has_file(Manager *m, const char *file) {
        _cleanup_strv_free_ char **children = NULL;
        _cleanup_close_ int fd = -1;
        size_t tried = 0;

        if (!m->memcg_root)
                return false;
        fd = memcg_open(m->memcg_root, "/");
        if (fd < 0 || memcg_list_children(fd, &children) < 0)
                return false;
        for (char **c = children; *c && tried < 8; c++, tried++) {
                _cleanup_close_ int child = openat(fd, *c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (child >= 0 && faccessat(child, file, F_OK, 0) >= 0)
                        return true;
        }
        return false;
}

static void manager_say_backend(Manager *m, int feature, const char *name, const char *file, bool has,
                                FeatureMode mode, Backend configured) {
        _cleanup_free_ char *said = NULL;
        const char *backend = mode.kernel && mode.emulate ? "kernel+emulate" :
                              mode.kernel ? "kernel" : mode.emulate ? "emulate" : "off";
        const char *how = configured == BACKEND_INHERIT ? backend_to_string(m->config.backend)
                                                        : backend_to_string(configured);
        const char *reason;

        if (streq(how, "auto"))
                reason = mode.kernel && mode.emulate ? "auto: this kernel has the files, and memqosd works ahead of it"
                         : mode.kernel ? "auto: this kernel has the files"
                                       : "auto: this kernel lacks the files";
        else
                reason = has ? "configured; this kernel has the files" : "configured; this kernel lacks the files";

        if (asprintf(&said, "%s %s", backend, reason) < 0)
                return;
        if (streq_ptr(said, m->backend_said[feature]))
                return; /* once, and again only when it changes */
        free(m->backend_said[feature]);
        m->backend_said[feature] = TAKE_PTR(said);

        event_backend(feature, name, backend, mode, reason, file);
}

/* At start and after a reload: which backend each feature uses. */
static void manager_setup_backends(Manager *m) {
        Backend daemon = m->config.backend;
        /* Probed once here; the reason in the journal says the same. */
        bool has_wmark = kernel_has_file(m, "memory.wmark_ratio");
        bool has_priority = kernel_has_file(m, "memory.priority");

        if (daemon == BACKEND_OFF) {
                m->reclaim_mode = m->oom_mode = (FeatureMode) {};
        } else {
                m->reclaim_mode = config_feature_mode(m->config.reclaim_backend, daemon, has_wmark,
                                                      m->config.reclaim_ahead_of_kernel);
                /* The pre-emptive kill is what even the patched kernel lacks. */
                m->oom_mode = config_feature_mode(m->config.oom_backend, daemon, has_priority, true);
        }
        manager_say_backend(m, 0, "Background reclaim (WatermarkRatio=)", "memory.wmark_ratio", has_wmark,
                            m->reclaim_mode, m->config.reclaim_backend);
        manager_say_backend(m, 1, "Priority OOM (MemoryPriority=, UsePriorityOOM=)", "memory.priority",
                            has_priority, m->oom_mode, m->config.oom_backend);
}

static void on_limit_restored(const char *name, const SqueezeRecord *rec, int result, void *userdata) {
        Manager *m = userdata;
        const char *cgroup = rec ? rec->cgroup : NULL;

        switch (result) {
        case -EBADMSG:
                log_error("Squeeze record %s/%s is not a record memqosd writes; it is kept and no limit is changed. "
                          "Check the memory limit it was about and remove the file.", m->squeeze_dir, name);
                return;
        case -EINVAL:
        case -EXDEV:
                log_unit_full(LOG_ERR, 0, NULL, cgroup,
                               "Squeeze record %s/%s (cgroup %s, limit %" PRIu64 ", squeezed %" PRIu64
                               ") is not one memqosd could have written (a squeeze only lowers a limit, the file is "
                               "named after its cgroup, the cgroup lies below the memory hierarchy); it is kept "
                               "and no limit is changed. Check the cgroup's memory limit and remove the file.",
                               m->squeeze_dir, name, strna(cgroup), rec ? rec->limit : 0, rec ? rec->squeezed : 0);
                return;
        case -ELOOP:
        case -EBADFD:
                log_error("Squeeze record %s/%s is not a regular file; it is kept and not followed.", m->squeeze_dir,
                          name);
                return;
        case SQUEEZE_NOT_SQUEEZED:
        case SQUEEZE_GONE:
                return;
        case SQUEEZE_CHANGED:
                log_unit_full(LOG_NOTICE, 0, NULL, cgroup,
                              "The memory limit of %s was changed by someone else since memqosd squeezed it to %" PRIu64
                              " bytes; it is left as it is.", cgroup, rec->squeezed);
                return;
        case SQUEEZE_PUT_BACK:
                break;
        default:
                log_unit_error_errno(NULL, cgroup, result,
                                     "Cannot put back the memory limit squeezed before memqosd stopped "
                                     "(record %s/%s, kept for the next try): %m", m->squeeze_dir, name);
                return;
        }
        event_limit_restored(rec);
}

/* The state directory, refused unless nobody else can write there
 * (state-dir.h). */
static int manager_open_state_dir(Manager *m) {
        _cleanup_free_ char *component = NULL;
        StateDirProblem problem;
        int fd;

        if (m->state_dir_fd >= 0)
                return 0;
        fd = state_dir_open(m->state_dir, geteuid(), &problem, &component);
        if (fd >= 0) {
                m->state_dir_fd = fd;
                return 0;
        }
        if (fd == -EPERM)
                return log_error_errno(fd, "Refusing the state directory %s: %s is %s. It must belong to memqosd's "
                                           "user and be writable by nobody else (and every directory above it "
                                           "belong to root, or be sticky when others may write there).",
                                       m->state_dir, strna(component), state_dir_problem_to_string(problem));
        if (fd == -ELOOP)
                return log_error_errno(fd, "Refusing the state directory %s: %s is a symlink; give the real path.",
                                       m->state_dir, strna(component));
        if (fd == -EINVAL)
                return log_error_errno(fd, "Refusing the state directory %s: it must be an absolute path below /, "
                                           "without \"..\".", m->state_dir);
        return log_error_errno(fd, "Cannot open the state directory %s%s%s: %m", m->state_dir,
                               component ? " at " : "", component ?: "");
}

/* Opens name below the state directory into *fd; *path gets its path for messages. */
static int manager_open_state_subdir(Manager *m, const char *name, int *fd, char **path) {
        StateDirProblem problem;
        int r;

        if (!*path && asprintf(path, "%s/%s", m->state_dir, name) < 0)
                return log_oom();
        if (*fd >= 0)
                return 0;
        r = manager_open_state_dir(m);
        if (r < 0)
                return r;
        r = state_dir_open_sub(m->state_dir_fd, name, geteuid(), &problem);
        if (r == -EPERM)
                return log_error_errno(r, "Refusing the state directory %s: it is %s.", *path,
                                       state_dir_problem_to_string(problem));
        if (r == -ELOOP)
                return log_error_errno(r, "Refusing the state directory %s: it is a symlink.", *path);
        if (r < 0)
                return log_error_errno(r, "Cannot open the state directory %s: %m", *path);
        *fd = r;
        return 0;
}

static int manager_open_memcg_root(Manager *m) {
        int r;
        if (m->memcg_root)
                return 0;
        if (m->cgroup_root)
                r = memcg_root_open(m->cgroup_root, &m->memcg_root);
        else
                r = memcg_root_detect(m->sysfs_cgroup, &m->memcg_root);
        if (r < 0)
                log_warning_errno(r, "No memory cgroup hierarchy at %s: %m; following units without programming them.",
                                  m->cgroup_root ?: m->sysfs_cgroup);
        return r;
}

int manager_restore_limits(Manager *m) {
        int r;

        /* the one place the hierarchy is opened, at start too: a missing
         * one is said once */
        (void) manager_open_memcg_root(m);
        r = manager_open_state_subdir(m, "squeeze", &m->squeeze_fd, &m->squeeze_dir);
        if (r < 0)
                return r;
        r = squeeze_restore_all(m->memcg_root, m->squeeze_fd, m->page_size, on_limit_restored, m);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", m->squeeze_dir);
        if (r > 0)
                return log_error_errno(-EIO, "%d squeeze record%s in %s could not be acted on; see above.", r,
                                       r == 1 ? "" : "s", m->squeeze_dir);
        return 0;
}

/* The state files say what a running memqosd does: at a stop each is
 * marked ACTIVE=no with the time (state.h). */
static void manager_mark_state_stopped(Manager *m) {
        uint64_t now = clock_usec(CLOCK_REALTIME);
        int fds[] = { m->unit_state_fd, m->group_state_fd };

        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                if (fds[i] < 0)
                        continue;
                int r = state_mark_all_stopped(fds[i], now);
                if (r != 0)
                        log_warning_errno(r < 0 ? r : -EIO, "Cannot mark every state file in %s/%s as stopped: %m",
                                          m->state_dir, i == 0 ? "units" : "groups");
        }
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static int manager_setup_events(Manager *m);

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        (void) sd_notify(false, "STOPPING=1");
        log_info("Stopping on %s.", si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        manager_mark_state_stopped(m);
        return sd_event_exit(m->event, 0);
}

static void unit_reapply(Unit *u, void *userdata) {
        if (!isempty_str(u->control_group))
                manager_unit_changed(u->manager, u);
}

/* Reads memqos.conf and its drop-ins again, settings and [Group] rules as
 * one configuration, and puts it in force only when config_verdict() takes
 * it. Returns the verdict for the summary; -ENOMEM when reading failed. */
static int manager_reload_config(Manager *m, ConfigVerdict *ret, char **ret_problem_file) {
        _cleanup_(diagnostics_done) Diagnostics settings_diags = {}, rules_diags = {};
        _cleanup_(ruleset_done) RuleSet rs = {};
        _cleanup_free_ char *unreadable = NULL;
        ConfigVerdict v;
        Config c;
        int r;

        r = manager_read_config(m, &c, &unreadable, &settings_diags);
        if (r >= 0)
                r = manager_read_rules(m, &rs, &rules_diags);
        if (r < 0)
                return r;

        v = config_verdict(true, unreadable, &settings_diags, &rules_diags);
        event_config_invalid(&settings_diags, LOG_ERR, "; keeping the configuration in force");
        event_config_invalid(&rules_diags, LOG_ERR, "; keeping the configuration in force");
        if (v.take) {
                m->config = c;
                log_set_max_level(c.log_level);
                (void) manager_setup_events(m);
                manager_setup_backends(m);

                ruleset_done(&m->rules);
                m->rules = rs;
                rs = (RuleSet) {};
                (void) manager_setup_groups(m);
        }

        /* the verdict's file points into what is freed here */
        if (v.file && !(*ret_problem_file = strdup(v.file)))
                return -ENOMEM;
        *ret = v;
        ret->file = *ret_problem_file;
        return 0;
}

/* The one line every reload ends with. */
int manager_reload(Manager *m) {
        _cleanup_free_ char *problem_file = NULL;
        ConfigVerdict v = {};
        char buf[64];
        int r;

        snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, clock_usec(CLOCK_MONOTONIC));
        (void) sd_notify(false, buf);

        r = manager_reload_config(m, &v, &problem_file);

        log_debug("Re-reading the files of every unit and group.");
        /* Drop-ins may have changed without daemon-reload being visible to us: re-read
         * every unit's files now with what we know, then ask systemd afresh. */
        unit_table_foreach(&m->units, unit_reapply, NULL);
        if (systemd_connected(m->systemd))
                (void) systemd_resync(m->systemd);

        event_reloaded(m->config_path, m->rules.n, m->units.n, r, &v);
        (void) sd_notify(false, "READY=1\nSTATUS=Following systemd units.");
        manager_status_later(m);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return manager_reload(userdata);
}

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        config_init_defaults(&m->config);
        m->config_path = strdup(CONFIG_PATH);
        m->sysfs_cgroup = strdup("/sys/fs/cgroup");
        m->state_dir = strdup("/run/memqos");
        m->state_dir_fd = m->unit_state_fd = m->group_state_fd = m->squeeze_fd = -1;
        long page_size = sysconf(_SC_PAGESIZE);
        m->page_size = page_size > 0 ? (uint64_t) page_size : 4096;
        m->follow_systemd = true;
        if (!m->config_path || !m->sysfs_cgroup || !m->state_dir)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

static void on_kmsg_oom(const KmsgOomReport *r, void *userdata) {
        Manager *m = userdata;
        event_oom_kill(&m->units, m->memcg_root, r);
}

/* The rate limiter and the /dev/kmsg reader follow memqos.conf; called at
 * start and after a reload. */
static int manager_setup_events(Manager *m) {
        int r;

        if (m->ratelimit) /* the sum folded so far, before the counts go */
                manager_say_groups_folded(m, ratelimit_take_folded(m->ratelimit, GROUPS_ANNOUNCED_KEY));
        m->ratelimit = ratelimit_free(m->ratelimit);
        r = ratelimit_new(m->config.ratelimit_interval_usec, m->config.ratelimit_burst, &m->ratelimit);
        if (r < 0)
                return log_error_errno(r, "Cannot set up event rate limiting: %m");

        if (!m->config.watch_oom) {
                m->kmsg = kmsg_reader_free(m->kmsg);
                return 0;
        }
        if (m->kmsg)
                return 0;
        r = kmsg_reader_new(m->event, "/dev/kmsg", on_kmsg_oom, m, &m->kmsg);
        if (r < 0)
                log_warning_errno(r, "Cannot read /dev/kmsg: %m; OOM kills are reported without the victim's name.");
        return 0;
}

/* --- what the systemd client reports ------------------------------------------------ */

static Unit *on_systemd_add_unit(const char *name, void *userdata) {
        Unit *u = NULL;
        (void) manager_add_unit(userdata, name, &u);
        return u;
}

static void on_systemd_unit_changed(Unit *u, void *userdata) {
        manager_unit_changed(userdata, u);
}

static void on_systemd_unit_cgroup_gone(Unit *u, void *userdata) {
        manager_unit_cgroup_gone(userdata, u);
}

static void on_systemd_unit_unloaded(Unit *u, void *userdata) {
        manager_unit_unloaded(userdata, u);
}

static void on_systemd_synced(void *userdata) {
        manager_synced(userdata);
}

static const SystemdCallbacks systemd_callbacks = {
        .add_unit = on_systemd_add_unit,
        .unit_changed = on_systemd_unit_changed,
        .unit_cgroup_gone = on_systemd_unit_cgroup_gone,
        .unit_unloaded = on_systemd_unit_unloaded,
        .synced = on_systemd_synced,
};

int manager_start(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up signal handling: %m");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot enable the watchdog: %m");

        /* A state directory others could write to is refused: memqosd
         * writes there as root (state-dir.h). The files an earlier memqosd
         * left go; what is followed is written anew. */
        _cleanup_free_ char *unit_dir = NULL, *group_dir = NULL;
        r = manager_open_state_subdir(m, "units", &m->unit_state_fd, &unit_dir);
        if (r >= 0)
                r = manager_open_state_subdir(m, "groups", &m->group_state_fd, &group_dir);
        if (r >= 0)
                r = manager_open_state_subdir(m, "squeeze", &m->squeeze_fd, &m->squeeze_dir);
        if (r < 0)
                return r;
        (void) state_remove_all(m->unit_state_fd);
        (void) state_remove_all(m->group_state_fd);

        r = manager_setup_events(m);
        if (r < 0)
                return r;

        /* Limits a crashed memqosd left squeezed come back before anything
         * else; this opens the memory hierarchy too. */
        (void) manager_restore_limits(m);
        manager_setup_backends(m);
        if (m->memcg_root) {
                r = limit_watcher_new(m->event, &m->limit_watcher);
                if (r < 0)
                        log_warning_errno(r, "Cannot watch memory limits: %m; a changed limit is seen at the next reload.");
        }

        (void) manager_load_rules(m);
        (void) manager_setup_groups(m);

        if (!m->follow_systemd) {
                log_info("Not following systemd (--no-systemd): the [Group] rules of %s alone.", m->config_path);
                manager_synced(m);
                return 0;
        }
        r = systemd_client_new(m->event, &m->units, &systemd_callbacks, m, &m->systemd);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the systemd client: %m");
        (void) systemd_connect(m->systemd);
        if (!systemd_connected(m->systemd))
                /* Not following units yet, but running (groups included): keep retrying. */
                manager_synced(m);
        return 0;
}

static void unit_free_node(void *p) {
        unit_free(p);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        systemd_disconnect(m->systemd); /* cancels the units' questions */
        unit_table_clear(&m->units, unit_free_node);
        m->systemd = systemd_client_free(m->systemd);
        m->feature_report_source = sd_event_source_disable_unref(m->feature_report_source);
        m->groups_folded_source = sd_event_source_disable_unref(m->groups_folded_source);
        m->status_source = sd_event_source_disable_unref(m->status_source);
        m->kmsg = kmsg_reader_free(m->kmsg);
        m->ratelimit = ratelimit_free(m->ratelimit);
        m->cgroup_watcher = cgroup_watcher_free(m->cgroup_watcher);
        m->limit_watcher = limit_watcher_free(m->limit_watcher); /* after the units' watches */
        m->parents_source = sd_event_source_disable_unref(m->parents_source);
        strv_free(m->parents_pending);
        strv_free(m->parents_said);
        ruleset_done(&m->rules);
        memcg_root_free(m->memcg_root);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->sysfs_cgroup);
        free(m->cgroup_root);
        free(m->state_dir);
        safe_close(m->state_dir_fd);
        safe_close(m->unit_state_fd);
        safe_close(m->group_state_fd);
        safe_close(m->squeeze_fd);
        free(m->squeeze_dir);
        free(m->backend_said[0]);
        free(m->backend_said[1]);
        free(m);
        return NULL;
}
