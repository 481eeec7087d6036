/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the [X-MemQoS] parser.
 *
 * The input is a unit's files: the bytes are split on FUZZ_SEPARATOR into
 * at most POLICY_FUZZ_FILES texts, parsed in order like FragmentPath and
 * DropInPaths. Besides not crashing, the parser must keep its promises:
 * only valid values in force, diagnostics that point at real lines, and a
 * second parse giving the same policy (the files alone decide, so a re-read
 * of unchanged files is a no-op for the daemon). The first file is
 * also read as memqos.conf, whose values must stay in their ranges. A broken
 * promise aborts, which libFuzzer reports like a crash. */
#include <stdint.h>
#include <sys/mman.h>
#include <syslog.h>

#include "basic/util.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "fuzz-check.h"
#include "fuzz-split.h"

#define POLICY_FUZZ_FILES 4

static void check(bool ok, const char *what) {
        fuzz_check(ok, "fuzz-policy", what);
}

static void check_policy(const Policy *p) {
        check(p->set < POLICY_KEY_BIT(_POLICY_KEY_MAX), "only known keys are set");
        if (policy_has(p, POLICY_MEMORY_PRIORITY))
                check(p->memory_priority <= POLICY_PRIORITY_MAX, "priority in range");
        if (policy_has(p, POLICY_WATERMARK_RATIO))
                check(p->watermark_ratio <= POLICY_WATERMARK_RATIO_MAX, "ratio in range");
        if (policy_has(p, POLICY_WATERMARK_SCALE_FACTOR))
                check(p->watermark_scale_factor >= POLICY_WATERMARK_SCALE_FACTOR_MIN &&
                              p->watermark_scale_factor <= POLICY_WATERMARK_SCALE_FACTOR_MAX,
                      "scale factor in range");
        check(p->n_thresholds <= POLICY_THRESHOLDS_MAX, "at most POLICY_THRESHOLDS_MAX thresholds");
        check(policy_has(p, POLICY_MEMORY_THRESHOLDS) || p->n_thresholds == 0, "no thresholds when unset");
        for (size_t i = 0; i < p->n_thresholds; i++)
                check(p->thresholds[i].is_percent ? p->thresholds[i].value >= 1 && p->thresholds[i].value <= 100
                                                  : p->thresholds[i].value > 0,
                      "threshold in range");
        if (policy_has(p, POLICY_MEMORY_RESERVE) && p->memory_reserve.is_percent)
                check(p->memory_reserve.value <= 100, "reserve percentage in range");
}

/* Formatting the thresholds and parsing the text again gives the same list. */
static void check_thresholds_round_trip(const Policy *p) {
        char buf[32 * POLICY_THRESHOLDS_MAX];
        Threshold t[POLICY_THRESHOLDS_MAX];
        size_t n = 0;

        if (p->n_thresholds == 0)
                return;
        policy_format_thresholds(p, buf, sizeof(buf));
        check(policy_parse_thresholds(buf, t, ELEMENTSOF(t), &n) == 0, "formatted thresholds parse");
        check(n == p->n_thresholds, "round trip keeps the number of thresholds");
        for (size_t i = 0; i < n; i++)
                check(t[i].is_percent == p->thresholds[i].is_percent && t[i].value == p->thresholds[i].value,
                      "round trip keeps each threshold");
}

static void check_diagnostics(const Diagnostics *d, const char *const *names, const size_t *lines,
                              size_t n) {
        for (size_t i = 0; i < d->n; i++) {
                size_t f;

                check(d->items[i].message && d->items[i].file, "diagnostic has a message and a file");
                for (f = 0; f < n; f++)
                        if (streq(d->items[i].file, names[f]))
                                break;
                check(f < n, "diagnostic names one of the files");
                check(d->items[i].line <= lines[f], "diagnostic line exists");
        }
}

static int count_assignment(const char *section, const char *key, const char *value, unsigned line,
                            void *userdata) {
        check(section && key && value && line > 0, "assignment has section, key, value, line");
        check(strlen(key) > 0, "assignment has a key");
        (*(size_t *) userdata)++;
        return 0;
}

/* memqos.conf from the same bytes, through a memfd as it reads a path. */
static void check_config(const char *text, size_t size) {
        _cleanup_(closep) int fd = memfd_create("memqos.conf", MFD_CLOEXEC);
        Diagnostics d = {};
        char path[64];
        Config c;

        check(fd >= 0 && (size == 0 || write(fd, text, size) == (ssize_t) size), "memfd written");
        snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);
        check(config_parse_file(path, &c, &d) == 0, "config parse succeeds");
        check(c.log_level >= LOG_ERR && c.log_level <= LOG_DEBUG, "log level in range");
        check(backend_to_string(c.backend) != NULL, "backend valid");
        check(c.sample_interval_usec >= 10000 && c.sample_interval_usec <= UINT64_C(3600000000),
              "sample interval in range");
        check(c.ratelimit_interval_usec <= UINT64_C(3600000000), "rate limit interval in range");
        check(c.ratelimit_burst <= 100000, "rate limit burst in range");
        for (size_t i = 0; i < d.n; i++)
                check(d.items[i].line > 0 && d.items[i].message, "config diagnostic has a line and a message");
        diagnostics_done(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const names[POLICY_FUZZ_FILES] = { "a.slice", "10-a.conf", "20-b.conf", "30-c.conf" };
        const char *texts[POLICY_FUZZ_FILES];
        size_t sizes[POLICY_FUZZ_FILES], lines[POLICY_FUZZ_FILES], n, assignments = 0;
        FuzzPart parts[POLICY_FUZZ_FILES];
        Diagnostics d1 = {}, d2 = {}, d3 = {};
        Policy p1, p2;

        if (size > READ_FILE_SIZE_MAX)
                return 0;

        n = fuzz_split((const char *) data, size, parts, POLICY_FUZZ_FILES);
        for (size_t i = 0; i < n; i++) {
                texts[i] = parts[i].text;
                sizes[i] = parts[i].size;
                lines[i] = fuzz_count_lines(&parts[i]);
        }

        check(policy_parse_texts(texts, sizes, names, n, &p1, &d1) == 0, "parse succeeds");
        check_policy(&p1);
        check_thresholds_round_trip(&p1);
        check_diagnostics(&d1, names, lines, n);

        check(policy_parse_texts(texts, sizes, names, n, &p2, &d2) == 0, "second parse succeeds");
        check(policy_equal(&p1, &p2), "the same files give the same policy");
        check(d1.n == d2.n, "parsing again gives the same diagnostics");

        /* memqos.conf's way: every section, every malformed line reported */
        check(ini_parse_text(texts[0], sizes[0], names[0], NULL, count_assignment, &assignments, &d3) == 0,
              "ini parse succeeds");
        check_diagnostics(&d3, names, lines, 1);
        check_config(texts[0], sizes[0]);

        diagnostics_done(&d1);
        diagnostics_done(&d2);
        diagnostics_done(&d3);
        return 0;
}
