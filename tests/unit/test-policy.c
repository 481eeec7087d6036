/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [X-MemQoS] parsing: files written into a fresh temporary directory per
 * test (or taken from tests/unit/data/), parsed as memqosd parses a unit's
 * FragmentPath and DropInPaths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "basic/util.h"
#include "conf/policy.h"

typedef struct Files {
        char dir[64];
        char *paths[8];
        size_t n;
        Diagnostics diags;
} Files;

static int files_setup(void **state) {
        Files *f = calloc(1, sizeof(Files));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/memqos-test-policy-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        *state = f;
        return 0;
}

static int files_teardown(void **state) {
        Files *f = *state;

        for (size_t i = 0; i < f->n; i++) {
                (void) unlink(f->paths[i]);
                (void) rmdir(f->paths[i]); /* some tests put a directory where a file belongs */
                free(f->paths[i]);
        }
        assert_int_equal(rmdir(f->dir), 0);
        diagnostics_done(&f->diags);
        free(f);
        return 0;
}

/* Adds a file to the unit's list of files, in order. */
static const char *add_file(Files *f, const char *name, const char *content) {
        char *path;
        FILE *fp;

        assert_true(f->n < ELEMENTSOF(f->paths));
        assert_true(asprintf(&path, "%s/%s", f->dir, name) > 0);
        fp = fopen(path, "we");
        assert_non_null(fp);
        assert_int_equal(fputs(content, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
        f->paths[f->n++] = path;
        return path;
}

/* Lists a path that does not exist (a drop-in deleted under our feet). */
static void add_missing(Files *f, const char *name) {
        assert_true(asprintf(&f->paths[f->n++], "%s/%s", f->dir, name) > 0);
}

static Policy parse(Files *f, const Policy *previous) {
        Policy p;

        memset(&p, 0xaa, sizeof(p)); /* the parser must set everything */
        assert_int_equal(policy_parse_files(f->paths, f->n, previous, &p, &f->diags), 0);
        return p;
}

static const Diagnostic *only_diag(Files *f) {
        assert_int_equal(f->diags.n, 1);
        return &f->diags.items[0];
}

static char *long_line(const char *prefix, size_t total) {
        char *s = malloc(total + 1);

        assert_non_null(s);
        memset(s, '1', total);
        memcpy(s, prefix, strlen(prefix));
        s[total] = 0;
        return s;
}

static Policy policy_with_priority(unsigned prio) {
        return (Policy) { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY), .memory_priority = prio };
}

/* ---- The surface of design.md, section 1 ---- */

static void test_design_example_dropin_parses_with_its_comments(void **state) {
        char *paths[] = { TEST_DATA_DIR "/offline.slice.d/50-memqos.conf" };
        Diagnostics d = {};
        char buf[32 * POLICY_THRESHOLDS_MAX];
        Policy p;

        assert_int_equal(policy_parse_files(paths, 1, NULL, &p, &d), 0);
        assert_int_equal(d.n, 0);
        /* every key of design.md's example: all but MemoryReserve= and NoticeThresholds= */
        assert_int_equal(p.set, ((1u << _POLICY_KEY_MAX) - 1) &
                                        ~(POLICY_KEY_BIT(POLICY_MEMORY_RESERVE) | POLICY_KEY_BIT(POLICY_NOTICE_THRESHOLDS)));
        assert_int_equal(p.memory_priority, 2);
        assert_int_equal(p.watermark_ratio, 80);
        assert_int_equal(p.watermark_scale_factor, 50);
        assert_true(p.use_priority_oom);
        policy_format_thresholds(&p, buf, sizeof(buf));
        assert_string_equal(buf, "80% 95% 1G");
        diagnostics_done(&d);
}

static void test_unit_file_sections_never_leak_in(void **state) {
        char *paths[] = { TEST_DATA_DIR "/online.service" };
        Diagnostics d = {};
        Policy p;

        /* [Unit] and [Service] carry MemoryPriority=, WatermarkRatio=, a
         * 5000-character ExecStart= and lines without '='; none of that is
         * ours to use or to complain about. */
        assert_int_equal(policy_parse_files(paths, 1, NULL, &p, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(p.memory_priority, 10);
        diagnostics_done(&d);
}

static void test_other_sections_are_ignored_even_after_ours(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.service",
                 "[X-MemQoS]\nMemoryPriority=3\n"
                 "[Service]\nMemoryPriority=9\nUsePriorityOOM=yes\nBogus=1\n"
                 "[X-MemQoS-Extra]\nWatermarkRatio=5\n"
                 "[x-memqos]\nWatermarkRatio=6\n");
        p = parse(f, NULL);
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(p.memory_priority, 3);
}

static void test_keys_are_case_sensitive_and_unknown_keys_diagnosed(void **state) {
        Files *f = *state;
        const Diagnostic *d;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\n\nmemorypriority=3\n");
        p = parse(f, NULL);
        assert_int_equal(p.set, 0);
        d = only_diag(f);
        assert_int_equal(d->line, 3);
        assert_string_equal(d->key, "memorypriority");
        assert_string_equal(d->message, "Unknown key memorypriority= in [X-MemQoS], ignoring");
        assert_string_equal(d->file, f->paths[0]);
}

static void test_empty_section_or_no_files_give_empty_policy(void **state) {
        Files *f = *state;
        Policy p;

        p = parse(f, NULL);
        assert_int_equal(p.set, 0);
        assert_int_equal(p.n_thresholds, 0);

        add_file(f, "a.slice", "[X-MemQoS]\n# nothing yet\n");
        add_file(f, "empty.conf", "");
        p = parse(f, NULL);
        assert_int_equal(p.set, 0);
        assert_int_equal(f->diags.n, 0);
}

/* ---- Override order ---- */

static void test_later_files_override_earlier_keys(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=1\nWatermarkRatio=70\nUsePriorityOOM=no\n");
        add_file(f, "10-first.conf", "[X-MemQoS]\nMemoryPriority=4\nWatermarkScaleFactor=20\n");
        add_file(f, "20-second.conf", "[X-MemQoS]\nMemoryPriority=7\n");
        p = parse(f, NULL);
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(p.memory_priority, 7);
        assert_int_equal(p.watermark_ratio, 70);
        assert_int_equal(p.watermark_scale_factor, 20);
        assert_false(p.use_priority_oom);
        assert_true(policy_has(&p, POLICY_USE_PRIORITY_OOM));
        assert_false(policy_has(&p, POLICY_MEMORY_THRESHOLDS));
}

static void test_later_assignment_in_one_file_overrides_earlier(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=1\n[Unit]\n[X-MemQoS]\nMemoryPriority=12\n");
        p = parse(f, NULL);
        assert_int_equal(p.memory_priority, 12);
}

static void test_empty_assignment_resets_key_to_unset(void **state) {
        Files *f = *state;
        Policy previous = policy_with_priority(9), p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=5\nWatermarkRatio=80\n");
        add_file(f, "50-reset.conf", "[X-MemQoS]\nMemoryPriority=\nWatermarkRatio = \n");
        /* a reset is a valid assignment: the previous value does not come back */
        p = parse(f, &previous);
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(p.set, 0);
}

/* ---- Invalid values ---- */

static void test_priority_13_is_ignored_and_the_default_applies(void **state) {
        Files *f = *state;
        Policy previous = policy_with_priority(5), p;
        const Diagnostic *d;

        add_file(f, "a.slice", "[Unit]\nDescription=x\n\n[X-MemQoS]\nMemoryPriority=13\nWatermarkRatio=60\n");
        /* what was in force before does not count: no valid assignment, no key */
        p = parse(f, &previous);
        assert_false(policy_has(&p, POLICY_MEMORY_PRIORITY));
        assert_int_equal(p.watermark_ratio, 60);
        d = only_diag(f);
        assert_string_equal(d->message, "MemoryPriority=13 is out of range 0..12, ignoring");
        assert_string_equal(d->key, "MemoryPriority");
        assert_int_equal(d->line, 5);
}

static void test_invalid_value_without_previous_keeps_earlier_valid_assignment(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=3\n");
        add_file(f, "50-bad.conf", "[X-MemQoS]\nMemoryPriority=abc\n");
        p = parse(f, NULL);
        assert_int_equal(p.memory_priority, 3);
        assert_string_equal(only_diag(f)->message,
                            "MemoryPriority=abc is not a whole number in the range 0..12, ignoring");
        assert_string_equal(only_diag(f)->file, f->paths[1]);
}

/* issue #11: 3 in force, then the earlier drop-in edited to 5 under a later
 * invalid one: 5, as after a restart of memqosd, not the 3 of history. */
static void test_invalid_value_gives_earlier_assignment_not_previous_policy(void **state) {
        Files *f = *state;
        Policy previous = policy_with_priority(3), p;

        add_file(f, "50-memqos.conf", "[X-MemQoS]\nMemoryPriority=5\n");
        add_file(f, "60-bad.conf", "[X-MemQoS]\nMemoryPriority=13\n");
        p = parse(f, &previous);
        assert_int_equal(p.memory_priority, 5);
        assert_int_equal(f->diags.n, 1);
}

static void test_invalid_value_in_the_middle_of_one_file_is_skipped(void **state) {
        Files *f = *state;
        Policy previous = policy_with_priority(8), p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=2\nMemoryPriority=-1\nWatermarkRatio=101\n");
        add_file(f, "50-x.conf", "[X-MemQoS]\nUsePriorityOOM=sometimes\nMemoryThresholds=80% 1X\n");
        p = parse(f, &previous);
        assert_int_equal(p.memory_priority, 2);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(f->diags.n, 4);
}

static void test_same_files_same_policy_whatever_was_in_force(void **state) {
        Files *f = *state;
        Policy before[] = { {}, policy_with_priority(0), policy_with_priority(12),
                            { .set = POLICY_KEY_BIT(POLICY_WATERMARK_RATIO), .watermark_ratio = 10 } };
        Policy first = {}, p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=4\nWatermarkRatio=abc\n");
        add_file(f, "50-x.conf", "[X-MemQoS]\nMemoryPriority=99\nUsePriorityOOM=2\n");
        for (size_t i = 0; i < ELEMENTSOF(before); i++) {
                p = parse(f, &before[i]);
                if (i == 0)
                        first = p;
                assert_true(policy_equal(&p, &first));
                diagnostics_done(&f->diags);
        }
        assert_int_equal(first.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(first.memory_priority, 4);
}

static void test_invalid_value_overridden_by_later_valid_one(void **state) {
        Files *f = *state;
        Policy previous = policy_with_priority(8), p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=99\n");
        add_file(f, "50-fix.conf", "[X-MemQoS]\nMemoryPriority=4\n");
        p = parse(f, &previous);
        assert_int_equal(p.memory_priority, 4);
        assert_int_equal(f->diags.n, 1);
}

static void test_invalid_value_with_nothing_valid_leaves_key_unset(void **state) {
        Files *f = *state;
        Policy previous = { .set = POLICY_KEY_BIT(POLICY_WATERMARK_RATIO), .watermark_ratio = 50 }, p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=1.5\n");
        p = parse(f, &previous);
        assert_int_equal(p.set, 0); /* WatermarkRatio= was removed from the files */
}

static void test_ranges_of_each_key(void **state) {
        static const struct {
                const char *line;
                bool valid;
        } cases[] = {
                { "MemoryPriority=0", true },        { "MemoryPriority=12", true },
                { "MemoryPriority=13", false },      { "MemoryPriority=007", true },
                { "MemoryPriority=+1", false },      { "MemoryPriority=0x1", false },
                { "MemoryPriority=1 2", false },     { "MemoryPriority=99999999999999999999999", false },
                { "WatermarkRatio=0", true },        { "WatermarkRatio=100", true },
                { "WatermarkRatio=101", false },     { "WatermarkRatio=80%", false },
                { "WatermarkScaleFactor=0", false }, { "WatermarkScaleFactor=1", true },
                { "WatermarkScaleFactor=1000", true }, { "WatermarkScaleFactor=1001", false },
                { "UsePriorityOOM=maybe", false },   { "UsePriorityOOM=2", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char text[128];
                const char *texts[] = { text }, *names[] = { "t.conf" };
                size_t sizes[1];
                Diagnostics d = {};
                Policy p;

                snprintf(text, sizeof(text), "[X-MemQoS]\n%s\n", cases[i].line);
                sizes[0] = strlen(text);
                assert_int_equal(policy_parse_texts(texts, sizes, names, 1, &p, &d), 0);
                if (cases[i].valid != (p.set != 0 && d.n == 0))
                        fail_msg("%s: expected %s", cases[i].line, cases[i].valid ? "valid" : "invalid");
                diagnostics_done(&d);
        }
}

static void test_bool_variants_follow_systemd(void **state) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on", "YES", "True", "On" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off", "NO", "False", "OFF" };
        static const char *const neither[] = { "", "2", "enable", "yes!", "ja", " yes", "nope" };
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                b = false;
                assert_int_equal(policy_parse_bool(yes[i], &b), 0);
                assert_true(b);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                b = true;
                assert_int_equal(policy_parse_bool(no[i], &b), 0);
                assert_false(b);
        }
        for (size_t i = 0; i < ELEMENTSOF(neither); i++)
                assert_int_equal(policy_parse_bool(neither[i], &b), -EINVAL);
}

static void test_bool_key_invalid_is_ignored_and_previous_not_used(void **state) {
        Files *f = *state;
        Policy previous = { .set = POLICY_KEY_BIT(POLICY_USE_PRIORITY_OOM), .use_priority_oom = true }, p;

        add_file(f, "a.slice", "[X-MemQoS]\nUsePriorityOOM=sometimes\n");
        p = parse(f, &previous);
        assert_false(policy_has(&p, POLICY_USE_PRIORITY_OOM));
        assert_string_equal(only_diag(f)->message,
                            "UsePriorityOOM=sometimes is not a boolean (yes/no, true/false, on/off, 1/0), ignoring");
}

/* ---- Unreadable files ---- */

static void test_unreadable_file_keeps_previous_policy_whole(void **state) {
        Files *f = *state;
        Policy previous = {
                .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS),
                .memory_priority = 6,
                .n_thresholds = 1,
                .thresholds = { { .is_percent = true, .value = 90 } },
        };
        const Diagnostic *d;
        Policy p;

        /* the readable files say something else: none of it is taken */
        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=1\nWatermarkRatio=10\n");
        add_missing(f, "50-gone.conf");
        add_file(f, "60-later.conf", "[X-MemQoS]\nMemoryPriority=bad\n");
        p = parse(f, &previous);
        assert_true(policy_equal(&p, &previous));
        d = only_diag(f);
        assert_string_equal(d->file, f->paths[1]);
        assert_int_equal(d->line, 0);
        assert_null(d->key);
        assert_string_equal(d->message,
                            "Cannot read file: No such file or directory; keeping the unit's last valid policy");
}

