/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memcg.c without cgroupfs: the pure decisions (path validation, the plan,
 * the watermark arithmetic, the tables), and the file helpers against plain
 * files in a mkdtemp() directory that stands in for a cgroup. */

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "cgroup/memcg.h"

/* 2^63 - 4096: what v1 prints for "no limit" with 4 KiB pages. */
#define V1_UNLIMITED_4K UINT64_C(9223372036854771712)

/* ---- fixtures ---- */

typedef struct Fixture {
        char dir[64];
        int fd;
} Fixture;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-memcg-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->fd >= 0);
        *state = f;
        return 0;
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;

        close(f->fd);
        assert_int_equal(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(f);
        return 0;
}

static void put_file(int dirfd, const char *name, const char *content) {
        _cleanup_(closep) int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
}

static char *get_file(int dirfd, const char *name) {
        static char buf[256];
        _cleanup_(closep) int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n >= 0);
        buf[n] = 0;
        return buf;
}

static bool exists(int dirfd, const char *name) {
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0;
}

/* A directory that looks like a cgroup to memcg_apply(). */
static int make_cgroup(int dirfd, const char *name) {
        int fd;

        assert_int_equal(mkdirat(dirfd, name, 0755), 0);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        put_file(fd, "cgroup.procs", "");
        return fd;
}

/* ---- path validation ---- */

static void test_path_validate_accepts_systemd_cgroup_paths(void **state) {
        assert_int_equal(cgroup_path_validate("/"), 0);
        assert_int_equal(cgroup_path_validate("/a"), 0);
        assert_int_equal(cgroup_path_validate("/offline.slice"), 0);
        assert_int_equal(cgroup_path_validate("/offline.slice/run-r1.scope"), 0);
        assert_int_equal(cgroup_path_validate("/kubepods.slice/kubepods-besteffort.slice/"
                                             "kubepods-besteffort-pod1.slice/cri-containerd-0a1b.scope"), 0);
        /* Dots are fine inside a name; only "." and ".." as whole components are not. */
        assert_int_equal(cgroup_path_validate("/.hidden"), 0);
        assert_int_equal(cgroup_path_validate("/..a/b.."), 0);
        assert_int_equal(cgroup_path_validate("/.../x"), 0);
        assert_int_equal(cgroup_path_validate("/system.slice/foo\\x2dbar.service"), 0);
        assert_int_equal(cgroup_path_validate("/with space/\xc3\xa9"), 0);
}

