/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the kill walk and the reclaim plan of memqosd's
 * emulation (src/emulate/plan.c) on random trees.
 *
 * Input: a header (the subtree under pressure, swap, how much to reclaim),
 * then 5 bytes per cgroup (its parent, priority, processes, whether the
 * kill already tried it, usage, page cache, protection), parents before
 * children; wide trees (hundreds of siblings) and deep ones both come out of
 * it. The decisions run as memqosd runs them, on a lazily read tree rooted
 * at the cgroup under pressure, and must keep the promises of plan.h and
 * kernel-abi.md ("Priority OOM"); a broken promise aborts, which libFuzzer
 * reports like a crash:
 * - the kill picks a killable cgroup (processes, not tried) inside the
 *   subtree under pressure, below a higher priority in use (some level on
 *   its path has a sibling of strictly higher priority with usage), with
 *   nothing killable below it, and at every level on its way down the
 *   branch it took has the lowest priority among the siblings with a
 *   victim in them (ties: the largest usage); it finds nothing only when
 *   no such cgroup exists, and then names a passed-by killable cgroup
 *   (emu_tree_kill_spared()) exactly when one exists;
 * - reclaim plans only inside the subtree, at most what was asked and what
 *   each subtree can give, each cgroup once, siblings in priority order, and
 *   a higher priority only once every lower sibling gave all it can;
 * - -E2BIG only for a subtree deeper than EMU_TREE_DEPTH_MAX;
 * - the array API agrees with the tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "emulate/plan.h"

#define NODES_MAX 1700
#define RECORD 5
#define HEADER 4
#define MB (UINT64_C(1) << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-plan: broken promise: %s\n", what);
                abort();
        }
}

typedef struct Fuzz {
        EmuNode nodes[NODES_MAX];
        bool skip[NODES_MAX];
        size_t n, root;
        size_t child_start[NODES_MAX + 1], children[NODES_MAX];
        uint64_t killable[NODES_MAX];         /* processes not tried, in the subtree */
        bool below[NODES_MAX];                /* a higher priority in use beside its path */
        uint64_t victims[NODES_MAX];          /* killable processes below such, in the subtree */
        unsigned depth[NODES_MAX];            /* below root; only in the subtree */
        bool inside[NODES_MAX];               /* in the subtree under pressure */
} Fuzz;

static void decode(Fuzz *f, const uint8_t *data, size_t size) {
        f->n = 1 + (size - HEADER) / RECORD;
        if (f->n > NODES_MAX)
                f->n = NODES_MAX;
        f->nodes[0] = (EmuNode) { .parent = EMU_NO_PARENT, .usage = 1024 * MB, .file = 512 * MB, .anon = 512 * MB };
        for (size_t i = 1; i < f->n; i++) {
                const uint8_t *r = data + HEADER + (i - 1) * RECORD;
                /* High bit: one of the first 128 (wide trees), else a recent one (deep). */
                size_t parent = r[0] & 0x80 ? (size_t) (r[0] & 0x7f) % i : i - 1 - (size_t) r[0] % (i < 128 ? i : 128);
                uint64_t usage = (uint64_t) r[2] * MB;
                f->nodes[i] = (EmuNode) {
                        .parent = parent,
                        .priority = (r[1] & 0x0f) % 13,
                        .n_procs = (r[1] >> 4) & 3,
                        .usage = usage,
                        .file = usage * r[3] / 255,
                        .anon = usage - usage * r[3] / 255,
                        .protection = r[1] & 0x80 ? usage * r[4] / 255 : 0,
                };
                f->skip[i] = r[4] & 1;
        }
        f->root = data[0] % f->n;

        memset(f->child_start, 0, sizeof(f->child_start));
        for (size_t i = 1; i < f->n; i++)
                f->child_start[f->nodes[i].parent + 1]++;
        for (size_t i = 0; i < f->n; i++)
                f->child_start[i + 1] += f->child_start[i];
        size_t fill[NODES_MAX] = {};
        for (size_t i = 1; i < f->n; i++) {
                size_t p = f->nodes[i].parent;
                f->children[f->child_start[p] + fill[p]++] = i;
        }

        /* The subtree under pressure, its depths, and what is killable in it. */
        memset(f->inside, 0, sizeof(f->inside));
        f->inside[f->root] = true;
        f->depth[f->root] = 0;
        for (size_t i = f->root + 1; i < f->n; i++)
                if (f->inside[f->nodes[i].parent]) {
                        f->inside[i] = true;
                        f->depth[i] = f->depth[f->nodes[i].parent] + 1;
                }
        for (size_t i = 0; i < f->n; i++)
                f->killable[i] = f->skip[i] ? 0 : f->nodes[i].n_procs;
        for (size_t i = f->n - 1; i > 0; i--)
                f->killable[f->nodes[i].parent] += f->killable[i];

        /* Below a higher priority in use: some sibling on the way down from
         * the root has a strictly higher priority and usage (plan.c
         * kill_walk). Parents come before children, so one pass does. */
        memset(f->below, 0, sizeof(f->below));
        for (size_t i = f->root + 1; i < f->n; i++) {
                if (!f->inside[i])
                        continue;
                size_t p = f->nodes[i].parent;
                bool b = f->below[p];
                for (size_t k = f->child_start[p]; k < f->child_start[p + 1] && !b; k++) {
                        const EmuNode *s = &f->nodes[f->children[k]];
                        b = s->usage > 0 && s->priority > f->nodes[i].priority;
                }
                f->below[i] = b;
        }
        for (size_t i = 0; i < f->n; i++)
                f->victims[i] = f->inside[i] && f->below[i] && !f->skip[i] ? f->nodes[i].n_procs : 0;
        for (size_t i = f->n - 1; i > 0; i--)
                f->victims[f->nodes[i].parent] += f->victims[i];
}

