/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decisions of memqosd's own reclaim and kill (src/emulate/plan.c), the
 * v1 squeeze records (src/emulate/squeeze.c), memory.stat parsing and the
 * backend choice of memqos.conf. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"
#include "cgroup/memcg.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "emulate/emulator.h"
#include "emulate/plan.h"
#include "emu-tree-fixture.h"
#include "emulate/squeeze.h"

#define PAGE_4K UINT64_C(4096)
#define PAGE_64K UINT64_C(65536)


static void test_plan_lowest_priority_first(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* 40M: all from offline/b (priority 1 below offline's priority 1 slice). */
        int k = emu_reclaim_plan(n, 5, 40 * M, false, s, 8, &planned);
        assert_int_equal(k, 1);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 40 * M);
        assert_int_equal(planned, 40 * M);
}

static void test_plan_spills_in_order(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* 150M: b's 50M, a's 70M (offline's subtree, lower first), then online's 30M. */
        int k = emu_reclaim_plan(n, 5, 150 * M, false, s, 8, &planned);
        assert_int_equal(k, 3);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 50 * M);
        assert_int_equal(s[1].node, 3);
        assert_int_equal(s[1].bytes, 70 * M);
        assert_int_equal(s[2].node, 1);
        assert_int_equal(s[2].bytes, 30 * M);
        assert_int_equal(planned, 150 * M);
}

static void test_plan_no_anon_without_swap(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* More than all page cache: stops at the 180M of cache. */
        int k = emu_reclaim_plan(n, 5, 250 * M, false, s, 8, &planned);
        assert_int_equal(k, 3);
        assert_int_equal(planned, 180 * M);
        for (int i = 0; i < k; i++)
                assert_true(s[i].bytes <= n[s[i].node].file);
}

static void test_plan_swap_takes_low_anon_before_high_cache(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* With swap the whole offline subtree (200M) goes before online. */
        int k = emu_reclaim_plan(n, 5, 210 * M, true, s, 8, &planned);
        assert_int_equal(k, 3);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 90 * M);
        assert_int_equal(s[1].node, 3);
        assert_int_equal(s[1].bytes, 110 * M);
        assert_int_equal(s[2].node, 1);
        assert_int_equal(s[2].bytes, 10 * M);
        assert_int_equal(planned, 210 * M);
}

static void test_plan_protection(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* offline/b may keep 80M of its 90M: it gives 10M, not 50M. */
        n[4].protection = 80 * M;
        int k = emu_reclaim_plan(n, 5, 40 * M, false, s, 8, &planned);
        assert_int_equal(k, 2);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 10 * M);
        assert_int_equal(s[1].node, 3);
        assert_int_equal(s[1].bytes, 30 * M);

        /* A protected root gives nothing at all. */
        tree(n);
        n[0].protection = 300 * M;
        k = emu_reclaim_plan(n, 5, 40 * M, false, s, 8, &planned);
        assert_int_equal(k, 0);
        assert_int_equal(planned, 0);
}

static void test_plan_own_pages_last(void **state) {
        EmuNode n[2] = {
                { .cgroup = "/p", .parent = EMU_NO_PARENT, .usage = 100 * M, .file = 60 * M },
                { .cgroup = "/p/c", .parent = 0, .usage = 30 * M, .file = 20 * M },
        };
        EmuReclaimStep s[4];
        uint64_t planned;

        /* The child's 20M first, then 20M of the 40M charged to /p itself. */
        int k = emu_reclaim_plan(n, 2, 40 * M, false, s, 4, &planned);
        assert_int_equal(k, 2);
        assert_int_equal(s[0].node, 1);
        assert_int_equal(s[0].bytes, 20 * M);
        assert_int_equal(s[1].node, 0);
        assert_int_equal(s[1].bytes, 20 * M);
}

static void test_plan_ties_most_cache_first(void **state) {
        EmuNode n[3] = {
                { .parent = EMU_NO_PARENT, .usage = 100 * M, .file = 60 * M },
                { .parent = 0, .priority = 3, .usage = 30 * M, .file = 10 * M },
                { .parent = 0, .priority = 3, .usage = 30 * M, .file = 50 * M },
        };
        EmuReclaimStep s[4];
        uint64_t planned;

        int k = emu_reclaim_plan(n, 3, 55 * M, false, s, 4, &planned);
        assert_int_equal(k, 2);
        assert_int_equal(s[0].node, 2);
        assert_int_equal(s[1].node, 1);
}

static void test_plan_malformed(void **state) {
        EmuNode n[2] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 1 }, /* its own parent */
        };
        EmuReclaimStep s[4];
        assert_int_equal(emu_reclaim_plan(n, 2, M, false, s, 4, NULL), -EINVAL);
        assert_int_equal(emu_reclaim_plan(n, 0, M, false, s, 4, NULL), -EINVAL);
        n[0].parent = 0;
        assert_int_equal(emu_kill_pick_node(n, 1, NULL), -EINVAL);
}

static void test_reclaim_target(void **state) {
        assert_int_equal(emu_reclaim_target(100 * M, 120 * M, 110 * M, PAGE_4K), 0);
        assert_int_equal(emu_reclaim_target(120 * M, 120 * M, 110 * M, PAGE_4K), 10 * M);
        assert_int_equal(emu_reclaim_target(130 * M + 1, 120 * M, 110 * M, PAGE_4K), 20 * M + 4096);
        assert_int_equal(emu_reclaim_target(130 * M, UINT64_MAX, UINT64_MAX, PAGE_4K), 0);
}

static void test_squeeze_limit(void **state) {
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 0, PAGE_4K), 84 * M);
        /* Never below the floor (what the child cannot give). */
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 90 * M, PAGE_4K), 90 * M);
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 100 * M, PAGE_4K), 0);
        assert_int_equal(emu_squeeze_limit(100 * M, 0, 0, PAGE_4K), 0);
        /* Page aligned, downwards. */
        assert_int_equal(emu_squeeze_limit(100 * M + 100, 16 * M, 0, PAGE_4K) % 4096, 0);
        assert_int_equal(emu_squeeze_limit(10 * M, 16 * M, 0, PAGE_4K), 0); /* nothing left above 0 */
}

