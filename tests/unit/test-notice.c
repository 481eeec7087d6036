/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pressure socket's pure parts: the registration a client writes
 * (conf/notice-request.h), who is told of a crossing and the line it gets
 * (daemon/notice.h), the bounded per-client queue (basic/outbuf.h), and the
 * peer's cgroup from /proc/PID/cgroup (basic/cgroup-path.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/cgroup-path.h"
#include "basic/outbuf.h"
#include "conf/notice-request.h"
#include "daemon/notice.h"

static int parse(const char *text, NoticeRequest *req, unsigned *line) {
        return notice_request_parse(text, strlen(text), req, line);
}

/* ---- the registration ---- */

static void test_systemd_default_payload_is_accepted_and_ignored(void **state) {
        /* What systemd puts in $MEMORY_PRESSURE_WRITE by default, decoded:
         * the PSI trigger with its NUL. */
        static const char payload[] = "some 200000 2000000";
        NoticeRequest req;

        assert_int_equal(notice_request_parse(payload, sizeof(payload), &req, NULL), 0);
        assert_int_equal(req.n_thresholds, 0);
        assert_int_equal(req.n_psi_triggers, 1);
        assert_int_equal(parse("full 100000 1000000\n", &req, NULL), 0);
        assert_int_equal(req.n_psi_triggers, 1);
}

static void test_thresholds_comments_and_blank_lines(void **state) {
        NoticeRequest req;

        assert_int_equal(parse("# my cache\n\nthreshold 64M\n  threshold\t80%\r\n", &req, NULL), 0);
        assert_int_equal(req.n_thresholds, 2);
        assert_false(req.thresholds[0].is_percent);
        assert_int_equal(req.thresholds[0].value, 64ull << 20);
        assert_true(req.thresholds[1].is_percent);
        assert_int_equal(req.thresholds[1].value, 80);
        assert_int_equal(parse("", &req, NULL), 0);
        assert_int_equal(req.n_thresholds + req.n_psi_triggers, 0);
}

static void test_bad_lines_are_rejected_with_their_number(void **state) {
        NoticeRequest req;
        unsigned line;

        assert_int_equal(parse("threshold 64M\nthreshold 0\n", &req, &line), -EINVAL);
        assert_int_equal(line, 2);
        assert_int_equal(req.n_thresholds, 1); /* what the valid lines asked */
        assert_int_equal(parse("hello\n", &req, &line), -EINVAL);
        assert_int_equal(line, 1);
        assert_int_equal(parse("threshold 101%\n", &req, NULL), -EINVAL);
        assert_int_equal(parse("threshold 1G 2G\n", &req, NULL), -EINVAL);
        assert_int_equal(parse("some 1 2 3\n", &req, NULL), -EINVAL);
        assert_int_equal(parse("some -1 2\n", &req, NULL), -EINVAL);
        assert_int_equal(parse("threshold \x01" "1G\n", &req, NULL), -EINVAL);
        assert_int_equal(parse("threshold 123456789012345678901234567890123\n", &req, NULL), -EINVAL);
        assert_int_equal(parse("threshold 99999999999999999999999G\n", &req, NULL), -EINVAL);
}

static void test_unterminated_last_line_waits(void **state) {
        NoticeRequest req;

        /* a line still being written is not rejected ... */
        assert_int_equal(parse("threshold 64M\nthresh", &req, NULL), -EAGAIN);
        assert_int_equal(req.n_thresholds, 1);
        /* ... and counts once it is valid */
        assert_int_equal(parse("threshold 64M\nthreshold 1G", &req, NULL), 0);
        assert_int_equal(req.n_thresholds, 2);
        /* a finished one is rejected */
        assert_int_equal(parse("thresh\n", &req, NULL), -EINVAL);
}

static void test_size_and_count_are_bounded(void **state) {
        NoticeRequest req;
        char *big = malloc(NOTICE_REQUEST_SIZE_MAX + 1);

        assert_non_null(big);
        memset(big, '\n', NOTICE_REQUEST_SIZE_MAX + 1);
        assert_int_equal(notice_request_parse(big, NOTICE_REQUEST_SIZE_MAX, &req, NULL), 0);
        assert_int_equal(notice_request_parse(big, NOTICE_REQUEST_SIZE_MAX + 1, &req, NULL), -E2BIG);
        free(big);

        assert_int_equal(parse("threshold 1M\nthreshold 2M\nthreshold 3M\nthreshold 4M\n", &req, NULL), 0);
        assert_int_equal(parse("threshold 1M\nthreshold 2M\nthreshold 3M\nthreshold 4M\nthreshold 5M\n", &req, NULL),
                         -E2BIG);
        assert_int_equal(req.n_thresholds, NOTICE_REQUEST_THRESHOLDS_MAX);
}

/* ---- who is told, and what ---- */

static void test_only_upward_crossings_of_a_notice_threshold_are_told(void **state) {
        const uint64_t unit[] = { 100, 200 }, client[] = { 150 };

        assert_true(notice_is_wanted(unit, 2, NULL, 0, 200, THRESHOLD_UP));
        assert_false(notice_is_wanted(unit, 2, NULL, 0, 200, THRESHOLD_DOWN));
        /* a MemoryThresholds= value the unit watches for the journal alone */
        assert_false(notice_is_wanted(unit, 2, NULL, 0, 300, THRESHOLD_UP));
        /* the client's own threshold tells that client ... */
        assert_true(notice_is_wanted(unit, 2, client, 1, 150, THRESHOLD_UP));
        /* ... and not one without it */
        assert_false(notice_is_wanted(unit, 2, NULL, 0, 150, THRESHOLD_UP));
        assert_false(notice_is_wanted(NULL, 0, NULL, 0, 150, THRESHOLD_UP));
}