static void test_directory_instead_of_file_is_unreadable(void **state) {
        Files *f = *state;
        Policy p;

        add_missing(f, "50-dir.conf");
        assert_int_equal(mkdir(f->paths[0], 0755), 0);
        p = parse(f, NULL); /* no previous: the unit has no policy */
        assert_int_equal(p.set, 0);
        assert_int_equal(p.n_thresholds, 0);
        assert_string_equal(only_diag(f)->message,
                            "Cannot read file: Is a directory; keeping the unit's last valid policy");
}

static void test_fifo_is_refused_without_hanging(void **state) {
        Files *f = *state;

        add_missing(f, "50-fifo.conf");
        assert_int_equal(mkfifo(f->paths[0], 0600), 0);
        (void) parse(f, NULL);
        assert_string_equal(only_diag(f)->message,
                            "Cannot read file: not a regular file; keeping the unit's last valid policy");
}

static void test_file_over_1_mib_is_unreadable(void **state) {
        Files *f = *state;
        Policy previous = policy_with_priority(4), p;
        _cleanup_(freep) char *big = long_line("[X-MemQoS]\nMemoryPriority=1\n#", READ_FILE_SIZE_MAX + 1);

        add_file(f, "a.slice", big);
        p = parse(f, &previous);
        assert_true(policy_equal(&p, &previous));
        assert_string_equal(only_diag(f)->message,
                            "Cannot read file: larger than 1 MiB; keeping the unit's last valid policy");
}