/* A kernel with 64 KiB pages (arm64, ppc64le) keeps a limit in 64 KiB
 * pages: the squeezed limit must be one it reads back unchanged. */
static void test_squeeze_limit_in_64k_pages(void **state) {
        uint64_t l = emu_squeeze_limit(100 * M + 100, 16 * M - 3 * PAGE_4K, 0, PAGE_64K);
        assert_int_equal(l % PAGE_64K, 0);
        assert_int_equal(l, 84 * M);
        /* 100M + 5 pages of 4K, taking 3 of them: down to the 64K page below. */
        assert_int_equal(emu_squeeze_limit(100 * M + 5 * PAGE_4K, 3 * PAGE_4K, 0, PAGE_64K), 100 * M);
        /* The floor rounds down too: still a value the kernel keeps. */
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 90 * M + PAGE_4K, PAGE_64K), 90 * M);
        assert_int_equal(emu_reclaim_target(130 * M + 1, 120 * M, 110 * M, PAGE_64K), 20 * M + PAGE_64K);
        assert_int_equal(emu_kill_watermark(1000 * PAGE_64K + PAGE_4K, 100, PAGE_64K), 1000 * PAGE_64K);
}

static void test_kill_watermark_and_need(void **state) {
        assert_int_equal(emu_kill_watermark(1000 * 4096, 95, PAGE_4K), 950 * 4096);
        assert_true(emu_kill_watermark(UINT64_MAX, 95, PAGE_4K) == UINT64_MAX);
        assert_true(emu_kill_watermark(100 * M, 0, PAGE_4K) == UINT64_MAX);
        /* No overflow near the top. */
        assert_true(emu_kill_watermark(UINT64_MAX - 1, 100, PAGE_4K) <= UINT64_MAX - 1);

        uint64_t kw = 95 * M;
        assert_false(emu_kill_needed(100 * M, 10 * M, 90 * M, false, kw)); /* 90M unreclaimable */
        assert_true(emu_kill_needed(100 * M, 5 * M, 95 * M, false, kw));
        assert_false(emu_kill_needed(100 * M, 5 * M, 95 * M, true, kw)); /* with swap anon gives too */
        assert_false(emu_kill_needed(100 * M, 0, 100 * M, false, UINT64_MAX));
}

static void test_kill_walk(void **state) {
        EmuNode n[5];
        tree(n);
        n[1].n_procs = 1;
        n[3].n_procs = 1;
        n[4].n_procs = 2;

        /* Lowest child of the root is offline (1), inside it b (1) below a (2). */
        assert_int_equal(emu_kill_pick_node(n, 5, NULL), 4);

        /* b tried and found empty: a, still inside offline, below online. */
        bool skip[5] = { [4] = true };
        assert_int_equal(emu_kill_pick_node(n, 5, skip), 3);

        /* Nothing killable left in offline: online (10) is the highest
         * priority in use, with nobody above it to protect: no pre-emptive
         * kill, the kernel decides at the limit. */
        skip[3] = true;
        assert_int_equal(emu_kill_pick_node(n, 5, skip), -ESRCH);
        skip[1] = true;
        assert_int_equal(emu_kill_pick_node(n, 5, skip), -ESRCH);
}

/* The pre-emptive kill takes a leaf only below a higher priority in use. */
static void test_kill_walk_spares_the_highest_priority_in_use(void **state) {
        EmuNode n[5];
        tree(n);
        n[1].n_procs = 1;
        EmuTree *t = NULL;

        /* Only online has processes: it is passed by, and said so. */
        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        assert_int_equal(emu_tree_kill_pick(t), -ESRCH);
        assert_int_equal(emu_tree_array_index(t, (size_t) emu_tree_kill_spared(t)), 1);
        emu_tree_free(t);

        /* A higher sibling that holds no memory protects nothing: offline/b
         * alone in use under the root is the top too. */
        tree(n);
        n[1].usage = 0;
        n[4].n_procs = 1;
        n[3].usage = 0;
        n[2].usage = n[4].usage;
        assert_int_equal(emu_kill_pick_node(n, 5, NULL), -ESRCH);

        /* But one level down is enough: b (1) below a (2) in use, although
         * offline is the only child of the root in use. */
        n[3].usage = 110 * M;
        n[2].usage = 200 * M;
        assert_int_equal(emu_kill_pick_node(n, 5, NULL), 4);

        /* A victim found: nothing spared. */
        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        assert_int_equal(emu_tree_array_index(t, (size_t) emu_tree_kill_pick(t)), 4);
        assert_int_equal(emu_tree_kill_spared(t), -ESRCH);
        emu_tree_free(t);
}

static void test_kill_walk_hierarchy_beats_leaf_priority(void **state) {
        /* The kernel ABI: offline (1) / x (priority 9) dies before online (5) / y
         * (priority 0): priorities compare siblings only. */
        EmuNode n[5] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 0, .priority = 5, .usage = 10 * M },
                { .parent = 0, .priority = 1, .usage = 10 * M },
                { .parent = 1, .priority = 0, .n_procs = 1, .usage = 10 * M },
                { .parent = 2, .priority = 9, .n_procs = 1, .usage = 10 * M },
        };
        assert_int_equal(emu_kill_pick_node(n, 5, NULL), 4);
}

static void test_kill_walk_ties_by_usage(void **state) {
        /* Two of priority 1 below online (10): the larger first. Equals
         * alone are the highest in use: neither is killed pre-emptively. */
        EmuNode n[4] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 0, .priority = 1, .usage = 10 * M, .n_procs = 1 },
                { .parent = 0, .priority = 1, .usage = 20 * M, .n_procs = 1 },
                { .parent = 0, .priority = 10, .usage = 5 * M, .n_procs = 1 },
        };
        assert_int_equal(emu_kill_pick_node(n, 4, NULL), 2);
        assert_int_equal(emu_kill_pick_node(n, 3, NULL), -ESRCH);
}

static void test_kill_walk_inner_processes(void **state) {
        /* Processes in an inner cgroup whose children have none: the inner
         * one (below online, priority 10). */
        EmuNode n[4] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 0, .priority = 1, .n_procs = 3, .usage = 10 * M },
                { .parent = 1, .priority = 0 },
                { .parent = 0, .priority = 10, .usage = 10 * M },
        };
        assert_int_equal(emu_kill_pick_node(n, 4, NULL), 1);
}