static void test_path_validate_rejects_hostile_paths(void **state) {
        assert_int_equal(cgroup_path_validate(NULL), -EINVAL);
        assert_int_equal(cgroup_path_validate(""), -EINVAL);
        assert_int_equal(cgroup_path_validate("a"), -EINVAL);
        assert_int_equal(cgroup_path_validate("a/b"), -EINVAL);
        assert_int_equal(cgroup_path_validate("//"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a/"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a//b"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/."), -EINVAL);
        assert_int_equal(cgroup_path_validate("/.."), -EINVAL);
        assert_int_equal(cgroup_path_validate("/../etc"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a/../b"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a/./b"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a/.."), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a\nb"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a\tb"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a/\x1b[31m"), -EINVAL);
        assert_int_equal(cgroup_path_validate("/a\x7f"), -EINVAL);
}

static void test_path_validate_length_limit_is_path_max(void **state) {
        _cleanup_(freep) char *p = malloc(PATH_MAX + 2);

        assert_non_null(p);
        /* "/aaa...": PATH_MAX - 1 characters fit a PATH_MAX buffer with the NUL. */
        p[0] = '/';
        memset(p + 1, 'a', PATH_MAX);
        p[PATH_MAX - 1] = 0;
        assert_int_equal(cgroup_path_validate(p), 0);
        p[PATH_MAX - 1] = 'a';
        p[PATH_MAX] = 0;
        assert_int_equal(cgroup_path_validate(p), -EINVAL);
        p[PATH_MAX] = 'a';
        p[PATH_MAX + 1] = 0;
        assert_int_equal(cgroup_path_validate(p), -EINVAL);
}

/* ---- tables ---- */

static void test_knob_files_and_kernel_defaults(void **state) {
        assert_string_equal(memcg_knob_file(MEMCG_PRIORITY), "memory.priority");
        assert_string_equal(memcg_knob_file(MEMCG_USE_PRIORITY_OOM), "memory.use_priority_oom");
        assert_string_equal(memcg_knob_file(MEMCG_WMARK_RATIO), "memory.wmark_ratio");
        assert_string_equal(memcg_knob_file(MEMCG_WMARK_SCALE_FACTOR), "memory.wmark_scale_factor");
        assert_null(memcg_knob_file(_MEMCG_KNOB_MAX));
        assert_null(memcg_knob_file((MemcgKnob) -1));

        assert_int_equal(memcg_knob_default(MEMCG_PRIORITY), 0);
        assert_int_equal(memcg_knob_default(MEMCG_USE_PRIORITY_OOM), 0);
        assert_int_equal(memcg_knob_default(MEMCG_WMARK_RATIO), 0);
        assert_int_equal(memcg_knob_default(MEMCG_WMARK_SCALE_FACTOR), 50);
}

static void test_state_and_layout_names(void **state) {
        assert_string_equal(apply_state_to_string(APPLY_UNSET), "unset");
        assert_string_equal(apply_state_to_string(APPLY_WRITTEN), "written");
        assert_string_equal(apply_state_to_string(APPLY_IN_PLACE), "in-place");
        assert_string_equal(apply_state_to_string(APPLY_UNSUPPORTED), "unsupported");
        assert_string_equal(apply_state_to_string(APPLY_FAILED), "failed");
        assert_null(apply_state_to_string(_APPLY_STATE_MAX));

        assert_string_equal(memcg_layout_to_string(MEMCG_LAYOUT_V1), "v1");
        assert_string_equal(memcg_layout_to_string(MEMCG_LAYOUT_V2), "v2");
        assert_null(memcg_layout_to_string((MemcgLayout) 2));
}

/* ---- the plan ---- */

static void test_plan_unwanted_is_left_alone_whatever_was_read(void **state) {
        assert_int_equal(memcg_plan_knob(false, 5, 0, 3), APPLY_UNSET);
        assert_int_equal(memcg_plan_knob(false, 5, 0, 5), APPLY_UNSET);
        assert_int_equal(memcg_plan_knob(false, 5, -ENOENT, 0), APPLY_UNSET);
        assert_int_equal(memcg_plan_knob(false, 5, -EACCES, 0), APPLY_UNSET);
}

static void test_plan_missing_file_is_unsupported(void **state) {
        assert_int_equal(memcg_plan_knob(true, 5, -ENOENT, 0), APPLY_UNSUPPORTED);
        /* current is garbage when the read failed: it must not matter */
        assert_int_equal(memcg_plan_knob(true, 5, -ENOENT, 5), APPLY_UNSUPPORTED);
}

static void test_plan_other_read_errors_fail(void **state) {
        assert_int_equal(memcg_plan_knob(true, 5, -EACCES, 5), APPLY_FAILED);
        assert_int_equal(memcg_plan_knob(true, 5, -EBADMSG, 0), APPLY_FAILED);
        assert_int_equal(memcg_plan_knob(true, 5, -EIO, 0), APPLY_FAILED);
}

static void test_plan_writes_only_what_differs(void **state) {
        assert_int_equal(memcg_plan_knob(true, 5, 0, 5), APPLY_IN_PLACE);
        assert_int_equal(memcg_plan_knob(true, 0, 0, 0), APPLY_IN_PLACE);
        assert_int_equal(memcg_plan_knob(true, MEMCG_UNLIMITED, 0, MEMCG_UNLIMITED), APPLY_IN_PLACE);
        assert_int_equal(memcg_plan_knob(true, 5, 0, 4), APPLY_WRITTEN);
        assert_int_equal(memcg_plan_knob(true, 0, 0, 12), APPLY_WRITTEN);
        assert_int_equal(memcg_plan_knob(true, 1, 0, MEMCG_UNLIMITED), APPLY_WRITTEN);
}

/* ---- watermarks ---- */

static void test_watermarks_ratio_0_is_infinite(void **state) {
        uint64_t high = 0, low = 0;

        memcg_watermarks(UINT64_C(1) << 30, 0, 50, 4096, &high, &low);
        assert_true(high == MEMCG_UNLIMITED);
        assert_true(low == MEMCG_UNLIMITED);
}

static void test_watermarks_without_limit_are_infinite(void **state) {
        uint64_t high = 0, low = 0;

        memcg_watermarks(MEMCG_UNLIMITED, 80, 50, 4096, &high, &low);
        assert_true(high == MEMCG_UNLIMITED);
        assert_true(low == MEMCG_UNLIMITED);
}

static void test_watermarks_80_percent_scale_50_of_1g(void **state) {
        uint64_t high, low;

        /* 262144 pages * 80 / 100 = 209715.2 -> 209715 pages;
         * gap 262144 * 50 / 10000 = 1310.72 -> 1310 pages */
        memcg_watermarks(UINT64_C(1) << 30, 80, 50, 4096, &high, &low);
        assert_int_equal(high, UINT64_C(209715) * 4096);
        assert_int_equal(low, UINT64_C(208405) * 4096);
}

/* On a kernel of 64 KiB pages the page counters are 64 KiB pages. */
static void test_watermarks_in_64k_pages(void **state) {
        uint64_t high, low;

        memcg_watermarks(99 * 65536 + 4096, 50, 1000, 65536, &high, &low); /* 49.5 -> 49, gap 9.9 -> 9 */
        assert_int_equal(high, 49 * 65536);
        assert_int_equal(low, 40 * 65536);
}

static void test_watermarks_round_down_to_pages(void **state) {
        uint64_t high, low;

        /* 99 pages and a bit: the bit does not count */
        memcg_watermarks(99 * 4096 + 4000, 50, 1000, 4096, &high, &low); /* 49.5 -> 49, gap 9.9 -> 9 */
        assert_int_equal(high, 49 * 4096);
        assert_int_equal(low, 40 * 4096);

        memcg_watermarks(4095, 100, 1, 4096, &high, &low);    /* less than a page */
        assert_int_equal(high, 0);
        assert_int_equal(low, 0);

        memcg_watermarks(10000 * 4096, 100, 1, 4096, &high, &low); /* exact */
        assert_int_equal(high, 10000 * 4096);
        assert_int_equal(low, 9999 * 4096);
}

static void test_watermarks_gap_wider_than_high_gives_low_0(void **state) {
        uint64_t high, low;

        /* ratio 1% with a 10% gap: wmark_low must not wrap around */
        memcg_watermarks(UINT64_C(1) << 30, 1, 1000, 4096, &high, &low);
        assert_int_equal(high, UINT64_C(2621) * 4096);
        assert_int_equal(low, 0);
}

static void test_watermarks_out_of_range_inputs_are_clamped(void **state) {
        uint64_t high, low;

        memcg_watermarks(1000 * 4096, 250, 50000, 4096, &high, &low);
        assert_int_equal(high, 1000 * 4096);
        assert_int_equal(low, 0);
}

static uint64_t reference_frac(uint64_t x, unsigned n, unsigned d) {
        return (uint64_t) ((unsigned __int128) x * n / d);
}

static void test_watermarks_exact_for_huge_limits(void **state) {
        const uint64_t limits[] = {
                V1_UNLIMITED_4K - 4096,
                (UINT64_C(1) << 63) - 1,
                UINT64_C(1) << 63,
                UINT64_MAX - 1,
                UINT64_C(0xfedcba9876543210),
                UINT64_C(24) << 30,
                4096,
                1,
        };
        const unsigned ratios[] = { 1, 33, 50, 80, 99, 100 };
        const unsigned factors[] = { 1, 7, 50, 333, 999, 1000 };

        /* Against 128-bit arithmetic in pages: no intermediate product may overflow. */
        for (size_t i = 0; i < ELEMENTSOF(limits); i++)
                for (size_t j = 0; j < ELEMENTSOF(ratios); j++)
                        for (size_t k = 0; k < ELEMENTSOF(factors); k++) {
                                uint64_t high, low, want_high, want_gap, pages = limits[i] / 4096;

                                memcg_watermarks(limits[i], ratios[j], factors[k], 4096, &high, &low);
                                want_high = reference_frac(pages, ratios[j], 100);
                                want_gap = reference_frac(pages, factors[k], 10000);
                                assert_true(high == want_high * 4096);
                                assert_true(low == (want_gap < want_high ? want_high - want_gap : 0) * 4096);
                                assert_true(high <= limits[i]);
                        }
}

/* ---- integer files ---- */

static void assert_reads(int dirfd, const char *content, int want_r, uint64_t want_v) {
        uint64_t v = 4242;

        put_file(dirfd, "memory.x", content);
        assert_int_equal(memcg_read_u64(dirfd, "memory.x", &v), want_r);
        if (want_r == 0)
                assert_true(v == want_v);
        else
                assert_true(v == 4242); /* untouched on error */
}

static void test_read_u64_parses_kernel_output(void **state) {
        Fixture *f = *state;

        assert_reads(f->fd, "0\n", 0, 0);
        assert_reads(f->fd, "12\n", 0, 12);
        assert_reads(f->fd, "12", 0, 12);
        assert_reads(f->fd, "12 \n\n", 0, 12);
        assert_reads(f->fd, "104857600\n", 0, 104857600);
        assert_reads(f->fd, "max\n", 0, MEMCG_UNLIMITED);
        assert_reads(f->fd, "max", 0, MEMCG_UNLIMITED);
        assert_reads(f->fd, "18446744073709551615\n", 0, MEMCG_UNLIMITED);
}

static void test_read_u64_v1_page_counter_max_is_unlimited(void **state) {
        Fixture *f = *state;
        uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);
        char buf[32];

        /* PAGE_COUNTER_MAX * PAGE_SIZE: LONG_MAX rounded down to a page */
        snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long) ((uint64_t) LONG_MAX / page * page));
        assert_reads(f->fd, buf, 0, MEMCG_UNLIMITED);
        if (page == 4096)
                assert_reads(f->fd, "9223372036854771712\n", 0, MEMCG_UNLIMITED);
        /* one page below is a real (absurd) limit */
        snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long) ((uint64_t) LONG_MAX / page * page - page));
        assert_reads(f->fd, buf, 0, (uint64_t) LONG_MAX / page * page - page);
}

