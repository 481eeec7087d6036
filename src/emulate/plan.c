/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define UNLIMITED UINT64_MAX

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

static int snapshot_validate(const EmuNode *nodes, size_t n) {
        if (!nodes || n == 0 || n > EMU_NODES_MAX || nodes[0].parent != EMU_NO_PARENT)
                return -EINVAL;
        for (size_t i = 1; i < n; i++)
                if (nodes[i].parent >= i)
                        return -EINVAL;
        return 0;
}

uint64_t emu_reclaim_target(uint64_t usage, uint64_t high, uint64_t low, uint64_t page_size) {
        if (high == UNLIMITED || usage < high || usage <= low || page_size == 0)
                return 0;
        return (usage - low + page_size - 1) / page_size * page_size;
}

/* Children of node `parent` in the order they give and die: lowest priority
 * first; then, for reclaim, most page cache first and for the kill the
 * largest usage first (the kernel's tie-break). */
typedef struct ChildOrder {
        const EmuNode *nodes;
        size_t index;
} ChildOrder;

static int child_compare(const void *a, const void *b) {
        const ChildOrder *x = a, *y = b;
        const EmuNode *p = &x->nodes[x->index], *q = &y->nodes[y->index];
        if (p->priority != q->priority)
                return p->priority < q->priority ? -1 : 1;
        if (p->file != q->file)
                return p->file > q->file ? -1 : 1;
        if (p->usage != q->usage)
                return p->usage > q->usage ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static size_t children_sorted(const EmuNode *nodes, size_t n, size_t parent, ChildOrder *ret) {
        size_t k = 0;
        for (size_t i = parent + 1; i < n; i++)
                if (nodes[i].parent == parent)
                        ret[k++] = (ChildOrder) { .nodes = nodes, .index = i };
        qsort(ret, k, sizeof(ChildOrder), child_compare);
        return k;
}

typedef struct PlanContext {
        const EmuNode *nodes;
        size_t n;
        bool swap;
        EmuReclaimStep *steps;
        size_t n_steps, max_steps;
} PlanContext;

static uint64_t reclaimable(const PlanContext *c, size_t i) {
        return c->nodes[i].file + (c->swap ? c->nodes[i].anon : 0);
}

/* What a node's subtree can give in all: its reclaimable memory, never
 * below its floor. Each node is planned once, so nothing is taken twice. */
static uint64_t subtree_available(const PlanContext *c, size_t i) {
        return min_u64(reclaimable(c, i), sub_sat(c->nodes[i].usage, c->nodes[i].protection));
}

static bool plan_add_step(PlanContext *c, size_t node, uint64_t bytes) {
        if (c->n_steps > 0 && c->steps[c->n_steps - 1].node == node) {
                c->steps[c->n_steps - 1].bytes += bytes;
                return true;
        }
        if (c->n_steps >= c->max_steps)
                return false;
        c->steps[c->n_steps++] = (EmuReclaimStep) { .node = node, .bytes = bytes };
        return true;
}

static uint64_t plan_subtree(PlanContext *c, size_t i, uint64_t need) {
        uint64_t avail = subtree_available(c, i), got = 0, children_reclaimable = 0;
        need = min_u64(need, avail);
        if (need == 0)
                return 0;

        ChildOrder *order = calloc(c->n, sizeof(ChildOrder));
        if (!order)
                return 0;
        size_t k = children_sorted(c->nodes, c->n, i, order);
        for (size_t j = 0; j < k; j++) {
                children_reclaimable += reclaimable(c, order[j].index);
                if (got < need)
                        got += plan_subtree(c, order[j].index, need - got);
        }
        free(order);

        /* Then the pages charged to this cgroup itself (v1 allows processes in
         * inner cgroups; pages also stay where a process that moved left them). */
        uint64_t take = min_u64(need - got, sub_sat(reclaimable(c, i), children_reclaimable));
        if (take > 0 && plan_add_step(c, i, take))
                got += take;
        return got;
}

int emu_reclaim_plan(const EmuNode *nodes, size_t n, uint64_t need, bool swap, EmuReclaimStep *ret,
                     size_t max_steps, uint64_t *ret_planned) {
        int r = snapshot_validate(nodes, n);
        if (r < 0)
                return r;

        PlanContext c = {
                .nodes = nodes,
                .n = n,
                .swap = swap,
                .steps = ret,
                .max_steps = max_steps,
        };
        uint64_t got = plan_subtree(&c, 0, need);
        if (ret_planned)
                *ret_planned = got;
        return (int) c.n_steps;
}

uint64_t emu_squeeze_limit(uint64_t usage, uint64_t bytes, uint64_t floor, uint64_t page_size) {
        if (bytes == 0 || usage <= floor || page_size == 0)
                return 0;
        uint64_t target = sub_sat(usage, bytes);
        if (target < floor)
                target = floor;
        /* The kernel keeps the limit in its own pages: a value rounded
         * here is the value it reads back. */
        target = target / page_size * page_size;
        return target < usage ? target : 0;
}

uint64_t emu_kill_watermark(uint64_t limit, unsigned ratio, uint64_t page_size) {
        if (limit == UNLIMITED || ratio == 0 || page_size == 0)
                return UNLIMITED;
        if (ratio > 100)
                ratio = 100;
        /* limit / 100 * ratio + the remainder's share, without overflow. */
        uint64_t w = limit / 100 * ratio + limit % 100 * ratio / 100;
        return w / page_size * page_size;
}

bool emu_kill_needed(uint64_t usage, uint64_t file, uint64_t anon, bool swap, uint64_t kill_watermark) {
        if (kill_watermark == UNLIMITED || usage == UNLIMITED)
                return false;
        uint64_t reclaimable = file + (swap ? anon : 0);
        return sub_sat(usage, reclaimable) >= kill_watermark;
}

int emu_kill_pick_node(const EmuNode *nodes, size_t n, const bool *skip) {
        int r = snapshot_validate(nodes, n);
        if (r < 0)
                return r;

        _cleanup_free_ size_t *killable = calloc(n, sizeof(size_t));
        if (!killable)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                killable[i] = skip && skip[i] ? 0 : nodes[i].n_procs;
        for (size_t i = n - 1; i > 0; i--)
                killable[nodes[i].parent] += killable[i];

        size_t cur = 0;
        if (killable[0] == 0)
                return -ESRCH;
        for (;;) {
                size_t best = EMU_NO_PARENT;
                for (size_t i = cur + 1; i < n; i++) {
                        if (nodes[i].parent != cur || killable[i] == 0)
                                continue;
                        if (best == EMU_NO_PARENT || nodes[i].priority < nodes[best].priority ||
                            (nodes[i].priority == nodes[best].priority && nodes[i].usage > nodes[best].usage))
                                best = i;
                }
                if (best == EMU_NO_PARENT)
                        /* No child with anything killable: the processes are here. */
                        return (int) cur;
                cur = best;
        }
}

int emu_kill_pick_process(const EmuProc *procs, size_t n, uint64_t total, pid_t self) {
        int best = -ESRCH;
        int64_t best_points = 0;
        for (size_t i = 0; i < n; i++) {
                if (procs[i].pid <= 1 || procs[i].pid == self || procs[i].oom_score_adj <= -1000)
                        continue;
                /* The kernel's oom_badness() in bytes rather than its pages:
                 * the same order on any page size. */
                int64_t points = (int64_t) procs[i].rss + (int64_t) procs[i].oom_score_adj * (int64_t) (total / 1000);
                if (points < 1)
                        points = 1; /* as the kernel does: still a candidate */
                if (best < 0 || points > best_points) {
                        best = (int) i;
                        best_points = points;
                }
        }
        return best;
}
