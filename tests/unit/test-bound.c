/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The standing bound's decisions (emulate/bound.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emulate/bound.h"

#define M (1024 * 1024ULL)
#define PAGE 4096ULL
#define NONE UINT64_MAX

/* Seed 003's shape: offline 1, online 10, wmark_high 800M. Offline is held
 * at wmark_high less what online keeps: its peak while that is above its
 * usage, its usage once that is higher. */
static void test_lower_priority_leaves_room_for_the_higher(void **state) {
        BoundChild c[] = {
                { .priority = 1, .usage = 700 * M, .reserve = 700 * M, .unreclaimable = 10 * M },
                { .priority = 10, .usage = 50 * M, .reserve = 300 * M, .unreclaimable = 50 * M },
        };
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 500 * M);
        c[1].usage = 400 * M; /* above its reserve: its usage counts */
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 400 * M);
        /* The highest priority is never bounded. */
        assert_true(bound_of_child(c, 2, 1, 800 * M, 16 * M, PAGE) == NONE);
}

/* What online declared (MemoryReserve=) is kept for it before it ever
 * used it: the first burst larger than any before finds room. A peak or
 * usage above the declaration counts as before. */
static void test_declared_reserve_is_kept_before_it_is_used(void **state) {
        BoundChild c[] = {
                { .priority = 1, .usage = 700 * M, .reserve = 700 * M, .unreclaimable = 10 * M },
                { .priority = 10, .usage = 5 * M, .reserve = 5 * M, .declared = 200 * M },
        };
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 600 * M);
        c[1].reserve = 300 * M; /* a burst beyond what it declared */
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 500 * M);
        c[1].reserve = 5 * M;
        c[1].usage = 250 * M;
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 550 * M);
        /* A lower priority's declaration buys it nothing from the higher. */
        c[0].declared = 700 * M;
        assert_true(bound_of_child(c, 2, 1, 800 * M, 16 * M, PAGE) == NONE);
        /* Nor among equals: their usage counts, not what they declared. */
        c[1].priority = 1;
        c[0].declared = 0;
        assert_true(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE) == NONE);
}

/* Never below what the child cannot give, plus the margin: there the
 * priority kill decides, not the kernel's OOM in the child. */
static void test_never_below_what_it_cannot_give(void **state) {
        BoundChild c[] = {
                { .priority = 1, .usage = 300 * M, .unreclaimable = 250 * M },
                { .priority = 10, .usage = 100 * M, .reserve = 700 * M },
        };
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 266 * M);
        c[0].unreclaimable = 250 * M + 1; /* rounded up to a page */
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 266 * M + PAGE);
}

/* Equal priorities share what is left; a lower sibling's unreclaimable
 * memory is taken as it stands (it cannot give it), its page cache not. */
static void test_siblings_of_equal_and_lower_priority(void **state) {
        BoundChild c[] = {
                { .priority = 1, .usage = 100 * M, .unreclaimable = 20 * M },
                { .priority = 5, .usage = 200 * M, .unreclaimable = 0 },
                { .priority = 5, .usage = 150 * M, .unreclaimable = 0 },
                { .priority = 10, .usage = 10 * M, .reserve = 100 * M },
        };
        /* priority 5, first: 800 - 150 (its equal) - 100 (online's reserve) - 20 (lower, unreclaimable) */
        assert_int_equal(bound_of_child(c, 4, 1, 800 * M, 16 * M, PAGE), 530 * M);
        /* priority 1: 800 - 200 - 150 - 100 */
        assert_int_equal(bound_of_child(c, 4, 0, 800 * M, 16 * M, PAGE), 350 * M);
}

static void test_no_bound_without_a_watermark_or_a_higher_sibling(void **state) {
        BoundChild c[] = {
                { .priority = 3, .usage = 100 * M },
                { .priority = 3, .usage = 100 * M },
        };
        assert_true(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE) == NONE); /* equals only */
        c[1].priority = 4;
        assert_true(bound_of_child(c, 2, 0, NONE, 16 * M, PAGE) == NONE);    /* no wmark_high */
        assert_true(bound_of_child(c, 2, 5, 800 * M, 16 * M, PAGE) == NONE); /* no such child */
        assert_true(bound_of_child(c, 1, 0, 800 * M, 16 * M, PAGE) == NONE); /* alone */
        /* A reserve that fills the whole watermark: the floor. */
        c[1].reserve = NONE;
        c[1].usage = NONE;
        assert_int_equal(bound_of_child(c, 2, 0, 800 * M, 16 * M, PAGE), 16 * M);
}

static void test_next_step_is_gradual_downwards_only(void **state) {
        assert_int_equal(bound_next_step(500 * M, 700 * M, 0, 64 * M, PAGE), 636 * M);
        assert_int_equal(bound_next_step(500 * M, 540 * M, 0, 64 * M, PAGE), 500 * M);
        assert_int_equal(bound_next_step(500 * M, 100 * M, 0, 64 * M, PAGE), 500 * M); /* raising: at once */
        assert_int_equal(bound_next_step(500 * M + 1, 100 * M, 0, 64 * M, PAGE), 500 * M);
        assert_true(bound_next_step(NONE, 100 * M, 0, 64 * M, PAGE) == NONE);
}

