/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <stddef.h>
#include <syslog.h>

#include "basic/log.h"
#include "basic/util.h"
#include "conf/config.h"
#include "conf/rules.h"

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_HOUR (3600 * USEC_PER_SEC)

static const char *const backend_names[_BACKEND_MAX] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_KERNEL] = "kernel",
        [BACKEND_EMULATE] = "emulate",
        [BACKEND_OFF] = "off",
};

DEFINE_STRING_TABLE_TO_STRING(backend, Backend, backend_names)

Backend backend_from_string(const char *s) {
        for (Backend b = 0; b < _BACKEND_MAX; b++)
                if (streq(s, backend_names[b]))
                        return b;
        return _BACKEND_INVALID;
}

void config_init_defaults(Config *c) {
        *c = (Config) {
                .log_level = LOG_INFO,
                .backend = BACKEND_AUTO,
                /* Priorities decide nothing unless the cgroup where the OOM
                 * happens, usually the parent slice, has use_priority_oom. */
                .parent_use_priority_oom = true,
                .reclaim_backend = BACKEND_INHERIT,
                .reclaim_ahead_of_kernel = true,
                .reclaim_standing_bounds = true,
                .reclaim_step_size = 16 * 1024 * 1024,
                /* Fast enough that an allocator at a few GB/s is seen within a
                 * few tens of MB, cheap enough (one usage read) to run for
                 * long; only while a unit is in its pressure zone. */
                .pressure_interval_usec = 20 * USEC_PER_MSEC,
                .oom_backend = BACKEND_INHERIT,
                /* 5% of the limit is left when memqosd kills: room for the
                 * victim's memory to be freed before the higher priorities
                 * reach the limit and stall in direct reclaim. */
                .kill_watermark_ratio = 95,
                .watch_oom = true,
                .sample_interval_usec = 1 * USEC_PER_SEC,
                .ratelimit_interval_usec = 10 * USEC_PER_SEC,
                .ratelimit_burst = 5,
                /* A client costs memqosd one descriptor and about 1.6 KiB
                 * (5.6 KiB once it wrote a registration): 4096 of them stay
                 * well inside memqosd.service's LimitNOFILE= and 23 MiB. */
                .notify_clients_max = 4096,
                .notify_clients_per_unit_max = 128,
                /* Reclaim starts at wmark_high, with the gap up to the limit
                 * still free: there is time for a GC cycle or a cache drop
                 * (tens of ms in common runtimes), 10 pressure intervals. */
                .notify_reclaim_grace_usec = 200 * USEC_PER_MSEC,
                /* The kill watermark leaves 5% of the limit: an allocator at
                 * 1 GB/s fills that of a 4 GB limit in 200 ms. A quarter of it
                 * is enough to free a cache (munmap is ~1 ms per 100 MB), not
                 * to wait for a slow GC while online charges on. */
                .notify_kill_grace_usec = 50 * USEC_PER_MSEC,
        };
}

FeatureMode config_feature_mode(Backend feature, Backend daemon, bool kernel_has_files, bool also_with_kernel) {
        Backend b = feature == BACKEND_INHERIT ? daemon : feature;
        switch (b) {
        case BACKEND_KERNEL:
                return (FeatureMode) { .kernel = true };
        case BACKEND_EMULATE:
                return (FeatureMode) { .emulate = true };
        case BACKEND_AUTO:
                return (FeatureMode) { .kernel = kernel_has_files, .emulate = !kernel_has_files || also_with_kernel };
        default:
                return (FeatureMode) {};
        }
}