static void test_dev_null_fragment_of_masked_unit_is_empty(void **state) {
        char *paths[] = { (char *) "/dev/null" };
        Diagnostics d = {};
        Policy p;

        assert_int_equal(policy_parse_files(paths, 1, NULL, &p, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(p.set, 0);
}

/* ---- NoticeThresholds= ---- */

static void test_notice_thresholds_are_a_list_of_their_own(void **state) {
        Files *f = *state;
        Policy p, q;
        char buf[32 * POLICY_THRESHOLDS_MAX];

        add_file(f, "50-x.conf",
                 "[X-MemQoS]\nMemoryThresholds=90%\nNoticeThresholds=64M\nNoticeThresholds=80% 64M\n"
                 "NoticeThresholds=1X\n");
        p = parse(f, NULL);
        assert_true(policy_has(&p, POLICY_NOTICE_THRESHOLDS));
        assert_int_equal(p.n_notice_thresholds, 2);
        policy_format_threshold_list(p.notice_thresholds, p.n_notice_thresholds, buf, sizeof(buf));
        assert_string_equal(buf, "64M 80%");
        /* MemoryThresholds= is untouched by it */
        policy_format_thresholds(&p, buf, sizeof(buf));
        assert_string_equal(buf, "90%");
        assert_int_equal(f->diags.n, 1);
        assert_string_equal(f->diags.items[0].key, "NoticeThresholds");

        /* equal only with the same notice list; an empty assignment clears it */
        q = p;
        q.notice_thresholds[0].value = 32ull << 20;
        assert_false(policy_equal(&p, &q));
        add_file(f, "60-y.conf", "[X-MemQoS]\nNoticeThresholds=\n");
        p = parse(f, NULL);
        assert_false(policy_has(&p, POLICY_NOTICE_THRESHOLDS));
        assert_int_equal(p.n_notice_thresholds, 0);
}

/* ---- MemoryThresholds= ---- */

static void test_thresholds_take_percentages_and_sizes(void **state) {
        Threshold t[POLICY_THRESHOLDS_MAX];
        size_t n = 0;

        assert_int_equal(policy_parse_thresholds("80% 95%\t1G 512M 4096 3K 2T", t, ELEMENTSOF(t), &n), 0);
        assert_int_equal(n, 7);
        assert_true(t[0].is_percent);
        assert_int_equal(t[0].value, 80);
        assert_int_equal(t[1].value, 95);
        assert_false(t[2].is_percent);
        assert_int_equal(t[2].value, UINT64_C(1) << 30);
        assert_int_equal(t[3].value, UINT64_C(512) << 20);
        assert_int_equal(t[4].value, 4096);
        assert_int_equal(t[5].value, 3072);
        assert_int_equal(t[6].value, UINT64_C(2) << 40);
}

static void test_thresholds_reject_bad_units_and_out_of_range(void **state) {
        static const struct {
                const char *s;
                int r;
        } cases[] = {
                { "1X", -EINVAL },   { "1g", -EINVAL },     { "1.5G", -EINVAL },    { "-1G", -EINVAL },
                { "G", -EINVAL },    { "%", -EINVAL },      { "80%%", -EINVAL },    { "8x0%", -EINVAL },
                { "1GB", -EINVAL },  { "0%", -ERANGE },     { "101%", -ERANGE },    { "0", -ERANGE },
                { "0G", -ERANGE },   { "16777216T", -ERANGE }, { "", -EINVAL },    { "   ", -EINVAL },
                { "80% 1X", -EINVAL },
        };
        Threshold t[POLICY_THRESHOLDS_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = 0;
                int r = policy_parse_thresholds(cases[i].s, t, ELEMENTSOF(t), &n);
                if (r != cases[i].r)
                        fail_msg("\"%s\": got %d, expected %d", cases[i].s, r, cases[i].r);
        }
}

static void test_thresholds_at_most_max(void **state) {
        Threshold t[POLICY_THRESHOLDS_MAX];
        char list[256] = "";
        size_t n = 0;

        for (unsigned i = 1; i <= POLICY_THRESHOLDS_MAX; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%u%% ", i);
        assert_int_equal(policy_parse_thresholds(list, t, ELEMENTSOF(t), &n), 0);
        assert_int_equal(n, POLICY_THRESHOLDS_MAX);
        strcat(list, "99%");
        assert_int_equal(policy_parse_thresholds(list, t, ELEMENTSOF(t), &n), -ERANGE);
}

static void test_too_many_thresholds_in_file_rejected_and_old_kept(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice",
                 "[X-MemQoS]\nMemoryThresholds=50%\n"
                 "MemoryThresholds=1% 2% 3% 4% 5% 6% 7% 8% 9% 10% 11% 12% 13% 14% 15% 16% 17%\n");
        p = parse(f, NULL);
        assert_int_equal(p.n_thresholds, 1);
        assert_int_equal(p.thresholds[0].value, 50);
        assert_int_equal(only_diag(f)->line, 3);
        assert_string_equal(only_diag(f)->message,
                            "MemoryThresholds=1% 2% 3% 4% 5% 6% 7% 8% 9% 10% 11% 12% 13% 14% 15% 16% 17% "
                            "lists more than 16 thresholds, ignoring");
}

static void test_thresholds_append_across_files_up_to_max(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryThresholds=1% 2% 3% 4% 5% 6% 7% 8% 9% 10%\n");
        add_file(f, "50-more.conf", "[X-MemQoS]\nMemoryThresholds=11% 12% 13% 14% 15% 16% 17%\n");
        p = parse(f, NULL);
        assert_int_equal(p.n_thresholds, 10);
        assert_string_equal(only_diag(f)->message,
                            "MemoryThresholds=11% 12% 13% 14% 15% 16% 17% would make more than 16 thresholds "
                            "for the unit, ignoring");
}

static void test_thresholds_bad_word_is_named(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryThresholds=80% 101%\nMemoryThresholds=80% 2Q\n");
        p = parse(f, NULL);
        assert_false(policy_has(&p, POLICY_MEMORY_THRESHOLDS));
        assert_int_equal(f->diags.n, 2);
        assert_string_equal(f->diags.items[0].message,
                            "MemoryThresholds=80% 101%: '101%' is out of range (1%..100% of the limit, or a size "
                            "above 0), ignoring");
        assert_string_equal(f->diags.items[1].message,
                            "MemoryThresholds=80% 2Q: '2Q' is neither a percentage like 80% nor a size like 512M "
                            "or 1G, ignoring");
}

static void test_thresholds_list_appends_and_empty_assignment_resets(void **state) {
        Files *f = *state;
        char buf[32 * POLICY_THRESHOLDS_MAX];
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryThresholds=80% 95%\n");
        add_file(f, "50-add.conf", "[X-MemQoS]\nMemoryThresholds=1G\nMemoryThresholds=95% 2G\n");
        p = parse(f, NULL);
        policy_format_thresholds(&p, buf, sizeof(buf));
        assert_string_equal(buf, "80% 95% 1G 2G"); /* 95% only once */

        add_file(f, "60-replace.conf", "[X-MemQoS]\nMemoryThresholds=\nMemoryThresholds=70%\n");
        p = parse(f, NULL);
        policy_format_thresholds(&p, buf, sizeof(buf));
        assert_string_equal(buf, "70%");
        assert_int_equal(f->diags.n, 0);
}

static void test_thresholds_format_uses_largest_exact_suffix(void **state) {
        Policy p = {
                .set = POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS),
                .n_thresholds = 5,
                .thresholds = { { true, 100 }, { false, UINT64_C(1536) << 20 }, { false, 1000 },
                                { false, UINT64_C(3) << 40 }, { false, 1024 } },
        };
        char buf[32 * POLICY_THRESHOLDS_MAX], tiny[8];

        policy_format_thresholds(&p, buf, sizeof(buf));
        assert_string_equal(buf, "100% 1536M 1000 3T 1K");
        policy_format_thresholds(&p, tiny, sizeof(tiny));
        assert_string_equal(tiny, "100% 15"); /* cut, still a string */
}

/* ---- Lexical matters ---- */

static void test_inline_comments_are_stripped(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice",
                 "[X-MemQoS] # ours\n"
                 "MemoryPriority=2   # higher survives longer\n"
                 "WatermarkRatio=80\t; percent\n"
                 "MemoryThresholds=80% 95% # two\n"
                 "  # indented comment\n"
                 "; semicolon comment\n");
        p = parse(f, NULL);
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(p.memory_priority, 2);
        assert_int_equal(p.watermark_ratio, 80);
        assert_int_equal(p.n_thresholds, 2);
}

