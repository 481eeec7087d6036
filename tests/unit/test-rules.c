/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [Group GLOB] rules: patterns, precedence across memqos.conf and its
 * drop-ins, diagnostics with file:line, and the directories to watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "conf/rules.h"

#define INSTALLED_CONF TEST_DATA_DIR "/../../../memqos.conf"

typedef struct Fixture {
        char dir[64];
        char conf[96];
        char dropins[96];
        RuleSet rs;
        Diagnostics diags;
} Fixture;

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/memqos-test-rules-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->conf, sizeof(f->conf), "%s/memqos.conf", f->dir);
        snprintf(f->dropins, sizeof(f->dropins), "%s/memqos.conf.d", f->dir);
        assert_int_equal(mkdir(f->dropins, 0755), 0);
        *state = f;
        return 0;
}

static void remove_tree(const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char p[PATH_MAX];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (de->d_type == DT_DIR)
                        remove_tree(p);
                else
                        (void) unlink(p);
        }
        (void) rmdir(dir);
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;

        remove_tree(f->dir);
        ruleset_done(&f->rs);
        diagnostics_done(&f->diags);
        free(f);
        return 0;
}

static void write_file(const char *path, const char *text) {
        FILE *file = fopen(path, "we");

        assert_non_null(file);
        assert_true(fputs(text, file) >= 0);
        assert_int_equal(fclose(file), 0);
}

static void write_dropin(Fixture *f, const char *name, const char *text) {
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/%s", f->dropins, name);
        write_file(p, text);
}

/* Loads memqos.conf (text, or none when NULL) and the drop-ins written so far. */
static void load(Fixture *f, const char *conf) {
        if (conf)
                write_file(f->conf, conf);
        ruleset_done(&f->rs);
        diagnostics_done(&f->diags);
        assert_int_equal(rules_load(f->conf, f->dropins, &f->rs, &f->diags), 0);
}

static const char *diag_file_name(const Diagnostic *d) {
        const char *slash = strrchr(d->file, '/');
        return slash ? slash + 1 : d->file;
}

static void assert_diag(const Fixture *f, size_t i, const char *file, unsigned line, const char *key,
                        const char *message) {
        assert_true(i < f->diags.n);
        assert_string_equal(diag_file_name(&f->diags.items[i]), file);
        assert_int_equal(f->diags.items[i].line, line);
        if (key)
                assert_string_equal(f->diags.items[i].key, key);
        else
                assert_null(f->diags.items[i].key);
        assert_string_equal(f->diags.items[i].message, message);
}

static GroupRule rule(const char *glob) {
        return (GroupRule) { .glob = (char *) glob };
}

static void test_star_stays_within_one_component(void **state) {
        GroupRule r = rule("/kubepods/besteffort/*");

        assert_int_equal(rules_glob_validate(r.glob), 0);
        assert_true(group_rule_matches(&r, "/kubepods/besteffort/pod1"));
        assert_true(group_rule_matches(&r, "/kubepods/besteffort/.hidden"));
        assert_false(group_rule_matches(&r, "/kubepods/besteffort/pod1/c1"));
        assert_false(group_rule_matches(&r, "/kubepods/besteffort"));
        assert_false(group_rule_matches(&r, "/kubepods/burstable/pod1"));

        r = rule("/kubepods/*/pod?");
        assert_true(group_rule_matches(&r, "/kubepods/burstable/pod1"));
        assert_false(group_rule_matches(&r, "/kubepods/a/b/pod1"));
        assert_false(group_rule_matches(&r, "/kubepods/burstable/pod12"));

        r = rule("/k[a-c]/x");
        assert_true(group_rule_matches(&r, "/kb/x"));
        assert_false(group_rule_matches(&r, "/kd/x"));

        r = rule("/a/b");
        assert_true(group_rule_matches(&r, "/a/b"));
        assert_false(group_rule_matches(&r, "/a/b/c"));
        assert_false(group_rule_matches(&r, "/a"));
}

