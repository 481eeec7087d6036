/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decisions of putting a unit's policy in force (src/daemon/apply.c):
 * which knobs are emulated, when a written knob stops being ours to undo,
 * whether a group or a unit owns a cgroup, whether OOMs are watched, and the
 * Emulator's settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/apply.h"

#define BIT(k) (1u << (k))

static const FeatureMode KERNEL = { .kernel = true };
static const FeatureMode EMULATE = { .emulate = true };
static const FeatureMode BOTH = { .kernel = true, .emulate = true };
static const FeatureMode OFF = {};

static MemcgDesired want(MemcgKnob k, uint64_t v) {
        MemcgDesired d = {};
        d.want[k] = true;
        d.value[k] = v;
        return d;
}

static void test_a_group_steps_back_for_a_systemd_unit_with_its_cgroup(void **state) {
        assert_true(apply_unit_owns_cgroup(UNIT_KIND_SYSTEMD, true));
        assert_true(apply_unit_owns_cgroup(UNIT_KIND_SYSTEMD, false));
        assert_true(apply_unit_owns_cgroup(UNIT_KIND_GROUP, false));
        assert_false(apply_unit_owns_cgroup(UNIT_KIND_GROUP, true));
}

static void test_a_unit_cares_with_a_policy_or_a_knob_to_reset(void **state) {
        Policy none = {}, some = { .set = POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS), .n_thresholds = 1 };
        MemcgDesired nothing = {}, reset = want(MEMCG_PRIORITY, 0);

        assert_false(apply_unit_cares(&none, &nothing));
        assert_true(apply_unit_cares(&some, &nothing));
        assert_true(apply_unit_cares(&none, &reset)); /* a setting went: memqos undoes its write */
}

static void test_ooms_are_watched_for_groups_slices_and_units_with_a_policy(void **state) {
        Config on = { .watch_oom = true }, off = { .watch_oom = false };
        Policy none = {}, some = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY), .memory_priority = 3 };

        assert_true(apply_watch_oom(&on, UNIT_KIND_GROUP, "/batch/job1", &none));
        assert_true(apply_watch_oom(&on, UNIT_KIND_SYSTEMD, "offline.slice", &none));
        assert_false(apply_watch_oom(&on, UNIT_KIND_SYSTEMD, "cron.service", &none));
        assert_true(apply_watch_oom(&on, UNIT_KIND_SYSTEMD, "cron.service", &some));
        assert_false(apply_watch_oom(&off, UNIT_KIND_GROUP, "/batch/job1", &some));
}

static void test_knobs_the_kernel_does_not_do_are_emulated(void **state) {
        const unsigned watermarks = BIT(MEMCG_WMARK_RATIO) | BIT(MEMCG_WMARK_SCALE_FACTOR);
        const unsigned priorities = BIT(MEMCG_PRIORITY) | BIT(MEMCG_USE_PRIORITY_OOM);

        assert_int_equal(apply_emulated_knobs(KERNEL, KERNEL), 0);
        assert_int_equal(apply_emulated_knobs(BOTH, KERNEL), 0); /* ahead of the kernel: still written */
        assert_int_equal(apply_emulated_knobs(EMULATE, KERNEL), watermarks);
        assert_int_equal(apply_emulated_knobs(KERNEL, EMULATE), priorities);
        assert_int_equal(apply_emulated_knobs(OFF, OFF), watermarks | priorities);
}

