/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "basic/util.h"
#include "daemon/bustrust.h"

#define SYSTEMD "org.freedesktop.systemd1"

static void test_only_the_current_owner_speaks_for_systemd(void **state) {
        assert_true(bus_sender_is_owner(":1.3", ":1.3"));
        /* any other client, e.g. uid 65534's ":1.77" */
        assert_false(bus_sender_is_owner(":1.77", ":1.3"));
        /* systemd before it re-executed */
        assert_false(bus_sender_is_owner(":1.3", ":1.90"));
}

static void test_nobody_speaks_for_systemd_while_it_is_off_the_bus(void **state) {
        assert_false(bus_sender_is_owner(":1.3", NULL));
        assert_false(bus_sender_is_owner(":1.3", ""));
        assert_false(bus_sender_is_owner(NULL, NULL));
        assert_false(bus_sender_is_owner("", ""));
}

static void test_a_well_known_name_as_sender_is_never_systemd(void **state) {
        assert_false(bus_sender_is_owner(SYSTEMD, SYSTEMD));
        assert_false(bus_sender_is_owner(BUS_DRIVER_NAME, BUS_DRIVER_NAME));
        assert_false(bus_sender_is_owner(":", ":"));
        assert_false(bus_sender_is_owner(NULL, ":1.3"));
}

static void test_only_the_bus_driver_announces_owners(void **state) {
        assert_true(bus_sender_is_driver(BUS_DRIVER_NAME));
        assert_false(bus_sender_is_driver(":1.77"));
        assert_false(bus_sender_is_driver(SYSTEMD));
        assert_false(bus_sender_is_driver(NULL));

        assert_int_equal(bus_owner_change(":1.77", SYSTEMD, SYSTEMD, ":1.77"), BUS_OWNER_CHANGE_IGNORED);
        assert_int_equal(bus_owner_change(":1.77", SYSTEMD, SYSTEMD, ""), BUS_OWNER_CHANGE_IGNORED);
        assert_int_equal(bus_owner_change(NULL, SYSTEMD, SYSTEMD, ":1.3"), BUS_OWNER_CHANGE_IGNORED);
}

static void test_owner_changes_of_the_followed_name(void **state) {
        assert_int_equal(bus_owner_change(BUS_DRIVER_NAME, SYSTEMD, SYSTEMD, ""), BUS_OWNER_CHANGE_LEFT);
        assert_int_equal(bus_owner_change(BUS_DRIVER_NAME, SYSTEMD, SYSTEMD, NULL), BUS_OWNER_CHANGE_LEFT);
        assert_int_equal(bus_owner_change(BUS_DRIVER_NAME, SYSTEMD, SYSTEMD, ":1.90"), BUS_OWNER_CHANGE_CAME);
        /* other names, and an owner that is not a unique name */
        assert_int_equal(bus_owner_change(BUS_DRIVER_NAME, SYSTEMD, "org.example", ":1.90"),
                         BUS_OWNER_CHANGE_IGNORED);
        assert_int_equal(bus_owner_change(BUS_DRIVER_NAME, SYSTEMD, NULL, ":1.90"), BUS_OWNER_CHANGE_IGNORED);
        assert_int_equal(bus_owner_change(BUS_DRIVER_NAME, SYSTEMD, SYSTEMD, "org.example"),
                         BUS_OWNER_CHANGE_IGNORED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_only_the_current_owner_speaks_for_systemd),
                cmocka_unit_test(test_nobody_speaks_for_systemd_while_it_is_off_the_bus),
                cmocka_unit_test(test_a_well_known_name_as_sender_is_never_systemd),
                cmocka_unit_test(test_only_the_bus_driver_announces_owners),
                cmocka_unit_test(test_owner_changes_of_the_followed_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
