/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "basic/ratelimit.h"
#include "basic/util.h"

#define SEC 1000000ULL

static void test_burst_passes_then_folds_and_reports_the_count(void **state) {
        RateLimit *rl = NULL;
        unsigned folded = 99;

        assert_int_equal(ratelimit_new(10 * SEC, 2, &rl), 0);

        assert_int_equal(ratelimit_test(rl, "a.slice/80%", 0, &folded), 1);
        assert_int_equal(folded, 0);
        assert_int_equal(ratelimit_test(rl, "a.slice/80%", 1 * SEC, &folded), 1);
        assert_int_equal(folded, 0);
        /* A flapping threshold: five more within the window are folded. */
        for (unsigned i = 0; i < 5; i++)
                assert_int_equal(ratelimit_test(rl, "a.slice/80%", 2 * SEC + i, &folded), 0);
        assert_int_equal(ratelimit_folded(rl, "a.slice/80%"), 5);

        /* The window ends: the next event passes and says 5 were folded. */
        assert_int_equal(ratelimit_test(rl, "a.slice/80%", 10 * SEC, &folded), 1);
        assert_int_equal(folded, 5);
        assert_int_equal(ratelimit_folded(rl, "a.slice/80%"), 0);
        assert_int_equal(ratelimit_test(rl, "a.slice/80%", 11 * SEC, &folded), 1);
        assert_int_equal(folded, 0);

        ratelimit_free(rl);
}

static void test_keys_are_limited_independently(void **state) {
        RateLimit *rl = NULL;
        unsigned folded;

        assert_int_equal(ratelimit_new(SEC, 1, &rl), 0);
        assert_int_equal(ratelimit_test(rl, "a/80%", 0, &folded), 1);
        assert_int_equal(ratelimit_test(rl, "a/80%", 1, &folded), 0);
        assert_int_equal(ratelimit_test(rl, "a/95%", 2, &folded), 1);
        assert_int_equal(ratelimit_test(rl, "b/80%", 3, &folded), 1);
        assert_int_equal(ratelimit_size(rl), 3);
        assert_int_equal(ratelimit_folded(rl, "a/80%"), 1);
        assert_int_equal(ratelimit_folded(rl, "a/95%"), 0);
        assert_int_equal(ratelimit_folded(rl, "nothing"), 0);

        ratelimit_forget(rl, "a/80%");
        assert_int_equal(ratelimit_size(rl), 2);
        ratelimit_forget(rl, "a/80%"); /* twice: harmless */
        assert_int_equal(ratelimit_size(rl), 2);
        /* A forgotten key starts afresh: its folded count went with it. */
        assert_int_equal(ratelimit_test(rl, "a/80%", 4, &folded), 1);
        assert_int_equal(folded, 0);

        ratelimit_free(rl);
}

static void test_window_restarts_from_the_first_event_after_it(void **state) {
        RateLimit *rl = NULL;
        unsigned folded;

        assert_int_equal(ratelimit_new(10 * SEC, 1, &rl), 0);
        assert_int_equal(ratelimit_test(rl, "k", 100 * SEC, &folded), 1);
        assert_int_equal(ratelimit_test(rl, "k", 109 * SEC, &folded), 0);
        assert_int_equal(ratelimit_test(rl, "k", 110 * SEC, &folded), 1);
        assert_int_equal(folded, 1);
        /* The new window started at 110 s, not at 109 s. */
        assert_int_equal(ratelimit_test(rl, "k", 119 * SEC, &folded), 0);
        assert_int_equal(ratelimit_test(rl, "k", 120 * SEC, &folded), 1);
        assert_int_equal(folded, 1);

        ratelimit_free(rl);
}

static void test_clock_going_backwards_does_not_suppress_forever(void **state) {
        RateLimit *rl = NULL;
        unsigned folded;

        assert_int_equal(ratelimit_new(10 * SEC, 1, &rl), 0);
        assert_int_equal(ratelimit_test(rl, "k", 100 * SEC, &folded), 1);
        assert_int_equal(ratelimit_test(rl, "k", 5 * SEC, &folded), 1);
        assert_int_equal(ratelimit_test(rl, "k", 6 * SEC, &folded), 0);

        ratelimit_free(rl);
}

static void test_zero_interval_or_burst_disables_limiting(void **state) {
        RateLimit *rl = NULL;
        unsigned folded = 7;

        assert_int_equal(ratelimit_new(0, 5, &rl), 0);
        for (unsigned i = 0; i < 100; i++)
                assert_int_equal(ratelimit_test(rl, "k", 0, &folded), 1);
        assert_int_equal(folded, 0);
        assert_int_equal(ratelimit_size(rl), 0);
        ratelimit_free(rl);

        assert_int_equal(ratelimit_new(SEC, 0, &rl), 0);
        assert_int_equal(ratelimit_test(rl, "k", 0, NULL), 1);
        assert_int_equal(ratelimit_test(rl, "k", 0, NULL), 1);
        ratelimit_free(rl);
}

