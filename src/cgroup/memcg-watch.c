/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include "basic/event-timer.h"
#include "cgroup/inotify-hub.h"
#include "cgroup/memcg-watch.h"

/* More than any policy can ask for (POLICY_THRESHOLDS_MAX), few enough
 * for arrays on the stack. */
#define WATCH_THRESHOLDS_MAX 64

typedef struct WatchRegistration {
        int efd;                 /* v1: the eventfd the kernel signals */
        sd_event_source *source;
} WatchRegistration;

struct MemcgWatch {
        unsigned n_ref;
        sd_event *event;
        const MemcgRoot *root;
        char *cgroup;
        int dirfd;
        MemcgWatchCallbacks cb;
        void *userdata;
        bool removed; /* the cgroup went away: everything is released */
        bool freed;   /* the owner let go; the struct lives until dispatch ends */

        /* Thresholds: ascending byte values and the side of each last seen;
         * v1: one eventfd that the kernel signals for any of them. */
        uint64_t *bytes;
        ThresholdSide *sides;
        WatchRegistration thresholds_reg;
        size_t n_thresholds;
        sd_event_source *resync;       /* learns/reports sides after a change */
        sd_event_source *sample_timer; /* v2 */
        uint64_t sample_usec;

        bool oom_enabled;
        WatchRegistration oom_reg;     /* v1 */
        sd_event_source *oom_settle;   /* v1 */
        uint64_t oom_signals;          /* v1: notifications not yet reported */
        MemcgOomCounters oom_last, oom_local_last;

        InotifyHub *hub;               /* v2: memory.events(.local) are watched there */
};

static bool error_is_gone(int r) {
        /* ENODEV: a file of a removed cgroup still open; ENOENT: the
         * directory is empty now (our dirfd outlives the rmdir). */
        return r == -ENODEV || r == -ENOENT;
}

static int read_oom_counters(int dirfd, const char *file, MemcgOomCounters *ret, bool *ret_under_oom) {
        char buf[4096];
        int r;

        r = memcg_read_small_file(dirfd, file, buf, sizeof(buf));
        if (r < 0)
                return r;
        return memcg_parse_oom_file(buf, ret, ret_under_oom, NULL);
}

static void registration_release(WatchRegistration *reg) {
        reg->source = sd_event_source_disable_unref(reg->source);
        if (reg->efd >= 0)
                close(reg->efd);
        reg->efd = -1;
}

static void watch_leave_hub(MemcgWatch *w) {
        InotifyHub *h = w->hub;

        w->hub = NULL;
        inotify_hub_remove(h, w);
}

static void watch_release_thresholds(MemcgWatch *w) {
        registration_release(&w->thresholds_reg);
        free(w->bytes);
        free(w->sides);
        w->bytes = NULL;
        w->sides = NULL;
        w->n_thresholds = 0;
        w->resync = sd_event_source_disable_unref(w->resync);
        w->sample_timer = sd_event_source_disable_unref(w->sample_timer);
}

/* Everything that costs an fd, a kernel registration or a wake-up. Closing
 * an eventfd also ends its v1 registration (the kernel sees EPOLLHUP). */
static void watch_release(MemcgWatch *w) {
        watch_release_thresholds(w);
        registration_release(&w->oom_reg);
        w->oom_settle = sd_event_source_disable_unref(w->oom_settle);
        watch_leave_hub(w);
        if (w->dirfd >= 0)
                close(w->dirfd);
        w->dirfd = -1;
}

static MemcgWatch *watch_ref(MemcgWatch *w) {
        w->n_ref++;
        return w;
}

static void watch_unref(MemcgWatch *w) {
        if (--w->n_ref > 0)
                return;
        watch_release(w);
        sd_event_unref(w->event);
        free(w->cgroup);
        free(w);
}

/* Whether the owner still listens after a callback returned. */
static bool watch_alive(const MemcgWatch *w) {
        return !w->freed && !w->removed;
}

