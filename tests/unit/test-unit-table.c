/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unit table (src/daemon/unit.c): lookups by name, the stale units a
 * resync with systemd lets go, and which unit a cgroup belongs to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "daemon/unit.h"

#define UNITS_MAX 8

typedef struct Fixture {
        UnitTable table;
        Unit units[UNITS_MAX];
        size_t n;
} Fixture;

static Unit *add(Fixture *f, const char *name, UnitKind kind, const char *cgroup) {
        Unit *u = &f->units[f->n++];

        assert_true(f->n <= UNITS_MAX);
        *u = (Unit) { .name = (char *) name, .kind = kind, .control_group = (char *) cgroup };
        assert_int_equal(unit_table_add(&f->table, u), 0);
        return u;
}

static void nothing(void *u) {
        /* the units are the fixture's */
}

static void fixture_done(Fixture *f) {
        unit_table_clear(&f->table, nothing);
        assert_int_equal(f->table.n, 0);
        assert_null(f->table.root);
}

static void test_units_are_found_by_name_and_counted(void **state) {
        Fixture f = {};
        Unit *a = add(&f, "a.slice", UNIT_KIND_SYSTEMD, "/a.slice");
        Unit *g = add(&f, "/batch/job1", UNIT_KIND_GROUP, "/batch/job1");

        assert_int_equal(f.table.n, 2);
        assert_ptr_equal(unit_table_get(&f.table, "a.slice"), a);
        assert_ptr_equal(unit_table_get(&f.table, "/batch/job1"), g);
        assert_null(unit_table_get(&f.table, "b.slice"));

        unit_table_remove(&f.table, a);
        assert_int_equal(f.table.n, 1);
        assert_null(unit_table_get(&f.table, "a.slice"));
        unit_table_remove(&f.table, a); /* not in it any more: no change */
        assert_int_equal(f.table.n, 1);
        fixture_done(&f);
}

static void test_stale_units_are_systemd_units_the_last_list_did_not_see(void **state) {
        Fixture f = {};
        Unit *seen = add(&f, "seen.service", UNIT_KIND_SYSTEMD, "/system.slice/seen.service");
        Unit *gone = add(&f, "gone.service", UNIT_KIND_SYSTEMD, NULL);
        Unit *group = add(&f, "/batch", UNIT_KIND_GROUP, "/batch");

        seen->generation = 7;
        gone->generation = 6;
        group->generation = 0; /* groups are not listed by systemd: never stale */

        assert_ptr_equal(unit_table_find_stale(&f.table, 7), gone);
        gone->generation = 7; /* what the resync does with a dormant one */
        assert_null(unit_table_find_stale(&f.table, 7));
        fixture_done(&f);
}

static void test_a_cgroup_belongs_to_the_deepest_unit_containing_it(void **state) {
        Fixture f = {};
        Unit *root = add(&f, "-.slice", UNIT_KIND_SYSTEMD, "/");
        Unit *offline = add(&f, "offline.slice", UNIT_KIND_SYSTEMD, "/offline.slice");
        Unit *job = add(&f, "job.scope", UNIT_KIND_SYSTEMD, "/offline.slice/job.scope");
        add(&f, "stopped.service", UNIT_KIND_SYSTEMD, NULL);

        assert_ptr_equal(unit_table_deepest_for_cgroup(&f.table, "/offline.slice/job.scope/leaf"), job);
        assert_ptr_equal(unit_table_deepest_for_cgroup(&f.table, "/offline.slice/job.scope"), job);
        assert_ptr_equal(unit_table_deepest_for_cgroup(&f.table, "/offline.slice/other.scope"), offline);
        assert_ptr_equal(unit_table_deepest_for_cgroup(&f.table, "/offline.slice2"), root); /* by component */
        assert_ptr_equal(unit_table_deepest_for_cgroup(&f.table, "/"), root);
        assert_null(unit_table_deepest_for_cgroup(&f.table, NULL));

        unit_table_remove(&f.table, root);
        assert_null(unit_table_deepest_for_cgroup(&f.table, "/system.slice/x.service"));
        fixture_done(&f);
}

static void test_by_cgroup_prefers_nothing_but_can_ask_for_systemd_units_only(void **state) {
        Fixture f = {};
        Unit *g = add(&f, "/kubepods/pod1", UNIT_KIND_GROUP, "/kubepods/pod1");

        assert_ptr_equal(unit_table_get_by_cgroup(&f.table, "/kubepods/pod1", false), g);
        assert_null(unit_table_get_by_cgroup(&f.table, "/kubepods/pod1", true));
        Unit *s = add(&f, "pod1.slice", UNIT_KIND_SYSTEMD, "/kubepods/pod1");
        assert_ptr_equal(unit_table_get_by_cgroup(&f.table, "/kubepods/pod1", true), s);
        assert_null(unit_table_get_by_cgroup(&f.table, "/kubepods", false));
        fixture_done(&f);
}

static void test_prioritized_child_is_a_direct_child_with_memory_priority(void **state) {
        Fixture f = {};
        Unit *grandchild = add(&f, "/batch/a/b", UNIT_KIND_GROUP, "/batch/a/b");
        Unit *child = add(&f, "/batch/c", UNIT_KIND_GROUP, "/batch/c");

        grandchild->policy = (Policy) { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY), .memory_priority = 3 };
        assert_null(unit_table_prioritized_child(&f.table, "/batch"));
        child->policy = (Policy) { .set = POLICY_KEY_BIT(POLICY_WATERMARK_RATIO), .watermark_ratio = 50 };
        assert_null(unit_table_prioritized_child(&f.table, "/batch"));
        child->policy.set |= POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY);
        assert_ptr_equal(unit_table_prioritized_child(&f.table, "/batch"), child);
        assert_ptr_equal(unit_table_prioritized_child(&f.table, "/batch/a"), grandchild);
        fixture_done(&f);
}

/* A unit's last events (the D-Bus API's LastEvents, the state file's
 * LAST_EVENT=): newest first, the oldest dropped past UNIT_EVENTS_KEPT. */
static void test_last_events_keep_the_newest(void **state) {
        UnitStats st = {};
        char msg[16];

        assert_null(unit_stats_event(&st, 0));
        for (unsigned i = 1; i <= UNIT_EVENTS_KEPT + 3; i++) {
                snprintf(msg, sizeof(msg), "event %u", i);
                unit_stats_add_event(&st, i, "threshold", msg);
        }
        assert_int_equal(st.n_events, UNIT_EVENTS_KEPT);
        assert_string_equal(unit_stats_event(&st, 0)->message, "event 11");
        assert_int_equal(unit_stats_event(&st, 0)->realtime_usec, UNIT_EVENTS_KEPT + 3);
        assert_string_equal(unit_stats_event(&st, UNIT_EVENTS_KEPT - 1)->message, "event 4");
        assert_null(unit_stats_event(&st, UNIT_EVENTS_KEPT));
        unit_stats_done(&st);
        assert_null(unit_stats_event(&st, 0));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_units_are_found_by_name_and_counted),
                cmocka_unit_test(test_stale_units_are_systemd_units_the_last_list_did_not_see),
                cmocka_unit_test(test_a_cgroup_belongs_to_the_deepest_unit_containing_it),
                cmocka_unit_test(test_by_cgroup_prefers_nothing_but_can_ask_for_systemd_units_only),
                cmocka_unit_test(test_prioritized_child_is_a_direct_child_with_memory_priority),
                cmocka_unit_test(test_last_events_keep_the_newest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