static void test_emulated_knobs_are_not_written_and_say_emulated(void **state) {
        MemcgDesired d = want(MEMCG_PRIORITY, 3), kernel;
        MemcgApplied a = {};
        unsigned emulated = apply_emulated_knobs(KERNEL, EMULATE);

        d.want[MEMCG_WMARK_RATIO] = true;
        d.value[MEMCG_WMARK_RATIO] = 80;
        apply_kernel_desired(&d, emulated, &kernel);
        assert_false(kernel.want[MEMCG_PRIORITY]);
        assert_false(kernel.want[MEMCG_USE_PRIORITY_OOM]);
        assert_true(kernel.want[MEMCG_WMARK_RATIO]);
        assert_int_equal(kernel.value[MEMCG_WMARK_RATIO], 80);

        a.state[MEMCG_WMARK_RATIO] = APPLY_WRITTEN;
        apply_mark_emulated(&d, emulated, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_EMULATED);
        assert_int_equal(a.state[MEMCG_USE_PRIORITY_OOM], APPLY_UNSET); /* emulated, but not wanted */
        assert_int_equal(a.state[MEMCG_WMARK_RATIO], APPLY_WRITTEN);
}

static void test_written_knobs_stay_ours_until_back_at_the_default(void **state) {
        Policy p = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY), .memory_priority = 3 };
        MemcgDesired d = want(MEMCG_PRIORITY, 3);
        MemcgApplied a = {};
        bool wrote;
        unsigned mask;

        /* written: ours to undo when the setting goes */
        a.state[MEMCG_PRIORITY] = APPLY_WRITTEN;
        mask = apply_written_mask(0, &p, &d, &a, &wrote);
        assert_int_equal(mask, BIT(MEMCG_PRIORITY));
        assert_true(wrote);

        /* already in place: nothing written, still ours */
        a.state[MEMCG_PRIORITY] = APPLY_IN_PLACE;
        mask = apply_written_mask(mask, &p, &d, &a, &wrote);
        assert_int_equal(mask, BIT(MEMCG_PRIORITY));
        assert_false(wrote);

        /* the setting went: reset to the kernel's default, then no longer ours */
        Policy none = {};
        d = want(MEMCG_PRIORITY, memcg_knob_default(MEMCG_PRIORITY));
        a.state[MEMCG_PRIORITY] = APPLY_WRITTEN;
        mask = apply_written_mask(mask, &none, &d, &a, &wrote);
        assert_int_equal(mask, 0);
        assert_true(wrote);

        /* the reset failed: still ours, tried again next time */
        a.state[MEMCG_PRIORITY] = APPLY_FAILED;
        mask = apply_written_mask(BIT(MEMCG_PRIORITY), &none, &d, &a, NULL);
        assert_int_equal(mask, BIT(MEMCG_PRIORITY));

        /* a policy that sets the default itself keeps it ours */
        Policy zero = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY), .memory_priority = 0 };
        a.state[MEMCG_PRIORITY] = APPLY_IN_PLACE;
        mask = apply_written_mask(BIT(MEMCG_PRIORITY), &zero, &d, &a, NULL);
        assert_int_equal(mask, BIT(MEMCG_PRIORITY));
}

static ApplyContext context(const Config *c, FeatureMode reclaim, FeatureMode oom) {
        return (ApplyContext) { .config = c, .reclaim_mode = reclaim, .oom_mode = oom, .page_size = 4096 };
}

static void test_emulator_reclaims_for_a_watermark_ratio_when_reclaim_is_emulated(void **state) {
        Config c = { .kill_watermark_ratio = 0, .reclaim_step_size = 1 << 20, .pressure_interval_usec = 100000,
                     .watch_oom = true, .ratelimit_interval_usec = 30000000 };
        Policy p = { .set = POLICY_KEY_BIT(POLICY_WATERMARK_RATIO), .watermark_ratio = 80 };
        MemcgDesired d = want(MEMCG_WMARK_RATIO, 80);
        EmulatorSettings s;

        ApplyContext ctx = context(&c, EMULATE, KERNEL);
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_true(s.reclaim);
        assert_false(s.kill);
        assert_true(apply_wants_emulator(&s));
        assert_int_equal(s.wmark_ratio, 80);
        assert_int_equal(s.wmark_scale_factor, 50); /* the kernel's default when unset */
        assert_false(s.ahead_of_kernel);
        assert_int_equal(s.step_size, 1 << 20);
        assert_int_equal(s.interval_usec, 100000);
        assert_int_equal(s.page_size, 4096);
        assert_int_equal(s.summary_interval_usec, 30000000);
        assert_true(s.watch_oom);
        assert_int_equal(s.squeeze_fd, -1);

        /* the unit's own watch hears OOMs and passes them on */
        apply_emulator_settings(&ctx, &p, &d, true, &s);
        assert_false(s.watch_oom);

        /* both: memqosd works one gap ahead of the kernel's reclaim */
        ctx = context(&c, BOTH, KERNEL);
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_true(s.reclaim);
        assert_true(s.ahead_of_kernel);

        /* the kernel alone, or a ratio of 0: no reclaim of memqosd's own */
        ctx = context(&c, KERNEL, KERNEL);
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_false(apply_wants_emulator(&s));
        p.watermark_ratio = 0;
        ctx = context(&c, EMULATE, KERNEL);
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_false(s.reclaim);
}

