/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
#include "emulate/bound.h"
#include "emulate/emulator-internal.h"
#include "emulate/plan.h"
#include "emulate/squeeze.h"

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
        bool announce; /* the leaf's clients are told first (ladder.h) */
        uint64_t usage, unreclaimable, limit, kill_wm, start;
        uint64_t decide_start; /* when the walk began to look for this leaf */
} KillContext;

/* Whether the leaf at fd has something the kill would take. */
static bool leaf_killable(Emulator *e, int fd, uint64_t total) {
        _cleanup_free_ EmuProc *procs = NULL;
        size_t n = 0;

        if (memcg_oom_group(e->root, fd))
                return true;
        return leaf_read_procs(fd, &procs, &n) >= 0 && emu_kill_pick_process(procs, n, total, getpid()) >= 0;
}

/* Before the kill in the chosen leaf: its clients are told that they are
 * next. True when somebody was told and the kill waits for the grace. */
static bool kill_announce(KillContext *k, const EmuTree *t, size_t leaf) {
        Emulator *e = k->e;
        LadderNotice notice = ladder_kill_notice(t, leaf, k->unreclaimable, k->kill_wm, e->s.page_size);
        size_t told = emulator_notify(e, LADDER_KILL, &notice, 1, k->usage, k->limit, k->kill_wm,
                                      e->s.kill_grace_usec);
        return emulator_grace_start(e, LADDER_KILL, &notice, 1, k->usage,
                                    ladder_grace_usec(told, e->s.kill_grace_usec)) >= 0;
}

static int kill_visit(EmuTree *t, size_t leaf, void *userdata) {
        KillContext *k = userdata;
        Emulator *e = k->e;
        EmulatorKill ev = {};
        int pidfd = -1;
        const char *leaf_path = emu_tree_node(t, leaf)->cgroup;

        log_unit_debug(e->unit_object, e->cgroup, "Kill decision: %s after %zu cgroups read, in %" PRIu64 " us.",
                       leaf_path, emu_tree_size(t), clock_usec(CLOCK_MONOTONIC) - k->decide_start);
        _cleanup_(closep) int fd = memcg_open(e->root, leaf_path);
        if (k->announce && fd >= 0 && leaf_killable(e, fd, k->limit) && kill_announce(k, t, leaf))
                return 1; /* the grace's end decides */
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
        e->kill_grace.given = false; /* the next victim's clients are told again */
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

void emulator_kill(Emulator *e, uint64_t usage, uint64_t unreclaimable, uint64_t limit, uint64_t kill_wm) {
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        TreeReader tr = { .e = e, .for_kill = true };
        uint64_t start = clock_usec(CLOCK_MONOTONIC);

        if (e->victim_pidfd >= 0 && start - e->victim_killed_usec < EMU_KILL_WAIT_USEC)
                return; /* the last victim is still giving its memory back */
        e->victim_source = sd_event_source_disable_unref(e->victim_source);
        e->victim_pidfd = safe_close(e->victim_pidfd);

        if (emulator_tree_open(e, &tr, &t) < 0)
                return;

        KillContext k = {
                .e = e,
                .announce = ladder_notice_due(e->s.kill_grace_usec, e->kill_grace.given, e->kill_grace.timer) &&
                            e->callbacks.notify,
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
                int spared = emu_tree_kill_spared(t);
                if (spared >= 0) {
                        const EmuNode *top = emu_tree_node(t, (size_t) spared);
                        log_unit_warning(e->unit_object, e->cgroup,
                                         "Unreclaimable memory (%s) is at the kill watermark %s, but only the highest "
                                         "priority in use is left below %s (%s, priority %u): it is not killed "
                                         "pre-emptively; the kernel's OOM killer decides at the limit.",
                                         format_share(u, unreclaimable, limit), format_size(w, kill_wm), e->cgroup,
                                         top->cgroup, top->priority);
                } else
                        log_unit_warning(e->unit_object, e->cgroup,
                                         "Unreclaimable memory (%s) is at the kill watermark %s but nothing below %s "
                                         "can be killed.",
                                         format_share(u, unreclaimable, limit), format_size(w, kill_wm), e->cgroup);
                e->nothing_killable_said = true;
        }
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
        int r = emulator_tree_open(&e, &tr, &t);
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