static void test_double_star_is_the_path_and_everything_below(void **state) {
        GroupRule r = rule("/kubepods/**");

        assert_int_equal(rules_glob_validate(r.glob), 0);
        assert_true(group_rule_matches(&r, "/kubepods"));
        assert_true(group_rule_matches(&r, "/kubepods/besteffort"));
        assert_true(group_rule_matches(&r, "/kubepods/besteffort/pod1/c1"));
        assert_false(group_rule_matches(&r, "/kubepodsX"));
        assert_false(group_rule_matches(&r, "/kubepodsX/a"));
        assert_false(group_rule_matches(&r, "/"));

        r = rule("/kubepods/*/**");
        assert_false(group_rule_matches(&r, "/kubepods"));
        assert_true(group_rule_matches(&r, "/kubepods/burstable"));
        assert_true(group_rule_matches(&r, "/kubepods/burstable/pod1/c1"));

        r = rule("/**");
        assert_int_equal(rules_glob_validate(r.glob), 0);
        assert_true(group_rule_matches(&r, "/"));
        assert_true(group_rule_matches(&r, "/a/b/c"));
}

static void test_invalid_patterns_are_refused(void **state) {
        const char *bad[] = { "", "kubepods/*", "/a/**/b", "/a**", "/**x", "/a/../b", "/a//b", "/a/", "/a/./b",
                              "/a\tb/**/**" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(rules_glob_validate(bad[i]), -EINVAL);
        assert_int_equal(rules_glob_validate("/"), 0);
        assert_int_equal(rules_glob_validate("/a*b/c?/[xy]"), 0);
}

static void test_group_section_names(void **state) {
        assert_true(rules_section_is_group("Group /a"));
        assert_true(rules_section_is_group("Group\t/a"));
        assert_true(rules_section_is_group("Group"));
        assert_false(rules_section_is_group("Groups /a"));
        assert_false(rules_section_is_group("group /a"));
        assert_false(rules_section_is_group("X-MemQoS"));
}

static void test_rules_read_in_order_conf_then_dropins_lexically(void **state) {
        Fixture *f = *state;
        const GroupRule *last;
        Policy p;
        char p_dir[PATH_MAX];

        write_dropin(f, "20-b.conf", "[Group /kubepods/besteffort/*]\nMemoryPriority=3\n");
        write_dropin(f, "10-a.conf", "[Group /kubepods/**]\nMemoryPriority=2\nWatermarkRatio=70\n");
        write_dropin(f, "30-c.conf.disabled", "[Group /**]\nMemoryPriority=9\n");
        write_dropin(f, ".hidden.conf", "[Group /**]\nMemoryPriority=9\n");
        snprintf(p_dir, sizeof(p_dir), "%s/25-dir.conf", f->dropins);
        assert_int_equal(mkdir(p_dir, 0755), 0);
        load(f,
             "[Daemon]\nLogLevel=debug\n"
             "[Group /kubepods/besteffort/*]\nMemoryPriority=1\nWatermarkRatio=80\nUsePriorityOOM=yes\n"
             "WatermarkScaleFactor=300\nMemoryReserve=25%\n");

        assert_int_equal(f->diags.n, 0);
        assert_int_equal(f->rs.n, 3);
        assert_string_equal(f->rs.rules[0].glob, "/kubepods/besteffort/*");
        assert_string_equal(diag_file_name(&(Diagnostic) { .file = f->rs.rules[0].file }), "memqos.conf");
        assert_int_equal(f->rs.rules[0].line, 3);
        assert_string_equal(f->rs.rules[1].glob, "/kubepods/**");
        assert_int_equal(f->rs.rules[1].line, 1);
        assert_string_equal(f->rs.rules[2].glob, "/kubepods/besteffort/*");
        assert_non_null(strstr(f->rs.rules[2].file, "/20-b.conf"));

        /* all three: the later ones win, key by key */
        assert_int_equal(rules_match(&f->rs, "/kubepods/besteffort/pod1", &p, &last), 3);
        assert_ptr_equal(last, &f->rs.rules[2]);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_WATERMARK_RATIO) |
                                        POLICY_KEY_BIT(POLICY_USE_PRIORITY_OOM) |
                                        POLICY_KEY_BIT(POLICY_WATERMARK_SCALE_FACTOR) |
                                        POLICY_KEY_BIT(POLICY_MEMORY_RESERVE));
        assert_int_equal(p.memory_priority, 3);
        assert_int_equal(p.watermark_scale_factor, 300);
        assert_true(p.memory_reserve.is_percent);
        assert_int_equal(p.memory_reserve.value, 25);
        assert_int_equal(p.watermark_ratio, 70);
        assert_true(p.use_priority_oom);

        /* only the drop-in's recursive rule */
        assert_int_equal(rules_match(&f->rs, "/kubepods/burstable/pod2/c", &p, &last), 1);
        assert_ptr_equal(last, &f->rs.rules[1]);
        assert_int_equal(p.memory_priority, 2);
        assert_int_equal(p.watermark_ratio, 70);
        assert_false(policy_has(&p, POLICY_USE_PRIORITY_OOM));

        /* none */
        assert_int_equal(rules_match(&f->rs, "/system.slice", &p, &last), 0);
        assert_null(last);
        assert_int_equal(p.set, 0);
}

