/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memqosctl's pure parts (src/ctl/): the JSON writer, the tables, the
 * Prometheus exposition, the one-request HTTP parser. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "ctl/http.h"
#include "ctl/json.h"
#include "ctl/report.h"
#include "ctl/table.h"

typedef struct Capture {
        char *buf;
        size_t size;
        FILE *f;
} Capture;

static FILE *capture_open(Capture *c) {
        *c = (Capture) {};
        c->f = open_memstream(&c->buf, &c->size);
        assert_non_null(c->f);
        return c->f;
}

static char *capture_take(Capture *c) {
        assert_int_equal(fclose(c->f), 0);
        return c->buf;
}

static void test_json_short_escapes_and_nests(void **state) {
        Capture c;
        JsonWriter w;
        json_init(&w, capture_open(&c), false);
        json_object_begin(&w);
        json_key(&w, "s"), json_string(&w, "a\"b\\c\n\x01");
        json_key(&w, "n"), json_u64(&w, UINT64_C(18446744073709551614));
        json_key(&w, "neg"), json_i64(&w, -5);
        json_key(&w, "none"), json_bytes(&w, UINT64_MAX);
        json_key(&w, "list");
        json_array_begin(&w);
        json_bool(&w, true);
        json_null(&w);
        json_string(&w, NULL);
        json_array_end(&w);
        json_key(&w, "empty");
        json_object_begin(&w);
        json_object_end(&w);
        json_object_end(&w);
        json_finish(&w);
        _cleanup_free_ char *text = capture_take(&c);
        assert_string_equal(text, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":18446744073709551614,\"neg\":-5,"
                                  "\"none\":null,\"list\":[true,null,null],\"empty\":{}}\n");
}

static void test_json_pretty_indents_two_spaces(void **state) {
        Capture c;
        JsonWriter w;
        json_init(&w, capture_open(&c), true);
        json_array_begin(&w);
        json_object_begin(&w);
        json_key(&w, "a"), json_u64(&w, 1);
        json_key(&w, "b");
        json_array_begin(&w);
        json_array_end(&w);
        json_object_end(&w);
        json_array_end(&w);
        json_finish(&w);
        _cleanup_free_ char *text = capture_take(&c);
        assert_string_equal(text, "[\n  {\n    \"a\": 1,\n    \"b\": []\n  }\n]\n");
}

static void test_table_aligns_and_no_legend_drops_header(void **state) {
        static const char *const headers[] = { "NAME", ">SIZE", "NOTE" };
        Table t;
        assert_int_equal(table_init(&t, 3, headers), 0);
        assert_int_equal(table_add_row(&t, (const char *const[]) { "a.slice", "1.0G", "x" }), 0);
        assert_int_equal(table_add_row(&t, (const char *const[]) { "bb", "12B", NULL }), 0);
        assert_int_equal(table_n_rows(&t), 2);

        Capture c;
        assert_int_equal(table_print(&t, true, "2 units listed.", capture_open(&c)), 0);
        _cleanup_free_ char *with = capture_take(&c);
        assert_string_equal(with, "NAME     SIZE  NOTE\n"
                                  "a.slice  1.0G  x\n"
                                  "bb        12B  -\n"
                                  "\n2 units listed.\n");
        assert_int_equal(table_print(&t, false, "2 units listed.", capture_open(&c)), 0);
        _cleanup_free_ char *without = capture_take(&c);
        assert_string_equal(without, "a.slice  1.0G  x\n"
                                     "bb        12B  -\n");
        table_done(&t);
}

static void test_bytes_human(void **state) {
        char b[FORMAT_HUMAN_MAX];
        assert_string_equal(format_bytes_human(b, 512), "512B");
        assert_string_equal(format_bytes_human(b, 1536), "1.5K");
        assert_string_equal(format_bytes_human(b, UINT64_C(3) << 30), "3.0G");
        assert_string_equal(format_bytes_human(b, UINT64_MAX), "-");
}

static const UnitRow rows[] = {
        { .name = "offline.slice", .kind = "unit", .cgroup = "/offline.slice", .active = "active",
          .backend = "emulated", .priority = 2, .usage = 100, .limit = 1000, .wmark_high = 800, .wmark_low = 790,
          .reclaimed_bytes = 4096, .reclaim_passes = 3, .priority_kills = 1, .oom_kills = 2,
          .threshold_crossings = 5, .notices_sent = 6, .last_event = "reclaim", .last_event_usec = 1 },
        { .name = "/pods/\"odd\"\\name", .kind = "group", .cgroup = "/pods", .active = "active", .backend = "none",
          .priority = UINT32_MAX, .usage = UINT64_MAX, .limit = UINT64_MAX, .wmark_high = UINT64_MAX,
          .wmark_low = UINT64_MAX, .last_event = "" },
};