static void test_hash_without_space_is_part_of_the_value(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "[X-MemQoS]\nMemoryPriority=2#x\n");
        p = parse(f, NULL);
        assert_false(policy_has(&p, POLICY_MEMORY_PRIORITY));
        assert_string_equal(only_diag(f)->message,
                            "MemoryPriority=2#x is not a whole number in the range 0..12, ignoring");
}

static void test_long_line_is_diagnosed_with_its_number_and_skipped(void **state) {
        Files *f = *state;
        _cleanup_(freep) char *text = NULL, *too_long = long_line("WatermarkRatio=", 5000);
        Policy p;

        assert_true(asprintf(&text, "[X-MemQoS]\nMemoryPriority=1\n%s\nWatermarkScaleFactor=5\n", too_long) > 0);
        add_file(f, "a.slice", text);
        p = parse(f, NULL);
        assert_int_equal(p.set,
                         POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_WATERMARK_SCALE_FACTOR));
        assert_int_equal(only_diag(f)->line, 3);
        assert_string_equal(only_diag(f)->message, "Line is longer than 4096 characters, ignoring");
}

static void test_line_of_exactly_4096_characters_is_read(void **state) {
        Files *f = *state;
        _cleanup_(freep) char *text = NULL, *line = NULL;
        Policy p;

        /* "MemoryPriority=000...0004": a valid value, as long as it may be */
        line = long_line("MemoryPriority=", INI_LINE_MAX);
        memset(line + strlen("MemoryPriority="), '0', INI_LINE_MAX - strlen("MemoryPriority="));
        line[INI_LINE_MAX - 1] = '4';
        assert_true(asprintf(&text, "[X-MemQoS]\n%s\n", line) > 0);
        add_file(f, "a.slice", text);
        p = parse(f, NULL);
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(p.memory_priority, 4);
}