static void test_read_u64_rejects_garbage(void **state) {
        Fixture *f = *state;

        assert_reads(f->fd, "", -EBADMSG, 0);
        assert_reads(f->fd, "\n", -EBADMSG, 0);
        assert_reads(f->fd, " 12\n", -EBADMSG, 0);
        assert_reads(f->fd, "-1\n", -EBADMSG, 0);
        assert_reads(f->fd, "+1\n", -EBADMSG, 0);
        assert_reads(f->fd, "12a\n", -EBADMSG, 0);
        assert_reads(f->fd, "12 13\n", -EBADMSG, 0);
        assert_reads(f->fd, "maximum\n", -EBADMSG, 0);
        assert_reads(f->fd, "0x10\n", -EBADMSG, 0);
        assert_reads(f->fd, "oom_kill_disable 0\nunder_oom 0\n", -EBADMSG, 0);
        assert_reads(f->fd, "1234567890123456789012345678901234567890"
                            "1234567890123456789012345678901234567890\n", -EBADMSG, 0);
        assert_reads(f->fd, "18446744073709551616\n", -ERANGE, 0);
}

static void test_read_u64_missing_file_is_enoent(void **state) {
        Fixture *f = *state;
        uint64_t v;

        assert_int_equal(memcg_read_u64(f->fd, "memory.priority", &v), -ENOENT);
}

