/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/util.h"

static void test_u64_or_max_is_raw_digits_or_max(void **state) {
        char b[FORMAT_SIZE_MAX];

        assert_string_equal(format_u64_or_max(b, 0), "0");
        assert_string_equal(format_u64_or_max(b, 1073741824), "1073741824");
        assert_string_equal(format_u64_or_max(b, UINT64_MAX - 1), "18446744073709551614");
        assert_string_equal(format_u64_or_max(b, UINT64_MAX), "max");
}

static void test_size_is_short_in_k_m_g(void **state) {
        char b[FORMAT_SIZE_MAX];

        assert_string_equal(format_size(b, 0), "0B");
        assert_string_equal(format_size(b, 1023), "1023B");
        assert_string_equal(format_size(b, 1024), "1K");
        assert_string_equal(format_size(b, 4096), "4K");
        assert_string_equal(format_size(b, 1536), "1.5K");
        assert_string_equal(format_size(b, 900ull << 20), "900M");
        assert_string_equal(format_size(b, 1ull << 30), "1G");
        assert_string_equal(format_size(b, 3ull << 29), "1.5G");
        assert_string_equal(format_size(b, 2ull << 40), "2T");
        /* 80% of 1G: no false precision past three digits */
        assert_string_equal(format_size(b, 858993459), "819M");
        /* rounding that would print 1024M says 1G */
        assert_string_equal(format_size(b, (1ull << 30) - 1), "1G");
        assert_string_equal(format_size(b, UINT64_MAX), "no limit");
}

static void test_share_gives_percent_of_the_limit(void **state) {
        char b[FORMAT_SHARE_MAX];

        assert_string_equal(format_share(b, 900ull << 20, 1000ull << 20), "900M, 90% of the 1000M limit");
        assert_string_equal(format_share(b, 858993459, 1ull << 30), "819M, 80% of the 1G limit");
        assert_string_equal(format_share(b, 0, 1ull << 30), "0B, 0% of the 1G limit");
        assert_string_equal(format_share(b, 1ull << 30, 1ull << 30), "1G, 100% of the 1G limit");
        assert_string_equal(format_share(b, 300ull << 20, UINT64_MAX), "300M, of no limit");
        assert_string_equal(format_share(b, UINT64_MAX, 1ull << 30), "unknown, of the 1G limit");
        assert_string_equal(format_share(b, 5, 0), "5B, of the 0B limit");
}

static void test_plural_picks_by_count(void **state) {
        assert_string_equal(plural(0, "unit", "units"), "units");
        assert_string_equal(plural(1, "unit", "units"), "unit");
        assert_string_equal(plural(2, "pass", "passes"), "passes");
        assert_string_equal(plural(1, "pass", "passes"), "pass");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_u64_or_max_is_raw_digits_or_max),
                cmocka_unit_test(test_size_is_short_in_k_m_g),
                cmocka_unit_test(test_share_gives_percent_of_the_limit),
                cmocka_unit_test(test_plural_picks_by_count),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
