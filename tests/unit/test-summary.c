/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/util.h"
#include "daemon/summary.h"

#define GIB (1ull << 30)

typedef struct Fixture {
        Policy policy;
        MemcgDesired desired;
        MemcgApplied applied;
        PolicySummary s;
} Fixture;

static void fixture_init(Fixture *f, const char *name, uint64_t limit) {
        *f = (Fixture) {};
        f->s = (PolicySummary) { .name = name, .limit_setting = "MemoryMax=", .policy = &f->policy,
                                 .desired = &f->desired, .applied = &f->applied, .limit = limit,
                                 .wmark_high = MEMCG_UNLIMITED, .wmark_low = MEMCG_UNLIMITED };
}

/* memqosd programs knob k to v, with outcome st. */
static void want(Fixture *f, MemcgKnob k, unsigned v, ApplyState st) {
        f->desired.want[k] = true;
        f->desired.value[k] = v;
        f->applied.state[k] = st;
}

/* The policy sets key k to v and memqosd programs it with outcome st. */
static void set(Fixture *f, PolicyKey k, unsigned v, ApplyState st) {
        f->policy.set |= POLICY_KEY_BIT(k);
        switch (k) {
        case POLICY_MEMORY_PRIORITY: f->policy.memory_priority = v; break;
        case POLICY_USE_PRIORITY_OOM: f->policy.use_priority_oom = v; break;
        case POLICY_WATERMARK_RATIO: f->policy.watermark_ratio = v; break;
        case POLICY_WATERMARK_SCALE_FACTOR: f->policy.watermark_scale_factor = v; break;
        default: break;
        }
        want(f, (MemcgKnob) k, v, st);
}

static char *summary(const Fixture *f) {
        char *text = NULL;
        assert_int_equal(policy_summary_format(&f->s, &text), 0);
        assert_non_null(text);
        return text;
}

static void test_summary_lists_settings_with_outcome_and_reclaim_range(void **state) {
        Fixture f;
        fixture_init(&f, "offline.slice", GIB);
        set(&f, POLICY_MEMORY_PRIORITY, 3, APPLY_WRITTEN);
        set(&f, POLICY_WATERMARK_RATIO, 80, APPLY_EMULATED);
        f.s.wmark_high = 858993459;
        f.s.wmark_low = 853624750;

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "Policy in force: MemoryPriority=3 (written), WatermarkRatio=80 (emulated). "
                               "Reclaim starts at 819M, 80% of the 1G limit, and stops at 814M.");
}

static void test_summary_says_why_watermarks_without_limit_do_nothing(void **state) {
        Fixture f;
        fixture_init(&f, "offline.slice", MEMCG_UNLIMITED);
        set(&f, POLICY_MEMORY_PRIORITY, 1, APPLY_IN_PLACE);
        set(&f, POLICY_WATERMARK_RATIO, 80, APPLY_WRITTEN);

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "Policy in force: MemoryPriority=1 (in-place). "
                               "WatermarkRatio=80 (written) has no effect: offline.slice has no memory limit "
                               "(set MemoryMax=).");
}

static void test_summary_percent_thresholds_without_limit_do_nothing(void **state) {
        Fixture f;
        fixture_init(&f, "/batch/a", MEMCG_UNLIMITED);
        f.s.limit_setting = "memory.limit_in_bytes";
        f.policy.set = POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS);
        f.policy.n_thresholds = 2;
        f.policy.thresholds[0] = (Threshold) { .is_percent = true, .value = 80 };
        f.policy.thresholds[1] = (Threshold) { .value = GIB };

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "Policy in force: MemoryThresholds=1G. "
                               "MemoryThresholds=80% has no effect: /batch/a has no memory limit "
                               "(set memory.limit_in_bytes).");
}

static void test_summary_names_the_reserve(void **state) {
        Fixture f;
        fixture_init(&f, "online.slice", GIB);
        set(&f, POLICY_MEMORY_PRIORITY, 10, APPLY_EMULATED);
        f.policy.set |= POLICY_KEY_BIT(POLICY_MEMORY_RESERVE);
        f.policy.memory_reserve = (Threshold) { .value = 512 * 1024 * 1024ULL };

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "Policy in force: MemoryPriority=10 (emulated), MemoryReserve=512M.");
}

static void test_summary_gives_the_parent_flag_its_own_sentence(void **state) {
        Fixture f;
        fixture_init(&f, "machine.slice", GIB);
        want(&f, MEMCG_USE_PRIORITY_OOM, 1, APPLY_WRITTEN);

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "memqosd set UsePriorityOOM=1 (written) itself: a child cgroup has "
                               "MemoryPriority= (memqos.conf ParentUsePriorityOOM=yes).");
}

static void test_summary_says_what_went_back_to_the_default(void **state) {
        Fixture f;
        fixture_init(&f, "offline.slice", GIB);
        want(&f, MEMCG_WMARK_RATIO, 0, APPLY_WRITTEN);

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "No longer set, back to the kernel default: WatermarkRatio=0 (written).");
}

static void test_summary_of_nothing_is_none(void **state) {
        Fixture f;
        fixture_init(&f, "offline.slice", MEMCG_UNLIMITED);

        _cleanup_free_ char *t = summary(&f);
        assert_string_equal(t, "Policy in force: none.");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_summary_lists_settings_with_outcome_and_reclaim_range),
                cmocka_unit_test(test_summary_says_why_watermarks_without_limit_do_nothing),
                cmocka_unit_test(test_summary_percent_thresholds_without_limit_do_nothing),
                cmocka_unit_test(test_summary_names_the_reserve),
                cmocka_unit_test(test_summary_gives_the_parent_flag_its_own_sentence),
                cmocka_unit_test(test_summary_says_what_went_back_to_the_default),
                cmocka_unit_test(test_summary_of_nothing_is_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