static void test_read_u64_refuses_symlinks(void **state) {
        Fixture *f = *state;
        uint64_t v;

        put_file(f->fd, "target", "7\n");
        assert_int_equal(symlinkat("target", f->fd, "memory.link"), 0);
        assert_int_equal(memcg_read_u64(f->fd, "memory.link", &v), -ELOOP);
        assert_int_equal(memcg_write_u64(f->fd, "memory.link", 8), -ELOOP);
        assert_string_equal(get_file(f->fd, "target"), "7\n");
}

/* What memcg_parse_oom_file() gives for text that is well formed, every
 * ret_* passed. */
static void assert_oom_file_reads(const char *text, MemcgOomCounters want, bool want_under_oom,
                                  bool want_kill_disabled) {
        MemcgOomCounters c = { .oom = 99, .oom_kill = 99, .max = 99 };
        bool under_oom = !want_under_oom, kill_disabled = !want_kill_disabled;

        assert_int_equal(memcg_parse_oom_file(text, &c, &under_oom, &kill_disabled), 0);
        assert_int_equal(c.oom, want.oom);
        assert_int_equal(c.oom_kill, want.oom_kill);
        assert_int_equal(c.max, want.max);
        assert_int_equal(under_oom, want_under_oom);
        assert_int_equal(kill_disabled, want_kill_disabled);
}

/* v2 memory.events as the kernel prints it: oom_group_kill is not oom_kill. */
static void test_oom_file_v2_memory_events_gives_the_counters(void **state) {
        assert_oom_file_reads("low 0\nhigh 12\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n",
                              (MemcgOomCounters) { .oom = 2, .oom_kill = 1, .max = 7 }, false, false);
}

/* v1 memory.oom_control as the kernel prints it. */
static void test_oom_file_v1_oom_control_gives_counters_and_flags(void **state) {
        assert_oom_file_reads("oom_kill_disable 0\nunder_oom 1\noom_kill 3\n", (MemcgOomCounters) { .oom_kill = 3 },
                              true, false);
        assert_oom_file_reads("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", (MemcgOomCounters) { .oom_kill = 3 },
                              false, false);
        assert_oom_file_reads("oom_kill_disable 1\nunder_oom 1\noom_kill 0\n", (MemcgOomCounters) {}, true, true);
}

static void test_oom_file_missing_keys_read_as_zero(void **state) {
        /* No trailing newline, empty lines: fine. */
        assert_oom_file_reads("\noom_kill 4", (MemcgOomCounters) { .oom_kill = 4 }, false, false);
        assert_oom_file_reads("", (MemcgOomCounters) {}, false, false);
}

static void test_oom_file_key_must_match_whole(void **state) {
        assert_oom_file_reads("under_oom_x 1\noom_kill_disabled 1\noom_kills 5\n", (MemcgOomCounters) {}, false, false);
}

