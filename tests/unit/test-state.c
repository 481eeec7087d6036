/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/cgroup-path.h"
#include "basic/state-dir.h"
#include "basic/util.h"
#include "daemon/state.h"

static char *format(const UnitState *s) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(state_format(s, f), 0);
        fclose(f);
        return buf;
}

static void test_state_shows_desired_and_outcome_per_knob(void **state) {
        Policy p = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_WATERMARK_RATIO),
                     .memory_priority = 2, .watermark_ratio = 80 };
        MemcgDesired d = {};
        MemcgApplied a = {};
        d.want[MEMCG_PRIORITY] = true;
        d.value[MEMCG_PRIORITY] = 2;
        a.state[MEMCG_PRIORITY] = APPLY_UNSUPPORTED;
        d.want[MEMCG_WMARK_RATIO] = true;
        d.value[MEMCG_WMARK_RATIO] = 80;
        a.state[MEMCG_WMARK_RATIO] = APPLY_WRITTEN;
        char *sources[] = { "/etc/systemd/system/offline.slice", "/etc/systemd/system/offline.slice.d/50-memqos.conf",
                            NULL };
        UnitState s = { .unit = "offline.slice", .cgroup = "/offline.slice", .active = true, .sources = sources,
                        .policy = &p, .desired = &d, .applied = &a, .limit = 1 << 30,
                        .wmark_high = 858993459, .wmark_low = 853624750 };

        _cleanup_free_ char *text = format(&s);
        assert_non_null(strstr(text, "UNIT=offline.slice\n"));
        assert_non_null(strstr(text, "CGROUP=/offline.slice\n"));
        assert_non_null(strstr(text, "ACTIVE=yes\n"));
        assert_non_null(strstr(text, "SOURCES=/etc/systemd/system/offline.slice "
                                     "/etc/systemd/system/offline.slice.d/50-memqos.conf\n"));
        assert_non_null(strstr(text, "MEMORY_PRIORITY=2\nMEMORY_PRIORITY_STATE=unsupported\n"));
        assert_non_null(strstr(text, "WATERMARK_RATIO=80\nWATERMARK_RATIO_STATE=written\n"));
        assert_non_null(strstr(text, "USE_PRIORITY_OOM=\nUSE_PRIORITY_OOM_STATE=unset\n"));
        assert_non_null(strstr(text, "LIMIT_BYTES=1073741824\n"));
        assert_non_null(strstr(text, "WMARK_HIGH_BYTES=858993459\n"));
        assert_non_null(strstr(text, "WMARK_SOURCE=computed\n"));
        assert_non_null(strstr(text, "USAGE_BYTES=0\n"));
        assert_non_null(strstr(text, "LAST_EVENT=\nLAST_EVENT_AT=\n"));
}

static void test_state_carries_usage_and_last_event(void **state) {
        Policy p = {};
        UnitState s = { .unit = "a.slice", .cgroup = "/a.slice", .active = true, .policy = &p,
                        .limit = MEMCG_UNLIMITED, .wmark_high = MEMCG_UNLIMITED, .wmark_low = MEMCG_UNLIMITED,
                        .usage = 104857600, .last_event = "threshold",
                        .last_event_usec = UINT64_C(1796070000) * 1000000 };

        _cleanup_free_ char *text = format(&s);
        assert_non_null(strstr(text, "USAGE_BYTES=104857600\n"));
        assert_non_null(strstr(text, "LAST_EVENT=threshold\n"));
        assert_non_null(strstr(text, "LAST_EVENT_AT=2026-11-30T20:20:00Z\n"));

        /* Stopped: marked, the usage and the event kept as the last seen. */
        _cleanup_free_ char *stopped = NULL;
        assert_int_equal(state_text_mark_stopped(text, UINT64_C(1796071000) * 1000000, &stopped), 0);
        assert_non_null(strstr(stopped, "ACTIVE=no\n"));
        assert_non_null(strstr(stopped, "USAGE_BYTES=104857600\n"));
        assert_non_null(strstr(stopped, "LAST_EVENT_AT=2026-11-30T20:20:00Z\n"));
}

static void test_state_of_unlimited_inactive_unit(void **state) {
        Policy p = {};
        UnitState s = { .unit = "x.slice", .active = false, .policy = &p, .limit = MEMCG_UNLIMITED,
                        .wmark_high = MEMCG_UNLIMITED, .wmark_low = MEMCG_UNLIMITED };

        _cleanup_free_ char *text = format(&s);
        assert_non_null(strstr(text, "CGROUP=\n"));
        assert_non_null(strstr(text, "ACTIVE=no\n"));
        assert_non_null(strstr(text, "LIMIT_BYTES=max\n"));
        assert_non_null(strstr(text, "WMARK_LOW_BYTES=max\n"));
}

