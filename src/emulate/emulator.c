/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulate/emulator.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>

#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/util.h"
#include "cgroup/memcg-watch.h"
#include "emulate/bound.h"
#include "emulate/plan.h"
#include "emulate/squeeze.h"
#include "emulate/emulator-internal.h"


/* The cgroup, through the watch's fd: one fd per cgroup, not two. */
int emulator_dirfd(const Emulator *e) {
        return e->watch ? memcg_watch_dirfd(e->watch) : -1;
}

void emulator_watermarks(const EmulatorSettings *s, uint64_t limit, uint64_t *ret_high, uint64_t *ret_low) {
        assert(s);

        uint64_t high, low;

        memcg_watermarks(limit, s->reclaim ? s->wmark_ratio : 0, s->wmark_scale_factor, s->page_size, &high, &low);
        if (s->ahead_of_kernel && high != MEMCG_UNLIMITED) {
                /* One gap ahead of the kernel's own work, so that the lower
                 * priorities give before the kernel takes from everyone. */
                uint64_t gap = high - low;
                high = high > gap ? high - gap : 0;
                low = low > gap ? low - gap : 0;
        }
        *ret_high = high;
        *ret_low = low;
}

uint64_t emulator_zone_entry(const EmulatorSettings *s, uint64_t limit) {
        uint64_t high, low, entry = MEMCG_UNLIMITED;

        emulator_watermarks(s, limit, &high, &low);
        if (s->reclaim)
                entry = high;
        if (s->kill) {
                uint64_t kw = emu_kill_watermark(limit, s->kill_ratio, s->page_size);
                if (emu_kill_watch_start(kw) < entry)
                        entry = emu_kill_watch_start(kw);
        }
        return entry;
}

/* ---- the subtree, read as a decision needs it (plan.h's EmuTree) ---- */


unsigned emulator_priority_of(const Emulator *e, const char *cgroup) {
        return e->callbacks.priority_of ? e->callbacks.priority_of(cgroup, e->userdata) : 0;
}

uint64_t emulator_reserve_of(const Emulator *e, const char *cgroup, uint64_t parent_limit) {
        return e->callbacks.reserve_of ? e->callbacks.reserve_of(cgroup, parent_limit, e->userdata) : 0;
}