/* The issue #11 tree: parent / offline (1) / batch / job holds the only
 * offline process, beside 600 empty cgroups in offline; online (10) holds
 * the other. Breadth first, the job comes after 600 nodes. */
#define WIDE_EMPTY 600
#define WIDE_N (WIDE_EMPTY + 5)
static void wide_tree(EmuNode n[WIDE_N]) {
        n[0] = (EmuNode) { .parent = EMU_NO_PARENT, .usage = 300 * M, .file = 30 * M };
        n[1] = (EmuNode) { .parent = 0, .priority = 10, .usage = 100 * M, .file = 20 * M, .n_procs = 1 };
        n[2] = (EmuNode) { .parent = 0, .priority = 1, .usage = 200 * M, .file = 10 * M };
        for (size_t i = 3; i < 3 + WIDE_EMPTY; i++)
                n[i] = (EmuNode) { .parent = 2 }; /* no rule: priority 0, nothing in it */
        n[WIDE_N - 2] = (EmuNode) { .parent = 2, .priority = 1, .usage = 200 * M, .file = 10 * M };
        n[WIDE_N - 1] = (EmuNode) { .parent = WIDE_N - 2, .usage = 200 * M, .file = 10 * M, .n_procs = 1 };
}

static void test_kill_walk_600_empty_siblings_victim_from_priority_1(void **state) {
        EmuNode n[WIDE_N];
        wide_tree(n);
        assert_int_equal(emu_kill_pick_node(n, WIDE_N, NULL), WIDE_N - 1);
}

static void test_plan_600_empty_siblings_low_branch_gives_first(void **state) {
        EmuNode n[WIDE_N];
        EmuReclaimStep s[8];
        uint64_t planned = 0;
        wide_tree(n);
        int k = emu_reclaim_plan(n, WIDE_N, 8 * M, false, s, 8, &planned);
        assert_int_equal(k, 1);
        assert_int_equal(s[0].node, WIDE_N - 1);
        assert_int_equal(planned, 8 * M);
}

/* A synthetic subtree read through the lazy tree: FANOUT children per node
 * down to DEPTH levels, processes only in the leaves; child j has priority
 * (j + 3) % 13, so child 10 is the lowest (0) at every level. */
#define GEN_FANOUT 20
#define GEN_DEPTH 3
typedef struct Gen {
        unsigned expands;
} Gen;

static int gen_expand(EmuTree *t, size_t node, void *userdata) {
        Gen *g = userdata;
        char parent[64], child[80];
        g->expands++;
        snprintf(parent, sizeof(parent), "%s", emu_tree_node(t, node)->cgroup);
        size_t depth = 0;
        for (const char *p = parent; *p; p++)
                depth += *p == '/';
        if (streq(parent, "/"))
                depth = 0;
        if (depth >= GEN_DEPTH)
                return 0;
        for (unsigned j = 0; j < GEN_FANOUT; j++) {
                snprintf(child, sizeof(child), "%s/%u", depth == 0 ? "" : parent, j);
                EmuNode c = {
                        .cgroup = child,
                        .priority = (j + 3) % 13,
                        .usage = (j + 1) * M,
                        .file = (j + 1) * M / 2,
                        .n_procs = depth + 1 == GEN_DEPTH,
                };
                int r = emu_tree_add_child(t, node, &c);
                if (r < 0)
                        return r;
        }
        return 0;
}

static EmuTree *gen_tree(Gen *g, size_t max_nodes) {
        EmuTree *t = NULL;
        EmuNode root = { .cgroup = "/", .usage = 100 * M, .file = 50 * M };
        assert_int_equal(emu_tree_new(&root, gen_expand, g, max_nodes, &t), 0);
        return t;
}

static void test_tree_kill_reads_only_the_path_down(void **state) {
        Gen g = {};
        EmuTree *t = gen_tree(&g, 0);
        int leaf = emu_tree_kill_pick(t);
        assert_true(leaf > 0);
        assert_string_equal(emu_tree_node(t, leaf)->cgroup, "/10/10/10");
        /* 8,420 cgroups below the root; read: the root's, the chosen child's
         * and grandchild's children, and the leaf found to have none. */
        assert_int_equal(g.expands, 4);
        assert_int_equal(emu_tree_size(t), 1 + 3 * GEN_FANOUT);

        /* The leaf tried and empty: its lowest sibling next (priority 1, j 11). */
        emu_tree_skip(t, leaf);
        leaf = emu_tree_kill_pick(t);
        assert_string_equal(emu_tree_node(t, leaf)->cgroup, "/10/10/11");
        emu_tree_free(t);
}

static void test_tree_too_large_is_e2big_not_a_wrong_answer(void **state) {
        Gen g = {};
        EmuReclaimStep s[4];

        /* Room for two levels, not for the leaves: no victim at all. */
        EmuTree *t = gen_tree(&g, 1 + 2 * GEN_FANOUT);
        assert_int_equal(emu_tree_kill_pick(t), -E2BIG);
        emu_tree_free(t);

        t = gen_tree(&g, 1 + 2 * GEN_FANOUT);
        assert_int_equal(emu_tree_reclaim_plan(t, 4 * M, false, s, 4, NULL), -E2BIG);
        emu_tree_free(t);
}

static void test_tree_reclaim_reads_only_the_branches_it_takes_from(void **state) {
        Gen g = {};
        EmuTree *t = gen_tree(&g, 0);
        EmuReclaimStep s[4];
        uint64_t planned = 0;

        /* /10 has 5.5M of cache, /10/10 too (the generator's numbers are not
         * hierarchical): 4M all from /10/10/10, the lowest leaf. */
        assert_int_equal(emu_tree_reclaim_plan(t, 4 * M, false, s, 4, &planned), 1);
        assert_string_equal(emu_tree_node(t, s[0].node)->cgroup, "/10/10/10");
        assert_int_equal(planned, 4 * M);
        assert_int_equal(g.expands, 4);
        emu_tree_free(t);
}