static void watch_dispatch(MemcgWatch *w, memcg_watch_handler_t handler, const MemcgWatchEvent *ev) {
        if (handler && watch_alive(w))
                handler(w, ev, w->userdata);
}

static void watch_report_removed(MemcgWatch *w) {
        MemcgWatchEvent ev = {
                .type = MEMCG_WATCH_REMOVED,
                .cgroup = w->cgroup,
                .usage = MEMCG_UNLIMITED,
                .limit = MEMCG_UNLIMITED,
        };

        if (!watch_alive(w))
                return;

        watch_release(w);
        w->removed = true;
        if (w->cb.removed) {
                watch_ref(w);
                w->cb.removed(w, &ev, w->userdata);
                watch_unref(w);
        }
}

static uint64_t watch_limit(MemcgWatch *w) {
        uint64_t limit;

        if (memcg_read_limit(w->root, w->dirfd, &limit) < 0)
                return MEMCG_UNLIMITED;
        return limit;
}

static uint64_t watch_charge_slack(void) {
        long cpus = sysconf(_SC_NPROCESSORS_CONF), page = sysconf(_SC_PAGESIZE);

        return (uint64_t) (cpus > 0 ? cpus : 1) * WATCH_V1_CHARGE_SLACK_PAGES * (uint64_t) (page > 0 ? page : 4096);
}

/* Reads the usage and reports the crossings it makes; signals: how often
 * the kernel signalled the v1 thresholds' eventfd, NULL when this is no
 * kernel signal (v2 sampling, learning the sides). Returns false when the
 * watch is gone or let go: the caller must not touch it then. */
static bool watch_check_thresholds(MemcgWatch *w, const uint64_t *signals) {
        ThresholdCrossing crossings[WATCH_THRESHOLDS_MAX];
        uint64_t bytes[WATCH_THRESHOLDS_MAX];
        uint64_t usage, limit;
        size_t n;
        bool alive;
        int r;

        if (!watch_alive(w))
                return false;
        if (w->n_thresholds == 0)
                return true;

        r = memcg_read_usage(w->root, w->dirfd, &usage);
        if (r < 0) {
                if (error_is_gone(r)) {
                        watch_report_removed(w);
                        return false;
                }
                return true; /* transient: the next wake-up tries again */
        }

        /* A callback may replace the thresholds: report from a copy. */
        memcpy(bytes, w->bytes, w->n_thresholds * sizeof(uint64_t));
        n = signals ? threshold_evaluate_signalled(w->bytes, w->sides, w->n_thresholds, usage, *signals,
                                                   watch_charge_slack(), crossings)
                    : threshold_evaluate(w->bytes, w->sides, w->n_thresholds, usage, crossings);
        if (n == 0)
                return true;

        limit = watch_limit(w);
        watch_ref(w);
        for (size_t i = 0; i < n && watch_alive(w); i++) {
                MemcgWatchEvent ev = {
                        .type = MEMCG_WATCH_THRESHOLD,
                        .cgroup = w->cgroup,
                        .usage = usage,
                        .limit = limit,
                        .threshold = bytes[crossings[i].index],
                        .direction = crossings[i].direction,
                };

                watch_dispatch(w, w->cb.threshold, &ev);
        }
        alive = watch_alive(w);
        watch_unref(w);
        return alive;
}

static void eventfd_drain(int efd, uint64_t *count) {
        uint64_t v;

        if (read(efd, &v, sizeof(v)) == sizeof(v) && count)
                *count += v;
}

static int on_threshold_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MemcgWatch *w = userdata;

        uint64_t signals = 0;

        /* One usage change may signal several thresholds: one evaluation
         * reports every crossing, in order. How many the kernel signalled
         * tells a usage read that came too late (issue #11 item 20). */
        eventfd_drain(fd, &signals);

        (void) watch_check_thresholds(w, &signals);
        return 0;
}

