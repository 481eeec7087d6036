/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager, one aspect: a unit's policy put in force on its cgroup (the
 * decisions are apply.h's), its watches and Emulator, and what they report. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <search.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/state-dir.h"
#include "cgroup/memcg-watch.h"
#include "config-paths.h"
#include "daemon/apply.h"
#include "daemon/desired.h"
#include "daemon/events.h"
#include "daemon/manager.h"
#include "daemon/manager-internal.h"
#include "daemon/state.h"
#include "daemon/summary.h"
#include "daemon/systemd.h"
#include "emulate/squeeze.h"


#define FEATURE_REPORT_DELAY_USEC (2 * 1000 * 1000ULL)

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
        /* Coarse: a report, gathered over seconds. */
        if (!m->feature_report_source &&
            sd_event_add_time_relative(m->event, &m->feature_report_source, CLOCK_MONOTONIC,
                                       FEATURE_REPORT_DELAY_USEC, EVENT_TIMER_COARSE_USEC, on_feature_report, m) >= 0)
                (void) sd_event_source_set_description(m->feature_report_source, "memqosd-feature-report");
}

/* Watermarks as the kernel reports them where it does the reclaim, computed
 * otherwise (memqosd's own reclaim uses the same arithmetic). */
bool unit_watermarks(Manager *m, Unit *u, int dirfd, uint64_t *high, uint64_t *low) {
        if (dirfd >= 0 && m->reclaim_mode.kernel && memcg_read_u64(dirfd, "memory.wmark_high", high) >= 0 &&
            memcg_read_u64(dirfd, "memory.wmark_low", low) >= 0)
                return true;
        unsigned ratio = policy_has(&u->policy, POLICY_WATERMARK_RATIO) ? u->policy.watermark_ratio : 0;
        unsigned scale = policy_has(&u->policy, POLICY_WATERMARK_SCALE_FACTOR) ? u->policy.watermark_scale_factor
                                                                                : 50;
        memcg_watermarks(u->limit, ratio, scale, m->page_size, high, low);
        return false;
}

void manager_say_groups_folded(Manager *m, unsigned n) {
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
                /* Coarse: a sum said a quarter second late costs nothing. */
                r = sd_event_add_time(m->event, &m->groups_folded_source, CLOCK_MONOTONIC,
                                      now + m->config.ratelimit_interval_usec, EVENT_TIMER_COARSE_USEC,
                                      on_groups_folded, m);
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

static bool thresholds_have(const uint64_t *v, size_t n, uint64_t x) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == x)
                        return true;
        return false;
}

/* The resolved thresholds of key k (MemoryThresholds=, NoticeThresholds=) of u. */
static size_t unit_thresholds(const Unit *u, PolicyKey k, uint64_t *ret) {
        size_t n = 0, n_list;
        const Threshold *t = policy_threshold_list_const(&u->policy, k, &n_list);

        if (policy_has(&u->policy, k))
                threshold_resolve(t, n_list, u->limit, ret, &n);
        return n;
}

/* The watch carries MemoryThresholds= (journal events), NoticeThresholds=
 * and the clients' own (notices): each crossing goes where it belongs. */
static void on_watch_threshold(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Unit *u = userdata;
        Manager *m = u->manager;
        uint64_t journal[POLICY_THRESHOLDS_MAX], notice[POLICY_THRESHOLDS_MAX];
        size_t n_journal = unit_thresholds(u, POLICY_MEMORY_THRESHOLDS, journal);
        size_t n_notice = unit_thresholds(u, POLICY_NOTICE_THRESHOLDS, notice);

        if (thresholds_have(journal, n_journal, ev->threshold)) {
                u->stats.threshold_crossings++;
                event_threshold(m->ratelimit, u, ev);
        }
        if (ev->direction != THRESHOLD_UP)
                return;
        size_t told = pressure_server_notify(m->pressure, u, ev, notice, n_notice);
        u->stats.notices_sent += told;
        if (told > 0 || thresholds_have(notice, n_notice, ev->threshold))
                event_notified(m->ratelimit, u,
                               &(NoticeEvent) {
                                       .cgroup = ev->cgroup,
                                       .level = notice_level_to_string(NOTICE_LEVEL_THRESHOLD),
                                       .told = told,
                                       .want = notice_wanted_bytes(ev->usage, ev->threshold),
                                       .usage = ev->usage,
                                       .limit = ev->limit,
                                       .threshold = ev->threshold,
                               });
}

/* v1: an OOM without a kill in a child memqosd holds at a standing bound
 * with the kernel's kill disabled (squeeze.h) is a task waiting at the
 * bound, which the bound's look raises at once and logs: not an OOM for
 * the journal or the counters. */
static bool unit_waited_at_bound(Manager *m, const MemcgWatchEvent *ev) {
        _cleanup_(squeeze_record_done) SqueezeRecord rec = {};
        return m->memcg_root && m->memcg_root->layout == MEMCG_LAYOUT_V1 && ev->oom_delta.oom_kill == 0 &&
               m->squeeze_fd >= 0 && squeeze_record_load(m->squeeze_fd, ev->cgroup, &rec) >= 0 &&
               rec.oom_kill_disabled;
}

