/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>

#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/util.h"
#include "emulate/bound.h"
#include "emulate/emulator-internal.h"
#include "emulate/plan.h"
#include "emulate/squeeze.h"

/* ---- the standing bounds ---- */

bool emulator_wants_bounds(const Emulator *e) {
        return e->s.reclaim && e->s.standing_bounds && e->root && e->s.squeeze_fd >= 0;
}

/* v1: the child's limit (the kernel reclaims in the child's context at it,
 * and OOM-kills in the child when it cannot: hence the floor); v2:
 * memory.high (it reclaims and throttles there, and never kills). */
static const char *bound_file(const Emulator *e) {
        return e->root->layout == MEMCG_LAYOUT_V1 ? SQUEEZE_FILE_V1_LIMIT : SQUEEZE_FILE_V2_HIGH;
}

static void bound_wait_watch_stop(EmuBoundChild *b) {
        b->wait_source = sd_event_source_disable_unref(b->wait_source);
        b->wait_efd = safe_close(b->wait_efd);
}

static void bound_child_forget(EmuBoundChild *b) {
        bound_wait_watch_stop(b);
        safe_close(b->peak_fd);
        free(b->cgroup);
}

static void bound_release(Emulator *e, EmuBoundChild *b) {
        bound_wait_watch_stop(b);
        b->raises = 0;
        if (b->held == 0)
                return;
        _cleanup_(closep) int fd = memcg_open(e->root, b->cgroup);
        int r = fd < 0 ? fd : squeeze_release(e->s.squeeze_fd, fd, b->cgroup, e->s.page_size);
        b->peak_fd = safe_close(b->peak_fd);
        if (r < 0 && r != -ENOENT)
                log_unit_warning_errno(e->unit_object, b->cgroup, r,
                                       "Could not put the memory limit of %s back after holding it; the record in %s "
                                       "puts it back at the next start: %m", b->cgroup, e->s.squeeze_dir);
        else if (fd >= 0)
                log_unit_info(e->unit_object, e->cgroup, "Let go of the standing bound on %s: its memory limit is %s again.",
                              b->cgroup, b->put_back == MEMCG_UNLIMITED ? "unlimited" : "as it was");
        b->held = 0;
}

void emulator_bounds_clear(Emulator *e, bool release) {
        for (size_t i = 0; i < e->n_bounds; i++) {
                if (release)
                        bound_release(e, &e->bounds[i]);
                bound_child_forget(&e->bounds[i]);
        }
        e->bounds = mfree(e->bounds);
        e->n_bounds = 0;
}

static EmuBoundChild *bound_child(Emulator *e, const char *cgroup) {
        for (size_t i = 0; i < e->n_bounds; i++)
                if (streq(e->bounds[i].cgroup, cgroup))
                        return &e->bounds[i];
        if (e->n_bounds >= EMU_BOUND_CHILDREN_MAX)
                return NULL;
        EmuBoundChild *n = reallocarray(e->bounds, e->n_bounds + 1, sizeof(EmuBoundChild));
        if (!n)
                return NULL;
        e->bounds = n;
        char *copy = strdup(cgroup);
        if (!copy)
                return NULL;
        e->bounds[e->n_bounds] = (EmuBoundChild) { .cgroup = copy, .peak = UINT64_MAX, .peak_fd = -1, .wait_efd = -1 };
        return &e->bounds[e->n_bounds++];
}

/* The highest usage of the child since the last look, so that a burst
 * between two looks counts. v1: memory.max_usage_in_bytes, reset after
 * reading. v2: memory.peak through a descriptor kept open, reset for that
 * descriptor by a write (6.12 and later); where it cannot be reset (6.1),
 * a lifetime peak higher than at the last look (a new record between the
 * looks), else the usage. */