static int on_resync(sd_event_source *s, void *userdata) {
        (void) watch_check_thresholds(userdata, NULL);
        return 0;
}

static int on_sample(sd_event_source *s, uint64_t usec, void *userdata) {
        MemcgWatch *w = userdata;
        uint64_t interval = w->sample_usec;

        if (!watch_check_thresholds(w, NULL))
                return 0;
        /* Only while there are thresholds (the timer goes with them). */
        if (w->sample_timer)
                (void) event_timer_arm(w->event, &w->sample_timer, interval, event_timer_accuracy_usec(interval),
                                       on_sample, w, "memcg-watch-sample");
        return 0;
}

static int registration_new(MemcgWatch *w, const char *file, const char *const *args, size_t n_args,
                            sd_event_io_handler_t handler, WatchRegistration *ret) {
        WatchRegistration reg = { .efd = -1 };
        int r = 0;

        reg.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (reg.efd < 0)
                return -errno;

        /* The kernel signals the same eventfd for each registration on it. */
        for (size_t i = 0; r >= 0 && i < (n_args ?: 1); i++)
                r = memcg_register_event(w->dirfd, reg.efd, file, n_args > 0 ? args[i] : NULL);
        if (r >= 0)
                r = sd_event_add_io(w->event, &reg.source, reg.efd, EPOLLIN, handler, w);
        if (r >= 0)
                (void) sd_event_source_set_description(reg.source, "memcg-watch-eventfd");
        if (r < 0) {
                registration_release(&reg);
                return r;
        }
        *ret = reg;
        return 0;
}

/* v1: one eventfd for every threshold of the watch (an fd each would cost a
 * unit one fd per threshold). The kernel forgets a registration only when its
 * eventfd is closed, so a change of the set registers the whole new set on a
 * new eventfd; thresholds change with the limit, rarely. */
static int thresholds_register_v1(MemcgWatch *w, const uint64_t *bytes, size_t n, WatchRegistration *ret) {
        char args[WATCH_THRESHOLDS_MAX][24];
        const char *argv[WATCH_THRESHOLDS_MAX];

        assert(n > 0 && n <= WATCH_THRESHOLDS_MAX);
        for (size_t i = 0; i < n; i++) {
                snprintf(args[i], sizeof(args[i]), "%" PRIu64, bytes[i]);
                argv[i] = args[i];
        }
        return registration_new(w, "memory.usage_in_bytes", argv, n, on_threshold_eventfd, ret);
}

static bool watch_oom_check_v2(MemcgWatch *w);

static void watch_on_inotify(MemcgWatch *w, bool dropped) {
        if (dropped) {
                MemcgOomCounters c;
                int r = read_oom_counters(w->dirfd, "memory.events", &c, NULL);

                if (error_is_gone(r)) {
                        watch_report_removed(w);
                        return;
                }
        }

        /* memory.events changes when the cgroup hits memory.high or
         * memory.max: that is when thresholds near the limit are crossed,
         * so sample now rather than at the next tick. */
        if (w->oom_enabled && !watch_oom_check_v2(w))
                return;
        (void) watch_check_thresholds(w, NULL);
}

static void on_hub_event(void *owner, bool dropped) {
        MemcgWatch *w = owner;

        /* Not touched after: what it calls holds it as needed. */
        if (watch_alive(w))
                watch_on_inotify(w, dropped);
}

static int watch_ensure_inotify(MemcgWatch *w) {
        static const char *const files[] = { "memory.events", "memory.events.local" };
        InotifyHub *h = NULL;
        int r;

        if (w->hub)
                return 0;

        r = inotify_hub_get(w->event, &h);
        if (r < 0)
                return r;
        w->hub = h;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                char path[64];

                /* Through our dirfd: the same cgroup, whatever its path. */
                snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", w->dirfd, files[i]);
                r = inotify_hub_add(h, path, IN_MODIFY, w, on_hub_event);
                /* memory.events.local came with 5.2. */
                if (r == -ENOENT && i > 0)
                        continue;
                if (r < 0) {
                        watch_leave_hub(w);
                        return r;
                }
        }
        return 0;
}