static void test_empty_assignment_takes_key_out_and_thresholds_are_replaced(void **state) {
        Fixture *f = *state;
        Policy p;

        write_dropin(f, "50-late.conf",
                     "[Group /batch/*]\nWatermarkRatio=\nMemoryThresholds=95%\n");
        load(f,
             "[Group /batch/**]\nWatermarkRatio=60\nMemoryPriority=4\n"
             "MemoryThresholds=80%\nMemoryThresholds=1G 80%\n");

        assert_int_equal(f->diags.n, 0);
        assert_int_equal(f->rs.n, 2);
        assert_int_equal(f->rs.rules[1].reset, POLICY_KEY_BIT(POLICY_WATERMARK_RATIO));

        /* within a rule the list grows, as in a unit */
        assert_int_equal(rules_match(&f->rs, "/batch", &p, NULL), 1);
        assert_int_equal(p.n_thresholds, 2);
        assert_true(p.thresholds[0].is_percent);
        assert_int_equal(p.thresholds[0].value, 80);
        assert_int_equal(p.thresholds[1].value, UINT64_C(1) << 30);
        assert_int_equal(p.watermark_ratio, 60);

        /* a later rule replaces it, and takes WatermarkRatio= out */
        assert_int_equal(rules_match(&f->rs, "/batch/job1", &p, NULL), 2);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS));
        assert_int_equal(p.memory_priority, 4);
        assert_int_equal(p.n_thresholds, 1);
        assert_int_equal(p.thresholds[0].value, 95);
}

static void test_bad_values_and_keys_name_file_line_key(void **state) {
        Fixture *f = *state;
        Policy p;

        write_dropin(f, "10-bad.conf",
                     "# comment\n"
                     "[Group /kubepods/*]\n"
                     "MemoryPriority=13\n"
                     "Priority=2\n"
                     "UsePriorityOOM=maybe\n"
                     "WatermarkRatio=50\n");
        load(f,
             "[Group /a/*]\n"
             "MemoryPriority=5\n"
             "MemoryPriority=x\n"
             "WatermarkScaleFactor=0\n"
             "MemoryThresholds=80% 0\n");

        assert_int_equal(f->diags.n, 6);
        assert_diag(f, 0, "memqos.conf", 3, "MemoryPriority", "MemoryPriority=x is not a whole number in the range 0..12, ignoring");
        assert_diag(f, 1, "memqos.conf", 4, "WatermarkScaleFactor", "WatermarkScaleFactor=0 is out of range 1..1000, ignoring");
        assert_diag(f, 2, "memqos.conf", 5, "MemoryThresholds",
                    "MemoryThresholds=80% 0: '0' is out of range (1%..100% of the limit, or a size above 0), ignoring");
        assert_diag(f, 3, "10-bad.conf", 3, "MemoryPriority", "MemoryPriority=13 is out of range 0..12, ignoring");
        assert_diag(f, 4, "10-bad.conf", 4, "Priority", "Unknown key Priority= in [Group /kubepods/*], ignoring");
        assert_diag(f, 5, "10-bad.conf", 5, "UsePriorityOOM",
                    "UsePriorityOOM=maybe is not a boolean (yes/no, true/false, on/off, 1/0), ignoring");

        /* the bad words are ignored, the good ones stand */
        assert_int_equal(rules_match(&f->rs, "/a/b", &p, NULL), 1);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(p.memory_priority, 5);
        assert_int_equal(rules_match(&f->rs, "/kubepods/x", &p, NULL), 1);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_WATERMARK_RATIO));
}

static void test_bad_patterns_ignore_their_section_with_one_diagnostic(void **state) {
        Fixture *f = *state;

        load(f,
             "[Group kubepods/*]\nMemoryPriority=1\nWatermarkRatio=2\n"
             "[Group /a/**/b]\nMemoryPriority=1\n"
             "[Group]\nMemoryPriority=1\n"
             "[Group  /ok/*  ]\nMemoryPriority=1\n");

        assert_int_equal(f->diags.n, 3);
        assert_diag(f, 0, "memqos.conf", 1, NULL,
                    "[Group kubepods/*]: the pattern must be an absolute cgroup path, with \"**\" only as a last \"/**\"; ignoring the section");
        assert_int_equal(f->diags.items[1].line, 4);
        assert_int_equal(f->diags.items[2].line, 6);
        assert_int_equal(f->rs.n, 1);
        assert_string_equal(f->rs.rules[0].glob, "/ok/*");
        assert_int_equal(f->rs.rules[0].line, 8);
}

