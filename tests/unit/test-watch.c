/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure decisions of the watch layer: which crossings a usage makes, in
 * what order; percentages to bytes; the OOM counter files. The kernel side
 * is tested for real in tests/host/test-watch-host.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cgroup/memcg-watch.h"

#define MB (1024ULL * 1024ULL)

static const uint64_t t3[] = { 16 * MB, 32 * MB, 48 * MB };

static void assert_crossing(const ThresholdCrossing *c, size_t index, ThresholdDirection d) {
        assert_int_equal(c->index, index);
        assert_int_equal(c->direction, d);
}

static void test_first_usage_learns_sides_without_crossings(void **state) {
        ThresholdSide sides[3] = {};
        ThresholdCrossing c[3];

        assert_int_equal(threshold_evaluate(t3, sides, 3, 40 * MB, c), 0);
        assert_int_equal(sides[0], THRESHOLD_SIDE_ABOVE);
        assert_int_equal(sides[1], THRESHOLD_SIDE_ABOVE);
        assert_int_equal(sides[2], THRESHOLD_SIDE_BELOW);
}

static void test_upward_crossings_come_lowest_first(void **state) {
        ThresholdSide sides[3] = { THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW };
        ThresholdCrossing c[3];

        assert_int_equal(threshold_evaluate(t3, sides, 3, 50 * MB, c), 3);
        for (size_t i = 0; i < 3; i++)
                assert_crossing(&c[i], i, THRESHOLD_UP);
        /* The same usage again: the kernel's second signal is no crossing. */
        assert_int_equal(threshold_evaluate(t3, sides, 3, 50 * MB, c), 0);
}

static void test_downward_crossings_come_highest_first(void **state) {
        ThresholdSide sides[3] = { THRESHOLD_SIDE_ABOVE, THRESHOLD_SIDE_ABOVE, THRESHOLD_SIDE_ABOVE };
        ThresholdCrossing c[3];

        assert_int_equal(threshold_evaluate(t3, sides, 3, 20 * MB, c), 2);
        assert_crossing(&c[0], 2, THRESHOLD_DOWN);
        assert_crossing(&c[1], 1, THRESHOLD_DOWN);
        assert_int_equal(sides[0], THRESHOLD_SIDE_ABOVE);
}

static void test_equal_usage_counts_as_above(void **state) {
        ThresholdSide sides[3] = { THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW };
        ThresholdCrossing c[3];

        /* The kernel's rule: a threshold <= usage is crossed. */
        assert_int_equal(threshold_evaluate(t3, sides, 3, 16 * MB, c), 1);
        assert_crossing(&c[0], 0, THRESHOLD_UP);
        assert_int_equal(threshold_evaluate(t3, sides, 3, 16 * MB - 1, c), 1);
        assert_crossing(&c[0], 0, THRESHOLD_DOWN);
}

static void test_flapping_reports_every_real_crossing(void **state) {
        ThresholdSide sides[1] = { THRESHOLD_SIDE_BELOW };
        const uint64_t t[] = { 100 };
        ThresholdCrossing c[1];
        unsigned ups = 0, downs = 0;

        for (unsigned i = 0; i < 10; i++) {
                ups += threshold_evaluate(t, sides, 1, 101, c);
                assert_int_equal(threshold_evaluate(t, sides, 1, 102, c), 0);
                downs += threshold_evaluate(t, sides, 1, 99, c);
        }
        assert_int_equal(ups, 10);
        assert_int_equal(downs, 10);
}

#define SLACK (2 * 65 * 4096ULL)

/* Issue #11 item 20, as seen on a host: the kernel signalled 32M up, the
 * usage read right after was 32M - 4096 (a charge batch given back in
 * between), and the kernel would not signal that crossing again. */
static void test_signal_with_usage_read_back_below_is_the_crossing(void **state) {
        ThresholdSide sides[3] = { THRESHOLD_SIDE_ABOVE, THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW };
        ThresholdCrossing c[3];

        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 32 * MB - 4096, 1, SLACK, c), 1);
        assert_crossing(&c[0], 1, THRESHOLD_UP);
        assert_int_equal(sides[1], THRESHOLD_SIDE_ABOVE);
        /* The usage read alone says nothing happened. */
        sides[1] = THRESHOLD_SIDE_BELOW;
        assert_int_equal(threshold_evaluate(t3, sides, 3, 32 * MB - 4096, c), 0);
        /* and the same the other way */
        sides[1] = THRESHOLD_SIDE_ABOVE;
        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 32 * MB + 4096, 1, SLACK, c), 1);
        assert_crossing(&c[0], 1, THRESHOLD_DOWN);
        assert_int_equal(sides[1], THRESHOLD_SIDE_BELOW);
}

static void test_signals_that_the_read_explains_change_nothing(void **state) {
        ThresholdSide sides[3] = { THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW };
        ThresholdCrossing c[3];

        /* 16M and 32M up, read as such */
        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 40 * MB, 2, SLACK, c), 2);
        assert_crossing(&c[0], 0, THRESHOLD_UP);
        assert_crossing(&c[1], 1, THRESHOLD_UP);
        /* up and back down near 48M: two signals, no crossing */
        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 48 * MB - 4096, 2, SLACK, c), 0);
        assert_int_equal(sides[2], THRESHOLD_SIDE_BELOW);
        /* a signal with no threshold near the read: nothing to guess */
        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 40 * MB, 1, SLACK, c), 0);
}