static int watch_set_sampling(MemcgWatch *w, bool on) {
        int r;

        if (!on) {
                w->sample_timer = sd_event_source_disable_unref(w->sample_timer);
                return 0;
        }
        if (w->sample_timer)
                return 0;

        r = watch_ensure_inotify(w);
        if (r < 0)
                return r;
        return event_timer_arm(w->event, &w->sample_timer, w->sample_usec, event_timer_accuracy_usec(w->sample_usec),
                               on_sample, w, "memcg-watch-sample");
}

static int watch_schedule_resync(MemcgWatch *w) {
        int r;

        if (!w->resync) {
                r = sd_event_add_defer(w->event, &w->resync, on_resync, w);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(w->resync, "memcg-watch-resync");
        }
        return sd_event_source_set_enabled(w->resync, SD_EVENT_ONESHOT);
}

/* Index of value in w's current thresholds, or -1. */
static ssize_t watch_find_threshold(const MemcgWatch *w, uint64_t value) {
        for (size_t i = 0; i < w->n_thresholds; i++)
                if (w->bytes[i] == value)
                        return (ssize_t) i;
        return -1;
}

int memcg_watch_set_thresholds(MemcgWatch *w, const uint64_t *bytes, size_t n) {
        assert(w);

        _cleanup_free_ uint64_t *nb = NULL;
        _cleanup_free_ ThresholdSide *ns = NULL;
        WatchRegistration reg = { .efd = -1 };
        bool v1 = w->root->layout == MEMCG_LAYOUT_V1, same;
        size_t k;
        int r;

        if (!watch_alive(w))
                return -ENODEV;
        if (n > WATCH_THRESHOLDS_MAX)
                return -E2BIG;

        /* calloc(0) may return NULL: allocate at least one. */
        nb = calloc(n ?: 1, sizeof(uint64_t));
        ns = calloc(n ?: 1, sizeof(ThresholdSide));
        if (!nb || !ns)
                return -ENOMEM;
        if (n > 0)
                memcpy(nb, bytes, n * sizeof(uint64_t));
        k = thresholds_normalize(nb, n);

        /* A threshold kept keeps its side. */
        for (size_t i = 0; i < k; i++) {
                ssize_t old = watch_find_threshold(w, nb[i]);

                ns[i] = old >= 0 ? w->sides[old] : THRESHOLD_SIDE_UNKNOWN;
        }
        same = k == w->n_thresholds && (k == 0 || memcmp(nb, w->bytes, k * sizeof(uint64_t)) == 0);

        /* The new registration first: on failure the old set is untouched. */
        if (v1 && k > 0 && !same) {
                r = thresholds_register_v1(w, nb, k, &reg);
                if (r < 0)
                        return r == -ENOENT || r == -ENODEV ? -ENODEV : r;
        }
        if (!v1) {
                r = watch_set_sampling(w, k > 0);
                if (r < 0)
                        return r;
        }

        if (v1 && !same) {
                registration_release(&w->thresholds_reg);
                w->thresholds_reg = reg;
        }
        free(w->bytes);
        free(w->sides);
        w->bytes = TAKE_PTR(nb);
        w->sides = TAKE_PTR(ns);
        w->n_thresholds = k;

        if (k == 0) {
                w->resync = sd_event_source_disable_unref(w->resync);
                return 0;
        }
        /* Learn the sides of new thresholds (and report what a kept one
         * crossed meanwhile) from the loop, not from inside this call. */
        return watch_schedule_resync(w);
}

int memcg_watch_set_sample_interval(MemcgWatch *w, uint64_t usec) {
        if (usec == 0)
                return -EINVAL;
        w->sample_usec = usec;
        return 0;
}