static size_t count_killable(int dirfd) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, killable = 0;
        if (memcg_read_procs(dirfd, &pids, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (pids[i] != getpid())
                        killable++;
        return killable;
}

/* One cgroup as a node: -ENOENT when it went away while we looked. */
static int tree_read_node(const TreeReader *tr, const char *path, EmuNode *ret) {
        const MemcgRoot *root = tr->e->root;
        _cleanup_(closep) int fd = memcg_open(root, path);
        MemcgStat st = {};

        if (fd < 0)
                return fd;
        *ret = (EmuNode) { .cgroup = path, .priority = emulator_priority_of(tr->e, path) };
        if (memcg_read_usage(root, fd, &ret->usage) < 0)
                return -ENOENT;
        if (tr->for_kill) {
                ret->n_procs = count_killable(fd);
                return 0;
        }
        if (memcg_read_stat(root, fd, &st) < 0)
                return -ENOENT;
        ret->file = st.file;
        ret->anon = st.anon;
        (void) memcg_read_protection(root, fd, &ret->protection);
        return 0;
}

static int tree_expand(EmuTree *t, size_t node, void *userdata) {
        const TreeReader *tr = userdata;
        _cleanup_strv_free_ char **names = NULL;
        /* A copy: adding children moves the tree's nodes. */
        _cleanup_free_ char *path = strdup(emu_tree_node(t, node)->cgroup);
        if (!path)
                return -ENOMEM;
        _cleanup_(closep) int fd = memcg_open(tr->e->root, path);
        if (fd < 0 || memcg_list_children(fd, &names) < 0)
                return 0; /* gone meanwhile: no children */
        for (char **name = names; *name; name++) {
                _cleanup_free_ char *child = NULL;
                EmuNode nd;
                if (asprintf(&child, "%s/%s", streq(path, "/") ? "" : path, *name) < 0)
                        return -ENOMEM;
                if (tree_read_node(tr, child, &nd) < 0)
                        continue; /* gone meanwhile */
                int r = emu_tree_add_child(t, node, &nd);
                if (r < 0)
                        return r;
        }
        return 0;
}

int emulator_tree_open(Emulator *e, TreeReader *tr, EmuTree **ret) {
        EmuNode root;
        int r = tree_read_node(tr, e->cgroup, &root);
        if (r < 0)
                return r;
        return emu_tree_new(&root, tree_expand, tr, 0, ret);
}

/* A decision that would read more of the subtree than a bound allows is
 * not taken on a part of it: said loudly, once until one succeeds. */
void emulator_say_too_large(Emulator *e, const char *what, const EmuTree *t) {
        if (e->too_large_said)
                return;
        e->too_large_said = true;
        log_unit_full(LOG_ERR, 0, e->unit_object, e->cgroup,
                       "The subtree of %s is too large for memqosd's %s: %zu cgroups read, at most %u (and %u levels) "
                       "are. Nothing done rather than a decision on part of it; the kernel's own OOM killer and "
                       "reclaim remain.",
                       e->cgroup, what, emu_tree_size(t), (unsigned) EMU_TREE_NODES_MAX, (unsigned) EMU_TREE_DEPTH_MAX);
}

bool emulator_have_swap(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/swaps", "re");
        char line[256];
        int lines = 0;
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                lines++;
        return lines > 1; /* a header, then one line per swap area */
}

/* ---- reclaim ---- */

/* Takes up to `bytes` from the subtree at path; returns what its usage fell by. */
static uint64_t reclaim_from(Emulator *e, const char *path, uint64_t bytes, bool swap, const char **ret_method) {
        const MemcgRoot *root = e->root;
        _cleanup_(closep) int fd = memcg_open(root, path);
        uint64_t before, after;
        int r;

        if (fd < 0 || memcg_read_usage(root, fd, &before) < 0)
                return 0;

        if (root->layout == MEMCG_LAYOUT_V2) {
                *ret_method = "memory.reclaim";
                r = memcg_reclaim(root, fd, bytes);
                if (r < 0 && r != -EAGAIN)
                        log_unit_debug(e->unit_object, path, "memory.reclaim of %" PRIu64 " bytes: %s",
                                       bytes, strerror(-r));
        } else {
                MemcgStat st;
                uint64_t floor = 0, old;
                *ret_method = "limit-squeeze";
                /* What it cannot give now: anonymous memory (without swap)
                 * and dirty page cache, which a squeeze below would turn
                 * into an OOM kill in the child. */
                if (memcg_read_stat(root, fd, &st) >= 0)
                        floor = bound_stuck_now(before, st.file, st.dirty, swap);
                uint64_t squeezed = emu_squeeze_limit(before, bytes, floor, e->s.page_size);
                if (squeezed == 0)
                        return 0;
                r = squeeze_run(e->s.squeeze_fd, fd, path, squeezed, e->s.page_size, &old);
                if (r == -ESTALE)
                        log_unit_warning(e->unit_object, path,
                                         "The memory limit of %s is neither the %" PRIu64 " bytes it was nor the %" PRIu64
                                         " memqosd squeezed it to; left as it is, the record stays in %s for the next start.",
                                         path, old, squeezed, e->s.squeeze_dir);
                else if (r < 0)
                        log_unit_warning_errno(e->unit_object, path, r,
                                               r == -EIO ? "Could not put the memory limit of %s back to %" PRIu64
                                                           " after a squeeze; it is recorded and restored at the next start: %m"
                                                         : "Could not squeeze the memory limit of %s: %m",
                                               path, old);
        }

        if (memcg_read_usage(root, fd, &after) < 0)
                return 0;
        return before > after ? before - after : 0;
}

/* A pass that found nothing to take (everything left is anonymous, or
 * dirty and under writeback) waits before the next, longer each time, so
 * that a unit that cannot give does not cost a squeeze every interval. */
static void emulator_backoff(Emulator *e, bool found_nothing) {
        if (!found_nothing) {
                e->backoff_usec = 0;
                return;
        }
        e->backoff_usec = e->backoff_usec ? e->backoff_usec * 2 : 10 * e->s.interval_usec;
        if (e->backoff_usec > EMU_BACKOFF_MAX_USEC)
                e->backoff_usec = EMU_BACKOFF_MAX_USEC;
        e->backoff_until = clock_usec(CLOCK_MONOTONIC) + e->backoff_usec;
}

/* The passes folded since the last RECLAIM event, in sum: one event. */
static void emulator_say_folded(Emulator *e) {
        e->summary_timer = sd_event_source_disable_unref(e->summary_timer);
        if (e->callbacks.reclaim_folded)
                e->callbacks.reclaim_folded(e->cgroup, e->folded_reclaimed, e->folded_usec, e->folded_usage_after,
                                            e->userdata);
        e->folded_reclaimed = e->folded_usec = 0;
}

static int on_summary_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        emulator_say_folded(userdata);
        return 0;
}