static void test_garbage_lines_are_diagnosed_with_file_and_line(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice",
                 "[Service]\n"
                 "not an assignment\n"         /* 2: systemd's business */
                 "[X-MemQoS]\n"
                 "hello\n"                     /* 4 */
                 "MemoryPriority: 3\n"         /* 5: inih would take it, systemd would not */
                 "=5\n"                        /* 6 */
                 "WatermarkRatio=30\n"
                 "[X-MemQoS\n"                 /* 8: broken header */
                 "MemoryPriority=9\n"          /* skipped with its broken section */
                 "[X-MemQoS]\n"
                 "\x01\x02\x7f\n");            /* 11 */
        p = parse(f, NULL);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_WATERMARK_RATIO));
        assert_int_equal(f->diags.n, 5);
        assert_int_equal(f->diags.items[0].line, 4);
        assert_string_equal(f->diags.items[0].message,
                            "Line is neither a [Section] header nor a Key=value assignment, ignoring");
        assert_int_equal(f->diags.items[1].line, 5);
        assert_int_equal(f->diags.items[2].line, 6);
        assert_int_equal(f->diags.items[3].line, 8);
        assert_string_equal(f->diags.items[3].message,
                            "Invalid section header, ignoring it and the lines up to the next section");
        assert_int_equal(f->diags.items[4].line, 11);
        for (size_t i = 0; i < f->diags.n; i++) {
                assert_string_equal(f->diags.items[i].file, f->paths[0]);
                assert_null(f->diags.items[i].key);
        }
}