static void test_victim_confirmed_only_alive_and_still_in_the_leaf(void **state) {
        pid_t now[] = { 100, 200, 300 };
        assert_true(emu_kill_victim_confirmed(200, now, 3, true));
        /* Died after pidfd_open (its pid may be another process's by now). */
        assert_false(emu_kill_victim_confirmed(200, now, 3, false));
        /* Left the leaf, or died and its pid went to a process elsewhere. */
        assert_false(emu_kill_victim_confirmed(400, now, 3, true));
        assert_false(emu_kill_victim_confirmed(200, NULL, 0, true));
        assert_false(emu_kill_victim_confirmed(0, now, 3, true));
}

static void test_kill_pick_process(void **state) {
        EmuProc p[4] = {
                { .pid = 100, .rss = 50 * M, .oom_score_adj = 0 },
                { .pid = 101, .rss = 80 * M, .oom_score_adj = -1000 }, /* never */
                { .pid = 102, .rss = 60 * M, .oom_score_adj = 0 },
                { .pid = 103, .rss = 90 * M, .oom_score_adj = 0 },     /* memqosd itself */
        };
        assert_int_equal(emu_kill_pick_process(p, 4, 1000 * M, 103), 2);
        /* oom_score_adj counts as in the kernel: +500 of 1000M is 500M more. */
        p[0].oom_score_adj = 500;
        assert_int_equal(emu_kill_pick_process(p, 4, 1000 * M, 103), 0);
        /* pid 1 and nothing else: none. */
        EmuProc q[2] = { { .pid = 1, .rss = M }, { .pid = 7, .rss = M, .oom_score_adj = -1000 } };
        assert_int_equal(emu_kill_pick_process(q, 2, 1000 * M, 99), -ESRCH);
        assert_int_equal(emu_kill_pick_process(q, 0, 1000 * M, 99), -ESRCH);
}

static void test_parse_stat(void **state) {
        MemcgStat st;
        const char *v1 = "cache 100\nrss 50\ninactive_file 10\nactive_file 20\n"
                         "total_cache 1000\ntotal_rss 500\ntotal_shmem 30\ntotal_inactive_file 300\n"
                         "total_active_file 400\ndirty 9\ntotal_dirty 60\ntotal_writeback 5\n";
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V1, v1, &st), 0);
        assert_int_equal(st.file, 700);
        assert_int_equal(st.anon, 530);
        assert_int_equal(st.dirty, 65); /* hierarchical, dirty and writeback */

        const char *v2 = "anon 4096\nfile 8192\nshmem 100\ninactive_file 2000\nactive_file 3000\n"
                         "workingset_refault_anon 7\nfile_dirty 300\nfile_writeback 20\n";
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, v2, &st), 0);
        assert_int_equal(st.file, 5000);
        assert_int_equal(st.anon, 4196);
        assert_int_equal(st.dirty, 320);

        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "anon\n", &st), -EINVAL);
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "anon x\n", &st), -EINVAL);
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "", &st), 0);
        assert_int_equal(st.file, 0);
}

static void test_parse_stat_sums_saturate(void **state) {
        /* Found by fuzz-memcg: values at the page-counter maximum read as
         * MEMCG_UNLIMITED, and two of them (or one and any other) wrapped
         * the sum to almost nothing: "nothing to reclaim" or "no anon". */
        MemcgStat st;

        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "inactive_file 9223372036854771712\nactive_file 1\n", &st), 0);
        assert_true(st.file == UINT64_MAX);
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V1, "total_rss 18446744073709551615\ntotal_shmem 4096\n", &st), 0);
        assert_true(st.anon == UINT64_MAX);
}

/* A pass's bytes are what its steps took. Seen in the guest: online
 * unmapped a 32 MB block during a 64 KB step, and the unit's usage fall
 * over the pass (28-55 MB in ten runs, 517 MiB once on v2) was reported as
 * reclaimed. */
static void test_reclaim_bytes_are_what_the_steps_took(void **state) {
        EmulatorReclaimStep steps[] = {
                { .cgroup = "/p/offline", .priority = 1, .bytes = 48 * 1024 },
                { .cgroup = "/p/online", .priority = 10, .bytes = 16 * 1024 },
        };
        EmulatorReclaim ev = { .cgroup = "/p", .usage_before = 900 * M, .usage_after = 868 * M,
                               .steps = steps, .n_taken = 2 };
        assert_int_equal(emulator_reclaim_bytes(&ev), 64 * 1024);
        ev.usage_after = 901 * M; /* the workload charged more than was taken */
        assert_int_equal(emulator_reclaim_bytes(&ev), 64 * 1024);
        ev.n_taken = 0;
        assert_int_equal(emulator_reclaim_bytes(&ev), 0);
}