static void on_watch_oom(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Unit *u = userdata;
        if (unit_waited_at_bound(u->manager, ev)) {
                log_unit_debug(unit_object(u), ev->cgroup, "A task waited at the standing bound on %s (no OOM kill).",
                               ev->cgroup);
                return;
        }
        u->stats.ooms += ev->oom_delta.oom;
        u->stats.oom_kills += ev->oom_delta.oom_kill;
        event_oom(u->manager->ratelimit, u, ev);
        emulator_notify_oom(u->emulator);
}

/* The cgroup went away under one of the unit's watches (its own, or its
 * Emulator's); a new one brings new watches. Normally systemd tells us of the
 * stop and the start; but a stop can be missed (while the bus restarts), so
 * ask it now whether the unit runs on in a new cgroup. */
void unit_watched_cgroup_removed(Unit *u) {
        if (u->kind == UNIT_KIND_SYSTEMD && systemd_connected(u->manager->systemd))
                (void) systemd_refresh_unit(u->manager->systemd, u);
}

static void on_watch_removed(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Unit *u = userdata;
        u->watch = memcg_watch_free(u->watch);
        u->n_threshold_bytes = 0;
        unit_watched_cgroup_removed(u);
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
        uint64_t bytes[UNIT_WATCH_THRESHOLDS_MAX];
        size_t n;
        int r;

        bool want_oom = apply_watch_oom(&m->config, u->kind, u->name, &u->policy);
        n = unit_thresholds(u, POLICY_MEMORY_THRESHOLDS, bytes);
        n += unit_thresholds(u, POLICY_NOTICE_THRESHOLDS, bytes + n);
        pressure_server_thresholds(m->pressure, u, u->limit, bytes, &n, ELEMENTSOF(bytes));
        n = thresholds_normalize(bytes, n);

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

void unit_notice_thresholds_changed(Manager *m, Unit *u) {
        assert(m);
        assert(u);
        unit_update_watch(m, u);
}


/* Somebody wrote the limit (or put it back as it was, as memqosd's own
 * squeeze does): the thresholds, watermarks and kill watermark follow a
 * changed one, as on a reload, without waiting for one. */
/* The limit that is the unit's own: a limit memqosd holds or squeezes
 * (squeeze.h: a standing bound on a lower priority, or a reclaim squeeze)
 * reads as the one it puts back, so that memqosd's own writes are not taken
 * for a new limit (no LIMIT_CHANGED event, no thresholds moved). */
static int unit_read_own_limit(Manager *m, int fd, const char *cgroup, uint64_t *ret) {
        _cleanup_(squeeze_record_done) SqueezeRecord rec = {};
        bool v1 = m->memcg_root->layout == MEMCG_LAYOUT_V1;
        uint64_t held, max = MEMCG_UNLIMITED;
        int r;

        r = memcg_read_limit(m->memcg_root, fd, ret);
        if (r < 0 || m->squeeze_fd < 0 || squeeze_record_load(m->squeeze_fd, cgroup, &rec) < 0)
                return r;
        /* v1: the limit is the held file; v2: the lower of memory.high (held) and memory.max. */
        const char *file = rec.file ?: SQUEEZE_FILE_V1_LIMIT;
        if (v1 != streq(file, SQUEEZE_FILE_V1_LIMIT))
                return 0;
        if (v1)
                held = *ret; /* memcg_read_limit() read that very file */
        else if (memcg_read_u64(fd, file, &held) < 0 || memcg_read_u64(fd, "memory.max", &max) < 0)
                return 0;
        if (squeeze_record_verdict(&rec, held, m->page_size) == SQUEEZE_PUT_BACK)
                *ret = rec.limit < max ? rec.limit : max;
        return 0;
}

static void on_limit_written(void *userdata) {
        Unit *u = userdata;
        Manager *m = u->manager;
        _cleanup_close_ int fd = -1;
        uint64_t limit;

        if (isempty_str(u->control_group))
                return;
        fd = memcg_open(m->memcg_root, u->control_group);
        if (fd < 0 || unit_read_own_limit(m, fd, u->control_group, &limit) < 0 || limit == u->limit)
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

static int on_cgroup_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Unit *u = userdata;

        u->cgroup_retry = sd_event_source_disable_unref(u->cgroup_retry);
        /* systemd may name another cgroup by now: ask it; without the bus,
         * look at the one we know. */
        if (u->kind == UNIT_KIND_SYSTEMD && systemd_connected(u->manager->systemd))
                (void) systemd_refresh_unit(u->manager->systemd, u);
        else
                unit_apply(u->manager, u);
        return 0;
}

static void unit_stop_cgroup_retry(Unit *u) {
        u->cgroup_retry = sd_event_source_disable_unref(u->cgroup_retry);
        u->cgroup_retries = 0;
}

/* The unit is active but its cgroup is not there (removed, and being made
 * again): no watch of ours can tell when it is back, so look again later. */
static void unit_retry_cgroup_later(Manager *m, Unit *u) {
        uint64_t delay;
        int r;

        if (u->cgroup_retry)
                return; /* a look is due already */
        delay = apply_cgroup_retry_delay_usec(u->cgroup_retries);
        if (delay == 0) {
                if (u->cgroup_retries++ == APPLY_CGROUP_RETRIES)
                        log_unit_full(LOG_NOTICE, 0, unit_object(u), u->control_group,
                                        "The memory cgroup of this active unit does not exist; memqosd looks again "
                                        "when systemd reports a change of the unit.");
                return;
        }
        log_unit_debug(unit_object(u), u->control_group, "The memory cgroup is not there; looking again in %" PRIu64 " ms.",
                       delay / 1000);
        /* Coarse: a back-off of seconds. */
        r = sd_event_add_time_relative(m->event, &u->cgroup_retry, CLOCK_MONOTONIC, delay, EVENT_TIMER_COARSE_USEC,
                                       on_cgroup_retry, u);
        if (r < 0) {
                log_unit_warning_errno(unit_object(u), u->control_group, r,
                                       "Cannot arm the timer to look for the memory cgroup again: %m");
                return;
        }
        (void) sd_event_source_set_description(u->cgroup_retry, "unit-cgroup-retry");
        u->cgroup_retries++;
}

void unit_apply(Manager *m, Unit *u) {
        assert(u);

        _cleanup_close_ int fd = -1;
        uint64_t high = MEMCG_UNLIMITED, low = MEMCG_UNLIMITED, old_limit = u->limit;
        bool wrote = false, from_kernel = false;

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
                /* (A group's cgroup watcher sees the mkdir itself.) */
                if (fd == -ENOENT && u->kind == UNIT_KIND_SYSTEMD)
                        unit_retry_cgroup_later(m, u);
                else
                        unit_stop_cgroup_retry(u);
        }
        if (fd >= 0) {
                if (unit_read_own_limit(m, fd, u->control_group, &u->limit) < 0)
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
                if (!u->announced && u->stats.active_since_usec > 0)
                        manager_observe_policy_latency(m, clock_usec(CLOCK_MONOTONIC) - u->stats.active_since_usec);
                u->stats.active_since_usec = 0;
                unit_announce(m, u, high, low, sources);
                u->announced = true;
                u->announced_policy = u->policy;
        }
        u->stats.wmark_high = high;
        u->stats.wmark_low = low;
        u->stats.wmark_from_kernel = from_kernel;
        unit_write_state(m, u, sources);
}