/* libinih cuts section names at 49 characters; the pattern must not be. */
static void test_long_patterns_are_kept_whole(void **state) {
        Fixture *f = *state;
        const char *glob = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod*.slice/**";
        char text[512];
        Policy p;

        snprintf(text, sizeof(text),
                 "\xef\xbb\xbf# a comment [Group /not/a/header]\n"
                 "[Daemon]\n"
                 "LogLevel=info \\\n"
                 "[Group /continued/not/a/header/at/all/but/long/enough/to/be/cut]\n"
                 "\n"
                 "[Group %s]\n"
                 "; comment\n"
                 "MemoryPriority=2\n",
                 glob);
        load(f, text);

        assert_int_equal(f->diags.n, 0);
        assert_int_equal(f->rs.n, 1);
        assert_string_equal(f->rs.rules[0].glob, glob);
        assert_int_equal(f->rs.rules[0].line, 6);
        assert_int_equal(rules_match(&f->rs, "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podX.slice/c",
                                     &p, NULL),
                         1);
        assert_int_equal(p.memory_priority, 2);
}

/* The same header twice makes two rules, in their places in the order. */
static void test_repeated_section_is_a_rule_of_its_own(void **state) {
        Fixture *f = *state;
        Policy p;

        load(f,
             "[Group /a/*]\nMemoryPriority=1\n"
             "[Group /a/b]\nMemoryPriority=2\n"
             "[Group /a/*]\nWatermarkRatio=10\n");
        assert_int_equal(f->rs.n, 3);
        assert_int_equal(rules_match(&f->rs, "/a/b", &p, NULL), 3);
        assert_int_equal(p.memory_priority, 2);
        assert_int_equal(p.watermark_ratio, 10);
}

static void test_other_sections_and_bad_lines_are_config_cs(void **state) {
        Fixture *f = *state;

        write_dropin(f, "10-x.conf",
                     "Stray=1\n"
                     "[Daemon]\nLogLevel=debug\n"
                     "this is not an assignment\n"
                     "[Group /a]\nMemoryPriority=1\n");
        load(f,
             "[Daemon]\nLogLevel=debug\nNoSuchKey=1\n"
             "garbage line\n"
             "[Nonsense]\nX=1\n"
             "[Group /b]\nMemoryPriority=1\n");

        /* config_load() reads the same files and says these, once */
        assert_int_equal(f->diags.n, 0);
        assert_int_equal(f->rs.n, 2);
}

static void test_missing_files_are_no_rules_unreadable_ones_are_said(void **state) {
        Fixture *f = *state;
        char *dropins[] = { f->dropins, (char *) "/nonexistent/x.conf" };

        assert_int_equal(rules_load("/nonexistent/memqos.conf", "/nonexistent/memqos.conf.d", &f->rs, &f->diags), 0);
        assert_int_equal(f->rs.n, 0);
        assert_int_equal(f->rs.n_unreadable, 0);
        assert_int_equal(f->diags.n, 0);

        /* a directory where a file should be */
        assert_int_equal(rules_parse_files(NULL, dropins, ELEMENTSOF(dropins), &f->rs, &f->diags), 0);
        assert_int_equal(f->rs.n_unreadable, 1);
        assert_int_equal(f->diags.n, 1);
        assert_int_equal(f->diags.items[0].line, 0);
        assert_string_equal(f->diags.items[0].message,
                            "Cannot read file: Is a directory; its [Group] rules are not in force");
}

static void test_watch_roots_are_literal_prefixes_without_nesting(void **state) {
        Fixture *f = *state;
        _cleanup_strv_free_ char **roots = NULL;

        load(f,
             "[Group /kubepods/besteffort/*]\nMemoryPriority=1\n"
             "[Group /kubepods/besteffort/pod1/**]\nMemoryPriority=1\n"
             "[Group /kubepods/burstable/*/c?]\nMemoryPriority=1\n"
             "[Group /batch/**]\nMemoryPriority=1\n"
             "[Group /batch-2/x]\nMemoryPriority=1\n"
             "[Group /batch/x]\nMemoryPriority=1\n");
        assert_int_equal(rules_watch_roots(&f->rs, &roots), 0);
        assert_int_equal(strv_length(roots), 4);
        assert_string_equal(roots[0], "/batch");
        assert_string_equal(roots[1], "/batch-2/x");
        assert_string_equal(roots[2], "/kubepods/besteffort");
        assert_string_equal(roots[3], "/kubepods/burstable");
        strv_free(TAKE_PTR(roots));

        load(f, "[Group /kube*/x]\nMemoryPriority=1\n[Group /a]\nMemoryPriority=1\n");
        assert_int_equal(rules_watch_roots(&f->rs, &roots), 0);
        assert_int_equal(strv_length(roots), 1);
        assert_string_equal(roots[0], "/");
        strv_free(TAKE_PTR(roots));

        ruleset_done(&f->rs);
        assert_int_equal(rules_watch_roots(&f->rs, &roots), 0);
        assert_int_equal(strv_length(roots), 0);
}

static void test_unit_keys_win_over_rule_keys(void **state) {
        Policy rule = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_WATERMARK_RATIO) |
                                POLICY_KEY_BIT(POLICY_MEMORY_THRESHOLDS),
                        .memory_priority = 1, .watermark_ratio = 80, .n_thresholds = 1,
                        .thresholds = { { .is_percent = true, .value = 90 } } };
        Policy unit = { .set = POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY) | POLICY_KEY_BIT(POLICY_USE_PRIORITY_OOM),
                        .memory_priority = 7, .use_priority_oom = true };
        unsigned overridden;
        Policy p;

        rules_policy_under_unit(&rule, &unit, &p, &overridden);
        assert_int_equal(overridden, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(p.set, rule.set | unit.set);
        assert_int_equal(p.memory_priority, 7);
        assert_true(p.use_priority_oom);
        assert_int_equal(p.watermark_ratio, 80);
        assert_int_equal(p.n_thresholds, 1);
        assert_int_equal(p.thresholds[0].value, 90);

        /* no rule: the unit's policy as it is */
        rules_policy_under_unit(&(Policy) {}, &unit, &p, NULL);
        assert_true(policy_equal(&p, &unit));
}