static void test_squeeze_record(void **state) {
        SqueezeRecord r = { .cgroup = (char *) "/p/offline", .limit = UINT64_MAX, .squeezed = 84 * M };
        _cleanup_free_ char *text = NULL;
        SqueezeRecord back = {};

        assert_int_equal(squeeze_record_format(&r, &text), 0);
        assert_string_equal(text, "CGROUP=/p/offline\nLIMIT=max\nSQUEEZED=88080384\n");
        assert_int_equal(squeeze_record_parse(text, &back), 0);
        assert_string_equal(back.cgroup, "/p/offline");
        assert_true(back.limit == UINT64_MAX);
        assert_int_equal(back.squeezed, 84 * M);
        squeeze_record_done(&back);

        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=5\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/p/../x\nLIMIT=5\nSQUEEZED=4\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/\nLIMIT=5\nSQUEEZED=4\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=-1\nSQUEEZED=4\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("garbage", &back), -EINVAL);

        /* A v2 hold names its file; a moved hold its previous value. Any
         * other file is refused: a planted record must not make memqosd
         * write memory.oom.group or cgroup.procs. */
        _cleanup_free_ char *v2 = NULL;
        r = (SqueezeRecord) { .cgroup = (char *) "/p/offline", .limit = UINT64_MAX, .squeezed = 84 * M,
                              .previous = 90 * M, .file = SQUEEZE_FILE_V2_HIGH };
        assert_int_equal(squeeze_record_format(&r, &v2), 0);
        assert_string_equal(v2, "CGROUP=/p/offline\nLIMIT=max\nSQUEEZED=88080384\nPREVIOUS=94371840\nFILE=memory.high\n");
        assert_int_equal(squeeze_record_parse(v2, &back), 0);
        assert_string_equal(back.file, SQUEEZE_FILE_V2_HIGH);
        assert_int_equal(back.previous, 90 * M);
        squeeze_record_done(&back);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=max\nSQUEEZED=4096\nFILE=memory.limit_in_bytes\n", &back), 0);
        assert_null(back.file);
        squeeze_record_done(&back);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=max\nSQUEEZED=4096\nFILE=cgroup.procs\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=max\nSQUEEZED=4096\nFILE=../x\n", &back), -EINVAL);

        /* A v1 hold that disabled the kernel's OOM kill says so, to enable
         * it again after a crash; only 0 and 1, and never on a v2 hold. */
        _cleanup_free_ char *kill = NULL;
        r = (SqueezeRecord) { .cgroup = (char *) "/p/offline", .limit = UINT64_MAX, .squeezed = 84 * M,
                              .oom_kill_disabled = true };
        assert_int_equal(squeeze_record_format(&r, &kill), 0);
        assert_string_equal(kill, "CGROUP=/p/offline\nLIMIT=max\nSQUEEZED=88080384\nOOM_KILL_DISABLED=1\n");
        assert_int_equal(squeeze_record_parse(kill, &back), 0);
        assert_true(back.oom_kill_disabled);
        assert_true(squeeze_record_plausible(&back));
        squeeze_record_done(&back);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=max\nSQUEEZED=4096\nOOM_KILL_DISABLED=2\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=max\nSQUEEZED=4096\nOOM_KILL_DISABLED=0\n", &back), 0);
        assert_false(back.oom_kill_disabled);
        squeeze_record_done(&back);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=max\nSQUEEZED=4096\nFILE=memory.high\nOOM_KILL_DISABLED=1\n",
                                              &back), 0);
        assert_false(squeeze_record_plausible(&back));
        squeeze_record_done(&back);
}

static void test_squeeze_record_plausible_only_when_it_lowers(void **state) {
        SqueezeRecord r = { .cgroup = (char *) "/p/g", .limit = 1024 * M, .squeezed = 84 * M };
        assert_true(squeeze_record_plausible(&r));
        r.limit = UINT64_MAX; /* no limit before: still lowered */
        assert_true(squeeze_record_plausible(&r));
        /* What was planted to make memqosd set a 1G limit to 400K. */
        r = (SqueezeRecord) { .cgroup = (char *) "/p/g", .limit = 400 * 1024, .squeezed = 1024 * M };
        assert_false(squeeze_record_plausible(&r));
        assert_int_equal(squeeze_record_verdict(&r, 1024 * M, PAGE_4K), -EINVAL);
        r = (SqueezeRecord) { .cgroup = (char *) "/p/g", .limit = 84 * M, .squeezed = 84 * M };
        assert_false(squeeze_record_plausible(&r)); /* not lowered */
        r.squeezed = 0;
        assert_false(squeeze_record_plausible(&r)); /* memqosd never squeezes to 0 */
        r.squeezed = 4097;
        assert_false(squeeze_record_plausible(&r)); /* not whole pages of any kernel */
        r.squeezed = UINT64_MAX;
        assert_false(squeeze_record_plausible(&r));
}

static void test_squeeze_verdict(void **state) {
        SqueezeRecord r = { .cgroup = (char *) "/p/g", .limit = 1024 * M, .squeezed = 84 * M };
        assert_int_equal(squeeze_record_verdict(&r, 84 * M, PAGE_4K), SQUEEZE_PUT_BACK);
        assert_int_equal(squeeze_record_verdict(&r, 1024 * M, PAGE_4K), SQUEEZE_NOT_SQUEEZED);
        assert_int_equal(squeeze_record_verdict(&r, 300 * M, PAGE_4K), SQUEEZE_CHANGED);
        assert_int_equal(squeeze_record_verdict(&r, 84 * M, 1000), -EINVAL); /* not a page size */
        r.limit = UINT64_MAX;
        assert_int_equal(squeeze_record_verdict(&r, UINT64_MAX, PAGE_4K), SQUEEZE_NOT_SQUEEZED);
        assert_int_equal(squeeze_record_verdict(&r, 84 * M, PAGE_4K), SQUEEZE_PUT_BACK);
}

/* A record of 4K pages (an older memqosd) on a kernel of 64K pages: the
 * kernel kept the squeeze rounded down, and that is still ours to put back. */
static void test_squeeze_verdict_in_64k_pages(void **state) {
        SqueezeRecord r = { .cgroup = (char *) "/p/g", .limit = 1024 * M, .squeezed = 84 * M + PAGE_4K };
        assert_int_equal(squeeze_record_verdict(&r, 84 * M, PAGE_64K), SQUEEZE_PUT_BACK);
        assert_int_equal(squeeze_record_verdict(&r, 84 * M, PAGE_4K), SQUEEZE_CHANGED);
        /* A limit that rounds to the squeezed page is not lowered by a restore. */
        r = (SqueezeRecord) { .cgroup = (char *) "/p/g", .limit = 84 * M + 2 * PAGE_4K, .squeezed = 84 * M + PAGE_4K };
        assert_int_equal(squeeze_record_verdict(&r, 84 * M, PAGE_64K), SQUEEZE_NOT_SQUEEZED);
}

static void test_squeeze_record_names(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        assert_int_equal(squeeze_record_name("/p/x.tmp", &a), 0);
        assert_string_equal(a, "p-x.tmp");
        assert_int_equal(squeeze_record_name("/.hidden", &b), 0);
        assert_true(b[0] != '.'); /* "." names are the temporary ".#" files */
}

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static char *read_text(const char *path) {
        char *text = NULL;
        size_t size;
        assert_int_equal(read_file_full(path, &text, &size), 0);
        return text;
}

typedef struct Fixture {
        char top[64];
        MemcgRoot *root;
        int records_fd;
} Fixture;

/* A fixture tree of plain files (memcg_root_open() takes a directory with
 * memory.limit_in_bytes as v1) with the cgroups given, each at limit 8192000,
 * and an empty records directory; the real cgroupfs is the host tests' part. */