static void test_state_write_is_atomic_and_refuses_slashes(void **state) {
        char dir[] = "/tmp/test-state-XXXXXX";
        Policy p = {};
        UnitState s = { .unit = "a.slice", .policy = &p, .limit = MEMCG_UNLIMITED };
        char path[64];

        assert_non_null(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(state_write(fd, "a.slice", &s), 0);
        snprintf(path, sizeof(path), "%s/a.slice", dir);
        assert_int_equal(access(path, R_OK), 0);
        snprintf(path, sizeof(path), "%s/.#a.slice", dir);
        assert_int_not_equal(access(path, F_OK), 0);

        assert_int_equal(state_write(fd, "../escape", &s), -EINVAL);
        assert_int_equal(state_write(fd, "..", &s), -EINVAL);
        assert_int_equal(state_write(fd, ".#a.slice", &s), -EINVAL);

        assert_int_equal(state_remove(fd, "a.slice"), 0);
        assert_int_equal(state_remove(fd, "a.slice"), 0); /* gone already is fine */
        close(fd);
        assert_int_equal(rmdir(dir), 0);
}

/* A symlink where the temporary file or the state file goes is never
 * written through: the file it points to stays as it was. */
static void test_state_write_never_follows_a_symlink(void **state) {
        char dir[] = "/tmp/test-state-XXXXXX", victim[128], link[128], buf[32] = "";
        Policy p = {};
        UnitState s = { .unit = "a.slice", .policy = &p, .limit = MEMCG_UNLIMITED };
        struct stat st;

        assert_non_null(mkdtemp(dir));
        snprintf(victim, sizeof(victim), "%s/victim", dir);
        FILE *f = fopen(victim, "we");
        assert_non_null(f);
        fputs("precious\n", f);
        fclose(f);
        snprintf(link, sizeof(link), "%s/.#a.slice", dir);
        assert_int_equal(symlink(victim, link), 0);
        snprintf(link, sizeof(link), "%s/a.slice", dir);
        assert_int_equal(symlink(victim, link), 0);

        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(state_write(fd, "a.slice", &s), 0);
        f = fopen(victim, "re");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "precious\n");
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISREG(st.st_mode)); /* the link was replaced, not followed */

        close(fd);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

static void test_state_is_running_until_marked_stopped(void **state) {
        Policy p = {};
        UnitState s = { .unit = "a.slice", .cgroup = "/a.slice", .active = true, .policy = &p,
                        .limit = MEMCG_UNLIMITED };
        _cleanup_free_ char *text = format(&s), *marked = NULL, *again = NULL;

        assert_non_null(strstr(text, "ACTIVE=yes\nSTOPPED_AT=\n"));
        /* 2026-11-30 13:30:00 UTC */
        assert_int_equal(state_text_mark_stopped(text, UINT64_C(1796045400) * 1000000 + 7, &marked), 0);
        assert_non_null(strstr(marked, "\nACTIVE=no\nSTOPPED_AT=2026-11-30T13:30:00Z\n"));
        assert_null(strstr(marked, "ACTIVE=yes"));
        /* Every other line as it was. */
        assert_non_null(strstr(marked, "UNIT=a.slice\nCGROUP=/a.slice\n"));
        assert_non_null(strstr(marked, "LIMIT_BYTES=max\n"));
        assert_int_equal(strlen(marked), strlen(text) - strlen("yes") + strlen("no") + strlen("2026-11-30T13:30:00Z"));

        /* A file without STOPPED_AT= (an older memqosd's) gets one. */
        assert_int_equal(state_text_mark_stopped("UNIT=b\nACTIVE=yes\nX=1\n", UINT64_C(1796045400) * 1000000, &again),
                         0);
        assert_string_equal(again, "UNIT=b\nACTIVE=no\nSTOPPED_AT=2026-11-30T13:30:00Z\nX=1\n");
}

static void test_state_dir_marked_stopped_and_cleared(void **state) {
        char dir[] = "/tmp/test-state-XXXXXX", path[128];
        Policy p = {};
        UnitState s = { .unit = "a.slice", .active = true, .policy = &p, .limit = MEMCG_UNLIMITED };

        assert_non_null(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(state_write(fd, "a.slice", &s), 0);
        assert_int_equal(state_write(fd, "b.slice", &s), 0);
        assert_int_equal(state_mark_all_stopped(fd, UINT64_C(1796045400) * 1000000), 0);
        snprintf(path, sizeof(path), "%s/b.slice", dir);
        _cleanup_free_ char *text = NULL;
        size_t size;
        assert_int_equal(read_file_full(path, &text, &size), 0);
        assert_non_null(strstr(text, "ACTIVE=no\nSTOPPED_AT=2026-11-30T13:30:00Z\n"));

        snprintf(path, sizeof(path), "%s/.#c.slice", dir); /* a write that never ended */
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fclose(f);
        assert_int_equal(state_remove_all(fd), 0);
        close(fd);
        assert_int_equal(rmdir(dir), 0); /* empty */
}

static void test_group_state_names_are_escaped_paths(void **state) {
        char *n;

        assert_int_equal(cgroup_path_escape("/kubepods/besteffort/pod1", &n), 0);
        assert_string_equal(n, "kubepods-besteffort-pod1");
        free(n);
        assert_int_equal(cgroup_path_escape("/a-b/c", &n), 0);
        assert_string_equal(n, "a\\x2db-c");
        free(n);
        assert_int_equal(cgroup_path_escape("/", &n), 0);
        assert_string_equal(n, "-");
        free(n);
        assert_int_equal(cgroup_path_escape("/.hidden", &n), 0);
        assert_string_equal(n, "\\x2ehidden");
        free(n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_state_shows_desired_and_outcome_per_knob),
                cmocka_unit_test(test_state_of_unlimited_inactive_unit),
                cmocka_unit_test(test_state_carries_usage_and_last_event),
                cmocka_unit_test(test_state_write_is_atomic_and_refuses_slashes),
                cmocka_unit_test(test_state_write_never_follows_a_symlink),
                cmocka_unit_test(test_state_is_running_until_marked_stopped),
                cmocka_unit_test(test_state_dir_marked_stopped_and_cleared),
                cmocka_unit_test(test_group_state_names_are_escaped_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
