/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What memqosd says never carries a file's raw control bytes: they are
 * written as \xNN, in the message and in every field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/log.h"
#include "basic/util.h"

static void test_escape_control_bytes(void **state) {
        _cleanup_free_ char *s = NULL;

        s = escape_control("Log\033[31mLevel\r\n\x7f tab\there ok \xc3\xa9");
        assert_non_null(s);
        assert_string_equal(s, "Log\\x1b[31mLevel\\x0d\\x0a\\x7f tab\\x09here ok \xc3\xa9");
        free(s);
        s = escape_control("");
        assert_string_equal(s, "");
}

/* Everything log_full() wrote to stderr while f ran, as a string. */
static char *stderr_of_log(const char *key_value, const char *message) {
        char path[] = "/tmp/memqos-test-log-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        char *text = calloc(1, 4096);
        _cleanup_(fields_done) Fields f = {};

        assert_true(fd >= 0 && saved >= 0);
        assert_non_null(text);
        assert_int_equal(fields_add(&f, "MEMQOS_KEY", "%s", key_value), 0);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        log_full(LOG_ERR, 0, NULL, "/pods/a\033[2Jb", NULL, f.v, "%s", message);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        assert_true(pread(fd, text, 4095, 0) > 0);
        close(fd);
        unlink(path);
        return text;
}

static void test_stderr_line_has_no_raw_control_bytes(void **state) {
        _cleanup_free_ char *out = NULL;

        log_set_target(LOG_TARGET_STDERR);
        out = stderr_of_log("Fo\033o", "/etc/memqos/memqos.conf.d/a\033]0;x\007b.conf:2: bad");
        for (const char *p = out; *p; p++)
                if (p[1]) /* but the final newline */
                        assert_false((unsigned char) *p < 0x20 || *p == 0x7f);
        assert_non_null(strstr(out, "a\\x1b]0;x\\x07b.conf:2: bad"));
        assert_non_null(strstr(out, "MEMQOS_KEY=Fo\\x1bo"));
        assert_non_null(strstr(out, "MEMQOS_CGROUP=/pods/a\\x1b[2Jb"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_control_bytes),
                cmocka_unit_test(test_stderr_line_has_no_raw_control_bytes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