static void fixture_make(Fixture *f, const char *const *cgroups) {
        char path[512];

        snprintf(f->top, sizeof(f->top), "/tmp/memqos-test-squeeze.XXXXXX");
        assert_non_null(mkdtemp(f->top));
        snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", f->top);
        write_text(path, "1000\n");
        for (const char *const *c = cgroups; *c; c++) {
                snprintf(path, sizeof(path), "%s%s", f->top, *c);
                assert_int_equal(mkdir(path, 0755), 0);
                snprintf(path, sizeof(path), "%s%s/memory.limit_in_bytes", f->top, *c);
                write_text(path, "8192000\n");
        }
        snprintf(path, sizeof(path), "%s/records", f->top);
        assert_int_equal(mkdir(path, 0755), 0);
        f->records_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->records_fd >= 0);
        assert_int_equal(memcg_root_open(f->top, &f->root), 0);
}

static void fixture_done(Fixture *f) {
        char cmd[300];
        close(f->records_fd);
        memcg_root_free(f->root);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->top);
        assert_int_equal(system(cmd), 0);
}

static void fixture_write(Fixture *f, const char *rel, const char *text) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", f->top, rel);
        write_text(path, text);
}

static char *fixture_read(Fixture *f, const char *rel) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", f->top, rel);
        return read_text(path);
}

static bool fixture_exists(Fixture *f, const char *rel) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", f->top, rel);
        return access(path, F_OK) == 0;
}

/* The record of cgroup /NAME (NAME's record name is NAME) and its limit as a
 * crash between the writes leaves them: restored, and the record gone. */
static void check_crash_restored(Fixture *f, const char *name) {
        char rel[128], text[256];

        snprintf(rel, sizeof(rel), "records/%s", name);
        snprintf(text, sizeof(text), "CGROUP=/%s\nLIMIT=8192000\nSQUEEZED=4096000\n", name);
        fixture_write(f, rel, text);
        snprintf(rel, sizeof(rel), "%s/memory.limit_in_bytes", name);
        fixture_write(f, rel, "4096000\n");
        assert_int_equal(squeeze_restore_all(f->root, f->records_fd, PAGE_4K, NULL, NULL), 0);
        _cleanup_free_ char *restored = fixture_read(f, rel);
        assert_string_equal(restored, "8192000\n");
        snprintf(rel, sizeof(rel), "records/%s", name);
        assert_false(fixture_exists(f, rel));
}

/* A standing bound: held, moved, squeezed below and back, restored after a
 * crash in the middle of a move, and released to the limit from before. */
static void test_squeeze_hold(void **state) {
        Fixture f;
        uint64_t put_back = 0, old = 0;

        fixture_make(&f, (const char *const[]) { "/job", NULL });
        int fd = memcg_open(f.root, "/job");
        assert_true(fd >= 0);

        assert_int_equal(squeeze_hold(f.records_fd, fd, "/job", NULL, 4096000, PAGE_4K, &put_back), 0);
        assert_int_equal(put_back, 8192000);
        _cleanup_free_ char *held = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(held, "4096000\n");
        _cleanup_free_ char *rec = fixture_read(&f, "records/job");
        assert_string_equal(rec, "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\n");

        /* Moved: the limit to put back is still the one from before. */
        assert_int_equal(squeeze_hold(f.records_fd, fd, "/job", NULL, 6000000 / PAGE_4K * PAGE_4K, PAGE_4K, &put_back), 0);
        assert_int_equal(put_back, 8192000);
        _cleanup_free_ char *rec2 = fixture_read(&f, "records/job");
        assert_string_equal(rec2, "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=5996544\n");

        /* A reclaim squeeze of a held child goes back to the hold, and the
         * hold's record stays as it was. */
        assert_int_equal(squeeze_run(f.records_fd, fd, "/job", 4096000, PAGE_4K, &old), 0);
        assert_int_equal(old, 5996544);
        _cleanup_free_ char *back = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(back, "5996544\n");
        _cleanup_free_ char *rec3 = fixture_read(&f, "records/job");
        assert_string_equal(rec3, "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=5996544\n");

        /* A stop between the record of a move and its write: the limit
         * still reads the previous hold, and the start puts 8192000 back. */
        fixture_write(&f, "records/job", "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\nPREVIOUS=5996544\n");
        assert_int_equal(squeeze_restore_all(f.root, f.records_fd, PAGE_4K, NULL, NULL), 0);
        _cleanup_free_ char *restored = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(restored, "8192000\n");
        assert_false(fixture_exists(&f, "records/job"));

        /* Somebody writes a limit while held: theirs becomes the one to put back. */
        assert_int_equal(squeeze_hold(f.records_fd, fd, "/job", NULL, 4096000, PAGE_4K, &put_back), 0);
        fixture_write(&f, "job/memory.limit_in_bytes", "7000064\n");
        assert_int_equal(squeeze_hold(f.records_fd, fd, "/job", NULL, 4096000, PAGE_4K, &put_back), 0);
        assert_int_equal(put_back, 7000064);
        /* A bound at or above it releases: their limit, no record. */
        assert_int_equal(squeeze_hold(f.records_fd, fd, "/job", NULL, 7000064, PAGE_4K, &put_back), 0);
        _cleanup_free_ char *theirs = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(theirs, "7000064\n");
        assert_false(fixture_exists(&f, "records/job"));

        /* Released explicitly. */
        assert_int_equal(squeeze_hold(f.records_fd, fd, "/job", NULL, 4096000, PAGE_4K, &put_back), 0);
        assert_int_equal(squeeze_release(f.records_fd, fd, "/job", PAGE_4K), 0);
        _cleanup_free_ char *released = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(released, "7000064\n");
        assert_false(fixture_exists(&f, "records/job"));
        assert_int_equal(squeeze_release(f.records_fd, fd, "/job", PAGE_4K), 0); /* none: fine */

        close(fd);
        fixture_done(&f);
}