static void test_wanted_bytes_are_those_above_the_threshold(void **state) {
        assert_int_equal(notice_wanted_bytes(150, 100), 50);
        assert_int_equal(notice_wanted_bytes(100, 100), 0);
        assert_int_equal(notice_wanted_bytes(90, 100), 0);
        assert_int_equal(notice_wanted_bytes(UINT64_MAX, 100), 0);
}

static void test_notice_line_format(void **state) {
        char buf[NOTICE_LINE_MAX];
        size_t n;

        n = notice_format_line(buf, sizeof(buf), NOTICE_LEVEL_THRESHOLD, 70000000, 134217728, 67108864, 2891136);
        assert_string_equal(buf, "memqos level=threshold usage=70000000 limit=134217728 threshold=67108864 want=2891136\n");
        assert_int_equal(n, strlen(buf));
        n = notice_format_line(buf, sizeof(buf), NOTICE_LEVEL_THRESHOLD, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 1,
                               UINT64_MAX - 1);
        assert_true(n < NOTICE_LINE_MAX);
        assert_non_null(strstr(buf, " limit=max "));
        assert_int_equal(buf[n - 1], '\n');
}

static void test_ladder_lines_name_their_level_and_fit(void **state) {
        char buf[NOTICE_LINE_MAX];
        size_t n;

        assert_int_equal(notice_level_from_ladder(LADDER_RECLAIM), NOTICE_LEVEL_RECLAIM);
        assert_int_equal(notice_level_from_ladder(LADDER_KILL), NOTICE_LEVEL_KILL);
        n = notice_format_line(buf, sizeof(buf), notice_level_from_ladder(LADDER_RECLAIM), 220000000, 268435456,
                               214748364, 41943040);
        assert_string_equal(buf, "memqos level=reclaim usage=220000000 limit=268435456 threshold=214748364 want=41943040\n");
        assert_int_equal(n, strlen(buf));
        n = notice_format_line(buf, sizeof(buf), notice_level_from_ladder(LADDER_KILL), UINT64_MAX - 1, UINT64_MAX - 1,
                               UINT64_MAX - 1, UINT64_MAX - 1);
        assert_true(n < NOTICE_LINE_MAX);
        assert_int_equal(strncmp(buf, "memqos level=kill usage=", 24), 0);
        assert_int_equal(buf[n - 1], '\n');
}

/* ---- the queue of a client ---- */

static void test_queue_drops_whole_messages_when_full_and_counts(void **state) {
        OutBuf b = {};
        char line[100];
        size_t len, pushed = 0;

        memset(line, 'x', sizeof(line));
        while (outbuf_push(&b, line, sizeof(line)))
                pushed++;
        assert_int_equal(pushed, OUTBUF_SIZE / sizeof(line));
        assert_int_equal(b.dropped, 1);
        assert_false(outbuf_push(&b, line, sizeof(line)));
        assert_int_equal(b.dropped, 2);
        (void) outbuf_head(&b, &len);
        assert_int_equal(len, pushed * sizeof(line));

        /* written in part: room again, the rest first */
        outbuf_consumed(&b, 150);
        assert_true(outbuf_push(&b, "yz", 2));
        const char *head = outbuf_head(&b, &len);
        assert_int_equal(len, pushed * sizeof(line) - 150 + 2);
        assert_memory_equal(head + len - 2, "yz", 2);
        assert_int_equal(head[0], 'x');
        outbuf_consumed(&b, len);
        assert_true(outbuf_empty(&b));
        assert_false(outbuf_push(&b, line, OUTBUF_SIZE + 1));
}

/* ---- the peer's cgroup ---- */

static void test_proc_cgroup_v1_memory_line_and_v2_unified_line(void **state) {
        static const char v1[] = "12:pids:/a\n"
                                 "5:cpu,cpuacct:/b\n"
                                 "4:memory,blkio:/memqos-test/low\n"
                                 "0::/user.slice\n";
        static const char v2[] = "0::/system.slice/x.service\n";
        char *p = NULL;

        assert_int_equal(cgroup_from_proc_text(v1, true, &p), 0);
        assert_string_equal(p, "/memqos-test/low");
        free(p);
        assert_int_equal(cgroup_from_proc_text(v1, false, &p), 0);
        assert_string_equal(p, "/user.slice");
        free(p);
        assert_int_equal(cgroup_from_proc_text(v2, false, &p), 0);
        assert_string_equal(p, "/system.slice/x.service");
        free(p);
        assert_int_equal(cgroup_from_proc_text(v2, true, &p), -ENOENT);
        /* "memoryx" is not memory; a relative path is no path */
        assert_int_equal(cgroup_from_proc_text("3:memoryx:/a\n", true, &p), -ENOENT);
        assert_int_equal(cgroup_from_proc_text("3:memory:a/b\n", true, &p), -EINVAL);
        assert_int_equal(cgroup_from_proc_text("", true, &p), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_systemd_default_payload_is_accepted_and_ignored),
                cmocka_unit_test(test_thresholds_comments_and_blank_lines),
                cmocka_unit_test(test_bad_lines_are_rejected_with_their_number),
                cmocka_unit_test(test_unterminated_last_line_waits),
                cmocka_unit_test(test_size_and_count_are_bounded),
                cmocka_unit_test(test_only_upward_crossings_of_a_notice_threshold_are_told),
                cmocka_unit_test(test_wanted_bytes_are_those_above_the_threshold),
                cmocka_unit_test(test_notice_line_format),
                cmocka_unit_test(test_ladder_lines_name_their_level_and_fit),
                cmocka_unit_test(test_queue_drops_whole_messages_when_full_and_counts),
                cmocka_unit_test(test_proc_cgroup_v1_memory_line_and_v2_unified_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
