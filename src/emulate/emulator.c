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

#include "basic/log.h"
#include "basic/util.h"
#include "cgroup/memcg-watch.h"
#include "emulate/bound.h"
#include "emulate/plan.h"
#include "emulate/squeeze.h"

#define RECLAIM_STEPS_MAX 64
#define KILL_PICK_ROUNDS 4
#define KILL_LEAVES_MAX 16 /* leaves tried per kill */
#define EMU_BACKOFF_MAX_USEC (5 * 1000 * 1000ULL)
#define EMU_RECLAIM_MARGIN (256 * 1024ULL)
/* The standing bounds (bound.h): looked at this often while a bound is
 * held or the parent's usage is above half its wmark_high, else every
 * EMU_BOUND_IDLE_INTERVAL_USEC (a unit whose children all have one
 * priority costs a look of its directory that often); a child's peak
 * halves its distance to its usage in this time; a child may sit this many
 * steps (StepSize=) above what it cannot give (at most an eighth of
 * wmark_high), and is brought down by at most this many steps a look. */
#define EMU_BOUND_INTERVAL_USEC (100 * 1000ULL)
#define EMU_BOUND_IDLE_INTERVAL_USEC (5 * 1000 * 1000ULL)
#define EMU_BOUND_HALF_LIFE_USEC (120 * 1000 * 1000ULL)
#define EMU_BOUND_MARGIN_STEPS 4
#define EMU_BOUND_MAX_DOWN_STEPS 4
#define EMU_BOUND_CHILDREN_MAX 64

typedef struct EmuBoundChild {
        char *cgroup;
        unsigned priority;
        uint64_t peak;       /* decayed high-water mark; UINT64_MAX before the first look */
        uint64_t peak_usec;  /* when it was updated */
        uint64_t held;       /* the limit memqosd holds it at; 0 for none */
        int peak_fd;         /* v2: its memory.peak, reset at each look (6.12 and later) */
        uint64_t lifetime_peak; /* v2 without the reset: memory.peak at the last look */
        uint64_t put_back;   /* the limit from before the hold */
        bool seen;           /* found at this look */
} EmuBoundChild;

struct Emulator {
        sd_event *event;
        char *unit_object;       /* OBJECT_SYSTEMD_UNIT= of its log messages, NULL for groups */
        EmulatorCallbacks callbacks;
        void *userdata;
        const MemcgRoot *root;   /* the owner's, as given to emulator_configure() */
        char *cgroup;
        EmulatorSettings s;

        MemcgWatch *watch;       /* wakes us when usage enters the zone; its dirfd is ours to read */
        uint64_t entry;          /* the zone's start registered with the watch */
        sd_event_source *tick;   /* runs while in the zone */
        uint64_t backoff_until;  /* no reclaim pass before (a pass found nothing to take) */
        uint64_t backoff_usec;   /* doubles while passes find nothing, up to EMU_BACKOFF_MAX_USEC */
        bool reclaiming;         /* crossed wmark_high, not yet below wmark_low */
        sd_event_source *summary_timer; /* says the folded passes, once an interval */
        /* What the passes without an event of their own took, in sum (how
         * many there were is the rate limiter's count). */
        uint64_t folded_reclaimed, folded_usec;
        uint64_t folded_usage_after; /* usage after the last folded pass: where the episode ended */

        int victim_pidfd;        /* the last victim until it is gone */
        sd_event_source *victim_source;
        uint64_t victim_killed_usec;

        sd_event_source *bound_timer;   /* runs while bounds may be held: usage above bound_start */
        uint64_t bound_start;           /* the usage at which the bounds start: half of wmark_high */
        EmuBoundChild *bounds;          /* the children looked at, held or not */
        size_t n_bounds;

        unsigned n_passes, n_kills;
        bool nothing_killable_said;
        bool too_large_said;     /* a decision needed more of the subtree than EMU_TREE_NODES_MAX */
};

/* The cgroup, through the watch's fd: one fd per cgroup, not two. */
static int emulator_dirfd(const Emulator *e) {
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
                if (kw != MEMCG_UNLIMITED && kw / 10 * 9 < entry)
                        entry = kw / 10 * 9;
        }
        return entry;
}

