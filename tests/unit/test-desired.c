/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "basic/cgroup-path.h"
#include "daemon/desired.h"

static Policy policy_with_priority(unsigned prio) {
        Policy p = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY), .memory_priority = prio };
        return p;
}

static void test_policy_values_become_desired(void **state) {
        Policy p = {
                .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_WATERMARK_RATIO) |
                       POLICY_KEY_BIT(POLICY_WATERMARK_SCALE_FACTOR) | POLICY_KEY_BIT(POLICY_USE_PRIORITY_OOM),
                .memory_priority = 2,
                .watermark_ratio = 80,
                .watermark_scale_factor = 100,
                .use_priority_oom = true,
        };
        MemcgDesired d;

        desired_compute(&(DesiredInput) { .policy = &p }, &d);
        assert_true(d.want[MEMCG_PRIORITY]);
        assert_int_equal(d.value[MEMCG_PRIORITY], 2);
        assert_true(d.want[MEMCG_WMARK_RATIO]);
        assert_int_equal(d.value[MEMCG_WMARK_RATIO], 80);
        assert_true(d.want[MEMCG_WMARK_SCALE_FACTOR]);
        assert_int_equal(d.value[MEMCG_WMARK_SCALE_FACTOR], 100);
        assert_true(d.want[MEMCG_USE_PRIORITY_OOM]);
        assert_int_equal(d.value[MEMCG_USE_PRIORITY_OOM], 1);
}

static void test_empty_policy_leaves_everything_alone(void **state) {
        Policy p = {};
        MemcgDesired d;

        desired_compute(&(DesiredInput) { .policy = &p, .parent_use_priority_oom = true }, &d);
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                assert_false(d.want[k]);
}

static void test_parent_of_prioritized_child_gets_priority_oom(void **state) {
        Policy p = {};
        MemcgDesired d;

        desired_compute(&(DesiredInput) { .policy = &p, .has_prioritized_child = true,
                                          .parent_use_priority_oom = true }, &d);
        assert_true(d.want[MEMCG_USE_PRIORITY_OOM]);
        assert_int_equal(d.value[MEMCG_USE_PRIORITY_OOM], 1);
        assert_false(d.want[MEMCG_PRIORITY]);
}

static void test_parent_default_off_leaves_priority_oom_alone(void **state) {
        Policy p = {};
        MemcgDesired d;

        desired_compute(&(DesiredInput) { .policy = &p, .has_prioritized_child = true,
                                          .parent_use_priority_oom = false }, &d);
        assert_false(d.want[MEMCG_USE_PRIORITY_OOM]);
}

static void test_explicit_use_priority_oom_no_wins_over_children(void **state) {
        Policy p = { .set = POLICY_KEY_BIT(POLICY_USE_PRIORITY_OOM), .use_priority_oom = false };
        MemcgDesired d;

        desired_compute(&(DesiredInput) { .policy = &p, .has_prioritized_child = true,
                                          .parent_use_priority_oom = true }, &d);
        assert_true(d.want[MEMCG_USE_PRIORITY_OOM]);
        assert_int_equal(d.value[MEMCG_USE_PRIORITY_OOM], 0);
}

static void test_removed_setting_is_reset_to_kernel_default(void **state) {
        Policy p = policy_with_priority(3);
        MemcgDesired d;

        /* WatermarkRatio= and WatermarkScaleFactor= were written before and are gone now. */
        unsigned written = (1u << MEMCG_WMARK_RATIO) | (1u << MEMCG_WMARK_SCALE_FACTOR) |
                           (1u << MEMCG_USE_PRIORITY_OOM);
        desired_compute(&(DesiredInput) { .policy = &p, .written_mask = written }, &d);
        assert_true(d.want[MEMCG_PRIORITY]);
        assert_int_equal(d.value[MEMCG_PRIORITY], 3);
        assert_true(d.want[MEMCG_WMARK_RATIO]);
        assert_int_equal(d.value[MEMCG_WMARK_RATIO], 0);
        assert_true(d.want[MEMCG_WMARK_SCALE_FACTOR]);
        assert_int_equal(d.value[MEMCG_WMARK_SCALE_FACTOR], 50);
        assert_true(d.want[MEMCG_USE_PRIORITY_OOM]);
        assert_int_equal(d.value[MEMCG_USE_PRIORITY_OOM], 0);
}

static void test_cgroup_parent(void **state) {
        char buf[64];

        assert_int_equal(cgroup_parent("/a.slice/b.scope", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "/a.slice");
        assert_int_equal(cgroup_parent("/a.slice", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "/");
        assert_int_equal(cgroup_parent("/", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(cgroup_parent("/a/../b", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(cgroup_parent("/a.slice/b.scope", buf, 4), -ENOBUFS);
}

static void test_direct_child_only(void **state) {
        assert_true(cgroup_is_direct_child("/", "/offline.slice"));
        assert_true(cgroup_is_direct_child("/offline.slice", "/offline.slice/job.scope"));
        assert_false(cgroup_is_direct_child("/", "/offline.slice/job.scope"));
        assert_false(cgroup_is_direct_child("/offline.slice", "/offline.slice"));
        assert_false(cgroup_is_direct_child("/offline", "/offline.slice/job.scope"));
}

static void test_contains_is_by_path_component(void **state) {
        assert_true(cgroup_contains("/", "/offline.slice/x.scope"));
        assert_true(cgroup_contains("/offline.slice", "/offline.slice"));
        assert_true(cgroup_contains("/offline.slice", "/offline.slice/x.scope"));
        assert_false(cgroup_contains("/offline.slice", "/offline.slice2/x.scope"));
        assert_false(cgroup_contains("/offline.slice/x.scope", "/offline.slice"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_policy_values_become_desired),
                cmocka_unit_test(test_empty_policy_leaves_everything_alone),
                cmocka_unit_test(test_parent_of_prioritized_child_gets_priority_oom),
                cmocka_unit_test(test_parent_default_off_leaves_priority_oom_alone),
                cmocka_unit_test(test_explicit_use_priority_oom_no_wins_over_children),
                cmocka_unit_test(test_removed_setting_is_reset_to_kernel_default),
                cmocka_unit_test(test_cgroup_parent),
                cmocka_unit_test(test_direct_child_only),
                cmocka_unit_test(test_contains_is_by_path_component),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