int config_parse_timespan(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *name;
                uint64_t usec;
        } units[] = {
                { "us", 1 },
                { "usec", 1 },
                { "ms", USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "second", USEC_PER_SEC },
                { "seconds", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "minute", 60 * USEC_PER_SEC },
                { "minutes", 60 * USEC_PER_SEC },
                { "h", USEC_PER_HOUR },
                { "hr", USEC_PER_HOUR },
                { "hour", USEC_PER_HOUR },
                { "hours", USEC_PER_HOUR },
                { "d", 24 * USEC_PER_HOUR },
                { "day", 24 * USEC_PER_HOUR },
                { "days", 24 * USEC_PER_HOUR },
                { "w", 7 * 24 * USEC_PER_HOUR },
                { "week", 7 * 24 * USEC_PER_HOUR },
                { "weeks", 7 * 24 * USEC_PER_HOUR },
        };
        uint64_t total = 0;
        bool any = false;

        for (;;) {
                uint64_t v = 0, mult = USEC_PER_SEC; /* a bare number is seconds */
                size_t l;

                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                for (; isdigit((unsigned char) *s); s++) {
                        if (v > (UINT64_MAX - (*s - '0')) / 10)
                                return -ERANGE;
                        v = v * 10 + (*s - '0');
                }
                while (*s == ' ' || *s == '\t')
                        s++;

                for (l = 0; isalpha((unsigned char) s[l]); l++)
                        ;
                if (l > 0) {
                        size_t i;

                        for (i = 0; i < ELEMENTSOF(units); i++)
                                if (strlen(units[i].name) == l && strncmp(s, units[i].name, l) == 0)
                                        break;
                        if (i >= ELEMENTSOF(units))
                                return -EINVAL;
                        mult = units[i].usec;
                        s += l;
                }

                if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult)
                        return -ERANGE;
                total += v * mult;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

/* ---- The keys ---- */

typedef enum ConfigType {
        CONFIG_LOG_LEVEL,
        CONFIG_BACKEND,
        CONFIG_FEATURE_BACKEND,
        CONFIG_BOOL,
        CONFIG_SIZE,
        CONFIG_TIMESPAN,
        CONFIG_UNSIGNED,
} ConfigType;

typedef struct ConfigItem {
        const char *section;
        const char *key;
        ConfigType type;
        size_t offset, size;  /* of the field in Config */
        uint64_t min, max;    /* CONFIG_TIMESPAN (usec), CONFIG_UNSIGNED */
        const char *expected; /* for the diagnostic */
} ConfigItem;

#define ITEM(section, key, type, field, min, max, expected) \
        { section, key, type, offsetof(Config, field), sizeof(((Config *) NULL)->field), min, max, expected }

static const ConfigItem config_items[] = {
        ITEM("Daemon", "LogLevel", CONFIG_LOG_LEVEL, log_level, 0, 0,
             "one of debug, info, notice, warning, err"),
        ITEM("Daemon", "Backend", CONFIG_BACKEND, backend, 0, 0, "one of auto, kernel, emulate, off"),
        ITEM("Defaults", "ParentUsePriorityOOM", CONFIG_BOOL, parent_use_priority_oom, 0, 0,
             "a boolean (yes/no)"),
        ITEM("Reclaim", "Backend", CONFIG_FEATURE_BACKEND, reclaim_backend, 0, 0,
             "empty or one of auto, kernel, emulate, off"),
        ITEM("Reclaim", "AheadOfKernel", CONFIG_BOOL, reclaim_ahead_of_kernel, 0, 0, "a boolean (yes/no)"),
        ITEM("Reclaim", "StandingBounds", CONFIG_BOOL, reclaim_standing_bounds, 0, 0, "a boolean (yes/no)"),
        ITEM("Reclaim", "StepSize", CONFIG_SIZE, reclaim_step_size, 64 * 1024, 1024 * 1024 * 1024,
             "a size from 64K to 1G, such as 16M"),
        ITEM("Reclaim", "PressureIntervalSec", CONFIG_TIMESPAN, pressure_interval_usec, USEC_PER_MSEC,
             10 * USEC_PER_SEC, "a time span from 1ms to 10s, such as 20ms"),
        ITEM("OOM", "Backend", CONFIG_FEATURE_BACKEND, oom_backend, 0, 0,
             "empty or one of auto, kernel, emulate, off"),
        ITEM("OOM", "KillWatermarkRatio", CONFIG_UNSIGNED, kill_watermark_ratio, 0, 100,
             "a percentage 0..100 of the limit; 0 turns the pre-emptive kill off"),
        ITEM("Events", "WatchOOM", CONFIG_BOOL, watch_oom, 0, 0, "a boolean (yes/no)"),
        ITEM("Events", "ThresholdSampleIntervalSec", CONFIG_TIMESPAN, sample_interval_usec, 10 * USEC_PER_MSEC,
             USEC_PER_HOUR, "a time span from 10ms to 1h, such as 500ms or 2s"),
        ITEM("Events", "EventRateLimitIntervalSec", CONFIG_TIMESPAN, ratelimit_interval_usec, 0, USEC_PER_HOUR,
             "a time span up to 1h, such as 10s or 1min; 0 turns rate limiting off"),
        ITEM("Events", "EventRateLimitBurst", CONFIG_UNSIGNED, ratelimit_burst, 0, 100000,
             "a number 0..100000; 0 turns rate limiting off"),
        ITEM("Notify", "ClientsMax", CONFIG_UNSIGNED, notify_clients_max, 0, 65536,
             "a number 0..65536; 0 turns the pressure socket's clients away"),
        ITEM("Notify", "ClientsPerUnitMax", CONFIG_UNSIGNED, notify_clients_per_unit_max, 1, 65536,
             "a number 1..65536"),
        ITEM("Notify", "ReclaimGraceSec", CONFIG_TIMESPAN, notify_reclaim_grace_usec, 0, 10 * USEC_PER_SEC,
             "a time span up to 10s, such as 200ms; 0 reclaims without telling"),
        ITEM("Notify", "KillGraceSec", CONFIG_TIMESPAN, notify_kill_grace_usec, 0, 10 * USEC_PER_SEC,
             "a time span up to 10s, such as 50ms; 0 kills without telling"),
};