static void test_emulator_kills_where_priority_oom_is_wanted_on_and_emulated(void **state) {
        Config c = { .kill_watermark_ratio = 95 };
        Policy p = {};
        MemcgDesired d = want(MEMCG_USE_PRIORITY_OOM, 1);
        EmulatorSettings s;

        ApplyContext ctx = context(&c, KERNEL, EMULATE);
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_true(s.kill);
        assert_false(s.reclaim);
        assert_int_equal(s.kill_ratio, 95);

        d.value[MEMCG_USE_PRIORITY_OOM] = 0; /* wanted off */
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_false(s.kill);

        d.value[MEMCG_USE_PRIORITY_OOM] = 1;
        c.kill_watermark_ratio = 0; /* KillWatermarkRatio=0: no pre-emptive kill */
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_false(s.kill);

        c.kill_watermark_ratio = 95;
        ctx = context(&c, KERNEL, KERNEL); /* the kernel's priority OOM */
        apply_emulator_settings(&ctx, &p, &d, false, &s);
        assert_false(s.kill);
}

static void test_a_missing_cgroup_is_looked_for_again_then_left_to_systemd(void **state) {
        uint64_t sum = 0;

        assert_int_equal(apply_cgroup_retry_delay_usec(0), 1000000);
        assert_int_equal(apply_cgroup_retry_delay_usec(1), 2000000);
        assert_int_equal(apply_cgroup_retry_delay_usec(4), 16000000);
        assert_int_equal(apply_cgroup_retry_delay_usec(5), 30000000); /* capped */
        for (unsigned i = 0; i < APPLY_CGROUP_RETRIES; i++) {
                assert_true(apply_cgroup_retry_delay_usec(i) > 0);
                sum += apply_cgroup_retry_delay_usec(i);
        }
        /* a few minutes in all, then no more questions */
        assert_true(sum >= 2 * 60 * 1000000ULL && sum <= 5 * 60 * 1000000ULL);
        assert_int_equal(apply_cgroup_retry_delay_usec(APPLY_CGROUP_RETRIES), 0);
        assert_int_equal(apply_cgroup_retry_delay_usec(UINT32_MAX), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_missing_cgroup_is_looked_for_again_then_left_to_systemd),
                cmocka_unit_test(test_a_group_steps_back_for_a_systemd_unit_with_its_cgroup),
                cmocka_unit_test(test_a_unit_cares_with_a_policy_or_a_knob_to_reset),
                cmocka_unit_test(test_ooms_are_watched_for_groups_slices_and_units_with_a_policy),
                cmocka_unit_test(test_knobs_the_kernel_does_not_do_are_emulated),
                cmocka_unit_test(test_emulated_knobs_are_not_written_and_say_emulated),
                cmocka_unit_test(test_written_knobs_stay_ours_until_back_at_the_default),
                cmocka_unit_test(test_emulator_reclaims_for_a_watermark_ratio_when_reclaim_is_emulated),
                cmocka_unit_test(test_emulator_kills_where_priority_oom_is_wanted_on_and_emulated),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
