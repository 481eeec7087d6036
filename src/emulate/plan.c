/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulate/plan.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"

#define UNLIMITED UINT64_MAX

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

/* An array snapshot: every parent before its children, node 0 the root. */
static int snapshot_validate(const EmuNode *nodes, size_t n) {
        if (!nodes || n == 0 || nodes[0].parent != EMU_NO_PARENT)
                return -EINVAL;
        for (size_t i = 1; i < n; i++)
                if (nodes[i].parent >= i)
                        return -EINVAL;
        return 0;
}

/* ---- the lazily read tree ---- */

typedef struct TreeEntry {
        size_t first_child, n_children; /* the children are added together, so they are adjacent */
        unsigned depth;
        bool expanded;
        bool skip;      /* tried, nothing killable */
        bool exhausted; /* the kill walk found nothing killable in the subtree */
} TreeEntry;

struct EmuTree {
        EmuNode *nodes;
        TreeEntry *entries;
        size_t n, allocated, max_nodes;
        EmuTreeExpand expand;
        void *userdata;
        size_t expanding; /* the node whose expand runs: the only parent add_child accepts */
        EmuArraySource *array; /* emu_tree_new_array()'s, freed with the tree */
        size_t kill_spared; /* the first leaf the kill passed by as the highest priority in use */
};

static void array_source_free(EmuArraySource *a);

static int tree_append(EmuTree *t, const EmuNode *node, size_t parent, unsigned depth) {
        if (t->n >= t->max_nodes || depth > EMU_TREE_DEPTH_MAX)
                return -E2BIG;
        if (t->n == t->allocated) {
                size_t a = t->allocated ? t->allocated * 2 : 64;
                EmuNode *nodes = realloc(t->nodes, a * sizeof(EmuNode));
                if (!nodes)
                        return -ENOMEM;
                t->nodes = nodes;
                TreeEntry *entries = realloc(t->entries, a * sizeof(TreeEntry));
                if (!entries)
                        return -ENOMEM;
                t->entries = entries;
                t->allocated = a;
        }
        char *cgroup = NULL;
        if (node->cgroup && !(cgroup = strdup(node->cgroup)))
                return -ENOMEM;
        t->nodes[t->n] = *node;
        t->nodes[t->n].parent = parent;
        t->nodes[t->n].cgroup = cgroup;
        t->entries[t->n] = (TreeEntry) { .depth = depth };
        return (int) t->n++;
}