/* A pass was folded (so rate limiting is on: the interval is not 0): its
 * sum is said one interval later at the latest (a RECLAIM event that passes
 * before carries it instead), so that a steady writer gives one summary an
 * interval, not one per episode, and a unit that falls quiet still has all
 * its passes in the journal. */
static void emulator_arm_summary(Emulator *e) {
        if (e->summary_timer)
                return;
        /* Coarse: a sum said a quarter second late costs nothing. */
        if (event_timer_arm(e->event, &e->summary_timer, e->s.summary_interval_usec, EVENT_TIMER_COARSE_USEC,
                            on_summary_timer, e, "emulator-folded-summary") < 0)
                emulator_say_folded(e); /* no timer: say it now rather than never */
}

uint64_t emulator_reclaim_bytes(const EmulatorReclaim *ev) {
        assert(ev);
        uint64_t sum = 0;
        for (size_t i = 0; i < ev->n_taken; i++)
                sum += ev->steps[i].bytes;
        return sum;
}

static void emulator_reclaim_pass(Emulator *e, uint64_t usage, uint64_t limit, uint64_t high, uint64_t low,
                                  bool swap) {
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        TreeReader tr = { .e = e, .for_kill = false };
        EmuReclaimStep plan[RECLAIM_STEPS_MAX];
        EmulatorReclaimStep taken[RECLAIM_STEPS_MAX];
        const MemcgRoot *root = e->root;
        uint64_t start = clock_usec(CLOCK_MONOTONIC), planned = 0, after = usage;
        const char *method = root->layout == MEMCG_LAYOUT_V2 ? "memory.reclaim" : "limit-squeeze";
        size_t n_taken = 0, steps = 0;
        int n;

        if (emulator_tree_open(e, &tr, &t) < 0)
                return;
        uint64_t plan_start = clock_usec(CLOCK_MONOTONIC);
        /* Down to below wmark_low from wherever this pass starts (a pass that
         * continues an earlier one may start under wmark_high), with a margin
         * of EMU_RECLAIM_MARGIN: a v1 squeeze stops at its limit, not below,
         * and the workload charges while the pass runs. */
        uint64_t aim = low > EMU_RECLAIM_MARGIN ? low - EMU_RECLAIM_MARGIN : 0;
        n = emu_tree_reclaim_plan(t, emu_reclaim_target(usage, aim, aim, e->s.page_size), swap, plan, RECLAIM_STEPS_MAX, &planned);
        log_unit_debug(e->unit_object, e->cgroup, "Reclaim plan: %d steps after %zu cgroups read, in %" PRIu64 " us.",
                       n, emu_tree_size(t), clock_usec(CLOCK_MONOTONIC) - plan_start);
        if (n == -E2BIG)
                emulator_say_too_large(e, "reclaim", t);
        else if (n >= 0)
                e->too_large_said = false;
        if (n <= 0) {
                emulator_backoff(e, true);
                return;
        }
        /* The clients of what the pass takes from are told first; with one
         * told, the pass waits for the grace, then takes what is left. */
        if (emulator_reclaim_announce(e, t, plan, (size_t) n, usage, limit, high))
                return;

        for (int i = 0; i < n && after >= low; i++) {
                uint64_t left = plan[i].bytes, got_here = 0;
                while (left > 0 && after >= low) {
                        uint64_t chunk = left < e->s.step_size ? left : e->s.step_size;
                        uint64_t got = reclaim_from(e, emu_tree_node(t, plan[i].node)->cgroup, chunk, swap, &method);
                        got_here += got;
                        left -= chunk;
                        steps++;
                        if (memcg_read_usage(root, emulator_dirfd(e), &after) < 0 || got == 0 ||
                            clock_usec(CLOCK_MONOTONIC) - start > EMU_PASS_BUDGET_USEC)
                                break;
                }
                if (n_taken < RECLAIM_STEPS_MAX)
                        taken[n_taken++] = (EmulatorReclaimStep) {
                                .cgroup = emu_tree_node(t, plan[i].node)->cgroup,
                                .priority = emu_tree_node(t, plan[i].node)->priority,
                                .bytes = got_here,
                        };
                if (clock_usec(CLOCK_MONOTONIC) - start > EMU_PASS_BUDGET_USEC)
                        break;
        }

        EmulatorReclaim ev = {
                .cgroup = e->cgroup,
                .usage_before = usage,
                .usage_after = after,
                .wmark_high = high,
                .wmark_low = low,
                .duration_usec = clock_usec(CLOCK_MONOTONIC) - start,
                .method = method,
                .n_steps = steps,
                .steps = taken,
                .n_taken = n_taken,
                .folded_reclaimed = e->folded_reclaimed,
                .folded_duration_usec = e->folded_usec,
        };
        emulator_backoff(e, emulator_reclaim_bytes(&ev) < e->s.page_size);
        e->n_passes++;
        if (!e->callbacks.reclaimed || e->callbacks.reclaimed(&ev, e->userdata)) {
                e->folded_reclaimed = e->folded_usec = 0;
                return;
        }
        e->folded_reclaimed += emulator_reclaim_bytes(&ev);
        e->folded_usec += ev.duration_usec;
        e->folded_usage_after = after;
        emulator_arm_summary(e);
}

