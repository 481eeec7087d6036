/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "basic/util.h"
#include "daemon/refresh-queue.h"

#define N_UNITS 2000

/* Sends what the queue lets out; returns how many. */
static size_t send_all(RefreshQueue *q, RefreshEntry **sent, size_t max) {
        size_t n = 0;
        RefreshEntry *e;

        while ((e = refresh_queue_next(q))) {
                assert_true(n < max);
                sent[n++] = e;
        }
        return n;
}

static void test_2000_units_at_start_never_exceed_the_bound_and_all_are_asked(void **state) {
        static RefreshEntry units[N_UNITS];
        RefreshEntry *sent[REFRESH_SENT_MAX];
        RefreshQueue q;
        size_t asked = 0, used = 0;

        refresh_queue_init(&q, REFRESH_SENT_MAX);
        for (size_t i = 0; i < N_UNITS; i++)
                refresh_queue_want(&q, &units[i]);

        size_t n = send_all(&q, sent, REFRESH_SENT_MAX);
        assert_int_equal(n, REFRESH_SENT_MAX);
        assert_int_equal(refresh_queue_n_sent(&q), REFRESH_SENT_MAX);
        asked += n;
        /* Answers come one at a time; each lets exactly one more out. */
        while (refresh_queue_n_sent(&q) > 0) {
                RefreshEntry *e = q.sent.head;
                assert_int_equal(refresh_queue_answered(&q, e), REFRESH_ANSWER_USE);
                used++;
                assert_int_equal(e->state, REFRESH_IDLE);
                RefreshEntry *next = refresh_queue_next(&q);
                if (next)
                        asked++;
                assert_null(refresh_queue_next(&q));
                assert_true(refresh_queue_n_sent(&q) <= REFRESH_SENT_MAX);
        }
        assert_int_equal(asked, N_UNITS);
        assert_int_equal(used, N_UNITS);
        assert_false(refresh_queue_busy(&q));
}

static void test_units_are_asked_in_the_order_wanted_and_once(void **state) {
        RefreshEntry a = {}, b = {}, c = {};
        RefreshQueue q;

        refresh_queue_init(&q, 8);
        refresh_queue_want(&q, &a);
        refresh_queue_want(&q, &b);
        refresh_queue_want(&q, &a); /* already queued: no second question */
        refresh_queue_want(&q, &c);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        assert_ptr_equal(refresh_queue_next(&q), &b);
        assert_ptr_equal(refresh_queue_next(&q), &c);
        assert_null(refresh_queue_next(&q));
        assert_int_equal(refresh_queue_n_sent(&q), 3);
}

static void test_a_want_while_on_the_bus_asks_again_after_the_answer(void **state) {
        RefreshEntry a = {};
        RefreshQueue q;

        refresh_queue_init(&q, 1);
        refresh_queue_want(&q, &a);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        /* The question is not withdrawn: the bus counts it until answered. */
        refresh_queue_want(&q, &a);
        assert_null(refresh_queue_next(&q));
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_STALE);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_USE);
        assert_false(refresh_queue_busy(&q));
}

static void test_a_stopped_unit_keeps_its_place_on_the_bus_until_answered(void **state) {
        RefreshEntry a = {}, b = {};
        RefreshQueue q;

        refresh_queue_init(&q, 1);
        refresh_queue_want(&q, &a);
        refresh_queue_want(&q, &b);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        refresh_queue_drop(&q, &a);
        refresh_queue_drop(&q, &b); /* queued: simply out */
        assert_null(refresh_queue_next(&q));
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_DISCARD);
        assert_null(refresh_queue_next(&q));
        assert_false(refresh_queue_busy(&q));
}

static void test_a_restart_after_a_stop_wants_the_answer_again(void **state) {
        RefreshEntry a = {};
        RefreshQueue q;

        refresh_queue_init(&q, 4);
        refresh_queue_want(&q, &a);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        refresh_queue_drop(&q, &a);
        refresh_queue_want(&q, &a);
        /* The answer in flight predates the restart: ask again. */
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_STALE);
        assert_ptr_equal(refresh_queue_next(&q), &a);
}

