/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memqos.conf: the installed file, good and bad settings. */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/util.h"
#include "conf/config.h"
#include "config-paths.h"

#define INSTALLED_CONF TEST_DATA_DIR "/../../../memqos.conf"
#define USEC_PER_SEC UINT64_C(1000000)

typedef struct Conf {
        char path[64];
        Config config;
        Diagnostics diags;
} Conf;

static int conf_setup(void **state) {
        Conf *c = calloc(1, sizeof(Conf));
        int fd;

        assert_non_null(c);
        strcpy(c->path, "/tmp/memqos-test-conf-XXXXXX");
        fd = mkstemp(c->path);
        assert_true(fd >= 0);
        close(fd);
        *state = c;
        return 0;
}

static int conf_teardown(void **state) {
        Conf *c = *state;

        (void) unlink(c->path);
        (void) rmdir(c->path);
        diagnostics_done(&c->diags);
        free(c);
        return 0;
}

/* Writes text as the configuration and parses it; returns what parsing returned. */
static int conf_parse(Conf *c, const char *text) {
        FILE *f = fopen(c->path, "we");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
        memset(&c->config, 0x55, sizeof(c->config));
        return config_parse_file(c->path, &c->config, &c->diags);
}

static void assert_config_is_default(const Config *c) {
        Config d;

        config_init_defaults(&d);
        assert_int_equal(c->log_level, d.log_level);
        assert_int_equal(c->backend, d.backend);
        assert_int_equal(c->parent_use_priority_oom, d.parent_use_priority_oom);
        assert_int_equal(c->watch_oom, d.watch_oom);
        assert_int_equal(c->sample_interval_usec, d.sample_interval_usec);
        assert_int_equal(c->ratelimit_interval_usec, d.ratelimit_interval_usec);
        assert_int_equal(c->ratelimit_burst, d.ratelimit_burst);
        assert_int_equal(c->reclaim_backend, d.reclaim_backend);
        assert_int_equal(c->reclaim_ahead_of_kernel, d.reclaim_ahead_of_kernel);
        assert_int_equal(c->reclaim_standing_bounds, d.reclaim_standing_bounds);
        assert_int_equal(c->reclaim_step_size, d.reclaim_step_size);
        assert_int_equal(c->pressure_interval_usec, d.pressure_interval_usec);
        assert_int_equal(c->oom_backend, d.oom_backend);
        assert_int_equal(c->kill_watermark_ratio, d.kill_watermark_ratio);
        assert_int_equal(c->notify_clients_max, d.notify_clients_max);
        assert_int_equal(c->notify_clients_per_unit_max, d.notify_clients_per_unit_max);
}

static void test_defaults_are_the_documented_ones(void **state) {
        Config c;

        config_init_defaults(&c);
        assert_int_equal(c.log_level, LOG_INFO);
        assert_int_equal(c.backend, BACKEND_AUTO);
        assert_true(c.parent_use_priority_oom);
        assert_true(c.watch_oom);
        assert_int_equal(c.sample_interval_usec, 1 * USEC_PER_SEC);
        assert_int_equal(c.ratelimit_interval_usec, 10 * USEC_PER_SEC);
        assert_int_equal(c.ratelimit_burst, 5);
        assert_int_equal(c.reclaim_backend, BACKEND_INHERIT);
        assert_true(c.reclaim_ahead_of_kernel);
        assert_true(c.reclaim_standing_bounds);
        assert_int_equal(c.reclaim_step_size, 16 * 1024 * 1024);
        assert_int_equal(c.pressure_interval_usec, 20 * 1000);
        assert_int_equal(c.oom_backend, BACKEND_INHERIT);
        assert_int_equal(c.kill_watermark_ratio, 95);
        assert_int_equal(c.notify_clients_max, 4096);
        assert_int_equal(c.notify_clients_per_unit_max, 128);
}