/* ---- the pressure zone ---- */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata);

void emulator_check(Emulator *e) {
        const MemcgRoot *root = e->root;
        uint64_t usage, limit, high, low, kill_wm, entry;
        int dirfd = emulator_dirfd(e);
        int r;

        if (dirfd < 0 || memcg_read_usage(root, dirfd, &usage) < 0 ||
            memcg_read_limit(root, dirfd, &limit) < 0) {
                e->tick = sd_event_source_disable_unref(e->tick);
                return;
        }

        emulator_watermarks(&e->s, limit, &high, &low);
        kill_wm = e->s.kill ? emu_kill_watermark(limit, e->s.kill_ratio, e->s.page_size) : MEMCG_UNLIMITED;
        entry = emulator_zone_entry(&e->s, limit);
        uint64_t bound_start = emulator_wants_bounds(e) && high != MEMCG_UNLIMITED ? high / 2 : MEMCG_UNLIMITED;
        if ((entry != e->entry || bound_start != e->bound_start) && e->watch) {
                /* The zone's start, and the kill watermark itself: on v1 the
                 * kernel tells us within a millisecond that usage reached it, which
                 * a fast allocator needs (it fills 5% of a limit in a few ms). The
                 * limit moved (set-property, or written by hand): follow it. And
                 * where the standing bounds start. */
                uint64_t t[3];
                size_t n = 0;
                if (entry != MEMCG_UNLIMITED)
                        t[n++] = entry;
                if (kill_wm != MEMCG_UNLIMITED)
                        t[n++] = kill_wm;
                if (bound_start != MEMCG_UNLIMITED)
                        t[n++] = bound_start;
                if (memcg_watch_set_thresholds(e->watch, t, n) >= 0) {
                        e->entry = entry;
                        e->bound_start = bound_start;
                }
        }
        emulator_arm_bounds(e, usage);

        /* Only a check under pressure (kill watermark, or the reclaim zone)
         * needs to know, and then the kill and the pass read it once. */
        bool pressured = (kill_wm != MEMCG_UNLIMITED && usage >= kill_wm) ||
                         (e->s.reclaim && high != MEMCG_UNLIMITED && usage >= low);
        bool swap = pressured && emulator_have_swap();

        /* During a grace (ladder.h) its action waits: the grace's end
         * decides, on fresh readings. */
        bool kill_needed = false;
        if (kill_wm != MEMCG_UNLIMITED && usage >= kill_wm && !e->kill_grace.timer) {
                MemcgStat st;
                if (memcg_read_stat(root, dirfd, &st) >= 0 &&
                    emu_kill_needed(usage, st.file, st.anon, swap, kill_wm)) {
                        uint64_t reclaimable = st.file + (swap ? st.anon : 0);
                        kill_needed = true;
                        emulator_kill(e, usage, usage > reclaimable ? usage - reclaimable : 0, limit, kill_wm);
                        (void) memcg_read_usage(root, dirfd, &usage);
                }
        }
        if (!kill_needed && !e->kill_grace.timer)
                e->kill_grace.given = false; /* the next kill decision is told again */
        /* Back below where the kill watch starts: an episode is over, and
         * the next one that finds nothing to kill says so again. */
        if (kill_wm != MEMCG_UNLIMITED && usage < emu_kill_watch_start(kill_wm))
                e->nothing_killable_said = false;

        /* Hysteresis, as the kernel's work: reclaim starts at wmark_high and
         * goes on, pass after pass (each is cut short after
         * EMU_PASS_BUDGET_USEC), until usage is below wmark_low. */
        if (!e->s.reclaim || high == MEMCG_UNLIMITED || usage < low)
                e->reclaiming = false;
        else if (usage >= high)
                e->reclaiming = true;
        if (!e->reclaiming && !e->reclaim_grace.timer)
                e->reclaim_grace.given = false; /* the episode ended: the next one is told again */
        if (e->reclaiming && !e->reclaim_grace.timer && clock_usec(CLOCK_MONOTONIC) >= e->backoff_until) {
                emulator_reclaim_pass(e, usage, limit, high, low, swap);
                (void) memcg_read_usage(root, dirfd, &usage);
                if (usage < low)
                        e->reclaiming = false;
        }

        if ((entry != MEMCG_UNLIMITED && usage >= entry) || e->reclaiming) {
                r = emulator_arm_tick(e);
                if (r < 0)
                        log_unit_warning_errno(e->unit_object, e->cgroup, r, "Cannot arm the pressure timer: %m");
        } else
                e->tick = sd_event_source_disable_unref(e->tick);
}

