/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The accuracy of memqosd's timers, asked of a real sd-event loop: sd-event
 * lets a timer fire up to its accuracy late, and takes 0 for 250 ms, so a
 * 20 ms pressure tick armed with 0 paced reclaim at up to 270 ms. The tick
 * and the standing bounds' timer are armed here through the functions the
 * daemon uses. No wall clock is measured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "basic/event-timer.h"
#include "basic/util.h"
#include "emulate/emulator-internal.h"

#define MSEC 1000ULL

static int on_nothing(sd_event_source *s, uint64_t usec, void *userdata) {
        return 0;
}

static uint64_t accuracy_of(sd_event_source *s) {
        uint64_t a = UINT64_MAX;
        assert_non_null(s);
        assert_int_equal(sd_event_source_get_time_accuracy(s, &a), 0);
        return a;
}

static void test_accuracy_is_a_tenth_of_the_interval_from_1ms_to_250ms(void **state) {
        assert_int_equal(event_timer_accuracy_usec(20 * MSEC), 2 * MSEC);
        assert_int_equal(event_timer_accuracy_usec(100 * MSEC), 10 * MSEC);
        assert_int_equal(event_timer_accuracy_usec(1 * MSEC), 1 * MSEC);  /* never 0: that is 250 ms */
        assert_int_equal(event_timer_accuracy_usec(0), 1 * MSEC);
        assert_int_equal(event_timer_accuracy_usec(10 * 1000 * MSEC), 250 * MSEC);
        assert_int_equal(event_timer_accuracy_usec(UINT64_MAX), 250 * MSEC);
}

static void pressure_tick_is_at_most_a_tenth_late(uint64_t interval_usec) {
        Emulator e = { .s.interval_usec = interval_usec, .s.squeeze_fd = -1 };
        uint64_t due_first, due_again;

        assert_int_equal(sd_event_new(&e.event), 0);
        /* as the first check in the zone arms it */
        assert_int_equal(emulator_arm_tick(&e), 0);
        uint64_t slack = interval_usec / 10 > MSEC ? interval_usec / 10 : MSEC;
        assert_in_range(accuracy_of(e.tick), 1, slack);
        assert_int_equal(sd_event_source_get_time(e.tick, &due_first), 0);

        /* and as each check in the zone moves it on */
        assert_true(sd_event_source_set_enabled(e.tick, SD_EVENT_OFF) >= 0);
        assert_int_equal(emulator_arm_tick(&e), 0);
        assert_in_range(accuracy_of(e.tick), 1, slack);
        int enabled = SD_EVENT_OFF;
        assert_int_equal(sd_event_source_get_enabled(e.tick, &enabled), 1);
        assert_int_equal(enabled, SD_EVENT_ONESHOT);
        assert_int_equal(sd_event_source_get_time(e.tick, &due_again), 0);
        assert_true(due_again >= due_first);

        e.tick = sd_event_source_disable_unref(e.tick);
        e.event = sd_event_unref(e.event);
}

static void test_pressure_tick_at_20ms_is_at_most_2ms_late(void **state) {
        pressure_tick_is_at_most_a_tenth_late(20 * MSEC); /* PressureIntervalSec='s default */
}

static void test_pressure_tick_at_1ms_is_at_most_1ms_late(void **state) {
        pressure_tick_is_at_most_a_tenth_late(1 * MSEC); /* the shortest allowed */
}

static void test_standing_bounds_look_at_most_a_tenth_of_their_interval_late(void **state) {
        MemcgRoot root = { .layout = MEMCG_LAYOUT_V1, .fd = -1 };
        Emulator e = {
                .root = &root,
                .s = { .reclaim = true, .standing_bounds = true, .squeeze_fd = 0, .interval_usec = 20 * MSEC },
                .bound_start = 64 * 1024 * 1024,
        };

        assert_int_equal(sd_event_new(&e.event), 0);
        emulator_arm_bounds(&e, 0); /* the first look, at once */
        assert_in_range(accuracy_of(e.bound_timer), 1, EMU_BOUND_INTERVAL_USEC / 10);

        e.bound_timer = sd_event_source_disable_unref(e.bound_timer);
        e.event = sd_event_unref(e.event);
}

static void test_arm_adds_then_moves_and_enables_again(void **state) {
        sd_event *event = NULL;
        sd_event_source *s = NULL;
        const char *name = NULL;
        uint64_t due, now;
        int enabled = SD_EVENT_OFF;

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(event_timer_arm(event, &s, 5 * MSEC, 1 * MSEC, on_nothing, NULL, "test-timer"), 0);
        assert_int_equal(accuracy_of(s), 1 * MSEC);
        assert_int_equal(sd_event_source_get_description(s, &name), 0);
        assert_string_equal(name, "test-timer");

        assert_true(sd_event_source_set_enabled(s, SD_EVENT_OFF) >= 0);
        assert_int_equal(event_timer_arm(event, &s, 1000 * MSEC, 100 * MSEC, on_nothing, NULL, "test-timer"), 0);
        assert_int_equal(accuracy_of(s), 100 * MSEC);
        assert_int_equal(sd_event_source_get_enabled(s, &enabled), 1);
        assert_int_equal(enabled, SD_EVENT_ONESHOT);
        assert_true(sd_event_now(event, CLOCK_MONOTONIC, &now) >= 0);
        assert_int_equal(sd_event_source_get_time(s, &due), 0);
        assert_true(due >= now + 900 * MSEC); /* moved on, not left at 5 ms */

        s = sd_event_source_disable_unref(s);
        sd_event_unref(event);
}

/* A grace is the time a client has after its notice: it is counted from when
 * the grace starts, not from when the loop last woke up (a pass that took
 * 100 ms under load before telling would leave 100 ms of a 200 ms grace;
 * seen: 47 ms). The loop is made to wake, then 60 ms go by before the grace
 * starts. */
static void test_grace_is_counted_from_its_start_not_from_the_loop_wakeup(void **state) {
        Emulator e = { .s.squeeze_fd = -1 };
        LadderNotice notice = { .cgroup = "/offline", .priority = 1, .want = 1 << 20, .usage = 1 << 30, .told = 1 };
        struct timespec pause = { .tv_nsec = 60 * 1000 * 1000 };
        uint64_t before, due;

        assert_int_equal(sd_event_new(&e.event), 0);
        assert_true(sd_event_run(e.event, 0) >= 0); /* the loop's "now" is taken here */
        nanosleep(&pause, NULL);
        before = clock_usec(CLOCK_MONOTONIC);
        assert_int_equal(emulator_grace_start(&e, LADDER_RECLAIM, &notice, 1, 1 << 30, 200 * MSEC), 0);
        assert_non_null(e.reclaim_grace.timer);
        assert_int_equal(sd_event_source_get_time(e.reclaim_grace.timer, &due), 0);
        assert_true(due >= before + 200 * MSEC);

        emulator_grace_clear(&e.reclaim_grace);
        e.event = sd_event_unref(e.event);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accuracy_is_a_tenth_of_the_interval_from_1ms_to_250ms),
                cmocka_unit_test(test_pressure_tick_at_20ms_is_at_most_2ms_late),
                cmocka_unit_test(test_pressure_tick_at_1ms_is_at_most_1ms_late),
                cmocka_unit_test(test_standing_bounds_look_at_most_a_tenth_of_their_interval_late),
                cmocka_unit_test(test_arm_adds_then_moves_and_enables_again),
                cmocka_unit_test(test_grace_is_counted_from_its_start_not_from_the_loop_wakeup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