static int record_section(const char *section, const char *key, const char *value, unsigned line,
                          void *userdata) {
        char **last = userdata;

        free(*last);
        *last = strdup(section);
        return *last ? 0 : -ENOMEM;
}

static void test_long_section_names_reach_the_callback_whole(void **state) {
        static const char text[] = "Before=1\n"
                                   "[Group /kubepods/burstable/pod12345678-1234-1234-1234-123456789012/*]\n"
                                   "MemoryPriority=1\n";
        _cleanup_(freep) char *section = NULL;
        Diagnostics d = {};

        assert_int_equal(ini_parse_text(text, strlen(text), "rules.conf", NULL, record_section, &section, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(section, "Group /kubepods/burstable/pod12345678-1234-1234-1234-123456789012/*");
}

static void test_nul_byte_line_is_diagnosed(void **state) {
        static const char text[] = "[X-MemQoS]\nMemoryPriority=1\0 2\nWatermarkRatio=3\n";
        const char *texts[] = { text }, *names[] = { "nul.conf" };
        size_t sizes[] = { sizeof(text) - 1 };
        Diagnostics d = {};
        Policy p;

        assert_int_equal(policy_parse_texts(texts, sizes, names, 1, &p, &d), 0);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_WATERMARK_RATIO));
        assert_int_equal(d.n, 1);
        assert_int_equal(d.items[0].line, 2);
        assert_string_equal(d.items[0].message, "Line contains a NUL byte, ignoring");
        diagnostics_done(&d);
}

/* MemoryReserve=: a size or a percentage of the parent's limit, 0 for
 * none; a bad value is one diagnostic naming file and line, and the key
 * keeps what came before it. */
static void test_memory_reserve(void **state) {
        static const char text[] = "[X-MemQoS]\n"
                                   "MemoryReserve=512M\n"
                                   "MemoryReserve=101%\n"  /* 3: out of range */
                                   "MemoryReserve=1e3\n"   /* 4 */
                                   "MemoryReserve=12 M\n"  /* 5 */
                                   "MemoryReserve=-1\n";   /* 6 */
        const char *texts[] = { text }, *names[] = { "r.conf" };
        size_t sizes[] = { sizeof(text) - 1 };
        Diagnostics d = {};
        char buf[32];
        Policy p;
        Threshold t;

        assert_int_equal(policy_parse_texts(texts, sizes, names, 1, &p, &d), 0);
        assert_true(policy_has(&p, POLICY_MEMORY_RESERVE));
        assert_false(p.memory_reserve.is_percent);
        assert_int_equal(p.memory_reserve.value, 512 * 1024 * 1024ULL);
        policy_format_reserve(&p, buf, sizeof(buf));
        assert_string_equal(buf, "512M");
        assert_int_equal(d.n, 4);
        for (size_t i = 0; i < d.n; i++) {
                assert_int_equal(d.items[i].line, 3 + i);
                assert_string_equal(d.items[i].key, "MemoryReserve");
        }
        assert_non_null(strstr(d.items[0].message, "MemoryReserve=101% is not a size"));
        diagnostics_done(&d);

        assert_int_equal(policy_parse_reserve("25%", &t), 0);
        assert_true(t.is_percent);
        assert_int_equal(policy_reserve_bytes(&t, 1000 * 4096ULL), 250 * 4096ULL);
        assert_int_equal(policy_reserve_bytes(&t, UINT64_MAX), 0); /* no limit: no share of it */
        assert_int_equal(policy_parse_reserve("0", &t), 0);
        assert_int_equal(policy_reserve_bytes(&t, 1 << 30), 0);
        assert_int_equal(policy_parse_reserve("0%", &t), 0);
        assert_true(t.is_percent);
        assert_int_equal(policy_parse_reserve("1G", &t), 0);
        assert_int_equal(policy_reserve_bytes(&t, 1 << 20), 1 << 30); /* bytes are bytes */
        assert_int_not_equal(policy_parse_reserve("", &t), 0);
        assert_int_not_equal(policy_parse_reserve("50% 1G", &t), 0);

        /* "MemoryReserve=" resets it */
        static const char reset[] = "[X-MemQoS]\nMemoryReserve=10%\nMemoryReserve=\n";
        texts[0] = reset;
        sizes[0] = sizeof(reset) - 1;
        assert_int_equal(policy_parse_texts(texts, sizes, names, 1, &p, &d), 0);
        assert_false(policy_has(&p, POLICY_MEMORY_RESERVE));
        assert_int_equal(d.n, 0);
        diagnostics_done(&d);
}