/* ---- the subtree, read as a decision needs it (plan.h's EmuTree) ---- */

typedef struct TreeReader {
        Emulator *e;
        bool for_kill; /* the kill needs processes, reclaim memory.stat */
} TreeReader;

static unsigned priority_of(const Emulator *e, const char *cgroup) {
        return e->callbacks.priority_of ? e->callbacks.priority_of(cgroup, e->userdata) : 0;
}

static uint64_t reserve_of(const Emulator *e, const char *cgroup, uint64_t parent_limit) {
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
        *ret = (EmuNode) { .cgroup = path, .priority = priority_of(tr->e, path) };
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

static int tree_open(Emulator *e, TreeReader *tr, EmuTree **ret) {
        EmuNode root;
        int r = tree_read_node(tr, e->cgroup, &root);
        if (r < 0)
                return r;
        return emu_tree_new(&root, tree_expand, tr, 0, ret);
}

/* A decision that would read more of the subtree than a bound allows is
 * not taken on a part of it: said loudly, once until one succeeds. */
static void emulator_say_too_large(Emulator *e, const char *what, const EmuTree *t) {
        if (e->too_large_said)
                return;
        e->too_large_said = true;
        log_unit_full(LOG_ERR, 0, e->unit_object, e->cgroup,
                       "The subtree of %s is too large for memqosd's %s: %zu cgroups read, at most %u (and %u levels) "
                       "are. Nothing done rather than a decision on part of it; the kernel's own OOM killer and "
                       "reclaim remain.",
                       e->cgroup, what, emu_tree_size(t), (unsigned) EMU_TREE_NODES_MAX, (unsigned) EMU_TREE_DEPTH_MAX);
}

static bool have_swap(void) {
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
        if (sd_event_add_time_relative(e->event, &e->summary_timer, CLOCK_MONOTONIC,
                                       e->s.summary_interval_usec, 0, on_summary_timer, e) < 0)
                emulator_say_folded(e); /* no timer: say it now rather than never */
        else
                (void) sd_event_source_set_description(e->summary_timer, "emulator-folded-summary");
}

static void emulator_reclaim_pass(Emulator *e, uint64_t usage, uint64_t high, uint64_t low, bool swap) {
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        TreeReader tr = { .e = e, .for_kill = false };
        EmuReclaimStep plan[RECLAIM_STEPS_MAX];
        EmulatorReclaimStep taken[RECLAIM_STEPS_MAX];
        const MemcgRoot *root = e->root;
        uint64_t start = clock_usec(CLOCK_MONOTONIC), planned = 0, after = usage;
        const char *method = root->layout == MEMCG_LAYOUT_V2 ? "memory.reclaim" : "limit-squeeze";
        size_t n_taken = 0, steps = 0;
        int n;

        if (tree_open(e, &tr, &t) < 0)
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

        uint64_t taken_total = 0;
        for (size_t i = 0; i < n_taken; i++)
                taken_total += taken[i].bytes;
        emulator_backoff(e, taken_total < e->s.page_size);
        e->n_passes++;

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
        if (!e->callbacks.reclaimed || e->callbacks.reclaimed(&ev, e->userdata)) {
                e->folded_reclaimed = e->folded_usec = 0;
                return;
        }
        e->folded_reclaimed += usage > after ? usage - after : 0;
        e->folded_usec += ev.duration_usec;
        e->folded_usage_after = after;
        emulator_arm_summary(e);
}

/* ---- kill ---- */

static int on_victim_gone(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Emulator *e = userdata;
        e->victim_source = sd_event_source_disable_unref(e->victim_source);
        e->victim_pidfd = safe_close(e->victim_pidfd);
        return 0;
}

static int read_proc_u64(pid_t pid, const char *file, int field, uint64_t *ret) {
        char path[64], buf[256];
        _cleanup_fclose_ FILE *f = NULL;
        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f))
                return -ESRCH;
        char *p = buf;
        for (int i = 0; i < field; i++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EINVAL;
                p++;
        }
        *ret = strtoull(p, NULL, 10);
        return 0;
}