/* At most a tenth of the interval late: the tick paces the reclaim passes
 * and kill checks, and at sd-event's default 250 ms a 20 ms tick came up to
 * 270 ms late, time for a writer to fill the headroom (issue 13). */
int emulator_arm_tick(Emulator *e) {
        assert(e);
        return event_timer_arm(e->event, &e->tick, e->s.interval_usec, event_timer_accuracy_usec(e->s.interval_usec),
                               on_tick, e, "emulator-tick");
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        emulator_check(userdata);
        return 0;
}

static void on_watch_threshold(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Emulator *e = userdata;
        if (ev->direction == THRESHOLD_UP)
                emulator_check(e);
}

static void on_watch_oom(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        /* An OOM in the unit: the pre-emptive kill was too late or the
         * allocation too fast. Check at once so that the next victim is the
         * lowest priority, not the kernel's largest task. */
        emulator_check(userdata);
}

static void on_watch_removed(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Emulator *e = userdata;
        e->watch = memcg_watch_free(e->watch);
        e->tick = sd_event_source_disable_unref(e->tick);
        e->bound_timer = sd_event_source_disable_unref(e->bound_timer);
        emulator_bounds_clear(e, false); /* gone with the cgroup */
        emulator_grace_clear(&e->reclaim_grace);
        emulator_grace_clear(&e->kill_grace);
        /* When this was the unit's only watch, nothing else learns of the
         * removal: the owner must look again, or a cgroup recreated at the
         * same path would go without reclaim and kill. Last: may free e. */
        if (e->callbacks.removed)
                e->callbacks.removed(e->userdata);
}