/* v1: the report waits WATCH_OOM_SETTLE_USEC for the OOM killer to act. */
static int on_oom_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        MemcgWatch *w = userdata;
        MemcgOomCounters now = {};
        uint64_t failcnt = 0;
        bool under_oom = false;
        int r;

        w->oom_settle = sd_event_source_disable_unref(w->oom_settle);

        r = read_oom_counters(w->dirfd, "memory.oom_control", &now, &under_oom);
        if (r < 0) {
                if (error_is_gone(r))
                        watch_report_removed(w);
                return 0;
        }
        (void) memcg_read_u64(w->dirfd, "memory.failcnt", &failcnt);
        now.oom = w->oom_last.oom + w->oom_signals;
        now.max = failcnt;

        MemcgWatchEvent ev = {
                .type = MEMCG_WATCH_OOM,
                .cgroup = w->cgroup,
                .limit = watch_limit(w),
                .oom_total = now,
                .oom_delta = {
                        .oom = w->oom_signals,
                        .oom_kill = now.oom_kill > w->oom_last.oom_kill ? now.oom_kill - w->oom_last.oom_kill : 0,
                        .max = now.max > w->oom_last.max ? now.max - w->oom_last.max : 0,
                },
                .under_oom = under_oom,
        };
        if (memcg_read_usage(w->root, w->dirfd, &ev.usage) < 0)
                ev.usage = MEMCG_UNLIMITED;

        w->oom_last = now;
        w->oom_signals = 0;

        watch_ref(w);
        watch_dispatch(w, w->cb.oom, &ev);
        watch_unref(w);
        return 0;
}

static int on_oom_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MemcgWatch *w = userdata;
        MemcgOomCounters c;
        int r;

        eventfd_drain(fd, &w->oom_signals);

        /* The removal of the cgroup signals too: tell it apart at once. */
        r = read_oom_counters(w->dirfd, "memory.oom_control", &c, NULL);
        if (error_is_gone(r)) {
                watch_report_removed(w);
                return 0;
        }

        if (w->oom_settle)
                return 0;
        /* A tenth late at most: the emulator's check after an OOM waits on
         * it (at sd-event's default it could wait 300 ms, not 50). */
        r = event_timer_arm(w->event, &w->oom_settle, WATCH_OOM_SETTLE_USEC,
                            event_timer_accuracy_usec(WATCH_OOM_SETTLE_USEC), on_oom_settled, w,
                            "memcg-watch-oom-settle");
        if (r < 0) /* report without waiting rather than not at all */
                return on_oom_settled(NULL, 0, w);
        return 0;
}

static int oom_enable_v1(MemcgWatch *w) {
        uint64_t failcnt = 0;
        int r;

        r = read_oom_counters(w->dirfd, "memory.oom_control", &w->oom_last, NULL);
        if (r < 0)
                return r;
        (void) memcg_read_u64(w->dirfd, "memory.failcnt", &failcnt);
        w->oom_last.max = failcnt;
        w->oom_last.oom = 0;

        return registration_new(w, "memory.oom_control", NULL, 0, on_oom_eventfd, &w->oom_reg);
}

static uint64_t counter_delta(uint64_t now, uint64_t last) {
        return now > last ? now - last : 0;
}

static void counters_delta(const MemcgOomCounters *now, const MemcgOomCounters *last, MemcgOomCounters *ret) {
        *ret = (MemcgOomCounters) {
                .oom = counter_delta(now->oom, last->oom),
                .oom_kill = counter_delta(now->oom_kill, last->oom_kill),
                .max = counter_delta(now->max, last->max),
        };
}

/* v2: reports when oom or oom_kill grew, here or in the subtree. Returns
 * false when the watch is gone or let go. */
