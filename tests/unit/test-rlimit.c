/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The descriptor limit memqosd raises at start (rlimit.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/rlimit.h"

static void test_soft_limit_goes_up_to_the_hard_limit(void **state) {
        struct rlimit rl = { .rlim_cur = 1024, .rlim_max = 524288 };

        assert_int_equal(rlimit_nofile_target(&rl, 1048576), 524288);
}

static void test_unlimited_hard_limit_is_capped_at_nr_open(void **state) {
        struct rlimit rl = { .rlim_cur = 1024, .rlim_max = RLIM_INFINITY };

        assert_int_equal(rlimit_nofile_target(&rl, 1048576), 1048576);
}

static void test_soft_limit_never_goes_down(void **state) {
        /* A soft limit above nr_open (raised before nr_open was lowered)
         * stays: lowering it could close the door on fds already open. */
        struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 8192 };

        assert_int_equal(rlimit_nofile_target(&rl, 2048), 4096);
        rl = (struct rlimit) { .rlim_cur = 1024, .rlim_max = 1024 };
        assert_int_equal(rlimit_nofile_target(&rl, 1048576), 1024);
}

static void test_bump_raises_this_process(void **state) {
        struct rlimit before, after;
        rlim_t now;

        assert_int_equal(getrlimit(RLIMIT_NOFILE, &before), 0);
        if (before.rlim_max > 256) {
                /* Start from a low soft limit, as a service does. */
                struct rlimit low = { .rlim_cur = 256, .rlim_max = before.rlim_max };
                assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        }
        assert_int_equal(rlimit_nofile_bump(&now), 0);
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &after), 0);
        assert_int_equal(after.rlim_cur, now);
        assert_int_equal(after.rlim_max, before.rlim_max);
        assert_true(after.rlim_cur == after.rlim_max || after.rlim_max == RLIM_INFINITY);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_soft_limit_goes_up_to_the_hard_limit),
                cmocka_unit_test(test_unlimited_hard_limit_is_capped_at_nr_open),
                cmocka_unit_test(test_soft_limit_never_goes_down),
                cmocka_unit_test(test_bump_raises_this_process),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