static void test_squeeze_run_and_restore(void **state) {
        Fixture f;
        uint64_t old = 0;

        fixture_make(&f, (const char *const[]) { "/job", NULL });

        /* A squeeze leaves the old limit and no record behind. */
        int fd = memcg_open(f.root, "/job");
        assert_true(fd >= 0);
        assert_int_equal(squeeze_run(f.records_fd, fd, "/job", 4096000, PAGE_4K, &old), 0);
        assert_int_equal(old, 8192000);
        _cleanup_free_ char *after = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(after, "8192000\n");
        assert_false(fixture_exists(&f, "records/job"));
        assert_false(fixture_exists(&f, "records/.#job"));

        /* A crash between the writes: the record and the squeezed limit stay;
         * restoring puts the old limit back and removes the record. */
        check_crash_restored(&f, "job");

        /* Somebody changed the limit since: theirs stays, the record goes. */
        fixture_write(&f, "records/job", "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\n");
        fixture_write(&f, "job/memory.limit_in_bytes", "5000000\n");
        assert_int_equal(squeeze_restore_all(f.root, f.records_fd, PAGE_4K, NULL, NULL), 0);
        _cleanup_free_ char *theirs = fixture_read(&f, "job/memory.limit_in_bytes");
        assert_string_equal(theirs, "5000000\n");
        assert_false(fixture_exists(&f, "records/job"));

        /* A record for a cgroup that is gone: dropped. A temporary ".#" file
         * of a record never completed: dropped, the squeeze never began. */
        fixture_write(&f, "records/gone", "CGROUP=/gone\nLIMIT=8192\nSQUEEZED=4096\n");
        fixture_write(&f, "records/.#job", "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4");
        assert_int_equal(squeeze_restore_all(f.root, f.records_fd, PAGE_4K, NULL, NULL), 0);
        assert_false(fixture_exists(&f, "records/gone"));
        assert_false(fixture_exists(&f, "records/.#job"));

        close(fd);
        fixture_done(&f);
}

typedef struct Outcome {
        char name[64];
        int result;
} Outcome;

static void record_outcome(const char *name, const SqueezeRecord *r, int result, void *userdata) {
        Outcome *o = userdata;
        for (; o->name[0]; o++)
                ;
        snprintf(o->name, sizeof(o->name), "%s", name);
        o->result = result;
}

static int outcome_of(const Outcome *o, const char *name) {
        for (; o->name[0]; o++)
                if (streq(o->name, name))
                        return o->result;
        return INT_MIN;
}

/* A cgroup called x.tmp is restored like any other: only ".#" files are
 * unfinished records. */
static void test_squeeze_restore_of_a_cgroup_named_tmp(void **state) {
        Fixture f;
        uint64_t old = 0;

        fixture_make(&f, (const char *const[]) { "/x.tmp", NULL });
        check_crash_restored(&f, "x.tmp");

        /* And squeezed and put back by squeeze_run() too. */
        int fd = memcg_open(f.root, "/x.tmp");
        assert_true(fd >= 0);
        assert_int_equal(squeeze_run(f.records_fd, fd, "/x.tmp", 4096000, PAGE_4K, &old), 0);
        _cleanup_free_ char *after = fixture_read(&f, "x.tmp/memory.limit_in_bytes");
        assert_string_equal(after, "8192000\n");
        close(fd);
        fixture_done(&f);
}

/* Records that cannot be acted on are kept, named, and counted: a corrupt
 * one, one that would lower a limit, one named after another cgroup, one
 * whose cgroup lies outside the hierarchy, a symlink. The others are still
 * put back. */
static void test_squeeze_restore_keeps_and_counts_bad_records(void **state) {
        Outcome seen[16] = {};
        Fixture f;
        char path[512];

        fixture_make(&f, (const char *const[]) { "/job", "/g", NULL });
        fixture_write(&f, "records/job", "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\n");
        fixture_write(&f, "job/memory.limit_in_bytes", "4096000\n");
        fixture_write(&f, "records/broken", "nonsense\n");
        fixture_write(&f, "records/g", "CGROUP=/g\nLIMIT=409600\nSQUEEZED=8192000\n");
        fixture_write(&f, "records/other", "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\n");
        fixture_write(&f, "records/escape", "CGROUP=/../escape\nLIMIT=8192000\nSQUEEZED=4096000\n");
        snprintf(path, sizeof(path), "%s/records/link", f.top);
        assert_int_equal(symlink("job", path), 0);

        assert_int_equal(squeeze_restore_all(f.root, f.records_fd, PAGE_4K, record_outcome, seen), 5);
        assert_int_equal(outcome_of(seen, "job"), SQUEEZE_PUT_BACK);
        assert_int_equal(outcome_of(seen, "broken"), -EBADMSG);
        assert_int_equal(outcome_of(seen, "g"), -EINVAL);
        assert_int_equal(outcome_of(seen, "other"), -EINVAL);
        assert_int_equal(outcome_of(seen, "escape"), -EBADMSG);
        assert_int_equal(outcome_of(seen, "link"), -ELOOP);
        _cleanup_free_ char *g = fixture_read(&f, "g/memory.limit_in_bytes");
        assert_string_equal(g, "8192000\n"); /* never lowered */
        assert_false(fixture_exists(&f, "records/job"));
        assert_true(fixture_exists(&f, "records/broken"));
        assert_true(fixture_exists(&f, "records/g"));
        assert_true(fixture_exists(&f, "records/other"));
        assert_true(fixture_exists(&f, "records/escape"));

        /* Still there at the next try, and still counted. */
        memset(seen, 0, sizeof(seen));
        assert_int_equal(squeeze_restore_all(f.root, f.records_fd, PAGE_4K, record_outcome, seen), 5);
        fixture_done(&f);
}

static void test_feature_mode(void **state) {
        FeatureMode f;
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_AUTO, false, true);
        assert_false(f.kernel);
        assert_true(f.emulate);
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_AUTO, true, false);
        assert_true(f.kernel);
        assert_false(f.emulate);
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_AUTO, true, true);
        assert_true(f.kernel);
        assert_true(f.emulate);
        f = config_feature_mode(BACKEND_EMULATE, BACKEND_KERNEL, true, false);
        assert_false(f.kernel);
        assert_true(f.emulate);
        f = config_feature_mode(BACKEND_KERNEL, BACKEND_EMULATE, false, true);
        assert_true(f.kernel);
        assert_false(f.emulate);
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_OFF, true, true);
        assert_false(f.kernel);
        assert_false(f.emulate);
        f = config_feature_mode(BACKEND_OFF, BACKEND_AUTO, true, true);
        assert_false(f.kernel);
        assert_false(f.emulate);
}