static int read_oom_score_adj(pid_t pid) {
        char path[64];
        int v = 0;
        _cleanup_fclose_ FILE *f = NULL;
        snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int) pid);
        f = fopen(path, "re");
        if (!f || fscanf(f, "%d", &v) != 1)
                return -1000; /* gone or unreadable: never a candidate */
        return v;
}

static void read_comm(pid_t pid, char *buf, size_t size) {
        char path[64];
        _cleanup_fclose_ FILE *f = NULL;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (!f || !fgets(buf, (int) size, f)) {
                snprintf(buf, size, "?");
                return;
        }
        buf[strcspn(buf, "\n")] = 0;
}

/* A pidfd for pid, confirmed to be the process chosen in the leaf at
 * leaf_fd: opened first, then the leaf's processes read again, then the
 * pidfd asked whether its process still lives (signal 0), so that a pid
 * that died and was reused by a process elsewhere between our first read
 * of cgroup.procs and pidfd_open is never signalled (plan.h,
 * emu_kill_victim_confirmed). -ESRCH when it died or left the leaf: pick
 * again. */
static int victim_open(int leaf_fd, pid_t pid) {
        _cleanup_free_ pid_t *now = NULL;
        size_t n = 0;

        _cleanup_(closep) int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -ESRCH;
        if (memcg_read_procs(leaf_fd, &now, &n) < 0)
                return -ESRCH;
        bool alive = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) >= 0;
        if (!emu_kill_victim_confirmed(pid, now, n, alive))
                return -ESRCH;
        return TAKE_FD(pidfd);
}

/* The processes of the leaf at fd as the kill weighs them. */
static int leaf_read_procs(int fd, EmuProc **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r = memcg_read_procs(fd, &pids, &n);
        if (r < 0)
                return r;
        EmuProc *procs = calloc(n ?: 1, sizeof(EmuProc));
        if (!procs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                uint64_t rss_pages = 0;
                procs[i] = (EmuProc) { .pid = pids[i], .oom_score_adj = read_oom_score_adj(pids[i]) };
                if (read_proc_u64(pids[i], "statm", 1, &rss_pages) >= 0)
                        procs[i].rss = rss_pages * (uint64_t) sysconf(_SC_PAGESIZE);
        }
        *ret = procs;
        *ret_n = n;
        return 0;
}

/* Kills the chosen process of the leaf at fd; 0 with *ev filled, -ESRCH
 * when the leaf has nothing killable. */
static int kill_in_leaf(Emulator *e, int fd, const char *leaf_path, uint64_t total, EmulatorKill *ev,
                        int *ret_pidfd) {
        _cleanup_free_ EmuProc *procs = NULL;
        size_t n = 0;
        int r, pick, pidfd = -1;

        if (memcg_oom_group(e->root, fd)) {
                /* The leaf says it is one unit of work: all or nothing. */
                r = memcg_kill_all(fd);
                if (r >= 0) {
                        ev->method = "cgroup.kill";
                        ev->pid = 0;
                        snprintf(ev->comm, sizeof(ev->comm), "*");
                        return 0;
                }
        }

        /* The chosen one may die or move before we hold it: pick again among
         * those left, a few times (a leaf whose processes come and go that
         * fast is passed by, and the walk goes on). */
        for (int round = 0; round < KILL_PICK_ROUNDS && pidfd < 0; round++) {
                procs = mfree(procs);
                r = leaf_read_procs(fd, &procs, &n);
                if (r < 0)
                        return r;
                pick = emu_kill_pick_process(procs, n, total, getpid());
                if (pick < 0)
                        return -ESRCH;

                /* A pidfd, so that the signal reaches the process we chose and
                 * no other, and so that we learn when it is gone. */
                pidfd = victim_open(fd, procs[pick].pid);
                if (pidfd < 0)
                        log_unit_debug(e->unit_object, leaf_path,
                                       "Process %d died or left %s before it could be held; picking again.",
                                       (int) procs[pick].pid, leaf_path);
        }
        if (pidfd < 0)
                return -ESRCH;
        read_comm(procs[pick].pid, ev->comm, sizeof(ev->comm));
        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0) {
                r = -errno;
                close(pidfd);
                return r == -ESRCH ? -ESRCH : r;
        }
        /* Free its memory now, from here, as the kernel's OOM reaper would: a
         * process killed from userspace is no OOM victim to the kernel, which
         * would not wait for it to exit, and while a large victim unmaps
         * itself the higher priorities keep charging and may reach the limit
         * (seen once in six guest runs: the kernel then killed online). Best
         * effort: ENOSYS before 5.15, EPERM under a filter without it. */
        (void) syscall(SYS_process_mrelease, pidfd, 0);
        ev->pid = procs[pick].pid;
        ev->rss = procs[pick].rss;
        ev->method = "SIGKILL";
        *ret_pidfd = pidfd;
        return 0;
}