static void test_many_keys_are_kept_apart_and_freed(void **state) {
        RateLimit *rl = NULL;
        char key[32];

        assert_int_equal(ratelimit_new(SEC, 1, &rl), 0);
        for (unsigned i = 0; i < 500; i++) {
                snprintf(key, sizeof(key), "unit-%u.slice/%u", i, i % 7);
                assert_int_equal(ratelimit_test(rl, key, 0, NULL), 1);
                assert_int_equal(ratelimit_test(rl, key, 1, NULL), 0);
        }
        assert_int_equal(ratelimit_size(rl), 500);
        for (unsigned i = 0; i < 500; i += 2) {
                snprintf(key, sizeof(key), "unit-%u.slice/%u", i, i % 7);
                ratelimit_forget(rl, key);
        }
        assert_int_equal(ratelimit_size(rl), 250);
        assert_int_equal(ratelimit_folded(rl, "unit-1.slice/1"), 1);
        assert_int_equal(ratelimit_folded(rl, "unit-2.slice/2"), 0);
        assert_null(ratelimit_free(rl));
}

static void test_take_folded_reports_once(void **state) {
        RateLimit *rl = NULL;
        unsigned folded = 99;

        assert_int_equal(ratelimit_new(SEC, 1, &rl), 0);
        assert_int_equal(ratelimit_take_folded(rl, "a.slice/reclaim"), 0); /* unknown key */
        assert_int_equal(ratelimit_test(rl, "a.slice/reclaim", 0, NULL), 1);
        assert_int_equal(ratelimit_test(rl, "a.slice/reclaim", 1, NULL), 0);
        assert_int_equal(ratelimit_test(rl, "a.slice/reclaim", 2, NULL), 0);
        assert_int_equal(ratelimit_take_folded(rl, "a.slice/reclaim"), 2);
        assert_int_equal(ratelimit_take_folded(rl, "a.slice/reclaim"), 0);
        /* the window is unchanged: still folding, and the next one that passes
         * counts only what was folded after the take */
        assert_int_equal(ratelimit_test(rl, "a.slice/reclaim", 3, NULL), 0);
        assert_int_equal(ratelimit_test(rl, "a.slice/reclaim", SEC + 1, &folded), 1);
        assert_int_equal(folded, 1);
        assert_null(ratelimit_free(rl));
}

static void test_forget_prefix_forgets_one_units_keys(void **state) {
        RateLimit *rl = NULL;
        static const char *const keys[] = {
                "a.slice/reclaim", "a.slice/oom", "a.slice/64M", "a.slice-b.slice/oom", "a.slicex/oom", "b.slice/oom",
        };

        assert_int_equal(ratelimit_new(SEC, 1, &rl), 0);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                assert_int_equal(ratelimit_test(rl, keys[i], 0, NULL), 1);
                assert_int_equal(ratelimit_test(rl, keys[i], 1, NULL), 0);
        }
        ratelimit_forget_prefix(rl, "a.slice/");
        assert_int_equal(ratelimit_size(rl), 3);
        assert_int_equal(ratelimit_folded(rl, "a.slice/reclaim"), 0);
        assert_int_equal(ratelimit_folded(rl, "a.slice-b.slice/oom"), 1);
        assert_int_equal(ratelimit_folded(rl, "a.slicex/oom"), 1);
        assert_int_equal(ratelimit_folded(rl, "b.slice/oom"), 1);
        ratelimit_forget_prefix(rl, "nothing/");
        assert_int_equal(ratelimit_size(rl), 3);
        ratelimit_forget_prefix(rl, "");
        assert_int_equal(ratelimit_size(rl), 0);
        ratelimit_forget_prefix(NULL, "a/");
        assert_null(ratelimit_free(rl));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_burst_passes_then_folds_and_reports_the_count),
                cmocka_unit_test(test_keys_are_limited_independently),
                cmocka_unit_test(test_window_restarts_from_the_first_event_after_it),
                cmocka_unit_test(test_clock_going_backwards_does_not_suppress_forever),
                cmocka_unit_test(test_zero_interval_or_burst_disables_limiting),
                cmocka_unit_test(test_many_keys_are_kept_apart_and_freed),
                cmocka_unit_test(test_take_folded_reports_once),
                cmocka_unit_test(test_forget_prefix_forgets_one_units_keys),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