static void test_missing_file_means_defaults(void **state) {
        Diagnostics d = {};
        Config c;

        memset(&c, 0x55, sizeof(c));
        assert_int_equal(config_parse_file("/nonexistent/memqos.conf", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_config_is_default(&c);
}

static void test_installed_file_parses_clean(void **state) {
        Diagnostics d = {};
        Config c;

        assert_int_equal(config_parse_file(INSTALLED_CONF, &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_config_is_default(&c);
}

/* Every key in the installed file is commented out with its default: with
 * the '#' taken away, the file must still give exactly the defaults. */
static void test_installed_file_documents_every_key_with_its_default(void **state) {
        Conf *c = *state;
        _cleanup_(freep) char *text = NULL, *uncommented = NULL;
        size_t size, o = 0, keys = 0;

        assert_int_equal(read_file_full(INSTALLED_CONF, &text, &size), 0);
        uncommented = calloc(size + 1, 1);
        assert_non_null(uncommented);
        for (char *line = text; *line;) {
                size_t l = strcspn(line, "\n");
                /* "#Key=value" is a commented-out setting; "# text" is prose */
                bool setting = line[0] == '#' && l > 1 && line[1] != ' ' && memchr(line, '=', l);

                if (setting)
                        keys++;
                memcpy(uncommented + o, line + setting, l - setting);
                o += l - setting;
                uncommented[o++] = '\n';
                line += l + (line[l] == '\n');
        }

        assert_int_equal(keys, 18);
        assert_int_equal(conf_parse(c, uncommented), 0);
        assert_int_equal(c->diags.n, 0);
        assert_config_is_default(&c->config);
}

static void test_every_key_is_read(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c,
                                    "[Daemon]\nLogLevel=debug\nBackend=off\n"
                                    "[Defaults]\nParentUsePriorityOOM=no\n"
                                    "[Events]\nWatchOOM=false\nThresholdSampleIntervalSec=500ms\n"
                                    "EventRateLimitIntervalSec=2min\nEventRateLimitBurst=20\n"
                                    "[Reclaim]\nBackend=emulate\nAheadOfKernel=no\nStandingBounds=no\nStepSize=4M\n"
                                    "PressureIntervalSec=5ms\n"
                                    "[OOM]\nBackend=kernel\nKillWatermarkRatio=90\n"
                                    "[Notify]\nClientsMax=10\nClientsPerUnitMax=2\nReclaimGraceSec=1s\nKillGraceSec=0\n"),
                         0);
        assert_int_equal(c->diags.n, 0);
        assert_int_equal(c->config.notify_reclaim_grace_usec, USEC_PER_SEC);
        assert_int_equal(c->config.notify_kill_grace_usec, 0);
        assert_int_equal(c->config.notify_clients_max, 10);
        assert_int_equal(c->config.notify_clients_per_unit_max, 2);
        assert_int_equal(c->config.reclaim_backend, BACKEND_EMULATE);
        assert_false(c->config.reclaim_ahead_of_kernel);
        assert_false(c->config.reclaim_standing_bounds);
        assert_int_equal(c->config.reclaim_step_size, 4 * 1024 * 1024);
        assert_int_equal(c->config.pressure_interval_usec, 5000);
        assert_int_equal(c->config.oom_backend, BACKEND_KERNEL);
        assert_int_equal(c->config.kill_watermark_ratio, 90);
        assert_int_equal(c->config.log_level, LOG_DEBUG);
        assert_int_equal(c->config.backend, BACKEND_OFF);
        assert_false(c->config.parent_use_priority_oom);
        assert_false(c->config.watch_oom);
        assert_int_equal(c->config.sample_interval_usec, 500000);
        assert_int_equal(c->config.ratelimit_interval_usec, 120 * USEC_PER_SEC);
        assert_int_equal(c->config.ratelimit_burst, 20);
}

/* A grace longer than 10 s is refused: the default stays. */
static void test_grace_keys_bounds(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c, "[Notify]\nReclaimGraceSec=11s\nKillGraceSec=banana\n"), 0);
        assert_int_equal(c->diags.n, 2);
        assert_int_equal(c->diags.items[0].line, 2);
        assert_string_equal(c->diags.items[0].key, "ReclaimGraceSec");
        assert_int_equal(c->diags.items[1].line, 3);
        assert_int_equal(c->config.notify_reclaim_grace_usec, 200 * USEC_PER_SEC / 1000);
        assert_int_equal(c->config.notify_kill_grace_usec, 50 * USEC_PER_SEC / 1000);
}

/* The new keys refuse what they cannot use, and an empty feature Backend=
 * goes back to following [Daemon] Backend=. */