static void test_oom_file_ret_may_be_null(void **state) {
        bool kill_disabled = false;

        assert_int_equal(memcg_parse_oom_file("oom_kill_disable 1\n", NULL, NULL, &kill_disabled), 0);
        assert_true(kill_disabled);
        assert_int_equal(memcg_parse_oom_file("oom_kill_disable 1\n", NULL, NULL, NULL), 0);
}

/* Not the kernel's "key value" line: -EBADMSG, as memcg_read_u64() says of
 * a file not as expected, and nothing written. */
static void test_oom_file_malformed_line_is_rejected(void **state) {
        static const char *const malformed[] = {
                "oom_kill\n", "oom_kill_disable\n", "under_oom \n",       /* no value */
                "oom_kill x\n", "oom_kill_disable x\n",                  /* not a number */
                "oom_kill_disable 1x\n", "oom_kill 1 2\n", "oom_kill 1 \n", /* more after it */
                "oom -1\n", "oom +1\n", "oom  1\n",                      /* not one space, then digits */
                " oom 1\n",                                               /* no key */
                "oom 18446744073709551616\n",                             /* beyond 64 bits */
                "oom 1\nunder_oom\n",                                      /* bad after good */
        };
        MemcgOomCounters c = { .oom = 11, .oom_kill = 12, .max = 13 };
        bool disabled = true, under = true;

        for (size_t i = 0; i < ELEMENTSOF(malformed); i++) {
                int r = memcg_parse_oom_file(malformed[i], &c, &under, &disabled);

                if (r != -EBADMSG)
                        fail_msg("\"%s\": %d, not -EBADMSG", malformed[i], r);
        }
        assert_int_equal(c.oom, 11);
        assert_int_equal(c.oom_kill, 12);
        assert_int_equal(c.max, 13);
        assert_true(disabled);
        assert_true(under);
}

static void test_oom_file_value_at_uint64_max_is_read(void **state) {
        assert_oom_file_reads("oom_kill 18446744073709551615\n", (MemcgOomCounters) { .oom_kill = UINT64_MAX }, false,
                              false);
}

static void test_write_u64_writes_decimal_and_max(void **state) {
        Fixture *f = *state;
        uint64_t v;

        put_file(f->fd, "memory.x", "0\n");
        assert_int_equal(memcg_write_u64(f->fd, "memory.x", 12), 0);
        assert_string_equal(get_file(f->fd, "memory.x"), "12\n");
        assert_int_equal(memcg_read_u64(f->fd, "memory.x", &v), 0);
        assert_true(v == 12);

        /* cgroupfs truncates by itself; for the plain file, start empty */
        put_file(f->fd, "memory.x", "");
        assert_int_equal(memcg_write_u64(f->fd, "memory.x", MEMCG_UNLIMITED), 0);
        assert_string_equal(get_file(f->fd, "memory.x"), "max\n");
        assert_int_equal(memcg_read_u64(f->fd, "memory.x", &v), 0);
        assert_true(v == MEMCG_UNLIMITED);
}

static void test_write_u64_never_creates_a_file(void **state) {
        Fixture *f = *state;

        assert_int_equal(memcg_write_u64(f->fd, "memory.priority", 3), -ENOENT);
        assert_false(exists(f->fd, "memory.priority"));
}

static void test_read_limit_and_usage_by_layout(void **state) {
        Fixture *f = *state;
        MemcgRoot v1 = { .layout = MEMCG_LAYOUT_V1, .fd = -1 };
        MemcgRoot v2 = { .layout = MEMCG_LAYOUT_V2, .fd = -1 };
        uint64_t v;

        put_file(f->fd, "memory.limit_in_bytes", "9223372036854771712\n");
        put_file(f->fd, "memory.usage_in_bytes", "4096\n");
        put_file(f->fd, "memory.high", "max\n");
        put_file(f->fd, "memory.max", "1073741824\n");
        put_file(f->fd, "memory.current", "8192\n");

        assert_int_equal(memcg_read_limit(&v1, f->fd, &v), 0);
        assert_true(v == MEMCG_UNLIMITED);
        assert_int_equal(memcg_read_usage(&v1, f->fd, &v), 0);
        assert_true(v == 4096);

        assert_int_equal(memcg_read_limit(&v2, f->fd, &v), 0);
        assert_true(v == UINT64_C(1073741824));
        put_file(f->fd, "memory.high", "536870912\n");
        assert_int_equal(memcg_read_limit(&v2, f->fd, &v), 0);
        assert_true(v == UINT64_C(536870912));
        put_file(f->fd, "memory.high", "max\n");
        put_file(f->fd, "memory.max", "max\n");
        assert_int_equal(memcg_read_limit(&v2, f->fd, &v), 0);
        assert_true(v == MEMCG_UNLIMITED);
        assert_int_equal(memcg_read_usage(&v2, f->fd, &v), 0);
        assert_true(v == 8192);

        assert_int_equal(unlinkat(f->fd, "memory.high", 0), 0);
        assert_int_equal(memcg_read_limit(&v2, f->fd, &v), -ENOENT);
}