static bool watch_oom_check_v2(MemcgWatch *w) {
        MemcgOomCounters now, local = {};
        MemcgWatchEvent ev = { .type = MEMCG_WATCH_OOM, .cgroup = w->cgroup };
        bool alive;
        int r;

        r = read_oom_counters(w->dirfd, "memory.events", &now, NULL);
        if (r < 0) {
                if (error_is_gone(r)) {
                        watch_report_removed(w);
                        return false;
                }
                return true;
        }
        (void) read_oom_counters(w->dirfd, "memory.events.local", &local, NULL);

        counters_delta(&now, &w->oom_last, &ev.oom_delta);
        counters_delta(&local, &w->oom_local_last, &ev.oom_local_delta);
        /* "max" alone is no OOM: it accumulates into the next report. */
        if (ev.oom_delta.oom == 0 && ev.oom_delta.oom_kill == 0 &&
            ev.oom_local_delta.oom == 0 && ev.oom_local_delta.oom_kill == 0)
                return true;

        ev.oom_total = now;
        ev.limit = watch_limit(w);
        if (memcg_read_usage(w->root, w->dirfd, &ev.usage) < 0)
                ev.usage = MEMCG_UNLIMITED;
        w->oom_last = now;
        w->oom_local_last = local;

        watch_ref(w);
        watch_dispatch(w, w->cb.oom, &ev);
        alive = watch_alive(w);
        watch_unref(w);
        return alive;
}

static int oom_enable_v2(MemcgWatch *w) {
        int r;

        r = read_oom_counters(w->dirfd, "memory.events", &w->oom_last, NULL);
        if (r < 0)
                return r;
        (void) read_oom_counters(w->dirfd, "memory.events.local", &w->oom_local_last, NULL);
        return watch_ensure_inotify(w);
}

int memcg_watch_enable_oom(MemcgWatch *w) {
        int r;

        if (!watch_alive(w))
                return -ENODEV;
        if (w->oom_enabled)
                return 0;

        r = w->root->layout == MEMCG_LAYOUT_V1 ? oom_enable_v1(w) : oom_enable_v2(w);
        if (r < 0)
                return error_is_gone(r) ? -ENODEV : r;
        w->oom_enabled = true;
        return 0;
}

int memcg_watch_new(sd_event *e, const MemcgRoot *root, const char *cgroup,
                    const MemcgWatchCallbacks *cb, void *userdata, MemcgWatch **ret) {
        _cleanup_(memcg_watch_freep) MemcgWatch *w = NULL;

        w = calloc(1, sizeof(MemcgWatch));
        if (!w)
                return -ENOMEM;
        *w = (MemcgWatch) {
                .n_ref = 1,
                .event = sd_event_ref(e),
                .root = root,
                .dirfd = -1,
                .cb = *cb,
                .userdata = userdata,
                .sample_usec = WATCH_SAMPLE_USEC_DEFAULT,
                .oom_reg = { .efd = -1 },
                .thresholds_reg = { .efd = -1 },
        };

        w->cgroup = strdup(cgroup);
        if (!w->cgroup)
                return -ENOMEM;

        w->dirfd = memcg_open(root, cgroup);
        if (w->dirfd < 0)
                return w->dirfd;

        *ret = TAKE_PTR(w);
        return 0;
}

MemcgWatch *memcg_watch_free(MemcgWatch *w) {
        if (!w)
                return NULL;

        /* From inside a callback the struct outlives this call until the
         * dispatch that holds it unwinds; the resources go now. */
        w->freed = true;
        watch_release(w);
        watch_unref(w);
        return NULL;
}

const char *memcg_watch_cgroup(const MemcgWatch *w) {
        return w->cgroup;
}

int memcg_watch_dirfd(const MemcgWatch *w) {
        return w->dirfd;
}

bool memcg_watch_oom_enabled(const MemcgWatch *w) {
        return watch_alive(w) && w->oom_enabled;
}

bool memcg_watch_is_removed(const MemcgWatch *w) {
        return w->removed;
}

size_t memcg_watch_n_fds(const MemcgWatch *w) {
        return (w->dirfd >= 0) + (w->oom_reg.efd >= 0) + (w->thresholds_reg.efd >= 0);
}