/* The dry run (memqosctl kill-order) and the kill share emu_tree_kill_walk():
 * its first leaf is the kill's pick, and each next one is the pick once the
 * leaves before it are skipped, as the kill does when a leaf has nothing. */
typedef struct WalkRecord {
        size_t leaves[8];
        size_t n;
        size_t stop_at; /* visit says done at this leaf */
} WalkRecord;

static int record_visit(EmuTree *t, size_t leaf, void *userdata) {
        WalkRecord *w = userdata;
        w->leaves[w->n++] = emu_tree_array_index(t, leaf);
        return emu_tree_array_index(t, leaf) == w->stop_at ? 1 : 0;
}

static void test_kill_order_is_the_kill_walk(void **state) {
        EmuNode n[5];
        tree(n);
        n[1].n_procs = n[3].n_procs = n[4].n_procs = 1;

        EmuTree *t = NULL;
        WalkRecord w = { .stop_at = SIZE_MAX };
        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        assert_int_equal(emu_tree_kill_walk(t, 8, record_visit, &w), -ESRCH);
        /* offline/b (priority 1) first, then offline/a; online, the highest
         * priority in use, is never in the pre-emptive order. */
        assert_int_equal(emu_tree_array_index(t, (size_t) emu_tree_kill_spared(t)), 1);
        emu_tree_free(t);
        assert_int_equal(w.n, 2);
        assert_int_equal(w.leaves[0], emu_kill_pick_node(n, 5, NULL));
        assert_int_equal(w.leaves[0], 4);
        bool skip[5] = { [4] = true };
        assert_int_equal(w.leaves[1], emu_kill_pick_node(n, 5, skip));
        assert_int_equal(w.leaves[1], 3);

        /* The kill stops where it took a victim; a bound of leaves holds. */
        WalkRecord k = { .stop_at = 3 };
        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        assert_int_equal(emu_tree_kill_walk(t, 8, record_visit, &k), 1);
        assert_int_equal(k.n, 2);
        emu_tree_free(t);
        WalkRecord b = { .stop_at = SIZE_MAX };
        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        assert_int_equal(emu_tree_kill_walk(t, 1, record_visit, &b), -ESRCH);
        assert_int_equal(b.n, 1);
        assert_int_equal(emu_tree_branch(t, 0), 0);
        emu_tree_free(t);
}

static void test_kill_order_processes_first_is_the_kill_pick(void **state) {
        EmuProc p[] = {
                { .pid = 10, .rss = 5 * M },
                { .pid = 11, .rss = 50 * M, .oom_score_adj = -1000 }, /* never */
                { .pid = 12, .rss = 20 * M },
                { .pid = 13, .rss = 1 * M, .oom_score_adj = 1000 },  /* 1M + all of 100M */
                { .pid = 42, .rss = 90 * M },                        /* self */
        };
        int pick = emu_kill_pick_process(p, 5, 100 * M, 42);
        pid_t first = p[pick].pid;
        assert_int_equal(emu_kill_order_processes(p, 5, 100 * M, 42), 3);
        assert_int_equal(p[0].pid, first);
        assert_int_equal(p[0].pid, 13);
        assert_int_equal(p[1].pid, 12);
        assert_int_equal(p[2].pid, 10);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_lowest_priority_first),
                cmocka_unit_test(test_plan_spills_in_order),
                cmocka_unit_test(test_plan_no_anon_without_swap),
                cmocka_unit_test(test_plan_swap_takes_low_anon_before_high_cache),
                cmocka_unit_test(test_plan_protection),
                cmocka_unit_test(test_plan_own_pages_last),
                cmocka_unit_test(test_plan_ties_most_cache_first),
                cmocka_unit_test(test_plan_malformed),
                cmocka_unit_test(test_reclaim_target),
                cmocka_unit_test(test_squeeze_limit),
                cmocka_unit_test(test_squeeze_limit_in_64k_pages),
                cmocka_unit_test(test_kill_watermark_and_need),
                cmocka_unit_test(test_kill_walk),
                cmocka_unit_test(test_kill_walk_spares_the_highest_priority_in_use),
                cmocka_unit_test(test_kill_walk_hierarchy_beats_leaf_priority),
                cmocka_unit_test(test_kill_walk_ties_by_usage),
                cmocka_unit_test(test_kill_walk_inner_processes),
                cmocka_unit_test(test_kill_walk_600_empty_siblings_victim_from_priority_1),
                cmocka_unit_test(test_plan_600_empty_siblings_low_branch_gives_first),
                cmocka_unit_test(test_tree_kill_reads_only_the_path_down),
                cmocka_unit_test(test_tree_too_large_is_e2big_not_a_wrong_answer),
                cmocka_unit_test(test_tree_reclaim_reads_only_the_branches_it_takes_from),
                cmocka_unit_test(test_victim_confirmed_only_alive_and_still_in_the_leaf),
                cmocka_unit_test(test_kill_pick_process),
                cmocka_unit_test(test_parse_stat),
                cmocka_unit_test(test_parse_stat_sums_saturate),
                cmocka_unit_test(test_reclaim_bytes_are_what_the_steps_took),
                cmocka_unit_test(test_squeeze_record),
                cmocka_unit_test(test_squeeze_run_and_restore),
                cmocka_unit_test(test_squeeze_hold),
                cmocka_unit_test(test_squeeze_restore_of_a_cgroup_named_tmp),
                cmocka_unit_test(test_squeeze_restore_keeps_and_counts_bad_records),
                cmocka_unit_test(test_squeeze_record_plausible_only_when_it_lowers),
                cmocka_unit_test(test_squeeze_verdict),
                cmocka_unit_test(test_squeeze_verdict_in_64k_pages),
                cmocka_unit_test(test_squeeze_record_names),
                cmocka_unit_test(test_feature_mode),
                cmocka_unit_test(test_kill_order_is_the_kill_walk),
                cmocka_unit_test(test_kill_order_processes_first_is_the_kill_pick),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
