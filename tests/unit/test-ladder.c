/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ladder's decisions (src/emulate/ladder.c): who is told before
 * memqosd's reclaim and kill, in what order, how much is asked, and what
 * happens when the grace ends. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "emulate/ladder.h"
#include "emulate/plan.h"
#include "emu-tree-fixture.h"

#define PAGE UINT64_C(4096)
#define MS UINT64_C(1000)


/* The notices before a reclaim of need bytes from the tree rooted at root. */
static size_t notices_for(const EmuNode *n, size_t root, uint64_t need, LadderNotice *ret, size_t max,
                          EmuTree **ret_tree) {
        EmuReclaimStep plan[16];
        EmuTree *t = NULL;

        assert_int_equal(emu_tree_new_array(n, 5, NULL, root, &t), 0);
        int k = emu_tree_reclaim_plan(t, need, false, plan, 16, NULL);
        assert_true(k > 0);
        *ret_tree = t;
        return ladder_reclaim_notices(t, plan, (size_t) k, ret, max);
}

static void test_reclaim_tells_only_the_lowest_priority_when_it_can_give_all(void **state) {
        EmuNode n[5];
        LadderNotice l[8];
        EmuTree *t;
        tree(n);

        size_t k = notices_for(n, 0, 40 * M, l, 8, &t);
        assert_int_equal(k, 1);
        assert_string_equal(l[0].cgroup, "/p/offline/b");
        assert_int_equal(l[0].want, 40 * M);
        assert_int_equal(l[0].priority, 1); /* offline's: siblings compare */
        assert_int_equal(l[0].usage, 90 * M);
        assert_int_equal(l[0].told, 0);
        emu_tree_free(t);
}

static void test_reclaim_tells_lower_priorities_first_each_with_its_part(void **state) {
        EmuNode n[5];
        LadderNotice l[8];
        EmuTree *t;
        tree(n);

        /* 150M: offline gives its 120M (b first, then a), online the 30M left. */
        size_t k = notices_for(n, 0, 150 * M, l, 8, &t);
        assert_int_equal(k, 3);
        assert_string_equal(l[0].cgroup, "/p/offline/b");
        assert_int_equal(l[0].want, 50 * M);
        assert_string_equal(l[1].cgroup, "/p/offline/a");
        assert_int_equal(l[1].want, 70 * M);
        assert_int_equal(l[1].priority, 1); /* offline's, not a's own 2: siblings compare */
        assert_string_equal(l[2].cgroup, "/p/online");
        assert_int_equal(l[2].want, 30 * M);
        assert_int_equal(l[2].priority, 10);
        for (size_t i = 1; i < k; i++)
                assert_true(l[i - 1].priority <= l[i].priority);
        emu_tree_free(t);
}

static void test_reclaim_never_tells_outside_the_subtree_under_pressure(void **state) {
        EmuNode n[5];
        LadderNotice l[8];
        EmuTree *t;
        tree(n);

        /* offline is under pressure: online, its sibling, is never told,
         * however much is needed. */
        size_t k = notices_for(n, 2, 500 * M, l, 8, &t);
        assert_true(k >= 1);
        for (size_t i = 0; i < k; i++)
                assert_memory_equal(l[i].cgroup, "/p/offline", strlen("/p/offline"));
        emu_tree_free(t);
}

static void test_reclaim_notices_are_bounded_keeping_the_lowest(void **state) {
        EmuNode n[5];
        LadderNotice l[1];
        EmuTree *t;
        tree(n);

        size_t k = notices_for(n, 0, 150 * M, l, 1, &t);
        assert_int_equal(k, 1);
        assert_string_equal(l[0].cgroup, "/p/offline/b");
        emu_tree_free(t);
}

static void test_reclaim_cgroup_planned_twice_is_told_once_with_the_sum(void **state) {
        EmuNode n[5];
        LadderNotice l[8];
        EmuTree *t;
        tree(n);

        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        /* Read the tree as a plan would (node indices are the tree's). */
        EmuReclaimStep s[4];
        assert_int_equal(emu_tree_reclaim_plan(t, 150 * M, false, s, 4, NULL), 3);
        EmuReclaimStep plan[] = { s[0], { .node = s[1].node, .bytes = 0 }, s[1], s[0] };
        size_t k = ladder_reclaim_notices(t, plan, 4, l, 8);
        assert_int_equal(k, 2);
        assert_string_equal(l[0].cgroup, "/p/offline/b");
        assert_int_equal(l[0].want, 100 * M);
        assert_string_equal(l[1].cgroup, "/p/offline/a");
        assert_int_equal(l[1].want, 70 * M);
        emu_tree_free(t);
}

static void test_kill_notice_names_the_leaf_and_what_must_go(void **state) {
        EmuNode n[5];
        EmuTree *t;
        tree(n);
        n[1].n_procs = n[3].n_procs = n[4].n_procs = 1;

        assert_int_equal(emu_tree_new_array(n, 5, NULL, 0, &t), 0);
        int leaf = emu_tree_kill_pick(t);
        assert_true(leaf > 0);
        LadderNotice l = ladder_kill_notice(t, (size_t) leaf, 370 * M, 360 * M, PAGE);
        assert_string_equal(l.cgroup, "/p/offline/b");
        assert_int_equal(l.priority, 1);
        assert_int_equal(l.want, 46 * M); /* down to 324M, 90% of the kill watermark */
        assert_int_equal(l.usage, 90 * M);
        emu_tree_free(t);
}

/* The kill notice asks for what brings what reclaim cannot take back to
 * where memqosd starts watching for a kill (90% of the watermark), not a
 * page below the watermark: giving that little would have the next
 * allocations ask again, each time closer to the limit. */