/* The tree memqosd reads: rooted at the cgroup under pressure. */
static EmuTree *fuzz_tree(Fuzz *f) {
        EmuTree *t = NULL;
        check(emu_tree_new_array(f->nodes, f->n, f->skip, f->root, &t) == 0, "a tree is made");
        return t;
}

static bool too_deep(const Fuzz *f) {
        for (size_t i = f->root; i < f->n; i++)
                if (f->inside[i] && f->depth[i] > EMU_TREE_DEPTH_MAX)
                        return true;
        return false;
}

static void check_kill(Fuzz *f) {
        EmuTree *t = fuzz_tree(f);
        int r = emu_tree_kill_pick(t);
        size_t leaf = r >= 0 ? emu_tree_array_index(t, (size_t) r) : SIZE_MAX;
        int s = emu_tree_kill_spared(t);
        size_t spared = s >= 0 ? emu_tree_array_index(t, (size_t) s) : SIZE_MAX;
        emu_tree_free(t);

        if (r == -E2BIG) {
                check(too_deep(f), "-E2BIG only for a subtree too deep");
                return;
        }
        if (r == -ESRCH) {
                check(f->victims[f->root] == 0, "nothing found only when nothing below a higher priority is killable");
                check((s >= 0) == (f->killable[f->root] > 0),
                      "a killable cgroup passed by is named exactly when one exists");
                if (s >= 0)
                        check(f->inside[spared] && !f->below[spared] && f->nodes[spared].n_procs > 0 &&
                                      !f->skip[spared],
                              "the cgroup passed by is killable and of the highest priority in use");
                return;
        }
        check(r >= 0, "the kill answers a node, -ESRCH or -E2BIG");
        check(f->inside[leaf], "the victim is inside the subtree under pressure");
        check(f->nodes[leaf].n_procs > 0 && !f->skip[leaf], "the victim has processes and was not tried");
        check(f->below[leaf], "the victim is below a higher priority in use");
        for (size_t k = f->child_start[leaf]; k < f->child_start[leaf + 1]; k++)
                check(f->killable[f->children[k]] == 0, "nothing killable below the victim");

        /* At each level on the way down, the branch taken is the lowest
         * priority among the siblings with a victim in them. */
        for (size_t v = leaf; v != f->root; v = f->nodes[v].parent) {
                size_t p = f->nodes[v].parent;
                for (size_t k = f->child_start[p]; k < f->child_start[p + 1]; k++) {
                        const EmuNode *c = &f->nodes[f->children[k]], *b = &f->nodes[v];
                        if (f->victims[f->children[k]] == 0)
                                continue;
                        check(b->priority <= c->priority,
                              "no lower-priority sibling with a victim in it is passed by");
                        check(b->priority < c->priority || b->usage >= c->usage,
                              "among equal priorities the larger usage dies first");
                }
        }

        if (f->root == 0) {
                int a = emu_kill_pick_node(f->nodes, f->n, f->skip);
                check(too_deep(f) || a == (int) leaf, "the array API agrees with the tree");
        }
}