/* Parses value into the field of item in c; 0, -EINVAL or -ERANGE. */
static int config_item_parse(const ConfigItem *item, const char *value, Config *c) {
        void *field = (char *) c + item->offset;
        uint64_t usec;
        unsigned u;
        int r;

        switch (item->type) {
        case CONFIG_LOG_LEVEL:
                r = log_level_from_string(value);
                if (r < 0)
                        return r;
                if (r < LOG_ERR) /* a daemon that hides its own errors helps nobody */
                        return -ERANGE;
                *(int *) field = r;
                return 0;
        case CONFIG_BACKEND: {
                Backend b = backend_from_string(value);
                if (b < 0)
                        return b;
                *(Backend *) field = b;
                return 0;
        }
        case CONFIG_FEATURE_BACKEND: {
                Backend b = isempty_str(value) ? BACKEND_INHERIT : backend_from_string(value);
                if (b == _BACKEND_INVALID)
                        return b;
                *(Backend *) field = b;
                return 0;
        }
        case CONFIG_BOOL:
                return policy_parse_bool(value, field);
        case CONFIG_SIZE: {
                uint64_t v;
                r = policy_parse_size(value, &v);
                if (r < 0)
                        return r;
                if (v < item->min || v > item->max)
                        return -ERANGE;
                *(uint64_t *) field = v;
                return 0;
        }
        case CONFIG_TIMESPAN:
                r = config_parse_timespan(value, &usec);
                if (r < 0)
                        return r;
                if (usec < item->min || usec > item->max)
                        return -ERANGE;
                *(uint64_t *) field = usec;
                return 0;
        case CONFIG_UNSIGNED:
                r = policy_parse_unsigned(value, item->min, item->max, &u);
                if (r < 0)
                        return r;
                *(unsigned *) field = u;
                return 0;
        }
        return -EINVAL;
}

/* Sets the field of item in c back to its default. */
static void config_item_reset(const ConfigItem *item, Config *c) {
        Config defaults;

        config_init_defaults(&defaults);
        memcpy((char *) c + item->offset, (char *) &defaults + item->offset, item->size);
}

static const ConfigItem *config_item_find(const char *section, const char *key, bool *ret_section_known) {
        bool known = false;

        for (size_t i = 0; i < ELEMENTSOF(config_items); i++) {
                if (!streq(section, config_items[i].section))
                        continue;
                known = true;
                if (streq(key, config_items[i].key)) {
                        *ret_section_known = true;
                        return &config_items[i];
                }
        }
        *ret_section_known = known;
        return NULL;
}

/* Where key belongs when not in section: "[OOM]", "[Daemon], [Reclaim] or
 * [OOM]", "a [Group PATTERN] section"; "" when it is nobody's key. */
static void config_key_home(const char *section, const char *key, char *buf, size_t size) {
        const char *homes[ELEMENTSOF(config_items)];
        size_t n = 0, o = 0;

        for (size_t i = 0; i < ELEMENTSOF(config_items); i++)
                if (streq(key, config_items[i].key) && !streq(section, config_items[i].section))
                        homes[n++] = config_items[i].section;
        buf[0] = 0;
        if (n == 0) {
                if ((int) policy_key_from_string(key) >= 0)
                        snprintf(buf, size, ", it belongs in a [" RULES_SECTION " PATTERN] section");
                return;
        }
        for (size_t i = 0; i < n && o < size; i++)
                o += snprintf(buf + o, size - o, "%s[%s]", i == 0 ? ", it belongs in " : i + 1 == n ? " or " : ", ",
                              homes[i]);
}