static void test_continuation_lines_join_and_keep_line_numbers(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice",
                 "[Service]\n"
                 "ExecStart=/bin/true \\\n"
                 "    --flag \\\n"
                 "# a comment inside the continuation\n"
                 "    --other\n"
                 "[X-MemQoS]\n"
                 "MemoryThresholds=80% \\\n"
                 "  95%\n"
                 "MemoryPriority=20\n"); /* line 9 */
        p = parse(f, NULL);
        assert_int_equal(p.n_thresholds, 2);
        assert_int_equal(only_diag(f)->line, 9);
}

static void test_crlf_and_byte_order_mark_are_accepted(void **state) {
        Files *f = *state;
        Policy p;

        add_file(f, "a.slice", "\xef\xbb\xbf[X-MemQoS]\r\nMemoryPriority=6\r\nWatermarkRatio=7\r\n");
        p = parse(f, NULL);
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(p.memory_priority, 6);
        assert_int_equal(p.watermark_ratio, 7);
}

static void test_values_are_escaped_in_messages(void **state) {
        Files *f = *state;
        _cleanup_(freep) char *text = NULL, *value = long_line("\x1b[31m", 200);

        assert_true(asprintf(&text, "[X-MemQoS]\nMemoryPriority=%s\n", value) > 0);
        add_file(f, "a.slice", text);
        (void) parse(f, NULL);
        assert_non_null(strstr(only_diag(f)->message, "MemoryPriority=\\x1b[31m111"));
        assert_non_null(strstr(only_diag(f)->message, "11... is not a whole number"));
        assert_null(strchr(only_diag(f)->message, '\x1b'));
}

/* ---- Small things ---- */

static void test_key_names_round_trip(void **state) {
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                assert_int_equal(policy_key_from_string(policy_key_to_string(k)), k);
        assert_int_equal((int) policy_key_from_string("memorypriority"), -1);
        assert_int_equal((int) policy_key_from_string("MemoryMax"), -1);
        assert_null(policy_key_to_string(_POLICY_KEY_MAX));
}

static void test_policy_equal_looks_only_at_keys_in_force(void **state) {
        Policy a = policy_with_priority(3), b = policy_with_priority(3);

        a.watermark_ratio = 10; /* not set: noise */
        b.watermark_ratio = 20;
        assert_true(policy_equal(&a, &b));
        b.memory_priority = 4;
        assert_false(policy_equal(&a, &b));
        b = a;
        b.set |= POLICY_KEY_BIT(POLICY_WATERMARK_RATIO);
        assert_false(policy_equal(&a, &b));
        a.set = b.set = POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS);
        a.n_thresholds = b.n_thresholds = 1;
        a.thresholds[0] = (Threshold) { true, 80 };
        b.thresholds[0] = (Threshold) { false, 80 };
        assert_false(policy_equal(&a, &b));
}

static void test_copy_key_takes_value_and_set_bit(void **state) {
        Policy src = {
                .set = POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS),
                .memory_priority = 9,
                .n_thresholds = 1,
                .thresholds = { { true, 90 } },
        };
        Policy dst = policy_with_priority(3);

        policy_copy_key(&dst, &src, POLICY_MEMORY_THRESHOLDS);
        assert_int_equal(dst.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS));
        assert_int_equal(dst.n_thresholds, 1);
        assert_int_equal(dst.thresholds[0].value, 90);
        /* src does not set MemoryPriority=: copying it unsets it in dst */
        policy_copy_key(&dst, &src, POLICY_MEMORY_PRIORITY);
        assert_false(policy_has(&dst, POLICY_MEMORY_PRIORITY));
}