void unit_write_state(Manager *m, Unit *u, char *const *sources) {
        _cleanup_strv_free_ char **own_sources = NULL;
        const UnitEvent *last = unit_stats_event(&u->stats, 0);
        uint64_t usage = MEMCG_UNLIMITED;

        if (!sources)
                sources = own_sources = unit_sources(m, u);
        if (m->memcg_root) {
                _cleanup_close_ int fd = memcg_open(m->memcg_root, u->control_group);
                if (fd < 0 || memcg_read_usage(m->memcg_root, fd, &usage) < 0)
                        usage = MEMCG_UNLIMITED;
        }
        UnitState st = {
                .unit = unit_object(u),
                .cgroup = u->control_group,
                .active = true,
                .policy = &u->policy,
                .desired = &u->desired,
                .applied = &u->applied,
                .limit = u->limit,
                .wmark_high = u->stats.wmark_high,
                .wmark_low = u->stats.wmark_low,
                .wmark_from_kernel = u->stats.wmark_from_kernel,
                .usage = usage,
                .last_event_usec = last ? last->realtime_usec : 0,
                .last_event = last ? last->kind : NULL,
        };
        st.sources = sources;
        int r = state_write(unit_state_fd(m, u), unit_state_name(u), &st);
        if (r < 0)
                log_unit_warning_errno(unit_object(u), u->control_group, r, "Cannot write the state file: %m");
        else
                u->has_state_file = true;
}

/* The cgroup went away: its knobs went with it. Keep the policy (the unit may
 * start again) but forget what was written to the old instance. */
static void unit_cgroup_gone(Manager *m, Unit *u) {
        unit_stop_cgroup_retry(u);
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
                         .wmark_low = MEMCG_UNLIMITED, .usage = MEMCG_UNLIMITED };
        const UnitEvent *last = unit_stats_event(&u->stats, 0);
        if (last) {
                st.last_event = last->kind;
                st.last_event_usec = last->realtime_usec;
        }
        (void) state_write(unit_state_fd(m, u), unit_state_name(u), &st);
}


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
        assert(u);

        bool had_priority = policy_has(&u->policy, POLICY_MEMORY_PRIORITY);

        if (isempty_str(u->control_group)) {
                manager_unit_cgroup_gone(m, u);
                return;
        }

        /* The policy latency of the metrics starts here: the unit is active. */
        if (!u->announced && u->stats.active_since_usec == 0)
                u->stats.active_since_usec = clock_usec(CLOCK_MONOTONIC);
        unit_update_policy(m, u);
        unit_apply(m, u);

        if (had_priority || policy_has(&u->policy, POLICY_MEMORY_PRIORITY))
                unit_reapply_parent(m, u->control_group);
}

void manager_unit_cgroup_gone(Manager *m, Unit *u) {
        assert(u);

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