/* A writer's dirty page cache is not squeezed: the step stops at what the
 * child cannot give now, and a child that cannot give at all is held at
 * its usage (it reclaims in its own context from there). */
static void test_next_step_leaves_what_cannot_be_given_now(void **state) {
        assert_int_equal(bound_next_step(500 * M, 700 * M, 680 * M, 64 * M, PAGE), 680 * M);
        assert_int_equal(bound_next_step(500 * M, 700 * M, 600 * M, 64 * M, PAGE), 636 * M);
        assert_int_equal(bound_next_step(500 * M, 700 * M, 800 * M, 64 * M, PAGE), 700 * M);
        assert_int_equal(bound_next_step(500 * M, 700 * M, 680 * M + 1, 64 * M, PAGE), 680 * M + PAGE);
        /* below the target: the target, whatever is stuck */
        assert_int_equal(bound_next_step(500 * M, 300 * M, 290 * M, 64 * M, PAGE), 500 * M);
}

/* Without swap: anon and dirty page cache stay; with swap: only the dirty part. */
static void test_stuck_now(void **state) {
        assert_int_equal(bound_stuck_now(100 * M, 70 * M, 20 * M, false), 50 * M);
        assert_int_equal(bound_stuck_now(100 * M, 70 * M, 20 * M, true), 20 * M);
        assert_int_equal(bound_stuck_now(100 * M, 100 * M, 0, false), 0);
        assert_int_equal(bound_stuck_now(50 * M, 70 * M, 90 * M, false), 50 * M); /* counters read apart */
        assert_int_equal(bound_stuck_now(50 * M, 70 * M, 90 * M, true), 50 * M);
}

static void test_peak_decays_towards_usage(void **state) {
        const uint64_t hl = 60 * 1000000ULL;
        /* A first look: the higher of usage and what was seen. */
        assert_int_equal(bound_peak_update(NONE, 10 * M, 110 * M, 0, hl), 110 * M);
        /* One half-life later, nothing new: half the excess is left. */
        assert_int_equal(bound_peak_update(110 * M, 10 * M, 10 * M, hl, hl), 60 * M);
        /* Half a half-life: within 6% of 1/sqrt(2) of the excess. */
        uint64_t p = bound_peak_update(110 * M, 10 * M, 10 * M, hl / 2, hl);
        assert_true(p >= 10 * M + 70 * M && p <= 10 * M + 76 * M);
        /* A new burst higher than the decayed peak raises it at once. */
        assert_int_equal(bound_peak_update(60 * M, 10 * M, 100 * M, hl, hl), 100 * M);
        /* Long ago: usage. */
        assert_int_equal(bound_peak_update(110 * M, 10 * M, 10 * M, 100 * hl, hl), 10 * M);
        /* No half-life: no memory. */
        assert_int_equal(bound_peak_update(110 * M, 10 * M, 20 * M, 1, 0), 20 * M);
        /* Usage above the old peak. */
        assert_int_equal(bound_peak_update(50 * M, 80 * M, 80 * M, 1, hl), 80 * M);
}

/* v1: a held child waits at its bound when the kernel marks it under_oom
 * and its usage is at the bound; a parent at its own limit marks its
 * children under_oom too, far below their bounds: that is no wait here. */
static void test_child_waits_only_at_its_bound(void **state) {
        assert_true(bound_child_waits(true, 100 * M, 100 * M));
        assert_true(bound_child_waits(true, 97 * M, 100 * M));
        assert_false(bound_child_waits(true, 40 * M, 100 * M)); /* the parent's OOM */
        assert_false(bound_child_waits(false, 100 * M, 100 * M));
        assert_false(bound_child_waits(true, 100 * M, 0));    /* not held */
        assert_false(bound_child_waits(true, 100 * M, NONE));
}

/* A waiting child gets room above its usage at once (the kernel kills no
 * one there and nothing is left to reclaim), more when its bound says so. */
static void test_waiting_child_is_raised_above_its_usage(void **state) {
        assert_int_equal(bound_raise_waiting(56 * M, 56 * M, 25 * M, PAGE), 81 * M);
        assert_int_equal(bound_raise_waiting(200 * M, 56 * M, 25 * M, PAGE), 200 * M);
        assert_int_equal(bound_raise_waiting(56 * M, 56 * M + 1, 0, PAGE), 56 * M + PAGE);
        assert_true(bound_raise_waiting(NONE, 56 * M, 25 * M, PAGE) == 81 * M);
        assert_true(bound_raise_waiting(56 * M, NONE - 10, 25 * M, PAGE) == NONE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lower_priority_leaves_room_for_the_higher),
                cmocka_unit_test(test_declared_reserve_is_kept_before_it_is_used),
                cmocka_unit_test(test_never_below_what_it_cannot_give),
                cmocka_unit_test(test_siblings_of_equal_and_lower_priority),
                cmocka_unit_test(test_no_bound_without_a_watermark_or_a_higher_sibling),
                cmocka_unit_test(test_next_step_is_gradual_downwards_only),
                cmocka_unit_test(test_next_step_leaves_what_cannot_be_given_now),
                cmocka_unit_test(test_stuck_now),
                cmocka_unit_test(test_peak_decays_towards_usage),
                cmocka_unit_test(test_child_waits_only_at_its_bound),
                cmocka_unit_test(test_waiting_child_is_raised_above_its_usage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