static void test_emulation_keys_bounds(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c,
                                    "[Reclaim]\nBackend=turbo\nStepSize=1K\nPressureIntervalSec=0\n"
                                    "[OOM]\nBackend=kernel\nKillWatermarkRatio=101\nBackend=\n"),
                         0);
        assert_int_equal(c->diags.n, 4);
        assert_int_equal(c->diags.items[0].line, 2);
        assert_string_equal(c->diags.items[0].key, "Backend");
        assert_int_equal(c->diags.items[1].line, 3);
        assert_int_equal(c->diags.items[2].line, 4);
        assert_int_equal(c->diags.items[3].line, 7);
        assert_int_equal(c->config.reclaim_backend, BACKEND_INHERIT);
        assert_int_equal(c->config.reclaim_step_size, 16 * 1024 * 1024);
        assert_int_equal(c->config.pressure_interval_usec, 20 * 1000);
        assert_int_equal(c->config.oom_backend, BACKEND_INHERIT);
        assert_int_equal(c->config.kill_watermark_ratio, 95);
}

static void test_bad_value_keeps_default_and_names_file_line_key(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c,
                                    "[Daemon]\nLogLevel=loud   # comment\nBackend=kernel\n"
                                    "[Events]\nThresholdSampleIntervalSec=0\nEventRateLimitBurst=-1\n"),
                         0);
        assert_int_equal(c->config.log_level, LOG_INFO);
        assert_int_equal(c->config.backend, BACKEND_KERNEL);
        assert_int_equal(c->config.sample_interval_usec, USEC_PER_SEC);
        assert_int_equal(c->config.ratelimit_burst, 5);
        assert_int_equal(c->diags.n, 3);
        assert_string_equal(c->diags.items[0].file, c->path);
        assert_int_equal(c->diags.items[0].line, 2);
        assert_string_equal(c->diags.items[0].key, "LogLevel");
        assert_string_equal(c->diags.items[0].message,
                            "LogLevel=loud is invalid, expected one of debug, info, notice, warning, err; ignoring");
        assert_int_equal(c->diags.items[1].line, 5);
        assert_string_equal(c->diags.items[1].message,
                            "ThresholdSampleIntervalSec=0 is out of range, expected a time span from 10ms to 1h, "
                            "such as 500ms or 2s; ignoring");
        assert_int_equal(c->diags.items[2].line, 6);
        assert_string_equal(c->diags.items[2].key, "EventRateLimitBurst");
}

static void test_log_levels(void **state) {
        static const struct {
                const char *s;
                int level;
        } good[] = {
                { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
                { "warning", LOG_WARNING }, { "err", LOG_ERR },
        };
        Conf *c = *state;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                char text[64];

                snprintf(text, sizeof(text), "[Daemon]\nLogLevel=%s\n", good[i].s);
                assert_int_equal(conf_parse(c, text), 0);
                assert_int_equal(c->config.log_level, good[i].level);
        }
        assert_int_equal(c->diags.n, 0);

        /* levels that would hide memqosd's own errors are refused */
        assert_int_equal(conf_parse(c, "[Daemon]\nLogLevel=crit\n"), 0);
        assert_int_equal(c->config.log_level, LOG_INFO);
        assert_int_equal(c->diags.n, 1);
        assert_string_equal(c->diags.items[0].message,
                            "LogLevel=crit is out of range, expected one of debug, info, notice, warning, err; ignoring");
}

static void test_unknown_keys_sections_and_stray_assignments(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c,
                                    "Stray=1\n"
                                    "[Daemon]\nLoglevel=debug\n"
                                    "[Emulation]\nReclaimRatio=5\n"),
                         0);
        assert_config_is_default(&c->config);
        assert_int_equal(c->diags.n, 3);
        assert_int_equal(c->diags.items[0].line, 1);
        assert_string_equal(c->diags.items[0].message, "Stray= is outside of any section, ignoring");
        assert_int_equal(c->diags.items[1].line, 3);
        assert_string_equal(c->diags.items[1].message, "Unknown key Loglevel= in [Daemon], ignoring");
        assert_int_equal(c->diags.items[2].line, 5);
        assert_string_equal(c->diags.items[2].message, "ReclaimRatio= is in unknown section [Emulation], ignoring");
}