static void test_size_and_unsigned_parsers_reject_what_strtoul_takes(void **state) {
        uint64_t v;
        unsigned u;

        assert_int_equal(policy_parse_size("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(policy_parse_size("16777215T", &v), 0);
        assert_int_equal(policy_parse_size("16777216T", &v), -ERANGE);
        assert_int_equal(policy_parse_size("18446744073709551615", &v), 0);
        assert_int_equal(policy_parse_size("18446744073709551616", &v), -ERANGE);
        assert_int_equal(policy_parse_size(" 1G", &v), -EINVAL);
        assert_int_equal(policy_parse_size("1 G", &v), -EINVAL);
        assert_int_equal(policy_parse_unsigned("4294967296", 0, UINT32_MAX, &u), -ERANGE);
        assert_int_equal(policy_parse_unsigned("-0", 0, 10, &u), -EINVAL);
        assert_int_equal(policy_parse_unsigned("", 0, 10, &u), -EINVAL);
}

static void test_sources_name_the_line_of_each_key_in_force(void **state) {
        Files *f = *state;
        _cleanup_strv_free_ char **sources = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;

        add_file(f, "offline.slice", "[Unit]\nDescription=no memqos here\n");
        add_file(f, "10-a.conf", "[X-MemQoS]\nMemoryPriority=3\nWatermarkRatio=80\n");
        add_file(f, "20-b.conf", "# later\n[X-MemQoS]\nMemoryPriority=5\n");
        add_file(f, "30-c.conf", "[X-MemQoS]\nMemoryPriority=13\n"); /* invalid: 20-b's stays */
        Policy p = parse(f, NULL);
        assert_int_equal(p.memory_priority, 5);

        assert_int_equal(policy_sources(&p, p.set, f->paths, f->n, &sources), 0);
        assert_true(asprintf(&a, "%s/10-a.conf:3", f->dir) > 0);
        assert_true(asprintf(&b, "%s/20-b.conf:3", f->dir) > 0);
        assert_int_equal(strv_length(sources), 2);
        assert_string_equal(sources[0], a);
        assert_string_equal(sources[1], b);

        /* only the keys asked for: those a rule did not override */
        strv_free(sources);
        sources = NULL;
        assert_int_equal(policy_sources(&p, POLICY_KEY_BIT(POLICY_WATERMARK_RATIO), f->paths, f->n, &sources), 0);
        assert_int_equal(strv_length(sources), 1);
        assert_string_equal(sources[0], a);
}

/* a test with its own temporary files */
#define FILES_TEST(t) cmocka_unit_test_setup_teardown(t, files_setup, files_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_design_example_dropin_parses_with_its_comments),
                cmocka_unit_test(test_unit_file_sections_never_leak_in),
                FILES_TEST(test_other_sections_are_ignored_even_after_ours),
                FILES_TEST(test_keys_are_case_sensitive_and_unknown_keys_diagnosed),
                FILES_TEST(test_empty_section_or_no_files_give_empty_policy),
                FILES_TEST(test_later_files_override_earlier_keys),
                FILES_TEST(test_sources_name_the_line_of_each_key_in_force),
                FILES_TEST(test_later_assignment_in_one_file_overrides_earlier),
                FILES_TEST(test_empty_assignment_resets_key_to_unset),
                FILES_TEST(test_priority_13_is_ignored_and_the_default_applies),
                FILES_TEST(test_invalid_value_without_previous_keeps_earlier_valid_assignment),
                FILES_TEST(test_invalid_value_gives_earlier_assignment_not_previous_policy),
                FILES_TEST(test_invalid_value_in_the_middle_of_one_file_is_skipped),
                FILES_TEST(test_same_files_same_policy_whatever_was_in_force),
                FILES_TEST(test_invalid_value_overridden_by_later_valid_one),
                FILES_TEST(test_invalid_value_with_nothing_valid_leaves_key_unset),
                cmocka_unit_test(test_ranges_of_each_key),
                cmocka_unit_test(test_bool_variants_follow_systemd),
                FILES_TEST(test_bool_key_invalid_is_ignored_and_previous_not_used),
                FILES_TEST(test_unreadable_file_keeps_previous_policy_whole),
                FILES_TEST(test_directory_instead_of_file_is_unreadable),
                FILES_TEST(test_fifo_is_refused_without_hanging),
                FILES_TEST(test_file_over_1_mib_is_unreadable),
                cmocka_unit_test(test_dev_null_fragment_of_masked_unit_is_empty),
                cmocka_unit_test(test_thresholds_take_percentages_and_sizes),
                cmocka_unit_test(test_thresholds_reject_bad_units_and_out_of_range),
                cmocka_unit_test(test_thresholds_at_most_max),
                FILES_TEST(test_too_many_thresholds_in_file_rejected_and_old_kept),
                FILES_TEST(test_thresholds_append_across_files_up_to_max),
                FILES_TEST(test_thresholds_bad_word_is_named),
                FILES_TEST(test_thresholds_list_appends_and_empty_assignment_resets),
                cmocka_unit_test(test_thresholds_format_uses_largest_exact_suffix),
                FILES_TEST(test_inline_comments_are_stripped),
                FILES_TEST(test_hash_without_space_is_part_of_the_value),
                FILES_TEST(test_long_line_is_diagnosed_with_its_number_and_skipped),
                FILES_TEST(test_line_of_exactly_4096_characters_is_read),
                FILES_TEST(test_garbage_lines_are_diagnosed_with_file_and_line),
                cmocka_unit_test(test_long_section_names_reach_the_callback_whole),
                cmocka_unit_test(test_nul_byte_line_is_diagnosed),
                FILES_TEST(test_continuation_lines_join_and_keep_line_numbers),
                FILES_TEST(test_crlf_and_byte_order_mark_are_accepted),
                FILES_TEST(test_values_are_escaped_in_messages),
                cmocka_unit_test(test_key_names_round_trip),
                cmocka_unit_test_setup_teardown(test_notice_thresholds_are_a_list_of_their_own, files_setup,
                                                files_teardown),
                cmocka_unit_test(test_policy_equal_looks_only_at_keys_in_force),
                cmocka_unit_test(test_copy_key_takes_value_and_set_bit),
                cmocka_unit_test(test_size_and_unsigned_parsers_reject_what_strtoul_takes),
                cmocka_unit_test(test_memory_reserve),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