/* The kill's visit of a leaf of the walk (plan.h emu_tree_kill_walk): 1
 * when a victim there was killed, 0 when nothing was killable after all. */
typedef struct KillContext {
        Emulator *e;
        uint64_t usage, unreclaimable, limit, kill_wm, start;
        uint64_t decide_start; /* when the walk began to look for this leaf */
} KillContext;

static int kill_visit(EmuTree *t, size_t leaf, void *userdata) {
        KillContext *k = userdata;
        Emulator *e = k->e;
        EmulatorKill ev = {};
        int pidfd = -1;
        const char *leaf_path = emu_tree_node(t, leaf)->cgroup;

        log_unit_debug(e->unit_object, e->cgroup, "Kill decision: %s after %zu cgroups read, in %" PRIu64 " us.",
                       leaf_path, emu_tree_size(t), clock_usec(CLOCK_MONOTONIC) - k->decide_start);
        _cleanup_(closep) int fd = memcg_open(e->root, leaf_path);
        if (fd < 0 || kill_in_leaf(e, fd, leaf_path, k->limit, &ev, &pidfd) < 0) {
                k->decide_start = clock_usec(CLOCK_MONOTONIC);
                return 0; /* nothing killable after all: the walk goes on */
        }

        /* The priority that decided is the one of the unit's child on the
         * way down (siblings compare), not the leaf's own. */
        size_t branch = emu_tree_branch(t, leaf);
        e->too_large_said = false;
        ev.cgroup = e->cgroup;
        ev.victim_cgroup = leaf_path;
        ev.victim_branch = emu_tree_node(t, branch)->cgroup;
        ev.victim_priority = emu_tree_node(t, branch)->priority;
        ev.usage = k->usage;
        ev.unreclaimable = k->unreclaimable;
        ev.limit = k->limit;
        ev.kill_watermark = k->kill_wm;
        ev.duration_usec = clock_usec(CLOCK_MONOTONIC) - k->start;
        e->n_kills++;
        e->nothing_killable_said = false;
        e->victim_killed_usec = clock_usec(CLOCK_MONOTONIC);
        if (pidfd >= 0) {
                e->victim_pidfd = pidfd;
                if (sd_event_add_io(e->event, &e->victim_source, pidfd, EPOLLIN, on_victim_gone, e) < 0)
                        e->victim_source = NULL;
                else
                        (void) sd_event_source_set_description(e->victim_source, "emulator-victim");
        }
        if (e->callbacks.killed)
                e->callbacks.killed(&ev, e->userdata);
        return 1;
}