int emu_tree_new(const EmuNode *root, EmuTreeExpand expand, void *userdata, size_t max_nodes, EmuTree **ret) {
        assert(root);
        assert(expand);
        assert(ret);
        EmuTree *t = calloc(1, sizeof(EmuTree));
        if (!t)
                return -ENOMEM;
        *t = (EmuTree) {
                .max_nodes = max_nodes ?: EMU_TREE_NODES_MAX,
                .expand = expand,
                .userdata = userdata,
                .expanding = EMU_NO_PARENT,
                .kill_spared = EMU_NO_PARENT,
        };
        int r = tree_append(t, root, EMU_NO_PARENT, 0);
        if (r < 0) {
                emu_tree_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

EmuTree *emu_tree_free(EmuTree *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                free((char *) t->nodes[i].cgroup);
        free(t->nodes);
        free(t->entries);
        array_source_free(t->array);
        free(t);
        return NULL;
}

int emu_tree_add_child(EmuTree *t, size_t parent, const EmuNode *child) {
        assert(t);
        assert(child);
        if (parent != t->expanding || parent >= t->n)
                return -EINVAL;
        return tree_append(t, child, parent, t->entries[parent].depth + 1);
}

const EmuNode *emu_tree_node(const EmuTree *t, size_t i) {
        assert(t);
        assert(i < t->n);
        return &t->nodes[i];
}

size_t emu_tree_size(const EmuTree *t) {
        assert(t);
        return t->n;
}

void emu_tree_skip(EmuTree *t, size_t i) {
        assert(t);
        assert(i < t->n);
        t->entries[i].skip = true;
}

/* Reads the children of node i once. */
static int tree_expand(EmuTree *t, size_t i) {
        if (t->entries[i].expanded)
                return 0;
        size_t first = t->n;
        t->expanding = i;
        int r = t->expand(t, i, t->userdata);
        t->expanding = EMU_NO_PARENT;
        if (r < 0)
                return r;
        t->entries[i].first_child = first;
        t->entries[i].n_children = t->n - first;
        t->entries[i].expanded = true;
        return 0;
}

/* An array snapshot as a tree: the children of each node in a table built
 * once, and the tree index -> array index map to give answers back in the
 * caller's numbering. Owned by the tree. */
struct EmuArraySource {
        const EmuNode *nodes;
        const bool *skip;
        size_t *child_start; /* n + 1 offsets into children */
        size_t *children;
        size_t *array_index; /* by tree index */
};

static int array_expand(EmuTree *t, size_t node, void *userdata) {
        EmuArraySource *a = userdata;
        size_t from = a->array_index[node];
        for (size_t k = a->child_start[from]; k < a->child_start[from + 1]; k++) {
                size_t j = a->children[k];
                int r = emu_tree_add_child(t, node, &a->nodes[j]);
                if (r < 0)
                        return r;
                a->array_index[r] = j;
                if (a->skip && a->skip[j])
                        emu_tree_skip(t, (size_t) r);
        }
        return 0;
}

static void array_source_free(EmuArraySource *a) {
        if (!a)
                return;
        free(a->child_start);
        free(a->children);
        free(a->array_index);
        free(a);
}

int emu_tree_new_array(const EmuNode *nodes, size_t n, const bool *skip, size_t root, EmuTree **ret) {
        assert(ret);
        int r = snapshot_validate(nodes, n);
        if (r < 0)
                return r;
        if (root >= n)
                return -EINVAL;
        if (n > EMU_TREE_NODES_MAX)
                return -E2BIG;
        EmuArraySource *a = calloc(1, sizeof(EmuArraySource));
        _cleanup_free_ size_t *fill = calloc(n, sizeof(size_t));
        if (!a || !fill) {
                free(a);
                return -ENOMEM;
        }
        *a = (EmuArraySource) {
                .nodes = nodes,
                .skip = skip,
                .child_start = calloc(n + 1, sizeof(size_t)),
                .children = calloc(n, sizeof(size_t)),
                .array_index = calloc(n, sizeof(size_t)),
        };
        if (!a->child_start || !a->children || !a->array_index) {
                array_source_free(a);
                return -ENOMEM;
        }
        /* Counting sort of the nodes by parent: children in array order. */
        for (size_t i = 1; i < n; i++)
                a->child_start[nodes[i].parent + 1]++;
        for (size_t i = 0; i < n; i++)
                a->child_start[i + 1] += a->child_start[i];
        for (size_t i = 1; i < n; i++) {
                size_t p = nodes[i].parent;
                a->children[a->child_start[p] + fill[p]++] = i;
        }
        a->array_index[0] = root;
        r = emu_tree_new(&nodes[root], array_expand, a, n, ret);
        if (r < 0) {
                array_source_free(a);
                return r;
        }
        (*ret)->array = a;
        if (skip && skip[root])
                emu_tree_skip(*ret, 0);
        return 0;
}

size_t emu_tree_array_index(const EmuTree *t, size_t i) {
        assert(t);
        assert(t->array);
        assert(i < t->n);
        return t->array->array_index[i];
}

uint64_t emu_reclaim_target(uint64_t usage, uint64_t high, uint64_t low, uint64_t page_size) {
        if (high == UNLIMITED || usage < high || usage <= low || page_size == 0)
                return 0;
        return (usage - low + page_size - 1) / page_size * page_size;
}

/* Children of a node in the order they give and die: lowest priority
 * first; then, for reclaim, most page cache first and for the kill the
 * largest usage first (the kernel's tie-break). The keys are copied: the
 * tree's arrays move while it grows. */
typedef struct ChildOrder {
        unsigned priority;
        uint64_t file, usage;
        size_t index;
} ChildOrder;

static int child_compare(const void *a, const void *b) {
        const ChildOrder *x = a, *y = b;
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        if (x->file != y->file)
                return x->file > y->file ? -1 : 1;
        if (x->usage != y->usage)
                return x->usage > y->usage ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* The children of node i (read first), sorted; NULL with *ret_n 0 for none. */
static int children_sorted(EmuTree *t, size_t i, bool by_file, ChildOrder **ret, size_t *ret_n) {
        int r = tree_expand(t, i);
        if (r < 0)
                return r;
        size_t first = t->entries[i].first_child, k = t->entries[i].n_children;
        *ret = NULL;
        *ret_n = 0;
        if (k == 0)
                return 0;
        ChildOrder *order = calloc(k, sizeof(ChildOrder));
        if (!order)
                return -ENOMEM;
        for (size_t j = 0; j < k; j++) {
                const EmuNode *c = &t->nodes[first + j];
                order[j] = (ChildOrder) {
                        .priority = c->priority,
                        .file = by_file ? c->file : 0,
                        .usage = c->usage,
                        .index = first + j,
                };
        }
        qsort(order, k, sizeof(ChildOrder), child_compare);
        *ret = order;
        *ret_n = k;
        return 0;
}

typedef struct PlanContext {
        EmuTree *t;
        bool swap;
        EmuReclaimStep *steps;
        size_t n_steps, max_steps;
        int error; /* the first error of a read: the plan is void */
} PlanContext;

static uint64_t reclaimable(const PlanContext *c, size_t i) {
        return c->t->nodes[i].file + (c->swap ? c->t->nodes[i].anon : 0);
}

/* What a node's subtree can give in all: its reclaimable memory, never
 * below its floor. Each node is planned once, so nothing is taken twice. */
static uint64_t subtree_available(const PlanContext *c, size_t i) {
        return min_u64(reclaimable(c, i), sub_sat(c->t->nodes[i].usage, c->t->nodes[i].protection));
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
        _cleanup_free_ ChildOrder *order = NULL;
        size_t k;

        need = min_u64(need, avail);
        if (need == 0 || c->error < 0)
                return 0;

        /* Only now, with something to take here, are the children read. */
        int r = children_sorted(c->t, i, true, &order, &k);
        if (r < 0) {
                c->error = r;
                return 0;
        }
        for (size_t j = 0; j < k; j++) {
                children_reclaimable += reclaimable(c, order[j].index);
                /* With every step used the plan is complete: no more reads. */
                if (got < need && c->n_steps < c->max_steps)
                        got += plan_subtree(c, order[j].index, need - got);
        }

        /* Then the pages charged to this cgroup itself (v1 allows processes in
         * inner cgroups; pages also stay where a process that moved left them). */
        uint64_t take = min_u64(need - got, sub_sat(reclaimable(c, i), children_reclaimable));
        if (take > 0 && plan_add_step(c, i, take))
                got += take;
        return got;
}

int emu_tree_reclaim_plan(EmuTree *t, uint64_t need, bool swap, EmuReclaimStep *ret, size_t max_steps,
                          uint64_t *ret_planned) {
        assert(t);
        assert(ret || max_steps == 0);
        PlanContext c = {
                .t = t,
                .swap = swap,
                .steps = ret,
                .max_steps = max_steps,
        };
        uint64_t got = plan_subtree(&c, 0, need);
        if (c.error < 0)
                return c.error;
        if (ret_planned)
                *ret_planned = got;
        return (int) c.n_steps;
}

int emu_reclaim_plan(const EmuNode *nodes, size_t n, uint64_t need, bool swap, EmuReclaimStep *ret,
                     size_t max_steps, uint64_t *ret_planned) {
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        int r = emu_tree_new_array(nodes, n, NULL, 0, &t);
        if (r < 0)
                return r;
        r = emu_tree_reclaim_plan(t, need, swap, ret, max_steps, ret_planned);
        for (int i = 0; i < r; i++)
                ret[i].node = emu_tree_array_index(t, ret[i].node);
        return r;
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

uint64_t emu_kill_watch_start(uint64_t kill_watermark) {
        return kill_watermark == UNLIMITED ? UNLIMITED : kill_watermark / 10 * 9;
}

bool emu_kill_needed(uint64_t usage, uint64_t file, uint64_t anon, bool swap, uint64_t kill_watermark) {
        if (kill_watermark == UNLIMITED || usage == UNLIMITED)
                return false;
        uint64_t reclaimable = file + (swap ? anon : 0);
        return sub_sat(usage, reclaimable) >= kill_watermark;
}

/* Depth first in kill order: the first child (lowest priority, then the
 * largest usage) with anything killable in its subtree wins, and its walk
 * goes on below it; the processes of node i itself only when no child has
 * any. A subtree found empty is marked so that a walk after a skip does
 * not read it again.
 *
 * below: on the way down to node i, some level had a sibling of strictly
 * higher priority with memory in use. Only such a leaf is a victim: the
 * pre-emptive kill exists to stop lower priorities before the kernel's
 * stall and OOM reach the higher ones, and a leaf of the highest priority
 * in use has nobody above it to protect. Killing it early would only take
 * what the kernel might never have to take (it may well fit under the
 * limit); at the limit the kernel's OOM killer chooses among equals as
 * well as memqosd could. Such a leaf is passed by and remembered
 * (emu_tree_kill_spared()). */
static int kill_walk(EmuTree *t, size_t i, bool below) {
        _cleanup_free_ ChildOrder *order = NULL;
        size_t k;

        if (t->entries[i].exhausted)
                return -ESRCH;
        int r = children_sorted(t, i, false, &order, &k);
        if (r < 0)
                return r;
        bool any_in_use = false;
        unsigned top_in_use = 0;
        for (size_t j = 0; j < k; j++)
                if (order[j].usage > 0 && (!any_in_use || order[j].priority > top_in_use)) {
                        top_in_use = order[j].priority;
                        any_in_use = true;
                }
        for (size_t j = 0; j < k; j++) {
                r = kill_walk(t, order[j].index, below || (any_in_use && top_in_use > order[j].priority));
                if (r != -ESRCH)
                        return r; /* the leaf, or an error: no answer */
        }
        if (!t->entries[i].skip && t->nodes[i].n_procs > 0) {
                if (below)
                        return (int) i;
                if (t->kill_spared == EMU_NO_PARENT)
                        t->kill_spared = i;
        }
        t->entries[i].exhausted = true;
        return -ESRCH;
}

int emu_tree_kill_pick(EmuTree *t) {
        assert(t);
        /* Marks of empty subtrees stay true from walk to walk: a skip only
         * ever removes candidates. */
        return kill_walk(t, 0, false);
}

int emu_tree_kill_spared(const EmuTree *t) {
        assert(t);
        return t->kill_spared == EMU_NO_PARENT ? -ESRCH : (int) t->kill_spared;
}

int emu_tree_kill_walk(EmuTree *t, unsigned max_leaves, EmuKillVisit visit, void *userdata) {
        assert(t);
        assert(visit);
        for (unsigned visited = 0; visited < max_leaves; visited++) {
                int leaf = emu_tree_kill_pick(t);
                if (leaf < 0)
                        return leaf;
                int r = visit(t, (size_t) leaf, userdata);
                if (r != 0)
                        return r < 0 ? r : 1;
                emu_tree_skip(t, (size_t) leaf);
        }
        return -ESRCH;
}

size_t emu_tree_branch(const EmuTree *t, size_t i) {
        assert(t);
        assert(i < t->n);
        while (i != 0 && t->nodes[i].parent != 0)
                i = t->nodes[i].parent;
        return i;
}

int emu_kill_pick_node(const EmuNode *nodes, size_t n, const bool *skip) {
        _cleanup_(emu_tree_freep) EmuTree *t = NULL;
        int r = emu_tree_new_array(nodes, n, skip, 0, &t);
        if (r < 0)
                return r;
        r = emu_tree_kill_pick(t);
        return r >= 0 ? (int) emu_tree_array_index(t, (size_t) r) : r;
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

size_t emu_kill_order_processes(EmuProc *procs, size_t n, uint64_t total, pid_t self) {
        assert(procs || n == 0);
        size_t k = 0;
        for (; k < n; k++) {
                int pick = emu_kill_pick_process(procs + k, n - k, total, self);
                if (pick < 0)
                        break;
                EmuProc chosen = procs[k + (size_t) pick];
                /* Keeps the others in their order: ties go to the first, as in the kill. */
                memmove(procs + k + 1, procs + k, (size_t) pick * sizeof(EmuProc));
                procs[k] = chosen;
        }
        return k;
}

bool emu_kill_victim_confirmed(pid_t pid, const pid_t *procs, size_t n, bool alive) {
        assert(procs || n == 0);
        if (!alive || pid <= 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (procs[i] == pid)
                        return true;
        return false;
}
