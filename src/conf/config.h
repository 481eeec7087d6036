/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* memqos.conf: daemon-wide settings. Pure apart from reading the file. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/policy.h"

#define CONFIG_PATH_DEFAULT "/etc/memqos/memqos.conf"

typedef enum Backend {
        BACKEND_AUTO,    /* the kernel's files where they exist, memqosd's emulation where they do not */
        BACKEND_KERNEL,  /* the kernel's files only */
        BACKEND_EMULATE, /* memqosd's emulation only; the kernel's files of the feature are not written */
        BACKEND_OFF,     /* program nothing; still follow units and report */
        _BACKEND_MAX,
        BACKEND_INHERIT = -1, /* [Reclaim]/[OOM] Backend= empty: the [Daemon] one */
        _BACKEND_INVALID = -EINVAL,
} Backend;

const char *backend_to_string(Backend b);
Backend backend_from_string(const char *s);

typedef struct Config {
        /* [Daemon] */
        int log_level;             /* LogLevel= */
        Backend backend;           /* Backend= */
        /* [Defaults] */
        bool parent_use_priority_oom; /* ParentUsePriorityOOM= */
        /* [Reclaim]: WatermarkRatio= */
        Backend reclaim_backend;      /* Backend=, BACKEND_INHERIT when empty */
        bool reclaim_ahead_of_kernel; /* AheadOfKernel= */
        bool reclaim_standing_bounds; /* StandingBounds= */
        uint64_t reclaim_step_size;   /* StepSize= bytes */
        uint64_t pressure_interval_usec; /* PressureIntervalSec= */
        /* [OOM]: MemoryPriority=, UsePriorityOOM= */
        Backend oom_backend;          /* Backend=, BACKEND_INHERIT when empty */
        unsigned kill_watermark_ratio;/* KillWatermarkRatio= (percent of the limit, 0 = off) */
        /* [Events] */
        bool watch_oom;               /* WatchOOM= */
        uint64_t sample_interval_usec;/* ThresholdSampleIntervalSec= (v2) */
        uint64_t ratelimit_interval_usec; /* EventRateLimitIntervalSec= */
        unsigned ratelimit_burst;     /* EventRateLimitBurst= */
        /* [Notify]: the pressure socket (memqos-pressure(7)) */
        unsigned notify_clients_max;          /* ClientsMax= */
        unsigned notify_clients_per_unit_max; /* ClientsPerUnitMax= */
        uint64_t notify_reclaim_grace_usec;   /* ReclaimGraceSec=: before memqosd's reclaim (0: no notice) */
        uint64_t notify_kill_grace_usec;      /* KillGraceSec=: before its priority kill (0: no notice) */
} Config;

void config_init_defaults(Config *c);

/* How one feature is put in force. */
typedef struct FeatureMode {
        bool kernel;  /* write the kernel's files of the feature */
        bool emulate; /* memqosd's own reclaim / pre-emptive kill */
} FeatureMode;

/* Pure. The mode of a feature: its own Backend= (BACKEND_INHERIT: the
 * [Daemon] one), whether this kernel has the feature's files, and for the
 * reclaim whether memqosd also runs ahead of the kernel's own.
 *   off -> neither; kernel -> kernel; emulate -> emulate;
 *   auto -> the kernel's files where they exist, and memqosd's emulation
 *   where they do not or where `also_with_kernel` (reclaim: AheadOfKernel=;
 *   OOM: always, the pre-emptive kill is what the kernel lacks). */
FeatureMode config_feature_mode(Backend feature, Backend daemon, bool kernel_has_files, bool also_with_kernel);

/* Parses path over the defaults. A bad value or unknown key gives a
 * diagnostic (file, line, key) and that key keeps its default; a missing
 * file is not an error (defaults). Returns 0, -ENOMEM, or a negative errno
 * when the file exists but cannot be read. */
int config_parse_file(const char *path, Config *ret, Diagnostics *diags);

/* The same for path and then, over it, every drop-in of dropin_dir (NULL or
 * missing: none; see dropins_list()) in lexical order: a key set in a
 * later file wins, "Key=" puts it back to the default, as in systemd. The
 * [Group] sections are rules.c's. When a file exists but cannot be read
 * (or dropin_dir cannot be listed), returns its negative errno with ret at
 * the defaults and, when ret_unreadable is not NULL, its path in a new
 * string there. 0, -ENOMEM, or that errno. */
int config_load(const char *path, const char *dropin_dir, Config *ret, char **ret_unreadable,
                Diagnostics *diags);

/* What becomes of a configuration just read (config_load() and
 * rules_load(): settings and [Group] rules are one configuration). */
typedef struct ConfigVerdict {
        bool take;          /* put the new settings and rules in force */
        size_t n_problems;  /* diagnostics and unreadable files */
        const char *file;   /* when refused: where the first problem is */
        unsigned line;      /* 0: the whole file */
} ConfigVerdict;

/* Pure. At start there is nothing to keep, so the configuration read is
 * taken whatever its problems (a bad setting at its default, a bad rule key
 * ignored, an unreadable file's settings at the defaults). On a reload it
 * is all or nothing: any problem (a diagnostic of the settings or of the
 * rules, or a file that cannot be read, `unreadable`, may be NULL) refuses
 * the whole new configuration, settings and rules, and the verdict names
 * the first problem: the unreadable file, else the first settings
 * diagnostic, else the first rules one. The strings point into the
 * arguments. */
ConfigVerdict config_verdict(bool reload, const char *unreadable, const Diagnostics *settings,
                             const Diagnostics *rules);

/* Time spans as systemd writes them: "1s", "500ms", "2min", "1min 30s"; a
 * bare number is seconds. Units: us, ms, s, min, h, d, w (and their long
 * forms: usec, msec, sec, second(s), minute(s), hour(s), day(s), week(s)).
 * 0, -EINVAL or -ERANGE. */
int config_parse_timespan(const char *s, uint64_t *ret_usec);