static void emulator_kill(Emulator *e, uint64_t usage, uint64_t unreclaimable, uint64_t limit, uint64_t kill_wm) {
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        TreeReader tr = { .e = e, .for_kill = true };
        uint64_t start = clock_usec(CLOCK_MONOTONIC);

        if (e->victim_pidfd >= 0 && start - e->victim_killed_usec < EMU_KILL_WAIT_USEC)
                return; /* the last victim is still giving its memory back */
        e->victim_source = sd_event_source_disable_unref(e->victim_source);
        e->victim_pidfd = safe_close(e->victim_pidfd);

        if (tree_open(e, &tr, &t) < 0)
                return;

        KillContext k = {
                .e = e,
                .usage = usage,
                .unreclaimable = unreclaimable,
                .limit = limit,
                .kill_wm = kill_wm,
                .start = start,
                .decide_start = clock_usec(CLOCK_MONOTONIC),
        };
        int r = emu_tree_kill_walk(t, KILL_LEAVES_MAX, kill_visit, &k);
        if (r < 0)
                log_unit_debug(e->unit_object, e->cgroup, "Kill decision: %s after %zu cgroups read, in %" PRIu64 " us.",
                               strerror(-r), emu_tree_size(t), clock_usec(CLOCK_MONOTONIC) - k.decide_start);
        if (r == -E2BIG) {
                emulator_say_too_large(e, "priority kill", t);
                return;
        }
        if (r > 0)
                return;

        if (!e->nothing_killable_said) {
                char u[FORMAT_SHARE_MAX], w[FORMAT_SIZE_MAX];
                log_unit_warning(e->unit_object, e->cgroup,
                                 "Unreclaimable memory (%s) is at the kill watermark %s but nothing below %s "
                                 "can be killed.",
                                 format_share(u, unreclaimable, limit), format_size(w, kill_wm), e->cgroup);
                e->nothing_killable_said = true;
        }
}

/* ---- the standing bounds ---- */

static bool emulator_wants_bounds(const Emulator *e) {
        return e->s.reclaim && e->s.standing_bounds && e->root && e->s.squeeze_fd >= 0;
}

/* v1: the child's limit (the kernel reclaims in the child's context at it,
 * and OOM-kills in the child when it cannot: hence the floor); v2:
 * memory.high (it reclaims and throttles there, and never kills). */
static const char *bound_file(const Emulator *e) {
        return e->root->layout == MEMCG_LAYOUT_V1 ? SQUEEZE_FILE_V1_LIMIT : SQUEEZE_FILE_V2_HIGH;
}