/* [Group ...] sections are rules.c's: no word about them here, whatever they hold. */
static void test_group_sections_are_left_to_rules(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c,
                                    "[Group /kubepods/besteffort/*]\nMemoryPriority=1\nNoSuchKey=2\n"
                                    "[Group]\nWatermarkRatio=80\n"
                                    "[Events]\nWatchOOM=no\n"
                                    "[Grouping]\nX=1\n"),
                         0);
        assert_false(c->config.watch_oom);
        assert_int_equal(c->diags.n, 1);
        assert_int_equal(c->diags.items[0].line, 9);
        assert_string_equal(c->diags.items[0].message, "X= is in unknown section [Grouping], ignoring");
}

static void test_empty_assignment_restores_default(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c, "[Events]\nEventRateLimitBurst=50\nWatchOOM=no\nEventRateLimitBurst=\n"), 0);
        assert_int_equal(c->diags.n, 0);
        assert_int_equal(c->config.ratelimit_burst, 5);
        assert_false(c->config.watch_oom);
}

static void test_rate_limit_may_be_turned_off(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c, "[Events]\nEventRateLimitIntervalSec=0\nEventRateLimitBurst=0\n"), 0);
        assert_int_equal(c->diags.n, 0);
        assert_int_equal(c->config.ratelimit_interval_usec, 0);
        assert_int_equal(c->config.ratelimit_burst, 0);
}