/* ---- apply ---- */

static void test_apply_writes_what_differs_and_reports_each_knob(void **state) {
        Fixture *f = *state;
        _cleanup_(closep) int cg = make_cgroup(f->fd, "cg");
        MemcgDesired d = {};
        MemcgApplied a;

        put_file(cg, "memory.priority", "0\n");
        put_file(cg, "memory.use_priority_oom", "1\n");
        put_file(cg, "memory.wmark_scale_factor", "50\n");
        d.want[MEMCG_PRIORITY] = true;
        d.value[MEMCG_PRIORITY] = 2;
        d.want[MEMCG_USE_PRIORITY_OOM] = true;
        d.value[MEMCG_USE_PRIORITY_OOM] = 1;
        d.want[MEMCG_WMARK_RATIO] = true; /* no such file */
        d.value[MEMCG_WMARK_RATIO] = 80;
        /* scale factor not wanted */

        memcg_apply(cg, &d, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_WRITTEN);
        assert_true(a.current[MEMCG_PRIORITY] == 2);
        assert_string_equal(get_file(cg, "memory.priority"), "2\n");
        assert_int_equal(a.state[MEMCG_USE_PRIORITY_OOM], APPLY_IN_PLACE);
        assert_true(a.current[MEMCG_USE_PRIORITY_OOM] == 1);
        assert_int_equal(a.state[MEMCG_WMARK_RATIO], APPLY_UNSUPPORTED);
        assert_false(exists(cg, "memory.wmark_ratio"));
        assert_int_equal(a.state[MEMCG_WMARK_SCALE_FACTOR], APPLY_UNSET);
        assert_string_equal(get_file(cg, "memory.wmark_scale_factor"), "50\n");

        /* second pass: everything is in place, and nothing is written
         * (a write would move the files' mtime off the epoch) */
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                if (exists(cg, memcg_knob_file(k)))
                        assert_int_equal(utimensat(cg, memcg_knob_file(k),
                                                   (const struct timespec[2]) { {}, {} }, 0), 0);
        memcg_apply(cg, &d, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_IN_PLACE);
        assert_int_equal(a.state[MEMCG_USE_PRIORITY_OOM], APPLY_IN_PLACE);
        assert_int_equal(a.state[MEMCG_WMARK_RATIO], APPLY_UNSUPPORTED);
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                struct stat st;

                if (fstatat(cg, memcg_knob_file(k), &st, 0) < 0)
                        continue;
                assert_true(st.st_mtim.tv_sec == 0 && st.st_mtim.tv_nsec == 0);
        }
}

static void test_apply_garbage_in_file_fails_without_writing(void **state) {
        Fixture *f = *state;
        _cleanup_(closep) int cg = make_cgroup(f->fd, "cg");
        MemcgDesired d = { .want[MEMCG_PRIORITY] = true, .value[MEMCG_PRIORITY] = 3 };
        MemcgApplied a;

        put_file(cg, "memory.priority", "what\n");
        memcg_apply(cg, &d, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_FAILED);
        assert_int_equal(a.error[MEMCG_PRIORITY], -EBADMSG);
        assert_string_equal(get_file(cg, "memory.priority"), "what\n");
}

static void test_apply_on_removed_cgroup_fails_cleanly(void **state) {
        Fixture *f = *state;
        _cleanup_(closep) int cg = make_cgroup(f->fd, "gone");
        MemcgDesired d = {
                .want = { true, true, true, true },
                .value = { 1, 1, 80, 50 },
        };
        MemcgApplied a;

        assert_int_equal(unlinkat(cg, "cgroup.procs", 0), 0);
        assert_int_equal(unlinkat(f->fd, "gone", AT_REMOVEDIR), 0);

        memcg_apply(cg, &d, &a);
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                assert_int_equal(a.state[k], APPLY_FAILED);
                assert_int_equal(a.error[k], -ENOENT);
        }
}

/* ---- roots and opening ---- */