static void bound_release(Emulator *e, EmuBoundChild *b) {
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

static void bounds_clear(Emulator *e, bool release) {
        for (size_t i = 0; i < e->n_bounds; i++) {
                if (release)
                        bound_release(e, &e->bounds[i]);
                safe_close(e->bounds[i].peak_fd);
                free(e->bounds[i].cgroup);
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
        e->bounds[e->n_bounds] = (EmuBoundChild) { .cgroup = copy, .peak = UINT64_MAX, .peak_fd = -1 };
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
        uint64_t limit, high, low, now = clock_usec(CLOCK_MONOTONIC);
        int dirfd = emulator_dirfd(e);
        size_t n = 0;
        bool swap = have_swap();

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
                b->priority = priority_of(e, path);
                b->seen = true;
                st[n] = b - e->bounds;
                in[n++] = (BoundChild) {
                        .priority = b->priority,
                        .usage = usage,
                        .reserve = b->peak,
                        .declared = reserve_of(e, path, limit),
                        .unreclaimable = swap ? 0 : usage > stat.file ? usage - stat.file : 0,
                };
                stuck[n - 1] = bound_stuck_now(usage, stat.file, stat.dirty, swap);
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
                /* Not a write for every page the bound moves: a move up of
                 * less than a step waits (a move down never does). */
                if (b->held != 0 && step >= b->held && step - b->held < e->s.step_size)
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
                if (held && b->held == 0)
                        log_unit_info(e->unit_object, e->cgroup,
                                      "Holding %s (priority %u) at %" PRIu64 " MiB, so that the higher priorities "
                                      "find room below wmark_high (%" PRIu64 " MiB) without reclaiming.",
                                      b->cgroup, b->priority, step >> 20, high >> 20);
                else if (!held && b->held != 0)
                        log_unit_info(e->unit_object, e->cgroup, "Let go of the standing bound on %s.", b->cgroup);
                b->held = held ? step : 0;
                b->put_back = put_back;
        }

        /* Children gone since the last look: nothing to put back. */
        size_t kept = 0;
        for (size_t i = 0; i < e->n_bounds; i++) {
                if (e->bounds[i].seen)
                        e->bounds[kept++] = e->bounds[i];
                else {
                        safe_close(e->bounds[i].peak_fd);
                        free(e->bounds[i].cgroup);
                }
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
                bounds_clear(e, true);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, next == BOUND_BUSY ? EMU_BOUND_INTERVAL_USEC
                                                                        : EMU_BOUND_IDLE_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* Called by every check: a unit with a limit looks at its children now and
 * then (the first look at once), and at once when usage reached
 * bound_start (the watch wakes us there), whatever the next look's time. */
static void emulator_arm_bounds(Emulator *e, uint64_t usage) {
        if (!emulator_wants_bounds(e) || e->bound_start == MEMCG_UNLIMITED) {
                e->bound_timer = sd_event_source_disable_unref(e->bound_timer);
                bounds_clear(e, true);
                return;
        }
        if (e->bound_timer) {
                uint64_t due;
                if (usage >= e->bound_start && sd_event_source_get_time(e->bound_timer, &due) >= 0 &&
                    due > clock_usec(CLOCK_MONOTONIC) + EMU_BOUND_INTERVAL_USEC) {
                        (void) sd_event_source_set_time_relative(e->bound_timer, 0);
                        (void) sd_event_source_set_enabled(e->bound_timer, SD_EVENT_ONESHOT);
                }
                return;
        }
        int r = sd_event_add_time_relative(e->event, &e->bound_timer, CLOCK_MONOTONIC, 0, 0, on_bound_timer, e);
        if (r < 0) {
                log_unit_warning_errno(e->unit_object, e->cgroup, r, "Cannot arm the standing bounds' timer: %m");
                return;
        }
        (void) sd_event_source_set_description(e->bound_timer, "emulator-bounds");
}

/* ---- the kill order, without killing ---- */

void emulator_kill_order_done(EmulatorKillOrder *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n_leaves; i++) {
                free(o->leaves[i].cgroup);
                free(o->leaves[i].branch);
                free(o->leaves[i].procs);
        }
        o->leaves = mfree(o->leaves);
        o->n_leaves = 0;
}

typedef struct OrderContext {
        const Emulator *e;
        EmulatorKillOrder *order;
} OrderContext;

static int order_visit(EmuTree *t, size_t leaf, void *userdata) {
        OrderContext *c = userdata;
        const EmuNode *node = emu_tree_node(t, leaf);
        _cleanup_free_ EmuProc *procs = NULL;
        size_t n = 0;

        _cleanup_(closep) int fd = memcg_open(c->e->root, node->cgroup);
        if (fd < 0 || leaf_read_procs(fd, &procs, &n) < 0)
                return 0;
        /* total as the kill weighs oom_score_adj: the unit's limit; the
         * usage of the top stands in for it when there is none. */
        uint64_t limit = MEMCG_UNLIMITED;
        _cleanup_(closep) int top = memcg_open(c->e->root, c->e->cgroup);
        if (top < 0 || memcg_read_limit(c->e->root, top, &limit) < 0 || limit == MEMCG_UNLIMITED)
                limit = emu_tree_node(t, 0)->usage;
        size_t k = emu_kill_order_processes(procs, n, limit, getpid());
        bool group = memcg_oom_group(c->e->root, fd);
        if (k == 0 && !group)
                return 0; /* the kill passes it by too */

        EmulatorKillLeaf *leaves = reallocarray(c->order->leaves, c->order->n_leaves + 1, sizeof(EmulatorKillLeaf));
        if (!leaves)
                return -ENOMEM;
        c->order->leaves = leaves;
        size_t branch = emu_tree_branch(t, leaf);
        EmulatorKillLeaf *l = &leaves[c->order->n_leaves];
        *l = (EmulatorKillLeaf) {
                .cgroup = strdup(node->cgroup),
                .branch = strdup(emu_tree_node(t, branch)->cgroup),
                .branch_priority = emu_tree_node(t, branch)->priority,
                .priority = node->priority,
                .usage = node->usage,
                .oom_group = group,
                .procs = calloc(k ?: 1, sizeof(EmulatorKillProcess)),
                .n_procs = k,
        };
        c->order->n_leaves++;
        if (!l->cgroup || !l->branch || !l->procs)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++) {
                l->procs[i] = (EmulatorKillProcess) {
                        .pid = procs[i].pid,
                        .rss = procs[i].rss,
                        .oom_score_adj = procs[i].oom_score_adj,
                };
                read_comm(procs[i].pid, l->procs[i].comm, sizeof(l->procs[i].comm));
        }
        return 0; /* on to the leaf the walk takes once this one is empty */
}

int emulator_kill_order(const MemcgRoot *root, const char *cgroup,
                        unsigned (*priority_fn)(const char *cgroup, void *userdata), void *userdata,
                        unsigned max_leaves, EmulatorKillOrder *ret) {
        assert(cgroup);
        assert(ret);
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        /* The kill's own reader of the subtree, over an Emulator that holds
         * only what the reader uses: the root, the top and priority_of. */
        Emulator e = {
                .root = root,
                .cgroup = (char *) cgroup,
                .callbacks.priority_of = priority_fn,
                .userdata = userdata,
        };
        TreeReader tr = { .e = &e, .for_kill = true };

        *ret = (EmulatorKillOrder) {};
        if (!root)
                return -ENOENT;
        int r = tree_open(&e, &tr, &t);
        if (r < 0)
                return r;
        OrderContext c = { .e = &e, .order = ret };
        r = emu_tree_kill_walk(t, max_leaves, order_visit, &c);
        ret->n_read = emu_tree_size(t);
        if (r < 0 && r != -ESRCH) {
                emulator_kill_order_done(ret);
                return r;
        }
        return 0;
}

/* ---- the pressure zone ---- */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata);