static void test_an_error_answer_is_asked_again_after_retry(void **state) {
        RefreshEntry a = {}, b = {};
        RefreshQueue q;

        refresh_queue_init(&q, 4);
        refresh_queue_want(&q, &a);
        refresh_queue_want(&q, &b);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        assert_ptr_equal(refresh_queue_next(&q), &b);
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_USE);
        assert_true(refresh_queue_defer(&q, &a));
        assert_int_equal(refresh_queue_answered(&q, &b), REFRESH_ANSWER_USE);
        assert_true(refresh_queue_defer(&q, &b));
        /* Not before the retry. */
        assert_null(refresh_queue_next(&q));
        assert_false(refresh_queue_busy(&q));
        assert_int_equal(refresh_queue_retry_deferred(&q), 2);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        assert_ptr_equal(refresh_queue_next(&q), &b);
}

static void test_a_deferred_unit_wanted_again_is_queued_once(void **state) {
        RefreshEntry a = {};
        RefreshQueue q;

        refresh_queue_init(&q, 4);
        refresh_queue_want(&q, &a);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_USE);
        assert_true(refresh_queue_defer(&q, &a));
        refresh_queue_want(&q, &a);
        /* Queued once, but not before the pause ends. */
        assert_null(refresh_queue_next(&q));
        assert_int_equal(refresh_queue_retry_deferred(&q), 0);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        /* Only an idle entry is deferred. */
        assert_false(refresh_queue_defer(&q, &a));
}

/* One place on the bus; a, b, c wanted in that order; a sent. */
static void three_wanted_one_sent(RefreshQueue *q, RefreshEntry *a, RefreshEntry *b, RefreshEntry *c) {
        refresh_queue_init(q, 1);
        refresh_queue_want(q, a);
        refresh_queue_want(q, b);
        refresh_queue_want(q, c);
        assert_ptr_equal(refresh_queue_next(q), a);
}

static void test_a_freed_unit_gives_its_place_back(void **state) {
        RefreshEntry a = {}, b = {}, c = {};
        RefreshQueue q;

        three_wanted_one_sent(&q, &a, &b, &c);
        refresh_queue_remove(&q, &a);
        refresh_queue_remove(&q, &b);
        assert_int_equal(b.state, REFRESH_IDLE);
        assert_ptr_equal(refresh_queue_next(&q), &c);
        refresh_queue_remove(&q, &c);
        refresh_queue_remove(&q, &c); /* idle: nothing */
        assert_false(refresh_queue_busy(&q));
}

static void test_a_lost_connection_leaves_nothing_on_the_bus(void **state) {
        RefreshEntry e[5] = {};
        RefreshQueue q;

        refresh_queue_init(&q, 2);
        for (size_t i = 0; i < ELEMENTSOF(e); i++)
                refresh_queue_want(&q, &e[i]);
        assert_non_null(refresh_queue_next(&q));
        RefreshEntry *d = refresh_queue_next(&q);
        assert_int_equal(refresh_queue_answered(&q, d), REFRESH_ANSWER_USE);
        assert_true(refresh_queue_defer(&q, d));
        refresh_queue_reset(&q);
        assert_false(refresh_queue_busy(&q));
        assert_int_equal(refresh_queue_retry_deferred(&q), 0);
        for (size_t i = 0; i < ELEMENTSOF(e); i++) {
                assert_int_equal(e[i].state, REFRESH_IDLE);
                assert_null(e[i].next);
                assert_null(e[i].prev);
        }
        /* And the queue works again after it. */
        refresh_queue_want(&q, &e[3]);
        assert_ptr_equal(refresh_queue_next(&q), &e[3]);
}

