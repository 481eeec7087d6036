/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what memqosd reads from memcg files (memcg.c):
 * integer files (memory.limit_in_bytes, memory.max, ...), memory.stat of
 * both layouts, memory.events and memory.oom_control, and cgroup.procs.
 * One input is given to each parser.
 *
 * Besides not crashing: a parsed integer formats back to text that parses
 * to the same value; memory.stat's sums never wrap below one of the values
 * they add; the counters parse again from their own formatting; every pid
 * read from cgroup.procs is > 0. */
#include <inttypes.h>

#include "basic/util.h"
#include "cgroup/memcg.h"
#include "fuzz-check.h"

static void check(bool ok, const char *what) {
        fuzz_check(ok, "fuzz-memcg", what);
}

static void check_integer_file(const char *text) {
        char formatted[32];
        uint64_t v, again;

        if (memcg_parse_u64(text, &v) < 0)
                return;
        if (v == MEMCG_UNLIMITED)
                snprintf(formatted, sizeof(formatted), "max\n");
        else
                snprintf(formatted, sizeof(formatted), "%" PRIu64 "\n", v);
        check(memcg_parse_u64(formatted, &again) == 0 && again == v, "an integer file round-trips");
}

/* The largest value of any line of text whose key is one of keys. */
static uint64_t largest_of(const char *text, const char *const *keys) {
        uint64_t largest = 0;

        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                char line[128];
                uint64_t v;

                if ((size_t) (eol - p) < sizeof(line)) {
                        char *sp;

                        memcpy(line, p, (size_t) (eol - p));
                        line[eol - p] = 0;
                        sp = strchr(line, ' ');
                        if (sp) {
                                *sp = 0;
                                for (const char *const *k = keys; *k; k++)
                                        if (streq(line, *k) && memcg_parse_u64(sp + 1, &v) == 0 && v > largest)
                                                largest = v;
                        }
                }
                p = *eol ? eol + 1 : eol;
        }
        return largest;
}

static void check_stat(const char *text) {
        static const char *const v1_file[] = { "total_inactive_file", "total_active_file", NULL };
        static const char *const v1_anon[] = { "total_rss", "total_shmem", NULL };
        static const char *const v2_file[] = { "inactive_file", "active_file", NULL };
        static const char *const v2_anon[] = { "anon", "shmem", NULL };
        MemcgStat s;

        if (memcg_parse_stat(MEMCG_LAYOUT_V1, text, &s) == 0) {
                check(s.file >= largest_of(text, v1_file), "v1 file bytes never wrap");
                check(s.anon >= largest_of(text, v1_anon), "v1 anon bytes never wrap");
        }
        if (memcg_parse_stat(MEMCG_LAYOUT_V2, text, &s) == 0) {
                check(s.file >= largest_of(text, v2_file), "v2 file bytes never wrap");
                check(s.anon >= largest_of(text, v2_anon), "v2 anon bytes never wrap");
        }
}

static void check_counters(const char *text) {
        MemcgOomCounters c, again;
        char formatted[160];
        bool under, under_again, kill_disabled, kill_disabled_again;

        if (memcg_parse_oom_file(text, &c, &under, &kill_disabled) < 0)
                return;
        snprintf(formatted, sizeof(formatted),
                 "oom %" PRIu64 "\noom_kill %" PRIu64 "\nmax %" PRIu64 "\nunder_oom %d\noom_kill_disable %d\n", c.oom,
                 c.oom_kill, c.max, under, kill_disabled);
        check(memcg_parse_oom_file(formatted, &again, &under_again, &kill_disabled_again) == 0, "formatted counters parse");
        check(again.oom == c.oom && again.oom_kill == c.oom_kill && again.max == c.max && under == under_again &&
                      kill_disabled == kill_disabled_again,
              "counters round-trip");
}

static void check_procs(const char *text, size_t size) {
        _cleanup_fclose_ FILE *f = fmemopen((void *) text, size, "r");
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;

        check(f, "fmemopen");
        if (memcg_parse_procs(f, &pids, &n) < 0)
                return;
        check(n == 0 || pids, "pids returned");
        for (size_t i = 0; i < n; i++)
                check(pids[i] > 0, "every pid is > 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;

        if (size > 16 * 1024)
                return 0;
        /* the readers NUL-terminate what they read; a NUL inside ends it early */
        text = strndup((const char *) data, size);
        check(text, "strndup");
        check_integer_file(text);
        check_stat(text);
        check_counters(text);
        if (text[0])
                check_procs(text, strlen(text));
        return 0;
}