static void emulator_check(Emulator *e) {
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
        bool swap = pressured && have_swap();

        if (kill_wm != MEMCG_UNLIMITED && usage >= kill_wm) {
                MemcgStat st;
                if (memcg_read_stat(root, dirfd, &st) >= 0 &&
                    emu_kill_needed(usage, st.file, st.anon, swap, kill_wm)) {
                        uint64_t reclaimable = st.file + (swap ? st.anon : 0);
                        emulator_kill(e, usage, usage > reclaimable ? usage - reclaimable : 0, limit, kill_wm);
                        (void) memcg_read_usage(root, dirfd, &usage);
                }
        }

        /* Hysteresis, as the kernel's work: reclaim starts at wmark_high and
         * goes on, pass after pass (each is cut short after
         * EMU_PASS_BUDGET_USEC), until usage is below wmark_low. */
        if (!e->s.reclaim || high == MEMCG_UNLIMITED || usage < low)
                e->reclaiming = false;
        else if (usage >= high)
                e->reclaiming = true;
        if (e->reclaiming && clock_usec(CLOCK_MONOTONIC) >= e->backoff_until) {
                emulator_reclaim_pass(e, usage, high, low, swap);
                (void) memcg_read_usage(root, dirfd, &usage);
                if (usage < low)
                        e->reclaiming = false;
        }

        if ((entry != MEMCG_UNLIMITED && usage >= entry) || e->reclaiming) {
                if (!e->tick) {
                        r = sd_event_add_time_relative(e->event, &e->tick, CLOCK_MONOTONIC,
                                                       e->s.interval_usec, 0, on_tick, e);
                        if (r < 0)
                                log_unit_warning_errno(e->unit_object, e->cgroup, r,
                                                       "Cannot arm the pressure timer: %m");
                        else
                                (void) sd_event_source_set_description(e->tick, "emulator-tick");
                } else {
                        (void) sd_event_source_set_time_relative(e->tick, e->s.interval_usec);
                        (void) sd_event_source_set_enabled(e->tick, SD_EVENT_ONESHOT);
                }
        } else
                e->tick = sd_event_source_disable_unref(e->tick);
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
        bounds_clear(e, false); /* gone with the cgroup */
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
        bounds_clear(e, true);
        memcg_watch_free(e->watch);
        sd_event_source_disable_unref(e->tick);
        sd_event_source_disable_unref(e->victim_source);
        safe_close(e->victim_pidfd);
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
                bounds_clear(e, true);
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