static void test_metrics_follow_prometheus_naming(void **state) {
        DaemonInfo d = { .version = "0.1", .reclaim_backend = "emulated", .oom_backend = "kernel+emulated",
                         .layout = "v2", .n_units = 2, .n_buckets = 2, .bucket_le = { 0.001, 0.01 },
                         .bucket_count = { 1, 3 }, .latency_sum = 0.0125, .latency_count = 4 };
        Capture c;
        assert_int_equal(report_metrics(&d, rows, 2, "0.1", capture_open(&c)), 0);
        _cleanup_free_ char *text = capture_take(&c);

        assert_non_null(strstr(text, "# TYPE memqos_build_info gauge\nmemqos_build_info{version=\"0.1\",ctl_version=\"0.1\"} 1\n"));
        assert_non_null(strstr(text, "memqos_backend_info{feature=\"oom\",backend=\"kernel+emulated\",cgroup_layout=\"v2\"} 1\n"));
        assert_non_null(strstr(text, "# TYPE memqos_policy_apply_seconds histogram\n"));
        assert_non_null(strstr(text, "memqos_policy_apply_seconds_bucket{le=\"0.001\"} 1\n"
                                     "memqos_policy_apply_seconds_bucket{le=\"0.01\"} 3\n"
                                     "memqos_policy_apply_seconds_bucket{le=\"+Inf\"} 4\n"
                                     "memqos_policy_apply_seconds_sum 0.012500\n"
                                     "memqos_policy_apply_seconds_count 4\n"));
        assert_non_null(strstr(text, "memqos_usage_bytes{unit=\"offline.slice\",kind=\"unit\"} 100\n"));
        assert_non_null(strstr(text, "memqos_priority{unit=\"offline.slice\",kind=\"unit\"} 2\n"));
        assert_non_null(strstr(text, "# TYPE memqos_reclaimed_bytes_total counter\n"
                                     "memqos_reclaimed_bytes_total{unit=\"offline.slice\",kind=\"unit\"} 4096\n"));
        assert_non_null(strstr(text, "memqos_kills_total{unit=\"offline.slice\",kind=\"unit\",reason=\"priority\"} 1\n"));
        assert_non_null(strstr(text, "memqos_kills_total{unit=\"offline.slice\",kind=\"unit\",reason=\"oom\"} 2\n"));
        assert_non_null(strstr(text, "memqos_threshold_crossings_total{unit=\"offline.slice\",kind=\"unit\"} 5\n"));
        assert_non_null(strstr(text, "# TYPE memqos_notices_total counter\n"
                                     "memqos_notices_total{unit=\"offline.slice\",kind=\"unit\"} 6\n"));
        /* Label values escaped; no sample for what is unlimited or unset. */
        assert_non_null(strstr(text, "{unit=\"/pods/\\\"odd\\\"\\\\name\",kind=\"group\"}"));
        assert_null(strstr(text, "memqos_limit_bytes{unit=\"/pods"));
        assert_null(strstr(text, "memqos_priority{unit=\"/pods"));
        assert_null(strstr(text, "memqos_usage_bytes{unit=\"/pods"));
        /* Every line is a comment or "name{labels} value". */
        for (char *line = text; *line;) {
                char *end = strchr(line, '\n');
                assert_non_null(end);
                assert_true(line[0] == '#' || strncmp(line, "memqos_", 7) == 0);
                line = end + 1;
        }
}

static void test_units_json_and_table(void **state) {
        Capture c;
        report_units_json(rows, 2, false, capture_open(&c));
        _cleanup_free_ char *json = capture_take(&c);
        assert_non_null(strstr(json, "{\"unit\":\"offline.slice\",\"kind\":\"unit\",\"cgroup\":\"/offline.slice\","));
        assert_non_null(strstr(json, "\"priority\":null,\"usage_bytes\":null,\"limit_bytes\":null"));
        assert_non_null(strstr(json, "\"last_event\":null,\"last_event_usec\":null}]\n"));

        assert_int_equal(report_units_table(rows, 2, true, capture_open(&c)), 0);
        _cleanup_free_ char *table = capture_take(&c);
        assert_non_null(strstr(table, "UNIT "));
        assert_non_null(strstr(table, "\n2 units listed.\n"));
        assert_non_null(strstr(table, "offline.slice "));
}

static void test_http_request(void **state) {
        HttpRequest r;
        const char *get = "GET /metrics HTTP/1.1\r\nHost: x:9788\r\nAccept: text/plain\r\n\r\n";
        http_parse_request(get, 10, &r);
        assert_false(r.complete);
        assert_int_equal(r.status, 0); /* read more */
        http_parse_request(get, strlen(get), &r);
        assert_true(r.complete);
        assert_int_equal(r.status, 200);
        assert_false(r.head);

        const char *head = "HEAD /?x=1 HTTP/1.0\n\n";
        http_parse_request(head, strlen(head), &r);
        assert_int_equal(r.status, 200);
        assert_true(r.head);

        const char *other = "GET /metricsx HTTP/1.1\r\n\r\n";
        http_parse_request(other, strlen(other), &r);
        assert_int_equal(r.status, 404);
        const char *post = "POST /metrics HTTP/1.1\r\n\r\n";
        http_parse_request(post, strlen(post), &r);
        assert_int_equal(r.status, 405);
        const char *junk = "hello\r\n\r\n";
        http_parse_request(junk, strlen(junk), &r);
        assert_int_equal(r.status, 400);

        char big[HTTP_REQUEST_MAX];
        memset(big, 'a', sizeof(big));
        http_parse_request(big, sizeof(big), &r);
        assert_false(r.complete);
        assert_int_equal(r.status, 431);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_short_escapes_and_nests),
                cmocka_unit_test(test_json_pretty_indents_two_spaces),
                cmocka_unit_test(test_table_aligns_and_no_legend_drops_header),
                cmocka_unit_test(test_bytes_human),
                cmocka_unit_test(test_metrics_follow_prometheus_naming),
                cmocka_unit_test(test_units_json_and_table),
                cmocka_unit_test(test_http_request),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