static uint64_t bound_read_seen(Emulator *e, EmuBoundChild *b, int fd, uint64_t usage) {
        uint64_t seen;
        if (e->root->layout == MEMCG_LAYOUT_V1) {
                if (memcg_read_u64(fd, "memory.max_usage_in_bytes", &seen) < 0)
                        return usage;
                (void) memcg_write_u64(fd, "memory.max_usage_in_bytes", 0);
                return seen > usage ? seen : usage;
        }
        if (b->peak_fd < 0)
                b->peak_fd = openat(fd, "memory.peak", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (b->peak_fd < 0)
                return usage;
        char buf[32];
        ssize_t k = pread(b->peak_fd, buf, sizeof(buf) - 1, 0);
        if (k <= 0)
                return usage;
        buf[k] = 0;
        if (memcg_parse_u64(buf, &seen) < 0)
                return usage;
        if (pwrite(b->peak_fd, "reset\n", 6, 0) == 6)
                return seen > usage ? seen : usage;
        /* no reset on this kernel */
        uint64_t last = b->lifetime_peak;
        b->lifetime_peak = seen;
        return last != 0 && seen > last && seen > usage ? seen : usage;
}

static int on_bound_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* A task waits at a bound: look at once (which raises it). */
static int on_bound_wait(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Emulator *e = userdata;
        uint64_t count;
        (void) !read(fd, &count, sizeof(count)); /* non-blocking; the kernel adds one per OOM */
        return on_bound_timer(NULL, 0, e);
}

/* v1: an eventfd on the held child's memory.oom_control. Without it a wait
 * still ends at the next look (EMU_BOUND_INTERVAL_USEC). */
static void bound_wait_watch_start(Emulator *e, EmuBoundChild *b, int cgroup_fd) {
        _cleanup_(closep) int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        int r = efd < 0 ? -errno : memcg_register_event(cgroup_fd, efd, "memory.oom_control", NULL);
        if (r >= 0)
                r = sd_event_add_io(e->event, &b->wait_source, efd, EPOLLIN, on_bound_wait, e);
        if (r < 0) {
                log_unit_warning_errno(e->unit_object, b->cgroup, r,
                                     "No OOM notification for %s: a task waiting at its standing bound waits for the next look: %m",
                                     b->cgroup);
                return;
        }
        (void) sd_event_source_set_description(b->wait_source, "emulator-bound-wait");
        b->wait_efd = TAKE_FD(efd);
}

/* One look: every child's usage, peak and what it cannot give; then each
 * lower-priority child held at its bound (bound.h), the others let go. */
/* What the look says about the next: */
typedef enum BoundNext {
        BOUND_STOP, /* nothing to bound (no limit): until the next check */
        BOUND_IDLE, /* nothing held, usage low */
        BOUND_BUSY, /* a bound held, or usage high */
} BoundNext;

static BoundNext emulator_bound_look(Emulator *e) {
        _cleanup_(strv_freep) char **names = NULL;
        BoundChild in[EMU_BOUND_CHILDREN_MAX];
        size_t st[EMU_BOUND_CHILDREN_MAX]; /* indexes into e->bounds, which moves as it grows */
        uint64_t stuck[EMU_BOUND_CHILDREN_MAX]; /* what each cannot give now: its dirty pages too */
        bool waits[EMU_BOUND_CHILDREN_MAX];     /* v1: a task of it waits at its bound */
        uint64_t limit, high, low, now = clock_usec(CLOCK_MONOTONIC);
        int dirfd = emulator_dirfd(e);
        size_t n = 0;
        bool swap = emulator_have_swap();

        uint64_t parent_usage;
        if (dirfd < 0 || memcg_read_limit(e->root, dirfd, &limit) < 0 ||
            memcg_read_usage(e->root, dirfd, &parent_usage) < 0)
                return BOUND_STOP;
        emulator_watermarks(&e->s, limit, &high, &low);
        if (high == MEMCG_UNLIMITED)
                return BOUND_STOP;
        if (memcg_list_children(dirfd, &names) < 0)
                return BOUND_IDLE;

        for (size_t i = 0; i < e->n_bounds; i++)
                e->bounds[i].seen = false;
        for (char **name = names; *name && n < EMU_BOUND_CHILDREN_MAX; name++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_(closep) int fd = -1;
                MemcgStat stat;
                uint64_t usage;

                if (asprintf(&path, "%s/%s", streq(e->cgroup, "/") ? "" : e->cgroup, *name) < 0)
                        return BOUND_BUSY;
                fd = memcg_open(e->root, path);
                if (fd < 0 || memcg_read_usage(e->root, fd, &usage) < 0 || memcg_read_stat(e->root, fd, &stat) < 0)
                        continue;
                EmuBoundChild *b = bound_child(e, path);
                if (!b)
                        break;
                uint64_t seen = bound_read_seen(e, b, fd, usage);
                b->peak = bound_peak_update(b->peak, usage, seen, b->peak_usec ? now - b->peak_usec : 0,
                                            EMU_BOUND_HALF_LIFE_USEC);
                b->peak_usec = now;
                b->priority = emulator_priority_of(e, path);
                b->seen = true;
                st[n] = b - e->bounds;
                in[n++] = (BoundChild) {
                        .priority = b->priority,
                        .usage = usage,
                        .reserve = b->peak,
                        .declared = emulator_reserve_of(e, path, limit),
                        .unreclaimable = swap ? 0 : usage > stat.file ? usage - stat.file : 0,
                };
                stuck[n - 1] = bound_stuck_now(usage, stat.file, stat.dirty, swap);
                bool under_oom = false;
                if (e->root->layout == MEMCG_LAYOUT_V1 && b->held != 0)
                        (void) memcg_read_oom_control(fd, NULL, &under_oom);
                waits[n - 1] = bound_child_waits(under_oom, usage, b->held);
        }

        /* What the parent holds beyond the children looked at (pages of
         * children removed since, which the kernel charges to the parent;
         * children beyond EMU_BOUND_CHILDREN_MAX) takes room too. */
        uint64_t children_usage = 0;
        for (size_t i = 0; i < n; i++)
                children_usage += in[i].usage;
        uint64_t other = parent_usage > children_usage ? parent_usage - children_usage : 0;
        uint64_t room = high > other ? high - other : 0;

        for (size_t i = 0; i < n; i++) {
                EmuBoundChild *b = &e->bounds[st[i]];
                /* The margin above what it can never give: four steps, less
                 * in a small parent (an eighth of wmark_high), where four
                 * steps would leave the higher priorities no room. */
                uint64_t margin = EMU_BOUND_MARGIN_STEPS * e->s.step_size;
                if (high != MEMCG_UNLIMITED && margin > high / 8)
                        margin = high / 8;
                uint64_t target = bound_of_child(in, n, i, room, margin, e->s.page_size);
                uint64_t step = bound_next_step(target, in[i].usage, stuck[i], EMU_BOUND_MAX_DOWN_STEPS * e->s.step_size,
                                                e->s.page_size);
                if (step == UINT64_MAX) {
                        bound_release(e, b);
                        continue;
                }
                if (waits[i])
                        step = bound_raise_waiting(step, in[i].usage, margin, e->s.page_size);
                /* Not a write for every page the bound moves: a move up of
                 * less than a step waits (a move down never does), unless a
                 * task waits at the bound. */
                else if (b->held != 0 && step >= b->held && step - b->held < e->s.step_size)
                        continue;
                if (step == b->held)
                        continue;
                _cleanup_(closep) int fd = memcg_open(e->root, b->cgroup);
                uint64_t put_back = MEMCG_UNLIMITED;
                int r = fd < 0 ? fd : squeeze_hold(e->s.squeeze_fd, fd, b->cgroup, bound_file(e), step, e->s.page_size,
                                                       &put_back);
                if (r == -EBUSY)
                        continue; /* the kernel could not get it that low yet: the next look tries again */
                if (r < 0) {
                        log_unit_warning_errno(e->unit_object, b->cgroup, r, "Could not hold the memory limit of %s at %" PRIu64 ": %m",
                                               b->cgroup, step);
                        continue;
                }
                bool held = step < put_back / e->s.page_size * e->s.page_size;
                if (waits[i] && b->raises++ == 0)
                        log_unit_info(e->unit_object, e->cgroup,
                                      "%s waited at its standing bound with nothing left to reclaim (the kernel "
                                      "kills nobody there while memqosd holds it): raised to %s%" PRIu64 " MiB. "
                                      "Further raises in this hold are logged at debug level.",
                                      b->cgroup, held ? "" : "its own limit, ", step >> 20);
                else if (waits[i])
                        log_unit_debug(e->unit_object, e->cgroup, "%s waited at its standing bound: raised to %" PRIu64 " MiB.",
                                       b->cgroup, step >> 20);
                if (held && b->held == 0)
                        log_unit_info(e->unit_object, e->cgroup,
                                      "Holding %s (priority %u) at %" PRIu64 " MiB, so that the higher priorities "
                                      "find room below wmark_high (%" PRIu64 " MiB) without reclaiming.",
                                      b->cgroup, b->priority, step >> 20, high >> 20);
                else if (!held && b->held != 0)
                        log_unit_info(e->unit_object, e->cgroup, "Let go of the standing bound on %s.", b->cgroup);
                b->held = held ? step : 0;
                b->put_back = put_back;
                if (!held)
                        bound_release(e, b);
                else if (e->root->layout == MEMCG_LAYOUT_V1 && !b->wait_source)
                        bound_wait_watch_start(e, b, fd);
        }

        /* Children gone since the last look: nothing to put back. */
        size_t kept = 0;
        for (size_t i = 0; i < e->n_bounds; i++) {
                if (e->bounds[i].seen)
                        e->bounds[kept++] = e->bounds[i];
                else
                        bound_child_forget(&e->bounds[i]);
        }
        e->n_bounds = kept;

        /* Go on looking while a bound is held or the parent is above the
         * start; else idle until the watch says usage reached it again. */
        bool any_held = false;
        for (size_t i = 0; i < e->n_bounds; i++)
                any_held = any_held || e->bounds[i].held != 0;
        return any_held || parent_usage >= high / 2 ? BOUND_BUSY : BOUND_IDLE;
}

static int on_bound_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Emulator *e = userdata;
        BoundNext next = emulator_bound_look(e);
        if (next == BOUND_STOP) {
                e->bound_timer = sd_event_source_disable_unref(e->bound_timer);
                emulator_bounds_clear(e, true);
                return 0;
        }
        uint64_t interval = next == BOUND_BUSY ? EMU_BOUND_INTERVAL_USEC : EMU_BOUND_IDLE_INTERVAL_USEC;
        (void) event_timer_arm(e->event, &e->bound_timer, interval, event_timer_accuracy_usec(interval),
                               on_bound_timer, e, "emulator-bounds");
        return 0;
}