static void test_an_error_answer_pauses_the_whole_queue_until_the_retry(void **state) {
        RefreshEntry a = {}, b = {}, c = {};
        RefreshQueue q;

        three_wanted_one_sent(&q, &a, &b, &c);
        /* a: LimitsExceeded or NoReply. b and c would meet the same full bus
         * or busy systemd: none goes out before the retry. */
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_USE);
        assert_true(refresh_queue_defer(&q, &a));
        assert_null(refresh_queue_next(&q));
        assert_int_equal(refresh_queue_retry_deferred(&q), 1);
        assert_ptr_equal(refresh_queue_next(&q), &b);
}

static void test_the_pause_doubles_until_a_good_answer(void **state) {
        RefreshEntry a = {};
        RefreshQueue q;

        refresh_queue_init(&q, 1);
        uint64_t want[] = { 1, 2, 4, 8, 16, 30, 30 };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                refresh_queue_want(&q, &a);
                assert_ptr_equal(refresh_queue_next(&q), &a);
                assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_USE);
                assert_true(refresh_queue_defer(&q, &a));
                assert_int_equal(refresh_queue_retry_usec(&q), want[i] * 1000 * 1000ULL);
                assert_int_equal(refresh_queue_retry_deferred(&q), 1);
                assert_int_equal(refresh_queue_answered(&q, refresh_queue_next(&q)), REFRESH_ANSWER_USE);
        }
        refresh_queue_answer_ok(&q);
        refresh_queue_want(&q, &a);
        assert_ptr_equal(refresh_queue_next(&q), &a);
        assert_int_equal(refresh_queue_answered(&q, &a), REFRESH_ANSWER_USE);
        assert_true(refresh_queue_defer(&q, &a));
        assert_int_equal(refresh_queue_retry_usec(&q), 1000 * 1000ULL);
}

static void test_only_no_such_unit_means_gone(void **state) {
        assert_true(refresh_error_means_gone("org.freedesktop.systemd1.NoSuchUnit"));
        assert_true(refresh_error_means_gone("org.freedesktop.DBus.Error.UnknownObject"));
        assert_true(refresh_error_means_gone("org.freedesktop.DBus.Error.UnknownInterface"));
        /* The bus refused our question: says nothing about the unit. */
        assert_false(refresh_error_means_gone("org.freedesktop.DBus.Error.LimitsExceeded"));
        assert_false(refresh_error_means_gone("org.freedesktop.DBus.Error.NoReply"));
        assert_false(refresh_error_means_gone("org.freedesktop.DBus.Error.Timeout"));
        assert_false(refresh_error_means_gone("org.freedesktop.DBus.Error.ServiceUnknown"));
        assert_false(refresh_error_means_gone("org.freedesktop.DBus.Error.AccessDenied"));
        assert_false(refresh_error_means_gone(""));
        assert_false(refresh_error_means_gone(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_2000_units_at_start_never_exceed_the_bound_and_all_are_asked),
                cmocka_unit_test(test_units_are_asked_in_the_order_wanted_and_once),
                cmocka_unit_test(test_a_want_while_on_the_bus_asks_again_after_the_answer),
                cmocka_unit_test(test_a_stopped_unit_keeps_its_place_on_the_bus_until_answered),
                cmocka_unit_test(test_a_restart_after_a_stop_wants_the_answer_again),
                cmocka_unit_test(test_an_error_answer_is_asked_again_after_retry),
                cmocka_unit_test(test_a_deferred_unit_wanted_again_is_queued_once),
                cmocka_unit_test(test_an_error_answer_pauses_the_whole_queue_until_the_retry),
                cmocka_unit_test(test_the_pause_doubles_until_a_good_answer),
                cmocka_unit_test(test_a_freed_unit_gives_its_place_back),
                cmocka_unit_test(test_a_lost_connection_leaves_nothing_on_the_bus),
                cmocka_unit_test(test_only_no_such_unit_means_gone),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
