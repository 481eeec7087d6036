/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The drop-ins of `memqosctl set` (src/conf/policy-set.c): one file per key,
 * refused with the message a bad drop-in gets, nothing but [X-MemQoS] keys. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "conf/policy-set.h"

static void test_set_writes_one_dropin_per_key(void **state) {
        char *keys[] = { "MemoryPriority", "WatermarkRatio" }, *values[] = { "3", "" };
        PolicySetFile *files = NULL;
        size_t n = 0;
        _cleanup_free_ char *error = NULL;
        assert_int_equal(policy_set_prepare("/etc/systemd/system", "offline.slice", keys, values, 2, &files, &n, &error), 0);
        assert_null(error);
        assert_int_equal(n, 2);
        assert_string_equal(files[0].path, "/etc/systemd/system/offline.slice.d/90-memqos-MemoryPriority.conf");
        assert_non_null(strstr(files[0].text, "\n[X-MemQoS]\nMemoryPriority=3\n"));
        /* An empty value: the drop-in goes, the key is back to the other files' */
        assert_string_equal(files[1].path, "/etc/systemd/system/offline.slice.d/90-memqos-WatermarkRatio.conf");
        assert_null(files[1].text);
        policy_set_files_free(files, n);
}

static void test_set_refuses_a_bad_value_as_a_bad_dropin_is_said(void **state) {
        char *keys[] = { "MemoryPriority" }, *values[] = { "13" };
        PolicySetFile *files = NULL;
        size_t n = 0;
        _cleanup_free_ char *error = NULL;
        assert_int_equal(policy_set_prepare("/run/systemd/system", "a.service", keys, values, 1, &files, &n, &error),
                         -EINVAL);
        assert_null(files);
        /* "FILE:LINE: MESSAGE", as event_policy_invalid() says it */
        assert_non_null(error);
        assert_true(strncmp(error, "/run/systemd/system/a.service.d/90-memqos-MemoryPriority.conf:3: ", 65) == 0);
        assert_non_null(strstr(error, "MemoryPriority"));
}

static void test_set_refuses_what_would_reach_other_sections(void **state) {
        PolicySetFile *files = NULL;
        size_t n = 0;
        char *error = NULL;

        char *k1[] = { "ExecStart" }, *v1[] = { "/bin/sh" };
        assert_int_equal(policy_set_prepare("/etc", "a.service", k1, v1, 1, &files, &n, &error), -EINVAL);
        assert_non_null(strstr(error, "Unknown key"));
        error = mfree(error);

        char *k2[] = { "MemoryPriority" }, *v2[] = { "3\n[Service]\nExecStart=/bin/sh" };
        assert_int_equal(policy_set_prepare("/etc", "a.service", k2, v2, 1, &files, &n, &error), -EINVAL);
        assert_non_null(strstr(error, "line break"));
        error = mfree(error);

        assert_int_equal(policy_set_prepare("/etc", "../../etc/passwd", k2, v2, 1, &files, &n, &error), -EINVAL);
        assert_non_null(strstr(error, "Invalid unit name"));
        error = mfree(error);
        assert_null(files);

        assert_true(policy_set_unit_name_valid("kubepods-besteffort-pod1.slice"));
        assert_true(policy_set_unit_name_valid("getty@tty1.service"));
        assert_false(policy_set_unit_name_valid(".slice"));
        assert_false(policy_set_unit_name_valid("noext"));
        assert_false(policy_set_unit_name_valid("a/b.slice"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_set_writes_one_dropin_per_key),
                cmocka_unit_test(test_set_refuses_a_bad_value_as_a_bad_dropin_is_said),
                cmocka_unit_test(test_set_refuses_what_would_reach_other_sections),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