static void test_paths_minimize(void **state) {
        char *in[] = { (char *) "/a/b", (char *) "/a-b", (char *) "/a", (char *) "/a-b", (char *) "/ab/c" };
        _cleanup_strv_free_ char **out = NULL;

        assert_int_equal(cgroup_paths_minimize(in, ELEMENTSOF(in), &out), 0);
        assert_int_equal(strv_length(out), 3);
        assert_string_equal(out[0], "/a");
        assert_string_equal(out[1], "/a-b");
        assert_string_equal(out[2], "/ab/c");
        assert_true(cgroup_contains("/a", "/a/b"));
        assert_true(cgroup_contains("/a", "/a"));
        assert_true(cgroup_contains("/", "/a"));
        assert_false(cgroup_contains("/a", "/ab"));
}

/* The commented example in the installed memqos.conf is a working rule. */
static void test_installed_example_parses(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *text = NULL, *uncommented = NULL;
        size_t size, o = 0;
        Policy p;

        assert_int_equal(read_file_full(INSTALLED_CONF, &text, &size), 0);
        uncommented = calloc(size + 1, 1);
        assert_non_null(uncommented);
        /* "# [Group ...]" and the "# Key=value" lines right after it */
        for (char *line = text, in_example = 0; *line;) {
                size_t l = strcspn(line, "\n");
                size_t skip = 0;

                if (strncmp(line, "# [Group ", 9) == 0)
                        in_example = 1;
                else if (in_example && !(strncmp(line, "# ", 2) == 0 && memchr(line, '=', l) && line[2] != ' '))
                        in_example = 0;
                if (in_example)
                        skip = 2;
                memcpy(uncommented + o, line + skip, l - skip);
                o += l - skip;
                uncommented[o++] = '\n';
                line += l + (line[l] == '\n');
        }

        load(f, uncommented);
        assert_int_equal(f->diags.n, 0);
        assert_true(f->rs.n >= 1);
        assert_int_equal(rules_match(&f->rs, "/kubepods/besteffort/pod1", &p, NULL), 1);
        assert_true(policy_has(&p, POLICY_MEMORY_PRIORITY));
}

/* A lone "\" joins the next line to it, and the INI reader reads that as
 * the header of a section of its own: the rules must not see it otherwise. */