int emulator_new(sd_event *event, const char *unit_object, const EmulatorCallbacks *callbacks, void *userdata,
                 Emulator **ret) {
        assert(event);
        assert(callbacks);
        assert(ret);

        _cleanup_free_ Emulator *e = calloc(1, sizeof(Emulator));
        if (!e)
                return -ENOMEM;
        if (unit_object && !(e->unit_object = strdup(unit_object)))
                return -ENOMEM;
        e->event = event;
        e->callbacks = *callbacks;
        e->userdata = userdata;
        e->victim_pidfd = -1;
        e->entry = MEMCG_UNLIMITED;
        e->bound_start = MEMCG_UNLIMITED;
        *ret = TAKE_PTR(e);
        return 0;
}

Emulator *emulator_free(Emulator *e) {
        if (!e)
                return NULL;
        emulator_say_folded(e); /* passes folded and not yet said */
        sd_event_source_disable_unref(e->bound_timer);
        emulator_bounds_clear(e, true);
        memcg_watch_free(e->watch);
        sd_event_source_disable_unref(e->tick);
        sd_event_source_disable_unref(e->victim_source);
        safe_close(e->victim_pidfd);
        emulator_grace_clear(&e->reclaim_grace);
        emulator_grace_clear(&e->kill_grace);
        free(e->cgroup);
        free(e->unit_object);
        free(e);
        return NULL;
}

int emulator_configure(Emulator *e, const MemcgRoot *root, const char *cgroup, const EmulatorSettings *s) {
        static const MemcgWatchCallbacks callbacks = {
                .threshold = on_watch_threshold,
                .oom = on_watch_oom,
                .removed = on_watch_removed,
        };
        int r;

        assert(e);
        assert(s);

        if (!root || isempty_str(cgroup))
                return -ENOENT;
        e->root = root;

        /* A new cgroup instance (the unit restarted, or we missed its stop):
         * start over on it. The watch learns of a removal and clears itself,
         * but only through an eventfd or inotify watch, and a watch without
         * thresholds (no limit) has none: ask its directory. */
        if (!e->cgroup || !streq(e->cgroup, cgroup) || !e->watch || memcg_watch_is_removed(e->watch) ||
            memcg_is_removed(memcg_watch_dirfd(e->watch))) {
                e->watch = memcg_watch_free(e->watch);
                e->tick = sd_event_source_disable_unref(e->tick);
                e->bound_timer = sd_event_source_disable_unref(e->bound_timer);
                emulator_bounds_clear(e, true);
                emulator_grace_clear(&e->reclaim_grace);
                emulator_grace_clear(&e->kill_grace);
                free(e->cgroup);
                e->cgroup = strdup(cgroup);
                if (!e->cgroup)
                        return -ENOMEM;
                r = memcg_watch_new(e->event, root, e->cgroup, &callbacks, e, &e->watch);
                if (r < 0)
                        return r;
                e->entry = e->bound_start = MEMCG_UNLIMITED;
                /* When the unit's own watch hears OOMs, it passes them on
                 * (emulator_notify_oom()): a second OOM eventfd would cost an fd. */
                if (s->watch_oom)
                        (void) memcg_watch_enable_oom(e->watch);
        }

        e->s = *s;
        /* v2 has no usage notification: sample, less often than in the zone. */
        (void) memcg_watch_set_sample_interval(e->watch, 5 * s->interval_usec);
        emulator_check(e);
        return 0;
}

void emulator_notify_oom(Emulator *e) {
        if (e && e->watch && !memcg_watch_is_removed(e->watch))
                emulator_check(e);
}

unsigned emulator_n_passes(const Emulator *e) {
        return e ? e->n_passes : 0;
}

unsigned emulator_n_kills(const Emulator *e) {
        return e ? e->n_kills : 0;
}