static void test_missed_crossing_goes_in_report_order(void **state) {
        ThresholdSide sides[3] = { THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_BELOW };
        ThresholdCrossing c[3];

        /* 16M read up, 32M signalled but read 4K below: 16M then 32M */
        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 32 * MB - 4096, 2, SLACK, c), 2);
        assert_crossing(&c[0], 0, THRESHOLD_UP);
        assert_crossing(&c[1], 1, THRESHOLD_UP);
}

static void test_no_correction_while_sides_are_learned(void **state) {
        ThresholdSide sides[3] = {};
        ThresholdCrossing c[3];

        assert_int_equal(threshold_evaluate_signalled(t3, sides, 3, 16 * MB - 4096, 1, SLACK, c), 0);
        assert_int_equal(sides[0], THRESHOLD_SIDE_BELOW);
}

static void test_stale_sides_give_downs_then_ups(void **state) {
        /* Sides out of step (events lost): each is corrected, downs first. */
        ThresholdSide sides[3] = { THRESHOLD_SIDE_BELOW, THRESHOLD_SIDE_UNKNOWN, THRESHOLD_SIDE_ABOVE };
        ThresholdCrossing c[3];

        assert_int_equal(threshold_evaluate(t3, sides, 3, 40 * MB, c), 2);
        assert_crossing(&c[0], 2, THRESHOLD_DOWN);
        assert_crossing(&c[1], 0, THRESHOLD_UP);
        assert_int_equal(sides[1], THRESHOLD_SIDE_ABOVE);
}

static void test_no_thresholds_no_crossings(void **state) {
        ThresholdCrossing c[1];

        assert_int_equal(threshold_evaluate(NULL, NULL, 0, 1, c), 0);
}

static void test_percentages_resolve_against_the_limit(void **state) {
        const Threshold t[] = {
                { .is_percent = true, .value = 95 },
                { .is_percent = true, .value = 80 },
                { .is_percent = false, .value = 1024 * MB },
                { .is_percent = false, .value = 512 * MB }, /* == 50% of 1G */
                { .is_percent = true, .value = 50 },
        };
        uint64_t bytes[ELEMENTSOF(t)];
        size_t n;

        threshold_resolve(t, ELEMENTSOF(t), 1024 * MB, bytes, &n);
        assert_int_equal(n, 4);
        assert_int_equal(bytes[0], 512 * MB);
        assert_int_equal(bytes[1], 1024 * MB / 100 * 80 + 1024 * MB % 100 * 80 / 100);
        assert_int_equal(bytes[2], 1024 * MB / 100 * 95 + 1024 * MB % 100 * 95 / 100);
        assert_int_equal(bytes[3], 1024 * MB);
}

static void test_percentages_of_no_limit_are_skipped(void **state) {
        const Threshold t[] = {
                { .is_percent = true, .value = 80 },
                { .is_percent = false, .value = 64 * MB },
                { .is_percent = false, .value = 0 },
        };
        uint64_t bytes[ELEMENTSOF(t)];
        size_t n;

        threshold_resolve(t, ELEMENTSOF(t), MEMCG_UNLIMITED, bytes, &n);
        assert_int_equal(n, 1);
        assert_int_equal(bytes[0], 64 * MB);

        /* A limit so small that the percentage is 0 bytes: skipped too. */
        threshold_resolve(t, 1, 1, bytes, &n);
        assert_int_equal(n, 0);
}

static void test_percentage_of_a_huge_limit_does_not_overflow(void **state) {
        const Threshold t[] = { { .is_percent = true, .value = 100 }, { .is_percent = true, .value = 99 } };
        uint64_t bytes[2];
        size_t n;

        threshold_resolve(t, 2, UINT64_MAX - 1, bytes, &n);
        assert_int_equal(n, 2);
        assert_true(bytes[0] < bytes[1]);
        assert_int_equal(bytes[1], UINT64_MAX - 1);
        assert_true(bytes[0] > UINT64_MAX / 100 * 98);
}

static void test_direction_names(void **state) {
        assert_string_equal(threshold_direction_to_string(THRESHOLD_UP), "up");
        assert_string_equal(threshold_direction_to_string(THRESHOLD_DOWN), "down");
        assert_null(threshold_direction_to_string((ThresholdDirection) 7));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_usage_learns_sides_without_crossings),
                cmocka_unit_test(test_upward_crossings_come_lowest_first),
                cmocka_unit_test(test_downward_crossings_come_highest_first),
                cmocka_unit_test(test_equal_usage_counts_as_above),
                cmocka_unit_test(test_flapping_reports_every_real_crossing),
                cmocka_unit_test(test_signal_with_usage_read_back_below_is_the_crossing),
                cmocka_unit_test(test_signals_that_the_read_explains_change_nothing),
                cmocka_unit_test(test_missed_crossing_goes_in_report_order),
                cmocka_unit_test(test_no_correction_while_sides_are_learned),
                cmocka_unit_test(test_stale_sides_give_downs_then_ups),
                cmocka_unit_test(test_no_thresholds_no_crossings),
                cmocka_unit_test(test_percentages_resolve_against_the_limit),
                cmocka_unit_test(test_percentages_of_no_limit_are_skipped),
                cmocka_unit_test(test_percentage_of_a_huge_limit_does_not_overflow),
                cmocka_unit_test(test_direction_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