static void test_lone_backslash_line_does_not_merge_two_rules(void **state) {
        Fixture *f = *state;
        Policy p;

        load(f,
             "[Group /a]\nMemoryPriority=1\n"
             "\\\n"
             "[Group /b]\nWatermarkRatio=20\n");
        assert_int_equal(f->rs.n, 2);
        assert_string_equal(f->rs.rules[0].glob, "/a");
        assert_string_equal(f->rs.rules[1].glob, "/b");
        assert_int_equal(rules_match(&f->rs, "/a", &p, NULL), 1);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_MEMORY_PRIORITY));
        assert_int_equal(rules_match(&f->rs, "/b", &p, NULL), 1);
        assert_int_equal(p.set, POLICY_KEY_BIT(POLICY_WATERMARK_RATIO));
}

/* A header longer than a line may be is a broken header for every reader:
 * its keys belong to no section, and become no rule. */
static void test_overlong_header_makes_no_rule_of_its_keys(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *text = NULL;
        char pattern[INI_LINE_MAX + 16];
        Policy p;

        memset(pattern, 'x', sizeof(pattern) - 1);
        pattern[sizeof(pattern) - 1] = 0;
        assert_true(asprintf(&text, "[Group /**]\nMemoryPriority=1\n[Group /%s]\nMemoryPriority=7\n", pattern) > 0);
        load(f, text);
        assert_int_equal(f->rs.n, 1);
        assert_int_equal(rules_match(&f->rs, "/any", &p, NULL), 1);
        assert_int_equal(p.memory_priority, 1);
}

static void test_sources_name_each_rule_that_gives_a_key(void **state) {
        Fixture *f = *state;
        _cleanup_strv_free_ char **sources = NULL;
        _cleanup_free_ char *first = NULL, *second = NULL;

        load(f, "[Group /a/*]\nMemoryPriority=1\nWatermarkRatio=80\n\n"
                "[Group /a/b]\nMemoryPriority=2\n\n"
                "[Group /x]\nMemoryPriority=4\n");
        assert_true(asprintf(&first, "%s:1", f->conf) > 0);
        assert_true(asprintf(&second, "%s:5", f->conf) > 0);

        assert_int_equal(rules_sources(&f->rs, "/a/b", ~0u, &sources), 0);
        assert_int_equal(strv_length(sources), 2);
        assert_string_equal(sources[0], first);
        assert_string_equal(sources[1], second);

        /* MemoryPriority= is the unit's own: only the rule with WatermarkRatio= */
        strv_free(sources);
        sources = NULL;
        assert_int_equal(rules_sources(&f->rs, "/a/b", POLICY_KEY_BIT(POLICY_WATERMARK_RATIO), &sources), 0);
        assert_int_equal(strv_length(sources), 1);
        assert_string_equal(sources[0], first);

        strv_free(sources);
        sources = NULL;
        assert_int_equal(rules_sources(&f->rs, "/elsewhere", ~0u, &sources), 0);
        assert_int_equal(strv_length(sources), 0);
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_star_stays_within_one_component),
                cmocka_unit_test(test_double_star_is_the_path_and_everything_below),
                cmocka_unit_test(test_invalid_patterns_are_refused),
                cmocka_unit_test(test_group_section_names),
                FIXTURE_TEST(test_rules_read_in_order_conf_then_dropins_lexically),
                FIXTURE_TEST(test_sources_name_each_rule_that_gives_a_key),
                FIXTURE_TEST(test_empty_assignment_takes_key_out_and_thresholds_are_replaced),
                FIXTURE_TEST(test_bad_values_and_keys_name_file_line_key),
                FIXTURE_TEST(test_bad_patterns_ignore_their_section_with_one_diagnostic),
                FIXTURE_TEST(test_long_patterns_are_kept_whole),
                FIXTURE_TEST(test_repeated_section_is_a_rule_of_its_own),
                FIXTURE_TEST(test_lone_backslash_line_does_not_merge_two_rules),
                FIXTURE_TEST(test_overlong_header_makes_no_rule_of_its_keys),
                FIXTURE_TEST(test_other_sections_and_bad_lines_are_config_cs),
                FIXTURE_TEST(test_missing_files_are_no_rules_unreadable_ones_are_said),
                FIXTURE_TEST(test_watch_roots_are_literal_prefixes_without_nesting),
                cmocka_unit_test(test_unit_keys_win_over_rule_keys),
                cmocka_unit_test(test_paths_minimize),
                FIXTURE_TEST(test_installed_example_parses),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