static void test_root_open_tells_layout_by_files(void **state) {
        Fixture *f = *state;
        _cleanup_(closep) int v1 = -1, v2 = -1, nomem = -1;
        _cleanup_(freep) char *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;
        MemcgRoot *r = NULL;

        assert_int_equal(mkdirat(f->fd, "v1", 0755), 0);
        assert_int_equal(mkdirat(f->fd, "v2", 0755), 0);
        assert_int_equal(mkdirat(f->fd, "nomem", 0755), 0);
        assert_int_equal(mkdirat(f->fd, "empty", 0755), 0);
        v1 = openat(f->fd, "v1", O_PATH | O_DIRECTORY);
        v2 = openat(f->fd, "v2", O_PATH | O_DIRECTORY);
        nomem = openat(f->fd, "nomem", O_PATH | O_DIRECTORY);
        put_file(v1, "memory.limit_in_bytes", "9223372036854771712\n");
        put_file(v2, "cgroup.controllers", "cpuset cpu io memory pids\n");
        put_file(nomem, "cgroup.controllers", "cpu io memoryx\n");
        assert_true(asprintf(&p1, "%s/v1/", f->dir) > 0);
        assert_true(asprintf(&p2, "%s/v2", f->dir) > 0);
        assert_true(asprintf(&p3, "%s/nomem", f->dir) > 0);
        assert_true(asprintf(&p4, "%s/empty", f->dir) > 0);

        assert_int_equal(memcg_root_open(p1, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V1);
        assert_true(endswith(r->path, "/v1")); /* no trailing slash */
        assert_true(r->path[0] == '/');
        assert_true(r->fd >= 0);
        memcg_root_free(r);

        assert_int_equal(memcg_root_open(p2, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V2);
        memcg_root_free(r);

        assert_int_equal(memcg_root_open(p3, &r), -ENOMEDIUM);
        assert_int_equal(memcg_root_open(p4, &r), -ENOMEDIUM);
        assert_int_equal(memcg_root_open("/nonexistent-memqos-root", &r), -ENOENT);
}

static void test_root_detect_hybrid_picks_v1_memory(void **state) {
        Fixture *f = *state;
        _cleanup_(closep) int unified = -1, memory = -1;
        _cleanup_(freep) char *want = NULL;
        MemcgRoot *r = NULL;

        assert_int_equal(memcg_root_detect(f->dir, &r), -ENOENT);

        assert_int_equal(mkdirat(f->fd, "unified", 0755), 0);
        unified = openat(f->fd, "unified", O_PATH | O_DIRECTORY);
        put_file(unified, "cgroup.controllers", "\n");
        assert_int_equal(memcg_root_detect(f->dir, &r), -ENOMEDIUM);

        assert_int_equal(mkdirat(f->fd, "memory", 0755), 0);
        memory = openat(f->fd, "memory", O_PATH | O_DIRECTORY);
        put_file(memory, "memory.limit_in_bytes", "9223372036854771712\n");
        assert_int_equal(memcg_root_detect(f->dir, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V1);
        assert_true(asprintf(&want, "%s/memory", f->dir) > 0);
        assert_string_equal(r->path, want);
        memcg_root_free(r);
}

static void test_root_detect_hybrid_without_v1_memory_uses_unified(void **state) {
        Fixture *f = *state;
        _cleanup_(closep) int unified = -1;
        _cleanup_(freep) char *want = NULL;
        MemcgRoot *r = NULL;

        /* memcg bound to no v1 hierarchy shows up in hybrid's cgroup2 mount */
        assert_int_equal(mkdirat(f->fd, "unified", 0755), 0);
        unified = openat(f->fd, "unified", O_PATH | O_DIRECTORY);
        put_file(unified, "cgroup.controllers", "memory pids\n");
        assert_int_equal(memcg_root_detect(f->dir, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V2);
        assert_true(asprintf(&want, "%s/unified", f->dir) > 0);
        assert_string_equal(r->path, want);
        memcg_root_free(r);
}

static void test_root_detect_unified_needs_memory_controller(void **state) {
        Fixture *f = *state;
        MemcgRoot *r = NULL;

        put_file(f->fd, "cgroup.controllers", "cpu io pids\n");
        assert_int_equal(memcg_root_detect(f->dir, &r), -ENOMEDIUM);
        put_file(f->fd, "cgroup.controllers", "cpu io memory pids\n");
        assert_int_equal(memcg_root_detect(f->dir, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V2);
        assert_string_equal(r->path, f->dir);
        memcg_root_free(r);
}

typedef int (*OpenFunc)(const MemcgRoot *r, const char *cgroup);

static int open_walk(const MemcgRoot *r, const char *cgroup) {
        return memcg_open_walk(r->fd, cgroup);
}

static void check_open_stays_below_root(Fixture *f, OpenFunc open_cgroup) {
        MemcgRoot *r = NULL;
        _cleanup_(closep) int a = -1;
        struct stat st_root, st_b, st_fd;
        int fd;

        put_file(f->fd, "memory.limit_in_bytes", "9223372036854771712\n");
        assert_int_equal(memcg_root_open(f->dir, &r), 0);
        a = make_cgroup(f->fd, "a");
        close(make_cgroup(a, "b"));
        put_file(a, "file", "");
        assert_int_equal(symlinkat("/", a, "abs"), 0);
        assert_int_equal(symlinkat("b", a, "rel"), 0);
        assert_int_equal(symlinkat("..", a, "up"), 0);

        fd = open_cgroup(r, "/a/b");
        assert_true(fd >= 0);
        assert_int_equal(fstatat(a, "b", &st_b, 0), 0);
        assert_int_equal(fstat(fd, &st_fd), 0);
        assert_true(st_b.st_ino == st_fd.st_ino && st_b.st_dev == st_fd.st_dev);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);

        fd = open_cgroup(r, "/");
        assert_true(fd >= 0);
        assert_int_equal(fstat(r->fd, &st_root), 0);
        assert_int_equal(fstat(fd, &st_fd), 0);
        assert_true(st_root.st_ino == st_fd.st_ino);
        close(fd);

        assert_int_equal(open_cgroup(r, "/a/abs"), -ELOOP);
        assert_int_equal(open_cgroup(r, "/a/rel"), -ELOOP);
        assert_int_equal(open_cgroup(r, "/a/up"), -ELOOP);
        assert_int_equal(open_cgroup(r, "/a/rel/x"), -ELOOP);
        assert_int_equal(open_cgroup(r, "/a/.."), -EINVAL);
        assert_int_equal(open_cgroup(r, "/../.."), -EINVAL);
        assert_int_equal(open_cgroup(r, "a/b"), -EINVAL);
        assert_int_equal(open_cgroup(r, "/a/missing"), -ENOENT);
        assert_int_equal(open_cgroup(r, "/a/file"), -ENOTDIR);

        memcg_root_free(r);
}

static void test_open_stays_below_root(void **state) {
        check_open_stays_below_root(*state, memcg_open);
}

static void test_open_walk_fallback_stays_below_root(void **state) {
        check_open_stays_below_root(*state, open_walk);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_validate_accepts_systemd_cgroup_paths),
                cmocka_unit_test(test_oom_file_v2_memory_events_gives_the_counters),
                cmocka_unit_test(test_oom_file_v1_oom_control_gives_counters_and_flags),
                cmocka_unit_test(test_oom_file_missing_keys_read_as_zero),
                cmocka_unit_test(test_oom_file_key_must_match_whole),
                cmocka_unit_test(test_oom_file_ret_may_be_null),
                cmocka_unit_test(test_oom_file_malformed_line_is_rejected),
                cmocka_unit_test(test_oom_file_value_at_uint64_max_is_read),
                cmocka_unit_test(test_path_validate_rejects_hostile_paths),
                cmocka_unit_test(test_path_validate_length_limit_is_path_max),
                cmocka_unit_test(test_knob_files_and_kernel_defaults),
                cmocka_unit_test(test_state_and_layout_names),
                cmocka_unit_test(test_plan_unwanted_is_left_alone_whatever_was_read),
                cmocka_unit_test(test_plan_missing_file_is_unsupported),
                cmocka_unit_test(test_plan_other_read_errors_fail),
                cmocka_unit_test(test_plan_writes_only_what_differs),
                cmocka_unit_test(test_watermarks_ratio_0_is_infinite),
                cmocka_unit_test(test_watermarks_without_limit_are_infinite),
                cmocka_unit_test(test_watermarks_80_percent_scale_50_of_1g),
                cmocka_unit_test(test_watermarks_round_down_to_pages),
                cmocka_unit_test(test_watermarks_in_64k_pages),
                cmocka_unit_test(test_watermarks_gap_wider_than_high_gives_low_0),
                cmocka_unit_test(test_watermarks_out_of_range_inputs_are_clamped),
                cmocka_unit_test(test_watermarks_exact_for_huge_limits),
                cmocka_unit_test_setup_teardown(test_read_u64_parses_kernel_output, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_read_u64_v1_page_counter_max_is_unlimited, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_read_u64_rejects_garbage, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_read_u64_missing_file_is_enoent, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_read_u64_refuses_symlinks, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_write_u64_writes_decimal_and_max, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_write_u64_never_creates_a_file, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_read_limit_and_usage_by_layout, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_apply_writes_what_differs_and_reports_each_knob, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_apply_garbage_in_file_fails_without_writing, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_apply_on_removed_cgroup_fails_cleanly, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_root_open_tells_layout_by_files, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_root_detect_hybrid_picks_v1_memory, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_root_detect_hybrid_without_v1_memory_uses_unified, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_root_detect_unified_needs_memory_controller, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_open_stays_below_root, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_open_walk_fallback_stays_below_root, fixture_setup, fixture_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