static int plan(Fuzz *f, uint64_t need, bool swap, EmuReclaimStep *steps, uint64_t *planned) {
        EmuTree *t = fuzz_tree(f);
        int k = emu_tree_reclaim_plan(t, need, swap, steps, f->n, planned);
        for (int i = 0; i < k; i++)
                steps[i].node = emu_tree_array_index(t, steps[i].node);
        emu_tree_free(t);
        return k;
}

static void check_reclaim(Fuzz *f, uint64_t need, bool swap) {
        static EmuReclaimStep steps[NODES_MAX], all[NODES_MAX];
        static uint64_t given[NODES_MAX], most[NODES_MAX];
        static bool seen[NODES_MAX];
        uint64_t planned = 0, planned_all = 0, sum = 0;

        /* As many steps as nodes: never cut short by the step count. */
        int k = plan(f, need, swap, steps, &planned);
        if (k == -E2BIG) {
                check(too_deep(f), "-E2BIG only for a subtree too deep");
                return;
        }
        check(k >= 0, "a plan");
        /* Everything asked reads deeper than a small need may have. */
        int k_all = plan(f, UINT64_MAX, swap, all, &planned_all);
        if (k_all == -E2BIG) {
                check(too_deep(f), "-E2BIG only for a subtree too deep");
                return;
        }
        check(k_all >= 0, "a plan of everything");

        memset(given, 0, sizeof(uint64_t) * f->n);
        memset(most, 0, sizeof(uint64_t) * f->n);
        memset(seen, 0, sizeof(bool) * f->n);
        for (int i = 0; i < k_all; i++)
                for (size_t v = all[i].node; v != EMU_NO_PARENT; v = f->nodes[v].parent)
                        most[v] += all[i].bytes;
        for (int i = 0; i < k; i++) {
                size_t s = steps[i].node;
                check(f->inside[s], "reclaim only inside the subtree under pressure");
                check(steps[i].bytes > 0, "no empty step");
                sum += steps[i].bytes;
                check(!seen[s], "each cgroup planned once");
                seen[s] = true;
                for (size_t v = s; v != EMU_NO_PARENT; v = f->nodes[v].parent)
                        given[v] += steps[i].bytes;
        }
        check(sum == planned, "the steps add up to what is planned");
        check(planned <= need, "no more than asked");
        for (size_t v = f->root; v < f->n; v++) {
                if (!f->inside[v])
                        continue;
                uint64_t rec = f->nodes[v].file + (swap ? f->nodes[v].anon : 0);
                uint64_t keep = f->nodes[v].usage > f->nodes[v].protection ? f->nodes[v].usage - f->nodes[v].protection : 0;
                check(given[v] <= rec && given[v] <= keep, "no subtree gives more than it can above its floor");
        }

        /* Siblings in priority order: under each cgroup the branches the
         * steps go to never fall in priority, and its own pages come after
         * every step below it. */
        static unsigned last_priority[NODES_MAX];
        static bool own_taken[NODES_MAX];
        static int top_priority[NODES_MAX];
        memset(last_priority, 0, sizeof(unsigned) * f->n);
        memset(own_taken, 0, sizeof(bool) * f->n);
        for (int i = 0; i < k; i++) {
                size_t s = steps[i].node;
                own_taken[s] = true;
                for (size_t b = s; b != f->root; b = f->nodes[b].parent) {
                        size_t top = f->nodes[b].parent;
                        check(!own_taken[top], "a cgroup's own pages come after its children's");
                        check(f->nodes[b].priority >= last_priority[top], "siblings give in priority order");
                        last_priority[top] = f->nodes[b].priority;
                }
        }

        /* A higher priority gives only once every lower sibling gave all it
         * can (what it gives when everything is asked). */
        for (size_t v = 0; v < f->n; v++)
                top_priority[v] = -1;
        for (size_t v = f->root + 1; v < f->n; v++)
                if (f->inside[v] && given[v] > 0 && (int) f->nodes[v].priority > top_priority[f->nodes[v].parent])
                        top_priority[f->nodes[v].parent] = (int) f->nodes[v].priority;
        for (size_t v = f->root + 1; v < f->n; v++)
                if (f->inside[v] && (int) f->nodes[v].priority < top_priority[f->nodes[v].parent])
                        check(given[v] == most[v], "a higher priority gives only once every lower sibling gave all");
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static Fuzz f;
        if (size < HEADER)
                return 0;
        decode(&f, data, size);
        check_kill(&f);
        check_reclaim(&f, ((uint64_t) data[2] << 8 | data[3]) * MB / 16, data[1] & 1);
        return 0;
}
