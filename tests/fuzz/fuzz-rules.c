/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the [Group] rules (rules.c).
 *
 * The input is memqos.conf and up to two drop-ins, split on FUZZ_SEPARATOR,
 * each read through a memfd the way rules_load() reads paths. Besides not
 * crashing, the rules keep their promises: every rule has a pattern that
 * rules_glob_validate() accepts (never an empty one), a line that exists in
 * its own file, only known keys in range; every
 * diagnostic points at a real line of a real file; the watch roots are
 * absolute; and every rule matches the cgroup its pattern spells literally. */
#include <sys/mman.h>

#include "basic/util.h"
#include "conf/rules.h"
#include "fuzz-check.h"
#include "fuzz-split.h"

#define RULES_FUZZ_FILES 3

static void check(bool ok, const char *what) {
        fuzz_check(ok, "fuzz-rules", what);
}

typedef struct RulesFile {
        int fd;
        char path[64];
        FuzzPart part;
        size_t lines;
} RulesFile;

static const RulesFile *file_of(const RulesFile *files, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (streq(files[i].path, path))
                        return &files[i];
        return NULL;
}

static void check_rule(const GroupRule *r, const RulesFile *files, size_t n) {
        const RulesFile *f = file_of(files, n, r->file);

        check(r->glob && r->glob[0] == '/', "a rule's pattern is an absolute path, never empty");
        check(rules_glob_validate(r->glob) == 0, "a rule's pattern is one rules_glob_validate() accepts");
        check(f, "a rule names one of the files");
        check(r->line >= 1 && r->line <= f->lines, "a rule's line exists");
        check(r->policy.set < POLICY_KEY_BIT(_POLICY_KEY_MAX), "only known keys are set");
        check(r->reset < POLICY_KEY_BIT(_POLICY_KEY_MAX), "only known keys are taken back");
        check((r->policy.set & r->reset) == 0, "a key is either set or taken back");
        if (policy_has(&r->policy, POLICY_MEMORY_PRIORITY))
                check(r->policy.memory_priority <= POLICY_PRIORITY_MAX, "priority in range");
        check(r->policy.n_thresholds <= POLICY_THRESHOLDS_MAX, "at most POLICY_THRESHOLDS_MAX thresholds");
}

/* The literal path a pattern without wildcards spells: "/a/b", and "/a"
 * for "/a" followed by "/" and "**". */
static bool literal_path(const char *glob, char *buf, size_t size) {
        size_t l = strlen(glob);

        if (l >= size)
                return false;
        memcpy(buf, glob, l + 1);
        if (endswith(buf, "/**"))
                buf[l - 3] = 0;
        if (strpbrk(buf, "*?[\\"))
                return false;
        if (buf[0] == 0)
                strcpy(buf, "/");
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        RulesFile files[RULES_FUZZ_FILES];
        FuzzPart parts[RULES_FUZZ_FILES];
        char *dropins[RULES_FUZZ_FILES - 1];
        _cleanup_(diagnostics_done) Diagnostics d = {};
        _cleanup_(ruleset_done) RuleSet rs = {};
        _cleanup_strv_free_ char **roots = NULL;
        size_t n;

        if (size > 64 * 1024)
                return 0;
        n = fuzz_split((const char *) data, size, parts, RULES_FUZZ_FILES);
        for (size_t i = 0; i < n; i++) {
                files[i] = (RulesFile) { .part = parts[i], .lines = fuzz_count_lines(&parts[i]) };
                files[i].fd = memfd_create("memqos.conf", MFD_CLOEXEC);
                check(files[i].fd >= 0 &&
                              (parts[i].size == 0 ||
                               write(files[i].fd, parts[i].text, parts[i].size) == (ssize_t) parts[i].size),
                      "memfd written");
                snprintf(files[i].path, sizeof(files[i].path), "/proc/self/fd/%i", files[i].fd);
                if (i > 0)
                        dropins[i - 1] = files[i].path;
        }

        check(rules_parse_files(files[0].path, dropins, n - 1, &rs, &d) == 0, "rules parse succeeds");
        check(rs.n_unreadable == 0, "every file is readable");
        for (size_t i = 0; i < rs.n; i++)
                check_rule(&rs.rules[i], files, n);
        for (size_t i = 0; i < d.n; i++) {
                const RulesFile *f = file_of(files, n, d.items[i].file);

                check(d.items[i].message && f, "a diagnostic has a message and names one of the files");
                check(d.items[i].line >= 1 && d.items[i].line <= f->lines, "a diagnostic's line exists");
        }

        check(rules_watch_roots(&rs, &roots) == 0, "watch roots computed");
        for (char **r = roots; *r; r++)
                check((*r)[0] == '/', "a watch root is absolute");

        for (size_t i = 0; i < rs.n; i++) {
                const GroupRule *last = NULL;
                char path[4096];
                Policy p;

                if (!literal_path(rs.rules[i].glob, path, sizeof(path)))
                        continue;
                check(group_rule_matches(&rs.rules[i], path), "a rule matches the path it spells");
                check(rules_match(&rs, path, &p, &last) >= 1 && last, "rules_match finds the rule");
        }

        for (size_t i = 0; i < n; i++)
                close(files[i].fd);
        return 0;
}