/* Called by every check: a unit with a limit looks at its children now and
 * then (the first look at once), and at once when usage reached
 * bound_start (the watch wakes us there), whatever the next look's time. */
void emulator_arm_bounds(Emulator *e, uint64_t usage) {
        if (!emulator_wants_bounds(e) || e->bound_start == MEMCG_UNLIMITED) {
                e->bound_timer = sd_event_source_disable_unref(e->bound_timer);
                emulator_bounds_clear(e, true);
                return;
        }
        if (e->bound_timer) {
                uint64_t due;
                if (usage >= e->bound_start && sd_event_source_get_time(e->bound_timer, &due) >= 0 &&
                    due > clock_usec(CLOCK_MONOTONIC) + EMU_BOUND_INTERVAL_USEC)
                        (void) event_timer_arm(e->event, &e->bound_timer, 0, EMU_BOUND_ACCURACY_USEC, on_bound_timer,
                                               e, "emulator-bounds");
                return;
        }
        int r = event_timer_arm(e->event, &e->bound_timer, 0, EMU_BOUND_ACCURACY_USEC, on_bound_timer, e,
                                "emulator-bounds");
        if (r < 0)
                log_unit_warning_errno(e->unit_object, e->cgroup, r, "Cannot arm the standing bounds' timer: %m");
}