typedef struct ConfigParser {
        Config *config;
        const char *file;
        Diagnostics *diags;
} ConfigParser;

static int config_assignment(const char *section, const char *key, const char *value, unsigned line,
                             void *userdata) {
        char shown_key[ESCAPE_VALUE_SHORT_BUF_SIZE], shown_section[ESCAPE_VALUE_SHORT_BUF_SIZE];
        char shown[ESCAPE_VALUE_SHORT_BUF_SIZE];
        ConfigParser *cp = userdata;
        const ConfigItem *item;
        bool section_known;
        int r;

        escape_value_short(key, shown_key, sizeof(shown_key));
        if (!*section)
                return diagnostics_add(cp->diags, cp->file, line, key,
                                              "%s= is outside of any section, ignoring", shown_key);

        if (rules_section_is_group(section)) /* rules.c reads those */
                return 0;

        item = config_item_find(section, key, &section_known);
        if (!item) {
                char home[128];

                escape_value_short(section, shown_section, sizeof(shown_section));
                config_key_home(section, key, home, sizeof(home));
                return diagnostics_add(cp->diags, cp->file, line, key,
                                              section_known ? "Unknown key %s= in [%s]%s%s ignoring"
                                                            : "%s= is in unknown section [%s]%s%s ignoring",
                                              shown_key, shown_section, home, *home ? ";" : ",");
        }

        if (!*value) { /* "Key=": back to the default, as in systemd */
                config_item_reset(item, cp->config);
                return 0;
        }

        r = config_item_parse(item, value, cp->config);
        if (r >= 0)
                return 0;
        return diagnostics_add(cp->diags, cp->file, line, key, "%s=%s is %s, expected %s; ignoring",
                                      shown_key, escape_value_short(value, shown, sizeof(shown)),
                                      r == -ERANGE ? "out of range" : "invalid", item->expected);
}

/* Parses one file over what ret holds. A missing file is nothing. */
static int config_parse_one(const char *path, Config *ret, Diagnostics *diags) {
        _cleanup_(freep) char *text = NULL;
        ConfigParser cp = { .config = ret, .file = path, .diags = diags };
        size_t size;
        int r;

        r = read_file_full(path, &text, &size);
        if (r == -ENOENT) /* no file (or gone since the directory was listed) */
                return 0;
        if (r < 0)
                return r;
        return ini_parse_text(text, size, path, NULL, config_assignment, &cp, diags);
}

int config_load(const char *path, const char *dropin_dir, Config *ret, char **ret_unreadable,
                Diagnostics *diags) {
        _cleanup_strv_free_ char **dropins = NULL;
        const char *failed = path;
        size_t n = 0;
        int r;

        config_init_defaults(ret);
        r = config_parse_one(path, ret, diags);
        if (r >= 0 && dropin_dir) {
                failed = dropin_dir;
                r = dropins_list(dropin_dir, &dropins, &n);
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                failed = dropins[i];
                r = config_parse_one(dropins[i], ret, diags);
        }
        if (r >= 0)
                return 0;

        /* all or nothing: the defaults, and the caller says which file */
        config_init_defaults(ret);
        if (ret_unreadable && r != -ENOMEM) {
                *ret_unreadable = strdup(failed);
                if (!*ret_unreadable)
                        return -ENOMEM;
        }
        return r;
}

int config_parse_file(const char *path, Config *ret, Diagnostics *diags) {
        return config_load(path, NULL, ret, NULL, diags);
}

ConfigVerdict config_verdict(bool reload, const char *unreadable, const Diagnostics *settings,
                             const Diagnostics *rules) {
        ConfigVerdict v = {};

        assert(settings);
        assert(rules);

        v.n_problems = (unreadable ? 1 : 0) + settings->n + rules->n;
        v.take = !reload || v.n_problems == 0;
        if (unreadable)
                v.file = unreadable;
        else if (settings->n > 0) {
                v.file = settings->items[0].file;
                v.line = settings->items[0].line;
        } else if (rules->n > 0) {
                v.file = rules->items[0].file;
                v.line = rules->items[0].line;
        }
        return v;
}