static void test_kill_want_is_what_brings_unreclaimable_back_below_the_watch(void **state) {
        assert_int_equal(ladder_kill_want(370 * M, 360 * M, PAGE), 46 * M);
        assert_int_equal(ladder_kill_want(360 * M, 360 * M, PAGE), 36 * M); /* at it: the kill would fire */
        assert_int_equal(ladder_kill_want(359 * M, 360 * M, PAGE), 0);     /* below it: no kill due */
        assert_int_equal(ladder_kill_want(300 * M, 360 * M, PAGE), 0);
        assert_int_equal(ladder_kill_want(370 * M + 1, 360 * M, PAGE), 46 * M + PAGE); /* whole pages */
        assert_int_equal(ladder_kill_want(370 * M, UINT64_MAX, PAGE), 0);              /* no kill watermark */
}

static void test_nobody_told_means_no_grace(void **state) {
        assert_int_equal(ladder_grace_usec(0, 200 * MS), 0);
        assert_int_equal(ladder_grace_usec(1, 200 * MS), 200 * MS);
        assert_int_equal(ladder_grace_usec(3, 50 * MS), 50 * MS);
        assert_int_equal(ladder_grace_usec(3, 0), 0);
}

static void test_one_notice_per_episode_and_none_during_a_grace(void **state) {
        assert_true(ladder_notice_due(200 * MS, false, false));
        assert_false(ladder_notice_due(0, false, false));        /* turned off */
        assert_false(ladder_notice_due(200 * MS, true, false));  /* given for this episode */
        assert_false(ladder_notice_due(200 * MS, false, true));  /* one runs */
}

static void test_given_back_is_how_far_usage_fell(void **state) {
        assert_int_equal(ladder_given_back(100 * M, 60 * M), 40 * M);
        assert_int_equal(ladder_given_back(60 * M, 100 * M), 0); /* it grew */
        assert_int_equal(ladder_given_back(100 * M, 0), 100 * M); /* gone */
}

static void test_reclaim_grace_end_takes_only_what_is_still_needed(void **state) {
        uint64_t need = 1;
        uint64_t low = 180 * M, aim = low - 256 * 1024;

        /* The client gave 10M of the 30M asked: the rest is taken. */
        assert_int_equal(ladder_after_reclaim_grace(200 * M, low, aim, PAGE, &need), LADDER_NEXT_RECLAIM_REST);
        assert_int_equal(need, 200 * M - aim);
        /* It gave all: nothing left, no pass. */
        assert_int_equal(ladder_after_reclaim_grace(170 * M, low, aim, PAGE, &need), LADDER_NEXT_NOTHING_LEFT);
        assert_int_equal(need, 0);
        assert_int_equal(ladder_after_reclaim_grace(low, low, aim, PAGE, NULL), LADDER_NEXT_RECLAIM_REST);
}

static void test_kill_grace_end_kills_nobody_once_below_the_watermark(void **state) {
        uint64_t kw = 364 * M;

        /* Usage fell back below the kill watermark. */
        assert_int_equal(ladder_after_kill_grace(360 * M, 0, 360 * M, false, kw), LADDER_NEXT_NO_KILL);
        /* Still at it, anonymous, no swap: the kill goes ahead. */
        assert_int_equal(ladder_after_kill_grace(370 * M, 2 * M, 368 * M, false, kw), LADDER_NEXT_KILL);
        /* Above it, but reclaim can take enough: no kill. */
        assert_int_equal(ladder_after_kill_grace(370 * M, 100 * M, 270 * M, false, kw), LADDER_NEXT_NO_KILL);
        assert_int_equal(ladder_after_kill_grace(370 * M, 2 * M, 368 * M, true, kw), LADDER_NEXT_NO_KILL);
}

static void test_names(void **state) {
        assert_string_equal(ladder_level_to_string(LADDER_RECLAIM), "reclaim");
        assert_string_equal(ladder_level_to_string(LADDER_KILL), "kill");
        assert_string_equal(ladder_next_to_string(LADDER_NEXT_RECLAIM_REST), "reclaim-rest");
        assert_string_equal(ladder_next_to_string(LADDER_NEXT_NOTHING_LEFT), "nothing-left");
        assert_string_equal(ladder_next_to_string(LADDER_NEXT_KILL), "kill");
        assert_string_equal(ladder_next_to_string(LADDER_NEXT_NO_KILL), "no-kill");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reclaim_tells_only_the_lowest_priority_when_it_can_give_all),
                cmocka_unit_test(test_reclaim_tells_lower_priorities_first_each_with_its_part),
                cmocka_unit_test(test_reclaim_never_tells_outside_the_subtree_under_pressure),
                cmocka_unit_test(test_reclaim_notices_are_bounded_keeping_the_lowest),
                cmocka_unit_test(test_reclaim_cgroup_planned_twice_is_told_once_with_the_sum),
                cmocka_unit_test(test_kill_notice_names_the_leaf_and_what_must_go),
                cmocka_unit_test(test_kill_want_is_what_brings_unreclaimable_back_below_the_watch),
                cmocka_unit_test(test_nobody_told_means_no_grace),
                cmocka_unit_test(test_one_notice_per_episode_and_none_during_a_grace),
                cmocka_unit_test(test_given_back_is_how_far_usage_fell),
                cmocka_unit_test(test_reclaim_grace_end_takes_only_what_is_still_needed),
                cmocka_unit_test(test_kill_grace_end_kills_nobody_once_below_the_watermark),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