static void test_garbage_and_long_lines_are_diagnosed(void **state) {
        Conf *c = *state;
        _cleanup_(freep) char *text = NULL;
        char pad[5001];

        memset(pad, 'x', sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = 0;
        assert_true(asprintf(&text, "[Daemon]\nLogLevel debug\n# %s\nBackend=%s\nLogLevel=notice\n", pad, pad) > 0);
        assert_int_equal(conf_parse(c, text), 0);
        assert_int_equal(c->config.log_level, LOG_NOTICE);
        assert_int_equal(c->diags.n, 2); /* a long comment is still a comment */
        assert_int_equal(c->diags.items[0].line, 2);
        assert_int_equal(c->diags.items[1].line, 4);
        assert_string_equal(c->diags.items[1].message, "Line is longer than 4096 characters, ignoring");
}

static void test_unreadable_file_is_an_error_with_defaults(void **state) {
        Conf *c = *state;

        assert_int_equal(unlink(c->path), 0);
        assert_int_equal(mkdir(c->path, 0700), 0);
        memset(&c->config, 0x55, sizeof(c->config));
        assert_int_equal(config_parse_file(c->path, &c->config, &c->diags), -EISDIR);
        assert_config_is_default(&c->config);
}

/* dir/name with text in it. */
static void write_file(const char *dir, const char *name, const char *text) {
        _cleanup_(freep) char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* Removes dir and the files in it. */
static void remove_dir(const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        (void) rmdir(dir);
}

static void test_dropins_override_in_lexical_order(void **state) {
        Conf *c = *state;
        char dir[] = "/tmp/memqos-test-conf.d-XXXXXX";
        _cleanup_(freep) char *unreadable = NULL;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        f = fopen(c->path, "we");
        assert_non_null(f);
        assert_true(fputs("[Daemon]\nBackend=kernel\n[OOM]\nKillWatermarkRatio=80\n", f) >= 0);
        assert_int_equal(fclose(f), 0);
        write_file(dir, "20-b.conf", "[Reclaim]\nBackend=emulate\n[OOM]\nKillWatermarkRatio=90\n");
        write_file(dir, "10-a.conf", "[OOM]\nKillWatermarkRatio=0\n[Daemon]\nLogLevel=debug\n");
        write_file(dir, "25-bad.conf", "[OOM]\nKillWatermarkRatio=200\n");
        write_file(dir, "30-c.conf", "[Daemon]\nLogLevel=\n[Group /x]\nMemoryPriority=3\n");
        write_file(dir, "40-d.conf.off", "[Daemon]\nBackend=off\n"); /* not a drop-in */
        write_file(dir, ".50-e.conf", "[Daemon]\nBackend=off\n");    /* hidden */

        assert_int_equal(config_load(c->path, dir, &c->config, &unreadable, &c->diags), 0);
        assert_null(unreadable);
        assert_int_equal(c->config.backend, BACKEND_KERNEL);        /* memqos.conf's */
        assert_int_equal(c->config.reclaim_backend, BACKEND_EMULATE); /* 20-b's */
        assert_int_equal(c->config.kill_watermark_ratio, 90);         /* 20-b's over 10-a's; 25-bad ignored */
        assert_int_equal(c->config.log_level, LOG_INFO);              /* 10-a's, back to the default by 30-c */
        assert_int_equal(c->diags.n, 1);
        assert_true(endswith(c->diags.items[0].file, "/25-bad.conf"));
        assert_int_equal(c->diags.items[0].line, 2);
        assert_string_equal(c->diags.items[0].key, "KillWatermarkRatio");

        /* memqos.conf's own keys stand when the directory is missing */
        diagnostics_done(&c->diags);
        remove_dir(dir);
        assert_int_equal(config_load(c->path, dir, &c->config, &unreadable, &c->diags), 0);
        assert_int_equal(c->config.kill_watermark_ratio, 80);
        assert_int_equal(c->config.reclaim_backend, BACKEND_INHERIT);
}

static void test_unreadable_dropin_is_an_error_with_defaults_naming_it(void **state) {
        Conf *c = *state;
        char dir[] = "/tmp/memqos-test-conf.d-XXXXXX";
        _cleanup_(freep) char *unreadable = NULL, *big = NULL;
        size_t size = 2 << 20; /* over read_file_full()'s 1 MiB */

        assert_non_null(mkdtemp(dir));
        big = malloc(size + 1);
        assert_non_null(big);
        memset(big, '#', size);
        big[size] = 0;
        write_file(dir, "10-ok.conf", "[OOM]\nKillWatermarkRatio=50\n");
        write_file(dir, "20-big.conf", big);

        memset(&c->config, 0x55, sizeof(c->config));
        assert_int_equal(config_load(c->path, dir, &c->config, &unreadable, &c->diags), -EFBIG);
        assert_non_null(unreadable);
        assert_true(endswith(unreadable, "/20-big.conf"));
        assert_config_is_default(&c->config);
        remove_dir(dir);
}

static void test_timespans_as_systemd_writes_them(void **state) {
        static const struct {
                const char *s;
                int r;
                uint64_t usec;
        } cases[] = {
                { "1s", 0, USEC_PER_SEC },
                { "500ms", 0, 500000 },
                { "2min", 0, 120 * USEC_PER_SEC },
                { "1min 30s", 0, 90 * USEC_PER_SEC },
                { "1h30min", 0, 5400 * USEC_PER_SEC },
                { "5", 0, 5 * USEC_PER_SEC },
                { "2 s", 0, 2 * USEC_PER_SEC },
                { "250us", 0, 250 },
                { "3 weeks", 0, UINT64_C(21) * 24 * 3600 * USEC_PER_SEC },
                { "0", 0, 0 },
                { "", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "1.5s", -EINVAL, 0 },
                { "10x", -EINVAL, 0 },
                { "-1s", -EINVAL, 0 },
                { "1S", -EINVAL, 0 },
                { "99999999999999999999", -ERANGE, 0 },
                { "999999999999w", -ERANGE, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t usec = 0;
                int r = config_parse_timespan(cases[i].s, &usec);
                if (r != cases[i].r || (r == 0 && usec != cases[i].usec))
                        fail_msg("\"%s\": got %d/%" PRIu64 ", expected %d/%" PRIu64, cases[i].s, r, usec,
                                 cases[i].r, cases[i].usec);
        }
}

static void test_backend_names_round_trip(void **state) {
        for (Backend b = 0; b < _BACKEND_MAX; b++)
                assert_int_equal(backend_from_string(backend_to_string(b)), b);
        assert_int_equal(backend_from_string("Kernel"), -EINVAL);
        assert_int_equal(backend_from_string("Emulate"), -EINVAL);
        assert_int_equal(backend_from_string("emulate"), BACKEND_EMULATE);
        assert_null(backend_to_string(BACKEND_INHERIT));
        assert_null(backend_to_string(_BACKEND_MAX));
}

/* a test with its own temporary files */
/* A known key in the wrong section names the section it belongs in. */
static void test_key_in_wrong_section_says_where_it_belongs(void **state) {
        Conf *c = *state;

        assert_int_equal(conf_parse(c,
                                    "[Reclaim]\nKillWatermarkRatio=90\n"
                                    "[Events]\nBackend=off\n"
                                    "[Deamon]\nLogLevel=debug\n"
                                    "[OOM]\nMemoryPriority=3\n"),
                         0);
        assert_config_is_default(&c->config);
        assert_int_equal(c->diags.n, 4);
        assert_string_equal(c->diags.items[0].message,
                            "Unknown key KillWatermarkRatio= in [Reclaim], it belongs in [OOM]; ignoring");
        assert_string_equal(c->diags.items[1].message,
                            "Unknown key Backend= in [Events], it belongs in [Daemon], [Reclaim] or [OOM]; ignoring");
        assert_string_equal(c->diags.items[2].message,
                            "LogLevel= is in unknown section [Deamon], it belongs in [Daemon]; ignoring");
        assert_string_equal(c->diags.items[3].message,
                            "Unknown key MemoryPriority= in [OOM], it belongs in a [Group PATTERN] section; ignoring");
}

static Diagnostics diagnostics_one(const char *file, unsigned line) {
        Diagnostics d = {};

        assert_int_equal(diagnostics_add(&d, file, line, NULL, "bad"), 0);
        return d;
}

/* At start there is nothing to keep: the configuration read is taken, with
 * its problems. On reload any problem, in the settings or in the [Group]
 * rules, refuses all of it, and the verdict names the first. */
static void test_reload_is_all_or_nothing(void **state) {
        _cleanup_(diagnostics_done) Diagnostics settings = diagnostics_one("a.conf", 3);
        _cleanup_(diagnostics_done) Diagnostics rules = diagnostics_one("b.conf", 7);
        Diagnostics none = {};
        ConfigVerdict v;

        v = config_verdict(false, NULL, &settings, &rules);
        assert_true(v.take);
        v = config_verdict(false, "unreadable.conf", &none, &none);
        assert_true(v.take);

        v = config_verdict(true, NULL, &none, &none);
        assert_true(v.take);
        assert_int_equal(v.n_problems, 0);

        v = config_verdict(true, NULL, &settings, &rules);
        assert_false(v.take);
        assert_string_equal(v.file, "a.conf");
        assert_int_equal(v.line, 3);
        assert_int_equal(v.n_problems, 2);

        v = config_verdict(true, NULL, &none, &rules);
        assert_false(v.take);
        assert_string_equal(v.file, "b.conf");
        assert_int_equal(v.line, 7);
        assert_int_equal(v.n_problems, 1);

        v = config_verdict(true, "unreadable.conf", &none, &none);
        assert_false(v.take);
        assert_string_equal(v.file, "unreadable.conf");
        assert_int_equal(v.line, 0);
        assert_int_equal(v.n_problems, 1);
}

/* Whatever the prefix memqos is built with, the default configuration is
 * one file, not one relative to the daemon's working directory. */
static void test_default_config_path_is_absolute(void **state) {
        assert_true(CONFIG_PATH[0] == '/');
        assert_non_null(strstr(CONFIG_PATH, "/memqos/memqos.conf"));
}

#define CONF_TEST(t) cmocka_unit_test_setup_teardown(t, conf_setup, conf_teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_are_the_documented_ones),
                cmocka_unit_test(test_missing_file_means_defaults),
                cmocka_unit_test(test_installed_file_parses_clean),
                CONF_TEST(test_installed_file_documents_every_key_with_its_default),
                CONF_TEST(test_every_key_is_read),
                CONF_TEST(test_grace_keys_bounds),
                CONF_TEST(test_bad_value_keeps_default_and_names_file_line_key),
                CONF_TEST(test_emulation_keys_bounds),
                CONF_TEST(test_log_levels),
                CONF_TEST(test_unknown_keys_sections_and_stray_assignments),
                CONF_TEST(test_group_sections_are_left_to_rules),
                CONF_TEST(test_empty_assignment_restores_default),
                CONF_TEST(test_rate_limit_may_be_turned_off),
                CONF_TEST(test_garbage_and_long_lines_are_diagnosed),
                CONF_TEST(test_unreadable_file_is_an_error_with_defaults),
                CONF_TEST(test_dropins_override_in_lexical_order),
                CONF_TEST(test_unreadable_dropin_is_an_error_with_defaults_naming_it),
                cmocka_unit_test(test_timespans_as_systemd_writes_them),
                cmocka_unit_test(test_backend_names_round_trip),
                CONF_TEST(test_key_in_wrong_section_says_where_it_belongs),
                cmocka_unit_test(test_reload_is_all_or_nothing),
                cmocka_unit_test(test_default_config_path_is_absolute),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
